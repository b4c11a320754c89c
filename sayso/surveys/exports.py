"""Exports of submitted responses: CSV (streamed), XLSX, SPSS .sav, Frictionless package.

Each row is one response; columns follow the questions. A multiple choice answer is its
choice names separated by spaces (as in XLSForm), a ranking its names in order. The
rows come from each response's stored answers, read in chunks, so memory stays flat:
CSV streams straight to the client; XLSX and the data package zip are written to an
anonymous temporary file a chunk at a time and streamed from there; SPSS needs the
whole table in one DataFrame (pyreadstat), kept to numpy columns. Peak memory of each
at 100,000 responses is measured by bench/survey_results.py --formats.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from django.db.models import CharField, TextField
from django.db.models.functions import Cast
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from .models import Question, Survey
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


def chunks(survey: Survey, questions: list[Question]) -> Iterator[list[list[Any]]]:
    """The export rows, a chunk at a time, in response order; None where unanswered.

    Each chunk is one short keyset query (pk > the last one seen), so no cursor stays
    open while the response streams and memory holds one chunk. The answers are read
    as the JSON text they were submitted as and decoded here in one tight loop: only
    the multiple choice and ranking columns need any change (a list becomes its names
    separated by spaces), and the csv module writes None as an empty cell itself.
    """
    names = [q.name for q in questions]
    lists = [i for i, q in enumerate(questions, start=2) if q.type in LIST_TYPES]
    loads = json.loads
    base = (
        complete_responses(survey)
        .order_by("pk")
        .annotate(day=Cast("submitted_on", CharField()), answers_json=Cast("draft", TextField()))
    )
    last = 0
    while True:
        chunk = list(base.filter(pk__gt=last).values_list("pk", "day", "answers_json")[:CHUNK])
        if not chunk:
            return
        out: list[list[Any]] = []
        append = out.append
        for pk, day, raw in chunk:
            row = [pk, day, *map(loads(raw).get, names)]
            for i in lists:
                if row[i]:
                    row[i] = " ".join(row[i])
            append(row)
        yield out
        last = chunk[-1][0]


def rows(survey: Survey, questions: list[Question]) -> Iterator[list[Any]]:
    for chunk in chunks(survey, questions):
        for row in chunk:
            yield ["" if value is None else value for value in row]


def header(questions: list[Question]) -> list[str]:
    return ["response_id", "submitted_on", *(q.name for q in questions)]


def export_csv(survey: Survey) -> StreamingHttpResponse:
    questions = columns(survey)

    def stream() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header(questions))
        for chunk in chunks(survey, questions):
            writer.writerows(chunk)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.csv"'
    return response


def _spooled(write: Callable[[IO[bytes]], None], filename: str, content_type: str) -> FileResponse:
    """Write an export into an anonymous temporary file, then stream that file.

    XLSX and zip files cannot be sent while they are written (their directory comes
    last), so they are written to disk a chunk of responses at a time and the file is
    streamed from there: memory holds one chunk whatever the number of responses. The
    file has no name on disk and vanishes when the response closes it.
    """
    # Closed by the response once sent (or here, if writing fails).
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        write(handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


def export_xlsx(survey: Survey) -> FileResponse:
    from openpyxl import Workbook

    questions = columns(survey)

    def write(handle: IO[bytes]) -> None:
        # Write-only mode keeps appended rows in its own temporary file, not in memory.
        book = Workbook(write_only=True)
        sheet = book.create_sheet("responses")
        sheet.append(header(questions))
        for row in rows(survey, questions):
            sheet.append(row)
        book.save(handle)  # openpyxl's zip accepts a file object

    return _spooled(write, f"survey-{survey.pk}.xlsx", XLSX_TYPE)


CODED = frozenset({Question.Type.SINGLE, Question.Type.RATING})


def sav_frame(survey: Survey, questions: list[Question]) -> Any:
    """The responses as a DataFrame for SPSS, built column by column in numpy arrays.

    pyreadstat writes only a whole DataFrame, so the frame is unavoidable; what is
    avoided is a Python object per cell on the way there. Coded choices and numbers
    go straight into float arrays (8 bytes a cell, NaN when unanswered); only text,
    multiple choice and ranking columns hold strings. Measured in
    docs/benchmarks.md ("Results page and CSV export").
    """
    import numpy as np
    import pandas as pd

    # The export is of the responses submitted when it starts, as the audit log says.
    n = complete_responses(survey).count()
    ids = np.zeros(n, dtype=np.int64)
    days = np.full(n, "", dtype=object)
    codes = {
        q.name: {c.name: float(i) for i, c in enumerate(q.choices.all(), start=1)}
        for q in questions
        if q.type in CODED
    }
    arrays: list[Any] = []
    for q in questions:
        if q.type in CODED or q.type == Question.Type.NUMBER:
            arrays.append(np.full(n, np.nan))
        else:
            arrays.append(np.full(n, "", dtype=object))
    mapping = [codes.get(q.name) for q in questions]
    numeric = [q.type == Question.Type.NUMBER for q in questions]
    # Dates and multiple choice answers repeat a lot: one string object per distinct
    # value, shared by every row that has it, instead of one per cell.
    shared: dict[str, str] = {}
    filled = 0
    for chunk in chunks(survey, questions):
        for row in chunk[: n - filled]:
            ids[filled] = row[0]
            days[filled] = shared.setdefault(row[1], row[1])
            for column, value in enumerate(row[2:]):
                if value is None:
                    continue
                coded = mapping[column]
                if coded is not None:
                    arrays[column][filled] = coded.get(value, np.nan)
                elif numeric[column]:
                    arrays[column][filled] = float(value)
                elif isinstance(value, str) and len(value) <= 64:
                    arrays[column][filled] = shared.setdefault(value, value)
                else:
                    arrays[column][filled] = str(value)
            filled += 1
        if filled >= n:
            break
    data = {"response_id": ids[:filled], "submitted_on": days[:filled]}
    data |= {q.name: array[:filled] for q, array in zip(questions, arrays, strict=True)}
    return pd.DataFrame(data, copy=False)


def write_sav(survey: Survey, path: str) -> int:
    """Write the SPSS file to `path`: single choice and rating as coded numbers with
    value labels, numbers as numbers, the rest as text. Returns the rows written."""
    import pyreadstat

    questions = columns(survey)
    language = survey.default_language
    frame = sav_frame(survey, questions)
    labels = {
        q.name: {float(i): c.text(language) for i, c in enumerate(q.choices.all(), start=1)}
        for q in questions
        if q.type in CODED
    }
    pyreadstat.write_sav(
        frame,
        path,
        file_label=survey.title[:60],
        column_labels={q.name: q.text(language)[:250] for q in questions},
        variable_value_labels=labels,
    )
    return len(frame)


def sav_bytes(survey: Survey) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "responses.sav"
        write_sav(survey, str(path))
        return path.read_bytes()


def export_sav(survey: Survey) -> FileResponse:
    folder = tempfile.TemporaryDirectory()
    try:
        path = Path(folder.name) / "responses.sav"
        write_sav(survey, str(path))
        # pyreadstat writes to a path; open it, then unlink it: the open handle keeps
        # the data readable until the response is sent and closes it.
        handle = path.open("rb")
    finally:
        folder.cleanup()
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"survey-{survey.pk}.sav",
        content_type="application/x-spss-sav",
    )


FIELD_TYPES = {
    Question.Type.NUMBER: "number",
    Question.Type.DATE: "date",
}


def datapackage(survey: Survey) -> dict[str, Any]:
    questions = columns(survey)
    language = survey.default_language
    fields: list[dict[str, Any]] = [
        {
            "name": "response_id",
            "type": "integer",
            "description": "Sequence number of the response",
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


def write_datapackage(survey: Survey, handle: IO[bytes]) -> None:
    """The zip: datapackage.json and responses.csv, the CSV compressed as it is
    written, a chunk of responses at a time."""
    questions = columns(survey)
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
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


def datapackage_zip(survey: Survey) -> bytes:
    out = io.BytesIO()
    write_datapackage(survey, out)
    return out.getvalue()


def export_datapackage(survey: Survey) -> FileResponse:
    return _spooled(
        lambda handle: write_datapackage(survey, handle),
        f"survey-{survey.pk}-datapackage.zip",
        "application/zip",
    )


FORMATS: dict[str, Callable[[Survey], HttpResponse | StreamingHttpResponse]] = {
    "csv": export_csv,
    "xlsx": export_xlsx,
    "sav": export_sav,
    "datapackage": export_datapackage,
}
