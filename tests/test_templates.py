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


def test_a_checkbox_label_follows_the_box_without_the_forms_colon() -> None:
    from django import forms
    from django.template.loader import render_to_string

    class Example(forms.Form):
        name = forms.CharField(label="Your name")
        agree = forms.BooleanField(label="I agree", required=False)

    form = Example()
    html = render_to_string("components/field.html", {"field": form["agree"]})
    assert re.search(
        r'<input type="checkbox"[^>]*id="id_agree"[^>]*> <label for="id_agree">I agree</label>',
        html,
    )
    # Other fields keep the label (with its colon) before the field.
    html = render_to_string("components/field.html", {"field": form["name"]})
    assert '<label for="id_name">Your name:</label>' in html
