"""The recompute task and its debounced, on-commit enqueueing."""

from __future__ import annotations

from typing import Any

import pytest

from sayso.deliberation import services
from sayso.deliberation.models import OpinionMapResult, Statement
from sayso.deliberation.tasks import recompute_opinion_map

from .factories import ConversationFactory, ParticipantFactory, planted

pytestmark = pytest.mark.django_db


def test_task_computes_and_stores_the_map() -> None:
    conversation = ConversationFactory.create()
    planted(conversation)
    result = recompute_opinion_map.enqueue(conversation_id=conversation.pk)
    assert result.return_value == 160
    stored = OpinionMapResult.objects.get(conversation=conversation)
    assert stored.computed_at is not None
    assert stored.vote_count == 160
    assert stored.data["k"] == 2


def test_task_for_a_deleted_conversation_does_nothing() -> None:
    assert recompute_opinion_map.enqueue(conversation_id=999_999).return_value == 0


def test_vote_enqueues_after_commit_never_inside_the_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    conversation = ConversationFactory.create()
    planted(conversation)
    statement = Statement.objects.filter(conversation=conversation).first()
    assert statement is not None
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.cast_vote(
            conversation=conversation,
            participant=ParticipantFactory.create(conversation=conversation),
            statement_id=statement.pk,
            value=1,
        )
    assert OpinionMapResult.objects.get(conversation=conversation).computed_at is None
    assert len(callbacks) == 1
    callbacks[0]()
    assert OpinionMapResult.objects.get(conversation=conversation).vote_count == 161


def test_closing_recomputes_at_once(django_capture_on_commit_callbacks: Any) -> None:
    conversation = ConversationFactory.create()
    planted(conversation)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_state(conversation=conversation, open=False, actor=None)
    assert OpinionMapResult.objects.get(conversation=conversation).vote_count == 160
