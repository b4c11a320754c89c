# mypy: disable-error-code="no-untyped-call,arg-type"
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import Workbook

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import exports, services, xlsform
from sayso.surveys.models import Choice, Question, Survey

from .factories import in_start_order, make_survey, start_order

pytestmark = pytest.mark.django_db


def workbook(
    survey_rows: list[list[str]], choices: list[list[str]] | None = None, sheet: str = "survey"
) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(
        [
            "type",
            "name",
            "label::English (en)",
            "label::Polski (pl)",
            "relevant",
            "constraint",
            "required",
        ]
    )
    for row in survey_rows:
        ws.append(row)
    c = book.create_sheet("choices")
    c.append(["list_name", "name", "label::English (en)", "label::Polski (pl)"])
    for row in choices or [["shift", "day", "Days", "Dni"], ["shift", "night", "Nights", "Noce"]]:
        c.append(row)
    s = book.create_sheet("settings")
    s.append(["form_title", "form_id"])
    s.append(["Imported", "imported"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [
    ["start", "start", "", "", "", "", ""],
    ["begin_group", "about", "About you", "O tobie", "", "", ""],
    ["select_one shift", "shift", "Shift?", "Zmiana?", "", "", "yes"],
    ["integer", "age", "Age", "Wiek", "${shift} = 'night'", ". >= 16", ""],
    ["end_group", "", "", "", "", "", ""],
    ["text", "story", "Story", "Historia", "", "string-length(.) < 200", ""],
]


def test_import_maps_questions_languages_and_logic() -> None:
    survey = xlsform.import_xlsform(data=workbook(GOOD), community=CommunityFactory(), actor=None)
    assert survey.title == "Imported"
    assert survey.languages == ["en", "pl"]
    assert [s.title for s in survey.sections.all()] == [{"en": "About you", "pl": "O tobie"}, {}]
    shift, age, story = survey.questions.order_by("section__order", "order")
    assert (shift.type, shift.required, shift.label) == (
        Question.Type.SINGLE,
        True,
        {"en": "Shift?", "pl": "Zmiana?"},
    )
    assert [c.label for c in shift.choices.all()] == [
        {"en": "Days", "pl": "Dni"},
        {"en": "Nights", "pl": "Noce"},
    ]
    assert (age.type, age.relevant, age.constraint) == (
        Question.Type.NUMBER,
        "${shift} = 'night'",
        ". >= 16",
    )
    assert story.type == Question.Type.SHORT_TEXT


@pytest.mark.parametrize(
    ("rows", "sheet", "problem"),
    [
        (GOOD, "questions", "The 'survey' sheet is missing"),
        (
            [["geopoint", "where", "Where", "", "", "", ""]],
            "survey",
            "survey sheet, row 2: the question type 'geopoint' is not supported.",
        ),
        (
            [["integer", "a", "A", "", "${b} > 1", "", ""]],
            "survey",
            "survey sheet, row 2: relevant refers to ${b}, which is not an earlier question.",
        ),
        (
            [["integer", "a", "A", "", "", ". >", ""]],
            "survey",
            "survey sheet, row 2: constraint: Something is missing at the end, after '>'. For"
            " example: . > 16",
        ),
        (
            [["integer", "a", "A", "", "", "", ""], ["text", "a", "B", "", "", "", ""]],
            "survey",
            "survey sheet, row 3: the name 'a' is already used in row 2.",
        ),
        (
            [["integer", "a", "A", "", "", "pulldata('x','y','z','w') > 1", ""]],
            "survey",
            "survey sheet, row 2: constraint: The function pulldata() is not supported",
        ),
        (
            [["text", "a", "A", "", "", "regex(., '^(?!x)')", ""]],
            "survey",
            "survey sheet, row 2: constraint: The pattern in regex() can't be used:"
            " look-ahead and look-behind, like (?=...), are not supported.",
        ),
    ],
)
def test_bad_forms_are_refused_with_sheet_row_and_reason(
    rows: list[list[str]], sheet: str, problem: str
) -> None:
    with pytest.raises(xlsform.XLSFormError) as refused:
        xlsform.import_xlsform(
            data=workbook(rows, sheet=sheet), community=CommunityFactory(), actor=None
        )
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems
    assert not Survey.objects.exists()


def test_export_round_trips_through_pyxform() -> None:
    from pyxform.xls2xform import convert

    survey = make_survey(CommunityFactory())
    data = xlsform.export_xlsform(survey)
    result = convert(xlsform=data, file_type=".xlsx")
    assert "${" not in result.xform
    assert "/data/" in result.xform
    again = xlsform.import_xlsform(data=data, community=survey.community, actor=None)
    assert list(again.questions.values_list("name", "type", "required", "relevant")) == list(
        survey.questions.values_list("name", "type", "required", "relevant")
    )


def _answered_survey() -> Survey:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    for i in range(6):
        response, _raw = services.start_response(survey=survey, language="en")
        services.save_page(
            response=response,
            answers={
                "shift": "day" if i % 2 else "night",
                "age": 20 + i,
                "disciplined": "yes",
                "worries": ["rates", "cameras"],
                "story": f"s{i}",
            },
            page=1,
        )
        assert services.submit_response(response=response) == {}
    return survey


def test_csv_streams_one_row_per_response() -> None:
    survey = _answered_survey()
    response = exports.export_csv(survey)
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "response_id",
        "submitted_on",
        "shift",
        "age",
        "disciplined",
        "worries",
        "story",
    ]
    assert len(rows) == 7
    assert in_start_order(survey, rows[1:])[0][2:] == ["night", "20", "yes", "rates cameras", "s0"]


def test_xlsx_export_reads_back() -> None:
    from openpyxl import load_workbook

    survey = _answered_survey()
    book = load_workbook(io.BytesIO(exports.xlsx_bytes(survey)))
    assert book["responses"].max_row == 7
    rows = in_start_order(survey, list(book["responses"].iter_rows(min_row=2, values_only=True)))
    assert list(rows[0])[2:] == [
        "night",
        20,
        "yes",
        "rates cameras",
        "s0",
    ]


def _read_sav_in_start_order(survey: Survey) -> tuple[Any, Any]:
    """The SPSS export read back with pyreadstat, its rows in the order people started
    (the file's own order is random)."""
    import pyreadstat

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sav"
        path.write_bytes(exports.sav_bytes(survey))
        frame, meta = pyreadstat.read_sav(str(path))
    order = start_order(survey)
    return frame.sort_values("response_id", key=lambda ids: ids.astype("int64").map(order)), meta


def test_sav_reads_back_with_pyreadstat() -> None:
    survey = _answered_survey()
    frame, meta = _read_sav_in_start_order(survey)
    assert list(frame["shift"]) == [2.0, 1.0, 2.0, 1.0, 2.0, 1.0]
    assert meta.variable_value_labels["shift"] == {1.0: "Day", 2.0: "Night"}
    assert list(frame["age"]) == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0]


def test_datapackage_validates_with_frictionless() -> None:
    from frictionless import Package

    survey = _answered_survey()
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(io.BytesIO(exports.datapackage_zip(survey))) as archive:
            archive.extractall(folder)
        report = Package(str(Path(folder) / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_xlsx_keeps_a_formula_typed_by_a_respondent_as_text() -> None:
    from openpyxl import load_workbook

    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    typed = '=HYPERLINK("http://example.org/x", "Click")'
    response, _raw = services.start_response(survey=survey, language="en")
    answers = {"shift": "day", "age": 30, "disciplined": "yes", "story": typed}
    services.save_page(response=response, answers=answers, page=1)
    assert services.submit_response(response=response) == {}
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(survey)))["responses"]
    story = sheet.cell(row=2, column=[c.value for c in sheet[1]].index("story") + 1)
    assert story.value == typed
    assert story.data_type == "s"  # text, not a formula the spreadsheet would run


def test_spss_export_survives_answers_left_from_before_a_type_change() -> None:
    import pyreadstat

    survey = _answered_survey()
    # The text question becomes a date question: its old answers are not rewritten.
    Question.objects.filter(survey=survey, name="story").update(type=Question.Type.DATE)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sav"
        path.write_bytes(exports.sav_bytes(survey))
        frame, _meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 6
    assert frame["story"].isna().all()  # "s0" ... are not dates: missing, not a crash


def test_xlsx_types_scale_points_and_dates_so_a_spreadsheet_can_sum_and_sort_them() -> None:
    """A rating named 1 to 5 is a number cell and a date a date cell; a named scale
    point and a date answer left from before a type change stay text, unchanged."""
    from openpyxl import load_workbook

    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    section = survey.sections.get(order=2)
    fair = Question.objects.create(
        survey=survey, section=section, order=5, name="fair", type=Question.Type.RATING
    )
    for order in range(1, 6):
        Choice.objects.create(question=fair, order=order, name=str(order), label={"en": "x"})
    often = Question.objects.create(
        survey=survey, section=section, order=6, name="often", type=Question.Type.RATING
    )
    for order, name in enumerate(["never", "sometimes"], start=1):
        Choice.objects.create(question=often, order=order, name=name, label={"en": name})
    Question.objects.create(
        survey=survey, section=section, order=7, name="warned", type=Question.Type.DATE
    )
    for fair_point, warned in (("4", "2026-03-02"), ("2", None)):
        response, _raw = services.start_response(survey=survey, language="en")
        answers = {"shift": "day", "disciplined": "yes", "fair": fair_point, "often": "never"}
        answers["story"] = "last spring"
        if warned:
            answers["warned"] = warned
        services.save_page(response=response, answers=answers, page=1)
        assert services.submit_response(response=response) == {}
    # An answer kept from before "story" became a date question is not a date.
    Question.objects.filter(survey=survey, name="story").update(type=Question.Type.DATE)

    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(survey)))["responses"]
    names = [cell.value for cell in sheet[1]]
    first, second = (
        dict(zip(names, row, strict=True))
        for row in in_start_order(survey, list(sheet.iter_rows(2, 3)))
    )
    assert (first["fair"].value, first["fair"].data_type) == (4, "n")
    assert second["fair"].value == 2
    assert (first["often"].value, first["often"].data_type) == ("never", "s")
    assert first["warned"].is_date
    assert first["warned"].value.date() == dt.date(2026, 3, 2)
    assert second["warned"].value is None
    assert first["submitted_on"].is_date
    assert first["submitted_on"].value.date() == timezone.localdate()
    assert (first["story"].value, first["story"].data_type) == ("last spring", "s")


def test_sav_gives_each_multiple_choice_option_a_ticked_variable() -> None:
    """SPSS users count and cross-tabulate one 0/1 variable per option; the question's
    own variable keeps the ticked names too."""

    survey = _answered_survey()  # everyone ticked rates and cameras, not sharing
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(
        response=response,
        answers={"shift": "day", "age": 40, "disciplined": "no", "worries": ["sharing"]},
        page=1,
    )
    assert services.submit_response(response=response) == {}
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(
        response=response, answers={"shift": "day", "age": 41, "disciplined": "no"}, page=1
    )
    assert services.submit_response(response=response) == {}
    frame, meta = _read_sav_in_start_order(survey)
    columns = list(frame.columns)
    at = columns.index("worries")
    assert columns[at : at + 4] == [
        "worries",
        "worries_rates",
        "worries_cameras",
        "worries_sharing",
    ]
    assert list(frame["worries_rates"])[:7] == [1.0] * 6 + [0.0]
    assert list(frame["worries_sharing"])[:7] == [0.0] * 6 + [1.0]
    assert math.isnan(list(frame["worries_cameras"])[7])  # not answered: missing, not 0
    assert list(frame["worries"])[:7] == ["rates cameras"] * 6 + ["sharing"]
    assert meta.column_names_to_labels["worries_cameras"] == "Worries: Cameras"
    assert meta.variable_value_labels["worries_cameras"] == {0.0: "Not ticked", 1.0: "Ticked"}


def test_ticked_variable_names_stay_unique_and_valid_for_spss() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    worries = Question.objects.get(survey=survey, name="worries")
    worries.choices.filter(name="rates").update(name="pay-rates")
    section = survey.sections.get(order=2)
    # A question whose own name is what an option's variable would be called.
    Question.objects.create(
        survey=survey,
        section=section,
        order=9,
        name="worries_cameras",
        type=Question.Type.NUMBER,
        label={"en": "x"},
    )
    names = [
        name
        for named in exports.ticked_columns(exports.columns(survey)).values()
        for name, _choice in named
    ]
    assert names == ["worries_pay_rates", "worries_cameras_2", "worries_sharing"]
