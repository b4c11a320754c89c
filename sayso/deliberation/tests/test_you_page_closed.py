"""The 'how your view relates' page of a closed conversation does not ask for votes.

The reviewer closed a conversation and opened the page as someone who had voted on 5
of 7 statements: it said "Vote on at least 7 statements to see this" with a "Back to
voting" link, though voting had ended."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community
from sayso.core.tests.factories import signed_in
from sayso.deliberation import services
from sayso.deliberation.models import Conversation

from .factories import ConversationFactory, StatementFactory
from .helpers import token

pytestmark = pytest.mark.django_db


def url(conversation: Conversation, name: str) -> str:
    return reverse(
        f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
    )


def test_a_closed_conversation_says_voting_has_ended(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    statements = StatementFactory.create_batch(7, conversation=conversation)
    client = Client()
    for statement in statements[:5]:
        client.post(
            url(conversation, "participate"), {"statement": token(statement), "vote": "agree"}
        )
    page = client.get(url(conversation, "you")).content.decode()
    assert "Vote on at least 7 statements to see this." in page
    assert "Back to voting" in page

    services.set_state(conversation=conversation, open=False, actor=None)
    page = client.get(url(conversation, "you")).content.decode()
    assert "This conversation has closed" in page
    assert (
        "Voting has ended. Your view can be compared with the groups only after at least "
        "7 votes, and you voted on 5." in page
    )
    assert "Vote on at least" not in page
    assert "Back to voting" not in page
    assert "Back to the conversation" in page


def test_a_members_only_conversation_asks_outsiders_to_sign_in_not_to_vote(
    community: Community,
) -> None:
    from sayso.accounts.tests.factories import UserFactory

    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS
    )
    StatementFactory.create_batch(7, conversation=conversation)
    page = Client().get(url(conversation, "you")).content.decode()
    assert "Sign in to take part" in page
    assert "Vote on at least" not in page
    outsider = signed_in(UserFactory.create())
    page = outsider.get(url(conversation, "you")).content.decode()
    assert "This conversation is for members" in page
    assert "Vote on at least" not in page
