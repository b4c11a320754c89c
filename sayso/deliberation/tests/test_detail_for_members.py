"""The conversation page a member reads: only what participants see. Statements waiting
for moderation or rejected (one may name someone) and small counts are for organisers."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, Role
from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.deliberation import services

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, VoteFactory


def _page(conversation: Any, user: Any) -> str:
    client = signed_in(user)
    url = reverse(
        "deliberation:detail",
        kwargs={"slug": conversation.community.slug, "conversation": conversation.pk},
    )
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _conversation(community: Community, participants: int) -> Any:
    conversation = ConversationFactory.create(community=community)
    shown = StatementFactory.create(conversation=conversation, text="Cameras only for safety")
    StatementFactory.create(
        conversation=conversation,
        text="My manager Dave Smith watches the footage",
        state="rejected",
    )
    StatementFactory.create(
        conversation=conversation, text="Night shift should meet apart", state="pending"
    )
    for _ in range(participants):
        VoteFactory.create(
            participant=ParticipantFactory.create(conversation=conversation),
            statement=shown,
            value=1,
        )
    # Members read the number who joined from the report (selectors.published_totals).
    services.compute_now(conversation=conversation)
    return conversation


def test_a_member_sees_accepted_statements_only_and_no_small_counts(
    community: Community,
) -> None:
    conversation = _conversation(community, participants=4)
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    page = _page(conversation, member)
    assert "Cameras only for safety" in page
    assert "Dave Smith" not in page
    assert "Night shift should meet apart" not in page
    assert "Waiting for moderation" not in page
    assert "Rejected" not in page
    assert "<dd>fewer than 5</dd>" in page  # 4 participants, under the threshold
    assert "Votes</th>" not in page


def test_a_member_sees_the_number_of_participants_once_it_is_not_small(
    community: Community,
) -> None:
    conversation = _conversation(community, participants=5)
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    assert "<dd>5</dd>" in _page(conversation, member)


def test_an_organiser_still_sees_every_statement_with_its_state_and_votes(
    community: Community, organiser: Any
) -> None:
    conversation = _conversation(community, participants=4)
    page = _page(conversation, organiser)
    assert "Dave Smith" in page
    assert "Rejected" in page
    assert "Night shift should meet apart" in page
    assert "Waiting for moderation" in page
    assert "<dd>4</dd>" in page
    assert "Votes</th>" in page


def test_a_participant_is_asked_not_to_name_anyone_in_a_statement(community: Community) -> None:
    conversation = ConversationFactory.create(community=community, participants_can_add=True)
    StatementFactory.create(conversation=conversation)
    client = Client()
    client.get(conversation.get_public_url())
    page = client.get(
        reverse("deliberation_public:statement", kwargs={"public_token": conversation.public_token})
    ).content.decode()
    assert "Do not name or describe anyone, yourself included" in page
