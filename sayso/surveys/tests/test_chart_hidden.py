# mypy: disable-error-code="no-untyped-call,arg-type"
"""A chart never draws a hidden figure as a number.

The reviewer's chart: Picking 54%, and Packing and Goods in (hidden by disclosure
control) drawn as empty bars named "%: 0", which a reader could quote as 0%. A hidden
figure is now the words "hidden (small group)" in place of its bar and value, its
accessible name says hidden, and nothing in the drawing depends on it; a chart whose
every figure is hidden says so instead of drawing an empty frame.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import charts
from sayso.surveys.models import Choice, Question, Survey
from sayso.surveys.selectors import Row

from .factories import answer, close, make_survey, survey_url

HIDDEN = "hidden (small group)"


def _labels(svg: str) -> list[str]:
    return re.findall(r'aria-label="([^"]*)"', svg)


def _drawn_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def _bars(svg: str) -> list[str]:
    return re.findall(r'<path[^>]*aria-roledescription="bar"[^>]*>', svg)


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast_on_white(colour: str) -> float:
    return 1.05 / (_luminance(colour) + 0.05)


# --------------------------------------------------------------------------- the drawing


@pytest.mark.django_db
def test_hidden_rows_are_drawn_as_hidden_never_as_zero() -> None:
    svg = charts.bar_chart_svg(
        [
            Row("Picking", "picking", 40, 0.54),
            Row("Packing", "packing", None, None, hidden=True),
            Row("Goods in", "goods", None, None, hidden=True),
        ]
    )
    labels = _labels(svg)
    assert "Picking: 54%" in labels
    assert "Packing: hidden (small group)" in labels
    assert "Goods in: hidden (small group)" in labels
    assert not [label for label in labels if label.endswith(": 0") or ": 0%" in label]
    assert "0%" not in _drawn_texts(svg)
    # Only the shown figure has a bar; each hidden one has the words in its place.
    assert len(_bars(svg)) == 1
    assert _drawn_texts(svg).count(HIDDEN) == 2
    assert "<title>Bar chart, per cent of people. Picking: 54%. Packing: hidden" in svg


@pytest.mark.django_db
def test_a_hidden_row_gives_away_nothing_it_carries() -> None:
    """Were a hidden row ever to carry its count and share, the chart would still draw
    it exactly like any other hidden row: the same bytes whatever they are."""
    shown = Row("Picking", "picking", 40, 0.54)
    drawn = {
        charts.bar_chart_svg([shown, Row("Packing", "packing", count, share, hidden=True)])
        for count, share in ((None, None), (3, 0.04), (1, 0.0), (0, 0.0))
    }
    assert len(drawn) == 1
    svg = drawn.pop()
    assert "4%" not in _drawn_texts(svg)
    assert "Packing: 4%" not in svg
    assert "Packing: hidden (small group)" in _labels(svg)


@pytest.mark.django_db
def test_a_shown_zero_is_still_drawn_as_zero() -> None:
    """Only hidden figures lose their number: a real 0% is a figure like any other."""
    svg = charts.bar_chart_svg([Row("Yes", "yes", 10, 1.0), Row("No", "no", 0, 0.0)])
    assert "No: 0%" in _labels(svg)
    assert "0%" in _drawn_texts(svg)
    assert HIDDEN not in svg


@pytest.mark.django_db
def test_a_chart_with_every_figure_hidden_says_so() -> None:
    svg = charts.bar_chart_svg(
        [Row("Day", "day", None, None, hidden=True), Row("Night", "night", None, None, hidden=True)]
    )
    assert "All figures hidden: the groups are too small." in svg
    assert 'role="img"' in svg
    assert "%" not in svg
    assert "Day" not in svg  # nothing to draw, so nothing but the note
    assert "No figures to show." in charts.bar_chart_svg([])


@pytest.mark.django_db
def test_text_and_bars_keep_wcag_aa_contrast_on_white() -> None:
    svg = charts.bar_chart_svg(
        [Row("Picking", "picking", 40, 0.54), Row("Packing", "packing", None, None, hidden=True)]
    )
    text_colours = set(re.findall(r'<text[^>]*fill="(#[0-9a-fA-F]{6})"', svg))
    assert len(text_colours) >= 2  # the labels and values, and the hidden words
    for colour in text_colours:
        assert _contrast_on_white(colour) >= 4.5, colour
    bar_colours = {c for bar in _bars(svg) for c in re.findall(r'fill="(#[0-9a-fA-F]{6})"', bar)}
    assert bar_colours
    for colour in bar_colours:
        assert _contrast_on_white(colour) >= 3, colour  # a graphic: 3:1 (WCAG 1.4.11)
    hidden_text = re.search(r"<text[^>]*>hidden \(small group\)</text>", svg)
    assert hidden_text is not None
    assert 'font-style="italic"' in hidden_text.group(0)


@pytest.mark.django_db
def test_options_keep_their_order_when_the_first_is_hidden() -> None:
    svg = charts.bar_chart_svg(
        [
            Row("Goods in", "goods", None, None, hidden=True),
            Row("Picking", "picking", 40, 0.54),
            Row("Packing", "packing", 30, 0.46),
        ]
    )
    axis = next(label for label in _labels(svg) if label.startswith("Y-axis"))
    assert axis.endswith("3 values: Goods in, Picking, Packing")


# --------------------------------------------------------------------------- as members read it


def _warehouse(packing: int, goods_in: int) -> tuple[Survey, Client]:
    """A closed survey of where people work (threshold 5): 10 pick, and `packing` and
    `goods_in` people, both fewer than 5, pack and take goods in."""
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    area = Question.objects.create(
        survey=survey,
        section=survey.sections.get(order=1),
        order=3,
        name="area",
        type=Question.Type.SINGLE,
        label={"en": "Where do you work most?"},
    )
    for order, (name, words) in enumerate(
        (("picking", "Picking"), ("packing", "Packing"), ("goods", "Goods in")), start=1
    ):
        Choice.objects.create(question=area, order=order, name=name, label={"en": words})
    for where, n in (("picking", 10), ("packing", packing), ("goods", goods_in)):
        for _ in range(n):
            answer(survey, shift="day", disciplined="no", area=where)
    close(survey)
    client = signed_in(MembershipFactory(community=survey.community).user)
    return survey, client


def _chart(survey: Survey, client: Client, name: str) -> str:
    url = survey_url("chart", survey, question=survey.questions.get(name=name).pk)
    got = client.get(url, {"audience": "members"})
    assert got.status_code == 200
    assert got["Content-Type"] == "image/svg+xml"
    return got.content.decode()


@pytest.mark.django_db
def test_members_chart_names_the_hidden_cells_hidden() -> None:
    survey, client = _warehouse(packing=2, goods_in=3)
    table = client.get(survey_url("results", survey)).context["results"]
    rows = next(r for r in table.questions if r.question.name == "area").rows
    assert [(row.label, row.hidden) for row in rows] == [
        ("Picking", False),
        ("Packing", True),
        ("Goods in", True),
    ]
    svg = _chart(survey, client, "area")
    labels = _labels(svg)
    assert "Picking: 67%" in labels
    assert "Packing: hidden (small group)" in labels
    assert "Goods in: hidden (small group)" in labels
    assert not [label for label in labels if "%: 0" in label or label.endswith(": 0%")]
    assert len(_bars(svg)) == 1


@pytest.mark.django_db
def test_which_hidden_cell_is_the_smaller_cannot_be_read_from_the_chart() -> None:
    """2 packing and 3 taking goods in, or the other way round: the same chart."""
    one, client_one = _warehouse(packing=2, goods_in=3)
    other, client_other = _warehouse(packing=3, goods_in=2)
    assert _chart(one, client_one, "area") == _chart(other, client_other, "area")


@pytest.mark.django_db
def test_a_question_whose_every_figure_is_hidden_gets_the_note() -> None:
    """Six people: five on days, one on nights. Both cells are hidden (the one night
    worker would be the difference), so the shift chart has nothing to draw."""
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    for shift in ("day",) * 5 + ("night",):
        answer(survey, shift=shift, disciplined="no")
    close(survey)
    client = signed_in(MembershipFactory(community=survey.community).user)
    svg = _chart(survey, client, "shift")
    assert "All figures hidden: the groups are too small." in svg
    assert "aria-label" not in svg
    assert "%" not in svg
