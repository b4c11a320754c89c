"""XLSForm in and out, through pyxform.

Import checks the whole workbook first (every problem named with its sheet, row and
reason), then creates the survey in one transaction, so a refused form creates nothing.
"""

from __future__ import annotations

import io
import re
import tempfile
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from sayso.core.models import Community

from . import logic
from .models import Choice, Question, Section, Survey

TYPES = {
    "select_one": Question.Type.SINGLE,
    "select_multiple": Question.Type.MULTIPLE,
    "rank": Question.Type.RANKING,
    "integer": Question.Type.NUMBER,
    "decimal": Question.Type.NUMBER,
    "date": Question.Type.DATE,
    "text": Question.Type.SHORT_TEXT,
    "acknowledge": Question.Type.CONSENT,
    "note": Question.Type.NOTE,
}
PYXFORM_TYPES = {
    "select one": Question.Type.SINGLE,
    "select all that apply": Question.Type.MULTIPLE,
    "rank": Question.Type.RANKING,
    "integer": Question.Type.NUMBER,
    "decimal": Question.Type.NUMBER,
    "date": Question.Type.DATE,
    "text": Question.Type.SHORT_TEXT,
    "acknowledge": Question.Type.CONSENT,
    "note": Question.Type.NOTE,
}
# Notes with these names, before the first question, hold the survey's own texts.
SURVEY_NOTES = ("welcome", "privacy_notice")
# Metadata that records when and on which device: never stored, and said so.
PRIVACY_DROPPED = {
    "start",
    "end",
    "today",
    "deviceid",
    "phonenumber",
    "username",
    "email",
    "audit",
    "simserial",
    "subscriberid",
}
UNSUPPORTED_COLUMNS = ("calculation", "choice_filter", "repeat_count", "default", "trigger")
LANGUAGE_RE = re.compile(r"\(([A-Za-z-]+)\)\s*$")


class XLSFormError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def language_code(key: str) -> str:
    match = LANGUAGE_RE.search(key)
    if match:
        return match.group(1).lower()
    return "en" if key in ("default", "") else key.lower()[:10]


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {language_code(k): str(v) for k, v in value.items()}
    return {"en": str(value)} if value else {}


def _rows(sheet: Any) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    values = list(sheet.iter_rows(values_only=True))
    if not values:
        return [], []
    head = [str(h).strip() if h is not None else "" for h in values[0]]
    out = []
    for number, row in enumerate(values[1:], start=2):
        cells = {
            h: str(v).strip()
            for h, v in zip(head, row, strict=False)
            if h and v is not None and str(v).strip()
        }
        if cells:
            out.append((number, cells))
    return head, out


def check_workbook(data: bytes) -> list[str]:
    """Every reason the workbook cannot be imported, as 'sheet, row N: reason'."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        return [_("The file is not an .xlsx spreadsheet. Save it as Excel (.xlsx) and try again.")]
    problems: list[str] = []
    if "survey" not in book.sheetnames:
        return [_("The 'survey' sheet is missing: an XLSForm needs one, with a row per question.")]
    head, survey_rows = _rows(book["survey"])
    for column in ("type", "name"):
        if column not in head:
            problems.append(
                _("survey sheet, row 1: the '%(c)s' column is missing.") % {"c": column}
            )
    if problems:
        return problems
    list_names: set[str] = set()
    if "choices" in book.sheetnames:
        _chead, choice_rows = _rows(book["choices"])
        seen_choices: set[tuple[str, str]] = set()
        for number, cells in choice_rows:
            key = (cells.get("list_name", cells.get("list name", "")), cells.get("name", ""))
            if key in seen_choices:
                problems.append(
                    _(
                        "choices sheet, row %(n)s: the choice '%(name)s' appears twice in list '%(list)s'."
                    )
                    % {"n": number, "name": key[1], "list": key[0]}
                )
            seen_choices.add(key)
            list_names.add(key[0])
    names: dict[str, int] = {}
    depth = 0
    for number, cells in survey_rows:
        kind = cells.get("type", "")
        name = cells.get("name", "")
        base = kind.split()[0] if kind else ""
        where = _("survey sheet, row %(n)s") % {"n": number}
        if base in ("begin_group", "begin group"):
            depth += 1
            if depth > 1:
                problems.append(
                    _(
                        "%(where)s: groups inside groups are not supported; use one level of groups as pages."
                    )
                    % {"where": where}
                )
            continue
        if base in ("end_group", "end group"):
            depth -= 1
            continue
        if base in ("begin_repeat", "begin repeat", "end_repeat", "end repeat"):
            problems.append(_("%(where)s: repeats are not supported.") % {"where": where})
            continue
        if base in PRIVACY_DROPPED or (kind == "calculate" and name == "instanceID"):
            continue
        if base not in TYPES:
            problems.append(
                _("%(where)s: the question type '%(type)s' is not supported.")
                % {"where": where, "type": kind}
            )
            continue
        if base in ("select_one", "select_multiple", "rank"):
            parts = kind.split()
            if len(parts) < 2 or parts[1] not in list_names:
                problems.append(
                    _(
                        "%(where)s: the choice list for '%(type)s' is missing from the choices sheet."
                    )
                    % {"where": where, "type": kind}
                )
            if len(parts) > 2 or "or_other" in kind:
                problems.append(
                    _("%(where)s: 'or_other' and choices from a file are not supported.")
                    % {"where": where}
                )
        if not logic.valid_name(name):
            problems.append(
                _(
                    "%(where)s: the name '%(name)s' must start with a letter and use only letters, numbers and _."
                )
                % {"where": where, "name": name}
            )
        elif name in names:
            problems.append(
                _("%(where)s: the name '%(name)s' is already used in row %(other)s.")
                % {"where": where, "name": name, "other": names[name]}
            )
        for column in UNSUPPORTED_COLUMNS:
            if cells.get(column):
                problems.append(
                    _("%(where)s: the '%(c)s' column is not supported.")
                    % {"where": where, "c": column}
                )
        required = cells.get("required", "")
        if required and required.lower() not in (
            "yes",
            "no",
            "true",
            "false",
            "true()",
            "false()",
            "1",
            "0",
        ):
            problems.append(
                _("%(where)s: 'required' must be yes or no; expressions are not supported.")
                % {"where": where}
            )
        for column, allow_current in (("relevant", False), ("constraint", True)):
            expression = cells.get(column, "")
            if not expression:
                continue
            known = [*names, name] if allow_current else list(names)
            problem = logic.check_expression(
                expression, known=known, allow_current=allow_current, what=column
            )
            if problem:
                problems.append(f"{where}: {problem}")
        names[name] = number
    if not names and not problems:
        problems.append(_("survey sheet: there are no questions to import."))
    return problems


def _pyxform_dict(data: bytes) -> dict[str, Any]:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        handle.write(data)
        handle.flush()
        try:
            return dict(parse_file_to_json(handle.name))
        except PyXFormError as error:
            raise XLSFormError(
                [_("The form could not be read: %(reason)s") % {"reason": error}]
            ) from None


def _is_required(value: Any) -> bool:
    return str(value).lower() in ("yes", "true", "true()", "1")


def import_xlsform(*, data: bytes, community: Community, actor: Any) -> Survey:
    problems = check_workbook(data)
    if problems:
        raise XLSFormError(problems)
    form = _pyxform_dict(data)
    default = form.get("default_language")
    languages: list[str] = [language_code(default)] if default and default != "default" else []

    def note_languages(labels: dict[str, str]) -> None:
        for code in labels:
            if code not in languages:
                languages.append(code)

    with transaction.atomic():
        survey = Survey.objects.create(
            community=community,
            title=str(form.get("title") or _("Imported survey"))[:200],
            languages=["en"],
            created_by=actor,
        )
        section_order = 0
        section: Section | None = None

        def new_section(title: dict[str, str]) -> Section:
            nonlocal section_order
            section_order += 1
            return Section.objects.create(survey=survey, order=section_order, title=title)

        def add(child: dict[str, Any], current: Section) -> None:
            kind = PYXFORM_TYPES[child["type"]]
            bind = child.get("bind", {})
            if kind == Question.Type.SHORT_TEXT and "multiline" in str(
                child.get("control", {}).get("appearance", "")
            ):
                kind = Question.Type.LONG_TEXT
            if kind == Question.Type.SINGLE and "likert" in str(
                child.get("control", {}).get("appearance", "")
            ):
                kind = Question.Type.RATING
            labels = _labels(child.get("label"))
            note_languages(labels)
            question = Question.objects.create(
                survey=survey,
                section=current,
                order=current.questions.count() + 1,
                name=child["name"],
                type=kind,
                label=labels,
                hint=_labels(child.get("hint")),
                required=_is_required(bind.get("required", "")),
                relevant=bind.get("relevant", ""),
                constraint=bind.get("constraint", ""),
                constraint_message=_labels(bind.get("jr:constraintMsg", "")),
            )
            choices = child.get("choices") or form.get("choices", {}).get(
                child.get("list_name", ""), []
            )
            Choice.objects.bulk_create(
                Choice(
                    question=question, order=i, name=str(c["name"]), label=_labels(c.get("label"))
                )
                for i, c in enumerate(choices, start=1)
            )

        survey_texts: dict[str, dict[str, str]] = {}
        for child in form.get("children", []):
            if (
                child.get("type") == "note"
                and child.get("name") in SURVEY_NOTES
                and section is None
                and section_order == 0
            ):
                labels = _labels(child.get("label"))
                note_languages(labels)
                survey_texts[child["name"]] = labels
                continue
            if child.get("type") == "group":
                if child.get("name") == "meta":
                    continue
                labels = _labels(child.get("label"))
                section = new_section(labels)
                for inner in child.get("children", []):
                    if inner.get("type") in PYXFORM_TYPES:
                        add(inner, section)
                section = None
            elif child.get("type") in PYXFORM_TYPES:
                if section is None:
                    section = new_section({})
                add(child, section)
        survey.languages = languages or ["en"]
        first = survey.default_language
        survey.texts = {}
        for field, labels in survey_texts.items():
            setattr(survey, field, labels.get(first) or next(iter(labels.values()), ""))
            for code, text in labels.items():
                if code != first and text:
                    survey.texts.setdefault(code, {})[field] = text
        survey.save(update_fields=["languages", "texts", *survey_texts])
    return survey


REVERSE_TYPES = {
    Question.Type.SINGLE: "select_one",
    Question.Type.RATING: "select_one",
    Question.Type.MULTIPLE: "select_multiple",
    Question.Type.RANKING: "rank",
    Question.Type.NUMBER: "decimal",
    Question.Type.DATE: "date",
    Question.Type.SHORT_TEXT: "text",
    Question.Type.LONG_TEXT: "text",
    Question.Type.CONSENT: "acknowledge",
    Question.Type.NOTE: "note",
}


def _language_header(code: str) -> str:
    from django.utils.translation import get_language_info

    try:
        name = get_language_info(code)["name"]
    except KeyError:
        name = code
    return f"{name} ({code})"


def export_xlsform(survey: Survey) -> bytes:
    from openpyxl import Workbook

    languages = survey.languages or ["en"]
    heads = [_language_header(code) for code in languages]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(
        [
            "type",
            "name",
            *(f"label::{h}" for h in heads),
            *(f"hint::{h}" for h in heads),
            "required",
            "relevant",
            "constraint",
            *(f"constraint_message::{h}" for h in heads),
            "appearance",
        ]
    )
    choices_sheet = book.create_sheet("choices")
    choices_sheet.append(["list_name", "name", *(f"label::{h}" for h in heads)])

    def texts(labels: dict[str, str], fallback: str = "") -> list[str]:
        # An untranslated text repeats the main language's, as respondents would see it.
        main = labels.get(languages[0]) or fallback
        return [labels.get(code) or main for code in languages]

    for field in SURVEY_NOTES:
        if getattr(survey, field):
            sheet.append(
                [
                    "note",
                    field,
                    *texts(
                        {
                            code: str(((survey.texts or {}).get(code) or {}).get(field, ""))
                            for code in languages[1:]
                        }
                        | {languages[0]: getattr(survey, field)}
                    ),
                ]
            )

    for section in survey.sections.prefetch_related("questions__choices"):
        sheet.append(
            [
                "begin_group",
                f"section_{section.order}",
                *texts(section.title, f"Section {section.order}"),
            ]
        )
        for q in section.questions.all():
            kind = REVERSE_TYPES[Question.Type(q.type)]
            if q.has_choices:
                kind = f"{kind} {q.name}_choices"
                for c in q.choices.all():
                    choices_sheet.append([f"{q.name}_choices", c.name, *texts(c.label, c.name)])
            appearance = (
                "multiline"
                if q.type == Question.Type.LONG_TEXT
                else "likert"
                if q.type == Question.Type.RATING
                else ""
            )
            sheet.append(
                [
                    kind,
                    q.name,
                    *texts(q.label, q.name),
                    *texts(q.hint),
                    "yes" if q.required else "",
                    q.relevant,
                    q.constraint,
                    *texts(q.constraint_message),
                    appearance,
                ]
            )
        sheet.append(["end_group"])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "default_language"])
    settings.append([survey.title, f"sayso_survey_{survey.pk}", heads[0]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["XLSFormError", "check_workbook", "export_xlsform", "import_xlsform"]
