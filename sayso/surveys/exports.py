"""Exports of submitted responses: CSV (streamed), XLSX, SPSS .sav, Frictionless package.

Each row is one response; columns follow the questions. A multiple choice answer is its
choice names separated by spaces (as in XLSForm), a ranking its names in order. The
rows come from each response's stored answers, read in chunks, so memory stays flat
whatever the number of responses: CSV streams straight to the client; XLSX, SPSS and
the data package are files written a chunk at a time by the task worker
(export_jobs.py, tasks.py), since a large one takes longer than a web request may.
SPSS goes through sav_stream (pyreadstat writes the dictionary, the cases are appended
in chunks). Speed and peak memory of each at 10,000 and 100,000 responses are measured
by bench/survey_results.py --formats (docs/benchmarks.md).

The CSV is for opening in a spreadsheet, which runs a cell starting with "=", "+",
"-" or "@" as a formula: a respondent could type =HYPERLINK(...) or worse. There such
an answer gets an apostrophe in front (see `formula_guards`; the characters are
`core.spreadsheet.FORMULA_STARTS`, shared with the Polis export), as OWASP advises; the
spreadsheet then shows it as text. Numbers and choice names are left as they are, and
the data package, read by analysis tools, keeps every answer exactly as given.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.db.models import CharField, Max, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import StreamingHttpResponse

from sayso.core.spreadsheet import FORMULA_STARTS

from . import sav_stream
from .models import Choice, Question, Response, Survey
from .selectors import complete_responses

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 5000
LIST_TYPES = frozenset({Question.Type.MULTIPLE, Question.Type.RANKING})


def columns(survey: Survey) -> list[Question]:
    return list(
        survey.questions.exclude(type=Question.Type.NOTE)
        .prefetch_related("choices")
        .order_by("section__order", "order", "pk")
    )


# Columns whose answers are strings (not numbers, not choice names): where a
# respondent's own text is, and where it stays if the question's type is changed to
# a date or consent question after answers exist.
TEXT_COLUMN_TYPES = frozenset(
    {Question.Type.SHORT_TEXT, Question.Type.LONG_TEXT, Question.Type.DATE, Question.Type.CONSENT}
)


def formula_guards(questions: list[Question]) -> list[int]:
    """For the spreadsheet CSV: the positions in the row of the text columns, whose
    answers get an apostrophe in front when they start like a formula. Number and
    choice columns are left out, so they cost nothing and are never changed: they
    hold numbers and the organiser's choice names (a scale imported with names such
    as -2 ... 2 is a coded value, not a formula)."""
    return [i for i, q in enumerate(questions, start=2) if q.type in TEXT_COLUMN_TYPES]


def export_query(survey: Survey, *, upto: int | None = None) -> QuerySet[Response]:
    """The submitted responses in export order (chunks reads it a range at a time):
    by export_key, along the index response_export, so no query sorts them."""
    query = complete_responses(survey).order_by("export_key")
    return query if upto is None else query.filter(pk__lte=upto)


def _answers(stored: str) -> dict[str, Any]:
    """A response's stored answers, decoded with orjson: json.loads was half of an
    export's time (docs/benchmarks.md). What orjson refuses and json reads (a lone
    surrogate, NaN; never written by the respondent flow, which checks numbers are
    finite) goes to json. Whole numbers of 2**64 and more come back as floats, the
    value the respondent's number was already stored from (logic.py reads a float)."""
    try:
        decoded: dict[str, Any] = orjson.loads(stored)
    except orjson.JSONDecodeError:
        decoded = json.loads(stored)
    return decoded


def chunks(
    survey: Survey,
    questions: list[Question],
    *,
    upto: int | None = None,
    spreadsheet: bool = False,
) -> Iterator[list[list[Any]]]:
    """The export rows, a chunk at a time; None where unanswered.

    A row's first cell, its response_id, is the response's random export_key, and the
    rows come in its order: neither says in what order people started or submitted
    (the primary key would: it counts up as people start). `upto` leaves out
    responses with a higher primary key (submitted after an export began, sav_chunks).
    `spreadsheet` puts an apostrophe before text a spreadsheet would run as a formula
    (formula_guards); without it every answer is exactly as given.

    Each chunk is one short keyset query (export_key > the last one seen, a range of
    the index response_export), so no cursor stays open while the response streams
    and memory holds one chunk. The answers are read as the JSON text they were
    submitted as and decoded here in one tight loop: only the multiple choice and
    ranking columns need any change (a list becomes its names separated by spaces),
    and the csv module writes None as an empty cell itself.
    """
    names = [q.name for q in questions]
    lists = [i for i, q in enumerate(questions, start=2) if q.type in LIST_TYPES]
    guards = formula_guards(questions) if spreadsheet else []
    starts = FORMULA_STARTS
    loads = _answers
    base = export_query(survey, upto=upto).annotate(
        day=Cast("submitted_on", CharField()), answers_json=Cast("draft", TextField())
    )
    page = base  # then each chunk starts after the last key of the one before
    while True:
        chunk = list(page.values_list("export_key", "day", "answers_json")[:CHUNK])
        if not chunk:
            return
        out: list[list[Any]] = []
        append = out.append
        for key, day, raw in chunk:
            row = [key, day, *map(loads(raw).get, names)]
            for i in lists:
                if row[i]:
                    row[i] = " ".join(row[i])
            for i in guards:
                value = row[i]
                # Only strings: None, and a number left from before a type change, stay.
                if value.__class__ is str and value[:1] in starts:
                    row[i] = "'" + value
            append(row)
        yield out
        page = base.filter(export_key__gt=chunk[-1][0])


def rows(survey: Survey, questions: list[Question]) -> Iterator[list[Any]]:
    for chunk in chunks(survey, questions):
        for row in chunk:
            yield ["" if value is None else value for value in row]


def header(questions: list[Question]) -> list[str]:
    return ["response_id", "submitted_on", *(q.name for q in questions)]


def export_csv(survey: Survey) -> StreamingHttpResponse:
    """The CSV for a spreadsheet: text that would run as a formula starts with an
    apostrophe (formula_guards)."""
    questions = columns(survey)

    def stream() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header(questions))
        for chunk in chunks(survey, questions, spreadsheet=True):
            writer.writerows(chunk)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.csv"'
    return response


def write_xlsx(survey: Survey, path: Path) -> int:
    """Write the XLSX file; returns the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    questions = columns(survey)
    # Write-only mode keeps appended rows in its own temporary file, not in memory.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("responses")

    def text(value: str) -> WriteOnlyCell:
        # openpyxl stores a string that starts with "=" as a formula, which a
        # spreadsheet would run when the organiser opens the file: a respondent could
        # write =HYPERLINK(...) or worse. Stored as text, it is shown as typed.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell

    def day(value: Any) -> Any:
        """A date as a spreadsheet date cell (sorts and filters as one); left as it is
        when it is not a date (an answer kept from before a type change)."""
        if value.__class__ is str:
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return value
        return value

    def scale_point(value: Any) -> Any:
        """A rating's point as a number when its name is one ("4" of a 1 to 5 scale),
        so that the spreadsheet can average it; a named point ("often") stays text."""
        if value.__class__ is str:
            try:
                return int(value)
            except ValueError:
                return value
        return value

    def whole(value: int) -> WriteOnlyCell:
        """The 15-digit response id in full: the General format would show 1.23457E+14."""
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0"
        return cell

    # Position in the row -> how its cells are typed.
    typed: dict[int, Callable[[Any], Any]] = {0: whole, 1: day}
    for i, question in enumerate(questions, start=2):
        if question.type == Question.Type.DATE:
            typed[i] = day
        elif question.type == Question.Type.RATING:
            typed[i] = scale_point
    sheet.append(header(questions))
    written = 0
    for row in rows(survey, questions):
        for i, convert in typed.items():
            row[i] = convert(row[i])
        sheet.append([text(v) if isinstance(v, str) and v.startswith("=") else v for v in row])
        written += 1
    book.save(str(path))
    return written


def xlsx_bytes(survey: Survey) -> bytes:
    return _bytes(write_xlsx, survey, "responses.xlsx")


CODED = frozenset({Question.Type.SINGLE, Question.Type.RATING})
TICKED_LABELS = {0.0: "Not ticked", 1.0: "Ticked"}
# SPSS's measurement level of each question's variable, by the question's type: the
# codes of a rating scale are in order, a single choice's are not; numbers and dates
# are scales; text (multiple choice and ranking as names, consent, typed answers) is
# nominal, the only level SPSS allows a string besides ordinal. Unknown, the default,
# makes SPSS stop and scan the data before most procedures.
SPSS_MEASURE = {
    Question.Type.SINGLE: "nominal",
    Question.Type.RATING: "ordinal",
    Question.Type.NUMBER: "scale",
    Question.Type.DATE: "scale",
}
# SPSS shows a number wider than its column in Data View as 1.2E+14: the response id's
# column is as wide as its 15 digits.
RESPONSE_ID_WIDTH = 15
# Codes shown as whole numbers: a choice's code as 1, not 1.00; a ticked variable's 0
# or 1 in one digit. (pyreadstat's default for every number is F8.2.)
SPSS_CODE_FORMAT = "F8.0"
SPSS_TICKED_FORMAT = "F1.0"
# Text columns in SPSS's Data View are as wide as their longest answer (pyreadstat
# writes 8 for every variable, so "Loading bay 4, north" showed as "Loading "), from 8
# up to this many characters: a long answer (up to 5,000) would otherwise make one
# column several screens wide; the whole answer is in the cell.
TEXT_DISPLAY_WIDTH = (8, 60)


def ticked_columns(questions: list[Question]) -> dict[int, list[tuple[str, Choice]]]:
    """For SPSS: each multiple-choice question's options as 0/1 variables (1 ticked,
    0 not, missing when the question was not answered), by the question's position,
    named question_option. SPSS users count and cross-tabulate these; the names
    separated by spaces stay in the question's own text variable as well."""
    taken = {"response_id", "submitted_on", *(q.name.lower() for q in questions)}
    out: dict[int, list[tuple[str, Choice]]] = {}
    for position, question in enumerate(questions):
        if question.type != Question.Type.MULTIPLE:
            continue
        named = []
        for choice in question.choices.all():
            # SPSS names: letters, digits, _ . @ # $, at most 64 bytes, unique
            # whatever the case; XLSForm names may also hold "-".
            base = re.sub(r"[^A-Za-z0-9_.@#$]", "_", f"{question.name}_{choice.name}")[:60]
            name, n = base.rstrip("."), 1
            while name.lower() in taken:
                n += 1
                name = f"{base[:57]}_{n}"
            taken.add(name.lower())
            named.append((name, choice))
        out[position] = named
    return out


SPSS_DATE_FORMAT = "DATE11"  # dd-mmm-yyyy, SPSS's usual date format
# SPSS counts dates in seconds from 1582-10-14, 141,428 days before 1970-01-01.
SPSS_EPOCH = dt.date(1582, 10, 14)


def _spss_date(text: str) -> float:
    """An ISO date as an SPSS date; missing (NaN) when it is not one. A question's type
    can change after answers exist (a text question made a date question keeps its old
    answers): one such answer must not stop the whole export, every time it is tried."""
    try:
        return float((dt.date.fromisoformat(text) - SPSS_EPOCH).days * 86400)
    except (TypeError, ValueError):
        return math.nan


def _spss_number(value: Any) -> float:
    """A number answer as a float; missing (NaN) when it is not one (see _spss_date)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def sav_chunks(survey: Survey, questions: list[Question]) -> Callable[[], Iterator[Any]]:
    """The responses as DataFrames of one chunk each, in SPSS's terms: single choice
    and rating as coded numbers (1, 2, ... in choice order, labelled), numbers as
    numbers, dates (the submission day, date questions) as SPSS dates, the rest as
    text ("" when unanswered); missing numbers are NaN.

    sav_stream reads the chunks twice (it measures text widths first). Responses
    submitted after the export started are left out of both passes; one submitted in
    between with an older id can still appear in the second only, which sav_stream
    allows as long as its text fits (else it refuses, and the export is tried again).
    """
    import numpy as np
    import pandas as pd

    last = complete_responses(survey).aggregate(last=Max("pk"))["last"] or 0
    codes = [
        {c.name: float(i) for i, c in enumerate(q.choices.all(), start=1)}
        if q.type in CODED
        else None
        for q in questions
    ]
    kinds = [Question.Type(q.type) for q in questions]
    ticked = ticked_columns(questions)
    names = ["response_id", "submitted_on"]
    for position, question in enumerate(questions):
        names.append(question.name)
        names += [name for name, _choice in ticked.get(position, [])]
    dates: dict[str, float] = {}

    def day(text: str) -> float:
        value = dates.get(text)
        if value is None:
            value = dates[text] = _spss_date(text)
        return value

    def frame(chunk: list[list[Any]]) -> Any:
        data: dict[str, Any] = {
            "response_id": np.fromiter((row[0] for row in chunk), np.int64, len(chunk)),
            "submitted_on": np.fromiter(
                (day(row[1]) if row[1] else np.nan for row in chunk), np.float64, len(chunk)
            ),
        }
        for column, (kind, coded) in enumerate(zip(kinds, codes, strict=True), start=2):
            values = [row[column] for row in chunk]
            for name, choice in ticked.get(column - 2, []):
                # chunks joins a list of ticked names with spaces (names hold none).
                data[name] = np.array(
                    [np.nan if v is None else float(choice.name in str(v).split()) for v in values],
                    dtype=np.float64,
                )
            question_name = questions[column - 2].name
            if coded is not None:
                array = [np.nan if v is None else coded.get(v, np.nan) for v in values]
            elif kind == Question.Type.NUMBER:
                array = [np.nan if v is None else _spss_number(v) for v in values]
            elif kind == Question.Type.DATE:
                array = [day(v) if v else np.nan for v in values]
            else:
                data[question_name] = pd.Series(
                    ["" if v is None else v if isinstance(v, str) else str(v) for v in values],
                    dtype=object,
                )
                continue
            data[question_name] = np.array(array, dtype=np.float64)
        return pd.DataFrame(data, columns=names)

    def frames() -> Iterator[Any]:
        yield frame([])  # the columns and their types, even with no responses
        for chunk in chunks(survey, questions, upto=last):
            yield frame(chunk)

    return frames


def sav_options(survey: Survey, questions: list[Question]) -> dict[str, Any]:
    """pyreadstat.write_sav's options: the title, question texts, choice labels, the
    date and code formats, each variable's measurement level and the response id's
    width (write_sav adds the text columns' widths)."""
    language = survey.default_language
    ticked = [
        (name, f"{questions[position].text(language)}: {choice.text(language)}")
        for position, named in ticked_columns(questions).items()
        for name, choice in named
    ]
    return {
        "file_label": survey.title[:60],
        "column_labels": {q.name: q.text(language)[:250] for q in questions}
        | {name: label[:250] for name, label in ticked},
        "variable_value_labels": {
            q.name: {float(i): c.text(language) for i, c in enumerate(q.choices.all(), start=1)}
            for q in questions
            if q.type in CODED
        }
        | {name: TICKED_LABELS for name, _label in ticked},
        # The 15-digit response ids in full (pyreadstat's default, F8.2, cannot show them).
        "variable_format": {"response_id": "F15.0", "submitted_on": SPSS_DATE_FORMAT}
        | {q.name: SPSS_DATE_FORMAT for q in questions if q.type == Question.Type.DATE}
        | {q.name: SPSS_CODE_FORMAT for q in questions if q.type in CODED}
        # Whole-number questions as whole numbers, widened to their longest answer as
        # the data is read (note_number_formats); decimal ones keep pyreadstat's F8.2.
        | {q.name: SPSS_CODE_FORMAT for q in whole_number_columns(questions)}
        | {name: SPSS_TICKED_FORMAT for name, _label in ticked},
        # Text columns' widths are added as the data is read (note_text_widths).
        "variable_display_width": {"response_id": RESPONSE_ID_WIDTH},
        # The ticked 0/1 variables are nominal: ticked or not, not a quantity.
        "variable_measure": {"response_id": "nominal", "submitted_on": "scale"}
        | {q.name: SPSS_MEASURE.get(Question.Type(q.type), "nominal") for q in questions}
        | {name: "nominal" for name, _label in ticked},
    }


def whole_number_columns(questions: list[Question]) -> list[Question]:
    """The number questions that take whole numbers only (XLSForm's integer)."""
    return [q for q in questions if q.type == Question.Type.NUMBER and q.whole_number]


SPSS_DECIMAL_FORMAT = "F8.2"  # pyreadstat's own for a number
SPSS_WIDEST_NUMBER = 40  # the widest F format SPSS takes


def note_number_formats(formats: dict[str, str], frame: Any, names: Collection[str]) -> None:
    """Widen each whole-number column's format in `formats` (variable_format) to fit
    its longest answer in `frame` (F8.0 at least: a 10-digit count shown as 1.2E+09
    would hide its digits), or give it decimals when an answer has them: one given
    before the question took whole numbers only (services refuses that change while
    such answers exist, but an export may run beside it)."""
    import numpy as np

    for name in names:
        values = np.asarray(frame[name], dtype=np.float64)
        values = values[np.isfinite(values)]
        if not values.size or formats.get(name, "").endswith(".2"):
            continue
        if not np.all(values == np.floor(values)):
            formats[name] = SPSS_DECIMAL_FORMAT
            continue
        digits = max(len(f"{np.max(values):.0f}"), len(f"{np.min(values):.0f}"))
        width = int(formats.get(name, SPSS_CODE_FORMAT)[1:].split(".")[0])
        if digits > width:
            formats[name] = f"F{min(digits, SPSS_WIDEST_NUMBER)}.0"


def note_text_widths(widths: dict[str, int], frame: Any) -> None:
    """Widen `widths` (variable_display_width) to fit each text column of `frame`:
    its longest value in characters, within TEXT_DISPLAY_WIDTH."""
    least, most = TEXT_DISPLAY_WIDTH
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object or values.empty:
            continue
        longest = int(values.map(lambda v: len(v) if isinstance(v, str) else 0).max())
        if longest > least:
            widths[str(name)] = min(max(widths.get(str(name), least), longest), most)


def _measuring(
    frames: Callable[[], Iterator[Any]],
    widths: dict[str, int],
    formats: dict[str, str] | None = None,
    whole: Collection[str] = (),
) -> Callable[[], Iterator[Any]]:
    """`frames`, noting the text columns' widths in `widths` (and the whole-number
    columns' formats in `formats`) as they go by. sav_stream reads every chunk once
    before pyreadstat writes the dictionary from the options these are in: by then
    every width is noted."""

    def measured() -> Iterator[Any]:
        for frame in frames():
            note_text_widths(widths, frame)
            if formats is not None:
                note_number_formats(formats, frame, whole)
            yield frame

    return measured


def write_sav(survey: Survey, path: Path, *, attempts: int = 3) -> int:
    """Write the SPSS file, a chunk of responses at a time (sav_stream): memory stays
    flat whatever the number of responses. Returns the rows written."""
    questions = columns(survey)
    for attempt in range(1, attempts + 1):
        options = sav_options(survey, questions)
        frames = _measuring(
            sav_chunks(survey, questions),
            options["variable_display_width"],
            options["variable_format"],
            [q.name for q in whole_number_columns(questions)],
        )
        try:
            return sav_stream.write_sav(path, frames, **options)
        except sav_stream.SavDataChanged:
            # An answer arrived between the two passes and did not fit: start again.
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def sav_bytes(survey: Survey) -> bytes:
    return _bytes(write_sav, survey, "responses.sav")


def _bytes(write: Callable[[Survey, Path], int], survey: Survey, name: str) -> bytes:
    """A small export in memory (tests, the API's callers of small surveys)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write(survey, path)
        return path.read_bytes()


FIELD_TYPES = {
    Question.Type.NUMBER: "number",
    Question.Type.DATE: "date",
}


# Said in the package itself (its codebook), for whoever opens it later.
PACKAGE_DESCRIPTION = (
    "Survey responses exported from Sayso: one row per response, one column per"
    " question. Every answer is exactly as the respondent gave it. Unlike Sayso's CSV"
    " download, an answer starting with =, +, -, @, a tab or a carriage return has no"
    " apostrophe added, so read this file with analysis tools (R, Python, Frictionless),"
    " not by opening it in a spreadsheet, which could run such an answer as a formula."
)


def datapackage(survey: Survey) -> dict[str, Any]:
    questions = columns(survey)
    language = survey.default_language
    fields: list[dict[str, Any]] = [
        {
            "name": "response_id",
            "type": "integer",
            "description": (
                "A random number that identifies the response. It says nothing about"
                " when or in what order people answered, and rows are in its order."
            ),
        },
        {"name": "submitted_on", "type": "date", "description": "Date submitted (no time is kept)"},
    ]
    for q in questions:
        entry: dict[str, Any] = {
            "name": q.name,
            "title": q.text(language),
            "type": FIELD_TYPES.get(Question.Type(q.type), "string"),
            "description": f"{q.get_type_display()}"
            + (f"; shown only if {q.relevant}" if q.relevant else ""),
        }
        if q.type in (Question.Type.SINGLE, Question.Type.RATING):
            entry["constraints"] = {"enum": [c.name for c in q.choices.all()]}
        if q.has_choices:
            entry["categories"] = [
                {"value": c.name, "label": c.text(language)} for c in q.choices.all()
            ]
        fields.append(entry)
    return {
        "name": f"survey-{survey.pk}",
        "title": survey.title,
        "description": PACKAGE_DESCRIPTION,
        "resources": [
            {
                "name": "responses",
                "path": "responses.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {"fields": fields, "missingValues": [""]},
            }
        ],
    }


def write_datapackage(survey: Survey, path: Path) -> int:
    """The zip: datapackage.json and responses.csv, the CSV compressed as it is
    written, a chunk of responses at a time. Returns the rows written."""
    questions = columns(survey)
    written = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "datapackage.json", json.dumps(datapackage(survey), indent=2, ensure_ascii=False)
        )
        with (
            archive.open("responses.csv", "w") as entry,
            io.TextIOWrapper(entry, encoding="utf-8", newline="") as text,
        ):
            writer = csv.writer(text)
            writer.writerow(header(questions))
            for chunk in chunks(survey, questions):
                writer.writerows(chunk)
                written += len(chunk)
    return written


def datapackage_zip(survey: Survey) -> bytes:
    return _bytes(write_datapackage, survey, "datapackage.zip")


@dataclass(frozen=True)
class FileFormat:
    """An export prepared as a file by the task worker (services start, the worker
    writes, the organiser downloads)."""

    write: Callable[[Survey, Path], int]
    suffix: str  # of the downloaded file's name
    content_type: str


# CSV is not here: it streams straight to the client (export_csv).
FILE_FORMATS: dict[str, FileFormat] = {
    "xlsx": FileFormat(write_xlsx, ".xlsx", XLSX_TYPE),
    "sav": FileFormat(write_sav, ".sav", "application/x-spss-sav"),
    "datapackage": FileFormat(write_datapackage, "-datapackage.zip", "application/zip"),
}
