"""How a typed number is read, and a date shown: a comma only as a thousands separator, never silently
as a decimal comma ("3,5" would otherwise be stored as 35), and the message of a whole
number question asks for a whole number."""

from __future__ import annotations

import pytest
from django.utils import translation

from sayso.surveys.logic import answer_shown, field_name, read_answer
from sayso.surveys.models import Question


def _read(typed: str, *, whole: bool = False) -> tuple[object, str | None]:
    question = Question(name="age", type=Question.Type.NUMBER, whole_number=whole)
    return read_answer(question, {field_name(question): typed})


@pytest.mark.parametrize(
    ("typed", "read"),
    [("12", 12), ("3.5", 3.5), ("1,000", 1000), ("12,500.5", 12500.5), ("-1,234", -1234)],
)
def test_numbers_and_thousands_separators_are_read(typed: str, read: float) -> None:
    assert _read(typed) == (read, None)


@pytest.mark.parametrize("typed", ["3,5", "12,50", "1,5,0", ",5", "1000,000", "1,00"])
def test_a_comma_that_is_not_a_thousands_separator_is_refused(typed: str) -> None:
    assert _read(typed) == (None, "Enter a number, like 12 or 3.5.")


@pytest.mark.parametrize("typed", ["twelve", "3,5", "nan"])
def test_a_whole_number_question_asks_for_a_whole_number(typed: str) -> None:
    assert _read(typed, whole=True) == (None, "Enter a whole number, like 12.")


@pytest.mark.parametrize(
    ("language", "shown"), [("en", "2 March 2019"), ("cy", "2 Mawrth 2019"), ("pl", "2 marca 2019")]
)
def test_a_date_answer_reads_as_a_date_in_the_page_language(language: str, shown: str) -> None:
    question = Question(name="when", type=Question.Type.DATE)
    with translation.override(language):
        assert answer_shown(question, "2019-03-02", language) == shown


@pytest.mark.parametrize(
    ("typed", "read"), [("3,5", 3.5), ("12", 12), ("1 000", 1000), ("1\u00a0000,25", 1000.25)]
)
def test_a_polish_respondent_writes_decimals_with_a_comma(typed: str, read: float) -> None:
    with translation.override("pl"):
        assert _read(typed) == (read, None)


def test_a_polish_respondent_is_told_the_number_format_in_polish() -> None:
    with translation.override("pl"):
        assert _read("trzy") == (None, "Wpisz liczbę, np. 12 lub 3,5.")
