# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""The "Back" button on a survey page keeps every answer that can be read, and does not silently
lose one that cannot ("abc" for a number, 30 February): the person stays on the page,
is told which answer could not be saved and why, and chooses to correct it or to go
back without it. Without JavaScript: plain form posts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.models import Question, Response, Section, Survey

pytestmark = pytest.mark.django_db


def build_survey() -> Survey:
    survey = Survey.objects.create(
        community=CommunityFactory(),
        title="Work survey",
        languages=["en"],
        status=Survey.Status.OPEN,
    )
    first = Section.objects.create(survey=survey, order=1, title={"en": "About work"})
    second = Section.objects.create(survey=survey, order=2, title={"en": "Your time"})
    for section, order, name, kind, label in (
        (first, 1, "role", Question.Type.SHORT_TEXT, "Your role"),
        (second, 1, "years", Question.Type.NUMBER, "How many years have you worked here?"),
        (second, 2, "since", Question.Type.DATE, "When did your contract start?"),
        (second, 3, "story", Question.Type.SHORT_TEXT, "Tell us more"),
    ):
        Question.objects.create(
            survey=survey, section=section, order=order, name=name, type=kind, label={"en": label}
        )
    return survey


def on_second_page(client: Client) -> tuple[str, str]:
    """Start, answer the first page; the first and second pages' addresses."""
    survey = build_survey()
    first = client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))[
        "Location"
    ]
    second = client.post(first, {"q_role": "Driver", "next": "1"})["Location"]
    assert second == re.sub(r"/p/0/$", "/p/1/", first)
    return first, second


def state() -> tuple[Any, ...]:
    response = Response.objects.get()
    return response.draft, response.page


def test_back_with_an_unreadable_answer_keeps_the_rest_and_says_so() -> None:
    client = Client()
    _first, second = on_second_page(client)
    stayed = client.post(
        second, {"q_years": "abc", "q_since": "", "q_story": "Night shifts", "back": "1"}
    )
    # Not taken back: told, on this page, with what was typed still in the field.
    assert stayed.status_code == 200
    html = stayed.content.decode()
    assert (
        "Your answer to “How many years have you worked here?” could not be saved: "
        "Enter a number, like 12 or 3.5." in html
    )
    assert 'name="q_years" id="q_years" value="abc"' in html
    assert 'name="back" value="anyway"' in html  # "Go back anyway"
    assert "Go back anyway" in html
    # The readable answer is saved; the person is still on the second page.
    assert state() == ({"role": "Driver", "story": "Night shifts"}, 1)


def test_an_invalid_date_is_named_too() -> None:
    client = Client()
    _first, second = on_second_page(client)
    stayed = client.post(second, {"q_years": "4", "q_since": "2024-02-30", "back": "1"})
    assert stayed.status_code == 200
    assert "Your answer to “When did your contract start?” could not be saved" in (
        stayed.content.decode()
    )
    assert state() == ({"role": "Driver", "years": 4}, 1)


def test_go_back_anyway_goes_back_with_the_readable_answers() -> None:
    client = Client()
    first, second = on_second_page(client)
    client.post(second, {"q_years": "abc", "q_story": "Night shifts", "back": "1"})
    went = client.post(second, {"q_years": "abc", "q_story": "Night shifts", "back": "anyway"})
    assert went.status_code == 302
    assert went["Location"] == first
    assert state() == ({"role": "Driver", "story": "Night shifts"}, 0)
    # Coming forward again, the saved answer is there.
    assert 'value="Night shifts"' in client.get(second).content.decode()


def test_corrected_then_back_keeps_it() -> None:
    client = Client()
    first, second = on_second_page(client)
    client.post(second, {"q_years": "abc", "q_story": "Night shifts", "back": "1"})
    went = client.post(second, {"q_years": "12", "q_story": "Night shifts", "back": "anyway"})
    assert went["Location"] == first
    assert state() == ({"role": "Driver", "years": 12, "story": "Night shifts"}, 0)


def test_back_with_readable_answers_goes_straight_back() -> None:
    client = Client()
    first, second = on_second_page(client)
    went = client.post(second, {"q_years": "7", "q_since": "", "back": "1"})
    assert went.status_code == 302
    assert went["Location"] == first
    assert state() == ({"role": "Driver", "years": 7}, 0)


def test_the_draft_holds_answers_only() -> None:
    """Nothing but answers is kept for an unreadable one (no typed text, no time)."""
    client = Client()
    _first, second = on_second_page(client)
    client.post(second, {"q_years": "abc", "q_story": "Night shifts", "back": "1"})
    response = Response.objects.get()
    assert set(response.draft) == {"role", "story"}
    assert not {f.name for f in Response._meta.get_fields()} & {"user", "ip", "created_at"}
