"""Pages: participant voting (with and without htmx), closed and hidden conversations,
codes, moderation, report, export, import, citations, access and query counts."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sayso.accounts.tests.factories import UserFactory
from sayso.core.models import (
    AuditEvent,
    Citation,
    Community,
    InvitationCodeBatch,
    InvitationCodeUse,
    Role,
)
from sayso.core.services import ServiceError, create_code_batch, redeem_code
from sayso.core.tests.factories import MembershipFactory
from sayso.deliberation import selectors, services
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .factories import ConversationFactory, StatementFactory, planted
from .helpers import community_url, public, signed_in
from .helpers import token as vote_token

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[2] / "analysis/tests/fixtures/polis/15-per-hour-seattle"


# --- participant voting ------------------------------------------------------------


def test_vote_without_javascript_posts_and_redirects_to_the_next_statement(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    page = client.get(public(conversation)).content.decode()
    assert "Statement 1 of 2" in page
    assert 'name="vote" value="agree"' in page
    assert Participant.objects.count() == 0  # nobody is created by looking
    response = client.post(public(conversation), {"statement": vote_token(first), "vote": "agree"})
    assert response.status_code == 303  # See Other: the browser follows with a GET
    # The page after the vote offers to change it (views._show).
    assert response["Location"] == f"{public(conversation)}?voted={vote_token(first)}"
    page = client.get(response["Location"]).content.decode()
    assert second.text in page
    assert "Statement 2 of 2" in page
    assert page.count("Vote recorded.") == 1  # said once, on the page after the vote
    assert "Vote recorded." not in client.get(public(conversation)).content.decode()
    assert not Session.objects.exists()  # the message went in a cookie, not a session
    client.post(public(conversation), {"statement": vote_token(second), "vote": "pass"})
    assert "You have voted on every statement" in client.get(public(conversation)).content.decode()
    assert list(Vote.objects.order_by("statement__number").values_list("value", flat=True)) == [
        1,
        0,
    ]
    assert Participant.objects.count() == 1


def test_htmx_vote_returns_only_the_next_card(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    response = client.post(
        public(conversation),
        {"statement": vote_token(first), "vote": "disagree"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert second.text in html
    assert "Vote recorded." in html
    assert Vote.objects.get().value == -1


def test_the_next_card_is_exactly_the_template_output() -> None:
    from django.template.loader import get_template
    from django.utils.html import conditional_escape

    from sayso.deliberation import views
    from sayso.deliberation.selectors import Progress

    text = 'Managers <b>should</b> say "why" & when it\'s used'
    fast = views._next_card(
        "/conversations/abc/",
        "Vote recorded.",
        {
            "token": "4242",
            "text": conditional_escape(text),
            "number": "3",
            "total": "20",
            "voted": "2",
            "previous": "1717",
        },
    )
    slow = get_template(views.CARD).render(
        {
            "conversation": Conversation(state=Conversation.State.OPEN),
            "public_url": "/conversations/abc/",
            "statement": {"token": 4242, "text": text},
            "progress": Progress(voted=2, total=20),
            "announce": "Vote recorded.",
            "previous": 1717,
            "swapped": True,  # as views._card renders every card it sends htmx
        }
    )
    assert fast == slow
    assert "&lt;b&gt;should&lt;/b&gt; say &quot;why&quot; &amp; when it&#x27;s used" in fast
    assert "Statement 3 of 20" in fast
    assert "Vote recorded. 2 of 20 done.</span>" in fast
    assert 'name="statement" value="4242"' in fast
    assert 'href="/conversations/abc/?change=1717"' in fast


def test_closed_conversation_refuses_votes_with_a_clear_message(community: Community) -> None:
    conversation = ConversationFactory.create(community=community, state=Conversation.State.CLOSED)
    statement = StatementFactory.create(conversation=conversation)
    response = Client().post(
        public(conversation), {"statement": vote_token(statement), "vote": "agree"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This conversation has closed" in html
    assert Vote.objects.count() == 0


def test_hidden_results_are_not_shown_until_closed(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community, results_hidden_until_closed=True)
    planted(conversation)
    services.compute_now(conversation=conversation)
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    for client, url in (
        (Client(), public(conversation, "report")),
        (signed_in(member), community_url(conversation, "report")),
        (Client(), public(conversation, "you")),
    ):
        html = client.get(url).content.decode()
        assert "hidden until the conversation closes" in html
        assert "What group A thinks" not in html
    # Organisers neither: results that moved with each vote would give votes away
    # (services.publication_due); they are worked out at closing, for everyone at once.
    html = signed_in(organiser).get(community_url(conversation, "report")).content.decode()
    assert "What group A thinks" not in html
    assert "No results until the conversation closes" in html
    services.set_state(conversation=conversation, open=False, actor=organiser)
    services.compute_now(conversation=conversation)  # the recompute closing queues
    assert "What group A thinks" in Client().get(public(conversation, "report")).content.decode()


def test_code_access_redeems_a_code_once(community: Community, organiser: Any) -> None:
    batch, codes = create_code_batch(
        community=community, actor=organiser, label="Night shift", size=2
    )
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.CODES, code_batch=batch
    )
    statement = StatementFactory.create(conversation=conversation)
    client = Client()
    assert "Your invitation code" in client.get(public(conversation)).content.decode()
    refused = client.post(
        public(conversation), {"statement": vote_token(statement), "vote": "agree"}
    )
    assert "join this conversation" in refused.content.decode()
    assert client.post(public(conversation), {"code": codes[0].lower()}).status_code == 302
    client.post(public(conversation), {"statement": vote_token(statement), "vote": "agree"})
    assert Vote.objects.count() == 1
    again = Client().post(public(conversation), {"code": codes[0]})
    assert "already been used" in again.content.decode()


def test_closed_conversation_refuses_a_code_and_leaves_it_unused(
    community: Community, organiser: Any
) -> None:
    batch, codes = create_code_batch(community=community, actor=organiser, label="Late", size=1)
    conversation = ConversationFactory.create(
        community=community,
        access=Conversation.Access.CODES,
        code_batch=batch,
        state=Conversation.State.CLOSED,
    )
    with pytest.raises(ServiceError):
        services.join_with_code(conversation=conversation, raw_code=codes[0])
    Client().post(public(conversation), {"code": codes[0]})
    assert not InvitationCodeUse.objects.exists()
    assert Participant.objects.count() == 0


def test_members_only_conversation_asks_to_sign_in(community: Community) -> None:
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS
    )
    assert "Sign in to take part" in Client().get(public(conversation)).content.decode()
    outsider = UserFactory.create()
    assert (
        "This conversation is for members"
        in signed_in(outsider).get(public(conversation)).content.decode()
    )


def test_participant_adds_a_statement_for_moderation(community: Community) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    client = Client()
    response = client.post(
        public(conversation, "statement"), {"text": "Night shift needs its own meeting"}
    )
    assert response.status_code == 302
    statement = Statement.objects.get()
    assert statement.state == "pending"
    assert statement.author is not None
    bad = client.post(public(conversation, "statement"), {"text": ""})
    assert "Write your statement first." in bad.content.decode()


def test_you_page_relates_votes_to_groups(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    # Groups of 35: 5 passes on each statement in each group, so every figure is shown
    # (with 10, only the last statement's are: too few to compare, views.MIN_COMPARED).
    planted(conversation, groups=2, size=35, statements=8)
    client = Client()
    for statement in Statement.objects.filter(conversation=conversation):
        value = "agree" if statement.number % 2 == 0 or statement.number == 7 else "disagree"
        client.post(public(conversation), {"statement": vote_token(statement), "vote": value})
    services.compute_now(conversation=conversation)
    html = client.get(public(conversation, "you")).content.decode()
    assert "How often you voted with each group" in html
    assert "your group" in html
    assert "100% of 8 statements" in html


# --- organiser pages ---------------------------------------------------------------


def test_create_conversation_in_the_browser_form(community: Community, organiser: Any) -> None:
    response = signed_in(organiser).post(
        reverse("deliberation:create", kwargs={"slug": "depot"}),
        {
            "topic": "What should the rules be for scanner data?",
            "moderation": "pre",
            "access": "link",
            "anonymous": "on",
            "participants_can_add": "on",
            "seed_statements": "Delete after 30 days\nTell us what is recorded",
        },
    )
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == conversation.get_absolute_url()
    assert conversation.statements.count() == 2


def test_conversation_form_errors_are_plain(community: Community, organiser: Any) -> None:
    response = signed_in(organiser).post(
        reverse("deliberation:create", kwargs={"slug": "depot"}),
        {"topic": "", "moderation": "pre", "access": "codes"},
    )
    html = response.content.decode()
    assert "Write the question people will respond to." in html
    assert "Choose the invitation codes" in html
    assert Conversation.objects.count() == 0
    long = signed_in(organiser).post(
        reverse("deliberation:create", kwargs={"slug": "depot"}),
        {"topic": "x" * 1000, "moderation": "pre", "access": "link"},
    )
    assert "Keep the question to 200 characters; it has 1000." in long.content.decode()
    assert Conversation.objects.count() == 0


def test_codes_chosen_for_a_link_conversation_are_not_kept(
    community: Community, organiser: Any
) -> None:
    batch, _codes = create_code_batch(community=community, size=3, actor=organiser, label="Canteen")
    client = signed_in(organiser)
    response = client.post(
        reverse("deliberation:create", kwargs={"slug": "depot"}),
        {
            "topic": "What should the rules be for scanner data?",
            "moderation": "post",
            "access": "link",
            "code_batch": batch.pk,
        },
    )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.code_batch is None
    page = client.get(response["Location"]).content.decode()
    assert "Canteen" not in page
    # ...and the organiser is told, on creating and on changing it, not left to wonder.
    assert "The invitation codes you chose are not used" in page


def test_no_codes_chosen_no_word_about_codes(community: Community, organiser: Any) -> None:
    response = signed_in(organiser).post(
        reverse("deliberation:create", kwargs={"slug": "depot"}),
        {
            "topic": "What should the rules be for scanner data?",
            "moderation": "post",
            "access": "link",
        },
        follow=True,
    )
    assert "The invitation codes you chose are not used" not in response.content.decode()


def test_batches_with_the_same_label_are_told_apart_by_size_and_date(
    community: Community, organiser: Any
) -> None:
    """A survey's batches all carry its name: the list of codes says how many and when,
    and, for a conversation being changed, how many were already used for it. Codes used
    elsewhere (for the survey) still work here, once, so they are not counted."""
    label = "Survey: Living with the smart meters"
    first, codes = create_code_batch(community=community, size=8, actor=organiser, label=label)
    second, _codes = create_code_batch(community=community, size=2000, actor=organiser, label=label)
    elsewhere = ConversationFactory.create(community=community)
    here = ConversationFactory.create(
        community=community, access=Conversation.Access.CODES, code_batch=first
    )
    for code in codes[:3]:
        assert redeem_code(batch=first, raw_code=code, activity=elsewhere)
    for code in codes[2:4]:
        assert redeem_code(batch=first, raw_code=code, activity=here)
    InvitationCodeBatch.objects.filter(pk=first.pk).update(created_on=dt.date(2026, 12, 1))
    InvitationCodeBatch.objects.filter(pk=second.pk).update(created_on=dt.date(2027, 1, 15))

    def offered(url: str) -> list[tuple[str, str]]:
        html = signed_in(organiser).get(url).content.decode()
        select = re.search(r'<select name="code_batch".*?</select>', html, re.S)
        assert select is not None
        return sorted(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select.group(0)))

    assert offered(reverse("deliberation:create", kwargs={"slug": "depot"})) == sorted(
        [
            (str(first.pk), f"{label} — 8 codes, 1 Dec 2026"),
            (str(second.pk), f"{label} — 2,000 codes, 15 Jan 2027"),
        ]
    )
    assert offered(community_url(here, "edit")) == sorted(
        [
            (str(first.pk), f"{label} — 8 codes, 1 Dec 2026, 2 already used here"),
            (str(second.pk), f"{label} — 2,000 codes, 15 Jan 2027"),
        ]
    )


def test_moderation_page_bulk_rejects(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community)
    a, b = StatementFactory.create_batch(2, conversation=conversation, state="pending")
    client = signed_in(organiser)
    url = community_url(conversation, "moderate")
    assert a.text in client.get(url).content.decode()
    response = client.post(url + "?show=pending", {"statements": [a.pk, b.pk], "action": "reject"})
    assert response.status_code == 302
    assert set(Statement.objects.values_list("state", flat=True)) == {"rejected"}
    assert "2 statements rejected." in client.get(response["Location"]).content.decode()
    response = client.post(url + "?show=rejected", {"statements": [a.pk], "action": "accept"})
    assert "1 statement accepted." in client.get(response["Location"]).content.decode()


def test_a_closed_conversation_offers_no_take_part_button(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    client = signed_in(organiser)
    assert "Take part" in client.get(community_url(conversation, "detail")).content.decode()
    conversation.state = Conversation.State.CLOSED
    conversation.save()
    assert not conversation.is_open
    assert "Take part" not in client.get(community_url(conversation, "detail")).content.decode()


def test_report_lists_groups_consensus_and_never_members(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    html = signed_in(organiser).get(community_url(conversation, "report")).content.decode()
    # A group of links (svg.py): each group is reached with Tab and named.
    assert '<svg class="opinion-map" role="group"' in html
    assert '<a href="#group-A" aria-label="Group A, 10 people"' in html
    assert '<title id="map-title">' in html
    assert "<desc" in html
    assert 'href="#group-A"' in html
    assert 'id="group-A"' in html
    assert "The opinion map as a table" in html
    assert "Where most people agree" in html
    assert "Participation over time" in html
    assert "Statement number" in html
    assert "participant " not in html.lower().replace("participants", "")
    assert ' style="' not in html
    assert "<style" not in html


def test_cite_a_consensus_statement_and_show_it(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    last = Statement.objects.get(conversation=conversation, number=7)
    client = signed_in(organiser)
    response = client.post(
        community_url(conversation, "cite"), {"statement": last.pk, "kind": "consensus"}
    )
    assert response.status_code == 302
    citation = Citation.objects.get()
    assert citation.evidence_type == "deliberation.consensus"
    assert citation.snapshot["title"] == last.text
    # Back at the citations, where the confirmation is (not at the top, out of view).
    assert response["Location"].endswith(f"?cited={citation.pk}#citations")
    html = client.get(response["Location"]).content.decode()
    assert "Cited as evidence" in html
    # The statement ends with its own full stop: none is added after the quote.
    assert f"Cited as evidence: “{last.text}” <" in html
    # with the way to all the community's evidence (core's Evidence page)
    assert "See all your community's evidence</a>" in html
    assert "”." not in html

    # Pressing Cite again (back, then Cite) keeps one citation and says so.
    again = client.post(
        community_url(conversation, "cite"), {"statement": last.pk, "kind": "consensus"}
    )
    assert again.status_code == 302
    assert Citation.objects.get() == citation
    html = client.get(again["Location"]).content.decode()
    assert f"Already cited with these figures, so it is listed once: “{last.text}”" in html
    assert html.count(f"<li>“{last.text}” —") == 1


def test_statement_with_too_few_votes_shows_no_percentage_and_cannot_be_cited(
    community: Community, organiser: Any
) -> None:
    community.small_group_threshold = 50  # more than the 20 planted participants
    community.save(update_fields=["small_group_threshold"])
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    last = Statement.objects.get(conversation=conversation, number=7)
    client = signed_in(organiser)
    html = client.get(community_url(conversation, "report")).content.decode()
    assert "Where most people agree" in html
    # Listed under "Where most people agree" it would say how those few voted, so it
    # is left out of the list (as it is with a threshold the votes reach: see below).
    assert last.text not in html
    assert "No statement has broad agreement yet." in html
    assert "100%</td>" not in html  # no figure (the note on hidden figures names 100%)
    public = (
        Client()
        .get(
            reverse(
                "deliberation_public:report", kwargs={"public_token": conversation.public_token}
            )
        )
        .content.decode()
    )
    assert "Where most people agree" in public
    assert last.text not in public
    assert selectors.report(conversation, threshold=50)["consensus_agree"] == []
    listed = selectors.report(conversation, threshold=5)["consensus_agree"]
    assert last.pk in {row["statement"].pk for row in listed}
    assert selectors.citation_snapshot(conversation, last, "consensus", None, threshold=50) is None
    response = client.post(
        community_url(conversation, "cite"), {"statement": last.pk, "kind": "consensus"}
    )
    assert response.status_code == 302
    assert Citation.objects.count() == 0


def test_organiser_closing_twice_leaves_the_conversation_closed(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    client = signed_in(organiser)
    for _ in range(2):
        client.post(community_url(conversation, "state"), {"open": "0"})
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.CLOSED


def test_export_is_a_polis_zip_and_audited(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)  # the export holds published votes
    response = signed_in(organiser).get(community_url(conversation, "export"))
    assert response["Content-Type"] == "application/zip"
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert names == ["comments.csv", "participants-votes.csv", "votes.csv", "summary.csv"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1


def _upload(name: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_import_a_polis_export(
    community: Community, organiser: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(organiser).post(
            reverse("deliberation:import", kwargs={"slug": "depot"}),
            {
                "topic": "$15/hour",
                "comments": _upload("comments.csv", (FIXTURE / "comments.csv").read_bytes()),
                "votes": _upload("votes.csv", (FIXTURE / "votes.csv").read_bytes()),
            },
        )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.statements.count() == 54
    assert conversation.opinion_map.vote_count > 0  # the immediate task backend ran


def test_import_with_a_bad_line_names_it_and_creates_nothing(
    community: Community, organiser: Any
) -> None:
    votes = (FIXTURE / "votes.csv").read_bytes().replace(b",0,0,0\n", b",0,0,7\n", 1)
    response = signed_in(organiser).post(
        reverse("deliberation:import", kwargs={"slug": "depot"}),
        {
            "topic": "$15/hour",
            "comments": _upload("comments.csv", (FIXTURE / "comments.csv").read_bytes()),
            "votes": _upload("votes.csv", votes),
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "votes.csv, line 2" in html
    assert Conversation.objects.count() == 0
    assert Vote.objects.count() == 0


# --- access and queries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("list", "viewer"),
        ("detail", "viewer"),
        ("report", "viewer"),
        ("create", "organiser"),
        ("edit", "organiser"),
        ("moderate", "organiser"),
        ("export", "organiser"),
        ("import", "organiser"),
        ("cite", "organiser"),
        ("state", "organiser"),
        ("statement-add", "organiser"),
    ],
)
def test_views_declare_access(name: str, level: str) -> None:
    from django.urls import get_resolver

    pattern = next(
        p
        for p in get_resolver("sayso.deliberation.urls").url_patterns
        if getattr(p, "name", None) == name
    )
    assert pattern.callback.sayso_access == level  # type: ignore[union-attr]


def test_outsiders_get_404_and_members_403(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    outsider = MembershipFactory.create(role=Role.OWNER).user
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    assert signed_in(outsider).get(community_url(conversation, "report")).status_code == 404
    assert signed_in(member).get(community_url(conversation, "moderate")).status_code == 403
    # Another community's conversation id under this community's address is not found.
    other = ConversationFactory.create()
    url = reverse("deliberation:detail", kwargs={"slug": "depot", "conversation": other.pk})
    assert signed_in(member).get(url).status_code == 404


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_list_and_report_query_counts_are_pinned(community: Community, organiser: Any) -> None:
    client = signed_in(organiser)
    list_url = reverse("deliberation:list", kwargs={"slug": "depot"})
    conversation = ConversationFactory.create(community=community)
    planted(conversation)
    services.compute_now(conversation=conversation)
    few = _queries(client, list_url)
    for _ in range(3):
        planted(ConversationFactory.create(community=community))
    assert _queries(client, list_url) == few
    # session, user, membership, advisor grant, conversations (counts as subqueries)
    assert few == 5
    # + conversation, stored map, statements, citations: never the votes
    assert _queries(client, community_url(conversation, "report")) == 8
    assert _queries(Client(), public(conversation, "report")) == 3


def test_vote_query_count_is_pinned(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    statements = StatementFactory.create_batch(3, conversation=conversation)
    client = Client()
    client.post(public(conversation), {"statement": vote_token(statements[0]), "vote": "agree"})
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            public(conversation),
            {"statement": vote_token(statements[1]), "vote": "agree"},
            headers={"HX-Request": "true"},
        )
    assert "Vote recorded." in response.content.decode()
    # The checked upsert, then the next statement and progress in one read. No session,
    # no conversation or statements (cached per process), no debounce claim (cached).
    assert len(captured.captured_queries) == 2


# --- the participant cookie, the cached routing state, CSRF ---------------------------


def _vote(client: Client, conversation: Conversation, statement: Statement, **kw: Any) -> str:
    response = client.post(
        public(conversation), {"statement": vote_token(statement), "vote": "agree"}, **kw
    )
    return response.content.decode()


def test_anonymous_voting_creates_no_session_and_a_signed_participant_cookie(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    client.post(public(conversation), {"statement": vote_token(first), "vote": "agree"})
    assert "sessionid" not in client.cookies
    cookie = client.cookies[f"sayso_participant_{conversation.pk}"]
    participant = Participant.objects.get()
    assert cookie.value.startswith(f"{participant.pk}:")  # signed, with no account in it
    assert cookie["path"] == public(conversation)
    assert cookie["httponly"]
    client.post(public(conversation), {"statement": vote_token(second), "vote": "agree"})
    assert Participant.objects.count() == 1
    assert Vote.objects.filter(participant=participant).count() == 2


def test_a_forged_or_borrowed_participant_cookie_is_ignored(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    other = ConversationFactory.create(community=community)
    statement = StatementFactory.create(conversation=conversation)
    other_statement = StatementFactory.create(conversation=other)
    victim = Client()
    victim.post(public(conversation), {"statement": vote_token(statement), "vote": "agree"})
    victim_id = Participant.objects.get(conversation=conversation).pk
    signed = victim.cookies[f"sayso_participant_{conversation.pk}"].value
    forger = Client()
    forger.cookies[f"sayso_participant_{conversation.pk}"] = (
        f"{victim_id + 1}{signed[len(str(victim_id)) :]}"
    )
    # The other conversation's cookie, renamed: signed for another conversation (salt).
    forger.cookies[f"sayso_participant_{other.pk}"] = signed
    forger.post(public(other), {"statement": vote_token(other_statement), "vote": "disagree"})
    forger.post(public(conversation), {"statement": vote_token(statement), "vote": "disagree"})
    # Each post made a new participant; the victim's vote is untouched.
    assert Vote.objects.get(participant_id=victim_id).value == 1
    assert Participant.objects.count() == 3


def test_members_only_cookie_needs_the_same_member_signed_in(community: Community) -> None:
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS
    )
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    member = MembershipFactory.create(community=community, role=Role.MEMBER)
    client = signed_in(member.user)
    client.post(public(conversation), {"statement": vote_token(first), "vote": "agree"})
    participant = Participant.objects.get()
    assert participant.user is None  # anonymous conversation: no link stored
    cookie = client.cookies[f"sayso_participant_{conversation.pk}"].value
    assert cookie.startswith(f"{participant.pk}:{member.user.pk}:")
    client.logout()
    assert "join this conversation" in _vote(client, conversation, second)
    # Someone else signing in on the same browser does not become that participant.
    client.force_login(MembershipFactory.create(community=community, role=Role.MEMBER).user)
    client.post(public(conversation), {"statement": vote_token(second), "vote": "disagree"})
    assert Participant.objects.count() == 2
    # A member who leaves stops voting at once, cookie or not.
    client = signed_in(member.user)
    client.cookies[f"sayso_participant_{conversation.pk}"] = cookie
    assert "Vote recorded." in _vote(client, conversation, second, headers={"HX-Request": "true"})
    Vote.objects.filter(participant=participant, statement=second).delete()
    member.delete()
    assert "join this conversation" in _vote(client, conversation, second)
    assert not Vote.objects.filter(participant=participant, statement=second).exists()


def test_a_conversation_closed_elsewhere_refuses_votes_despite_the_cached_state(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    client.post(public(conversation), {"statement": vote_token(first), "vote": "agree"})
    # As another server process would: the database changes, this process's cache not.
    Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.CLOSED)
    Statement.objects.filter(pk=second.pk).update(state=Statement.State.REJECTED)
    html = _vote(client, conversation, second, headers={"HX-Request": "true"})
    assert "closed" in html
    assert Vote.objects.count() == 1
    Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.OPEN)
    html = _vote(client, conversation, second, headers={"HX-Request": "true"})
    assert "not part of this conversation any more" in html
    assert Vote.objects.count() == 1


def test_closing_through_the_service_is_seen_at_once(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community)
    statement = StatementFactory.create(conversation=conversation)
    client = Client()
    assert statement.text in client.get(public(conversation)).content.decode()
    services.set_state(conversation=conversation, open=False, actor=organiser)
    assert "This conversation has closed" in client.get(public(conversation)).content.decode()


def test_votes_need_the_csrf_token_in_the_form_or_the_htmx_header(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second, _third = StatementFactory.create_batch(3, conversation=conversation)
    client = Client(enforce_csrf_checks=True)
    page = client.get(public(conversation)).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert 'name="csrfmiddlewaretoken"' in page  # the no-JavaScript form has its own
    assert (
        client.post(
            public(conversation), {"statement": vote_token(first), "vote": "agree"}
        ).status_code
        == 403
    )
    card = client.post(
        public(conversation),
        {"statement": vote_token(first), "vote": "agree"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert card.status_code == 200
    assert "csrfmiddlewaretoken" not in card.content.decode()  # htmx sends the header
    posted = client.post(
        public(conversation),
        {"statement": vote_token(second), "vote": "agree", "csrfmiddlewaretoken": token},
    )
    assert posted.status_code == 303
    assert Vote.objects.count() == 2


def test_the_map_table_names_each_groups_closest_group_not_coordinates(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=3, size=10, statements=8)
    result = services.compute_now(conversation=conversation)
    # Place the groups by hand: A and C close together, B far from both.
    result.data["group_centres"] = {"0": [0.0, 0.0], "1": [5.0, 5.0], "2": [1.0, 0.5]}
    result.save(update_fields=["data"])
    view = selectors.map_view(selectors.stored_map(conversation), threshold=5)
    assert view is not None
    assert {g.label: g.closest for g in view.groups} == {"A": "C", "B": "C", "C": "A"}
    html = signed_in(organiser).get(community_url(conversation, "report")).content.decode()
    table = html[html.index("The opinion map as a table") :].split("</table>")[0]
    assert "Closest group on the map" in table
    assert "Position across" not in table
    rows = re.findall(
        r'<tr><th scope="row">.*?Group (\w)</a></th>.*?<td>Group (\w)</td></tr>', table
    )
    assert rows == [("A", "C"), ("B", "C"), ("C", "A")]
