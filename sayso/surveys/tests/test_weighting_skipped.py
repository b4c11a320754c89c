# mypy: disable-error-code="no-untyped-call,arg-type"
"""People who skipped a question the weighting uses are in no weighting cell: the
weighted figures leave them out, the unweighted ones count them. A reviewer set the two
side by side: 42 responses, an effective sample size of 40 (2 skipped, which the
question's own "fewer than 5 did not answer" hides), "Yes" 22 unweighted against 50 % of
40 = 20 weighted: both skippers said yes. Their ages came back the same way, from the
weighted and the unweighted average.

The people in no cell are now a cell of their own: weighting is refused when they are
1 to the threshold less one (in the selection and in each group of a filter's
question), and a question's weighted figures when their answers to it would not be
shown in a breakdown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import selectors, services
from sayso.surveys.models import Survey

from .factories import answer, close, make_survey, survey_url

pytestmark = pytest.mark.django_db


def build(skippers: list[dict[str, Any]], *, breakdown: str = "") -> tuple[Survey, Client]:
    """20 day and 20 night workers (10 of each disciplined), the shift question
    optional and the weighting's (day 100, night 100), and `skippers` who did not
    answer it."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    survey.questions.filter(name="shift").update(required=False, is_breakdown=False)
    if breakdown:
        survey.questions.filter(name=breakdown).update(is_breakdown=True)
    for shift in ("day", "night"):
        for i in range(20):
            answer(
                survey,
                shift=shift,
                disciplined="yes" if i % 2 else "no",
                age=30 + (i % 2) * 10 + (5 if shift == "night" else 0),
            )
    for values in skippers:
        answer(survey, **values)
    survey.weighting_targets = {"shift": {"day": 100, "night": 100}}
    survey.save(update_fields=["weighting_targets"])
    close(survey)
    client = signed_in(MembershipFactory(community=community).user)
    return survey, client


def page(client: Client, survey: Survey, query: dict[str, str]) -> tuple[Any, str]:
    response = client.get(survey_url("results", survey), query)
    assert response.status_code == 200
    return response.context["results"], response.content.decode()


def result(found: selectors.Results, name: str) -> selectors.QuestionResult:
    return next(r for r in found.questions if r.question.name == name)


def shown(found: Any, name: str) -> dict[str, int | None]:
    return {row.label: row.count for row in result(found, name).rows}


@pytest.mark.parametrize("audience", ["members", "published"])
def test_two_skippers_stop_the_weighting_and_the_unweighted_figures_stay(audience: str) -> None:
    survey, client = build([{"disciplined": "yes", "age": 50}, {"disciplined": "yes", "age": 77}])
    found, html = page(client, survey, {"weighted": "1", "audience": audience})
    assert found.weighting is None
    assert "Effective sample size" not in html
    threshold = found.threshold
    assert found.weighting_refusal == (
        f"These results are not weighted: a few people (fewer than {threshold}) skipped a "
        "question the weighting uses. Weighted figures leave out people who did not answer "
        "those questions, so setting them beside the unweighted figures could reveal their "
        "answers. To weight the results, stop weighting by the question they skipped, on "
        "the weighting page. The figures below are not weighted."
    )
    assert found.weighting_refusal in html
    disciplined = result(found, "disciplined")
    assert all(row.weighted is None for row in disciplined.rows)
    assert result(found, "age").weighted_mean is None
    assert "Weighted average" not in html
    # The unweighted figures are shown as without weighting.
    assert found.respondents == 42
    assert shown(found, "disciplined") == {"Yes": 22, "No": 20}
    assert result(found, "age").mean == pytest.approx((20 * 35 + 20 * 40 + 127) / 42)
    unweighted, _html = page(client, survey, {"audience": audience})
    assert shown(unweighted, "disciplined") == shown(found, "disciplined")


def test_one_skipper_s_age_does_not_come_back() -> None:
    survey, client = build([{"disciplined": "yes", "age": 77}])
    found, html = page(client, survey, {"weighted": "1"})
    assert found.weighting is None
    age = result(found, "age")
    assert age.weighted_mean is None
    assert age.mean is not None  # the unweighted average of 41 answers
    assert "Weighted average" not in html


def test_enough_skippers_leave_the_weighting_and_its_figures_shown() -> None:
    """Ten people in no cell are a group like any other: the weighted figures differ
    from the unweighted by their answers, 5 yes and 5 no, as a breakdown would show."""
    skippers = [{"disciplined": "yes" if i % 2 else "no", "age": 25 + 3 * i} for i in range(10)]
    survey, client = build(skippers)
    found, html = page(client, survey, {"weighted": "1"})
    assert found.weighting_refusal == ""
    assert found.weighting is not None
    assert re.search(r"Effective sample size: 40\b", html)
    disciplined = result(found, "disciplined")
    assert [row.weighted for row in disciplined.rows] == pytest.approx([0.5, 0.5])
    assert disciplined.weighted_in_full
    assert result(found, "age").weighted_mean == pytest.approx(37.5)


def test_skippers_who_all_gave_one_answer_keep_that_question_unweighted() -> None:
    """Ten skippers, all disciplined: the weighted share beside the unweighted one
    would say so. Their answers to other questions can still be weighted."""
    skippers = [{"disciplined": "yes", "age": 25 + 3 * i} for i in range(10)]
    survey, client = build(skippers)
    found, _html = page(client, survey, {"weighted": "1"})
    assert found.weighting is not None
    disciplined = result(found, "disciplined")
    assert all(row.weighted is None for row in disciplined.rows)
    assert shown(found, "disciplined") == {"Yes": 30, "No": 20}
    assert disciplined.weighting_note.startswith("Some weighted figures are not shown")
    assert result(found, "age").weighted_mean == pytest.approx(37.5)


def test_skippers_are_checked_in_each_group_of_the_filter_s_question() -> None:
    """Six skippers overall, but only one of them not disciplined: filtered by
    "disciplined", that group's weighted figures against its unweighted ones would give
    the one person's answers, so the weighting is refused in every filter of it, and
    unfiltered the weighted shares of "disciplined" are not shown."""
    skippers = [{"disciplined": "yes", "age": 25 + 3 * i} for i in range(5)]
    skippers.append({"disciplined": "no", "age": 61})
    survey, client = build(skippers, breakdown="disciplined")
    for choice in ("yes", "no"):
        found, _html = page(client, survey, {"weighted": "1", "only": f"disciplined:{choice}"})
        assert found.filter_label, found.refusal
        assert found.weighting is None
        assert "a few people (fewer than 5) skipped a question" in found.weighting_refusal
        assert result(found, "age").mean is not None
    everyone, _html = page(client, survey, {"weighted": "1"})
    assert everyone.weighting is not None
    assert all(row.weighted is None for row in result(everyone, "disciplined").rows)


def test_a_weighting_question_a_few_skipped_is_refused_when_saved() -> None:
    survey, _client = build([{"disciplined": "yes", "age": 50}, {"disciplined": "no", "age": 51}])
    survey.weighting_targets = {}
    survey.save(update_fields=["weighting_targets"])
    shift = survey.questions.get(name="shift")
    with pytest.raises(ServiceError) as refused:
        services.set_weighting_targets(
            survey=survey, question=shift, population={"day": 100, "night": 100}
        )
    assert str(refused.value).startswith(
        "Results can't be weighted by this question: a few people (fewer than 5) skipped it"
    )
    assert "2" not in str(refused.value)
    survey.refresh_from_db()
    assert survey.weighting_targets == {}


def test_a_second_weighting_question_counts_those_who_skipped_either() -> None:
    """Raking by shift and disciplined: everyone answered disciplined, but two skipped
    shift, so two are in no cell of the pair."""
    survey, _client = build([{"disciplined": "yes", "age": 50}, {"disciplined": "no", "age": 51}])
    survey.weighting_targets = {"disciplined": {"yes": 100, "no": 100}}
    survey.save(update_fields=["weighting_targets"])
    shift = survey.questions.get(name="shift")
    with pytest.raises(ServiceError) as refused:
        services.set_weighting_targets(
            survey=survey, question=shift, population={"day": 100, "night": 100}
        )
    assert "a few people (fewer than 5) skipped it" in str(refused.value)
    survey.refresh_from_db()
    assert survey.weighting_targets == {"disciplined": {"yes": 100, "no": 100}}


def test_a_weighting_question_nobody_or_enough_skipped_is_saved() -> None:
    skippers = [{"disciplined": "yes" if i % 2 else "no", "age": 25 + 3 * i} for i in range(5)]
    for skipped in ([], skippers):
        survey, _client = build(skipped)
        survey.weighting_targets = {}
        survey.save(update_fields=["weighting_targets"])
        shift = survey.questions.get(name="shift")
        services.set_weighting_targets(
            survey=survey, question=shift, population={"day": 100, "night": 100}
        )
        survey.refresh_from_db()
        assert survey.weighting_targets == {"shift": {"day": 100, "night": 100}}
