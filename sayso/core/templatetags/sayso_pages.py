"""Template tags for the page layout (base.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.messages import constants
from django.forms import BaseForm, BaseFormSet
from django.utils.translation import gettext

register = template.Library()


def shows_a_problem(context: template.Context) -> bool:
    """Whether the page is shown because something went wrong: a form in the context sent
    back with errors (whatever its name: `form`, `code_form`, allauth's `verify_form`),
    or an error-level message."""
    for layer in context.dicts:
        for value in layer.values():
            if isinstance(value, BaseForm) and value.is_bound and value.errors:
                return True
            if isinstance(value, BaseFormSet) and value.is_bound and value.total_error_count():
                return True
    # Reading the messages here does not use them up: messages.html shows them below.
    messages: Any = context.get("messages") or ()
    return any(getattr(message, "level", 0) >= constants.ERROR for message in messages)


@register.simple_tag(takes_context=True)
def error_prefix(context: template.Context) -> str:
    """ "Error: " before the page's title when it shows a problem, so that the first
    thing a screen reader says of the page is that something needs fixing (WCAG 2.4.2,
    3.3.1), on every page as on the survey pages."""
    return gettext("Error:") + " " if shows_a_problem(context) else ""


@register.filter
def errors_only(messages: Any) -> list[Any]:
    """The error-level messages (components/messages.html shows them as an alert)."""
    return [m for m in messages or () if getattr(m, "level", 0) >= constants.ERROR]


@register.filter
def without_errors(messages: Any) -> list[Any]:
    """The other messages: success, information, warnings."""
    return [m for m in messages or () if getattr(m, "level", 0) < constants.ERROR]
