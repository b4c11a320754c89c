"""Checks over every template in the project."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = sorted((Path(__file__).resolve().parents[1] / "sayso").glob("**/templates/**/*.html"))
# Django's {# ... #} comment ends at the end of its line: one that runs on to the next
# line is not a comment at all, and its text is shown on the page (and read out).
UNCLOSED_COMMENT = re.compile(r"\{#(?:(?!#\}).)*$", re.MULTILINE)


def test_templates_are_found() -> None:
    assert len(TEMPLATES) > 50


def test_no_one_line_comment_runs_on_to_the_next_line() -> None:
    broken = [
        f"{path.relative_to(path.parents[3])}:{text[: match.start()].count(chr(10)) + 1}"
        for path in TEMPLATES
        for text in [path.read_text(encoding="utf-8")]
        for match in UNCLOSED_COMMENT.finditer(text)
    ]
    assert broken == [], "use {% comment %} for comments over several lines"
