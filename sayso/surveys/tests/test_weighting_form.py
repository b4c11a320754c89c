# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""The weighting form takes population figures as organisers type them ("3,000",
"12 500") and refuses scientific notation, negative numbers, fractions and
impossible sizes, each with its own message next to the field; a refused form
changes nothing already saved. Zero is a figure (test_weighting_zero.py)."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys.forms import PopulationField
from sayso.surveys.models import Survey

from .factories import make_survey

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("3000", 3000),
        ("3,000", 3000),
        ("3 000", 3000),
        ("12\u00a0500", 12500),  # a no-break space, as word processors put it
        ("1,234,567", 1234567),
        ("3.000", 3000),  # a point between thousands
        (" 42 ", 42),
        ("10,000,000,000", 10_000_000_000),
        ("0", 0),  # nobody in the population would give that answer
        ("0,000", 0),
    ],
)
def test_a_count_is_read_as_organisers_type_it(typed: str, number: int) -> None:
    assert PopulationField().clean(typed) == number


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1e9", "Write the number out in full, like 3,000, not as 1e9."),
        ("2.5E+3", "Write the number out in full, like 3,000, not as 2.5E+3."),
        ("-300", "A number of people cannot be below zero."),
        ("12.5", "Give a whole number of people, like 3,000, without a decimal point."),
        ("3,00", "Give the number of people in digits, like 3,000 or 3000."),
        ("lots", "Give the number of people in digits, like 3,000 or 3000."),
        ("٣٠٠٠", "Give the number of people in digits, like 3,000 or 3000."),
        ("10,000,000,001", "10,000,000,001 is more people than live on Earth."),
        ("", "Give the number of people, like 3,000."),
    ],
)
def test_a_count_that_cannot_be_meant_is_refused_in_plain_words(typed: str, message: str) -> None:
    with pytest.raises(forms.ValidationError) as refused:
        PopulationField().clean(typed)
    assert refused.value.messages[0].startswith(message), refused.value.messages


def setup() -> tuple[Survey, Client, str]:
    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN)
    survey.weighting_targets = {"shift": {"day": 120.0, "night": 80.0}}
    survey.save(update_fields=["weighting_targets"])
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:weighting", kwargs={"slug": community.slug, "pk": survey.pk})
    return survey, client, url


def field_error(html: str, field: str) -> str:
    """The error shown inside the field's own block, next to its input."""
    block = re.search(
        rf'<div class="field field--error">(?:(?!<div class="field).)*?name="{field}"', html, re.S
    )
    assert block is not None, f"no error next to {field}"
    found = re.search(r'<ul class="errorlist"[^>]*>\s*<li>(.*?)</li>', block.group(0), re.S)
    assert found is not None
    return found.group(1)


def test_an_organiser_saves_figures_with_thousands_separators() -> None:
    survey, client, url = setup()
    saved = client.post(url, {"question": "shift", "pop_day": "3,000", "pop_night": "1 200"})
    assert saved.status_code == 302
    survey.refresh_from_db()
    assert survey.weighting_targets == {"shift": {"day": 3000.0, "night": 1200.0}}
    # Shown again as typed, with the separator.
    assert 'value="3,000"' in client.get(url).content.decode()


def test_refused_figures_are_named_next_to_their_field_and_nothing_changes() -> None:
    survey, client, url = setup()
    before = Survey.objects.get(pk=survey.pk).weighting_targets
    refused = client.post(url, {"question": "shift", "pop_day": "1e9", "pop_night": "-5"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert field_error(html, "pop_day").startswith("Write the number out in full")
    assert field_error(html, "pop_night") == "A number of people cannot be below zero."
    # The summary at the top links to each field; no message is only at the top.
    assert 'href="#id_pop_day"' in html
    assert 'href="#id_pop_night"' in html
    assert Survey.objects.get(pk=survey.pk).weighting_targets == before
    for day, night, name, message in (
        ("300", "", "pop_night", "Give the number of people, like 3,000."),
        ("20000000000", "300", "pop_day", "20000000000 is more people than live on Earth."),
        ("2.5", "300", "pop_day", "Give a whole number of people"),
    ):
        again = client.post(url, {"question": "shift", "pop_day": day, "pop_night": night})
        assert field_error(again.content.decode(), name).startswith(message)
        assert Survey.objects.get(pk=survey.pk).weighting_targets == before
