"""A conversation in real browsers at phone width: an organiser (JavaScript off) starts
it, three people vote from their own browsers (two with htmx, one without), one adds a
statement, the organiser moderates it and opens the report. Every page is axe-checked."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import Community, Membership, Role
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Statement, Vote

from .conftest import PASSWORD, Browse, BrowseFactory, sign_in

pytestmark = pytest.mark.e2e

SEEDS = [
    "Scanner data should never be used on its own to discipline someone.",
    "We should be told exactly what the scanners record about us.",
    "Managers should not see individual pick rates.",
]


def vote_all(person: Browse, choices: list[str], *, htmx: bool) -> None:
    page = person.page
    for choice in choices:
        heading = page.locator("#statement-text")
        before = heading.inner_text()
        button = page.get_by_role("button", name=choice, exact=True)
        if htmx:
            button.click()
            page.wait_for_function(
                "t => !document.querySelector('#statement-text') || "
                "document.querySelector('#statement-text').innerText !== t",
                arg=before,
            )
            person.check()
        else:
            person.click(button)
            # The page after a vote says it was recorded, in a status message.
            status = page.get_by_role("status").filter(has_text="Vote recorded.")
            assert status.count() == 1


def test_conversation_created_voted_moderated_and_reported(
    browse: BrowseFactory, settings: Any
) -> None:
    settings.SAYSO = {**settings.SAYSO, "DELIBERATION_RECOMPUTE_SECONDS": 3600}
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.OWNER)

    rep = browse("rep", javascript=False)
    sign_in(rep, user.email)
    rep.visit("/c/northgate-depot/conversations/")
    rep.follow("Start a conversation")
    page = rep.page
    page.get_by_label("Question:").fill("What should the rules be for the scanner data?")
    page.get_by_label("Seed statements:").fill("\n".join(SEEDS))
    rep.submit("Start the conversation")
    conversation = Conversation.objects.get()
    assert page.get_by_role("heading", level=1).inner_text() == conversation.topic
    link = conversation.get_public_url()

    voters = [
        (browse("voter 1"), ["Agree", "Agree", "Disagree"], True),
        (browse("voter 2"), ["Agree", "Disagree", "Pass / unsure"], True),
        (browse("voter 3", javascript=False), ["Agree", "Agree", "Agree"], False),
    ]
    for person, choices, htmx in voters:
        person.visit(link)
        vote_all(person, choices, htmx=htmx)
        assert "You have voted on every statement" in person.page.content()
    assert Vote.objects.count() == 9

    third = voters[2][0]
    third.follow("Add your own statement")
    third.page.get_by_label("Your statement:").fill("Night shift needs its own meeting about this.")
    third.submit("Add statement")
    assert "once an organiser has checked it" in third.page.content()

    rep.visit(f"/c/northgate-depot/conversations/{conversation.pk}/moderate/")
    rep.page.get_by_label("Night shift needs its own meeting", exact=False).check()
    rep.submit("Accept selected")
    assert Statement.objects.get(number=3).state == "accepted"

    # The task worker's job, done here: compute the map the report reads.
    services.compute_now(conversation=conversation)
    rep.visit(f"/c/northgate-depot/conversations/{conversation.pk}/")
    rep.follow("Open the report")
    assert page.get_by_role("heading", name="Where most people agree").count() == 1
    assert page.get_by_role("heading", name="Participation over time").count() == 1
    for person, _choices, _htmx in voters[:1]:
        person.visit(link)
        person.follow("See the results")
