# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""XLSForm languages: a column named by a language's name ("label::Welsh",
"label::Cymraeg") or in ODK's way ("label::Welsh (cy)") is kept under the language's
code, never under its name; a language whose code cannot be told refuses the form,
naming the sheet, the column and what to write, and creates nothing; the export
writes "label::Welsh (cy)", which pyxform converts without a warning and the import
reads back to the same codes."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from sayso.core.models import AuditEvent
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import xlsform
from sayso.surveys.models import Choice, Question, Section, Survey

pytestmark = pytest.mark.django_db


def workbook(
    languages: list[str],
    *,
    hint_languages: list[str] | None = None,
    choice_languages: list[str] | None = None,
    settings: dict[str, str] | None = None,
    plain_label: bool = False,
) -> bytes:
    """One page with a choice question, its label and hint in each language (named as
    given), its choices' labels in each of `choice_languages` (the same by default)."""
    hints = languages if hint_languages is None else hint_languages
    listed = languages if choice_languages is None else choice_languages
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    plain = ["label"] if plain_label else []
    sheet.append(
        [
            "type",
            "name",
            *plain,
            *(f"label::{language}" for language in languages),
            *(f"hint::{language}" for language in hints),
        ]
    )
    sheet.append(
        [
            "select_one yn",
            "ok",
            *(["Is it OK?"] if plain_label else []),
            *(f"OK in {language}?" for language in languages),
            *(f"Hint in {language}" for language in hints),
        ]
    )
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", *(f"label::{language}" for language in listed)])
    choices.append(["yn", "yes", *(f"Yes in {language}" for language in listed)])
    choices.append(["yn", "no", *(f"No in {language}" for language in listed)])
    if settings is not None:
        sheet = book.create_sheet("settings")
        sheet.append(list(settings))
        sheet.append(list(settings.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return (
        Survey.objects.count(),
        Section.objects.count(),
        Question.objects.count(),
        Choice.objects.count(),
        AuditEvent.objects.count(),
    )


def refused(data: bytes) -> list[str]:
    """The problems an import of `data` is refused for; asserts nothing was created."""
    community = CommunityFactory()
    before = counts()
    with pytest.raises(xlsform.XLSFormError) as caught:
        xlsform.import_form(data=data, community=community, actor=None)
    assert counts() == before
    return caught.value.problems


# --------------------------------------------------------------------------- import


@pytest.mark.parametrize(
    ("columns", "codes"),
    [
        (["English", "Welsh"], ["en", "cy"]),  # names in English
        (["English", "Cymraeg"], ["en", "cy"]),  # the language's own name
        (["English (en)", "Welsh (cy)"], ["en", "cy"]),  # ODK's way
        (["Welsh (cy)", "English (en)"], ["cy", "en"]),  # the first column leads
        (["english (EN)", "Cymraeg (CY)"], ["en", "cy"]),  # capitals or not
        (["en", "cy"], ["en", "cy"]),  # codes alone
        (["English", "Portuguese (pt_BR)"], ["en", "pt-br"]),  # a region, as Kobo writes it
        (["English", "Brazilian Portuguese"], ["en", "pt-br"]),
        (["English", "Norwegian Bokmål"], ["en", "nb"]),  # Django writes "Bokmal"
        (["English", "Welsh (welsh)"], ["en", "cy"]),  # a name where the code goes
    ],
)
def test_a_language_named_in_a_column_is_kept_under_its_code(
    columns: list[str], codes: list[str]
) -> None:
    survey = xlsform.import_xlsform(
        data=workbook(columns), community=CommunityFactory(), actor=None
    )
    assert survey.languages == codes
    question = survey.questions.get()
    assert question.label == {
        code: f"OK in {column}?" for code, column in zip(codes, columns, strict=True)
    }
    assert question.hint == {
        code: f"Hint in {column}" for code, column in zip(codes, columns, strict=True)
    }
    assert [c.label for c in question.choices.all()] == [
        {code: f"{word} in {column}" for code, column in zip(codes, columns, strict=True)}
        for word in ("Yes", "No")
    ]


def test_the_default_language_setting_named_by_name_leads_with_its_code() -> None:
    """A plain "label" column is in the settings' default_language ("English"), whose
    code leads; a name in the settings is read like a name in a column."""
    data = workbook(
        ["Cymraeg"],
        hint_languages=[],
        choice_languages=["English", "Cymraeg"],
        settings={"form_title": "Gwaith", "default_language": "English"},
        plain_label=True,
    )
    survey = xlsform.import_xlsform(data=data, community=CommunityFactory(), actor=None)
    assert survey.languages == ["en", "cy"]
    question = survey.questions.get()
    assert question.label == {"en": "Is it OK?", "cy": "OK in Cymraeg?"}
    assert [c.label for c in question.choices.all()] == [
        {"en": "Yes in English", "cy": "Yes in Cymraeg"},
        {"en": "No in English", "cy": "No in Cymraeg"},
    ]


def test_an_unknown_language_refuses_the_form_naming_sheet_column_and_what_to_write() -> None:
    problems = refused(workbook(["English", "Klingon"]))
    assert problems == [
        "survey sheet, column 'label::Klingon': Sayso cannot tell which language this is."
        " Put the language's code in brackets after its name, like 'label::Welsh (cy)',"
        " and import the file again.",
        "survey sheet, column 'hint::Klingon': Sayso cannot tell which language this is."
        " Put the language's code in brackets after its name, like 'hint::Welsh (cy)',"
        " and import the file again.",
        "choices sheet, column 'label::Klingon': Sayso cannot tell which language this"
        " is. Put the language's code in brackets after its name, like"
        " 'label::Welsh (cy)', and import the file again.",
    ]


def test_a_code_in_brackets_makes_any_language_importable() -> None:
    """What the refusal asks for works: "Klingon (tlh)" is kept as tlh."""
    survey = xlsform.import_xlsform(
        data=workbook(["English", "Klingon (tlh)"]), community=CommunityFactory(), actor=None
    )
    assert survey.languages == ["en", "tlh"]
    assert survey.questions.get().label == {"en": "OK in English?", "tlh": "OK in Klingon (tlh)?"}


def test_an_unknown_default_language_refuses_the_form() -> None:
    data = workbook(
        ["English (en)"],
        settings={"form_title": "Work", "default_language": "Klingon"},
        plain_label=True,
    )
    assert refused(data) == [
        "settings sheet, default_language 'Klingon': Sayso cannot tell which language"
        " this is. Write it with the language's code in brackets after its name, like"
        " 'English (en)', as in the names of the columns in that language."
    ]


def test_a_translated_title_in_an_unknown_language_refuses_the_form() -> None:
    data = workbook(["English (en)"], settings={"form_title": "Work", "form_title::Elvish": "X"})
    assert refused(data) == [
        "settings sheet, column 'form_title::Elvish': Sayso cannot tell which language"
        " this is. Put the language's code in brackets after its name, like"
        " 'form_title::Welsh (cy)', and import the file again."
    ]


def test_two_columns_for_one_language_refuse_the_form() -> None:
    """ "Welsh" and "Cymraeg (cy)" are one language: one text would silently replace
    the other."""
    problems = refused(workbook(["English", "Welsh", "Cymraeg (cy)"], hint_languages=["en"]))
    assert problems == [
        "survey sheet: the columns 'label::Welsh' and 'label::Cymraeg (cy)' are both in"
        " the language cy. Keep one of them.",
        "choices sheet: the columns 'label::Welsh' and 'label::Cymraeg (cy)' are both in"
        " the language cy. Keep one of them.",
    ]


def test_columns_left_out_need_no_known_language() -> None:
    """A column the import leaves out (guidance hints) is not refused for its language."""
    book = load_workbook(io.BytesIO(workbook(["English (en)"])))
    book["survey"].cell(row=1, column=5, value="guidance_hint::Klingon")
    book["survey"].cell(row=2, column=5, value="Only for the enumerator")
    out = io.BytesIO()
    book.save(out)
    imported = xlsform.import_form(data=out.getvalue(), community=CommunityFactory(), actor=None)
    assert imported.survey.languages == ["en"]
    assert imported.notes == [
        "survey sheet, 'guidance_hint': guidance hints are not shown (row 2)."
    ]


def test_the_import_page_shows_the_refusal_and_creates_nothing() -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    upload = io.BytesIO(workbook(["English"], hint_languages=[], choice_languages=["Klingon"]))
    upload.name = "survey.xlsx"
    before = counts()
    page = client.post(reverse("surveys:import", kwargs={"slug": community.slug}), {"file": upload})
    assert page.status_code == 200
    assert counts() == before
    assert page.context["form"].errors["file"] == [
        "choices sheet, column 'label::Klingon': Sayso cannot tell which language this"
        " is. Put the language's code in brackets after its name, like"
        " 'label::Welsh (cy)', and import the file again."
    ]
    assert "choices sheet, column &#x27;label::Klingon&#x27;" in page.content.decode()


# --------------------------------------------------------------------------- export


def survey_in(languages: list[str], **texts: Any) -> Survey:
    community = CommunityFactory()
    survey = Survey.objects.create(community=community, title="Work", languages=languages, **texts)
    section = Section.objects.create(survey=survey, order=1, title={languages[0]: "About"})
    question = Question.objects.create(
        survey=survey,
        section=section,
        order=1,
        name="shift",
        type=Question.Type.SINGLE,
        label={code: f"Shift ({code})" for code in languages},
        hint={languages[1]: f"Hint ({languages[1]})"},
    )
    Choice.objects.create(
        question=question, order=1, name="day", label={code: f"Day ({code})" for code in languages}
    )
    return survey


def converted(data: bytes) -> tuple[str, list[str]]:
    from pyxform.xls2xform import convert

    result = convert(xlsform=data, file_type=".xlsx")
    return str(result.xform), [str(w) for w in result.warnings]


def header(data: bytes, sheet: str = "survey") -> list[str]:
    book = load_workbook(io.BytesIO(data))
    return [str(cell.value) for cell in book[sheet][1] if cell.value is not None]


def test_the_export_names_each_language_with_its_code_and_pyxform_accepts_it() -> None:
    survey = survey_in(["en", "cy"])
    data = xlsform.export_xlsform(survey)
    head = header(data)
    assert "label::English (en)" in head
    assert "label::Welsh (cy)" in head
    assert "hint::Welsh (cy)" in head
    assert header(data, "choices") == [
        "list_name",
        "name",
        "label::English (en)",
        "label::Welsh (cy)",
    ]
    book = load_workbook(io.BytesIO(data))
    settings = [cell.value for cell in book["settings"][2]]
    assert settings[2] == "English (en)"  # default_language
    xform, warnings = converted(data)
    assert '<translation lang="English (en)" default="true()">' in xform
    assert '<translation lang="Welsh (cy)">' in xform
    # pyxform checks the code in brackets: these are codes it knows.
    assert not [w for w in warnings if "language" in w.lower()], warnings
    again = xlsform.import_xlsform(data=data, community=survey.community, actor=None)
    assert again.languages == ["en", "cy"]
    question = again.questions.get()
    assert question.label == {"en": "Shift (en)", "cy": "Shift (cy)"}
    assert question.hint == {"cy": "Hint (cy)"}
    assert [c.label for c in question.choices.all()] == [{"en": "Day (en)", "cy": "Day (cy)"}]


def test_a_survey_kept_under_language_names_exports_their_codes() -> None:
    """An older import kept "welsh": the export writes "Welsh (cy)", so importing it
    again gives the code."""
    survey = survey_in(["english", "welsh"])
    data = xlsform.export_xlsform(survey)
    assert {"label::English (en)", "label::Welsh (cy)"} <= set(header(data))
    _xform, warnings = converted(data)
    assert not [w for w in warnings if "language" in w.lower()], warnings
    again = xlsform.import_xlsform(data=data, community=survey.community, actor=None)
    assert again.languages == ["en", "cy"]
    assert again.questions.get().label == {"en": "Shift (english)", "cy": "Shift (welsh)"}


def single_colon_form(language: str) -> bytes:
    """An older XLSForm writing "label:Welsh" (one colon), which pyxform still reads."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label:English", f"label:{language}", "jr:constraintMsg"])
    sheet.append(["integer", "n", "How many?", "Faint?", "Too many"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_language_after_a_single_colon_is_read_the_same_way() -> None:
    survey = xlsform.import_xlsform(
        data=single_colon_form("Cymraeg"), community=CommunityFactory(), actor=None
    )
    assert survey.languages == ["en", "cy"]
    assert survey.questions.get().label == {"en": "How many?", "cy": "Faint?"}
    assert refused(single_colon_form("Klingon")) == [
        "survey sheet, column 'label:Klingon': Sayso cannot tell which language this is."
        " Put the language's code in brackets after its name, like 'label::Welsh (cy)',"
        " and import the file again."
    ]
