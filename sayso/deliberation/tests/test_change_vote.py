"""Changing one's last vote (a mis-tap on a phone): offered after each vote, without
JavaScript (a link to a page, then a form post) and with htmx (the card alone). Only the
participant's own vote, only while the conversation is open, only on a statement still
shown; the vote is changed in place, never added."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Statement, Vote

from .factories import ConversationFactory, StatementFactory
from .helpers import token

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "card-region"}


def _url(conversation: Conversation) -> str:
    return reverse(
        "deliberation_public:participate", kwargs={"public_token": conversation.public_token}
    )


def _change_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]*\?change=\d+)"[^>]*>Change my last vote</a>', html)
    return found.group(1) if found else None


def _votes() -> list[tuple[str, int]]:
    return list(Vote.objects.order_by("pk").values_list("statement__text", "value"))


def _two_statements() -> tuple[Conversation, Statement, Statement]:
    conversation = ConversationFactory.create()
    first = StatementFactory.create(conversation=conversation, text="Delete scans after 30 days")
    second = StatementFactory.create(conversation=conversation, text="Tell us what is recorded")
    return conversation, first, second


def test_without_javascript_a_vote_is_changed_from_the_page_after_it() -> None:
    conversation, first, second = _two_statements()
    client = Client()
    assert _change_link(client.get(_url(conversation)).content.decode()) is None  # no vote yet
    voted = client.post(_url(conversation), {"statement": token(first), "vote": "agree"})
    page = client.get(voted["Location"]).content.decode()
    assert second.text in page  # the next statement, as before
    link = _change_link(page)
    assert link == f"{_url(conversation)}?change={token(first)}"

    change = client.get(link).content.decode()
    assert first.text in change
    assert "You voted “Agree” on this statement. Choose again, or keep your vote." in change
    assert 'name="change" value="1"' in change
    assert f'<a href="{_url(conversation)}"' in change  # "Keep my vote"
    assert _votes() == [(first.text, 1)]  # looking changes nothing

    changed = client.post(
        _url(conversation), {"statement": token(first), "vote": "disagree", "change": "1"}
    )
    assert changed.status_code == 303
    page = client.get(changed["Location"]).content.decode()
    assert "Your vote was changed." in page
    assert second.text in page
    assert _votes() == [(first.text, -1)]  # changed in place: still one vote


def test_with_htmx_the_change_comes_as_a_card() -> None:
    conversation, first, second = _two_statements()
    client = Client()
    card = client.post(
        _url(conversation), {"statement": token(first), "vote": "pass"}, headers=HTMX
    ).content.decode()
    assert "<html" not in card
    assert second.text in card
    link = _change_link(card)
    assert link is not None
    assert f'hx-get="{link}"' in card

    change = client.get(link, headers=HTMX).content.decode()
    assert "<html" not in change
    assert first.text in change
    assert "You voted “Pass / unsure”" in change
    assert 'autofocus aria-describedby="statement-progress"' in change  # focus on the card

    reply = client.post(
        _url(conversation),
        {"statement": token(first), "vote": "agree", "change": "1"},
        headers=HTMX,
    ).content.decode()
    assert "Your vote was changed." in reply
    assert second.text in reply
    assert _votes() == [(first.text, 1)]

    kept = client.get(_url(conversation), headers=HTMX).content.decode()  # "Keep my vote"
    assert "<html" not in kept
    assert second.text in kept


def test_after_the_last_statement_the_change_is_still_offered() -> None:
    conversation = ConversationFactory.create()
    only = StatementFactory.create(conversation=conversation)
    client = Client()
    card = client.post(
        _url(conversation), {"statement": token(only), "vote": "agree"}, headers=HTMX
    ).content.decode()
    assert "You have voted on every statement" in card
    assert _change_link(card) == f"{_url(conversation)}?change={token(only)}"


def test_someone_else_cannot_see_or_change_a_participants_vote() -> None:
    conversation, first, _second = _two_statements()
    voter = Client()
    voter.post(_url(conversation), {"statement": token(first), "vote": "agree"})
    link = f"{_url(conversation)}?change={token(first)}"
    for stranger in (Client(), Client()):
        page = stranger.get(link).content.decode()
        assert "You voted" not in page  # nobody else's vote is shown
        assert "Statement 1 of 2" in page  # just the next statement
    other = Client()
    other.post(_url(conversation), {"statement": token(first), "vote": "disagree"})
    # Their own vote, not the first participant's: two votes, the first unchanged.
    assert sorted(_votes()) == [(first.text, -1), (first.text, 1)]
    assert Vote.objects.get(participant__number=0).value == 1


def test_no_change_once_the_conversation_is_closed() -> None:
    conversation, first, _second = _two_statements()
    client = Client()
    client.post(_url(conversation), {"statement": token(first), "vote": "agree"})
    services.set_state(conversation=conversation, open=False, actor=None)
    page = client.get(f"{_url(conversation)}?change={token(first)}").content.decode()
    assert "This conversation has closed" in page
    assert "You voted" not in page
    assert _change_link(page) is None
    refused = client.post(
        _url(conversation), {"statement": token(first), "vote": "disagree", "change": "1"}
    ).content.decode()
    # Said once, by the closed notice (not the refusal as well).
    assert refused.count("This conversation has closed") == 1
    assert "Votes are no longer counted." in refused
    assert _votes() == [(first.text, 1)]


def test_no_change_on_a_statement_taken_out_since() -> None:
    conversation, first, second = _two_statements()
    client = Client()
    voted = client.post(_url(conversation), {"statement": token(first), "vote": "agree"})
    services.moderate(conversation=conversation, statement_ids=[first.pk], accept=False, actor=None)
    page = client.get(voted["Location"]).content.decode()
    assert _change_link(page) is None  # not offered for a rejected statement
    page = client.get(f"{_url(conversation)}?change={token(first)}").content.decode()
    assert "That statement is no longer part of the conversation" in page
    assert first.text not in page
    assert second.text in page
    refused = client.post(
        _url(conversation), {"statement": token(first), "vote": "disagree", "change": "1"}
    ).content.decode()
    assert "That statement is not part of this conversation any more." in refused
    assert _votes() == [(first.text, 1)]


@pytest.mark.parametrize("junk", ["", "0", "abc", "1" * 19, "-5", "12.5"])
def test_a_malformed_change_link_shows_the_next_statement(junk: str) -> None:
    conversation, first, _second = _two_statements()
    client = Client()
    client.post(_url(conversation), {"statement": token(first), "vote": "agree"})
    page = client.get(_url(conversation), {"change": junk, "voted": junk}).content.decode()
    assert "You voted" not in page
    assert _change_link(page) is None
    assert "Statement 2 of 2" in page


def test_the_vote_request_reads_nothing_more_for_the_offer() -> None:
    # The offer is the statement just voted on, known from the post: the htmx vote stays
    # the checked upsert and one read (test_views.test_vote_query_count_is_pinned).
    conversation, first, second = _two_statements()
    StatementFactory.create(conversation=conversation)
    client = Client()
    client.post(_url(conversation), {"statement": token(first), "vote": "agree"})
    with CaptureQueriesContext(connection) as captured:
        card = client.post(
            _url(conversation), {"statement": token(second), "vote": "agree"}, headers=HTMX
        ).content.decode()
    assert _change_link(card) == f"{_url(conversation)}?change={token(second)}"
    assert len(captured.captured_queries) == 2
