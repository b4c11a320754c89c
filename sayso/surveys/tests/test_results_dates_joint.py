# mypy: disable-error-code="no-untyped-call,arg-type"
"""A date question's months are cut from one jointly protected table too.

Before, each view chose its own months to list (those with enough people in that
view) and protected its counts on its own, so a month listed for everyone but folded
into "other months" for the day shift, or the other way round, let a hidden count be
worked out by subtraction. These tests write every figure shown for the question, in
every view, as a sum of the unknown counts per month and shift, and check by linear
algebra that no hidden one is a combination of shown ones.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.surveys import selectors
from sayso.surveys.models import Question, Survey

from .factories import answer, close, results_in_views, survey_with_extra_question
from .test_results_joint import Figure, recoverable

pytestmark = pytest.mark.django_db

# (shift, the date given, how many people)
PEOPLE = [
    ("day", "2026-01-10", 12),
    ("night", "2026-01-20", 4),
    ("day", "2026-03-30", 10),
    ("night", "2026-04-01", 14),
]
MONTHS = ("2026-01", "2026-03", "2026-04")
VIEWS = {"everyone": {}, "day": {"only": "shift:day"}, "night": {"only": "shift:night"}}


def build() -> tuple[Survey, Client]:
    survey = survey_with_extra_question(
        Question.Type.DATE, "started", "When did the scanners start?"
    )
    community = survey.community
    for shift, started, n in PEOPLE:
        for _ in range(n):
            answer(survey, shift=shift, disciplined="no", started=started)
    close(survey)  # members read the figures once the survey is closed
    client = signed_in(MembershipFactory(community=community).user)
    return survey, client


def shown(survey: Survey, client: Client) -> dict[str, selectors.QuestionResult]:
    return results_in_views(client, survey, "started", VIEWS)


def figures(found: dict[str, selectors.QuestionResult]) -> list[Figure]:
    out: list[Figure] = []
    for name, result in found.items():
        assert not result.refusal, (name, result.refusal)
        groups = ("day", "night") if name == "everyone" else (name,)
        listed = [row.name for row in result.rows if row.name != "other"]
        out.append(({f"{m}|{g}": 1 for m in MONTHS for g in groups}, result.respondents))
        for row in result.rows:
            months = [m for m in MONTHS if m not in listed] if row.name == "other" else [row.name]
            out.append(({f"{m}|{g}": 1 for m in months for g in groups}, row.count))
    return out


def audit(found: dict[str, selectors.QuestionResult]) -> tuple[list[Figure], list[Any]]:
    every = figures(found)
    visible = [f for f in every if f[1] is not None]
    visible += [({k: 1}, 0) for c, v in list(visible) if v == 0 for k in c]
    hidden = [f for f in every if f[1] is None]
    return hidden, recoverable(visible, hidden)


def test_no_hidden_month_can_be_worked_out_from_other_views() -> None:
    survey, client = build()
    found = shown(survey, client)
    hidden, recovered = audit(found)
    assert hidden  # the test has something to protect
    assert recovered == []
    # The same months are listed in every view: those 10 or more gave (the published
    # threshold, for every audience: test_date_months_privacy), over everyone.
    for result in found.values():
        assert [row.name for row in result.rows] == ["2026-01", "2026-03", "2026-04", "other"]
    assert found["everyone"].respondents == 40


def test_choosing_the_months_view_by_view_gave_counts_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above can fail: with the months chosen and protected in each view on
    its own, as before, a hidden count follows from the others."""

    def view_by_view(result: Any, joint: Any, question: Any, only: Any, threshold: int) -> None:
        k, bit = joint._bit(*only) if only is not None else (0, None)
        months: dict[date, int] = defaultdict(int)
        for month, masks, n in joint.months[question.pk]:
            if only is None or (bit is not None and (masks[k] or 0) >> bit & 1):
                months[month] += n
        own = sorted(m for m, n in months.items() if n >= threshold)
        selectors._date_rows(result, dict(months), own, threshold)

    monkeypatch.setattr(selectors, "_joint_date_rows", view_by_view)
    survey, client = build()
    _hidden, recovered = audit(shown(survey, client))
    # The night shift's hidden "other months" (the 4 who gave January) follows from
    # its total and April, which everyone's figures give (nobody on days gave April).
    assert {"2026-01|night": 1, "2026-03|night": 1} in recovered


def test_months_are_counted_once_into_the_snapshot(settings: Any) -> None:
    from django.core.cache import cache

    settings.SAYSO = {**settings.SAYSO, "SURVEY_RESULTS_CACHE_FROM": 0}  # kept, however small
    cache.clear()
    survey, client = build()
    url = reverse("surveys:results", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, {"only": "shift:day"}).status_code == 200
    # Read from the snapshot: no month counted beside it.
    assert not any("month" in q["sql"].lower() for q in queries)
    assert [r.name for r in selectors.results(survey).questions[-1].rows][-1] == "other"
    cache.clear()
