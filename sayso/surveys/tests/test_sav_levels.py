# mypy: disable-error-code="no-untyped-call,arg-type"
"""The SPSS file's measurement levels and response ids, read back with pyreadstat.

The reviewer's file: every variable's measurement level "unknown" (SPSS then scans
the data before most procedures, and offers the wrong charts and tests), and
response_id shown as 3.99e+14. Each variable now has the level its question's type
calls for, and the 15-digit ids come back exactly, in a format and a column wide
enough to show every digit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyreadstat
import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import exports, services
from sayso.surveys.models import Choice, Question, Response, Survey

from .factories import make_survey

pytestmark = pytest.mark.django_db

# make_survey's questions, and one of each other type added below.
LEVELS = {
    "response_id": "nominal",
    "submitted_on": "scale",
    "shift": "nominal",  # single choice
    "age": "scale",  # number
    "disciplined": "nominal",
    "worries": "nominal",  # multiple choice: the ticked names
    "worries_rates": "nominal",  # ... and one 0/1 variable per option
    "worries_cameras": "nominal",
    "worries_sharing": "nominal",
    "story": "nominal",  # long text
    "fair": "ordinal",  # Likert / rating
    "warned": "scale",  # date
    "where": "nominal",  # short text
    "order": "nominal",  # ranking: the names in order
    "agreed": "nominal",  # consent
}


def _every_type() -> Survey:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    section = survey.sections.get(order=2)
    added = [
        ("fair", Question.Type.RATING, ["disagree", "neutral", "agree"]),
        ("warned", Question.Type.DATE, []),
        ("where", Question.Type.SHORT_TEXT, []),
        ("order", Question.Type.RANKING, ["pay", "breaks"]),
        ("agreed", Question.Type.CONSENT, []),
    ]
    for position, (name, kind, choices) in enumerate(added, start=10):
        question = Question.objects.create(
            survey=survey,
            section=section,
            order=position,
            name=name,
            type=kind,
            label={"en": name.title()},
        )
        for order, choice in enumerate(choices, start=1):
            Choice.objects.create(question=question, order=order, name=choice, label={"en": choice})
    return survey


def _answer(survey: Survey, **values: Any) -> Response:
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=values, page=1)
    assert services.submit_response(response=response) == {}
    return response


def _read_back(survey: Survey) -> tuple[Any, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sav"
        path.write_bytes(exports.sav_bytes(survey))
        return pyreadstat.read_sav(str(path))


def test_every_variable_has_its_types_measurement_level() -> None:
    survey = _every_type()
    _answer(
        survey,
        shift="day",
        age=31,
        disciplined="yes",
        worries=["rates"],
        story="told off",
        fair="agree",
        warned="2026-03-02",
        where="dock 4",
        order=["breaks", "pay"],
        agreed="yes",
    )
    _answer(survey, shift="night", disciplined="no")
    frame, meta = _read_back(survey)
    assert list(frame.columns) == list(LEVELS)
    assert meta.variable_measure == LEVELS
    assert "unknown" not in meta.variable_measure.values()
    # Scale only for numbers SPSS holds as numbers; strings are nominal.
    for name, level in LEVELS.items():
        if level == "scale":
            assert meta.readstat_variable_types[name] == "double", name
    for name in ("worries", "story", "where", "order", "agreed"):
        assert meta.readstat_variable_types[name] == "string", name


def test_a_survey_with_no_responses_has_the_levels_too() -> None:
    frame, meta = _read_back(_every_type())
    assert len(frame) == 0
    assert meta.variable_measure == LEVELS


def test_response_ids_come_back_exactly_and_show_all_fifteen_digits() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    made = [_answer(survey, shift="day", disciplined="no", age=20 + i) for i in range(5)]
    # The largest and smallest keys there can be, beside the random ones.
    Response.objects.filter(pk=made[0].pk).update(export_key=999_999_999_999_999)
    Response.objects.filter(pk=made[1].pk).update(export_key=100_000_000_000_000)
    keys = sorted(Response.objects.filter(survey=survey).values_list("export_key", flat=True))
    assert all(len(str(key)) == 15 for key in keys)
    frame, meta = _read_back(survey)
    ids = frame["response_id"].tolist()
    assert ids == [float(key) for key in keys]
    assert [int(value) for value in ids] == keys  # exact: no digit lost to the double
    age_of = dict(Response.objects.filter(survey=survey).values_list("export_key", "draft__age"))
    assert dict(zip(map(int, ids), frame["age"], strict=True)) == age_of
    # SPSS shows F15.0 as all 15 digits, no decimals, in a column 15 wide (at the
    # default 8 it falls back to 1.0E+14).
    assert meta.original_variable_types["response_id"] == "F15.0"
    assert meta.variable_display_width["response_id"] == 15
    assert [f"{value:15.0f}" for value in ids] == [str(key) for key in keys]


def test_codes_show_as_whole_numbers_and_text_columns_fit_their_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reviewer's file: choice codes shown as 1.00 and 2.00 (F8.2), and a text
    # column of 21 characters shown 8 wide.
    monkeypatch.setattr(exports, "CHUNK", 1)  # each response its own chunk
    survey = _every_type()
    _answer(
        survey,
        shift="day",
        disciplined="yes",
        worries=["rates", "cameras"],
        story="ł" * 30,  # 30 characters, 60 bytes: the column is 30 wide
        fair="agree",
        where="Loading bay 4, north!",
        order=["breaks", "pay"],
        agreed="yes",
    )
    _answer(survey, shift="night", disciplined="yes", story="x" * 900, where="Dock")
    frame, meta = _read_back(survey)
    formats = meta.original_variable_types
    assert {name: formats[name] for name in ("shift", "disciplined", "fair")} == dict.fromkeys(
        ("shift", "disciplined", "fair"), "F8.0"
    )
    assert {name: formats[name] for name in ("worries_rates", "worries_cameras")} == {
        "worries_rates": "F1.0",
        "worries_cameras": "F1.0",
    }
    assert (formats["response_id"], formats["age"]) == ("F15.0", "F8.2")  # a number as given
    assert sorted(frame["shift"].tolist()) == [1.0, 2.0]  # the codes themselves unchanged
    assert meta.variable_value_labels["worries_rates"] == {0.0: "Not ticked", 1.0: "Ticked"}

    widths = meta.variable_display_width
    assert (formats["where"], widths["where"]) == ("A21", 21)
    assert (formats["story"], widths["story"]) == ("A900", 60)  # at most 60 wide
    assert widths["worries"] == len("rates cameras")
    assert widths["order"] == 10  # "breaks pay"
    assert widths["agreed"] == 8  # "yes": as wide as a number's column, no narrower
    assert widths["response_id"] == 15
    # The text is all there, however wide its column.
    assert sorted(frame["story"].tolist()) == sorted(["ł" * 30, "x" * 900])


def test_an_empty_survey_s_file_has_the_formats_too() -> None:
    frame, meta = _read_back(_every_type())
    assert len(frame) == 0
    assert meta.original_variable_types["shift"] == "F8.0"
    assert meta.original_variable_types["worries_rates"] == "F1.0"
