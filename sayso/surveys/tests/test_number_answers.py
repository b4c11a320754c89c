# mypy: disable-error-code="no-untyped-call,misc"
"""How a typed number is read, and a date shown: a comma only as a thousands separator, never silently
as a decimal comma ("3,5" would otherwise be stored as 35), and the message of a whole
number question asks for a whole number. Exponent notation ("1e9") is refused, and so is a
number of more than 15 digits, which could not be kept as typed; a number is shown
again as it was written (0.00001, never 1e-05)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.logic import answer_shown, field_name, number_text, read_answer
from sayso.surveys.models import Question, Response, Section, Survey

from .test_respondent_flow import build_survey, page_url, start


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


EXPONENT = "Write the number out in full, like 1000000 rather than 1e6."
TOO_LONG = "Enter a number of at most 15 digits."


@pytest.mark.parametrize("typed", ["1e9", "1E9", "1.5e-3", "2e+5", "-3e2", ".5e1"])
@pytest.mark.parametrize("whole", [False, True])
def test_a_number_in_exponent_notation_is_refused(typed: str, whole: bool) -> None:
    assert _read(typed, whole=whole) == (None, EXPONENT)


@pytest.mark.parametrize(
    "typed",
    [
        "99999999999999999999999",
        "1234567890123456",
        "1,234,567,890,123,456",
        "-1000000000000000",
        "0.1234567890123456",
        "123456789.1234567",
    ],
)
@pytest.mark.parametrize("whole", [False, True])
def test_a_number_longer_than_is_kept_exactly_is_refused(typed: str, whole: bool) -> None:
    assert _read(typed, whole=whole) == (None, TOO_LONG)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("999999999999999", 999999999999999),
        ("-999,999,999,999,999", -999999999999999),
        ("0.000000000000001", 1e-15),
        ("0.0000000000000001", 1e-16),  # one significant digit, however small
        ("12345678.1234567", 12345678.1234567),
        ("000000000000000000012.50000000000000000", 12.5),
        (".5", 0.5),
        ("+7", 7),
    ],
)
def test_fifteen_digits_are_kept_exactly(typed: str, read: float) -> None:
    value, error = _read(typed)
    assert (value, error) == (read, None)
    assert type(value) is type(read)


@pytest.mark.parametrize("typed", ["nan", "inf", "-Infinity", "1_000", "0x1A", "+", ".", "1.2.3"])
def test_what_float_would_read_but_people_do_not_write_is_refused(typed: str) -> None:
    assert _read(typed) == (None, "Enter a number, like 12 or 3.5.")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1,5e3", "Wpisz pełną liczbę, np. 1000000 zamiast 1e6."),
        ("99 999 999 999 999 999", "Wpisz liczbę o najwyżej 15 cyfrach."),
        ("0,1234567890123456", "Wpisz liczbę o najwyżej 15 cyfrach."),
    ],
)
def test_a_polish_respondent_is_told_in_polish(typed: str, message: str) -> None:
    with translation.override("pl"):
        assert _read(typed) == (None, message)
        assert _read("999 999 999 999,5") == (999999999999.5, None)  # a comma still a decimal


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1e-05, "0.00001"), (0.000000000000001, "0.000000000000001"), (2.5, "2.5"), (12, "12")],
)
def test_a_number_is_shown_as_written_never_in_exponent_notation(value: float, shown: str) -> None:
    question = Question(name="share", type=Question.Type.NUMBER)
    assert answer_shown(question, value, "en") == shown
    assert str(number_text(value)) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [(2.5, "2,5"), (1.2e-07, "0,00000012"), (12, "12"), (1000.5, "1000,5")]
)
def test_a_polish_respondent_sees_the_decimal_comma_they_typed(value: float, shown: str) -> None:
    question = Question(name="share", type=Question.Type.NUMBER)
    with translation.override("pl"):
        assert answer_shown(question, value, "pl") == shown
        assert str(number_text(value)) == shown
        # ...and what is filled in again reads back as the same number.
        assert _read(shown) == (value, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "message"), [("1e9", EXPONENT), ("99999999999999999999999", TOO_LONG)]
)
def test_the_page_refuses_it_next_to_the_question_keeping_what_was_typed(
    typed: str, message: str
) -> None:
    survey = build_survey()
    client = Client()
    last = page_url(start(survey, client), 2)
    html = client.post(last, {"q_age": typed, "q_agree": "yes", "next": "1"}).content.decode()
    assert f'<ul class="errorlist" id="q_age-error"><li>{message}</li></ul>' in html
    assert f'name="q_age" id="q_age" value="{typed}"' in html
    assert Response.objects.get().draft == {"agree": "yes"}  # the number is not kept
    check = client.get(last.replace("/p/2/", "/check/")).content.decode()
    assert "99999999999999991611392" not in check
    assert "1000000000" not in check


@pytest.mark.django_db
def test_a_tiny_number_comes_back_as_typed_and_is_accepted_again() -> None:
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Doses", status=Survey.Status.OPEN
    )
    section = Section.objects.create(survey=survey, order=1, title={"en": ""})
    Question.objects.create(
        survey=survey, section=section, order=1, name="dose", type=Question.Type.NUMBER,
        label={"en": "Dose"},
    )  # fmt: skip
    client = Client()
    first = start(survey, client)
    sent = client.post(first, {"q_dose": "0.00001", "next": "1"})
    assert sent.status_code == 302
    assert "/check/" in sent["Location"]
    assert Response.objects.get().draft == {"dose": 1e-05}
    assert "<dd><bdi>0.00001</bdi> <a" in client.get(sent["Location"]).content.decode()
    html = client.get(first).content.decode()  # "Change", or Back: typed in again
    assert 'name="q_dose" id="q_dose" value="0.00001"' in html
    again = client.post(first, {"q_dose": "0.00001", "next": "1"})
    assert again.status_code == 302
    assert "/check/" in again["Location"]
