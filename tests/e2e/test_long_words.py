"""A participant's long unbroken "word" (a pasted link, a product code) must wrap rather
than push a 320 px phone's page sideways (WCAG 1.4.10, reflow). Each page the browser
visits is checked for horizontal scrolling by `Browse.check`."""

from __future__ import annotations

import pytest

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import Conversation

from .conftest import SMALLEST, BrowseFactory

pytestmark = pytest.mark.e2e

# 120 letters with no space: far wider than a 320 px screen at any readable size.
LONG_WORD = "https://intranet.example.org/scanner-productivity-dashboard/" + "x" * 60


@pytest.mark.parametrize("javascript", [True, False])
def test_long_unbroken_statement_and_topic_wrap_at_320px(
    browse: BrowseFactory, javascript: bool
) -> None:
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    conversation = services.create_conversation(
        conversation=Conversation(topic=f"What about {LONG_WORD}?"),
        community=community,
        actor=None,
        seed_statements=[f"Everyone should be able to read {LONG_WORD} themselves."],
    )
    person = browse("participant", javascript=javascript)
    person.page.set_viewport_size(SMALLEST)
    person.visit(conversation.get_public_url())
    assert LONG_WORD in person.page.content()
