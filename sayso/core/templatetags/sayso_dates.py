"""Template filters for dates kept as text, such as those frozen in a citation's
snapshot (JSON has no date type)."""

import datetime

from django import template

register = template.Library()


@register.filter
def from_iso(value: object) -> datetime.date | None:
    """The date an ISO text ("2026-12-02") names, for the `date` filter to write in the
    reader's words; None for anything else ("None", "", a malformed text), so that a
    template can leave the date out rather than show raw text."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None
