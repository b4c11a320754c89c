# mypy: disable-error-code="no-untyped-call,arg-type"
"""Every view of the results (no filter, each filter value, the breakdown, a filter
with the breakdown) comes from one jointly protected table per question, so no hidden
figure can be worked out by subtracting figures shown in other views.

Before, each table was protected on its own: "disciplined = yes" was 7 for everyone
and 5 for the day shift, so the night shift's hidden figure was 7 - 5 = 2. These tests
ask for every view through the results page, as a member would, write every figure
shown as a sum of the unknown counts per answer and shift, and check by linear
algebra that no hidden figure is a combination of shown ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import selectors
from sayso.surveys.models import Survey

from .factories import answer, close, make_survey

pytestmark = pytest.mark.django_db

GROUPS = ("day", "night", None)  # None: did not answer the shift question
# (shift, disciplined, worries ticked): how many people answered so.
PEOPLE = [
    ("day", "yes", ["rates", "cameras"], 5),
    ("day", "no", ["rates"], 12),
    ("day", "no", ["rates", "cameras"], 3),
    ("night", "yes", ["rates"], 2),
    ("night", "no", ["rates", "sharing"], 10),
    ("night", "no", ["rates", "cameras"], 8),
]


def build() -> tuple[Survey, Client]:
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for shift, disciplined, worries, n in PEOPLE:
        for _ in range(n):
            answer(survey, shift=shift, disciplined=disciplined, worries=worries)
    close(survey)  # members read the figures once the survey is closed
    client = signed_in(MembershipFactory(community=community).user)
    return survey, client


def views(survey: Survey, client: Client) -> dict[str, selectors.Results]:
    """Every view a member can ask for: unfiltered, each filter value, the breakdown,
    and the breakdown under each filter value."""
    url = reverse("surveys:results", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    queries: dict[str, dict[str, str]] = {"everyone": {}, "by shift": {"by": "shift"}}
    for shift in ("day", "night"):
        queries[shift] = {"only": f"shift:{shift}"}
        queries[f"{shift}, by shift"] = {"only": f"shift:{shift}", "by": "shift"}
    out = {}
    for name, query in queries.items():
        response = client.get(url, query)
        assert response.status_code == 200
        out[name] = response.context["results"]
    return out


Figure = tuple[dict[str, int], int | None]  # coefficients over the unknowns; None: hidden


def figures(found: dict[str, selectors.Results], question: str) -> list[Figure]:
    """Each figure shown or hidden for `question`, as a sum of unknowns: ("a", g) the
    people in shift group g who answered a (for a multiple choice option: ticked it),
    ("n", g) the people in group g who answered the question."""
    out: list[Figure] = []

    def cells(answer: str | None, groups: tuple[Any, ...]) -> dict[str, int]:
        if answer is None and single:
            # Everyone who answered a single choice question gave one answer.
            return {f"{a}|{g}": 1 for a in names for g in groups}
        return {f"{answer or '*'}|{g}": 1 for g in groups}

    for name, results in found.items():
        result = next(r for r in results.questions if r.question.name == question)
        single = result.question.type == "single"
        names = [row.name for row in result.rows]
        assert not result.refusal, (name, result.refusal)
        groups: tuple[Any, ...] = GROUPS
        if name in ("day", "night") or "," in name:
            groups = (name.split(",")[0],)
        out.append((cells(None, groups), result.respondents))
        for row in result.rows:
            out.append((cells(row.name, groups), row.count))
        tab = result.crosstab
        if tab is None:
            continue
        assert not tab.refusal, (name, tab.refusal)
        labels = {"Day": "day", "Night": "night", "Did not answer": None}
        if "Did not answer" not in tab.groups:
            out.append((cells(None, (None,)), 0))  # no such row: nobody is in it
        names = [row.name for row in result.rows]
        for label, line in zip([*tab.groups, "Total"], tab.cells, strict=True):
            row_groups = groups if label == "Total" else (labels[label],)
            if not set(row_groups) <= set(groups):
                assert all(v == 0 for v in line)  # filtered out
                continue
            for choice_name, value in zip([*names, None], line, strict=True):
                out.append((cells(choice_name, row_groups), value))
    return out


def recoverable(shown: list[Figure], hidden: list[Figure]) -> list[dict[str, int]]:
    """The hidden figures that are a linear combination of shown ones."""
    names = sorted({k for coefficients, _v in shown + hidden for k in coefficients})

    def vector(coefficients: dict[str, int]) -> np.ndarray:
        return np.array([coefficients.get(k, 0) for k in names], dtype=float)

    known = np.array([vector(c) for c, _v in shown])
    rank = np.linalg.matrix_rank(known)
    return [c for c, _v in hidden if np.linalg.matrix_rank(np.vstack([known, vector(c)])) == rank]


def audit(found: dict[str, selectors.Results], question: str) -> tuple[int, list[dict[str, int]]]:
    every = figures(found, question)
    shown = [f for f in every if f[1] is not None]
    # Counts are never negative, so a shown sum of 0 says each count in it is 0.
    shown += [({k: 1}, 0) for c, v in list(shown) if v == 0 for k in c]
    hidden = [f for f in every if f[1] is None]
    return len(hidden), recoverable(shown, hidden)


def test_no_hidden_figure_can_be_recovered_by_subtracting_other_views() -> None:
    survey, client = build()
    found = views(survey, client)
    night = next(r for r in found["night"].questions if r.question.name == "disciplined")
    assert [(r.name, r.count) for r in night.rows] == [("yes", None), ("no", None)]
    for question in ("disciplined", "worries"):
        hidden, recovered = audit(found, question)
        assert hidden > 0, question  # the test has something to protect
        assert recovered == [], question
    # Shown figures are the real ones: the unfiltered "no" is every shift's "no".
    everyone = next(r for r in found["everyone"].questions if r.question.name == "disciplined")
    assert [(r.name, r.count) for r in everyone.rows] == [("yes", 7), ("no", 33)]


def test_the_same_figure_has_the_same_status_in_every_view() -> None:
    survey, client = build()
    found = views(survey, client)
    seen: dict[tuple[str, ...], set[int | None]] = {}
    for question in ("disciplined", "worries"):
        for coefficients, value in figures(found, question):
            seen.setdefault((question, *sorted(coefficients)), set()).add(value)
    assert all(len(values) == 1 for values in seen.values()), seen


def test_protecting_each_view_on_its_own_gave_hidden_figures_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above can fail: without the joint table (each view protected on its
    own, as before) the night shift's hidden "yes" is 7 - 5 = 2."""
    survey, client = build()
    monkeypatch.setattr(selectors, "_joint_counts", lambda *args: None)
    found = views(survey, client)
    _hidden, recovered = audit(found, "disciplined")
    assert {"yes|night": 1} in recovered


def test_a_survey_without_questions_to_split_by_is_unchanged() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    survey.questions.filter(name="shift").update(is_breakdown=False)
    for shift, disciplined, ticked, n in PEOPLE:
        for _ in range(n):
            answer(survey, shift=shift, disciplined=disciplined, worries=ticked)
    found = selectors.results(survey)
    worries = next(r for r in found.questions if r.question.name == "worries")
    # rates: everyone ticked it (hidden); cameras 16; sharing 10.
    assert [(r.name, r.count) for r in worries.rows] == [
        ("rates", None),
        ("cameras", 16),
        ("sharing", 10),
    ]


def test_a_chart_draws_the_same_figures_as_the_page() -> None:
    """The chart of one question reads that question alone; it must hide the same."""
    survey, client = build()
    found = views(survey, client)
    shift = survey.questions.get(name="shift")
    filters: list[tuple[str, tuple[Any, str] | None]] = [
        ("everyone", None),
        ("day", (shift, "day")),
        ("night", (shift, "night")),
    ]
    for name, only in filters:
        for question in survey.questions.filter(name__in=["disciplined", "worries"]):
            alone = selectors.results(survey, only=only, question=question).questions[0]
            on_page = next(r for r in found[name].questions if r.question.pk == question.pk)
            assert [(r.name, r.count) for r in alone.rows] == [
                (r.name, r.count) for r in on_page.rows
            ], (name, question.name)
