# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""XLSForm import keeps texts as the builder does: a text longer than the builder's
form takes for the same place is refused by sheet, row, column and limit, with nothing
created (an imported question could not be saved again unchanged); direction controls
are taken out of what people read, as the builder and respondents' answers have them
taken out. And 'or_other' is refused with its own reason and a way to do without it."""

from __future__ import annotations

import html
import io
import zipfile
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import Workbook

from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import xlsform
from sayso.surveys.forms import QuestionForm, SectionForm, SurveyForm, question_initial
from sayso.surveys.models import Choice, Question, Section, Survey
from sayso.surveys.tests.factories import organiser_client, survey_url

pytestmark = pytest.mark.django_db

RLO = "\u202e"  # right-to-left override: what follows it shows backwards
EN = "label::English (en)"
HEAD = ["type", "name", EN, "label::Welsh (cy)", "hint::English (en)"]


def workbook(
    rows: list[list[Any]],
    head: list[str] = HEAD,
    *,
    choices: list[list[str]] | None = None,
    settings: dict[str, str] | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(head)
    for row in rows:
        sheet.append(row)
    listed = book.create_sheet("choices")
    listed.append(["list_name", "name", "label::English (en)", "label::Welsh (cy)"])
    for choice in choices or [["yn", "yes", "Yes", "Ie"], ["yn", "no", "No", "Na"]]:
        listed.append(choice)
    if settings is not None:
        sheet = book.create_sheet("settings")
        sheet.append(list(settings))
        sheet.append(list(settings.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(data: bytes) -> list[str]:
    """The problems an import names for `data`: the same from inspect_workbook as from
    import_form, which creates nothing."""
    inspected = xlsform.inspect_workbook(data).problems
    community = CommunityFactory()
    with pytest.raises(xlsform.XLSFormError) as caught:
        xlsform.import_form(data=data, community=community, actor=None)
    assert not Survey.objects.filter(community=community).exists()
    assert not Question.objects.filter(survey__community=community).exists()
    assert not Section.objects.filter(survey__community=community).exists()
    assert caught.value.problems == inspected
    return caught.value.problems


def organiser_posts(data: bytes) -> tuple[str, int]:
    """An organiser uploads `data` on the import page: the page's text, and how many
    surveys there are afterwards."""
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    upload = io.BytesIO(data)
    upload.name = "form.xlsx"
    response = client.post(
        reverse("surveys:import", kwargs={"slug": community.slug}), {"file": upload}
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode()), Survey.objects.count()


def reviewer_form() -> bytes:
    """The reviewer's form: one label of 950 characters of combining marks, emoji and a
    right-to-left override, one of 100,000 x (a cell holds at most 32,767)."""
    marks = (RLO + "e\u0301\u0308 👩🏽‍🚒" * 200)[:950]
    assert len(marks) == 950
    return workbook(
        [
            ["text", "depot", marks, "", ""],
            ["text", "shift", "x" * 100_000, "", ""],
            ["integer", "years", "How many years?", "", ""],
        ]
    )


def test_the_reviewers_over_long_labels_are_refused_by_row_column_and_limit() -> None:
    problems = refused(reviewer_form())
    assert problems == [
        # Counted as the builder counts it: without the override, which is not kept.
        "survey sheet, row 2, label::English (en): 949 characters; a question can have at"
        " most 500.",
        "survey sheet, row 3, label::English (en): 32,767 characters; a question can have"
        " at most 500.",
    ]


def test_the_import_page_names_the_over_long_labels_and_creates_nothing() -> None:
    page, surveys = organiser_posts(reviewer_form())
    assert surveys == 0
    assert not Question.objects.exists()
    assert (
        "survey sheet, row 3, label::English (en): 32,767 characters; a question can have"
        " at most 500." in page
    )
    assert "survey sheet, row 2, label::English (en): 949 characters" in page


# Each place an import fills, past the builder's limit by one character: the row, the
# column and what the message says the text is.
OVER = [
    (["text", "q", "Q", "", "h" * 301], "hint::English (en)", "a hint can have at most 300"),
    (["text", "q", "Q", "C" * 501, ""], "label::Welsh (cy)", "a question can have at most 500"),
    (["note", "n", "N" * 501, "", ""], EN, "a note can have at most 500"),
    (["text", "q" * 61, "Q", "", ""], "name", "a short name can have at most 60"),
    (["begin_group", "g", "P" * 201, "", ""], EN, "a page's title can have at most 200"),
    (["note", "survey_title", "T" * 201, "", ""], EN, "a survey's title can have at most 200"),
]


@pytest.mark.parametrize(("row", "column", "words"), OVER)
def test_each_text_past_the_builders_limit_is_refused(
    row: list[str], column: str, words: str
) -> None:
    rows = [row, ["end_group", "", "", "", ""]] if row[0] == "begin_group" else [row]
    rows.append(["integer", "years", "How many years?", "", ""])
    problems = refused(workbook(rows))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"survey sheet, row 2, {column}: "), problems
    assert words in problems[0], problems


HEAD_MORE = [
    "type",
    "name",
    EN,
    "required_message::English (en)",
    "constraint_message::English (en)",
    "relevant",
    "constraint",
]


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        (
            {"required_message::English (en)": "m" * 301},
            "required_message::English (en)",
            "the message shown when an answer is missing can have at most 300",
        ),
        (
            {"constraint_message::English (en)": "m" * 301, "constraint": ". > 1"},
            "constraint_message::English (en)",
            "the message shown when an answer is not accepted can have at most 300",
        ),
        (
            {"relevant": "${years} > 1" + " or ${years} > 1" * 40},
            "relevant",
            "a rule for who is asked (show only if) can have at most 500",
        ),
        (
            {"constraint": ". > 1" + " or . > 1" * 60},
            "constraint",
            "a rule the answer must satisfy can have at most 500",
        ),
    ],
)
def test_messages_and_rules_past_the_builders_limit_are_refused(
    cells: dict[str, str], column: str, words: str
) -> None:
    row = ["integer", "more", "More?", "", "", "", ""]
    for name, value in cells.items():
        row[HEAD_MORE.index(name)] = value
    data = workbook([["integer", "years", "Years?", "", "", "", ""], row], HEAD_MORE)
    problems = refused(data)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"survey sheet, row 3, {column}: "), problems
    assert words in problems[0], problems


def test_texts_are_counted_as_pyxform_passes_them_on_with_runs_of_spaces_made_one() -> None:
    spaced = "word  " * 100  # 600 characters in the cell, 499 once kept
    survey = xlsform.import_form(
        data=workbook([["text", "q", spaced, "", ""]]), community=CommunityFactory(), actor=None
    ).survey
    assert survey.questions.get().label == {"en": ("word " * 100).strip()}
    # Unless the form asks pyxform to keep them: then all 600 count, and are refused.
    kept = workbook([["text", "q", spaced, "", ""]], settings={"clean_text_values": "no"})
    assert refused(kept) == [
        "survey sheet, row 2, label::English (en): 598 characters; a question can have at most 500."
    ]


def test_a_form_title_past_the_builders_limit_is_refused_not_cut() -> None:
    data = workbook(
        [["integer", "years", "Years?", "", ""]],
        settings={"form_title": "T" * 201, "form_title::Welsh (cy)": "Teitl"},
    )
    assert refused(data) == [
        "settings sheet, row 2, form_title: 201 characters; a survey's title can have at most 200."
    ]


def test_a_choice_name_past_the_builders_limit_is_refused_in_a_list_a_question_takes() -> None:
    long_name = "n" * 61
    choices = [["yn", "yes", "Yes", ""], ["yn", long_name, "No", ""]]
    taken = workbook([["select_one yn", "ok", "OK?", "", ""]], choices=choices)
    assert refused(taken) == [
        "choices sheet, row 3, name: 61 characters; a choice's short name can have at most 60."
    ]
    # A list no question takes is not imported: nothing in it is refused.
    unused = [["yn", "yes", "Yes", ""], ["yn", "no", "No", ""], ["spare", long_name, "B", ""]]
    data = workbook([["select_one yn", "ok", "OK?", "", ""]], choices=unused)
    survey = xlsform.import_form(data=data, community=CommunityFactory(), actor=None).survey
    assert [c.name for c in Choice.objects.filter(question__survey=survey)] == ["yes", "no"]


def test_a_question_rule_joined_with_its_groups_past_the_limit_is_refused() -> None:
    group_rule = "${years} > 1" + " and ${years} < 90" * 20  # 372 characters
    own_rule = "${years} != 5" + " and ${years} != 6" * 7  # 139 characters
    head = ["type", "name", EN, "relevant"]
    rows = [
        ["integer", "years", "Years?", ""],
        ["begin_group", "g", "Page", group_rule],
        ["integer", "alone", "Alone?", ""],
        ["integer", "more", "More?", own_rule],
        ["end_group", "", "", ""],
    ]
    problems = refused(workbook(rows, head))
    joined = len(f"({group_rule}) and ({own_rule})")
    assert problems == [
        f"survey sheet, row 5, relevant: {joined} characters with the condition of the group"
        " it is in (row 3); a rule for who is asked (show only if) can have at most 500."
    ]
    # A question's own rule too long already is said to be, with or without the group's.
    rows[3][3] = "${years} != 5" + " and ${years} != 6" * 30  # 553 characters
    assert refused(workbook(rows, head)) == [
        "survey sheet, row 5, relevant: 553 characters; a rule for who is asked (show only"
        " if) can have at most 500."
    ]


def padded_rule(clause: str, size: int) -> str:
    """`clause` (ending in a digit) joined with `and` as often as fits in `size`
    characters, the last one's number padded with zeros to make it `size` exactly."""
    text = " and ".join([clause] * ((size + 5) // (len(clause) + 5)))
    return text + "0" * (size - len(text))


RELEVANT_500 = padded_rule("${years} != 1", 500)
CONSTRAINT_500 = padded_rule(". != 1", 500)


def at_limit_form() -> bytes:
    """Every text an import fills, each at the builder's limit once its right-to-left
    override is taken out."""
    head = [
        "type",
        "name",
        EN,
        "label::Welsh (cy)",
        "hint::English (en)",
        "required_message::English (en)",
        "constraint_message::English (en)",
        "relevant",
        "constraint",
        "required",
    ]
    blank = ["" for _column in head]

    def text(size: int, letter: str) -> str:
        return RLO + letter * size

    rows = [
        ["note", "survey_title", text(200, "T"), "Teitl", *blank[4:]],
        ["note", "welcome", text(2_000, "W"), "", *blank[4:]],
        ["integer", "years", "Years?", *blank[3:6], "Not that", "", CONSTRAINT_500, ""],
        ["begin_group", "page", text(200, "P"), text(200, "p"), *blank[4:]],
        [
            "select_one yn",
            "q" * 60,
            text(500, "L"),
            text(500, "l"),
            text(300, "H"),
            text(300, "R"),
            text(300, "C"),
            RELEVANT_500,
            ". != 'no'",
            "yes",
        ],
        ["end_group", *blank[1:]],
    ]
    return workbook(
        rows, head, choices=[["yn", "yes", text(600, "Y"), ""], ["yn", "no", "No", "Na"]]
    )


def test_texts_at_the_builders_limits_import_without_direction_controls() -> None:
    imported = xlsform.import_form(data=at_limit_form(), community=CommunityFactory(), actor=None)
    survey = imported.survey
    question = survey.questions.get(type=Question.Type.SINGLE)
    assert (len(RELEVANT_500), len(CONSTRAINT_500)) == (500, 500)
    assert question.relevant == RELEVANT_500
    assert survey.questions.get(name="years").constraint == CONSTRAINT_500
    assert question.label == {"en": "L" * 500, "cy": "l" * 500}
    assert question.hint == {"en": "H" * 300}
    assert question.required_message == {"en": "R" * 300}
    assert question.constraint_message == {"en": "C" * 300}
    assert [c.label for c in question.choices.all()] == [
        {"en": "Y" * 600},
        {"en": "No", "cy": "Na"},
    ]
    section = Section.objects.get(survey=survey, questions=question)
    assert section.title == {"en": "P" * 200, "cy": "p" * 200}
    assert (survey.title, survey.texts) == ("T" * 200, {"cy": {"title": "Teitl"}})
    assert survey.welcome == "W" * 2_000


def test_an_imported_question_at_the_limits_saves_unchanged_on_its_edit_page() -> None:
    """The reviewer's second step: open the imported question's edit page and save it
    without changing anything."""
    community = CommunityFactory()
    survey = xlsform.import_form(data=at_limit_form(), community=community, actor=None).survey
    client = organiser_client(survey)
    for question in survey.questions.filter(name__in=["q" * 60, "years"]):
        before = (question.label, question.hint, question.relevant, question.constraint)
        data = {k: v for k, v in question_initial(question, "en").items() if v not in (False, None)}
        response = client.post(survey_url("question-edit", survey, question=question.pk), data)
        assert response.status_code == 302, response.context["form"].errors
        question.refresh_from_db()
        assert (question.label, question.hint, question.relevant, question.constraint) == before


# ------------------------------------------------------- the builder takes them out too


def test_the_builders_forms_take_direction_controls_out_of_what_people_read() -> None:
    community = CommunityFactory()
    survey = Survey.objects.create(community=community, title="S", languages=["en"])
    question = Question(survey=survey, name="q", type=Question.Type.SINGLE)
    form = QuestionForm(
        {
            "label": f"Which {RLO}shift?",
            "name": "q",
            "type": Question.Type.SINGLE,
            "hint": f"{RLO}Pick one",
            "choices": f"day = Day{RLO}\nnight = Night",
            "required_message": f"Answer{RLO}",
            "constraint": ". != 'day'",
            "constraint_message": f"{RLO}Not day",
        },
        question=question,
        language="en",
    )
    assert form.is_valid(), form.errors
    saved = form.updated_question()
    assert (saved.label, saved.hint) == ({"en": "Which shift?"}, {"en": "Pick one"})
    assert saved.required_message == {"en": "Answer"}
    assert saved.constraint_message == {"en": "Not day"}
    assert form.choices_given == [("day", "Day"), ("night", "Night")]
    # Counted without them, as an import counts: 500 letters and an override fit.
    at_limit = QuestionForm(
        {"label": RLO + "L" * 500, "name": "q", "type": Question.Type.SHORT_TEXT},
        question=question,
        language="en",
    )
    assert at_limit.is_valid(), at_limit.errors
    section = SectionForm({"title": f"About{RLO} you"})
    assert section.is_valid()
    assert section.cleaned_data["title"] == "About you"
    survey_form = SurveyForm(
        {
            "title": f"{RLO}Depot",
            "welcome": f"Hello{RLO}",
            "privacy_notice": f"Only{RLO} us",
            "distribution": "link",
            "languages_text": "en",
        },
        instance=survey,
    )
    assert survey_form.is_valid(), survey_form.errors
    assert (survey_form.cleaned_data["title"], survey_form.cleaned_data["welcome"]) == (
        "Depot",
        "Hello",
    )
    assert survey_form.cleaned_data["privacy_notice"] == "Only us"


def test_the_translations_page_takes_direction_controls_out_and_refuses_nul() -> None:
    community = CommunityFactory()
    survey = Survey.objects.create(community=community, title="Depot", languages=["en", "cy"])
    section = Section.objects.create(survey=survey, order=1, title={"en": "Page"})
    question = Question.objects.create(
        survey=survey, section=section, order=1, name="q", type="text", label={"en": "Q"}
    )
    client = organiser_client(survey)
    url = survey_url("translations", survey, language="cy")
    key = f"question.{question.pk}.label"
    refused_page = client.post(url, {key: "Cwestiwn\x00"})
    assert refused_page.status_code == 200
    assert "a character that cannot be kept" in html.unescape(refused_page.content.decode())
    question.refresh_from_db()
    assert question.label == {"en": "Q"}
    assert client.post(url, {key: f"{RLO}Cwestiwn"}).status_code == 302
    question.refresh_from_db()
    assert question.label == {"en": "Q", "cy": "Cwestiwn"}


def test_a_null_character_in_a_cell_is_refused_and_nothing_is_created() -> None:
    """No .xlsx cell can hold it (XML cannot): such a file is refused as not a
    spreadsheet, before anything is read."""
    good = workbook([["text", "depot", "Which depot?", "", ""]])
    source = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(out, "w") as made:
        for item in source.infolist():
            part = source.read(item.filename)
            if item.filename == sheet:
                part = part.replace(b"Which depot?", b"Which&#0; depot?")
            made.writestr(item, part)
    assert b"&#0;" in zipfile.ZipFile(out).read(sheet)
    assert refused(out.getvalue()) == [
        "The file is not an .xlsx spreadsheet. Save it as Excel (.xlsx) and try again."
    ]


# ------------------------------------------------------- what stands on its own


def test_a_rule_long_only_with_the_marks_for_options_ticked_alone_still_imports() -> None:
    """A multiple choice question's constraint, as an export writes it, holds a clause
    for each option ticked on its own, and a message for them: neither is kept as such
    (the option is marked), so neither counts against the builder's limits."""
    own = " and ".join(f". != 'x{n:03}'" for n in range(40))[:500]  # the builder's 500
    own = own[: own.rfind(" and ")]
    labels = [f"Option {n}: " + "w" * 60 for n in range(6)]
    names = [f"o{n}" for n in range(6)]
    constraint = xlsform.with_exclusive(own, names[1:])
    message = xlsform.exclusive_message([{"en": label} for label in labels[1:]], "en")
    assert len(constraint) > 500
    assert len(message) > 300
    head = ["type", "name", EN, "constraint", "constraint_message::English (en)"]
    data = workbook(
        [["select_multiple opts", "which", "Which?", constraint, message]],
        head,
        choices=[["opts", n, label, ""] for n, label in zip(names, labels, strict=True)],
    )
    survey = xlsform.import_form(data=data, community=CommunityFactory(), actor=None).survey
    question = survey.questions.get()
    assert question.constraint == own.strip()
    assert question.constraint_message == {}
    assert [c.exclusive for c in question.choices.all()] == [False] + [True] * 5
    # A message of the form's own, past the limit, is kept as written: refused.
    data = workbook(
        [["select_multiple opts", "which", "Which?", constraint, "Tick one. " * 31]],
        head,
        choices=[["opts", n, label, ""] for n, label in zip(names, labels, strict=True)],
    )
    with pytest.raises(xlsform.XLSFormError) as caught:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert caught.value.problems == [
        "survey sheet, row 2, constraint_message::English (en): 309 characters; the message"
        " shown when an answer is not accepted can have at most 300."
    ]
    assert Survey.objects.count() == 1  # the first import's only
    assert not Question.objects.exclude(survey=survey).exists()


# ------------------------------------------------------------------ or_other


def test_or_other_is_refused_with_its_own_reason_and_a_way_without_it() -> None:
    data = workbook([["select_one yn or_other", "shift", "Which shift?", "", ""]])
    problems = refused(data)
    assert problems == [
        "survey sheet, row 2: 'or_other' (an 'Other' choice with a box to write in) is not"
        " supported. Instead, add an 'Other' choice named other to the list, and a text"
        " question shown only to people who chose it (relevant: selected(${shift},"
        " 'other'))."
    ]
    assert "file" not in problems[0]
    page, surveys = organiser_posts(data)
    assert surveys == 0
    assert "selected(${shift}, 'other')" in page


def test_other_words_after_a_list_name_are_refused_without_naming_files() -> None:
    problems = refused(workbook([["select_one yn extra", "shift", "Which shift?", "", ""]]))
    assert problems == [
        "survey sheet, row 2: the type 'select_one yn extra' has more after the list's name"
        " than Sayso reads. Write the type and the list's name only, like 'select_one yn'."
    ]
