# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""Marking an option as ticked on its own ("None of these") after people have
answered: refused, saying how many responses already tick it with other options, so
that results and exports never hold answers that break the survey's own rule; allowed
when none do."""

from __future__ import annotations

from typing import Any

import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import services
from sayso.surveys.models import Choice, DefinitionRevision, Question, Survey

from .factories import answer, make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db

POST = {
    "label": "Worries",
    "name": "worries",
    "type": "multiple",
    "choices": "rates = Rates\ncameras = Cameras\nsharing = Sharing\nnone = None of these",
}


def answered(*ticked: list[str]) -> Survey:
    """make_survey's open survey, whose "worries" also offers "None of these" (not
    marked), with one sent response per list of options ticked."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    Choice.objects.create(
        question=survey.questions.get(name="worries"),
        order=4,
        name="none",
        label={"en": "None of these"},
    )
    for options in ticked:
        answer(survey, shift="day", disciplined="no", worries=options)
    return survey


def stored(survey: Survey) -> list[tuple[Any, ...]]:
    return [
        (q.name, q.type, q.label) for q in Question.objects.filter(survey=survey).order_by("pk")
    ] + [
        (c.name, c.label, c.order, c.exclusive)
        for c in Choice.objects.filter(question__survey=survey).order_by("pk")
    ]


def marked(survey: Survey) -> list[str]:
    return sorted(
        Choice.objects.filter(question__survey=survey, exclusive=True).values_list(
            "name", flat=True
        )
    )


def edit_url(survey: Survey) -> str:
    return survey_url("question-edit", survey, question=survey.questions.get(name="worries").pk)


@pytest.mark.parametrize(
    ("ticked", "told"),
    [
        (
            [["rates", "none"], ["none"], ["none", "cameras", "sharing"], ["rates", "cameras"]],
            "2 responses already tick “None of these” together with other options, so it"
            " can&#x27;t be marked as ticked on its own: those answers would break the rule"
            " in the results and exports. Leave it unmarked.",
        ),
        (
            [["sharing", "none"]],
            "1 response already ticks “None of these” together with other options, so it"
            " can&#x27;t be marked as ticked on its own: that answer would break the rule in"
            " the results and exports. Leave it unmarked.",
        ),
    ],
)
def test_marking_an_option_ticked_with_others_is_refused_and_nothing_changes(
    ticked: list[list[str]], told: str
) -> None:
    survey = answered(*ticked)
    before = stored(survey)
    revision = DefinitionRevision.objects.get(survey=survey).n
    refused = organiser_client(survey).post(
        edit_url(survey), POST | {"label": "Changed", "exclusive": "none"}
    )
    assert refused.status_code == 200
    assert told in refused.content.decode()
    assert refused.context["form"].errors.keys() == {"exclusive"}
    assert stored(survey) == before
    assert DefinitionRevision.objects.get(survey=survey).n == revision


def test_the_service_refuses_it_naming_the_option_by_its_new_words() -> None:
    """The option is named as the organiser has just written it."""
    survey = answered(["rates", "none"])
    worries = survey.questions.get(name="worries")
    before = stored(survey)
    with pytest.raises(services.BuilderError) as refused:
        services.save_question(
            question=worries,
            survey=survey,
            section=worries.section,
            choices=[("rates", "Rates"), ("cameras", "Cameras"), ("none", "Nothing")],
            language="en",
            exclusive=["none"],
        )
    assert refused.value.field == "exclusive"
    assert str(refused.value).startswith("1 response already ticks “Nothing” together")
    assert stored(survey) == before


def test_marking_is_allowed_when_every_response_ticks_it_alone() -> None:
    survey = answered(["none"], ["rates", "cameras"], ["none"])
    saved = organiser_client(survey).post(edit_url(survey), POST | {"exclusive": "none"})
    assert saved.status_code == 302
    assert marked(survey) == ["none"]


def test_another_option_s_combinations_do_not_stop_the_mark() -> None:
    """Only the option being marked counts: "rates" with "cameras" is no reason to
    refuse marking "none"."""
    survey = answered(["rates", "cameras", "sharing"])
    saved = organiser_client(survey).post(edit_url(survey), POST | {"exclusive": "none"})
    assert saved.status_code == 302
    assert marked(survey) == ["none"]


def test_an_option_marked_already_does_not_block_other_changes() -> None:
    """Answers sent before a mark came in some other way (the admin, say) do not stop
    the question's words from being edited: only a new mark is checked."""
    survey = answered(["rates", "none"])
    Choice.objects.filter(question__survey=survey, name="none").update(exclusive=True)
    saved = organiser_client(survey).post(
        edit_url(survey), POST | {"label": "What worries you?", "exclusive": "none"}
    )
    assert saved.status_code == 302
    assert survey.questions.get(name="worries").label == {"en": "What worries you?"}
    assert marked(survey) == ["none"]
