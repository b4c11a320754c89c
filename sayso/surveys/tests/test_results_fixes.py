# mypy: disable-error-code="no-untyped-call,arg-type"
"""Review fixes on the results page: differencing two allowed filters, weighting with a
filter, date questions, and citing a result whose figures are all hidden."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import AuditEvent, Citation, Community
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import selectors, services
from sayso.surveys.models import Choice, Question, Survey

from .factories import answer, close, make_survey

pytestmark = pytest.mark.django_db


def shift_survey(community: Community) -> Survey:
    """make_survey's, with a third shift and, on the second page, a date and a consent."""
    survey = make_survey(community, status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    Choice.objects.create(question=shift, order=3, name="weekend", label={"en": "Weekend"})
    second = survey.sections.get(order=2)
    for order, name, kind in ((4, "started", Question.Type.DATE), (5, "agree", "consent")):
        Question.objects.create(
            survey=survey, section=second, order=order, name=name, type=kind, label={"en": name}
        )
    return survey


def page(client: Client, survey: Survey, **query: str) -> str:
    url = reverse("surveys:results", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def by_name(found: selectors.Results, name: str) -> selectors.QuestionResult:
    return next(r for r in found.questions if r.question.name == name)


# --------------------------------------------------------------------------- 1. differencing


def test_two_allowed_filters_no_longer_give_away_the_weekend_workers() -> None:
    """The reviewer's numbers: everyone minus night minus day was the 3 weekend workers."""
    community = CommunityFactory(small_group_threshold=5)
    survey = shift_survey(community)
    for shift, n, age in (("day", 23, 30), ("night", 17, 40), ("weekend", 3, 61)):
        for _ in range(n):
            answer(survey, shift=shift, age=age, disciplined="no")
    shift_q = survey.questions.get(name="shift")
    everyone = selectors.results(survey)
    assert by_name(everyone, "age").mean == pytest.approx((23 * 30 + 17 * 40 + 3 * 61) / 43)
    for shift in ("night", "day"):
        found = selectors.results(survey, only=(shift_q, shift))
        assert found.questions == []  # nothing shown: no count, no average
        assert "Fewer than 5 people, or everyone, gave one of the answers to" in found.refusal
        assert "Weekend" not in found.refusal
        assert "cannot be filtered or broken down by 'Shift'" in found.refusal
    weekend = selectors.results(survey, only=(shift_q, "weekend"))
    assert weekend.questions == []
    # The small answer is refused in the very words of the big ones: a different
    # message would say which of the hidden cells is the small one.
    assert weekend.refusal == found.refusal
    close(survey)  # members read the figures once the survey is closed
    client = signed_in(MembershipFactory(community=community).user)
    audits = AuditEvent.objects.count()
    html = page(client, survey, only="shift:night")
    assert "These results cannot be shown" in html
    assert "Fewer than 5 people, or everyone, gave one of the answers to" in html
    assert "Average" not in html
    assert AuditEvent.objects.count() == audits
    # Breaking down by shift is refused by the same rule.
    broken = selectors.results(survey, breakdown=shift_q)
    assert broken.breakdown_refusal.startswith("Fewer than 5 people, or everyone, gave one")
    tabs = [r.crosstab for r in broken.questions if r.crosstab is not None]
    assert tabs
    assert all(t.refusal == broken.breakdown_refusal and not t.cells for t in tabs)


def test_a_filter_is_refused_per_question_when_few_of_a_group_answered_it() -> None:
    """Weekend has 6 people, but only 2 of them gave an age: everyone's average age
    minus the day and night workers' would give those two ages."""
    survey = shift_survey(CommunityFactory(small_group_threshold=5))
    for shift, n, with_age in (("day", 10, 10), ("night", 10, 10), ("weekend", 6, 2)):
        for i in range(n):
            values: dict[str, Any] = {"shift": shift, "disciplined": "yes" if i % 2 else "no"}
            if i < with_age:
                values["age"] = 20 + i
            answer(survey, **values)
    night = selectors.results(survey, only=(survey.questions.get(name="shift"), "night"))
    assert night.refusal == ""
    assert night.respondents == 10
    age = by_name(night, "age")
    assert age.mean is None
    assert age.refusal.startswith("Among the people who answered this question: Fewer than 5")
    assert "Weekend" not in age.refusal  # the small group is not named
    # Everyone in every shift answered "disciplined": that table is shown.
    disciplined = by_name(night, "disciplined")
    assert disciplined.refusal == ""
    assert [r.count for r in disciplined.rows] == [5, 5]


def test_a_filter_and_a_breakdown_need_every_combination_big_enough() -> None:
    """Day workers who were not disciplined are 3: "everyone by disciplined" minus
    "only night, by disciplined" would give their answers."""
    community = CommunityFactory(small_group_threshold=5)
    survey = shift_survey(community)
    Question.objects.filter(survey=survey, name="disciplined").update(is_breakdown=True)
    for shift, yes, no in (("day", 7, 3), ("night", 5, 5)):
        for i in range(yes + no):
            answer(survey, shift=shift, disciplined="yes" if i < yes else "no", age=30)
    shift_q, disciplined = (survey.questions.get(name=n) for n in ("shift", "disciplined"))
    # Each on its own is allowed.
    assert selectors.results(survey, only=(shift_q, "night")).refusal == ""
    alone = selectors.results(survey, breakdown=disciplined)
    assert alone.breakdown_refusal == ""
    assert by_name(alone, "shift").crosstab is not None
    combined = selectors.results(survey, only=(shift_q, "night"), breakdown=disciplined)
    assert combined.refusal == ""
    assert "Fewer than 5 people gave one of the combinations of answers" in (
        combined.breakdown_refusal
    )
    tabs = [r.crosstab for r in combined.questions if r.crosstab is not None]
    assert tabs
    assert all(t.refusal == combined.breakdown_refusal and not t.cells for t in tabs)
    close(survey)  # members read the figures once the survey is closed
    client = signed_in(MembershipFactory(community=community).user)
    html = page(client, survey, only="shift:night", by="disciplined")
    assert "This breakdown cannot be shown" in html
    assert "By Disciplined" not in html


def test_a_breakdown_has_a_row_for_people_who_did_not_answer_it() -> None:
    """The breakdown's totals are then the question's own counts, not those counts less
    the people who skipped the breakdown question."""
    survey = shift_survey(CommunityFactory(small_group_threshold=2))
    Question.objects.filter(survey=survey, name="shift").update(required=False)
    for shift, disciplined in (
        [("day", "yes")] * 2 + [("day", "no")] * 2 + [("night", "yes")] * 2 + [("night", "no")] * 2
    ):
        answer(survey, shift=shift, disciplined=disciplined)
    for disciplined in ("yes", "yes", "no", "no"):
        answer(survey, disciplined=disciplined)
    found = selectors.results(survey, breakdown=survey.questions.get(name="shift"))
    tab = by_name(found, "disciplined").crosstab
    assert tab is not None
    assert tab.refusal == ""
    assert tab.groups == ["Day", "Night", "Weekend", "Did not answer"]
    assert tab.cells[-1] == [6, 6, 12]  # the totals row: everyone who answered
    assert tab.cells[-2] == [2, 2, 4]


# --------------------------------------------------------------------------- 2. weighting


def test_weighting_a_filter_with_no_one_in_some_categories_is_explained_not_a_500() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = shift_survey(community)
    for shift, n in (("day", 10), ("night", 10), ("weekend", 5)):
        for i in range(n):
            answer(survey, shift=shift, disciplined="yes" if i % 2 else "no")
    shift_q = survey.questions.get(name="shift")
    services.set_weighting_targets(
        survey=survey, question=shift_q, population={"day": 300, "night": 150, "weekend": 50}
    )
    targets = dict(survey.weighting_targets)
    found = selectors.results(survey, only=(shift_q, "night"), weighted=True)
    assert found.weighting is None
    assert found.weighting_refusal == (
        "These results cannot be weighted: nobody in this selection answered Day or Weekend "
        "to 'Shift', which the weighting needs. The figures below are not weighted."
    )
    # The unweighted results are still shown.
    assert [r.count for r in by_name(found, "disciplined").rows] == [5, 5]
    assert all(r.weighted is None for q in found.questions for r in q.rows)
    client = signed_in(OrganiserFactory(community=community).user)
    html = page(client, survey, only="shift:night", weighted="1")
    assert "Not weighted" in html
    assert "nobody in this selection answered Day or Weekend" in html
    assert "Weighted %" not in html
    survey.refresh_from_db()
    assert survey.weighting_targets == targets
    # Everyone together can be weighted as before.
    assert selectors.results(survey, weighted=True).weighting is not None


# --------------------------------------------------------------------------- 3. dates


def test_a_date_question_shows_how_many_answered_and_a_count_per_month() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = shift_survey(community)
    # Months get a row of their own from the published threshold (10) up, for every
    # audience (test_date_months_privacy).
    dates = ["2026-03-02"] * 10 + ["2026-04-20"] * 12 + ["2025-01-09"] + ["2026-05-01"] * 2
    for i, day in enumerate(dates):
        answer(survey, shift="day" if i % 2 else "night", disciplined="no", started=day)
    started = by_name(selectors.results(survey), "started")
    assert started.refusal == ""
    assert started.respondents == 25
    # January 2025 (1 person) and May 2026 (2) have no row of their own: "Other months"
    # holds them, hidden, and the smallest other count is hidden with it.
    assert [(r.name, r.count, r.hidden) for r in started.rows] == [
        ("2026-03", None, True),
        ("2026-04", 12, False),
        ("other", None, True),
    ]
    assert started.any_hidden
    client = signed_in(OrganiserFactory(community=community).user)
    html = page(client, survey)
    section = html.split('id="q-' + str(started.question.pk) + '"', 1)[1].split("</section>")[0]
    assert "No answers yet." not in section
    assert "25 people answered" in section
    assert "April 2026" in section
    assert "March 2026" in section
    assert "Other months" in section
    assert "January" not in section
    assert "2025" not in section
    assert "Cite as evidence" not in section


def test_a_date_question_with_too_few_answers_is_hidden() -> None:
    survey = shift_survey(CommunityFactory(small_group_threshold=5))
    for day in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"):
        answer(survey, shift="day", disciplined="no", started=day)
    for _ in range(4):
        answer(survey, shift="night", disciplined="no")
    started = by_name(selectors.results(survey), "started")
    assert (started.respondents, started.rows) == (4, [])
    assert started.refusal.startswith("Fewer than 5 people answered")


# --------------------------------------------------------------------------- 4. citing


def test_a_result_whose_figures_are_all_hidden_cannot_be_cited() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = shift_survey(community)
    for i in range(20):
        answer(survey, shift="day" if i % 2 else "night", disciplined="no", agree="1")
    agree = by_name(selectors.results(survey), "agree")
    assert agree.respondents == 20
    assert [r.hidden for r in agree.rows] == [True, True]  # everyone agreed
    assert agree.any_hidden
    organiser = OrganiserFactory(community=community).user
    client = signed_in(organiser)
    html = page(client, survey)
    section = html.split('id="q-' + str(agree.question.pk) + '"', 1)[1].split("</section>")[0]
    assert "Cite as evidence" not in section
    before = Citation.objects.count()
    url = reverse(
        "surveys:cite",
        kwargs={"slug": community.slug, "pk": survey.pk, "question": agree.question.pk},
    )
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "some of its figures are hidden to protect people" in response.content.decode()
    assert Citation.objects.count() == before
    # A result shown in full can still be cited.
    shift_q = survey.questions.get(name="shift")
    client.post(
        reverse(
            "surveys:cite",
            kwargs={"slug": community.slug, "pk": survey.pk, "question": shift_q.pk},
        )
    )
    assert Citation.objects.count() == before + 1
