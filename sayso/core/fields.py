"""Form fields that more than one app's forms use.

Apps may not import core.forms (import-linter rule 2), so the fields that a survey's
forms share with the community's own pages live here: the count of invitation codes
to make, typed as people type numbers, and the example of a code that code-entry
pages give.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .services import MAX_CODES_PER_BATCH

# Thousands separators as organisers type them: commas, spaces (also the no-break and
# thin spaces that word processors put in), apostrophes (Swiss) and underscores.
NUMBER_SEPARATORS = re.compile(r"[,\s\u00a0\u202f\u2009'_]")
GROUPED_NUMBER = re.compile(r"^[0-9]{1,3}(?:[,\s\u00a0\u202f\u2009'_][0-9]{3})*$")

# What a code looks like, for the pages where people type one: five characters, a
# dash, five more, from models.CODE_ALPHABET (letters and digits, no 0/O or 1/I).
CODE_EXAMPLE = "ABCDE-FGH23"

# One message for every way the number can be wrong (missing, not a number, out of
# range): what to type is the same each time. The limit is written as the page's
# language writes numbers ("2,000"), worked out when the message is shown.
CODES_SIZE_MESSAGE = format_lazy(
    _("Enter how many codes to make, from 1 to {most}."),
    most=lazy(number_format, str)(MAX_CODES_PER_BATCH, force_grouping=True),
)
# How many codes the form offers to make before anything is typed.
DEFAULT_CODES = 20


class CountField(forms.IntegerField):
    """A whole number typed as people type it: "2,000" and "2 000" are 2000. A text box
    with a number keypad, as a number box throws away "2,000" and sends nothing."""

    widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def to_python(self, value: Any) -> int | None:
        text = "" if value in self.empty_values else str(value).strip()
        if GROUPED_NUMBER.match(text):
            text = NUMBER_SEPARATORS.sub("", text)
        return super().to_python(text)


def code_count_field() -> CountField:
    """The "How many codes?" field, the same on a survey's codes page and on the
    community's: same box, default, words and messages."""
    return CountField(
        label=_("How many codes?"),
        min_value=1,
        max_value=MAX_CODES_PER_BATCH,
        initial=DEFAULT_CODES,
        help_text=_(
            "One for each person you want to invite. Each code works once in each survey "
            "and each conversation that takes it."
        ),
        error_messages={
            "required": CODES_SIZE_MESSAGE,
            "invalid": CODES_SIZE_MESSAGE,
            "min_value": CODES_SIZE_MESSAGE,
            "max_value": CODES_SIZE_MESSAGE,
        },
    )
