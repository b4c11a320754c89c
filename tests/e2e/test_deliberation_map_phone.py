"""The opinion map on a phone and from the keyboard, and moderation's "Select all", as a
browser reviewer found them (issue 3, session 12): at 360 px the map was 248 px wide
with labels about 9 px tall, no key reached a group, and ticking every statement took a
Tab and a Space per row. Every page is axe-checked."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import Community, Membership, Role
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Statement
from sayso.deliberation.tests.factories import ConversationFactory, StatementFactory, planted

from .conftest import PASSWORD, BrowseFactory, sign_in

pytestmark = pytest.mark.e2e

PHONE_360 = {"width": 360, "height": 740}


def _organiser() -> tuple[Community, str]:
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.OWNER)
    return community, user.email


def test_the_map_fills_a_phone_and_each_group_is_reached_with_tab(
    browse: BrowseFactory, settings: Any
) -> None:
    settings.SAYSO = {**settings.SAYSO, "DELIBERATION_RECOMPUTE_SECONDS": 3600}
    community, email = _organiser()
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=12, statements=8)
    services.compute_now(conversation=conversation)

    rep = browse("rep")
    sign_in(rep, email)
    rep.page.set_viewport_size(PHONE_360)
    rep.visit(f"/c/northgate-depot/conversations/{conversation.pk}/report/")
    page = rep.page
    svg = page.locator("svg.opinion-map")
    # The page's 16 px margins on each side, and no more.
    assert svg.bounding_box()["width"] == pytest.approx(360 - 32, abs=1)
    rendered = page.evaluate(
        """() => [...document.querySelectorAll('svg.opinion-map text')].map(
            t => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a)"""
    )
    assert len(rendered) == 4
    assert min(rendered) >= 12

    # Tab from the heading goes through the groups on the map, each named.
    page.locator("#map-heading").evaluate("h => { h.tabIndex = -1; h.focus(); }")
    names = []
    for _ in range(2):
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.getAttribute('aria-label')"))
    assert names == ["Group A, 12 people", "Group B, 12 people"]
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash === '#group-B'")
    assert page.evaluate("document.activeElement.id") == "group-B"


def test_select_all_without_javascript_then_accept(browse: BrowseFactory) -> None:
    community, email = _organiser()
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    for n in range(4):
        StatementFactory.create(
            conversation=conversation,
            number=n,
            text=f"Waiting statement {n} about the scanners",
            state=Statement.State.PENDING,
        )

    rep = browse("rep", javascript=False)
    sign_in(rep, email)
    rep.visit(f"/c/northgate-depot/conversations/{conversation.pk}/moderate/?show=pending")
    page = rep.page
    assert page.locator("input[name=statements]:checked").count() == 0
    rep.submit("Select all on this page")
    assert page.locator("input[name=statements]:checked").count() == 4
    assert (
        "All 4 statements on this page are ticked."
        in page.locator("#selection-status").inner_text()
    )
    assert set(Statement.objects.values_list("state", flat=True)) == {"pending"}
    page.get_by_label("Waiting statement 2", exact=False).uncheck()
    rep.submit("Accept selected")
    assert sorted(Statement.objects.values_list("number", "state")) == [
        (0, "accepted"),
        (1, "accepted"),
        (2, "pending"),
        (3, "accepted"),
    ]
