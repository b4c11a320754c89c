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


# --- Tables that scroll sideways (WCAG 2.1.1; axe's scrollable-region-focusable) ----------
# A wrapper that scrolls must take keyboard focus and be named, or someone without a
# mouse cannot reach the columns off screen. Its class comes from the stylesheets, so a
# new scrolling class is checked too.
ROOT = Path(__file__).resolve().parents[1]
STYLESHEETS = sorted((ROOT / "sayso").glob("**/static/**/*.css"))
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
SCROLLS = re.compile(r"overflow(?:-x|-y)?\s*:\s*(?:auto|scroll)")
OPENING_TAG = re.compile(r"<[a-zA-Z][^<>]*>")
# An id may be written as a template expression: "q-{{ r.pk }} q-{{ r.pk }}-caption".
IDREF = re.compile(r"(?:\{\{.*?\}\}|\S)+")
TABLE_INCLUDE = re.compile(r"""\{%\s*include\s+["']components/table\.html["']([^%]*)%\}""")


def scrolling_classes(css: str) -> set[str]:
    return {
        name
        for selectors, body in CSS_RULE.findall(CSS_COMMENT.sub("", css))
        if SCROLLS.search(body)
        for name in re.findall(r"\.([\w-]+)", selectors)
    }


def attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def scrolling_region_problems(name: str, text: str, classes: set[str]) -> list[str]:
    """What keeps a template's scrolling wrappers from being focusable, named regions."""
    problems = []
    ids = re.findall(r'\sid="([^"]+)"', text)
    literal_names: list[str] = []
    for tag in OPENING_TAG.findall(text):
        if not classes & set((attribute(tag, "class") or "").split()):
            continue
        where = f"{name}: {tag[:80]}"
        if attribute(tag, "tabindex") != "0":
            problems.append(f'{where} needs tabindex="0"')
        if attribute(tag, "role") != "region":
            problems.append(f'{where} needs role="region"')
        labelledby = IDREF.findall(attribute(tag, "aria-labelledby") or "")
        if not labelledby:
            problems.append(f"{where} needs aria-labelledby pointing at the table's caption")
        problems += [
            f"{where} names no id {i!r} in this template" for i in labelledby if i not in ids
        ]
        literal_names += [i for i in labelledby if "{" not in i]
    for match in TABLE_INCLUDE.finditer(text):
        args = dict(re.findall(r"""(\w+)=("[^"]*"|'[^']*'|\S+)""", match.group(1)))
        where = f"{name}: {match.group(0)[:80]}"
        problems += [
            f"{where} needs {a}=" for a in ("caption", "caption_id", "rows") if a not in args
        ]
        rows = args.get("rows", "").strip("\"'")
        template, _, partial = rows.partition("#")
        source = next(
            (p for p in TEMPLATES if p.as_posix().endswith(f"/templates/{template}")), None
        )
        if source is None or not re.search(
            rf"\{{%\s*partialdef\s+{re.escape(partial)}\s", source.read_text(encoding="utf-8")
        ):
            problems.append(f"{where}: rows={rows!r} is no {{% partialdef %}} in a template")
        caption_id = args.get("caption_id", "")
        if caption_id.startswith(('"', "'")):
            literal_names.append(caption_id.strip("\"'"))
    # Two regions with one name cannot be told apart. (An id written twice is allowed:
    # the two are often alternatives, {% if %} one caption {% else %} another.)
    problems += [
        f"{name}: {i!r} names two scrolling regions"
        for i in sorted(set(literal_names))
        if literal_names.count(i) > 1
    ]
    return problems


def test_the_stylesheet_has_a_scrolling_table_wrapper() -> None:
    classes = set().union(*(scrolling_classes(p.read_text(encoding="utf-8")) for p in STYLESHEETS))
    assert "table-wrap" in classes


def test_every_scrolling_wrapper_is_a_focusable_named_region() -> None:
    classes = set().union(*(scrolling_classes(p.read_text(encoding="utf-8")) for p in STYLESHEETS))
    problems = [
        problem
        for path in TEMPLATES
        for problem in scrolling_region_problems(
            path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"), classes
        )
    ]
    assert problems == []


def test_the_scrolling_region_check_finds_each_fault() -> None:
    classes = scrolling_classes(
        ".pane { margin: 0; }\n/* wide */ .wide, .other { overflow-x: auto; }"
    )
    assert classes == {"wide", "other"}
    good = (
        '<div class="wide" tabindex="0" role="region" aria-labelledby="c"><table><caption id="c">'
    )
    assert scrolling_region_problems("good.html", good, classes) == []
    assert scrolling_region_problems("plain.html", '<div class="wide"><table>', classes) == [
        'plain.html: <div class="wide"> needs tabindex="0"',
        'plain.html: <div class="wide"> needs role="region"',
        'plain.html: <div class="wide"> needs aria-labelledby pointing at the table\'s caption',
    ]
    unnamed = good.replace('id="c"', 'id="d"')
    assert scrolling_region_problems("x.html", unnamed, classes) == [
        f"x.html: {unnamed[: unnamed.index('>') + 1]} names no id 'c' in this template"
    ]
    either = good + '{% else %}<caption id="c">'
    assert scrolling_region_problems("x.html", either, classes) == []
    twice = good + good.replace("<caption", "<caption class='x'")
    assert scrolling_region_problems("x.html", twice, classes) == [
        "x.html: 'c' names two scrolling regions"
    ]
    include = '{% include "components/table.html" with caption=t caption_id="c" %}'
    assert scrolling_region_problems("x.html", include, classes) == [
        f"x.html: {include[:80]} needs rows=",
        f"x.html: {include[:80]}: rows='' is no {{% partialdef %}} in a template",
    ]
    missing = include.replace(" %}", ' rows="core/audit.html#no-such-rows" %}')
    assert scrolling_region_problems("x.html", missing, classes) == [
        f"x.html: {missing[:80]}: rows='core/audit.html#no-such-rows' is no "
        "{% partialdef %} in a template"
    ]
    found = include.replace(" %}", ' rows="core/audit.html#event-rows" %}')
    assert scrolling_region_problems("x.html", found, classes) == []
    assert scrolling_region_problems("x.html", found + found, classes) == [
        "x.html: 'c' names two scrolling regions"
    ]


def test_the_table_component_names_its_region_by_its_caption() -> None:
    from django.template.loader import render_to_string

    html = render_to_string(
        "components/table.html",
        {
            "caption": "Sets of codes",
            "caption_id": "sets-caption",
            "rows": "core/codes.html#batch-rows",
            "code_sets": [({"label": "Depot", "size": 40}, [])],
        },
    )
    flat = re.sub(r"\s+", " ", html).strip()
    assert flat.startswith(
        '<div class="table-wrap" tabindex="0" role="region" aria-labelledby="sets-caption">'
        '<table class="table"> <caption id="sets-caption">Sets of codes</caption> <thead>'
    )
    assert "<td>Depot</td>" in html
    assert re.search(r"</tbody>\s*</table></div>\s*$", html)
