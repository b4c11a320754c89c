"""Puts a conversation in the authorization matrix's world (tests/test_authorization_matrix.py)."""

from __future__ import annotations

from typing import Any

from sayso.deliberation.models import Statement

from .factories import ConversationFactory, StatementFactory

MATRIX_CONVERSATION_TOKEN = "matrix-conversation"


def build(world: Any) -> None:
    conversation = ConversationFactory.create(
        community=world.home, public_token=MATRIX_CONVERSATION_TOKEN
    )
    StatementFactory.create(conversation=conversation)
    # The moderation edit page of a statement that can be edited (one waiting, no votes).
    waiting = StatementFactory.create(conversation=conversation, state=Statement.State.PENDING)
    world.route_kwargs["deliberation:statement-edit"] = {"statement": waiting.pk}
    world.kwargs["conversation"] = conversation.pk
    world.kwargs["public_token"] = MATRIX_CONVERSATION_TOKEN
