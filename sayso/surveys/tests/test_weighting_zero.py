# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A population figure of 0: an answer nobody in the population would give.

The reviewer weighted "Who is your landlord?" with 500, 100 and 0 and was refused
("Give a number above zero…") although nobody had given the third answer. A 0 is
accepted when nobody who answered gave that answer; when someone did, the refusal
says so next to that answer's figure (they cannot be weighted to nothing), and
nothing is saved.
"""

from __future__ import annotations

import re

import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import selectors
from sayso.surveys.models import Choice, Question, Survey

from .factories import answer, make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


def landlord_survey() -> Survey:
    """Shift gets a third answer, "weekend", that nobody gives."""
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    Choice.objects.create(question=shift, order=3, name="weekend", label={"en": "Weekend"})
    for i in range(12):
        answer(survey, shift="day" if i % 2 else "night", disciplined="yes" if i % 3 else "no")
    return survey


def field_error(html: str, field: str) -> str:
    block = re.search(
        rf'<div class="field field--error">(?:(?!<div class="field).)*?name="{field}"', html, re.S
    )
    assert block is not None, f"no error next to {field}"
    found = re.search(r'<ul class="errorlist"[^>]*>\s*<li>(.*?)</li>', block.group(0), re.S)
    assert found is not None
    return found.group(1)


def test_a_zero_for_an_answer_nobody_gave_is_saved_and_the_results_are_weighted() -> None:
    survey = landlord_survey()
    client = organiser_client(survey)
    saved = client.post(
        survey_url("weighting", survey),
        {"question": "shift", "pop_day": "500", "pop_night": "100", "pop_weekend": "0"},
    )
    assert saved.status_code == 302
    survey.refresh_from_db()
    assert survey.weighting_targets == {"shift": {"day": 500.0, "night": 100.0, "weekend": 0.0}}
    found = selectors.results(survey, weighted=True)
    assert found.weighting_refusal == ""
    assert found.weighting is not None
    shift = next(r for r in found.questions if r.question.name == "shift")
    assert [r.name for r in shift.rows] == ["day", "night", "weekend"]
    disciplined = next(r for r in found.questions if r.question.name == "disciplined")
    assert all(r.weighted is not None for r in disciplined.rows if not r.hidden)
    page = client.get(survey_url("weighting", survey)).content.decode()
    assert "Give 0 for an answer nobody in the population would give." in page


def test_a_zero_for_an_answer_people_gave_is_refused_next_to_it_and_nothing_changes() -> None:
    survey = landlord_survey()
    client = organiser_client(survey)
    refused = client.post(
        survey_url("weighting", survey),
        {"question": "shift", "pop_day": "500", "pop_night": "0", "pop_weekend": "0"},
    )
    assert refused.status_code == 200
    html = refused.content.decode()
    assert field_error(html, "pop_night") == (
        "People who answered the survey gave this answer, so its figure cannot be 0: "
        "weighting cannot count them as nobody. Give the number of people in the "
        "population who would give it."
    )
    assert 'href="#id_pop_night"' in html  # the summary at the top links to it
    assert "pop_weekend" not in re.findall(r'field--error">.*?name="(\w+)"', html, re.S)
    assert Survey.objects.get(pk=survey.pk).weighting_targets == {}


def test_every_figure_zero_is_refused() -> None:
    survey = landlord_survey()
    client = organiser_client(survey)
    refused = client.post(
        survey_url("weighting", survey),
        {"question": "shift", "pop_day": "0", "pop_night": "0", "pop_weekend": "0"},
    )
    assert refused.status_code == 200
    assert "Give a number above zero for at least one answer" in refused.content.decode()
    assert Survey.objects.get(pk=survey.pk).weighting_targets == {}


def test_people_giving_an_answer_set_to_zero_later_stop_the_weighting_with_the_reason() -> None:
    survey = landlord_survey()
    client = organiser_client(survey)
    client.post(
        survey_url("weighting", survey),
        {"question": "shift", "pop_day": "500", "pop_night": "100", "pop_weekend": "0"},
    )
    for _ in range(5):
        answer(survey, shift="weekend", disciplined="no")
    survey.refresh_from_db()
    found = selectors.results(survey, weighted=True)
    assert found.weighting is None
    assert found.weighting_refusal == (
        "These results cannot be weighted: people here answered Weekend to 'Shift', but "
        "the population figures say nobody in the population would, and weighting cannot "
        "count them as nobody. Change the figures on the weighting page. The figures "
        "below are not weighted."
    )
    assert Question.objects.get(survey=survey, name="shift").choices.count() == 3
