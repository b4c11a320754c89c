# mypy: disable-error-code="no-untyped-call,arg-type"
"""A number question's results: its average with a 95% interval, how the answers
spread (counts in rounded ranges, protected like a choice question's counts in every
view), the middle value when the shown ranges give it, the weighted average, and a
citation that keeps the figure, n, interval and date.

The reviewer's page showed only "Average 44.1, from 17 answers." with no interval, no
spread and no way to cite it.
"""

from __future__ import annotations

import re
import statistics
from typing import Any

import pytest
from django.core.cache import cache
from scipy import stats

from sayso.analysis import survey_stats
from sayso.core.models import Citation
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import selectors
from sayso.surveys.models import Question, Survey

from .factories import (
    answer,
    close,
    make_survey,
    organiser_client,
    results_in_views,
    survey_url,
)
from .test_results_joint import Figure, recoverable

pytestmark = pytest.mark.django_db

# (shift, age, how many people): 60 people, ages in four decades; only 2 night
# workers in their twenties, a count the night shift's table must hide.
PEOPLE = [
    ("day", 25, 8),
    ("night", 25, 2),
    ("day", 35, 10),
    ("night", 35, 12),
    ("day", 45, 8),
    ("night", 45, 10),
    ("day", 55, 4),
    ("night", 55, 6),
]


def build(*, whole: bool = False, people: list[tuple[str, int, int]] = PEOPLE) -> Survey:
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="age").update(whole_number=whole)
    for shift, age, n in people:
        for _ in range(n):
            answer(survey, shift=shift, age=age, disciplined="no")
    return survey


def age_of(found: selectors.Results) -> selectors.QuestionResult:
    return next(r for r in found.questions if r.question.name == "age")


def section(html: str, survey: Survey, name: str = "age") -> str:
    pk = survey.questions.get(name=name).pk
    return html.split(f'id="q-{pk}"', 1)[1].split("</section>", 1)[0]


def test_the_average_has_a_95_percent_interval_and_the_answers_are_counted_in_ranges() -> None:
    survey = build()
    ages = [age for _shift, age, n in PEOPLE for _ in range(n)]
    age = age_of(selectors.results(survey))
    assert age.respondents == 60
    assert age.mean == pytest.approx(statistics.mean(ages))
    # Student's t on n - 1, as R's confint(svymean(...), df = degf(design)) gives.
    margin = stats.t.ppf(0.975, 59) * statistics.stdev(ages) / 60**0.5
    assert age.mean_low == pytest.approx(statistics.mean(ages) - margin)
    assert age.mean_high == pytest.approx(statistics.mean(ages) + margin)
    # Ranges of one rounded width, chosen over everyone (at the published threshold,
    # 10: every range here has at least 10).
    assert [(r.label, r.count) for r in age.rows] == [
        ("20 to under 30", 10),
        ("30 to under 40", 22),
        ("40 to under 50", 18),
        ("50 to under 60", 10),
    ]
    assert [r.percent for r in age.rows] == ["17%", "37%", "30%", "17%"]
    low, high = survey_stats.wilson_interval(22 / 60, 60)
    assert age.rows[1].low == pytest.approx(low)
    assert age.rows[1].high == pytest.approx(high)
    # The middle (the 30th and 31st answers) lies in 30 to under 40, which holds the
    # 11th to 32nd: 30 + (30 - 10) / 22 * 10, interpolated as the grouped median is.
    assert age.median == pytest.approx(30 + 20 / 22 * 10)
    html = section(
        organiser_client(survey).get(survey_url("results", survey)).content.decode(), survey
    )
    mean = statistics.mean(ages)
    assert mean == pytest.approx(39.667, abs=1e-3)
    assert (
        f"Average 39.7, from 60 answers. 95% interval: {mean - margin:.1f} to {mean + margin:.1f}."
        in html
    )
    assert "Middle value (median): about 39.1, estimated from the ranges below." in html
    assert '<th scope="row">30 to under 40</th><td>22</td><td>37%</td>' in html
    assert "chart.svg" in html


def test_whole_numbers_are_shown_in_whole_number_ranges() -> None:
    survey = build(whole=True)
    age = age_of(selectors.results(survey))
    assert [r.label for r in age.rows] == ["20 to 29", "30 to 39", "40 to 49", "50 to 59"]
    # 19.5 to 29.5 holds 20 to 29: the interpolation starts half a year earlier.
    assert age.median == pytest.approx(29.5 + 20 / 22 * 10)
    html = section(
        organiser_client(survey).get(survey_url("results", survey)).content.decode(), survey
    )
    assert "Middle value (median): about 39, estimated from the ranges below." in html


def test_no_range_gives_away_the_youngest_or_oldest_answer() -> None:
    """An outlier (17, 79) never shows as an edge or a range of its own: the first
    and last ranges take in their neighbours, open-ended, until they hold at least
    the published threshold (10)."""
    people = [*PEOPLE, ("day", 17, 1), ("night", 79, 1), ("day", 66, 2)]
    survey = build(people=people)
    for audience in ("members", "published"):
        age = age_of(selectors.results(survey, audience=audience))
        labels = [r.label for r in age.rows]
        assert labels == ["Under 30", "30 to under 40", "40 to under 50", "50 or more"], audience
        assert not any(str(extreme) in label for label in labels for extreme in (17, 66, 79))
        assert (age.rows[0].count, age.rows[-1].count) == (11, 13)  # 1 + 10, 10 + 2 + 1
    page = organiser_client(survey).get(survey_url("results", survey)).content.decode()
    # What a reader sees of the question, markup left out: the page's tokens and ids
    # are random or counted and may hold "79".
    words = re.sub(r"<[^>]+>", " ", section(page, survey))
    assert "79" not in words


def test_the_middle_value_is_worked_out_only_from_shown_counts() -> None:
    rows = [
        selectors.Row("Under 30", "range0", 10, 10 / 60),
        selectors.Row("30 to under 40", "range1", 22, 22 / 60),
        selectors.Row("40 to under 50", "range2", None, None, hidden=True),
        selectors.Row("50 or more", "range3", None, None, hidden=True),
    ]
    from decimal import Decimal

    edges = [
        (None, Decimal(30)),
        (Decimal(30), Decimal(40)),
        (Decimal(40), Decimal(50)),
        (Decimal(50), None),
    ]
    # Counted from below: every range up to the middle one is shown.
    assert selectors._median_from_rows(rows, edges, 60, False) == pytest.approx(39.0909, abs=1e-4)
    # From above only, when a range below is hidden.
    rows[0] = selectors.Row("Under 30", "range0", None, None, hidden=True)
    rows[2] = selectors.Row("40 to under 50", "range2", 18, 0.3)
    rows[3] = selectors.Row("50 or more", "range3", 10, 10 / 60)
    assert selectors._median_from_rows(rows, edges, 60, False) == pytest.approx(39.0909, abs=1e-4)
    # Hidden on both sides of it, or in an open-ended range: none.
    rows[3] = selectors.Row("50 or more", "range3", None, None, hidden=True)
    assert selectors._median_from_rows(rows, edges, 60, False) is None
    open_ended = [
        selectors.Row("Under 40", "range0", 32, 0.5),
        selectors.Row("40 or more", "range1", 28, 0.5),
    ]
    assert (
        selectors._median_from_rows(
            open_ended, [(None, Decimal(40)), (Decimal(40), None)], 60, False
        )
        is None
    )


def figures(found: dict[str, selectors.QuestionResult]) -> list[Figure]:
    """Every figure of the age question in every view, as a sum of unknowns: the
    people of each shift in each range."""
    labels = [r.label for r in found["everyone"].rows]
    out: list[Figure] = []
    for view, result in found.items():
        assert not result.refusal, (view, result.refusal)
        assert [r.label for r in result.rows] == labels  # the same ranges in every view
        groups = ("day", "night") if view == "everyone" else (view,)
        out.append(({f"{label}|{g}": 1 for label in labels for g in groups}, result.respondents))
        for row in result.rows:
            out.append(({f"{row.label}|{g}": 1 for g in groups}, row.count))
    return out


def test_no_hidden_range_can_be_worked_out_from_another_view() -> None:
    survey = build()
    close(survey)
    client = signed_in(MembershipFactory(community=survey.community).user)
    views = {"everyone": {}, "day": {"only": "shift:day"}, "night": {"only": "shift:night"}}
    found = results_in_views(client, survey, "age", views)
    every = figures(found)
    shown = [f for f in every if f[1] is not None]
    shown += [({k: 1}, 0) for c, v in list(shown) if v == 0 for k in c]
    hidden = [f for f in every if f[1] is None]
    assert {"20 to under 30|night": 1} in [c for c, _v in hidden]  # the 2 night workers
    assert recoverable(shown, hidden) == []
    # The night shift's average is still shown: a mean of at least the threshold.
    assert found["night"].mean == pytest.approx((2 * 25 + 12 * 35 + 10 * 45 + 6 * 55) / 30)
    assert found["night"].median is None  # its range below the middle is hidden


def test_the_snapshot_and_a_count_made_now_give_the_same_figures(settings: Any) -> None:
    survey = build()
    settings.SAYSO = {**settings.SAYSO, "SURVEY_RESULTS_CACHE_FROM": 0}  # kept, however small
    cache.clear()
    try:
        counted = age_of(selectors.results(survey))
        kept = age_of(selectors.results(survey))  # read back from the cache
        # No question to split by: counted now, with no snapshot at all.
        Question.objects.filter(survey=survey, name="shift").update(is_breakdown=False)
        now = age_of(selectors.results(Survey.objects.get(pk=survey.pk)))
    finally:
        cache.clear()
    for found in (kept, now):
        assert [(r.label, r.count, r.hidden) for r in found.rows] == [
            (r.label, r.count, r.hidden) for r in counted.rows
        ]
        assert (found.mean, found.mean_low, found.mean_high, found.median) == pytest.approx(
            (counted.mean, counted.mean_low, counted.mean_high, counted.median)
        )


def test_a_number_result_is_cited_with_its_figure_n_interval_and_date() -> None:
    survey = build()
    client = organiser_client(survey)
    page = section(
        client.get(survey_url("results", survey), {"audience": "published"}).content.decode(),
        survey,
    )
    assert "Cite as evidence" in page
    question = survey.questions.get(name="age")
    cited = client.post(survey_url("cite", survey, question=question.pk))
    assert cited.status_code == 302
    snapshot = Citation.objects.get().snapshot
    age = age_of(selectors.results(survey, audience="published"))
    assert snapshot["n"] == 60
    assert snapshot["date"] == str(survey.responses.values_list("submitted_on", flat=True)[0])
    assert snapshot["average"] == {
        "value": pytest.approx(age.mean),
        "ci_low": pytest.approx(age.mean_low),
        "ci_high": pytest.approx(age.mean_high),
        "median": pytest.approx(age.median),
        "whole_numbers": False,
    }
    assert [(f["option"], f["count"]) for f in snapshot["figures"]] == [
        ("20 to under 30", 10),
        ("30 to under 40", 22),
        ("40 to under 50", 18),
        ("50 to under 60", 10),
    ]
    listed = client.get(survey_url("results", survey), {"audience": "published"}).content.decode()
    listed = listed.split('id="citations"', 1)[1]
    assert (
        f"Average 39.7 (95% interval {age.mean_low:.1f} to {age.mean_high:.1f}); middle value "
        "about 39.1." in listed
    )
    # And on the community's Evidence page, in the same words.
    evidence = client.get(f"/c/{survey.community.slug}/evidence/").content.decode()
    assert (
        f"Average 39.7 (95% interval {age.mean_low:.1f} to {age.mean_high:.1f}); middle value "
        "about 39.1." in evidence
    )


def test_hidden_ranges_leave_the_average_citable_without_them() -> None:
    # Only 8 in their thirties: hidden in the published view (threshold 10), with one
    # more range so that the total does not give it away.
    people = [
        ("day", 25, 13),
        ("night", 25, 12),
        ("day", 35, 4),
        ("night", 35, 4),
        ("day", 45, 14),
        ("night", 45, 13),
    ]
    survey = build(people=people)
    client = organiser_client(survey)
    page = section(
        client.get(survey_url("results", survey), {"audience": "published"}).content.decode(),
        survey,
    )
    assert "hidden (small group)" in page
    assert "a citation keeps the average, its interval and the middle value" in page
    question = survey.questions.get(name="age")
    assert client.post(survey_url("cite", survey, question=question.pk)).status_code == 302
    snapshot = Citation.objects.get().snapshot
    assert snapshot["figures"] == []  # none of the ranges, rather than some of them
    assert snapshot["average"]["value"] == pytest.approx(2120 / 60)
    assert snapshot["average"]["median"] is None  # hidden on both sides of the middle


def test_the_weighted_average_is_the_design_based_mean_of_the_weighted_answers() -> None:
    survey = build()
    client = organiser_client(survey)
    saved = client.post(
        survey_url("weighting", survey), {"question": "shift", "pop_day": "300", "pop_night": "100"}
    )
    assert saved.status_code == 302
    survey.refresh_from_db()
    age = age_of(selectors.results(survey, weighted=True))
    # Each person weighted to their shift's share of the population, one by one.
    values = [age for _shift, age, n in PEOPLE for _ in range(n)]
    shift_sizes = {"day": 30, "night": 30}
    weights = [
        {"day": 300, "night": 100}[shift] / shift_sizes[shift]
        for shift, _age, n in PEOPLE
        for _ in range(n)
    ]
    expected = survey_stats.mean(values, weights=weights)
    margin = stats.t.ppf(0.975, 59) * expected.se
    assert age.weighted_mean == pytest.approx(expected.value)
    assert age.weighted_mean_low == pytest.approx(expected.value - margin)
    assert age.weighted_mean_high == pytest.approx(expected.value + margin)
    assert age.weighted_in_full
    # Counted now, with no question to split by (no snapshot): the same figures.
    Question.objects.filter(survey=survey, name="shift").update(is_breakdown=False)
    now = age_of(selectors.results(Survey.objects.get(pk=survey.pk), weighted=True))
    assert (now.weighted_mean, now.weighted_mean_low, now.weighted_mean_high) == pytest.approx(
        (age.weighted_mean, age.weighted_mean_low, age.weighted_mean_high)
    )
    Question.objects.filter(survey=survey, name="shift").update(is_breakdown=True)
    html = section(
        client.get(survey_url("results", survey), {"weighted": "1"}).content.decode(), survey
    )
    assert f"Weighted average {expected.value:.1f}." in html
    assert "Only the average is weighted: the ranges and the middle value are unweighted" in html


def test_a_weighted_average_is_withheld_when_few_in_a_weighting_group_answered() -> None:
    """Beside the unweighted average, the weighted one would give the night shift's
    average: from 3 people, their ages."""
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    for i in range(20):
        answer(survey, shift="day", age=20 + i, disciplined="no")
    for i in range(10):
        answer(survey, shift="night", disciplined="no", **({"age": 60 + i} if i < 3 else {}))
    client = organiser_client(survey)
    client.post(
        survey_url("weighting", survey), {"question": "shift", "pop_day": "300", "pop_night": "100"}
    )
    survey.refresh_from_db()
    age = age_of(selectors.results(survey, weighted=True))
    assert age.mean is not None  # the unweighted average of 23 answers
    assert age.weighted_mean is None
    assert not age.weighted_in_full
    assert age.weighting_note.startswith("The weighted average is not shown: in a group")


def test_a_question_asked_by_a_number_s_answer_is_withheld_while_a_range_is_hidden() -> None:
    """Asked of those aged 50 or more, its "10 people answered" is the count of the
    range "50 to under 60", hidden for the day shift (4): the follow-up's figures
    would give such counts back (here the day shift's), so they are withheld."""
    survey = build()
    Question.objects.create(
        survey=survey,
        section=survey.sections.get(order=1),
        order=3,
        name="pension",
        type=Question.Type.NUMBER,
        label={"en": "Years to your pension?"},
        relevant="${age} >= 50",
    )
    for _ in range(5):  # more in their fifties, now answering the new question too
        answer(survey, shift="night", age=55, disciplined="no", pension=10)
    shift = survey.questions.get(name="shift")
    day = age_of(selectors.results(survey, only=(shift, "day")))
    assert any(r.hidden for r in day.rows)  # 50 to under 60: 4 day workers
    for found in (selectors.results(survey), selectors.results(survey, only=(shift, "night"))):
        pension = next(r for r in found.questions if r.question.name == "pension")
        assert pension.refusal.startswith("This question was asked only of people who gave")
        assert (pension.mean, pension.respondents, pension.rows) == (None, 0, [])


def counts_of(values: dict[float, int]) -> selectors.NumberCounts:
    """NumberCounts of answers given `values` times each, as the database counts them."""
    import math

    n = sum(values.values())
    total = sum(v * m for v, m in values.items())
    squares = sum(v * v * m for v, m in values.items())
    exponent = selectors._fine_exponent(n, total, squares)
    bins: dict[int, int] = {}
    for value, m in values.items():
        j = math.floor(value / 10**exponent + 1e-9)
        bins[j] = bins.get(j, 0) + m
    return selectors.NumberCounts(
        exponent, (((), n, total, squares),), tuple((j, (), m) for j, m in bins.items())
    )


def test_answers_far_apart_get_wider_ranges_not_a_long_list_of_empty_ones() -> None:
    bins = selectors._number_bins(counts_of({0: 1000, 1000: 10}), 10, True)
    assert bins is not None
    labels = [selectors._range_label(low, high, True) for low, high in bins.rows]
    assert len(labels) <= selectors.RANGES_LISTED
    assert (labels[0], labels[-1]) == ("0 to 99", "1,000 to 1,099")


def test_one_range_holding_everyone_is_not_shown() -> None:
    # Every answer the same, or too few to make two ranges of the threshold.
    assert selectors._number_bins(counts_of({44: 17}), 10, True) is None
    assert selectors._number_bins(counts_of({30: 4, 50: 5}), 10, True) is None
    assert selectors._mean_estimate([(1.0, 17, 44.0 * 17, 44.0**2 * 17)]) == (44.0, None, None)
