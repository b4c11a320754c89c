"""Routing (the order in which the participate page deals statements) reads the routing
priorities of the published map only. Priorities stored after every recompute moved
with each vote: anyone with the link could load the page thousands of times, watch one
statement's share of the cards go up after someone agreed with it (down after a
disagree) and so read that person's vote, which the report holds back.

These tests read the weights routing draws with directly, rather than sampling cards."""

from __future__ import annotations

import random

import pytest

from sayso.core.models import Community
from sayso.deliberation import selectors, services
from sayso.deliberation.models import Conversation, OpinionMapResult, Statement

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, VoteFactory

pytestmark = pytest.mark.django_db


def _world(
    community: Community, *, people: int = 10, hidden: bool = False
) -> tuple[Conversation, list[Statement]]:
    """`people` who voted on S1..S3, four of them on S0 too, and a published map."""
    conversation = ConversationFactory.create(
        community=community,
        access=Conversation.Access.LINK,
        results_hidden_until_closed=hidden,
    )
    statements = [
        StatementFactory.create(conversation=conversation, number=i, text=f"Statement {i}")
        for i in range(4)
    ]
    for p in range(people):
        _voter(conversation, statements, p)
    services.compute_now(conversation=conversation)
    return conversation, statements


def _voter(conversation: Conversation, statements: list[Statement], p: int) -> None:
    person = ParticipantFactory.create(conversation=conversation, number=p)
    for s in (1, 2, 3):
        VoteFactory.create(
            participant=person, statement=statements[s], value=[1, -1, 1, 0, -1][(p + s) % 5]
        )
    if p < 4:
        VoteFactory.create(participant=person, statement=statements[0], value=-1)


def _weights(conversation: Conversation) -> dict[int, float]:
    """What routing draws each shown statement with, as the participate page loads it."""
    selectors.forget_routing(conversation)
    routing = selectors.load_routing(conversation.public_token)
    assert routing is not None
    return dict(zip(routing.statements, routing.weights, strict=True))


def _vote_once(conversation: Conversation, statement: Statement, value: int) -> None:
    target = ParticipantFactory.create(conversation=conversation, number=99)
    services.cast_vote(
        conversation=conversation, participant=target, statement_id=statement.pk, value=value
    )
    services.compute_now(conversation=conversation)


@pytest.mark.parametrize("value", [1, -1])
def test_one_held_back_vote_does_not_move_routing(community: Community, value: int) -> None:
    conversation, statements = _world(community)
    before = _weights(conversation)
    published = OpinionMapResult.objects.get(conversation=conversation).data
    _vote_once(conversation, statements[0], value)
    result = OpinionMapResult.objects.get(conversation=conversation)
    assert result.held_back
    assert result.data == published  # the report holds the vote back ...
    assert _weights(conversation) == before  # ... and so does routing
    # Routing does follow the published map: S0 (fewer votes) is drawn more than S1.
    assert before[statements[0].pk] != before[statements[1].pk]


def test_routing_moves_when_the_map_is_published(community: Community) -> None:
    conversation, statements = _world(community)
    before = _weights(conversation)
    for p in range(20, 20 + community.small_group_threshold):
        _voter(conversation, statements, p)
    services.compute_now(conversation=conversation)
    assert not OpinionMapResult.objects.get(conversation=conversation).held_back
    assert _weights(conversation) != before


@pytest.mark.parametrize("value", [1, -1])
def test_results_hidden_until_closing_route_evenly_while_open(
    community: Community, value: int
) -> None:
    conversation, statements = _world(community, hidden=True)
    even = dict.fromkeys((s.pk for s in statements), selectors.UNSEEN_PRIORITY)
    assert _weights(conversation) == even
    _vote_once(conversation, statements[0], value)
    assert _weights(conversation) == even
    assert OpinionMapResult.objects.get(conversation=conversation).priority == {}


def test_a_first_map_of_fewer_than_the_threshold_routes_evenly(community: Community) -> None:
    """The first map is published at once, whoever is in it; routing by it would give
    away how its first few people voted (with one person, exactly how)."""
    conversation, statements = _world(community, people=1)
    result = OpinionMapResult.objects.get(conversation=conversation)
    assert result.data.get("statements")  # published, small counts hidden in the report
    even = dict.fromkeys((s.pk for s in statements), selectors.UNSEEN_PRIORITY)
    assert _weights(conversation) == even
    for p in range(1, 1 + community.small_group_threshold):
        _voter(conversation, statements, p)
    services.compute_now(conversation=conversation)
    assert _weights(conversation) != even


def test_statements_added_or_accepted_after_the_map_are_still_dealt(
    community: Community,
) -> None:
    conversation, statements = _world(community)
    conversation.moderation = Conversation.Moderation.PRE  # a statement waits unseen
    conversation.save(update_fields=["moderation"])
    waiting = StatementFactory.create(
        conversation=conversation, number=4, text="Waiting at publication", state="pending"
    )
    for p in range(20, 20 + community.small_group_threshold):
        _voter(conversation, statements, p)
    services.compute_now(conversation=conversation)  # published with `waiting` moderated out
    published = OpinionMapResult.objects.get(conversation=conversation).priority
    assert published[str(waiting.pk)] == 0
    added = StatementFactory.create(conversation=conversation, number=5, text="Added after")
    services.moderate(
        conversation=conversation, statement_ids=[waiting.pk], accept=True, actor=None
    )
    assert OpinionMapResult.objects.get(conversation=conversation).held_back is False
    weights = _weights(conversation)
    # As Polis deals a new statement: with the priority of one nobody has seen yet.
    assert weights[added.pk] == selectors.UNSEEN_PRIORITY
    assert weights[waiting.pk] == selectors.UNSEEN_PRIORITY
    routing = selectors.load_routing(conversation.public_token)
    assert routing is not None
    rng = random.Random(3)
    dealt = {selectors.next_statement(routing, (), rng) for _ in range(400)}
    assert {added.pk, waiting.pk} <= dealt
