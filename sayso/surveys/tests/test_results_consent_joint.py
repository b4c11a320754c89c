# mypy: disable-error-code="no-untyped-call,arg-type"
"""A consent statement's results are cut from one jointly protected table too.

Before, its "agreed" and "did not agree" counts were protected view by view, and the
number of people who answered was the number who agreed: with 15 agreeing overall
and 12 on the day shift, the night shift's hidden 3 was 15 - 12. These tests write
every figure the results page shows for the statement, in every view, as a sum of the
unknown counts per answer and shift, and check by linear algebra that no hidden one
is a combination of shown ones.
"""

from __future__ import annotations

import pytest
from django.test import Client

from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.surveys import selectors
from sayso.surveys.models import Question, Survey

from .factories import answer, close, results_in_views, survey_with_extra_question
from .test_results_joint import Figure, recoverable

pytestmark = pytest.mark.django_db

# (shift, agreed, how many people)
PEOPLE = [("day", True, 12), ("day", False, 8), ("night", True, 3), ("night", False, 15)]
VIEWS = {"everyone": {}, "day": {"only": "shift:day"}, "night": {"only": "shift:night"}}


def build() -> tuple[Survey, Client]:
    survey = survey_with_extra_question(
        Question.Type.CONSENT, "agree", "I agree my answers may be shared with the union"
    )
    community = survey.community
    for shift, agreed, n in PEOPLE:
        for _ in range(n):
            answer(survey, shift=shift, disciplined="no", **({"agree": "yes"} if agreed else {}))
    close(survey)  # members read the figures once the survey is closed
    client = signed_in(MembershipFactory(community=community).user)
    return survey, client


def shown(survey: Survey, client: Client) -> dict[str, selectors.QuestionResult]:
    return results_in_views(client, survey, "agree", VIEWS)


def figures(found: dict[str, selectors.QuestionResult]) -> list[Figure]:
    out: list[Figure] = []
    for name, result in found.items():
        assert not result.refusal, (name, result.refusal)
        groups = ("day", "night") if name == "everyone" else (name,)
        people = {f"{a}|{g}": 1 for a in ("yes", "no") for g in groups}
        out.append((people, result.respondents))
        for row in result.rows:
            out.append(({f"{row.name}|{g}": 1 for g in groups}, row.count))
    return out


def test_no_hidden_consent_figure_can_be_worked_out_from_other_views() -> None:
    survey, client = build()
    found = shown(survey, client)
    every = figures(found)
    visible = [f for f in every if f[1] is not None]
    visible += [({k: 1}, 0) for c, v in list(visible) if v == 0 for k in c]
    hidden = [f for f in every if f[1] is None]
    assert {"yes|night": 1} in [c for c, _v in hidden]  # 3 agreed: hidden
    assert recoverable(visible, hidden) == []
    # What is shown is true, in plain words: everyone who completed the survey.
    assert found["everyone"].respondents == 38
    assert [row.label for row in found["everyone"].rows] == ["Agreed", "Did not agree"]
    assert found["night"].respondents == 18


def test_protecting_each_view_on_its_own_gave_the_night_shift_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above can fail: with each view's table protected on its own (the
    joint table's hiding left out), the night shift's 3 is 15 - 12."""
    survey, client = build()
    monkeypatch.setattr(
        selectors._JointCounts, "frequency_table", lambda self, q, c, table, only: table
    )
    every = figures(shown(survey, client))
    visible = [f for f in every if f[1] is not None]
    hidden = [f for f in every if f[1] is None]
    assert {"yes|night": 1} in recoverable(visible, hidden)


def test_the_number_who_answered_is_not_the_hidden_number_who_agreed() -> None:
    """It was: "3 people answered" beside a hidden "agreed"."""
    survey, _client = build()
    survey.community.small_group_threshold = 16  # 15 agreed in all: too few
    survey.community.save()
    agree = next(r for r in selectors.results(survey).questions if r.question.name == "agree")
    assert agree.respondents == 38
    assert [(row.name, row.count) for row in agree.rows] == [("yes", None), ("no", None)]
