"""Exports of submitted responses: CSV (streamed), XLSX, SPSS .sav, Frictionless package.

Each row is one response; columns follow the questions. A multiple choice answer is its
choice names separated by spaces (as in XLSForm), a ranking its names in order. The
rows come from each response's stored answers, read in chunks, so memory stays flat.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import CharField, TextField
from django.db.models.functions import Cast
from django.http import HttpResponse, StreamingHttpResponse

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


def export_xlsx(survey: Survey) -> HttpResponse:
    from openpyxl import Workbook

    questions = columns(survey)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("responses")
    sheet.append(header(questions))
    for row in rows(survey, questions):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.xlsx"'
    return response


def sav_bytes(survey: Survey) -> bytes:
    """SPSS file: single choice and rating as coded numbers with value labels."""
    import pandas as pd
    import pyreadstat

    questions = columns(survey)
    language = survey.default_language
    data: dict[str, list[Any]] = {name: [] for name in header(questions)}
    codes = {
        q.name: {c.name: i for i, c in enumerate(q.choices.all(), start=1)}
        for q in questions
        if q.type in (Question.Type.SINGLE, Question.Type.RATING)
    }
    for row in rows(survey, questions):
        for name, value in zip(data, row, strict=True):
            if name in codes:
                data[name].append(float(codes[name][value]) if value != "" else None)
            elif (
                name != "response_id"
                and name != "submitted_on"
                and value != ""
                and isinstance(value, int | float)
            ):
                data[name].append(float(value))
            else:
                data[name].append(value if value != "" else None)
    for q in questions:
        if q.type == Question.Type.NUMBER:
            data[q.name] = [float(v) if v is not None else None for v in data[q.name]]
        elif q.name not in codes:
            data[q.name] = ["" if v is None else str(v) for v in data[q.name]]
    frame = pd.DataFrame(data)
    labels = {
        q.name: {float(i): c.text(language) for i, c in enumerate(q.choices.all(), start=1)}
        for q in questions
        if q.name in codes
    }
    with tempfile.NamedTemporaryFile(suffix=".sav") as handle:
        pyreadstat.write_sav(
            frame,
            handle.name,
            file_label=survey.title[:60],
            column_labels={q.name: q.text(language)[:250] for q in questions},
            variable_value_labels=labels,
        )
        handle.seek(0)
        return handle.read()


def export_sav(survey: Survey) -> HttpResponse:
    response = HttpResponse(sav_bytes(survey), content_type="application/x-spss-sav")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.sav"'
    return response


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


def datapackage_zip(survey: Survey) -> bytes:
    questions = columns(survey)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header(questions))
    for row in rows(survey, questions):
        writer.writerow(row)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "datapackage.json", json.dumps(datapackage(survey), indent=2, ensure_ascii=False)
        )
        archive.writestr("responses.csv", text.getvalue())
    return out.getvalue()


def export_datapackage(survey: Survey) -> HttpResponse:
    response = HttpResponse(datapackage_zip(survey), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-datapackage.zip"'
    return response


FORMATS: dict[str, Callable[[Survey], HttpResponse | StreamingHttpResponse]] = {
    "csv": export_csv,
    "xlsx": export_xlsx,
    "sav": export_sav,
    "datapackage": export_datapackage,
}
