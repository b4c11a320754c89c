# mypy: disable-error-code="no-untyped-call,arg-type"
"""A respondent's answer must not run as a formula when the organiser opens the CSV
download in a spreadsheet (CSV or formula injection); the data package keeps it as
given."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import exports, services
from sayso.surveys.models import Choice, Question, Survey

from .factories import in_start_order, make_survey

pytestmark = pytest.mark.django_db

# What a spreadsheet would run: each starts with =, +, -, @, a tab or a carriage return.
FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
]
# Ordinary answers, left alone: the danger is only in the first character.
PLAIN = ["night shift", "a - b", "5 = five", "e-mail me @ work", "", "中文"]


def scale_survey() -> Survey:
    """The test survey plus a number question without limits and a rating scale whose
    choice names are negative numbers (as an imported XLSForm may have)."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    section = survey.sections.get(order=2)
    Question.objects.create(
        survey=survey, section=section, order=4, name="balance", type=Question.Type.NUMBER
    )
    mood = Question.objects.create(
        survey=survey, section=section, order=5, name="mood", type=Question.Type.RATING
    )
    for order, name in enumerate(["-2", "-1", "0", "1", "2"], start=1):
        Choice.objects.create(question=mood, order=order, name=name, label={"en": name})
    return survey


def answer(survey: Survey, **values: Any) -> None:
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=values, page=1)
    assert services.submit_response(response=response) == {}


def csv_rows(survey: Survey) -> list[dict[str, str]]:
    text = b"".join(exports.export_csv(survey).streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def package_rows(survey: Survey) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(exports.datapackage_zip(survey))) as archive:
        text = archive.read("responses.csv").decode()
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_a_text_answer_that_would_run_as_a_formula_starts_with_an_apostrophe() -> None:
    survey = scale_survey()
    for story in FORMULAS + PLAIN:
        answer(survey, shift="day", disciplined="yes", story=story, balance=-3, mood="-2")
    rows = in_start_order(survey, csv_rows(survey), "response_id")
    assert [row["story"] for row in rows] == ["'" + f for f in FORMULAS] + PLAIN
    # Numbers and coded values are never changed, even those starting with "-".
    assert {row["balance"] for row in rows} == {"-3"}
    assert {row["mood"] for row in rows} == {"-2"}
    assert {row["shift"] for row in rows} == {"day"}


def test_the_data_package_keeps_every_answer_exactly_and_says_so() -> None:
    survey = scale_survey()
    for story in FORMULAS + PLAIN:
        answer(survey, shift="night", disciplined="yes", story=story, balance=-3, mood="-1")
    rows = in_start_order(survey, package_rows(survey), "response_id")
    assert [row["story"] for row in rows] == FORMULAS + PLAIN
    assert {row["mood"] for row in rows} == {"-1"}
    with zipfile.ZipFile(io.BytesIO(exports.datapackage_zip(survey))) as archive:
        description = json.loads(archive.read("datapackage.json"))["description"]
    assert "exactly as the respondent gave it" in description
    assert "no apostrophe added" in description


def test_text_left_from_before_a_type_change_is_guarded_too() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="day", disciplined="yes", story="=1+1")
    # The text question becomes a date question; its old answer stays in the drafts.
    Question.objects.filter(survey=survey, name="story").update(type=Question.Type.DATE)
    assert csv_rows(survey)[0]["story"] == "'=1+1"


def test_the_export_choices_say_what_the_apostrophe_is_for() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client = signed_in(OrganiserFactory(community=survey.community).user)
    for name in ("detail", "exports"):
        page = client.get(
            reverse(f"surveys:{name}", kwargs={"slug": survey.community.slug, "pk": survey.pk})
        ).content.decode()
        assert "gets an apostrophe" in page
        assert "instead of running it as a formula" in page
        assert "The data package keeps every answer exactly as it was given" in page
