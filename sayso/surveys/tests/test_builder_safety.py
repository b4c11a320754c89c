# mypy: disable-error-code="no-untyped-call,arg-type"
"""The builder on a survey people have answered: deleting a question, removing or
renaming a choice, or changing a type that would lose answers is refused in plain
words, with nothing changed; renaming a question other questions' logic uses is
refused; a new question's logic may refer only to the questions before where it goes;
the builder's messages sit next to the field they are about."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError, close_old_connections, transaction

from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import services
from sayso.surveys.forms import question_initial
from sayso.surveys.models import (
    Answer,
    AnswerCount,
    Choice,
    DefinitionRevision,
    Question,
    Section,
    Survey,
)

from .factories import answer, make_survey
from .factories import organiser_client as organiser
from .factories import survey_url as url

pytestmark = pytest.mark.django_db


def answered_survey() -> Survey:
    """Open, with three submitted responses: two chose night, one day."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="night", age=30, disciplined="yes", worries=["rates"], story="Warned")
    answer(survey, shift="night", disciplined="no", worries=["rates", "cameras"])
    answer(survey, shift="day", age=52, disciplined="no")
    return survey


def state(survey: Survey) -> dict[str, Any]:
    """Everything an edit could change or lose."""
    return {
        "questions": list(
            Question.objects.filter(survey=survey)
            .order_by("pk")
            .values("pk", "name", "type", "label", "relevant", "constraint", "section", "order")
        ),
        "choices": list(
            Choice.objects.filter(question__survey=survey)
            .order_by("pk")
            .values("pk", "question", "name", "label", "order")
        ),
        "answers": list(
            Answer.objects.filter(survey=survey)
            .order_by("pk")
            .values("pk", "question", "choice", "rank", "number", "date", "text")
        ),
        "counts": sorted(
            AnswerCount.objects.filter(survey=survey).values_list(
                "question", "choice_key", "rank_key", "shard", "n"
            )
        ),
        "revision": DefinitionRevision.objects.get(survey=survey).n,
    }


def save(
    question: Question,
    choices: list[tuple[str, str]] | None = None,
    **changes: Any,
) -> Question:
    for key, value in changes.items():
        setattr(question, key, value)
    return services.save_question(
        question=question,
        survey=question.survey,
        section=question.section,
        choices=choices,
        language="en",
    )


def fresh(survey: Survey, name: str) -> Question:
    return Question.objects.select_related("survey", "section").get(survey=survey, name=name)


SHIFT = [("day", "Day"), ("night", "Night")]


# ------------------------------------------------------------------ deleting a question


def test_a_question_people_answered_cannot_be_deleted() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="night", age=30, disciplined="no")
    answer(survey, shift="day", age=52, disciplined="no")
    answer(survey, shift="day", disciplined="no")
    before = state(survey)
    with pytest.raises(ServiceError) as refused:
        services.delete_question(question=fresh(survey, "age"))
    message = str(refused.value)
    assert "2 people have answered 'age'" in message  # the third left it empty
    assert "delete their answers" in message
    # In the builder's own words (review 11), not "set 'Show only if' to false()".
    assert "under “Write the rule yourself”, write false() as the rule: then nobody" in message
    assert "close the survey, download it as XLSForm" in message
    assert state(survey) == before
    # A question nobody has answered yet may still go.
    services.delete_question(question=fresh(survey, "worries"))
    assert not Question.objects.filter(survey=survey, name="worries").exists()
    assert state(survey)["answers"] == before["answers"]
    # And a survey only previewed deletes as before.
    draft = make_survey(CommunityFactory())
    services.start_response(survey=draft, language="en", preview=True)
    services.delete_question(question=fresh(draft, "shift"))
    assert not Question.objects.filter(survey=draft, name="shift").exists()


@pytest.mark.django_db(transaction=True)
def test_an_answer_written_while_its_question_is_deleted_is_never_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An answer is committed just after the delete counted none. The delete holds
    the question locked, so that commit waits for it and then fails (a submission
    checks again and is told); the answer is never committed and then cascaded away.
    (On SQLite the two transactions cannot overlap at all.)"""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    age = fresh(survey, "age")
    response, _raw = services.start_response(survey=survey, language="en")
    inserted, go, finished = threading.Event(), threading.Event(), threading.Event()
    outcome: list[str] = []

    def write_an_answer() -> None:
        try:
            with transaction.atomic():
                Answer.objects.create(survey=survey, response=response, question=age, number=30)
                inserted.set()
                go.wait(timeout=2)
            outcome.append("committed")
        except IntegrityError:
            outcome.append("refused")
        finally:
            inserted.set()
            finished.set()
            close_old_connections()

    counted = services._people_who_answered

    def count_then_let_it_commit(question_id: int) -> int:
        people = counted(question_id)
        go.set()
        finished.wait(timeout=2)  # held back by the lock, or done
        return people

    monkeypatch.setattr(services, "_people_who_answered", count_then_let_it_commit)
    writer = threading.Thread(target=write_an_answer)
    writer.start()
    inserted.wait(timeout=5)
    try:
        services.delete_question(question=age)
    except ServiceError as error:
        outcome.append(f"delete refused: {error}")
    writer.join()
    answers = Answer.objects.filter(question_id=age.pk).count()
    if outcome[0] == "committed":  # SQLite: the writer went first; the delete saw it
        assert len(outcome) == 2, f"the delete took a committed answer with it: {outcome}"
        assert outcome[1].startswith("delete refused: 1 person has answered 'age'"), outcome
        assert answers == 1
        assert Question.objects.filter(pk=age.pk).exists()
    else:  # PostgreSQL: the delete went first; the answer was not written
        assert outcome == ["refused"], outcome
        assert answers == 0
        assert not Question.objects.filter(pk=age.pk).exists()


def test_the_delete_button_refuses_and_says_why() -> None:
    survey = answered_survey()
    before = state(survey)
    client = organiser(survey)
    shift = fresh(survey, "shift")
    response = client.post(url("question-delete", survey, question=shift.pk))
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("3 people have answered 'shift'" in m for m in said), said
    assert state(survey) == before


# ------------------------------------------------------------------ choices


def test_renaming_a_choice_people_chose_is_refused() -> None:
    survey = answered_survey()
    before = state(survey)
    with pytest.raises(ServiceError) as refused:
        save(fresh(survey, "shift"), [("day", "Day"), ("nights", "Night")])
    message = str(refused.value)
    assert "'Night' was chosen 2 times under the name 'night'" in message
    assert "not 'nights'" in message
    assert "change the label after the '=', not the name" in message
    assert getattr(refused.value, "field", None) == "choices"
    assert state(survey) == before
    # Without responses, choices are renamed as before.
    draft = make_survey(CommunityFactory())
    shift = fresh(draft, "shift")
    save(shift, [("day", "Day"), ("nights", "Night")])
    assert [c.name for c in shift.choices.all()] == ["day", "nights"]


def test_removing_a_choice_people_chose_is_refused() -> None:
    survey = answered_survey()
    before = state(survey)
    with pytest.raises(ServiceError) as refused:
        save(fresh(survey, "worries"), [("cameras", "Cameras"), ("sharing", "Sharing")])
    message = str(refused.value)
    assert "'rates = Rates' was chosen 2 times, so it cannot be removed" in message
    assert "cameras" not in message  # still listed
    assert state(survey) == before
    # A choice nobody chose may go, and labels stay editable.
    worries = fresh(survey, "worries")
    kept = {c.name: c.pk for c in worries.choices.all()}
    answers = state(survey)["answers"]
    save(worries, [("cameras", "Cameras at the gate"), ("rates", "Pick rates")])
    assert [(c.name, c.label["en"]) for c in worries.choices.all()] == [
        ("cameras", "Cameras at the gate"),
        ("rates", "Pick rates"),
    ]
    assert {c.name: c.pk for c in worries.choices.all()} == {
        n: pk for n, pk in kept.items() if n != "sharing"
    }
    assert state(survey)["answers"] == answers  # "sharing" had none


# ------------------------------------------------------------------ types


@pytest.mark.parametrize(
    ("name", "kind", "people"),
    [
        ("shift", Question.Type.NUMBER, "3 people have answered this question as 'Single choice'"),
        ("shift", Question.Type.MULTIPLE, "3 people"),
        ("age", Question.Type.SHORT_TEXT, "2 people have answered this question as 'Number'"),
        ("story", Question.Type.NOTE, "1 person has answered this question as 'Long text'"),
    ],
)
def test_a_type_change_that_loses_answers_is_refused(name: str, kind: str, people: str) -> None:
    survey = answered_survey()
    before = state(survey)
    question = fresh(survey, name)
    choices = SHIFT if kind in Question.CHOICE_TYPES else None
    with pytest.raises(ServiceError) as refused:
        save(question, choices, type=kind)
    assert people in str(refused.value)
    assert "cannot be kept as" in str(refused.value)
    assert "add a new question" in str(refused.value)
    assert getattr(refused.value, "field", None) == "type"
    assert state(survey) == before


def test_only_a_type_change_that_keeps_answers_is_allowed() -> None:
    survey = answered_survey()
    answers = state(survey)["answers"]
    with pytest.raises(ServiceError, match="cannot be kept as 'Ranking'"):
        save(fresh(survey, "shift"), SHIFT, type=Question.Type.RANKING)
    # Single choice and rating, short and long text store their answers alike.
    save(fresh(survey, "shift"), SHIFT, type=Question.Type.RATING)
    save(fresh(survey, "story"), type=Question.Type.SHORT_TEXT)
    assert fresh(survey, "shift").type == Question.Type.RATING
    assert fresh(survey, "story").type == Question.Type.SHORT_TEXT
    assert state(survey)["answers"] == answers
    # Without responses, any change goes as before.
    draft = make_survey(CommunityFactory())
    save(fresh(draft, "shift"), type=Question.Type.NUMBER)
    assert fresh(draft, "shift").type == Question.Type.NUMBER
    assert not Choice.objects.filter(question__name="shift", question__survey=draft).exists()


# ------------------------------------------------------------------ renaming a question


def test_renaming_a_question_other_logic_uses_is_refused() -> None:
    survey = make_survey(CommunityFactory())
    worries = fresh(survey, "worries")
    save(worries, [("rates", "Rates"), ("cameras", "Cameras")], relevant="${shift} = 'night'")
    before = state(survey)
    with pytest.raises(ServiceError) as refused:
        save(fresh(survey, "disciplined"), [("yes", "Yes"), ("no", "No")], name="warned")
    assert str(refused.value) == (
        "Other questions' logic refers to ${disciplined}: story. Keep the short name"
        " 'disciplined', or change their logic first."
    )
    assert getattr(refused.value, "field", None) == "name"
    with pytest.raises(ServiceError, match=r"\$\{shift\}: worries\."):
        save(fresh(survey, "shift"), SHIFT, name="work_shift")
    assert state(survey) == before
    # Nothing refers to "age": it may be renamed, answered or not.
    save(fresh(survey, "age"), name="years")
    assert fresh(survey, "years").pk == before["questions"][1]["pk"]


# ------------------------------------------------------------------ a new question's logic


def test_a_new_question_on_an_early_page_cannot_use_a_later_answer() -> None:
    survey = make_survey(CommunityFactory())
    first = survey.sections.get(order=1)
    before = state(survey)
    new = Question(name="late", type=Question.Type.NUMBER, relevant="${worries} != ''")
    with pytest.raises(
        ServiceError,
        match=r"^Show only if refers to \$\{worries\}, which is not an earlier question\.$",
    ) as refused:
        services.save_question(
            question=new, survey=survey, section=first, choices=None, language="en"
        )
    assert getattr(refused.value, "field", None) == "relevant"
    new = Question(name="late", type=Question.Type.NUMBER, constraint=". < ${age}")
    services.save_question(question=new, survey=survey, section=first, choices=None, language="en")
    assert state(survey)["questions"][:-1] == before["questions"]
    # The same logic on the last page (after "worries") is fine.
    later = Question(name="later", type=Question.Type.NUMBER, relevant="${worries} != ''")
    services.save_question(
        question=later,
        survey=survey,
        section=survey.sections.get(order=2),
        choices=None,
        language="en",
    )


def test_logic_that_compares_an_answer_with_a_choice_it_does_not_have_is_refused() -> None:
    """A typo in a choice's short name (or the label typed instead) would hide a
    question from everyone, or check nothing: refused, and nothing saved."""
    survey = make_survey(CommunityFactory())
    worries = fresh(survey, "worries")
    choices = [("rates", "Rates"), ("cameras", "Cameras")]
    before = state(survey)
    refusals = [
        (
            {"relevant": "${shift} = 'nigth'"},
            "relevant",
            "Show only if: 'nigth' is not a choice"
            " of ${shift}. Use one of its short names: day, night.",
        ),
        ({"relevant": "'Night' = ${shift}"}, "relevant", "'Night' is not a choice of ${shift}"),
        (
            {"relevant": "selected(${disciplined}, 'yes') or ${shift} != 'evening'"},
            "relevant",
            "'evening' is not a choice of ${shift}",
        ),
        (
            {"constraint": "not(selected(., 'camera'))"},
            "constraint",
            "Answer must satisfy:"
            " 'camera' is not a choice of this question. Use one of its short names: rates,"
            " cameras.",
        ),
    ]
    for logic_fields, field, words in refusals:
        with pytest.raises(ServiceError) as refused:
            save(fresh(survey, "worries"), choices, **logic_fields)
        assert words in str(refused.value), logic_fields
        assert getattr(refused.value, "field", None) == field
    assert state(survey) == before
    # The choices given in the same edit count; '' asks whether it was answered at all.
    save(worries, [*choices, ("camera", "Camera")], constraint="not(selected(., 'camera'))")
    # Dropping "camera" again means dropping the constraint that names it.
    gated = "${shift} = 'night' and ${age} != ''"
    save(fresh(survey, "worries"), choices, relevant=gated, constraint="")
    assert fresh(survey, "worries").relevant == gated


def test_a_new_question_on_an_empty_page_sees_the_pages_before_it() -> None:
    survey = make_survey(CommunityFactory())
    middle = Section.objects.create(survey=survey, order=2, title={"en": "Middle"})
    survey.sections.filter(order=2).exclude(pk=middle.pk).update(order=3)
    assert services.earlier_names(survey, Question(), middle) == ["shift", "age"]
    assert services.earlier_names(survey, Question()) == [
        "shift",
        "age",
        "disciplined",
        "worries",
        "story",
    ]


# ------------------------------------------------------------------ the edit page


def posted(question: Question, **changes: Any) -> dict[str, Any]:
    data = {k: v for k, v in question_initial(question, "en").items() if v not in (False, None)}
    return {**data, **changes}


def invalid(html: str, field: str) -> bool:
    """The field's own control is marked aria-invalid and described by its message."""
    control = re.search(rf"<(?:input|textarea|select)[^>]*name=\"{field}\"[^>]*>", html)
    assert control is not None, field
    return 'aria-invalid="true"' in control.group(0) and f"id_{field}_error" in control.group(0)


def test_the_edit_page_puts_each_refusal_next_to_its_field() -> None:
    survey = answered_survey()
    client = organiser(survey)
    shift = fresh(survey, "shift")
    before = state(survey)
    cases = [
        ("choices", {"choices": "day = Day\nnights = Night"}, "under the name"),
        ("type", {"type": "number", "choices": ""}, "cannot be kept as"),
        ("name", {"name": "age"}, "Another question already has the short name"),
        ("name", {"name": "2shift"}, "must start with a letter"),
        ("relevant", {"relevant": "${worries} != ''"}, "which is not an earlier question"),
        ("constraint", {"constraint": ". = ${nothere}"}, "which is not an earlier question"),
        ("constraint", {"constraint": ". != 'evening'"}, "not a choice of this question"),
    ]
    for field, changes, words in cases:
        page = client.post(
            url("question-edit", survey, question=shift.pk), posted(shift, **changes)
        )
        assert page.status_code == 200, field
        form = page.context["form"]
        assert not form.non_field_errors(), field
        assert any(words in e for e in form.errors[field]), (field, form.errors)
        assert invalid(page.content.decode(), field), field
    assert state(survey) == before


def test_the_edit_page_refuses_renaming_a_question_in_use() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    disciplined = fresh(survey, "disciplined")
    before = state(survey)
    page = client.post(
        url("question-edit", survey, question=disciplined.pk), posted(disciplined, name="warned")
    )
    assert page.status_code == 200
    assert page.context["form"].errors["name"] == [
        "Other questions' logic refers to ${disciplined}: story. Keep the short name"
        " 'disciplined', or change their logic first."
    ]
    assert invalid(page.content.decode(), "name")
    assert state(survey) == before


def test_adding_a_question_here_checks_logic_against_the_pages_before() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    first = survey.sections.get(order=1)
    before = state(survey)
    data = {"label": "Late?", "name": "late", "type": "number", "relevant": "${story} != ''"}
    page = client.post(url("question-create", survey, section=first.pk), data)
    assert page.status_code == 200
    assert page.context["form"].errors["relevant"] == [
        "Show only if refers to ${story}, which is not an earlier question."
    ]
    assert invalid(page.content.decode(), "relevant")
    assert state(survey) == before
    data["relevant"] = "${shift} = 'night'"
    assert client.post(url("question-create", survey, section=first.pk), data).status_code == 302
    assert fresh(survey, "late").section_id == first.pk


def test_the_edit_page_says_when_people_have_answered() -> None:
    survey = answered_survey()
    client = organiser(survey)
    page = client.get(url("question-edit", survey, question=fresh(survey, "shift").pk))
    html = page.content.decode()
    assert "3 people have answered this question" in html
    assert "changes that would lose them are refused" in html
    assert "keep each name as it is: change the label after the" in html
    story = client.get(url("question-edit", survey, question=fresh(survey, "story").pk))
    assert "1 person has answered this question" in story.content.decode()
    draft = make_survey(CommunityFactory())
    client = organiser(draft)
    page = client.get(url("question-edit", draft, question=fresh(draft, "shift").pk))
    assert "answered this question" not in page.content.decode()


def test_weighting_targets_follow_a_renamed_question() -> None:
    survey = answered_survey()
    shift = fresh(survey, "shift")
    # Written directly: this survey's shifts are too small for set_weighting_targets.
    Survey.objects.filter(pk=survey.pk).update(
        weighting_targets={"shift": {"day": 120.0, "night": 80.0}}
    )
    save(shift, SHIFT, name="work_shift")
    survey.refresh_from_db()
    assert survey.weighting_targets == {"work_shift": {"day": 120.0, "night": 80.0}}
