"""A member refused in a second browser is told so on every participant page.

In an anonymous members-only conversation each member takes part once
(services.join, MemberJoined). The reviewer opened the conversation in a second
browser: the voting page said they had already joined, but "How your view relates to
the groups" said "Vote on at least 4 statements ... You have voted on 0", and "Add your
own statement" said "Join the conversation first". Both now say that the member joined
in another browser and should carry on there, and nothing is created.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community
from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.deliberation.models import Conversation, MemberJoined, Participant, Statement, Vote

from .factories import ConversationFactory, StatementFactory
from .helpers import token

pytestmark = pytest.mark.django_db

ALREADY = "You have already joined this conversation"
CARRY_ON = (
    "You joined in another browser, or before signing in again. Each member takes part"
    " once, and your votes are anonymous, so Sayso cannot bring them here: carry on in the"
    " browser where you started. You can still read the results when they are shown."
)
TEXT_FIELD = 'name="text"'


def url(conversation: Conversation, name: str) -> str:
    return reverse(
        f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
    )


def rows() -> tuple[int, int, int, int]:
    return (
        Participant.objects.count(),
        Vote.objects.count(),
        MemberJoined.objects.count(),
        Statement.objects.count(),
    )


def joined_in_one_browser(community: Community, **fields: Any) -> tuple[Conversation, Client]:
    """A member who voted once in a first browser, and their second browser."""
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS, **fields
    )
    statements = StatementFactory.create_batch(4, conversation=conversation)
    member = MembershipFactory.create(community=community).user
    first = signed_in(member)
    first.post(
        url(conversation, "participate"), {"statement": token(statements[0]), "vote": "agree"}
    )
    assert rows() == (1, 1, 1, 4)
    second = signed_in(member)
    return conversation, second


def test_the_you_page_tells_a_member_who_joined_elsewhere(community: Community) -> None:
    conversation, second = joined_in_one_browser(community)
    response = second.get(url(conversation, "you"))
    page = response.content.decode()
    assert response.status_code == 200
    assert ALREADY in page
    assert CARRY_ON in page
    assert "Vote on at least" not in page
    assert "You have voted on" not in page
    assert "Back to voting" not in page
    assert f'href="{conversation.get_public_url()}">Back to the conversation</a>' in page
    assert f'href="{url(conversation, "report")}"' in page  # the results are shown
    assert rows() == (1, 1, 1, 4)


def test_the_you_page_offers_no_results_while_they_are_hidden(community: Community) -> None:
    conversation, second = joined_in_one_browser(community, results_hidden_until_closed=True)
    page = second.get(url(conversation, "you")).content.decode()
    assert ALREADY in page
    assert "Vote on at least" not in page
    assert f'href="{url(conversation, "report")}"' not in page
    assert rows() == (1, 1, 1, 4)


def test_the_statement_page_tells_a_member_who_joined_elsewhere(community: Community) -> None:
    conversation, second = joined_in_one_browser(community)
    page = second.get(url(conversation, "statement")).content.decode()
    assert ALREADY in page
    assert CARRY_ON in page
    assert "Join the conversation first" not in page
    assert TEXT_FIELD not in page  # no form to fill in for nothing

    response = second.post(url(conversation, "statement"), {"text": "Scanner data stays on site"})
    page = response.content.decode()
    assert response.status_code == 200
    assert ALREADY in page
    assert "Join the conversation first" not in page
    assert rows() == (1, 1, 1, 4)  # no participant, no statement, no second MemberJoined
    assert not Statement.objects.filter(text="Scanner data stays on site").exists()


def test_a_member_who_has_not_joined_is_not_told_they_have(community: Community) -> None:
    """The first time, in any browser, the pages are as before: the notice is only for a
    member whose joining is recorded."""
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS
    )
    StatementFactory.create_batch(4, conversation=conversation)
    member = MembershipFactory.create(community=community).user
    client = signed_in(member)
    you = client.get(url(conversation, "you")).content.decode()
    assert ALREADY not in you
    assert "Vote on at least 4 statements to see this." in you
    statement = client.get(url(conversation, "statement")).content.decode()
    assert ALREADY not in statement
    assert TEXT_FIELD in statement
    assert rows() == (0, 0, 0, 4)
