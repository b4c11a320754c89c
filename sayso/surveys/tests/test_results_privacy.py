# mypy: disable-error-code="no-untyped-call,arg-type"
"""Results-page privacy found in review: refusals that stated a hidden group's size,
weighting that gave a small group away (its size as the effective sample size, its
answers as the weighted shares), and weighted figures for multiple-choice questions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.urls import reverse

from sayso.analysis import survey_stats
from sayso.core.models import Community
from sayso.core.services import ServiceError
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import selectors, services
from sayso.surveys.models import Answer, Choice, Question, Survey

from .factories import answer, close, make_survey

pytestmark = pytest.mark.django_db

THRESHOLD = 5


def three_shifts(community: Community) -> Survey:
    survey = make_survey(community, status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    Choice.objects.create(question=shift, order=3, name="weekend", label={"en": "Weekend"})
    return survey


def member_page(survey: Survey, **query: str) -> str:
    close(survey)  # members read the figures once the survey is closed
    client = signed_in(MembershipFactory(community=survey.community).user)
    url = reverse("surveys:results", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def numbers_in(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))


def section_of(html: str, result: selectors.QuestionResult) -> str:
    return html.split(f'id="q-{result.question.pk}"', 1)[1].split("</section>", 1)[0]


def by_name(found: selectors.Results, name: str) -> selectors.QuestionResult:
    return next(r for r in found.questions if r.question.name == name)


def reviewer_survey() -> Survey:
    """Day 10, Night 10, Weekend 3: Weekend is hidden as small, Day to protect it."""
    survey = three_shifts(CommunityFactory(small_group_threshold=THRESHOLD))
    for shift, n in (("day", 10), ("night", 10), ("weekend", 3)):
        for i in range(n):
            answer(survey, shift=shift, disciplined="yes" if i % 2 else "no")
    return survey


# --------------------------------------------------------------------------- 1. refusals


def test_refusing_a_filter_to_a_small_group_does_not_say_how_small() -> None:
    survey = reviewer_survey()
    shift = survey.questions.get(name="shift")
    found = selectors.results(survey)
    assert [(r.name, r.count) for r in by_name(found, "shift").rows] == [
        ("day", None),
        ("night", 10),
        ("weekend", None),
    ]
    weekend = selectors.results(survey, only=(shift, "weekend"))
    assert weekend.questions == []
    assert "fewer than 5" in weekend.refusal.lower()
    assert numbers_in(weekend.refusal) == {"5"}
    # Every other way of asking is refused without a count below the threshold too.
    for only in ("day", "night"):
        refused = selectors.results(survey, only=(shift, only))
        assert refused.refusal
        assert numbers_in(refused.refusal) == {"5"}
    html = member_page(survey, only="shift:weekend")
    assert "These results cannot be shown" in html
    assert "3 people" not in html
    assert "Fewer than 5 people, or everyone, gave one of the answers to" in html


def test_a_question_too_few_answered_does_not_say_how_few() -> None:
    survey = three_shifts(CommunityFactory(small_group_threshold=THRESHOLD))
    for i in range(8):
        answer(survey, shift="day", disciplined="no", age=30 if i < 2 else None)
    age = by_name(selectors.results(survey), "age")
    assert age.refusal
    assert numbers_in(age.refusal) == {"5"}
    html = member_page(survey)
    assert "Only 2" not in html
    assert "fewer than the minimum of 5" in html.lower() or "Fewer than 5" in html


# --------------------------------------------------------------------------- 2. weighting


def set_targets(survey: Survey, population: dict[str, float]) -> None:
    services.set_weighting_targets(
        survey=survey, question=survey.questions.get(name="shift"), population=population
    )


def test_weighting_with_a_small_group_is_refused_not_its_size_as_effective_sample() -> None:
    survey = reviewer_survey()
    # Saving it is refused now (test_weighting_by_a_question_with_a_small_group_...);
    # a weighting saved before (or before the threshold was raised) is still met here.
    with pytest.raises(ServiceError, match="can't be weighted by this question"):
        set_targets(survey, {"day": 1, "night": 1, "weekend": 100000})
    assert Survey.objects.get(pk=survey.pk).weighting_targets == {}
    Survey.objects.filter(pk=survey.pk).update(
        weighting_targets={"shift": {"day": 1, "night": 1, "weekend": 100000}}
    )
    survey.refresh_from_db()
    found = selectors.results(survey, weighted=True)
    assert found.weighting is None
    assert "not weighted" in found.weighting_refusal.lower()
    assert numbers_in(found.weighting_refusal) == {"5"}
    # Nothing weighted is worked out from the small group.
    assert all(r.weighted is None for q in found.questions for r in q.rows)
    html = member_page(survey, weighted="1")
    assert "Effective sample size" not in html
    assert "Weighted %" not in html
    assert "Not weighted" in html
    # Unweighted results are shown as before.
    assert by_name(found, "shift").rows[1].count == 10


def test_weighted_shares_are_not_worked_out_from_a_small_answer_within_a_group() -> None:
    """Every weighting group has 5 or more, but only 1 of the 5 weekend workers said yes:
    weighted almost wholly to the weekend, the weighted share would be about 20%."""
    survey = three_shifts(CommunityFactory(small_group_threshold=THRESHOLD))
    for worker, yes, no in (("day", 5, 5), ("night", 5, 5), ("weekend", 1, 4)):
        for _ in range(yes):
            answer(survey, shift=worker, disciplined="yes", worries=["rates"])
        for _ in range(no):
            answer(survey, shift=worker, disciplined="no", worries=["rates", "cameras"])
    set_targets(survey, {"day": 1, "night": 1, "weekend": 100000})
    found = selectors.results(survey, weighted=True)
    assert found.weighting is not None
    assert round(found.weighting.n_eff) >= THRESHOLD
    disciplined = by_name(found, "disciplined")
    assert [r.count for r in disciplined.rows] == [11, 14]  # shown unweighted
    assert [r.weighted for r in disciplined.rows] == [None, None]
    assert disciplined.weighting_note
    # The weighting question's own weighted shares are the population figures.
    shift = by_name(found, "shift")
    assert [r.weighted for r in shift.rows] == pytest.approx(
        [1 / 100002, 1 / 100002, 100000 / 100002]
    )
    html = member_page(survey, weighted="1")
    section = section_of(html, disciplined)
    assert "20%" not in section  # unweighted, yes is 11 of 25: 44%
    assert "not shown" in section
    assert "Some weighted figures are not shown" in section


def test_weighting_a_filter_checks_every_group_the_filter_splits_people_into() -> None:
    """Filtered to "disciplined: yes", the weekend group has 5; outside the filter it has
    2. The weighted figures for the filter, set against the unfiltered ones, would give
    those 2 away, so the filter's results are not weighted."""
    survey = three_shifts(CommunityFactory(small_group_threshold=THRESHOLD))
    survey.questions.filter(name="disciplined").update(is_breakdown=True)
    for shift, yes, no in (("day", 6, 6), ("night", 6, 6), ("weekend", 5, 2)):
        for _ in range(yes):
            answer(survey, shift=shift, disciplined="yes")
        for _ in range(no):
            answer(survey, shift=shift, disciplined="no")
    set_targets(survey, {"day": 10, "night": 10, "weekend": 10})
    disciplined = survey.questions.get(name="disciplined")
    everyone = selectors.results(survey, weighted=True)
    assert everyone.weighting is not None
    filtered = selectors.results(survey, only=(disciplined, "yes"), weighted=True)
    if filtered.refusal:
        pytest.fail(f"the filter itself should be allowed: {filtered.refusal}")
    assert filtered.weighting is None
    assert numbers_in(filtered.weighting_refusal) == {"5"}


# --------------------------------------------------------------------------- 3. multiple choice


def test_multiple_choice_options_are_weighted_each_as_yes_or_no() -> None:
    survey = make_survey(CommunityFactory(small_group_threshold=THRESHOLD), status="open")
    plan = (("day", 12, 5), ("night", 10, 5))  # (shift, respondents, of whom tick cameras)
    for shift, n, cameras in plan:
        for i in range(n):
            ticks = ["rates", "cameras"] if i < cameras else ["rates", "sharing"]
            answer(survey, shift=shift, disciplined="no" if i % 2 else "yes", worries=ticks)
    set_targets(survey, {"day": 30, "night": 70})
    found = selectors.results(survey, weighted=True)
    assert found.weighting is not None
    worries = by_name(found, "worries")
    # Reference: every respondent weighted one at a time, each option a yes/no share.
    shifts = dict(
        Answer.objects.filter(survey=survey, question__name="shift").values_list(
            "response_id", "choice__name"
        )
    )
    ids = sorted(shifts)
    weights = survey_stats.post_stratify(
        np.ones(len(ids)), [shifts[r] for r in ids], {"day": 30, "night": 70}
    ).weights
    ticked: dict[int, set[str]] = {r: set() for r in ids}
    for response_id, name in Answer.objects.filter(
        survey=survey, question__name="worries"
    ).values_list("response_id", "choice__name"):
        ticked[response_id].add(name)
    expected = {
        option: float(np.average([option in ticked[r] for r in ids], weights=weights))
        for option in ("rates", "cameras", "sharing")
    }
    rows = {r.name: r for r in worries.rows}
    # Everyone ticked rates: hidden, unweighted and weighted alike.
    assert rows["rates"].hidden
    assert rows["rates"].weighted is None
    assert rows["cameras"].weighted == pytest.approx(expected["cameras"])
    assert rows["sharing"].weighted == pytest.approx(expected["sharing"])
    # 0.3 * 5/12 + 0.7 * 5/10, not the unweighted 10/22.
    assert rows["cameras"].weighted == pytest.approx(0.3 * 5 / 12 + 0.7 * 0.5)
    assert rows["sharing"].weighted == pytest.approx(0.3 * 7 / 12 + 0.7 * 0.5)
    html = member_page(survey, weighted="1")
    section = section_of(html, worries)
    assert "Weighted %" in section
    assert f"<td>{rows['cameras'].weighted_percent} " in section


def test_ranking_questions_are_weighted_by_first_places() -> None:
    survey = make_survey(CommunityFactory(small_group_threshold=THRESHOLD), status="open")
    priorities = Question.objects.create(
        survey=survey,
        section=survey.sections.get(order=2),
        order=9,
        name="priorities",
        type=Question.Type.RANKING,
        label={"en": "Priorities"},
    )
    for order, name in enumerate(("pay", "privacy"), 1):
        Choice.objects.create(question=priorities, order=order, name=name, label={"en": name})
    for shift, pay_first, privacy_first in (("day", 5, 5), ("night", 5, 7)):
        for ranked, n in ((["pay", "privacy"], pay_first), (["privacy", "pay"], privacy_first)):
            for _ in range(n):
                answer(survey, shift=shift, disciplined="no", priorities=ranked)
    set_targets(survey, {"day": 30, "night": 70})
    found = by_name(selectors.results(survey, weighted=True), "priorities")
    assert [r.count for r in found.rows] == [10, 12]  # ranked first
    assert [r.weighted for r in found.rows] == pytest.approx(
        [0.3 * 5 / 10 + 0.7 * 5 / 12, 0.3 * 5 / 10 + 0.7 * 7 / 12]
    )


def test_weighting_by_a_question_with_a_small_group_is_refused_when_saved() -> None:
    """The weighting page says at once that the results could never be weighted by it,
    naming no answer, and nothing is saved; a question whose groups are big enough is
    saved."""
    survey = reviewer_survey()
    client = signed_in(OrganiserFactory.create(community=survey.community).user)
    url = reverse("surveys:weighting", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    page = client.post(
        url, {"question": "shift", "pop_day": "100", "pop_night": "100", "pop_weekend": "100"}
    ).content.decode()
    assert "can&#x27;t be weighted by this question: fewer than 5 people" in page
    assert "weekend" not in page.split("There is a problem")[1][:400].lower()
    assert "wait until more people have answered" in page
    assert Survey.objects.get(pk=survey.pk).weighting_targets == {}
    # Once closed, waiting for more answers is no way out: it is not suggested.
    close(survey)
    page = client.post(
        url, {"question": "shift", "pop_day": "100", "pop_night": "100", "pop_weekend": "100"}
    ).content.decode()
    assert "Choose another question." in page
    assert "wait until more people have answered" not in page
    assert Survey.objects.get(pk=survey.pk).weighting_targets == {}
