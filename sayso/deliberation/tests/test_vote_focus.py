"""After a vote with htmx the new card takes focus and "Vote recorded." goes to the
page's status line; the page opened afresh moves no focus (after a vote without
JavaScript the page at ?voted= does: test_accessibility_findings.py)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from sayso.deliberation.models import Conversation

from .factories import ConversationFactory, StatementFactory
from .helpers import token

pytestmark = pytest.mark.django_db


def _public(conversation: Conversation) -> str:
    return reverse(
        "deliberation_public:participate", kwargs={"public_token": conversation.public_token}
    )


def test_the_next_card_takes_focus_and_the_page_does_not() -> None:
    conversation = ConversationFactory.create()
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    page = client.get(_public(conversation)).content.decode()
    assert "autofocus" not in page
    assert '<p id="card-status" class="visually-hidden" role="status"></p>' in page
    assert 'aria-live="polite"' not in page  # the status line speaks, not the whole card

    card = client.post(
        _public(conversation),
        {"statement": token(first), "vote": "agree"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert (
        '<span id="card-status" hx-swap-oob="innerHTML">Vote recorded. 1 of 2 done.</span>' in card
    )
    assert (
        '<h2 id="statement-text" tabindex="-1" autofocus aria-describedby="statement-progress">'
        f"{second.text}</h2>"
    ) in card

    # Without JavaScript: 303 back to the page; the page opened afresh moves no focus.
    response = client.post(_public(conversation), {"statement": token(second), "vote": "agree"})
    assert response.status_code == 303
    assert "autofocus" not in client.get(_public(conversation)).content.decode()


def test_the_last_card_focuses_the_thank_you_message() -> None:
    conversation = ConversationFactory.create()
    only = StatementFactory.create(conversation=conversation)
    card = Client().post(
        _public(conversation),
        {"statement": token(only), "vote": "pass"},
        headers={"HX-Request": "true"},
    )
    html = card.content.decode()
    assert re.search(
        r'<div tabindex="-1" autofocus>\s*<div class="notification notification--success"', html
    )
    assert "You have voted on every statement" in html
