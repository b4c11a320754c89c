# mypy: disable-error-code="no-untyped-call,arg-type"
"""The chart beside a weighted table draws the weighted shares, as its description
says ("Bar chart of the weighted percentages in the table above").

Found beside the number results: a chart asks for one question's results, which did
not include the weighting's own questions, so the weighting was refused ("a question
the weighting uses is no longer a single-choice question") and the chart drew the
unweighted shares beside the weighted table.
"""

from __future__ import annotations

import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import selectors
from sayso.surveys.models import Survey

from .factories import answer, make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


def test_the_chart_of_a_weighted_view_draws_the_weighted_shares() -> None:
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    for i in range(20):
        answer(survey, shift="day" if i % 2 else "night", disciplined="yes" if i < 12 else "no")
    survey.weighting_targets = {"shift": {"day": 300.0, "night": 100.0}}
    survey.save(update_fields=["weighting_targets"])
    disciplined = survey.questions.get(name="disciplined")
    page = selectors.results(survey, weighted=True)
    alone = selectors.results(survey, weighted=True, question=disciplined)
    assert alone.weighting_refusal == ""
    assert alone.weighting is not None
    table = next(r for r in page.questions if r.question.pk == disciplined.pk)
    assert [r.weighted for r in alone.questions[0].rows] == [r.weighted for r in table.rows]
    # 12 of 20 said yes (60%); weighted to three day workers for each night worker:
    # 6 of 10 on days (every odd i below 12), 6 of 10 on nights: still 60%.
    shift = survey.questions.get(name="shift")
    drawn = organiser_client(survey).get(
        survey_url("chart", survey, question=shift.pk), {"weighted": "1"}
    )
    assert drawn.status_code == 200
    assert b"75%" in drawn.content  # the day shift's weighted share, not its 50%
    assert b"50%" not in drawn.content
