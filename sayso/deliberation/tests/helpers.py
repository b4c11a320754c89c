"""Small helpers the deliberation tests share."""

from __future__ import annotations

import re

from django.urls import reverse

from sayso.core.tests.factories import signed_in as signed_in
from sayso.deliberation.models import Conversation, Participant, PolisImport, Statement, Vote
from sayso.deliberation.selectors import statement_token


def token(statement: Statement) -> int:
    """What a vote form posts for `statement`: its token, never its key."""
    return statement_token(statement.pk)


def import_counts() -> tuple[int, ...]:
    """Every kind of row an import writes, counted: equal before and after means a
    refused import created nothing."""
    return (
        PolisImport.objects.count(),
        Conversation.objects.count(),
        Participant.objects.count(),
        Statement.objects.count(),
        Vote.objects.count(),
    )


def field_error(page: str, field: str) -> str:
    """The message shown next to a form field (empty when there is none)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>(.*?)</li>', page)
    return found.group(1) if found else ""


def public(conversation: Conversation, name: str = "participate") -> str:
    """A participant page's address (deliberation_public:<name>)."""
    return reverse(
        f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
    )


def community_url(conversation: Conversation, name: str) -> str:
    """An organiser page's address (deliberation:<name>)."""
    return reverse(
        f"deliberation:{name}",
        kwargs={"slug": conversation.community.slug, "conversation": conversation.pk},
    )
