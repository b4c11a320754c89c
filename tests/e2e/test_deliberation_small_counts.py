"""An organiser in a real browser (JavaScript off, phone width): a seed line typed twice
is refused next to the box with both line numbers as the box counts them; once fixed,
the conversation starts. With three people voting, the report says "fewer than 5"
participants in its header as in its participation table. Every page is axe-checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import Community, Membership, Role
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .conftest import PASSWORD, BrowseFactory, sign_in

pytestmark = pytest.mark.e2e

SEEDS = (
    "Scanner data should never be used on its own to discipline someone.\n"
    "We should be told exactly what the scanners record about us.\n"
    "\n"
    "Managers should not see individual pick rates.\n"
    "we should be told exactly what the scanners record about us\n"
)


def test_duplicate_seed_refused_then_small_report_hides_the_count(
    browse: BrowseFactory, settings: Any
) -> None:
    settings.SAYSO = {**settings.SAYSO, "DELIBERATION_RECOMPUTE_SECONDS": 3600}
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.OWNER)

    rep = browse("rep", javascript=False)
    sign_in(rep, user.email)
    rep.visit("/c/northgate-depot/conversations/new/")
    page = rep.page
    page.get_by_label("Question:").fill("What should the rules be for the scanner data?")
    box = page.get_by_label("Seed statements:")
    box.fill(SEEDS)
    rep.submit("Start the conversation")
    assert Conversation.objects.count() == 0
    assert Statement.objects.count() == 0
    error = page.locator("#id_seed_statements_error")
    assert error.inner_text().strip() == "Lines 2 and 5 say the same thing: keep one."
    # The message is tied to the box, and what was typed is kept.
    box = page.get_by_label("Seed statements:")
    assert "id_seed_statements_error" in (box.get_attribute("aria-describedby") or "")
    assert box.input_value().replace("\r\n", "\n") == SEEDS

    box.fill(SEEDS.rsplit("\n", 2)[0] + "\n")
    rep.submit("Start the conversation")
    conversation = Conversation.objects.get()
    assert list(conversation.statements.order_by("number").values_list("text", flat=True)) == [
        line for line in SEEDS.splitlines()[:4] if line
    ]

    # Three people vote on all three statements (9 votes), then the map is worked out.
    today = dt.date.today()
    people = [
        Participant.objects.create(conversation=conversation, number=n, joined_on=today)
        for n in range(3)
    ]
    Vote.objects.bulk_create(
        Vote(participant=p, statement=s, value=1, created_on=today)
        for p in people
        for s in conversation.statements.all()
    )
    services.compute_now(conversation=conversation)
    rep.visit(f"/c/northgate-depot/conversations/{conversation.pk}/report/")
    figures = page.locator("dl.figures")
    assert figures.locator("dd").all_inner_texts() == ["fewer than 5", "9", "0"]
    table = page.get_by_role("table").last
    assert table.locator("tbody tr").all_inner_texts() == ["All days\t9\tfewer than 5"]
