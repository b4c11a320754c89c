"""Puts a conversation in the authorization matrix's world (tests/test_authorization_matrix.py)."""

from __future__ import annotations

from typing import Any

from .factories import ConversationFactory, StatementFactory

MATRIX_CONVERSATION_TOKEN = "matrix-conversation"


def build(world: Any) -> None:
    conversation = ConversationFactory.create(
        community=world.home, public_token=MATRIX_CONVERSATION_TOKEN
    )
    StatementFactory.create(conversation=conversation)
    world.kwargs["conversation"] = conversation.pk
    world.kwargs["public_token"] = MATRIX_CONVERSATION_TOKEN
