from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from .models import ApiToken, hash_token


class TokenAuth(HttpBearer):
    """Personal API tokens: `Authorization: Bearer sayso_…`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = (
            ApiToken.objects.active()
            .select_related("user")
            .filter(digest=hash_token(token), user__is_active=True)
            .first()
        )
        if found is None:
            return None
        today = timezone.localdate()
        if found.last_used_on != today:
            ApiToken.objects.filter(pk=found.pk).update(last_used_on=today)
        request.user = found.user
        return found.user
