# mypy: disable-error-code="no-untyped-call,arg-type"
"""A number question's average where everyone in a group gave the same answer, or an
answer in the same range, is withheld in every view.

A reviewer narrowed the results to the night shift: every range hidden (all 12 in one),
yet "Average 45.0, from 12 answers" with no interval said each of them is 45, and then
the day shift's hidden "40 to under 60" was 15 - 12 = 3. Withholding the night shift's
average alone would not do: everyone's average less the day shift's gives it back, and
an average shown in one view and not in another would say which group it is. So the
rule is the question's, the same in every view and for every audience: its average is
withheld wherever a group the results can be narrowed to (or everyone) gave answers all
in one range, or all alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sayso.core.models import Citation
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import selectors
from sayso.surveys.models import Question, Survey

from .factories import answer, close, make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db

VIEWS: list[dict[str, str]] = [{}, {"only": "shift:night"}, {"only": "shift:day"}]
WITHHELD = (
    "The average is not shown: in at least one group these results can be split by, "
    "everyone gave the same or nearly the same answer, so an average would give their "
    "answers away."
)


def build(night_ages: list[int], *, weighting: bool = False) -> tuple[Survey, Client]:
    """Day: 20 aged 20 to 39 and 3 aged 41 to 43; night: `night_ages`."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for i in range(20):
        answer(survey, shift="day", disciplined="no", age=20 + i)
    for age in (41, 42, 43):
        answer(survey, shift="day", disciplined="no", age=age)
    for age in night_ages:
        answer(survey, shift="night", disciplined="no", age=age)
    if weighting:
        survey.weighting_targets = {"shift": {"day": 100, "night": 100}}
        survey.save(update_fields=["weighting_targets"])
    close(survey)
    client = signed_in(MembershipFactory(community=community).user)
    return survey, client


def age_in(client: Client, survey: Survey, query: dict[str, str]) -> tuple[Any, str]:
    response = client.get(survey_url("results", survey), query)
    assert response.status_code == 200
    found = response.context["results"]
    assert not found.refusal, found.refusal
    age = next(r for r in found.questions if r.question.name == "age")
    html = response.content.decode()
    pk = survey.questions.get(name="age").pk
    return age, html.split(f'id="q-{pk}"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("audience", ["members", "published"])
def test_a_group_of_one_age_has_no_average_in_any_view(audience: str) -> None:
    survey, client = build([45] * 12)
    for view in VIEWS:
        age, html = age_in(client, survey, {**view, "audience": audience})
        assert not age.refusal, (view, age.refusal)
        assert (age.mean, age.mean_low, age.mean_high) == (None, None, None), view
        assert "Average" not in html, view
        assert WITHHELD in html, view
    # Everyone's ranges are still shown, and how many answered.
    age, html = age_in(client, survey, {"audience": audience})
    assert [(row.label, row.count) for row in age.rows] == [
        ("20 to under 40", 20),
        ("40 to under 60", 15),
    ]
    assert "35 people answered" in html


def test_the_weighted_average_is_withheld_with_it() -> None:
    survey, client = build([45] * 12, weighting=True)
    age, html = age_in(client, survey, {"weighted": "1"})
    assert age.weighted_mean is None
    assert "Average" not in html
    assert "Weighted average" not in html


def test_averages_with_spread_in_every_group_are_shown() -> None:
    night = [30, 31, 33, 35, 36, 38, 45, 46, 48, 50, 52, 55]
    survey, client = build(night, weighting=True)
    for view in VIEWS:
        for audience in ("members", "published"):
            age, html = age_in(client, survey, {**view, "audience": audience, "weighted": "1"})
            assert age.mean is not None, view
            assert age.mean_low is not None, view
            # Narrowed to one shift, weighting by shift has nothing to weight.
            assert (age.weighted_mean is not None) == (view == {}), view
            assert f"Average {age.mean:.1f}, from {age.respondents} answers." in html
            assert WITHHELD not in html
    everyone = [20 + i for i in range(20)] + [41, 42, 43] + night
    age, _html = age_in(client, survey, {})
    assert age.mean == pytest.approx(sum(everyone) / len(everyone))


def test_everyone_giving_the_same_answer_has_no_average() -> None:
    """No question to narrow by: everyone is the only group. All 15 aged 30."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="shift").update(is_breakdown=False)
    for _ in range(15):
        answer(survey, shift="day", disciplined="no", age=30)
    close(survey)
    client = signed_in(MembershipFactory(community=community).user)
    age, html = age_in(client, survey, {})
    assert age.mean is None
    assert age.respondents == 15
    assert "Average" not in html
    assert WITHHELD in html


def test_a_withheld_average_is_not_cited() -> None:
    survey, _client = build([45] * 12)
    client = organiser_client(survey)
    age, html = age_in(client, survey, {"audience": "published"})
    assert "Cite as evidence" in html  # its ranges, none of them hidden
    cited = client.post(survey_url("cite", survey, question=age.question.pk))
    assert cited.status_code == 302
    snapshot = Citation.objects.get().snapshot
    assert "average" not in snapshot
    assert [(f["option"], f["count"]) for f in snapshot["figures"]] == [
        ("20 to under 40", 20),
        ("40 to under 60", 15),
    ]
    listed = client.get(survey_url("results", survey), {"audience": "published"}).content.decode()
    assert "Average" not in listed.split('id="citations"', 1)[1]


def test_a_weighting_group_of_one_age_has_no_weighted_average() -> None:
    """Weighted by shift, not a question to narrow by: the weighted average beside the
    unweighted one (and their intervals) gives each shift's, and the night shift's,
    all 45, would be each night worker's age."""
    survey, _client = build([45] * 12, weighting=True)
    Question.objects.filter(survey=survey, name="shift").update(is_breakdown=False)
    found = selectors.results(Survey.objects.get(pk=survey.pk), weighted=True)
    assert found.weighting is not None
    age = next(r for r in found.questions if r.question.name == "age")
    assert age.mean is not None  # everyone's answers spread
    assert age.weighted_mean is None
    assert age.weighting_note.startswith("The weighted average is not shown")
