# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""Options ticked on their own ("None of these"): marked in the builder, refused with
any other option on a page, at the check page and on submission (the prepared rules),
carried through XLSForm as a constraint ODK enforces, and read back as the mark."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import logic, selectors, services, xlsform
from sayso.surveys.models import Answer, Choice, DefinitionRevision, Question, Response, Survey

from .factories import make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db

NONE_MESSAGE = "“None of these” can't be ticked with other options. Untick one."


def revision(survey: Survey) -> int:
    return DefinitionRevision.objects.get(survey=survey).n


def with_none(community: Community | None = None, **fields: Any) -> Survey:
    """make_survey's survey, whose "worries" also offers "none = None of these",
    marked as ticked on its own."""
    survey = make_survey(community or CommunityFactory(), **fields)
    worries = survey.questions.get(name="worries")
    Choice.objects.create(
        question=worries, order=4, name="none", label={"en": "None of these"}, exclusive=True
    )
    return survey


def marks(survey: Survey) -> dict[str, list[str]]:
    """The options marked as ticked on their own, by question."""
    found: dict[str, list[str]] = {}
    for question_name, name in Choice.objects.filter(
        question__survey=survey, exclusive=True
    ).values_list("question__name", "name"):
        found.setdefault(question_name, []).append(name)
    return found


def stored(survey: Survey) -> list[tuple[Any, ...]]:
    """Everything about the survey's questions and choices a builder edit could change."""
    return [
        (q.name, q.type, q.label, q.constraint, q.required)
        for q in Question.objects.filter(survey=survey).order_by("pk")
    ] + [
        (c.question_id, c.name, c.label, c.order, c.exclusive)
        for c in Choice.objects.filter(question__survey=survey).order_by("pk")
    ]


# --------------------------------------------------------------------------- services


def save_worries(survey: Survey, exclusive: list[str] | None, **changes: Any) -> Question:
    worries = survey.questions.get(name="worries")
    for field, value in changes.items():
        setattr(worries, field, value)
    return services.save_question(
        question=worries,
        survey=survey,
        section=worries.section,
        choices=[("rates", "Rates"), ("cameras", "Cameras"), ("none", "None of these")],
        language="en",
        exclusive=exclusive,
    )


def test_the_service_marks_and_unmarks_options() -> None:
    survey = make_survey(CommunityFactory())
    save_worries(survey, ["none"])
    assert marks(survey) == {"worries": ["none"]}
    # None keeps the marks as they are.
    save_worries(survey, None)
    assert marks(survey) == {"worries": ["none"]}
    save_worries(survey, [])
    assert marks(survey) == {}


def test_a_question_made_single_choice_loses_its_marks() -> None:
    survey = with_none()
    save_worries(survey, None, type=Question.Type.SINGLE)
    assert marks(survey) == {}


@pytest.mark.parametrize(
    ("changes", "exclusive", "told"),
    [
        (
            {"type": Question.Type.SINGLE},
            ["none"],
            "Only options of a multiple choice question can be marked this way",
        ),
        ({}, ["rates", "cameras", "none"], "Every option is marked"),
        ({}, ["nothing"], "'nothing' is not one of the choices."),
    ],
)
def test_the_service_refuses_marks_that_make_no_sense_and_saves_nothing(
    changes: dict[str, Any], exclusive: list[str], told: str
) -> None:
    survey = with_none()
    before, at = stored(survey), revision(survey)
    with pytest.raises(services.BuilderError) as refused:
        save_worries(survey, exclusive, label={"en": "Changed"}, **changes)
    assert told in str(refused.value)
    assert refused.value.field == "exclusive"
    assert stored(survey) == before
    assert revision(survey) == at


def test_a_changed_mark_moves_the_revision_and_the_cached_rules_follow() -> None:
    survey = make_survey(CommunityFactory())
    Choice.objects.create(
        question=survey.questions.get(name="worries"), order=4, name="none", label={"en": "None"}
    )
    before = revision(survey)
    cached = selectors.definition(survey, before)
    assert selectors.definition(survey, before) is cached  # kept per process
    worries_rule = next(r for r in cached.rules if r.name == "worries")
    assert worries_rule.exclusive == {}
    # A bulk update (no save()) of the new column alone: the triggers see it too.
    Choice.objects.filter(name="none").update(exclusive=True)
    after = revision(survey)
    assert after > before
    fresh = selectors.definition(survey, after)
    assert fresh is not cached
    assert next(r for r in fresh.rules if r.name == "worries").exclusive == {"none": {"en": "None"}}
    answers = {"shift": "day", "disciplined": "no", "worries": ["rates", "none"]}
    assert logic.check_all(cached.rules, dict(answers), "en", "en") == {}
    assert logic.check_all(fresh.rules, dict(answers), "en", "en") == {
        "worries": "“None” can't be ticked with other options. Untick one."
    }


def test_only_multiple_choice_rules_carry_marks() -> None:
    """A mark left on a single choice option (by the admin, say) refuses nothing: one
    answer is all such a question takes."""
    survey = make_survey(CommunityFactory())
    Choice.objects.filter(question__name="shift", name="day").update(exclusive=True)
    rules = selectors.definition(survey, revision(survey)).rules
    assert next(r for r in rules if r.name == "shift").exclusive == {}


# --------------------------------------------------------------------------- builder


def edit_url(survey: Survey, name: str) -> str:
    return survey_url("question-edit", survey, question=survey.questions.get(name=name).pk)


WORRIES_POST = {
    "label": "Worries",
    "name": "worries",
    "type": "multiple",
    "choices": "rates = Rates\ncameras = Cameras\nnone = None of these",
}


def test_the_builder_shows_and_sets_the_marks() -> None:
    survey = with_none()
    client = organiser_client(survey)
    url = edit_url(survey, "worries")
    shown = client.get(url).content.decode()
    assert "Can&#x27;t be ticked with other options (for example “None of these”)" in shown
    assert 'name="exclusive"' in shown
    assert ">\nnone</textarea>" in shown
    # By its words, capitals and spaces aside, as well as by its short name.
    saved = client.post(url, WORRIES_POST | {"exclusive": "  none OF these \ncameras"})
    assert saved.status_code == 302
    assert marks(survey) == {"worries": ["cameras", "none"]}
    cleared = client.post(url, WORRIES_POST | {"exclusive": ""})
    assert cleared.status_code == 302
    assert marks(survey) == {}


def test_a_new_option_can_be_marked_in_the_same_save() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    saved = client.post(edit_url(survey, "worries"), WORRIES_POST | {"exclusive": "none"})
    assert saved.status_code == 302
    assert marks(survey) == {"worries": ["none"]}


@pytest.mark.parametrize(
    ("question", "post", "told"),
    [
        (
            "worries",
            WORRIES_POST | {"exclusive": "nothing at all", "label": "Changed"},
            "&#x27;nothing at all&#x27; is not one of the choices.",
        ),
        (
            "worries",
            WORRIES_POST | {"exclusive": "rates\ncameras\nnone", "label": "Changed"},
            "Every option is marked, so people could tick only one of them.",
        ),
        (
            "shift",
            {
                "label": "Changed",
                "name": "shift",
                "type": "single",
                "choices": "day = Day\nnight = Night",
                "exclusive": "day",
            },
            "Only options of a multiple choice question can be marked this way",
        ),
    ],
)
def test_the_builder_refuses_bad_marks_next_to_the_field_and_saves_nothing(
    question: str, post: dict[str, str], told: str
) -> None:
    survey = with_none()
    before, at = stored(survey), revision(survey)
    refused = organiser_client(survey).post(edit_url(survey, question), post)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert told in page
    assert refused.context["form"].errors.keys() == {"exclusive"}
    assert stored(survey) == before
    assert revision(survey) == at


# --------------------------------------------------------------------------- respondents


def page_url(raw: str, page: int) -> str:
    return reverse("surveys_public:page", kwargs={"token": raw, "page": page})


def check_url(raw: str) -> str:
    return reverse("surveys_public:check", kwargs={"token": raw})


def test_a_page_refuses_none_with_another_option_and_keeps_every_answer() -> None:
    survey = with_none(status=Survey.Status.OPEN)
    response, raw = services.start_response(survey=survey, language="en")
    post = {"q_disciplined": "yes", "q_worries": ["rates", "none"], "q_story": "I was warned."}
    shown = Client().post(page_url(raw, 1), post)
    assert shown.status_code == 200
    page = shown.content.decode()
    assert "“None of these” can&#x27;t be ticked with other options. Untick one." in page
    # Both boxes stay ticked as the person left them, and the other answers are kept.
    boxes = re.findall(r'<input[^>]*name="q_worries" value="(\w+)"([^>]*)>', page)
    ticked = [name for name, rest in boxes if " checked" in rest]
    assert (len(boxes), ticked) == (4, ["rates", "none"])
    response.refresh_from_db()
    assert response.draft == {
        "disciplined": "yes",
        "worries": ["rates", "none"],
        "story": "I was warned.",
    }
    assert response.page == 1
    # Unticked: the page goes on.
    post["q_worries"] = ["none"]
    assert Client().post(page_url(raw, 1), post).status_code == 302


def test_the_submission_refuses_it_and_the_check_page_says_why() -> None:
    """Marked after the answers were saved page by page: sending them is refused."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    none = Choice.objects.create(
        question=survey.questions.get(name="worries"), order=4, name="none", label={"en": "None"}
    )
    response, raw = services.start_response(survey=survey, language="en")
    draft = {"shift": "day", "disciplined": "no", "worries": ["cameras", "none"], "age": 30}
    services.save_page(response=response, answers=draft, page=1)
    # Read (and its definition cached) before the option was marked.
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    selectors.definition(submitting.survey, submitting.definition_revision)
    none.exclusive = True
    none.save()
    told = "“None” can't be ticked with other options. Untick one."
    assert services.submit_response(response=submitting) == {"worries": told}
    sent = Client().post(check_url(raw))
    assert sent.status_code == 200
    assert "“None” can&#x27;t be ticked with other options. Untick one." in sent.content.decode()
    # Shown again later, the check page finds it by itself (logic.check_answer).
    again = Client().get(check_url(raw)).content.decode()
    assert "“None” can&#x27;t be ticked with other options. Untick one." in again
    response.refresh_from_db()
    assert response.status == Response.Status.PARTIAL
    assert response.draft == draft
    assert not Answer.objects.filter(survey=survey).exists()


def test_an_option_ticked_on_its_own_is_submitted() -> None:
    survey = with_none(status=Survey.Status.OPEN)
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(
        response=response,
        answers={"shift": "night", "disciplined": "no", "worries": ["none"]},
        page=1,
    )
    assert services.submit_response(response=response) == {}
    chosen = Answer.objects.filter(survey=survey, question__name="worries")
    assert list(chosen.values_list("choice__name", flat=True)) == ["none"]


def test_the_option_is_named_in_the_language_the_person_answers_in() -> None:
    survey = with_none(status=Survey.Status.OPEN)
    survey.languages = ["en", "pl"]
    survey.save()
    Choice.objects.filter(name="none").update(label={"en": "None of these", "pl": "Żadne z nich"})
    response, raw = services.start_response(survey=survey, language="pl")
    shown = Client().post(page_url(raw, 1), {"q_disciplined": "no", "q_worries": ["none", "rates"]})
    # The page speaks Polish (Sayso's sentence too, with Polish quotation marks).
    assert "Opcji „Żadne z nich” nie można zaznaczyć" in shown.content.decode()
    services.save_page(
        response=response,
        answers={"shift": "day", "disciplined": "no", "worries": ["none", "rates"]},
        page=1,
    )
    errors = services.submit_response(response=response)
    assert "“Żadne z nich”" in errors["worries"]


def test_the_preview_refuses_it_too() -> None:
    survey = with_none()  # a draft: only a preview can be answered
    _response, raw = services.start_response(survey=survey, language="en", preview=True)
    shown = Client().post(page_url(raw, 1), {"q_disciplined": "no", "q_worries": ["none", "rates"]})
    assert shown.status_code == 200
    assert "“None of these” can&#x27;t be ticked" in shown.content.decode()


def test_submitting_to_a_closed_survey_is_still_refused_first() -> None:
    """The mark adds a reason to refuse; it takes none away."""
    survey = with_none(status=Survey.Status.OPEN)
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(
        response=response,
        answers={"shift": "day", "disciplined": "no", "worries": ["none"]},
        page=1,
    )
    services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=None)
    with pytest.raises(ServiceError):
        services.submit_response(response=response)


# --------------------------------------------------------------------------- XLSForm


def _xform(data: bytes) -> str:
    from pyxform.xls2xform import convert

    return str(convert(xlsform=data, file_type=".xlsx").xform)


def _worries_row(data: bytes) -> dict[str, Any]:
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data))["survey"]
    rows = list(sheet.iter_rows(values_only=True))
    head = rows[0]
    row = next(r for r in rows if r[1] == "worries")
    return dict(zip(head, row, strict=True))


def test_the_export_writes_a_constraint_odk_enforces_and_the_import_reads_the_mark() -> None:
    survey = with_none()
    data = xlsform.export_xlsform(survey)
    row = _worries_row(data)
    constraint = "not(selected(., 'none') and count-selected(.) > 1)"
    assert row["constraint"] == constraint
    assert row["constraint_message::English (en)"] == NONE_MESSAGE
    # What ODK would do with it: refuse "none" with another option, accept it alone.
    assert not logic.parsed(constraint).is_true({}, current=["rates", "none"])
    assert logic.parsed(constraint).is_true({}, current=["none"])
    assert logic.parsed(constraint).is_true({}, current=["rates", "cameras"])
    xform = _xform(data)
    assert "count-selected(.) &gt; 1" in xform or "count-selected(.) > 1" in xform
    again = xlsform.import_form(data=data, community=survey.community, actor=None).survey
    assert marks(again) == {"worries": ["none"]}
    worries = again.questions.get(name="worries")
    assert worries.constraint == ""
    assert worries.constraint_message == {}


def test_a_constraint_and_message_of_its_own_round_trip_beside_the_marks() -> None:
    survey = with_none()
    survey.languages = ["en", "pl"]
    survey.save()
    Choice.objects.create(
        question=survey.questions.get(name="worries"),
        order=5,
        name="unsaid",
        label={"en": "Prefer not to say", "pl": "Wolę nie mówić"},
        exclusive=True,
    )
    Question.objects.filter(name="worries").update(
        constraint="count-selected(.) <= 2 or selected(., 'rates')",
        constraint_message={"en": "Two at most", "pl": "Najwyżej dwa"},
    )
    data = xlsform.export_xlsform(survey)
    row = _worries_row(data)
    assert row["constraint"] == (
        "(count-selected(.) <= 2 or selected(., 'rates'))"
        " and not(selected(., 'none') and count-selected(.) > 1)"
        " and not(selected(., 'unsaid') and count-selected(.) > 1)"
    )
    assert row["constraint_message::English (en)"] == "Two at most"  # its own is kept
    _xform(data)
    again = xlsform.import_form(data=data, community=survey.community, actor=None).survey
    assert marks(again) == {"worries": ["none", "unsaid"]}
    worries = again.questions.get(name="worries")
    assert worries.constraint == "count-selected(.) <= 2 or selected(., 'rates')"
    assert worries.constraint_message == {"en": "Two at most", "pl": "Najwyżej dwa"}


def test_two_marked_options_without_a_message_get_one_in_each_language() -> None:
    survey = with_none()
    survey.languages = ["en", "pl"]
    survey.save()
    Choice.objects.filter(name="none").update(label={"en": "None of these", "pl": "Żadne"})
    Choice.objects.filter(question__name="worries", name="cameras").update(exclusive=True)
    data = xlsform.export_xlsform(survey)
    row = _worries_row(data)
    assert row["constraint_message::English (en)"] == (
        "“Cameras” can't be ticked with other options. Untick one. " + NONE_MESSAGE
    )
    # Sayso's sentence in Polish too, now that it has Polish words.
    assert "Opcji „Żadne” nie można zaznaczyć" in row["constraint_message::Polish (pl)"]
    _xform(data)
    again = xlsform.import_form(data=data, community=survey.community, actor=None).survey
    assert marks(again) == {"worries": ["cameras", "none"]}
    assert again.questions.get(name="worries").constraint_message == {}


@pytest.mark.parametrize(
    ("constraint", "kept", "names"),
    [
        ("not(selected(., 'none') and count-selected(.) > 1)", "", ["none"]),
        # Spaced differently, as a person may type it in a Kobo form.
        ("not( selected(.,'none')  and count-selected( . )>1 )", "", ["none"]),
        ("(. != '') and not(selected(., 'none') and count-selected(.) > 1)", ". != ''", ["none"]),
        # Not the exporter's shape: the clause is not a part of the whole by `and`.
        ("x or not(selected(., 'none') and count-selected(.) > 1)", None, []),
        ("count-selected(.) < 3 and not(selected(., 'none') and count-selected(.) > 1)", None, []),
        ("(a) or (b) and not(selected(., 'none') and count-selected(.) > 1)", None, []),
        ("not(selected(., 'none') and count-selected(.) > 2)", None, []),
        ("selected(., 'none')", None, []),
        ("", "", []),
    ],
)
def test_split_exclusive_reads_exactly_the_exported_shape(
    constraint: str, kept: str | None, names: list[str]
) -> None:
    assert xlsform.split_exclusive(constraint) == (
        constraint if kept is None else kept,
        names,
    )
    if names:
        assert xlsform.split_exclusive(xlsform.with_exclusive(kept or "", names)) == (
            kept,
            names,
        )


def _form_with(constraint: str, choices: list[str]) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label", "constraint"])
    sheet.append(["select_multiple things", "things", "Things", constraint])
    listed = book.create_sheet("choices")
    listed.append(["list_name", "name", "label"])
    for name in choices:
        listed.append(["things", name, name.title()])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("constraint", "choices", "marked"),
    [
        ("not(selected(., 'none') and count-selected(.) > 1)", ["a", "none"], ["none"]),
        # Naming no option, or marking every option: kept as the constraint it is.
        ("not(selected(., 'gone') and count-selected(.) > 1)", ["a", "none"], []),
        (
            "not(selected(., 'a') and count-selected(.) > 1)"
            " and not(selected(., 'none') and count-selected(.) > 1)",
            ["a", "none"],
            [],
        ),
    ],
)
def test_an_imported_clause_becomes_a_mark_only_when_it_can_be_one(
    constraint: str, choices: list[str], marked: list[str]
) -> None:
    survey = xlsform.import_form(
        data=_form_with(constraint, choices), community=CommunityFactory(), actor=None
    ).survey
    things = survey.questions.get(name="things")
    assert [c.name for c in things.choices.all() if c.exclusive] == marked
    assert things.constraint == ("" if marked else constraint)


@pytest.mark.django_db
def test_the_survey_outline_says_which_option_is_ticked_on_its_own() -> None:
    survey = with_none()
    page = organiser_client(survey).get(survey_url("detail", survey)).content.decode()
    assert "None of these (ticked on its own)" in page
    Choice.objects.filter(name="none").update(exclusive=False)
    page = organiser_client(survey).get(survey_url("detail", survey)).content.decode()
    assert "None of these" in page
    assert "(ticked on its own)" not in page
