"""Each member takes part once in an anonymous members-only conversation.

The reviewer signed in as one member in three browsers and voted in each: three
participants, three votes, one person. Anonymous participants carry no link to their
account, so the member's joining is recorded apart (MemberJoined: conversation and
member, no date, no participant), and a second join is refused with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from sayso.core.models import Community
from sayso.core.services import ServiceError
from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, MemberJoined, Participant, Statement, Vote

from .factories import ConversationFactory, StatementFactory
from .helpers import token

pytestmark = pytest.mark.django_db

ALREADY = "You have already joined this conversation"


def participate(conversation: Conversation, name: str = "participate") -> str:
    return reverse(
        f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
    )


def members_only(community: Community, **fields: Any) -> tuple[Conversation, list[Statement]]:
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS, **fields
    )
    return conversation, StatementFactory.create_batch(3, conversation=conversation)


def rows() -> tuple[int, int, int, int]:
    return (
        Participant.objects.count(),
        Vote.objects.count(),
        MemberJoined.objects.count(),
        Statement.objects.count(),
    )


def test_a_member_in_a_second_browser_cannot_join_again(community: Community) -> None:
    conversation, statements = members_only(community)
    member = MembershipFactory.create(community=community).user
    first = signed_in(member)
    first.post(participate(conversation), {"statement": token(statements[0]), "vote": "agree"})
    assert rows() == (1, 1, 1, 3)
    joined = MemberJoined.objects.get()
    assert (joined.conversation_id, joined.user_id) == (conversation.pk, member.pk)
    assert Participant.objects.get().user is None  # the participant names nobody

    second = signed_in(member)
    page = second.get(participate(conversation)).content.decode()
    assert ALREADY in page
    assert 'name="vote"' not in page  # no voting card to use
    refused = second.post(
        participate(conversation), {"statement": token(statements[1]), "vote": "agree"}
    )
    assert refused.status_code == 200
    refused = second.post(
        participate(conversation),
        {"statement": token(statements[1]), "vote": "agree"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 200
    second.post(participate(conversation, "statement"), {"text": "Scanner data stays on site"})
    assert rows() == (1, 1, 1, 3)  # nothing changed

    # The first browser carries on.
    first.post(participate(conversation), {"statement": token(statements[1]), "vote": "agree"})
    assert rows() == (1, 2, 1, 3)


def test_the_service_refuses_a_second_join_and_creates_nothing(community: Community) -> None:
    conversation, _statements = members_only(community)
    member = MembershipFactory.create(community=community).user
    services.join(conversation=conversation, user=member, token="page-one")
    before = rows()
    with pytest.raises(ServiceError, match="already joined"):
        services.join(conversation=conversation, user=member, token="page-two")
    assert rows() == before
    # The same page's double submit is still the same participant, not a refusal.
    again = services.join(conversation=conversation, user=member, token="page-one")
    assert again == Participant.objects.get()


def test_each_member_joins_once_and_different_members_each_join(community: Community) -> None:
    conversation, statements = members_only(community)
    for _ in range(3):
        member = MembershipFactory.create(community=community).user
        signed_in(member).post(
            participate(conversation), {"statement": token(statements[0]), "vote": "agree"}
        )
    assert rows() == (3, 3, 3, 3)


def test_other_conversations_record_no_member(community: Community) -> None:
    member = MembershipFactory.create(community=community).user
    by_link = ConversationFactory.create(community=community)  # anyone with the link
    named, _statements = members_only(community, anonymous=False)
    for conversation in (by_link, named):
        statement = StatementFactory.create(conversation=conversation)
        signed_in(member).post(
            participate(conversation), {"statement": token(statement), "vote": "agree"}
        )
    assert MemberJoined.objects.count() == 0
    # Not anonymous: the participant is linked, and a second browser continues as them.
    other = StatementFactory.create(conversation=named)
    signed_in(member).post(participate(named), {"statement": token(other), "vote": "agree"})
    assert Participant.objects.filter(conversation=named).count() == 1
    assert Vote.objects.filter(participant__conversation=named).count() == 2
