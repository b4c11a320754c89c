"""The demo survey's results must read like a real survey's: the running counts the
results page uses are built from the seeded answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count

from sayso.core.demo import load_demo
from sayso.surveys.models import Answer, AnswerCount, Survey
from sayso.surveys.seeds import CLOSED_TITLE, TITLE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("title", [TITLE, CLOSED_TITLE])
def test_demo_survey_counts_match_its_answers(title: str) -> None:
    load_demo()
    survey = Survey.objects.get(community__slug="northgate-warehouse", title=title)
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


def test_the_closed_demo_survey_shows_members_its_results_with_a_small_group_hidden(
    client: Any,
) -> None:
    """A member trying the demo reads real figures (the open survey shows them only the
    count) and sees a group under the threshold hidden: Goods in has 4 people."""
    load_demo()
    survey = Survey.objects.get(title=CLOSED_TITLE)
    assert survey.status == Survey.Status.CLOSED
    client.force_login(get_user_model().objects.get(email="member@demo.sayso.example"))
    page = client.get(f"/c/northgate-warehouse/surveys/{survey.pk}/results/")
    assert page.status_code == 200
    words = " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())
    # Less the words that say, on a phone only, that a table may scroll sideways.
    words = words.replace(" If the table is cut off, scroll it sideways to see the rest.", "")
    table = words[words.index("Where do you work most? 74 people answered") :]
    # Goods in (4) is hidden, and Packing with it: 74 less Picking's 40 would give it.
    # Nothing to break down by or filter on for a member here: no empty "Show" form.
    assert ">Show</button>" not in page.content.decode()
    assert table.startswith(
        "Where do you work most? 74 people answered Answer People % 95% interval"
        " Picking 40 54% 43 to 65% Packing hidden (small group) Goods in hidden (small group)"
    )
