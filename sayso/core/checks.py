"""System checks for bad combinations of settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def check_secret_key(app_configs: Any, **kwargs: Any) -> list[Error]:
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        return [
            Error(
                "Sayso is running without DEBUG but with the development secret key.",
                hint="Set SAYSO_SECRET_KEY to a long random value.",
                id="sayso.E001",
            )
        ]
    return []


@register()
def check_threshold(app_configs: Any, **kwargs: Any) -> list[Error]:
    if settings.SAYSO["SMALL_GROUP_THRESHOLD"] < 2:
        return [
            Error(
                "SAYSO_SMALL_GROUP_THRESHOLD must be at least 2.",
                hint="A threshold of 1 would show results about single people.",
                id="sayso.E002",
            )
        ]
    return []
