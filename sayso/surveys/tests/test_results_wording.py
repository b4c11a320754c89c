# mypy: disable-error-code="no-untyped-call,arg-type"
"""How the results page says that figures or answers are not shown.

The reviewer read two sentences that contradict each other under a text question
nobody answered ("Fewer than 5 people answered this question, so their answers are
not shown…" then "No answers to show yet."), and, with a filter, a date question's
"Among the people who answered this question: The group has fewer than 5 people,
the smallest group these results may show, so its answers could identify people."
"""

from __future__ import annotations

import pytest
from django.utils.html import escape

from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import selectors
from sayso.surveys.models import Answer, Question, Survey

from .factories import answer, close, make_survey, survey_url, survey_with_extra_question

pytestmark = pytest.mark.django_db

WITHHELD = (
    "Fewer than 5 people answered this question, so no answers are shown: with so few, "
    "someone's answers could be picked out."
)


def story_survey() -> Survey:
    """make_survey's, with its story asked of everyone (not only the disciplined)."""
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="story").update(relevant="")
    return survey


def member_page(survey: Survey, **query: str) -> str:
    client = signed_in(MembershipFactory(community=survey.community).user)
    page = client.get(survey_url("results", survey), query)
    assert page.status_code == 200
    return page.content.decode()


def section(html: str, survey: Survey, name: str) -> str:
    pk = survey.questions.get(name=name).pk
    return html.split(f'id="q-{pk}"', 1)[1].split("</section>", 1)[0]


def test_a_text_question_nobody_answered_says_one_thing_to_members() -> None:
    survey = story_survey()
    for i in range(10):
        answer(survey, shift="day" if i % 2 else "night", disciplined="no")  # no story
    close(survey)
    story = section(member_page(survey), survey, "story")
    assert WITHHELD in story
    assert "No answers" not in story
    assert story.count("<p>") == 1


def test_members_are_told_when_no_answer_is_approved_yet() -> None:
    survey = story_survey()
    for i in range(10):
        answer(survey, shift="day" if i % 2 else "night", disciplined="yes", story=f"story {i}")
    close(survey)
    story = section(member_page(survey), survey, "story")
    assert "None of the answers has been approved for members to read yet." in story
    assert "No answers" not in story
    Answer.objects.filter(survey=survey, text="story 3").update(approved=True)
    story = section(member_page(survey), survey, "story")
    assert "story 3" in story
    assert "approved for members to read yet" not in story


def test_a_filtered_date_question_few_answered_reads_as_in_the_results_for_everyone() -> None:
    survey = survey_with_extra_question(Question.Type.DATE, "started", "When did you start?")
    for i in range(20):
        answer(
            survey,
            shift="day" if i % 2 else "night",
            disciplined="no",
            **({"started": "2026-01-10"} if i < 3 else {}),
        )
    shift = survey.questions.get(name="shift")
    everyone = selectors.results(survey)
    day = selectors.results(survey, only=(shift, "day"))
    reasons = [
        next(r for r in found.questions if r.question.name == "started").refusal
        for found in (everyone, day)
    ]
    expected = (
        "Fewer than 5 people answered this question, so its results are not shown: with so "
        "few, someone's answers could be picked out."
    )
    assert reasons == [expected, expected]
    close(survey)
    html = section(member_page(survey, only="shift:day"), survey, "started")
    assert escape(expected) in html
    assert "The group has" not in html
