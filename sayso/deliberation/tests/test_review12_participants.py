"""Participants' pages after review 12 (issue 3): shared phones, double taps, what the
pages promise.

1. On a shared phone the next person carried on as the last one: nothing let a
   participant leave, and the pages were kept by the browser (Back showed "You voted
   'Agree'" from a `?change=` address). Participant pages are now never kept
   (`Cache-Control: private, no-store`), and "Forget me on this device" deletes the
   participant cookie (votes stay counted).
2. Two taps 50 to 250 ms apart voted on two statements: the vote buttons are disabled
   while a vote is sent, and a card just swapped in ignores taps for a moment (CSS, no
   script). The browser test is tests/e2e/test_deliberation_double_tap.py.
3. "Vote recorded." twice in a row may be announced once: it now says how far along.
4. Closed: "This conversation has closed" was said twice and the sentence on how votes
   are kept stayed; "organisers know who took part" was not true.
5. The promise that nobody's votes can be worked out by comparing versions was too
   strong (a few people voting together can defeat the step); now it says so.
6. The "how your view relates" table did not fit a phone, and "100%" from one statement.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, Role
from sayso.core.services import create_code_batch
from sayso.core.tests.factories import MembershipFactory
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .factories import ConversationFactory, StatementFactory, planted
from .helpers import community_url, public, signed_in, token

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def _cookie_name(conversation: Conversation) -> str:
    return f"sayso_participant_{conversation.pk}"


def _vote(client: Client, conversation: Conversation, statement: Statement, **kw: Any) -> Any:
    return client.post(public(conversation), {"statement": token(statement), "vote": "agree"}, **kw)


def _voted(conversation: Conversation, statements: list[Statement]) -> Client:
    client = Client()
    for statement in statements:
        assert _vote(client, conversation, statement).status_code == 303
    return client


# --- 1a. participant pages are never kept -------------------------------------------------


def _not_kept(response: Any) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def test_every_participant_page_tells_the_browser_not_to_keep_it(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second, third = StatementFactory.create_batch(3, conversation=conversation)
    client = _voted(conversation, [first])
    responses = {
        "page": client.get(public(conversation)),
        "change": client.get(f"{public(conversation)}?change={token(first)}"),
        "voted": client.get(f"{public(conversation)}?voted={token(first)}"),
        "card": client.get(
            f"{public(conversation)}?change={token(first)}", headers={"HX-Target": "card-region"}
        ),
        "vote": _vote(client, conversation, second),
        "htmx vote": _vote(client, conversation, third, headers={"HX-Request": "true"}),
        "refused vote": client.post(public(conversation), {"statement": "1", "vote": "x"}),
        "you": client.get(public(conversation, "you")),
        "statement": client.get(public(conversation, "statement")),
        "report": client.get(public(conversation, "report")),
        "forget": client.get(public(conversation, "forget")),
    }
    assert "You voted “Agree”" in responses["change"].content.decode()
    kept = [name for name, response in responses.items() if not _not_kept(response)]
    assert kept == []


def test_the_code_and_sign_in_pages_are_not_kept_either(
    community: Community, organiser: Any
) -> None:
    batch, _codes = create_code_batch(community=community, actor=organiser, label="Night", size=1)
    by_code = ConversationFactory.create(community=community, access="codes", code_batch=batch)
    members = ConversationFactory.create(community=community, access="members")
    for conversation in (by_code, members):
        StatementFactory.create(conversation=conversation)
        for name in ("participate", "you", "report", "statement"):
            assert _not_kept(Client().get(public(conversation, name))), (conversation, name)


# --- 1b. "Forget me on this device" --------------------------------------------------------


def test_forgetting_deletes_the_cookie_keeps_the_votes_and_shows_nothing_personal(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    statements = list(StatementFactory.create_batch(3, conversation=conversation))
    client = Client(enforce_csrf_checks=True)
    page = client.get(public(conversation)).content.decode()
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)  # type: ignore[union-attr]
    for statement in statements[:2]:
        posted = {"statement": token(statement), "vote": "agree", "csrfmiddlewaretoken": csrf}
        assert client.post(public(conversation), posted).status_code == 303
    page = client.get(public(conversation)).content.decode()
    forget = public(conversation, "forget")
    assert f'<a href="{forget}">Done? Forget me on this device</a>' in page
    you = client.get(public(conversation, "you")).content.decode()
    assert f'<a href="{forget}">Done? Forget me on this device</a>' in you

    asked = client.get(forget).content.decode()
    assert "Your votes stay counted" in asked
    assert "you cannot come back to change them" in asked
    assert re.search(rf'<form method="post" action="{forget}"[^>]*>', asked)
    assert 'name="csrfmiddlewaretoken"' in asked
    assert client.cookies[_cookie_name(conversation)].value  # asking changes nothing

    # Without the form's token nothing is forgotten.
    refused = Client(enforce_csrf_checks=True)
    refused.cookies = SimpleCookie({k: v.value for k, v in client.cookies.items()})
    assert refused.post(forget).status_code == 403
    assert refused.cookies[_cookie_name(conversation)].value

    done = client.post(forget, {"csrfmiddlewaretoken": csrf})
    assert done.status_code == 200
    gone = done.cookies[_cookie_name(conversation)]
    assert gone.value == ""
    assert gone["max-age"] == 0
    assert gone["path"] == public(conversation)
    html = done.content.decode()
    assert "This device has forgotten you" in html
    assert "Your votes stay counted" in html
    assert _not_kept(done)
    # The votes are kept, as they were.
    assert Participant.objects.count() == 1
    assert sorted(Vote.objects.values_list("statement_id", "value")) == [
        (statements[0].pk, 1),
        (statements[1].pk, 1),
    ]
    # The next person on this browser starts afresh and sees nothing of the last one's.
    assert (
        "You voted"
        not in client.get(f"{public(conversation)}?change={token(statements[0])}").content.decode()
    )
    assert "Statement 1 of 3" in client.get(public(conversation)).content.decode()
    assert "You have voted on 0 so far." in client.get(public(conversation, "you")).content.decode()


def test_nobody_is_offered_to_be_forgotten_before_they_can_vote(community: Community) -> None:
    members = ConversationFactory.create(community=community, access="members")
    StatementFactory.create(conversation=members)
    assert "Forget me" not in Client().get(public(members)).content.decode()  # sign in first
    closed = ConversationFactory.create(community=community, state=Conversation.State.CLOSED)
    StatementFactory.create(conversation=closed)
    assert "Forget me" not in Client().get(public(closed)).content.decode()  # nobody to forget
    # A device that knows nobody is told so, and forgetting it deletes nothing.
    asked = Client().get(public(closed, "forget")).content.decode()
    assert "This device does not remember you in this conversation." in asked
    assert "<form" not in asked.split("<main", 1)[1]
    votes = Vote.objects.count()
    Client().post(public(closed, "forget"))
    assert Vote.objects.count() == votes


def test_a_participant_of_a_closed_conversation_can_still_be_forgotten(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    first, _second = StatementFactory.create_batch(2, conversation=conversation)
    client = _voted(conversation, [first])
    services.set_state(conversation=conversation, open=False, actor=organiser)
    assert "Forget me on this device" in client.get(public(conversation)).content.decode()
    client.post(public(conversation, "forget"))
    assert client.cookies[_cookie_name(conversation)].value == ""
    assert Vote.objects.count() == 1


def test_a_participant_remembered_the_old_way_is_forgotten_too(community: Community) -> None:
    """Before the cookie, participants were remembered in the session (views.LEGACY_SESSION_KEY)."""
    conversation = ConversationFactory.create(community=community)
    first, _second = StatementFactory.create_batch(2, conversation=conversation)
    _voted(conversation, [first])
    participant = Participant.objects.get()
    client = Client()
    session = client.session
    session["deliberation"] = {str(conversation.pk): participant.pk, "999": 1}
    session.save()
    change = f"{public(conversation)}?change={token(first)}"
    assert "You voted" in client.get(change).content.decode()
    client.post(public(conversation, "forget"))
    assert "You voted" not in client.get(change).content.decode()
    assert client.session["deliberation"] == {"999": 1}  # other conversations' kept
    assert Vote.objects.count() == 1


def test_a_signed_in_person_is_told_to_sign_out_too(community: Community) -> None:
    """Votes linked to an account are found again from the account while signed in
    (views._participant_id): only signing out stops the next person carrying on."""
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    conversation = ConversationFactory.create(community=community, anonymous=False)
    first, _second = StatementFactory.create_batch(2, conversation=conversation)
    client = signed_in(member)
    _vote(client, conversation, first)
    assert Participant.objects.get().user == member
    asked = client.get(public(conversation, "forget")).content.decode()
    assert "Your votes stay counted and linked to your account." in asked
    assert "sign out" in asked
    done = client.post(public(conversation, "forget")).content.decode()
    assert "you are still signed in" in done
    assert f'action="{reverse("account_logout")}"' in done
    assert client.cookies[_cookie_name(conversation)].value == ""
    # Signed out, the browser no longer knows them; their vote stays.
    client.logout()
    assert (
        "You voted"
        not in client.get(f"{public(conversation)}?change={token(first)}").content.decode()
    )
    assert Vote.objects.filter(participant__user=member).count() == 1


def test_an_anonymous_member_is_told_they_cannot_come_back(community: Community) -> None:
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    conversation = ConversationFactory.create(community=community, access="members")
    first, _second = StatementFactory.create_batch(2, conversation=conversation)
    client = signed_in(member)
    _vote(client, conversation, first)
    asked = client.get(public(conversation, "forget")).content.decode()
    assert "Nothing links them to you, so you cannot come back to change them" in asked
    client.post(public(conversation, "forget"))
    # Each member takes part once: this browser now says they joined elsewhere.
    assert (
        "You have already joined this conversation"
        in client.get(public(conversation)).content.decode()
    )
    assert Vote.objects.count() == 1


# --- 2 and 3. the card after a vote: double taps, what is announced ---------------------------


def _form_tag(html: str) -> str:
    found = re.search(r"<form method=\"post\"[^>]*hx-post=[^>]*>", html)
    assert found is not None
    return found.group(0)


def test_the_vote_buttons_are_disabled_while_a_vote_is_sent(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    first, _second, _third = StatementFactory.create_batch(3, conversation=conversation)
    client = Client()
    for html in (
        client.get(public(conversation)).content.decode(),
        _vote(client, conversation, first, headers={"HX-Request": "true"}).content.decode(),
    ):
        form = _form_tag(html)
        assert 'hx-disabled-elt="#card-region button"' in form
        assert 'hx-sync="this:drop"' in form


def test_only_a_card_swapped_in_ignores_taps_for_a_moment(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    first, _second, _third = StatementFactory.create_batch(3, conversation=conversation)
    client = Client()
    page = client.get(public(conversation)).content.decode()
    assert '<div class="card">' in page  # the page as loaded: nothing to wait for
    card = _vote(client, conversation, first, headers={"HX-Request": "true"}).content.decode()
    assert '<div class="card card--arrived">' in card
    css = (ROOT / "sayso/static/css/sayso.css").read_text()
    rule = re.search(r"\.card--arrived \{([^}]*)\}", css)
    assert rule is not None
    assert "animation: card-arrived 0.3s" in rule.group(1)
    keyframes = re.search(r"@keyframes card-arrived \{(.*?)\}\s*\}", css, re.S)
    assert keyframes is not None
    assert "pointer-events: none" in keyframes.group(1)


def test_each_vote_is_announced_differently(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    statements = StatementFactory.create_batch(3, conversation=conversation)
    client = Client()
    said = []
    for _ in statements:
        html = client.get(public(conversation), headers={"HX-Target": "card-region"})
        shown = re.search(r'name="statement" value="(\d+)"', html.content.decode())
        assert shown is not None
        card = client.post(
            public(conversation),
            {"statement": shown.group(1), "vote": "agree"},
            headers={"HX-Request": "true"},
        ).content.decode()
        status = re.search(r'<span id="card-status" hx-swap-oob="innerHTML">(.*?)</span>', card)
        assert status is not None
        said.append(status.group(1))
    assert said == [
        "Vote recorded. 1 of 3 done.",
        "Vote recorded. 2 of 3 done.",
        "Vote recorded. 3 of 3 done.",
    ]


# --- 4. wording ------------------------------------------------------------------------------


def test_a_vote_after_closing_says_it_has_closed_once_and_no_more_about_keeping_votes(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = _voted(conversation, [first])
    assert "Your votes are anonymous" in client.get(public(conversation)).content.decode()
    services.set_state(conversation=conversation, open=False, actor=organiser)
    page = _vote(client, conversation, second).content.decode()
    card = _vote(client, conversation, second, headers={"HX-Request": "true"}).content.decode()
    for html in (page, card):
        assert html.count("has closed") == 1, html
    assert "Your votes are anonymous" not in page
    assert "Your votes are anonymous" not in client.get(public(conversation)).content.decode()
    # With htmx the sentence under the question goes too (out of band).
    assert re.search(r'<p id="participation-note" hx-swap-oob="true" hidden></p>', card)
    assert Vote.objects.count() == 1


def test_votes_linked_to_an_account_are_described_as_they_are(community: Community) -> None:
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    conversation = ConversationFactory.create(community=community, anonymous=False)
    StatementFactory.create(conversation=conversation)
    linked = signed_in(member).get(public(conversation)).content.decode()
    unlinked = Client().get(public(conversation)).content.decode()
    for html in (linked, unlinked):
        assert "organisers know who took part" not in html
    assert (
        "Your votes are linked to your account. No page or export names who voted, but the"
        " link is kept in Sayso's database, and your votes are in the copy of your data you"
        " can download." in linked
    )
    assert (
        "Your votes are not linked to an account. This conversation is not anonymous:"
        " people who take part signed in have their votes linked to their account." in unlinked
    )


# --- 5. what comparing versions can give away --------------------------------------------------


def test_no_page_promises_that_comparing_versions_gives_nothing_away(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    report = Client().get(public(conversation, "report")).content.decode()
    organisers = signed_in(organiser).get(community_url(conversation, "detail")).content.decode()
    for html in (report, organisers):
        assert "so that nobody's votes can be worked out" not in html
        assert "hard, though not impossible," in html
    readme = (ROOT / "README.md").read_text()
    assert "so nobody's votes can be read from the change" not in readme
    architecture = " ".join((ROOT / "docs/architecture.md").read_text().split())
    assert "The step is not a guarantee" in architecture


def test_the_form_says_hiding_results_is_safer_for_sensitive_questions(
    community: Community, organiser: Any
) -> None:
    html = (
        signed_in(organiser)
        .get(reverse("deliberation:create", kwargs={"slug": community.slug}))
        .content.decode()
    )
    help_text = re.search(r'id="id_results_hidden_until_closed_helptext"[^>]*>(.*?)</', html, re.S)
    assert help_text is not None
    assert "the safer choice for sensitive questions" in help_text.group(1)


# --- 6. the comparison table on a phone ---------------------------------------------------------


def _relations(conversation: Conversation, votes: dict[int, str]) -> str:
    client = Client()
    for statement in Statement.objects.filter(conversation=conversation).order_by("number"):
        if statement.number in votes:
            posted = {"statement": token(statement), "vote": votes[statement.number]}
            client.post(public(conversation), posted)
    html = client.get(public(conversation, "you")).content.decode()
    return html


def test_the_comparison_needs_a_few_statements_and_fits_a_phone(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    # Groups of 35: each statement has 5 passes in each group, so every figure is shown.
    planted(conversation, groups=2, size=35, statements=8)
    services.compute_now(conversation=conversation)
    # Seven votes (enough to be compared) but only one that is not a pass.
    few = _relations(conversation, {0: "agree", **dict.fromkeys(range(1, 7), "pass")})
    table = few.split('id="relations-caption"', 1)[1].split("</table>", 1)[0]
    assert "%" not in table
    assert table.count("Not enough shown figures to compare yet") == 2
    assert "at least 3 statements" in few
    # All eight: shares, each with what it is out of, in three columns.
    full = _relations(
        conversation,
        {n: ("agree" if n % 2 == 0 or n == 7 else "disagree") for n in range(8)},
    )
    table = full.split('id="relations-caption"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"\d+% of \d+ statements", table)
    assert table.count('<th scope="col"') == 3
    assert "Statements compared" not in full
    # Its name is its caption, shown (the table fits a phone, so it does not scroll
    # away), and said once: no heading above says it again.
    assert (
        '<div class="table-wrap" tabindex="0" role="region" aria-labelledby="relations-caption">'
        in full
    )
    assert (
        '<caption id="relations-caption">How often you voted with each group\'s majority</caption>'
        in full
    )
    assert 'id="relations-heading"' not in full
