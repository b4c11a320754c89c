# mypy: disable-error-code="no-untyped-call,arg-type"
"""A date question's months are chosen once, for members and for the published figures.

A date question's results count the answers by month; the months with fewer than the
threshold go into "Other months". Before, each audience chose its months at its own
threshold (members 5, published 10), so the members' table listed months that the
published table folded into "Other months". Members can read both, and subtracting
one table from the other gave back a count of fewer than 5 that each hides on its
own. Number questions never had this: their ranges are chosen once over everyone at
the published threshold. Months now follow the same rule.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.surveys import selectors
from sayso.surveys.models import Question, Survey

from .factories import answer, close, results_in_views, survey_with_extra_question
from .test_results_joint import Figure, recoverable

pytestmark = pytest.mark.django_db

# (shift, the date given, how many people): 41 people, 17 on days and 24 on nights.
# Over everyone: January 13, February 20, March 7, April 1.
PEOPLE = [
    ("day", "2026-01-12", 4),
    ("night", "2026-01-20", 9),
    ("day", "2026-02-03", 13),
    ("night", "2026-02-25", 7),
    ("night", "2026-03-09", 7),
    ("night", "2026-04-15", 1),
]
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")
TRUE = {
    "2026-01|day": 4,
    "2026-01|night": 9,
    "2026-02|day": 13,
    "2026-02|night": 7,
    "2026-03|day": 0,
    "2026-03|night": 7,
    "2026-04|day": 0,
    "2026-04|night": 1,
}
FILTERS = {"everyone": {}, "day": {"only": "shift:day"}, "night": {"only": "shift:night"}}
AUDIENCES = ("members", "published")
Found = dict[tuple[str, str], selectors.QuestionResult]


def build(*, splits: bool = True) -> tuple[Survey, Client]:
    survey = survey_with_extra_question(
        Question.Type.DATE, "started", "When did the scanners start?"
    )
    if not splits:  # no question to filter by: the results are counted without the joint table
        survey.questions.filter(name="shift").update(is_breakdown=False)
    for shift, started, n in PEOPLE:
        for _ in range(n):
            answer(survey, shift=shift, disciplined="no", started=started)
    close(survey)  # members read the figures once the survey is closed
    assert survey.community.small_group_threshold == 5
    client = signed_in(MembershipFactory(community=survey.community).user)
    return survey, client


def shown(survey: Survey, client: Client, filters: dict[str, dict[str, str]]) -> Found:
    """The date question as a member sees it in each view, members' and published."""
    out: Found = {}
    for audience in AUDIENCES:
        views = {name: {**query, "audience": audience} for name, query in filters.items()}
        for name, result in results_in_views(client, survey, "started", views).items():
            assert not result.refusal, (audience, name, result.refusal)
            out[(audience, name)] = result
    return out


def figures(found: Found, audience: str) -> list[Figure]:
    """Every figure of `audience`'s views, as a sum of the unknown counts per month
    and shift."""
    out: list[Figure] = []
    for (seen_by, name), result in found.items():
        if seen_by != audience:
            continue
        groups = ("day", "night") if name == "everyone" else (name,)
        listed = [row.name for row in result.rows if row.name != "other"]
        out.append(({f"{m}|{g}": 1 for m in MONTHS for g in groups}, result.respondents))
        for row in result.rows:
            months = [m for m in MONTHS if m not in listed] if row.name == "other" else [row.name]
            out.append(({f"{m}|{g}": 1 for m in months for g in groups}, row.count))
    return out


def given_back(found: Found) -> list[dict[str, int]]:
    """The counts hidden from members that a member works out from the members'
    figures and the published ones together (a sum over no month is no secret)."""
    members, published = figures(found, "members"), figures(found, "published")
    visible = [f for f in members + published if f[1] is not None]
    # Counts are never negative, so a shown sum of 0 says each count in it is 0.
    visible += [({k: 1}, 0) for c, v in list(visible) if v == 0 for k in c]
    hidden = [f for f in members if f[1] is None and f[0]]
    return recoverable(visible, hidden)


def below_threshold(recovered: list[dict[str, int]]) -> list[int]:
    return [n for c in recovered if 0 < (n := sum(TRUE[k] for k in c)) < 5]


def _without_floor(real: Any) -> Any:
    """`selectors._joint_counts` with each audience protecting its tables on its own."""

    def counts(*args: object, **kwargs: object) -> selectors._JointCounts | None:
        joint: selectors._JointCounts | None = real(*args, **kwargs)
        if joint is not None:
            joint.floor = None
        return joint

    return counts


def rows(found: Found) -> dict[tuple[str, str], list[str]]:
    return {key: [row.name for row in result.rows] for key, result in found.items()}


def test_members_and_published_list_the_same_months_and_give_nothing_back() -> None:
    survey, client = build()
    found = shown(survey, client, FILTERS)
    # March (7 people) has a row for nobody: fewer than the published threshold gave
    # it, so it shares "Other months" with April in every view, for every audience.
    for key, names in rows(found).items():
        assert names == ["2026-01", "2026-02", "other"], key
    assert any(f[1] is None for f in figures(found, "members"))  # something to protect
    assert given_back(found) == []
    # The figures shown are the real ones.
    everyone = found[("members", "everyone")]
    assert everyone.respondents == 41
    assert [row.count for row in everyone.rows] == [13, 20, 8]


def test_months_chosen_at_each_audiences_threshold_gave_a_small_count_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above fails with the months chosen as before, at each audience's own
    threshold: members list March (7) apart, the published figures fold it into
    "Other months" with April, and the one person who gave April is given back."""

    def at_own_threshold(joint: selectors._JointCounts, question: Question) -> list[date]:
        everyone: dict[date, int] = {}
        for month, _masks, n in joint.months.get(question.pk, []):
            everyone[month] = everyone.get(month, 0) + n
        return sorted(m for m, n in everyone.items() if n >= joint.threshold)

    monkeypatch.setattr(selectors._JointCounts, "own_months", at_own_threshold)
    # Months listed differently make two different tables: each audience protects its
    # own (as they did), with no floor.
    monkeypatch.setattr(selectors, "_joint_counts", _without_floor(selectors._joint_counts))
    survey, client = build()
    found = shown(survey, client, FILTERS)
    assert rows(found)[("members", "everyone")] == ["2026-01", "2026-02", "2026-03", "other"]
    assert rows(found)[("published", "everyone")] == ["2026-01", "2026-02", "other"]
    recovered = given_back(found)
    assert {"2026-04|night": 1} in recovered
    assert 1 in below_threshold(recovered)


def test_without_a_question_to_filter_by_the_months_are_the_same_for_both_audiences() -> None:
    survey, client = build(splits=False)
    found = shown(survey, client, {"everyone": {}})
    assert rows(found) == {
        ("members", "everyone"): ["2026-01", "2026-02", "other"],
        ("published", "everyone"): ["2026-01", "2026-02", "other"],
    }
    assert [row.count for row in found[("members", "everyone")].rows] == [13, 20, 8]


# Hidden cells chosen by each audience on its own: over everyone January 28, February
# 26 and March 3 (March shares "Other months"). Members hide the nights' "Other
# months" (3) and, to protect it, the nights' February; the published figures hide
# the days' January (8, under 10) and protect it with the nights' January instead.
GAP_PEOPLE = [
    ("day", "2026-01-12", 8),
    ("night", "2026-01-20", 20),
    ("day", "2026-02-03", 13),
    ("night", "2026-02-25", 13),
    ("night", "2026-03-09", 3),
]
GAP_TRUE = {
    "2026-01|day": 8,
    "2026-01|night": 20,
    "2026-02|day": 13,
    "2026-02|night": 13,
    "2026-03|day": 0,
    "2026-03|night": 3,
    "2026-04|day": 0,
    "2026-04|night": 0,
}


def build_gap() -> tuple[Survey, Client]:
    survey = survey_with_extra_question(
        Question.Type.DATE, "started", "When did the scanners start?"
    )
    for shift, started, n in GAP_PEOPLE:
        for _ in range(n):
            answer(survey, shift=shift, disciplined="no", started=started)
    close(survey)
    client = signed_in(MembershipFactory(community=survey.community).user)
    return survey, client


def gap_given_back(found: Found) -> list[int]:
    return [n for c in given_back(found) if 0 < (n := sum(GAP_TRUE[k] for k in c)) < 5]


def hidden_cells(found: Found, audience: str) -> set[tuple[str, str]]:
    return {
        (name, row.name)
        for (seen_by, name), result in found.items()
        if seen_by == audience
        for row in result.rows
        if row.count is None
    }


def test_the_published_figures_hide_every_cell_the_members_figures_hide() -> None:
    survey, client = build_gap()
    found = shown(survey, client, FILTERS)
    members, published = hidden_cells(found, "members"), hidden_cells(found, "published")
    assert ("night", "other") in members
    assert members <= published
    assert gap_given_back(found) == []
    # What is shown is still the real figure.
    assert [row.count for row in found[("members", "day")].rows] == [8, 13, 0]


def test_hidden_cells_chosen_by_each_audience_on_its_own_gave_a_small_count_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above fails with each audience protecting its table on its own: the
    members' night column and the published one, read together, give back the 3."""
    monkeypatch.setattr(selectors, "_joint_counts", _without_floor(selectors._joint_counts))
    survey, client = build_gap()
    found = shown(survey, client, FILTERS)
    assert not hidden_cells(found, "members") <= hidden_cells(found, "published")
    assert 3 in gap_given_back(found)
