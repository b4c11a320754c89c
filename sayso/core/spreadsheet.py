"""Text cells that a spreadsheet must show, not run.

Excel and LibreOffice read a CSV cell starting with "=", "+", "-" or "@" (or a tab or
a carriage return) as a formula, so a respondent or participant could type
=HYPERLINK(...) and have it run on an organiser's computer. OWASP's advice, followed
here: put an apostrophe in front, which the spreadsheet shows as text. The survey CSV
(`surveys.exports`) and the Polis export (`deliberation.services`) both use this rule;
the Polis import takes the apostrophe off again (`unguard_formula`), so that an export
imports to the same words.
"""

from __future__ import annotations

# The first characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_STARTS = frozenset("=+-@\t\r")


def guard_formula(text: str) -> str:
    """`text` with an apostrophe in front when it would start like a formula once any
    apostrophes in front of it are taken off. Guarding a text that already starts with
    an apostrophe before a formula character too is what lets `unguard_formula` give
    back exactly the text that was guarded, whatever it was."""
    return "'" + text if text.lstrip("'")[:1] in FORMULA_STARTS else text


def unguard_formula(text: str) -> str:
    """The text `guard_formula` was given: one apostrophe taken off the front of a text
    that, apostrophes aside, starts like a formula; any other text as it is."""
    if text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_STARTS:
        return text[1:]
    return text
