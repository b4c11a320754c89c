# mypy: disable-error-code="no-untyped-call,arg-type"
"""A browser review of the results pages (review 15).

1. Approving a written answer could not be undone on the page: once approved, the
   answer showed only an "Approved" tag, and members read it from then on.
2. With a breakdown chosen, questions that are not split by it (multiple choice,
   ranking, numbers, dates) said nothing about it.
3. A date question whose months are all folded into "Other months" named no month
   and did not say why.
4. A question shown only to some people said "fewer than 5 people did not answer
   this question" of people who were never asked it; and a question shown by a rule
   on two questions named only one of them.
5. The weighting page's warnings told the organiser to stop weighting "on the
   weighting page", on the weighting page itself.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sayso.surveys import selectors, services
from sayso.surveys.models import Answer, Question, Survey

from .factories import (
    answer,
    close,
    member_client,
    open_survey,
    organiser_client,
    results_section,
    survey_url,
    survey_with_extra_question,
)

pytestmark = pytest.mark.django_db


# --- 1. Taking an approval back ------------------------------------------------------


def stories() -> Survey:
    """12 people: 6 said yes and wrote a story, 6 said no (and were not asked)."""
    survey = open_survey()
    # Nothing to break down by: every figure of "disciplined" is shown, so the story
    # (asked after "yes") is not withheld as a follow-up.
    survey.questions.filter(name="shift").update(is_breakdown=False)
    for i in range(6):
        answer(survey, shift="day" if i % 2 else "night", disciplined="yes", story=f"story {i}")
        answer(survey, shift="day" if i % 2 else "night", disciplined="no")
    return close(survey)


def test_an_organiser_can_remove_an_approval_and_members_then_no_longer_see_the_answer() -> None:
    survey = stories()
    story = Answer.objects.select_related("response").get(survey=survey, text="story 2")
    services.approve_answer(answer=story)
    members = member_client(survey)
    url = survey_url("results", survey)
    assert "story 2" in results_section(members.get(url).content.decode(), survey, "story")

    organiser = organiser_client(survey)
    html = results_section(organiser.get(url).content.decode(), survey, "story")
    action = reverse(
        "surveys:answer-approve",
        kwargs={
            "slug": survey.community.slug,
            "pk": survey.pk,
            "question": story.question_id,
            "response_key": story.response.export_key,
        },
    )
    # A plain form (no JavaScript) beside the tag, posting the approval off, its
    # button named by the answer it is about.
    form = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S
    )
    assert form is not None
    assert '<input type="hidden" name="approved" value="0">' in form.group(1)
    assert re.search(
        r'<button type="submit"[^>]*>Remove approval<span class="visually-hidden">: '
        r"<bdi>story 2</bdi></span></button>",
        form.group(1),
    )
    assert "Approved" in html

    response = organiser.post(action, {"approved": "0"})
    assert response.status_code == 302
    story.refresh_from_db()
    assert not story.approved
    assert "story 2" not in results_section(members.get(url).content.decode(), survey, "story")
    # The organiser can approve it again.
    after = results_section(organiser.get(url).content.decode(), survey, "story")
    assert "Approve for members<span" in after


# --- 2. Questions a breakdown does not split ----------------------------------------


def workers() -> Survey:
    """20 people, 10 on each shift, with every kind of question answered."""
    survey = survey_with_extra_question(Question.Type.DATE, "started", "When did you start?")
    for i in range(20):
        answer(
            survey,
            shift="day" if i % 2 else "night",
            disciplined="yes" if i % 4 < 2 else "no",
            worries=["rates"] if i % 3 else ["rates", "cameras"],
            age=20 + 2 * i,
            started="2026-01-15" if i < 12 else "2026-02-10",
            story=f"story {i}" if i % 4 < 2 else "",
        )
    return close(survey)


NOT_SPLIT = "Not split by “Shift”"


@pytest.mark.parametrize("client_of", [organiser_client, member_client])
def test_a_breakdown_says_which_questions_it_does_not_split(client_of: object) -> None:
    survey = workers()
    client = client_of(survey)  # type: ignore[operator]
    html = client.get(survey_url("results", survey), {"by": "shift"}).content.decode()
    assert "This breakdown cannot be shown" not in html
    split = results_section(html, survey, "disciplined")
    assert "Split by: Shift" in split
    assert NOT_SPLIT not in split
    for name in ("worries", "age", "started"):
        part = results_section(html, survey, name)
        assert "Split by" not in part
        assert part.count(NOT_SPLIT) == 1, name
        assert "only questions where people choose one answer from a list" in part
    # The breakdown's own question and written answers get no such line.
    assert NOT_SPLIT not in results_section(html, survey, "shift")
    assert NOT_SPLIT not in results_section(html, survey, "story")
    # Without a breakdown, nothing is said.
    plain = client.get(survey_url("results", survey)).content.decode()
    assert "Not split by" not in plain


# --- 3. Dates with no month of their own ---------------------------------------------


def dates(months: list[tuple[str, int]]) -> Survey:
    survey = survey_with_extra_question(Question.Type.DATE, "started", "When did you start?")
    survey.questions.filter(name="shift").update(is_breakdown=False)
    for started, n in months:
        for i in range(n):
            answer(survey, shift="day" if i % 2 else "night", disciplined="no", started=started)
    return close(survey)


NO_MONTH = (
    "No single month has enough answers to be shown on its own, to protect people, "
    "so all the answers are counted together."
)


@pytest.mark.parametrize("audience", ["members", "published"])
def test_dates_with_no_month_of_their_own_say_so_and_keep_the_figures(audience: str) -> None:
    # 21 answers over nine months, none with 10 (the published threshold).
    survey = dates([(f"2025-{m:02d}-10", 3 if m <= 3 else 2) for m in range(1, 10)])
    client = member_client(survey)
    response = client.get(survey_url("results", survey), {"audience": audience})
    started = next(r for r in response.context["results"].questions if r.question.name == "started")
    assert [(row.label, row.count) for row in started.rows] == [("Other months", 21)]
    part = results_section(response.content.decode(), survey, "started")
    assert NO_MONTH in part
    assert "21 people answered" in part


def test_dates_with_a_month_of_their_own_say_nothing_more() -> None:
    survey = dates([("2025-01-10", 12), ("2025-02-10", 3), ("2025-03-10", 3)])
    html = member_client(survey).get(survey_url("results", survey)).content.decode()
    part = results_section(html, survey, "started")
    assert "January 2025" in part
    assert "No single month" not in part


# --- 4. Questions shown only to some people ------------------------------------------


def everyone_asked_but_few_skipped() -> Survey:
    """20 people; the story is asked by a rule that every answer to shift meets, and
    2 of them leave it blank. The rule hides nothing, so the story is not withheld as
    a follow-up; its few blanks are the reason."""
    survey = open_survey()
    survey.questions.filter(name="story").update(relevant="${shift} = 'day' or ${shift} = 'night'")
    for i in range(20):
        answer(
            survey,
            shift="day" if i % 2 else "night",
            disciplined="no",
            story=f"story {i}" if i >= 2 else "",
        )
    return close(survey)


def test_a_question_with_a_rule_says_not_answered_or_not_asked() -> None:
    survey = everyone_asked_but_few_skipped()
    url = survey_url("results", survey)
    organiser = results_section(organiser_client(survey).get(url).content.decode(), survey, "story")
    assert "Only organisers see these answers" in organiser
    assert "Fewer than 5 people did not answer this question or were not asked it." in organiser
    assert "did not answer this question." not in organiser
    member = results_section(member_client(survey).get(url).content.decode(), survey, "story")
    assert (
        "Fewer than 5 people did not answer this question or were not asked it, so its "
        "answers are not listed"
    ) in member
    assert "story 5" not in member


def test_a_question_without_a_rule_keeps_its_wording() -> None:
    survey = everyone_asked_but_few_skipped()
    survey.questions.filter(name="story").update(relevant="")
    html = member_client(survey).get(survey_url("results", survey)).content.decode()
    part = results_section(html, survey, "story")
    assert "Fewer than 5 people did not answer this question, so its answers are not listed" in part


def test_a_figure_question_with_a_rule_says_not_answered_or_not_asked() -> None:
    survey = open_survey()
    survey.questions.filter(name="worries").update(
        relevant="${shift} = 'day' or ${shift} = 'night'"
    )
    for i in range(20):
        answer(
            survey,
            shift="day" if i % 2 else "night",
            disciplined="no",
            worries=["rates"] if i >= 2 else [],
        )
    found = selectors.results(close(survey))
    worries = next(r for r in found.questions if r.question.name == "worries")
    assert worries.refusal.startswith("Fewer than 5 people did not answer this question"), (
        worries.refusal
    )
    assert worries.refusal.startswith(
        "Fewer than 5 people did not answer this question or were not asked it, so its "
        "results are not shown"
    )


def test_a_rule_on_two_questions_names_both() -> None:
    """17 day and 3 night workers: the night count is hidden, and a question asked
    of night workers or anyone over 40 could give it away."""
    survey = open_survey()
    Question.objects.create(
        survey=survey,
        section=survey.sections.get(order=2),
        order=9,
        name="cover",
        type=Question.Type.SINGLE,
        label={"en": "Do you cover other shifts?"},
        relevant="${shift} = 'night' or ${age} > 40",
    )
    survey.questions.get(name="cover").choices.create(order=1, name="yes", label={"en": "Yes"})
    survey.questions.get(name="cover").choices.create(order=2, name="no", label={"en": "No"})
    for i in range(20):
        night = i < 3
        answer(
            survey,
            shift="night" if night else "day",
            disciplined="no",
            age=30 + i,
            **({"cover": "yes" if i % 2 else "no"} if night or 30 + i > 40 else {}),
        )
    found = selectors.results(close(survey))
    cover = next(r for r in found.questions if r.question.name == "cover")
    assert cover.refusal
    assert "“Shift”" in cover.refusal
    assert "“Age”" in cover.refusal
    assert cover.rows == []


# --- 5. The weighting page's own warnings -------------------------------------------


def skipped_shift(skippers: int) -> Survey:
    """20 day and 20 night workers and `skippers` who did not answer the shift
    question, weighted by shift."""
    survey = open_survey()
    survey.questions.filter(name="shift").update(required=False, is_breakdown=False)
    for shift in ("day", "night"):
        for i in range(20):
            answer(survey, shift=shift, disciplined="yes" if i % 2 else "no", age=30 + i)
    for i in range(skippers):
        answer(survey, disciplined="yes" if i % 2 else "no", age=25 + 3 * i)
    survey.weighting_targets = {"shift": {"day": 100, "night": 100}}
    survey.save(update_fields=["weighting_targets"])
    return close(survey)


def few_nights() -> Survey:
    """Everyone answered the shift question, but only 3 work nights."""
    survey = open_survey()
    survey.questions.filter(name="shift").update(is_breakdown=False)
    for i in range(20):
        answer(survey, shift="day", disciplined="no", age=30 + i)
    for i in range(3):
        answer(survey, shift="night", disciplined="no", age=50 + i)
    survey.weighting_targets = {"shift": {"day": 100, "night": 100}}
    survey.save(update_fields=["weighting_targets"])
    return close(survey)


def nobody_counted() -> Survey:
    """Night workers answered, but the population figures say there are none."""
    survey = skipped_shift(0)
    survey.weighting_targets = {"shift": {"day": 100, "night": 0}}
    survey.save(update_fields=["weighting_targets"])
    return survey


def no_longer_single_choice() -> Survey:
    """Figures set for a question that is not (or no longer) single-choice."""
    survey = skipped_shift(0)
    survey.weighting_targets = {"worries": {"rates": 10, "cameras": 10, "sharing": 10}}
    survey.save(update_fields=["weighting_targets"])
    return survey


CASES = {
    "skipped": (skipped_shift, 2, "stop weighting by the question they skipped"),
    "small group": (few_nights, None, "stop weighting by one of those questions"),
    "counted as nobody": (nobody_counted, None, "Change the figures below."),
    "not single choice": (no_longer_single_choice, None, "Stop weighting by it below."),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_weighting_page_does_not_send_the_organiser_to_the_weighting_page(case: str) -> None:
    build, arg, way_out = CASES[case]
    survey = build(arg) if arg is not None else build()  # type: ignore[operator]
    client = organiser_client(survey)
    page = client.get(survey_url("weighting", survey)).content.decode()
    assert "Weighting not applied now" in page
    assert "weighting page" not in page
    assert "The figures below are not weighted" not in page
    assert "Meanwhile the results are shown unweighted." in page
    assert way_out in page
    # The results page keeps its wording: it sends the organiser there.
    results = client.get(survey_url("results", survey), {"weighted": "1"})
    refusal = results.context["results"].weighting_refusal
    assert refusal.endswith(" The figures below are not weighted.")
    assert "weighting page" in refusal
    assert "Meanwhile" not in refusal
    members, published = selectors.weighting_refusals(Survey.objects.get(pk=survey.pk))
    assert members
    assert "weighting page" not in members + published


def test_the_results_page_wording_is_unchanged() -> None:
    survey = skipped_shift(2)
    found = selectors.results(Survey.objects.get(pk=survey.pk), weighted=True)
    assert found.weighting_refusal == (
        "These results are not weighted: a few people (fewer than 5) skipped a question "
        "the weighting uses. Weighted figures leave out people who did not answer those "
        "questions, so setting them beside the unweighted figures could reveal their answers. "
        "To weight the results, stop weighting by the question they skipped, on the "
        "weighting page. The figures below are not weighted."
    )
    found = selectors.results(Survey.objects.get(pk=few_nights().pk), weighted=True)
    assert found.weighting_refusal.endswith(
        "To weight the results, stop weighting by one of those questions on the weighting "
        "page. The figures below are not weighted."
    )
