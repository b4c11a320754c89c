# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""XLSForm round trips: a survey exported, converted by pyxform and imported again is
the same survey (every language's texts, logic, required, breakdowns, the translated
title, welcome and privacy notice); what XLSForm cannot carry is said, on export and
on import; what Sayso cannot follow is refused with sheet, row and reason."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import xlsform
from sayso.surveys.models import Choice, Question, Section, Survey

from .test_kobo_walkthrough import kobo_form

pytestmark = pytest.mark.django_db


def _texts(labels: Any) -> dict[str, str]:
    # An empty text and a missing one are the same to a respondent (the main
    # language's text, or nothing, shows): compare what would be shown.
    return {k: v for k, v in (labels or {}).items() if v}


def definition(survey: Survey) -> dict[str, Any]:
    """Everything a form defines, in order, without database ids."""
    survey.refresh_from_db()
    return {
        "title": survey.title,
        "welcome": survey.welcome,
        "privacy_notice": survey.privacy_notice,
        "languages": survey.languages,
        "texts": {code: _texts(t) for code, t in (survey.texts or {}).items() if _texts(t)},
        "sections": [
            {
                "title": _texts(section.title),
                "questions": [
                    {
                        "name": q.name,
                        "type": q.type,
                        "label": _texts(q.label),
                        "hint": _texts(q.hint),
                        "required": q.required,
                        "required_message": _texts(q.required_message),
                        "relevant": q.relevant,
                        "constraint": q.constraint,
                        "constraint_message": _texts(q.constraint_message),
                        "whole_number": q.whole_number,
                        "is_breakdown": q.is_breakdown,
                        "choices": [
                            (c.name, _texts(c.label), c.exclusive) for c in q.choices.all()
                        ],
                    }
                    for q in section.questions.all()
                ],
            }
            for section in survey.sections.prefetch_related("questions__choices")
        ],
    }


def bilingual_survey() -> Survey:
    """A survey as an organiser builds it in English and Polish, with every type."""
    survey = Survey.objects.create(
        community=CommunityFactory(),
        title="Scanners at the depot",
        welcome="Ten minutes, anonymous.",
        privacy_notice="Only the organisers read the answers.",
        languages=["en", "pl"],
        texts={
            "pl": {
                "title": "Skanery w magazynie",
                "welcome": "Dziesięć minut, anonimowo.",
                "privacy_notice": "Odpowiedzi czytają tylko organizatorzy.",
            }
        },
        distribution=Survey.Distribution.CODES,
        weighting_targets={"shift": {"day": 120, "night": 80}},
    )
    first = Section.objects.create(survey=survey, order=1, title={"en": "You", "pl": "Ty"})
    second = Section.objects.create(survey=survey, order=2, title={"en": ""})

    def q(section: Section, order: int, name: str, kind: str, **extra: Any) -> Question:
        return Question.objects.create(
            survey=survey, section=section, order=order, name=name, type=kind, **extra
        )

    shift = q(
        first,
        1,
        "shift",
        Question.Type.SINGLE,
        label={"en": "Your shift", "pl": "Twoja zmiana"},
        hint={"en": "The one you work most", "pl": "Ta, na której pracujesz najczęściej"},
        required=True,
        is_breakdown=True,
    )
    for i, (name, en, pl) in enumerate([("day", "Day", "Dzień"), ("night", "Night", "Noc")], 1):
        Choice.objects.create(question=shift, order=i, name=name, label={"en": en, "pl": pl})
    q(
        first,
        2,
        "age",
        Question.Type.NUMBER,
        label={"en": "Age", "pl": "Wiek"},
        constraint=". >= 16 and . <= 80",
        constraint_message={"en": "From 16 to 80", "pl": "Od 16 do 80"},
    )
    q(first, 3, "since", Question.Type.DATE, label={"en": "Working since"})
    fair = q(
        second,
        1,
        "fair",
        Question.Type.RATING,
        label={"en": "Is it fair?", "pl": "Czy to sprawiedliwe?"},
        required=True,
        required_message={
            "en": "Tell us, even if unsure",
            "pl": "Odpowiedz, nawet jeśli nie wiesz",
        },
    )
    for i, name in enumerate(["no", "partly", "yes"], 1):
        Choice.objects.create(question=fair, order=i, name=name, label={"en": name.title()})
    worries = q(
        second,
        2,
        "worries",
        Question.Type.MULTIPLE,
        label={"en": "What worries you?", "pl": "Co cię martwi?"},
        relevant="${shift} = 'night' or ${age} > 50",
    )
    ranked = q(second, 3, "order", Question.Type.RANKING, label={"en": "Rank them"})
    for target in (worries, ranked):
        for i, (name, en, pl) in enumerate(
            [("rates", "Pick rates", "Normy"), ("cameras", "Cameras", "Kamery")], 1
        ):
            Choice.objects.create(question=target, order=i, name=name, label={"en": en, "pl": pl})
    q(
        second,
        4,
        "story",
        Question.Type.LONG_TEXT,
        label={"en": "What happened?", "pl": "Co się stało?"},
        relevant="selected(${worries}, 'cameras')",
        constraint="string-length(.) <= 500",
    )
    q(second, 5, "job", Question.Type.SHORT_TEXT, label={"en": "Job title"})
    q(second, 6, "thanks", Question.Type.NOTE, label={"en": "Thank you", "pl": "Dziękujemy"})
    q(
        second,
        7,
        "consent",
        Question.Type.CONSENT,
        label={"en": "I agree", "pl": "Zgadzam się"},
        required=True,
    )
    return survey


def _through_pyxform(data: bytes) -> str:
    from pyxform.xls2xform import convert

    return str(convert(xlsform=data, file_type=".xlsx").xform)


def test_a_built_survey_survives_export_pyxform_and_import() -> None:
    survey = bilingual_survey()
    data = xlsform.export_xlsform(survey)
    xform = _through_pyxform(data)
    # pyxform carried both languages and the logic into the XForm.
    assert 'lang="Polish (pl)"' in xform
    assert "Czy to sprawiedliwe?" in xform
    assert "Skanery w magazynie" in xform  # the translated title, as a note
    assert "string-length(.) &lt;= 500" in xform or "string-length(.) <= 500" in xform
    again = xlsform.import_form(data=data, community=survey.community, actor=None)
    assert definition(again.survey) == definition(survey)
    assert again.notes == []


def test_a_kobo_form_survives_import_export_pyxform_import() -> None:
    community = CommunityFactory()
    first = xlsform.import_form(data=kobo_form(), community=community, actor=None)
    assert first.survey.title == "Depot scanners"
    assert first.survey.languages == ["en", "fr"]
    data = xlsform.export_xlsform(first.survey)
    _through_pyxform(data)
    second = xlsform.import_form(data=data, community=community, actor=None)
    assert definition(second.survey) == definition(first.survey)
    years = second.survey.questions.get(name="years")
    assert years.constraint_message == {"en": "From 0 to 50", "fr": "De 0 à 50"}
    assert years.hint == {"en": "Whole years", "fr": "Années entières"}
    # The device metadata the form asked for is named as not kept.
    assert first.notes == [
        "Not kept, to protect respondents: the metadata start, end, today, deviceid (when or"
        " on which device someone answered). Sayso keeps only the date of each response."
    ]


def test_the_export_lists_what_xlsform_cannot_carry() -> None:
    survey = bilingual_survey()
    book = load_workbook(io.BytesIO(xlsform.export_xlsform(survey)))
    rows = list(book[xlsform.NOTES_SHEET].iter_rows(values_only=True))
    settings = {row[0]: row[1] for row in rows[1:]}
    assert settings["Who can answer"] == "People with an invitation code"
    assert settings["Weighting targets"] == "shift: day = 120, night = 80"
    assert settings["Convenience sample"] == "yes"
    assert "Responses, invitation codes, approved text answers" in settings


def workbook(
    survey_rows: list[list[Any]],
    head: list[str],
    *,
    choices: list[list[str]] | None = None,
    settings: dict[str, str] | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(head)
    for row in survey_rows:
        sheet.append(row)
    listed = book.create_sheet("choices")
    listed.append(["list_name", "name", "label", "media::image"])
    for row in choices or [["yn", "yes", "Yes"], ["yn", "no", "No"]]:
        listed.append(row)
    if settings is not None:
        sheet = book.create_sheet("settings")
        sheet.append(list(settings))
        sheet.append(list(settings.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_what_an_import_leaves_out_is_named_with_rows() -> None:
    head = ["type", "name", "label", "required", "required_message", "guidance_hint"]
    head += ["appearance", "relevant"]
    data = workbook(
        [
            ["select_one yn", "ok", "OK?", "yes", "Please answer", "", "minimal", ""],
            ["begin_group", "more", "More", "", "", "", "field-list", "${ok} = 'yes'"],
            ["integer", "n", "How many?", "", "", "Count them all", "", ""],
            ["text", "why", "Why?", "yes", "Say why", "", "", "${n} > 2"],
            ["end_group", "", "", "", "", "", "", ""],
        ],
        head,
        choices=[["yn", "yes", "Yes", "yes.png"], ["yn", "no", "No", ""]],
        settings={"form_title": "Checks", "instance_name": "concat(${ok})"},
    )
    imported = xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert imported.notes == [
        "settings sheet: 'instance_name' is not used.",
        "choices sheet, 'media': images, audio and video are not shown (row 2).",
        "survey sheet, appearance 'minimal': not used (row 2).",
        "survey sheet, 'guidance_hint': guidance hints are not shown (row 4).",
    ]
    # The form's own words for a missing answer are kept.
    survey = imported.survey
    assert dict(survey.questions.values_list("name", "required_message")) == {
        "ok": {"en": "Please answer"},
        "n": {},
        "why": {"en": "Say why"},
    }
    # The group's condition now applies to each of its questions.
    assert survey.title == "Checks"
    assert dict(survey.questions.values_list("name", "relevant")) == {
        "ok": "",
        "n": "${ok} = 'yes'",
        "why": "(${ok} = 'yes') and (${n} > 2)",
    }


def test_a_translated_form_title_and_a_missing_one() -> None:
    head = ["type", "name", "label::English (en)", "label::French (fr)"]
    rows = [["integer", "n", "How many?", "Combien ?"]]
    titled = workbook(
        rows,
        head,
        settings={"form_title": "Counts", "form_title::French (fr)": "Comptes"},
    )
    survey = xlsform.import_xlsform(data=titled, community=CommunityFactory(), actor=None)
    assert (survey.title, survey.texts) == ("Counts", {"fr": {"title": "Comptes"}})
    untitled = workbook(rows, head)
    survey = xlsform.import_xlsform(data=untitled, community=CommunityFactory(), actor=None)
    assert survey.title == "Imported survey"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            ["begin_repeat", "kids", "Children", "", ""],
            "survey sheet, row 2: repeats are not supported: each question is asked once.",
        ),
        (
            ["calculate", "total", "", "", "1 + 1"],
            "survey sheet, row 2: the question type 'calculate' is not supported: calculated"
            " values are not supported.",
        ),
        (
            ["select_one_from_file people.csv", "who", "Who?", "", ""],
            "survey sheet, row 2: the question type 'select_one_from_file people.csv' is not"
            " supported: choices from a file are not supported; put the choices on the choices"
            " sheet.",
        ),
        (
            ["select_one yn", "pick", "Pick", "yes = 'yes'", ""],
            "survey sheet, row 2: the 'choice_filter' column: cascading choices (choice_filter)"
            " are not supported; ask separate questions and show each with 'relevant'.",
        ),
        (
            ["select_one yn or_other", "pick", "Pick", "", ""],
            "survey sheet, row 2: 'or_other' (an 'Other' choice with a box to write in) is not"
            " supported. Instead, add an 'Other' choice named other to the list, and a text"
            " question shown only to people who chose it (relevant: selected(${pick},"
            " 'other')).",
        ),
        (
            ["geopoint", "where", "Where?", "", ""],
            "survey sheet, row 2: the question type 'geopoint' is not supported.",
        ),
    ],
)
def test_unsupported_features_are_refused_with_sheet_row_and_reason(
    row: list[str], problem: str
) -> None:
    data = workbook(
        [["integer", "first", "First", "", ""], row],
        ["type", "name", "label", "choice_filter", "calculation"],
    )
    # The row under test is the second question: its row number is 3.
    problem = problem.replace("row 2", "row 3")
    with pytest.raises(xlsform.XLSFormError) as refused:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert problem in refused.value.problems, refused.value.problems
    assert not Survey.objects.exists()
    assert not Question.objects.exists()


def test_a_group_condition_on_a_later_question_is_refused() -> None:
    data = workbook(
        [
            ["begin_group", "g", "G", "${later} > 1"],
            ["integer", "later", "Later", ""],
            ["end_group", "", "", ""],
        ],
        ["type", "name", "label", "relevant"],
    )
    with pytest.raises(xlsform.XLSFormError) as refused:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert refused.value.problems == [
        "survey sheet, row 2: relevant refers to ${later}, which is not an earlier question."
    ]
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    ("begin", "end"),
    [("begin_group", "end_group"), ("begin group", "end group"), ("begin group", "end_group")],
)
def test_a_group_spelt_with_a_space_or_an_underscore_becomes_a_page(begin: str, end: str) -> None:
    # pyxform reads "begin group" as "begin_group"; so does Sayso.
    data = workbook(
        [
            ["integer", "age", "Age", ""],
            [begin, "work", "Your work", "${age} > 16"],
            ["text", "job", "Job title", ""],
            ["select_one yn", "night", "Nights?", ""],
            [end, "", "", ""],
            ["text", "more", "Anything else?", ""],
        ],
        ["type", "name", "label", "relevant"],
    )
    survey = xlsform.import_form(data=data, community=CommunityFactory(), actor=None).survey
    pages = [
        (section.title, [(q.name, q.relevant) for q in section.questions.all()])
        for section in survey.sections.all()
    ]
    assert pages == [
        ({}, [("age", "")]),
        ({"en": "Your work"}, [("job", "${age} > 16"), ("night", "${age} > 16")]),
        ({}, [("more", "")]),
    ]


@pytest.mark.parametrize(
    "begin", ["begin_repeat", "begin repeat", "begin_loop", "begin looped group"]
)
def test_a_repeat_spelt_either_way_is_refused_as_a_repeat(begin: str) -> None:
    end = "end repeat" if " " in begin else "end_repeat"
    data = workbook(
        [[begin, "kids", "Children"], ["integer", "age", "Age"], [end, "", ""]],
        ["type", "name", "label"],
    )
    with pytest.raises(xlsform.XLSFormError) as refused:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    repeat = "repeats are not supported: each question is asked once."
    assert refused.value.problems == [
        f"survey sheet, row 2: {repeat}",
        f"survey sheet, row 4: {repeat}",
    ]
    assert not Survey.objects.exists()
    assert not Question.objects.exists()


def test_groups_spelt_with_a_space_inside_each_other_are_refused() -> None:
    data = workbook(
        [
            ["begin group", "outer", "Outer"],
            ["begin group", "inner", "Inner"],
            ["integer", "age", "Age"],
            ["end group", "", ""],
            ["end group", "", ""],
        ],
        ["type", "name", "label"],
    )
    with pytest.raises(xlsform.XLSFormError) as refused:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert refused.value.problems == [
        "survey sheet, row 3: groups inside groups are not supported; use one level of"
        " groups as pages."
    ]
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    ("single", "multiple"),
    [
        ("select_one yn", "select_multiple yn"),
        ("select one yn", "select all that apply yn"),
        ("select one  yn", "select all that apply  yn"),
    ],
)
def test_choice_types_spelt_as_pyxform_allows_are_read(single: str, multiple: str) -> None:
    # pyxform reads "select one yn" as "select_one yn", "select all that apply" as
    # "select_multiple"; the reviewer's form was refused as an unknown type.
    data = workbook(
        [[single, "night", "Nights?"], [multiple, "days", "Which days?"]],
        ["type", "name", "label"],
    )
    survey = xlsform.import_form(data=data, community=CommunityFactory(), actor=None).survey
    found = [(q.name, q.type, [c.name for c in q.choices.all()]) for q in survey.questions.all()]
    assert found == [
        ("night", Question.Type.SINGLE, ["yes", "no"]),
        ("days", Question.Type.MULTIPLE, ["yes", "no"]),
    ]


def test_choices_from_a_file_spelt_with_spaces_are_refused_as_such() -> None:
    data = workbook([["select one from file sites.csv", "site", "Site"]], ["type", "name", "label"])
    with pytest.raises(xlsform.XLSFormError) as refused:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert any("choices from a file are not supported" in p for p in refused.value.problems)
    assert not Survey.objects.exists()


def test_select_multiple_spelt_with_a_space_is_refused_not_dropped() -> None:
    # pyxform does not read "select multiple": it would drop the question silently.
    data = workbook([["select multiple yn", "days", "Which days?"]], ["type", "name", "label"])
    with pytest.raises(xlsform.XLSFormError) as refused:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert refused.value.problems == [
        "survey sheet, row 2: the question type 'select multiple yn' is not supported."
    ]
    assert not Survey.objects.exists()
