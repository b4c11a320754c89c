"""Factories for conversations, statements, participants and votes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from factory.django import DjangoModelFactory

from sayso.core.tests.declarations import lazy_attribute, lazy_function, sequence, sub_factory
from sayso.core.tests.factories import CommunityFactory
from sayso.deliberation.models import (
    Conversation,
    OpinionMapResult,
    Participant,
    Statement,
    Vote,
    normalise_text,
)


class ConversationFactory(DjangoModelFactory[Conversation]):
    class Meta:
        model = Conversation

    community = sub_factory(CommunityFactory)
    topic = sequence(lambda n: f"What should the rules be, question {n}?")
    moderation = Conversation.Moderation.POST

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Conversation:
        # As services.create_conversation does: every conversation has its result row.
        conversation: Conversation = super()._create(model_class, *args, **kwargs)  # type: ignore[no-untyped-call]
        OpinionMapResult.objects.create(conversation=conversation)
        return conversation


class StatementFactory(DjangoModelFactory[Statement]):
    class Meta:
        model = Statement

    conversation = sub_factory(ConversationFactory)
    number = sequence(lambda n: n)
    text = sequence(lambda n: f"Statement number {n} about scanner data")
    normalised = lazy_attribute(lambda o: normalise_text(o.text))
    created_on = lazy_function(dt.date.today)


class ParticipantFactory(DjangoModelFactory[Participant]):
    class Meta:
        model = Participant

    conversation = sub_factory(ConversationFactory)
    number = sequence(lambda n: n)
    joined_on = lazy_function(dt.date.today)


class VoteFactory(DjangoModelFactory[Vote]):
    class Meta:
        model = Vote

    participant = sub_factory(ParticipantFactory)
    statement = sub_factory(StatementFactory)
    value = 1
    created_on = lazy_function(dt.date.today)


def planted(
    conversation: Conversation, *, groups: int = 2, size: int = 10, statements: int = 8
) -> None:
    """Groups that vote as blocs: group g agrees with statement s when s % groups == g."""
    items = [
        StatementFactory.create(conversation=conversation, number=i) for i in range(statements)
    ]
    number = 0
    votes = []
    for g in range(groups):
        for i in range(size):
            p = ParticipantFactory.create(conversation=conversation, number=number)
            number += 1
            for s, statement in enumerate(items):
                value = 1 if s % groups == g else -1
                if s == statements - 1:
                    value = 1  # everyone agrees with the last one: consensus
                elif s == i % (statements - 1):
                    value = 0  # a pass each, so that nobody is an exact copy
                votes.append(
                    Vote(
                        participant=p, statement=statement, value=value, created_on=dt.date.today()
                    )
                )
    Vote.objects.bulk_create(votes)
