# mypy: disable-error-code="no-untyped-call,arg-type"
"""SPSS formats of number questions, read back with pyreadstat.

The reviewer's file showed a whole-number question (age) as F8.2: 31.00. A question
that takes whole numbers only (XLSForm's integer, Question.whole_number) is written
as whole numbers, wide enough for its longest answer; a decimal question keeps its
decimals.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyreadstat
import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import exports
from sayso.surveys.models import Answer, Question, Response, Survey

from .factories import answer, make_survey

pytestmark = pytest.mark.django_db


def numbers_survey() -> Survey:
    """make_survey's age (whole numbers only here), a count of staff (whole numbers,
    no limit) and hours (decimals)."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="age").update(whole_number=True)
    section = survey.sections.get(order=2)
    for order, (name, whole) in enumerate((("staff", True), ("hours", False)), start=10):
        Question.objects.create(
            survey=survey,
            section=section,
            order=order,
            name=name,
            type=Question.Type.NUMBER,
            label={"en": name.title()},
            whole_number=whole,
        )
    return Survey.objects.get(pk=survey.pk)


def read_back(survey: Survey) -> tuple[Any, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sav"
        path.write_bytes(exports.sav_bytes(survey))
        return pyreadstat.read_sav(str(path))


def test_whole_number_questions_are_written_without_decimals() -> None:
    survey = numbers_survey()
    answer(survey, shift="day", disciplined="no", age=31, staff=12, hours=7.5)
    answer(survey, shift="night", disciplined="no", age=45, staff=3, hours=12.25)
    frame, meta = read_back(survey)
    formats = meta.original_variable_types
    assert (formats["age"], formats["staff"], formats["hours"]) == ("F8.0", "F8.0", "F8.2")
    assert sorted(frame["age"].tolist()) == [31.0, 45.0]  # the values themselves unchanged
    assert sorted(frame["hours"].tolist()) == [7.5, 12.25]
    assert meta.variable_measure["age"] == "scale"


def test_a_whole_number_column_is_as_wide_as_its_longest_answer() -> None:
    survey = numbers_survey()
    answer(survey, shift="day", disciplined="no", staff=1_234_567_890)  # 10 digits
    answer(survey, shift="night", disciplined="no", staff=-5)
    frame, meta = read_back(survey)
    assert meta.original_variable_types["staff"] == "F10.0"
    assert sorted(frame["staff"].tolist()) == [-5.0, 1_234_567_890.0]
    answer(survey, shift="night", disciplined="no", staff=-123_456_789_012)  # 13 characters
    _frame, meta = read_back(survey)
    assert meta.original_variable_types["staff"] == "F13.0"


def test_an_empty_survey_s_whole_numbers_are_whole_too() -> None:
    _frame, meta = read_back(numbers_survey())
    assert meta.original_variable_types["age"] == "F8.0"
    assert meta.original_variable_types["hours"] == "F8.2"


def test_a_fraction_given_before_the_question_took_whole_numbers_keeps_its_decimals() -> None:
    survey = numbers_survey()
    Question.objects.filter(survey=survey, name="staff").update(whole_number=False)
    answer(survey, shift="day", disciplined="no", staff=2.5)
    # Made whole-number only afterwards, beside the builder's check (an export may run
    # while the change is made): 2.5 must still read as 2.5, not 3.
    Question.objects.filter(survey=survey, name="staff").update(whole_number=True)
    assert Answer.objects.filter(survey=survey, question__name="staff").get().number == 2.5
    frame, meta = read_back(Survey.objects.get(pk=survey.pk))
    assert meta.original_variable_types["staff"] == "F8.2"
    assert frame["staff"].tolist() == [2.5]
    assert Response.objects.filter(survey=survey).count() == 1
