# mypy: disable-error-code="no-untyped-call"
"""An accessibility reviewer's findings on the conversations' pages, as a browser shows
them (the page-level ones are in sayso/deliberation/tests/test_accessibility_findings.py):
a vote without JavaScript lands on the next statement, so the next Tab reaches "Agree";
the moderation queue's "Tick at least one statement." links to a box; and an error
summary takes focus again after one of its links was followed. Every page is
axe-checked (conftest.Browse)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import Community, Membership, Role
from sayso.core.services import create_code_batch
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .conftest import PASSWORD, SMALLEST, BrowseFactory, sign_in
from .focus import FOCUSED, follow_an_error_link_then_send_again, wholly_on_screen

pytestmark = pytest.mark.e2e

SEEDS = [
    "Scanner data should never be used on its own to discipline someone.",
    "We should be told exactly what the scanners record about us.",
    "Drivers should be able to see their own scanner data.",
]


def conversation_in(community: Community, **fields: Any) -> Conversation:
    return services.create_conversation(
        conversation=Conversation(topic="What should the rules be for the scanner data?", **fields),
        community=community,
        actor=None,
        seed_statements=SEEDS,
    )


def test_a_vote_without_javascript_lands_on_the_next_statement(browse: BrowseFactory) -> None:
    """Each vote loads the page again: the next statement has focus, so Tab reaches
    "Agree" at once instead of the site's header and links (five presses before)."""
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    conversation = conversation_in(community)
    person = browse("voter without JavaScript", javascript=False)
    page = person.page
    page.set_viewport_size(SMALLEST)
    person.visit(conversation.get_public_url())
    assert page.evaluate(FOCUSED) == ""  # a page opened afresh starts at the top
    shown = [page.locator("#statement-text").inner_text()]
    for n in (2, 3):
        page.get_by_role("button", name="Agree", exact=True).focus()
        person.navigate(lambda: page.keyboard.press("Enter"))
        assert "?voted=" in page.url
        assert page.evaluate(FOCUSED) == "statement-text"
        assert wholly_on_screen(page, "#statement-text")
        assert page.locator("#statement-progress").inner_text() == f"Statement {n} of 3"
        shown.append(page.locator("#statement-text").inner_text())
        assert shown[-1] not in shown[:-1]
        assert page.get_by_role("status").first.inner_text() == "Vote recorded."
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Agree"
    # "Change my last vote", by keyboard: that statement's card has focus.
    page.get_by_role("link", name="Change my last vote").focus()
    person.navigate(lambda: page.keyboard.press("Enter"))
    assert page.evaluate(FOCUSED) == "statement-text"
    assert page.locator("#statement-text").inner_text() == shown[1]
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Agree"
    page.keyboard.press("Tab")
    person.navigate(lambda: page.keyboard.press("Enter"))  # "Disagree"
    assert page.evaluate(FOCUSED) == "statement-text"
    assert page.locator("#statement-text").inner_text() == shown[2]
    # The last vote: the thank-you message has focus.
    page.get_by_role("button", name="Pass / unsure", exact=True).focus()
    person.navigate(lambda: page.keyboard.press("Enter"))
    focused = page.evaluate("() => document.activeElement.textContent")
    assert "You have voted on every statement" in focused
    values = sorted(Vote.objects.values_list("value", flat=True))
    assert values == [-1, 0, 1]
    assert Participant.objects.count() == 1


def organiser_of(community: Community) -> Any:
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Membership.objects.create(community=community, user=user, role=Role.OWNER)
    return user


def test_ticking_nothing_links_to_the_first_box_and_focus_returns(
    browse: BrowseFactory,
) -> None:
    """Before: the link pointed at #id_statements_0, which was nowhere on the page, and
    the form had no action, so after "Select all" (#selection-status) or a link the
    next summary was not focused (Chromium skips autofocus at an address with a
    #fragment)."""
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    conversation = conversation_in(community, moderation=Conversation.Moderation.PRE)
    Statement.objects.filter(conversation=conversation).update(state=Statement.State.PENDING)
    user = organiser_of(community)
    rep = browse("organiser")
    rep.page.set_viewport_size(SMALLEST)
    sign_in(rep, user.email)
    rep.visit(f"/c/{community.slug}/conversations/{conversation.pk}/moderate/?show=pending")
    page = rep.page
    rep.submit("Accept selected")
    assert page.locator("#error-summary a").first.inner_text() == (
        "Statements: Tick at least one statement."
    )
    follow_an_error_link_then_send_again(rep, "Accept selected", "id_statements_0")
    first = page.locator("#id_statements_0")
    assert first.get_attribute("value") == str(
        Statement.objects.get(conversation=conversation, number=0).pk
    )
    # After "Select all" and "Clear the selection" (formaction's #selection-status).
    rep.submit("Select all on this page")
    assert page.url.endswith("#selection-status")
    rep.submit("Clear the selection")
    rep.submit("Accept selected")
    assert "#" not in page.url
    assert page.evaluate(FOCUSED) == "error-summary"
    assert wholly_on_screen(page, "#error-summary")
    states = set(
        Statement.objects.filter(conversation=conversation).values_list("state", flat=True)
    )
    assert states == {Statement.State.PENDING}


def test_participants_error_summaries_take_focus_again(browse: BrowseFactory) -> None:
    """The code gate and "Add your statement"."""
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    user = organiser_of(community)
    batch, (code,) = create_code_batch(community=community, actor=user, label="Depot", size=1)
    conversation = conversation_in(
        community,
        access=Conversation.Access.CODES,
        anonymous=True,
        code_batch=batch,
        participants_can_add=True,
    )
    person = browse("participant")
    person.page.set_viewport_size(SMALLEST)
    person.visit(conversation.get_public_url())
    person.submit("Continue")
    follow_an_error_link_then_send_again(person, "Continue", "id_code")
    assert not Participant.objects.exists()
    person.page.get_by_label("Your invitation code:").fill(code.lower())
    person.submit("Continue")
    person.follow("Add your own statement")
    person.submit("Add statement")
    follow_an_error_link_then_send_again(person, "Add statement", "id_text")
    assert Statement.objects.filter(conversation=conversation).count() == len(SEEDS)
