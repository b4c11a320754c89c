"""Review 15, findings 3 and 6 on organisers' pages: a statement nobody could have voted
on (waiting, held or rejected before anyone saw it) is not said to have "fewer than 5
votes"; the held tab is named for every kind of personal detail it holds."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, planted
from .helpers import community_url, signed_in

pytestmark = pytest.mark.django_db


def _row(html: str, text: str) -> str:
    found = re.search(rf"{re.escape(text)}</(?:label></)?th>(.*?)</tr>", html, re.S)
    assert found is not None, text
    return found.group(1)


def _conversation(community: Community, moderation: str) -> Conversation:
    conversation = ConversationFactory.create(community=community, moderation=moderation)
    planted(conversation, groups=2, size=10, statements=8)
    StatementFactory.create(
        conversation=conversation, number=8, text="Waiting to be read", state="pending"
    )
    StatementFactory.create(
        conversation=conversation, number=9, text="Rejected at once", state="rejected"
    )
    voted = StatementFactory.create(
        conversation=conversation, number=10, text="Rejected after votes", state="accepted"
    )
    Vote.objects.bulk_create(
        Vote(
            participant=Participant.objects.get(conversation=conversation, number=n),
            statement=voted,
            value=1,
            created_on=dt.date.today(),
        )
        for n in (0, 1)
    )
    services.compute_now(conversation=conversation)
    Statement.objects.filter(pk=voted.pk).update(state="rejected")
    return conversation


def test_statements_nobody_could_vote_on_say_so(community: Community, organiser: Any) -> None:
    conversation = _conversation(community, "pre")
    client = signed_in(organiser)
    detail = client.get(community_url(conversation, "detail")).content.decode()
    pending = client.get(community_url(conversation, "moderate") + "?show=pending")
    rejected = client.get(community_url(conversation, "moderate") + "?show=rejected")
    for page in (detail, pending.content.decode()):
        row = _row(page, "Waiting to be read")
        assert "Not shown to participants yet" in row
        assert "fewer than" not in row
    for page in (detail, rejected.content.decode()):
        row = _row(page, "Rejected at once")
        assert "Not shown to participants" in row
        assert "fewer than" not in row
        # Two people voted before it was rejected: their few votes stay "fewer than 5".
        row = _row(page, "Rejected after votes")
        assert "fewer than 5 votes" in row
        assert "Not shown" not in row


def test_a_waiting_statement_shown_straight_away_keeps_its_count(
    community: Community, organiser: Any
) -> None:
    # Under post-moderation a waiting statement is shown: people could vote on it.
    conversation = _conversation(community, "post")
    page = signed_in(organiser).get(community_url(conversation, "detail")).content.decode()
    row = _row(page, "Waiting to be read")
    assert "Not shown" not in row
    assert "fewer than 5 votes" in row


def test_the_held_tab_names_personal_details(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(community=community, moderation="post")
    author = ParticipantFactory.create(conversation=conversation, number=1)
    held = services.add_participant_statement(
        conversation=conversation, participant=author, text="Call me on 07700 900123 about it"
    )
    assert held.state == Statement.State.HELD
    client: Client = signed_in(organiser)
    page = client.get(community_url(conversation, "moderate")).content.decode()
    assert "Held: may contain personal details (1)" in page
    assert "may name someone" not in page
    detail = client.get(community_url(conversation, "detail")).content.decode()
    assert "Held: may contain personal details" in _row(detail, held.text)
    assert "Not shown to participants yet" in _row(detail, held.text)
