"""A conversation closes while a participant has it open with JavaScript on: their next
vote shows "This conversation has closed" on the card, and the links under the card
change with it (no more "Add your own statement"), as the page without JavaScript
shows after the close. The page is axe-checked after the swap."""

from __future__ import annotations

import pytest

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Vote

from .conftest import BrowseFactory

pytestmark = pytest.mark.e2e


def test_a_vote_after_closing_swaps_the_links_under_the_card(browse: BrowseFactory) -> None:
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    conversation = services.create_conversation(
        conversation=Conversation(topic="What should the rules be for the scanner data?"),
        community=community,
        actor=None,
        seed_statements=[
            "Scanner data should never be used on its own to discipline someone.",
            "We should be told exactly what the scanners record about us.",
        ],
    )
    person = browse("late voter")
    person.visit(conversation.get_public_url())
    page = person.page
    links = page.locator("#participant-links")
    assert links.get_by_role("link", name="Add your own statement").count() == 1

    services.set_state(conversation=conversation, open=False, actor=None)
    page.get_by_role("button", name="Agree", exact=True).click()
    page.wait_for_function("() => !document.querySelector('#statement-text')")
    assert "This conversation has closed" in page.locator("#card-region").inner_text()
    assert links.get_by_role("link", name="Add your own statement").count() == 0
    assert links.get_by_role("link", name="See the results").count() == 1
    assert page.locator("#participant-links").count() == 1
    assert Vote.objects.count() == 0
    person.check()
