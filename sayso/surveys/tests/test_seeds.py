"""The demo survey's results must read like a real survey's: the running counts the
results page uses are built from the seeded answers."""

from __future__ import annotations

import pytest
from django.db.models import Count

from sayso.core.demo import load_demo
from sayso.surveys.models import Answer, AnswerCount, Survey

pytestmark = pytest.mark.django_db


def test_demo_survey_counts_match_its_answers() -> None:
    load_demo()
    survey = Survey.objects.get(community__slug="northgate-warehouse")
    expected = {
        (q, c or 0, r or 0): n
        for q, c, r, n in Answer.objects.filter(survey=survey)
        .values_list("question_id", "choice_id", "rank")
        .annotate(n=Count("*"))
        .order_by()
    }
    counted = {
        (q, c, r): n
        for q, c, r, n in AnswerCount.objects.filter(survey=survey).values_list(
            "question_id", "choice_key", "rank_key", "n"
        )
    }
    assert counted == expected
    assert sum(n for (_, _, rank), n in counted.items() if rank == 0) > 0


def test_demo_is_still_idempotent_with_counts() -> None:
    load_demo()
    before = AnswerCount.objects.count()
    load_demo()
    assert AnswerCount.objects.count() == before
