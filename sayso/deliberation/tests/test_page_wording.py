"""What the conversation pages say, checked against what is true: how votes are kept for
each way of taking part, why a row of the report cannot be cited, statement numbers from
1, a name for each scrolling table, the links under the card once a conversation has
closed, moderation hints for personal details, and the new-conversation form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, Role
from sayso.core.services import ServiceError, create_code_batch
from sayso.core.tests.factories import MembershipFactory
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Statement

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, planted
from .helpers import community_url, public, signed_in, token
from .test_report_disclosure import scenario, write_map

pytestmark = pytest.mark.django_db

ANONYMOUS = "Your votes are anonymous: nobody, organisers included, can see how you voted."
CODE = "Your code is not linked to your votes, so nobody, organisers included, can see"
LINKED = "Your votes are linked to your account. No page or export names who voted"
UNLINKED = "Your votes are not linked to an account."
CODES_ARE_ANONYMOUS = "People who take part with an invitation code are always anonymous"


def _said(html: str) -> str:
    """Which of the sentences about how votes are kept the page says."""
    found = [name for name, text in _SENTENCES.items() if text in html]
    assert len(found) == 1, found
    return found[0]


_SENTENCES = {"anonymous": ANONYMOUS, "code": CODE, "linked": LINKED, "unlinked": UNLINKED}


# --- how votes are kept (D3) ------------------------------------------------------------


def test_codes_with_named_participation_are_refused_in_the_form(
    community: Community, organiser: Any
) -> None:
    batch, _codes = create_code_batch(community=community, actor=organiser, label="Night", size=2)
    url = reverse("deliberation:create", kwargs={"slug": "depot"})
    typed = {
        "topic": "What should the rules be for scanner data?",
        "moderation": "pre",
        "access": "codes",
        "code_batch": batch.pk,
    }
    refused = signed_in(organiser).post(url, typed)
    assert refused.status_code == 200
    assert re.search(
        rf'id="id_anonymous_error"><li>{CODES_ARE_ANONYMOUS}', refused.content.decode()
    )
    assert Conversation.objects.count() == 0
    created = signed_in(organiser).post(url, {**typed, "anonymous": "on"})
    assert created.status_code == 302
    assert Conversation.objects.get().anonymous


def test_the_service_refuses_codes_with_named_participation_too(
    community: Community, organiser: Any
) -> None:
    batch, _codes = create_code_batch(community=community, actor=organiser, label="Night", size=2)
    with pytest.raises(ServiceError, match=CODES_ARE_ANONYMOUS):
        services.create_conversation(
            conversation=Conversation(
                topic="Scanner rules", access="codes", code_batch=batch, anonymous=False
            ),
            community=community,
            actor=organiser,
        )
    assert Conversation.objects.count() == 0
    existing = ConversationFactory.create(
        community=community, access="codes", code_batch=batch, anonymous=True
    )
    existing.anonymous = False
    with pytest.raises(ServiceError, match=CODES_ARE_ANONYMOUS):
        services.update_conversation(conversation=existing, actor=organiser)
    existing.refresh_from_db()
    assert existing.anonymous


def test_the_participant_page_says_how_votes_are_kept_truly_for_each_way_in(
    community: Community, organiser: Any
) -> None:
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    batch, _codes = create_code_batch(community=community, actor=organiser, label="Night", size=2)

    def said(user: Any = None, **settings: Any) -> str:
        conversation = ConversationFactory.create(community=community, **settings)
        StatementFactory.create(conversation=conversation)
        client = Client() if user is None else signed_in(user)
        return _said(client.get(public(conversation)).content.decode())

    assert said(anonymous=True) == "anonymous"
    assert said(member, anonymous=True) == "anonymous"
    assert said(anonymous=True, access="codes", code_batch=batch) == "anonymous"
    # Made before the form refused it: a code holder's account is never linked.
    assert said(anonymous=False, access="codes", code_batch=batch) == "code"
    assert said(member, anonymous=False, access="codes", code_batch=batch) == "code"
    assert said(member, anonymous=False, access="members") == "linked"
    assert said(member, anonymous=False, access="link") == "linked"
    assert said(anonymous=False, access="link") == "unlinked"


def test_someone_who_joined_signed_out_is_not_told_their_votes_are_linked(
    community: Community,
) -> None:
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    conversation = ConversationFactory.create(community=community, anonymous=False)
    first, _second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    client.post(public(conversation), {"statement": token(first), "vote": "agree"})
    joined = Participant.objects.get()
    assert joined.user is None
    client.force_login(member)
    assert _said(client.get(public(conversation)).content.decode()) == "unlinked"
    # Linked, the same person is told so.
    Participant.objects.filter(pk=joined.pk).update(user=member)
    assert _said(client.get(public(conversation)).content.decode()) == "linked"


def test_the_organisers_page_says_code_conversations_are_anonymous(
    community: Community, organiser: Any
) -> None:
    batch, _codes = create_code_batch(community=community, actor=organiser, label="Night", size=2)
    legacy = ConversationFactory.create(
        community=community, anonymous=False, access="codes", code_batch=batch
    )
    html = signed_in(organiser).get(community_url(legacy, "detail")).content.decode()
    assert "Anonymous: invitation codes are not linked to votes" in html
    assert "Linked to people" not in html
    by_link = ConversationFactory.create(community=community, anonymous=False, access="link")
    html = signed_in(organiser).get(community_url(by_link, "detail")).content.decode()
    assert "Linked to the accounts of people who take part signed in" in html


# --- the report ---------------------------------------------------------------------------


def _row(html: str, section_start: str, text: str) -> str:
    section = html.split(section_start, 1)[1]
    found = re.search(rf'<tr><th scope="row">{re.escape(text)}</th>(.*?)</tr>', section, re.S)
    assert found is not None, text
    return found.group(1)


def test_a_row_that_cannot_be_cited_says_why(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community)
    write_map(conversation, scenario())
    html = signed_in(organiser).get(community_url(conversation, "report")).content.decode()
    cite = '<button type="submit"'

    def refused(row: str, why: str) -> None:
        assert cite not in row
        assert f"Cannot be cited: {why}" in row

    def citable(row: str) -> None:
        assert cite in row
        assert "Cannot be cited" not in row

    # Group A's row on breaks is there for its agree share: 1 of 12, hidden, and with it
    # the disagree share (both are named: test_review15_report_lists.py).
    refused(
        _row(html, 'id="group-A"', "Split on breaks"),
        "the agree and disagree figures are hidden",
    )
    refused(_row(html, 'id="group-A"', "Split on cameras"), "the number of votes is hidden")
    citable(_row(html, 'id="group-A"', "Even on overtime"))
    # Group B's 0 % agree on cameras is shown; its disagree share is hidden, and not needed.
    b_cameras = _row(html, 'id="group-B"', "Split on cameras")
    assert re.findall(r'<td class="numeric">(.*?)</td>', b_cameras) == ["0%", "hidden", "12"]
    citable(b_cameras)
    # Everyone's figures: 55 % agree on breaks beside a hidden disagree share is cited
    # from "most people agree"; 56 % disagree on cameras from "most people disagree".
    agree = ">Where most people agree</h2>"
    citable(_row(html, agree, "Split on breaks"))
    refused(_row(html, agree, "Common ground on rotas"), "the agree figure is hidden")
    citable(_row(html, ">Where most people disagree</h2>", "Split on cameras"))
    # Readers who cannot cite see neither.
    public_html = Client().get(public(conversation, "report")).content.decode()
    assert "Cannot be cited" not in public_html
    assert cite not in public_html


def test_a_citation_says_which_figure_is_hidden(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community)
    statements = write_map(conversation, scenario())
    client = signed_in(organiser)
    for text, kind, group in (
        ("Split on breaks", "consensus", ""),
        ("Split on cameras", "group", "1"),
        ("Even on overtime", "group", "0"),
    ):
        posted = {"statement": statements[text].pk, "kind": kind, "group": group}
        assert client.post(community_url(conversation, "cite"), posted).status_code == 302
    listed = (
        client.get(community_url(conversation, "report"))
        .content.decode()
        .split('id="citations"', 1)[1]
    )
    items = {
        text: item
        for item in re.findall(r"<li>(.*?)</li>", listed, re.S)
        for text in statements
        if f"“{text}”" in item
    }
    assert "None" not in listed
    assert (
        "everyone who voted: 55% agree, disagree: hidden to protect people, 29 votes"
        in items["Split on breaks"]
    )
    assert (
        "group B: 0% agree, disagree: hidden to protect people, 12 votes"
        in items["Split on cameras"]
    )
    assert "group A: 50% agree, 50% disagree, 12 votes" in items["Even on overtime"]


def test_each_scrolling_table_on_the_report_has_its_own_name(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    for html, at_least in (
        (signed_in(organiser).get(community_url(conversation, "report")).content.decode(), 6),
        (Client().get(public(conversation, "report")).content.decode(), 6),
        (signed_in(organiser).get(community_url(conversation, "cite")).content.decode(), 1),
    ):
        regions = re.findall(r'<div class="table-wrap"[^>]*role="region"[^>]*>', html)
        assert len(regions) >= at_least
        assert all("aria-label=" not in region for region in regions)
        names = [re.search(r'aria-labelledby="([^"]+)"', r).group(1) for r in regions]  # type: ignore[union-attr]
        assert len(set(names)) == len(names)
        captions = {
            id_: text.strip()
            for id_, text in re.findall(r'<caption id="([^"]+)"[^>]*>(.*?)</caption>', html)
        }
        assert all(captions.get(name) for name in names), names
        assert len({captions[name] for name in names}) == len(names)


def test_the_report_explains_its_score_groups_and_citations_in_plain_words(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    last = Statement.objects.get(conversation=conversation, number=7)
    client = signed_in(organiser)
    client.post(community_url(conversation, "cite"), {"statement": last.pk, "kind": "consensus"})
    html = client.get(community_url(conversation, "report")).content.decode()
    assert "Group-informed consensus" not in html
    assert "Common ground score (0 to 100)" in html
    assert "The common ground score, from 0 to 100" in html
    assert "These results were last updated on" in html
    assert "Worked out on" not in html
    assert "No group is shown yet" not in html
    # Cited from "Where most people agree": everyone's figures, not called consensus.
    assert "everyone who voted: 100% agree, 0% disagree, 20 votes" in html
    assert "consensus:" not in html


def test_the_report_says_why_no_group_is_shown(community: Community, organiser: Any) -> None:
    community.small_group_threshold = 11  # both groups of 10 are too small to show
    community.save(update_fields=["small_group_threshold"])
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    html = signed_in(organiser).get(community_url(conversation, "report")).content.decode()
    assert "<dt>opinion groups shown</dt><dd>0</dd>" in html
    assert "No group is shown yet" in html


# --- organiser pages count statements from 1 (D6), in order (D12) -----------------------


def test_statements_are_listed_by_number_and_counted_from_1(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    # Created out of order, as an import writes the rows of its file.
    for number in (5, 2, 9, 0):
        StatementFactory.create(conversation=conversation, number=number, text=f"Idea {number}")
    html = signed_in(organiser).get(community_url(conversation, "detail")).content.decode()
    rows = re.findall(r'<tr><td>(\d+)</td><th scope="row">Idea (\d+)', html)
    assert rows == [("1", "0"), ("3", "2"), ("6", "5"), ("10", "9")]
    queue = signed_in(organiser).get(community_url(conversation, "moderate") + "?show=accepted")
    assert ">1. Idea 0</label>" in queue.content.decode()
    assert ">0. Idea 0</label>" not in queue.content.decode()


# --- moderation hints for personal details (D10) ----------------------------------------


def test_moderation_hints_at_an_email_address(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    author = ParticipantFactory.create(conversation=conversation)
    for text in ("Contact me at jo.bloggs@example.com about this.", "Scanners off at night."):
        services.add_participant_statement(conversation=conversation, participant=author, text=text)
    html = signed_in(organiser).get(community_url(conversation, "moderate") + "?show=pending")
    rows = html.content.decode().split("<tbody>", 1)[1]
    email_row, plain_row = rows.split("</tr>")[:2]
    assert "jo.bloggs@example.com" in email_row
    assert "May contain an email address" in email_row
    assert "May contain" not in plain_row


def test_moderation_hints_at_a_name_and_leaves_the_choice_to_the_moderator(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    author = ParticipantFactory.create(conversation=conversation)
    for text in ("Our supervisor Karen Smith reads every alert", "Breaks should not count."):
        services.add_participant_statement(conversation=conversation, participant=author, text=text)
    html = signed_in(organiser).get(community_url(conversation, "moderate")).content.decode()
    assert "a phone number or a person's name; you decide." in html
    named_row, plain_row = html.split("<tbody>", 1)[1].split("</tr>")[:2]
    assert "Karen Smith" in named_row
    assert "May name a person" in named_row
    assert "May name a person" not in plain_row
    # A hint only: both still wait for the moderator.
    assert set(Statement.objects.values_list("state", flat=True)) == {"pending"}


# --- the card after the conversation closed, with htmx (D9) -----------------------------


def test_an_htmx_vote_after_closing_also_replaces_the_links_under_the_card(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    page = client.get(public(conversation)).content.decode()
    assert "Add your own statement" in page
    assert '<p id="participant-links" class="button-group">' in page
    open_vote = client.post(
        public(conversation), {"statement": token(first), "vote": "agree"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "participant-links" not in open_vote  # nothing to change while it is open
    services.set_state(conversation=conversation, open=False, actor=organiser)
    closed = client.post(
        public(conversation), {"statement": token(second), "vote": "agree"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "This conversation has closed" in closed
    links = re.search(r'<p id="participant-links"[^>]*hx-swap-oob="true">(.*?)</p>', closed, re.S)
    assert links is not None
    assert "Add your own statement" not in links.group(1)
    assert "See the results" in links.group(1)
    # As the page without JavaScript shows after the close.
    reloaded = client.get(public(conversation)).content.decode()
    assert "Add your own statement" not in reloaded
    assert "See the results" in reloaded


# --- the new-conversation form (D13) -------------------------------------------------------


def test_the_form_links_to_the_codes_page_and_checkboxes_have_no_colon(
    community: Community, organiser: Any
) -> None:
    html = (
        signed_in(organiser)
        .get(reverse("deliberation:create", kwargs={"slug": "depot"}))
        .content.decode()
    )
    codes = reverse("core:codes", kwargs={"slug": "depot"})
    assert f'first on the <a href="{codes}">Invitation codes</a> page.' in html
    assert re.search(
        r'<label for="id_participants_can_add">Participants may add statements</label>', html
    )
    assert re.search(r'<label for="id_anonymous">Anonymous participation</label>', html)
    assert "Participants may add statements:" not in html
    assert "closes:</label>" not in html
    assert '<label for="id_seed_statements">Seed statements:</label>' in html
    assert '<label for="id_topic">Question:</label>' in html
