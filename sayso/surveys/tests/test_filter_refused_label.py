# mypy: disable-error-code="no-untyped-call,arg-type"
"""A refused filter is not shown as applied, and the refused group's size is not given.

The reviewer's page: "?only=shift:night" said "These results cannot be shown", yet its
first line read "6 responses · only Which shift do you work?: Night shift", as if the
six were the night shift. Six was everyone (one person works nights); the page now
says "6 responses in all" and names no filter, and never the refused group's size.
"""

from __future__ import annotations

import pytest
from django.test import Client

from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import selectors
from sayso.surveys.models import Survey

from .factories import answer, close, make_survey, survey_url

pytestmark = pytest.mark.django_db


def _shifts(days: int, nights: int) -> Survey:
    survey = make_survey(CommunityFactory(small_group_threshold=5), status=Survey.Status.OPEN)
    for shift in ("day",) * days + ("night",) * nights:
        answer(survey, shift=shift, disciplined="no")
    return close(survey)


def _reader(survey: Survey, *, organiser: bool = False) -> Client:
    factory = OrganiserFactory if organiser else MembershipFactory
    return signed_in(factory(community=survey.community).user)


def _lede(html: str) -> str:
    start = html.index('<p class="lede">')
    return html[start : html.index("</p>", start)]


@pytest.mark.parametrize("organiser", [False, True])
@pytest.mark.parametrize(
    ("choice", "group"),
    [("night", 1), ("day", 5)],  # too few; too few left out
)
def test_a_refused_filter_is_not_shown_as_applied(organiser: bool, choice: str, group: int) -> None:
    survey = _shifts(days=5, nights=1)
    page = _reader(survey, organiser=organiser).get(
        survey_url("results", survey), {"only": f"shift:{choice}"}
    )
    assert page.status_code == 200
    found = page.context["results"]
    assert found.refusal
    assert found.filter_refused is True
    assert found.filter_label == ""
    assert found.questions == []
    assert found.respondents == 6  # everyone, as on the unfiltered page
    html = page.content.decode()
    assert "These results cannot be shown" in html
    assert _lede(html) == '<p class="lede">6 responses in all'
    assert "only Shift" not in html
    assert f"{group} response" not in html
    assert "Only the answers of people who answered" not in html


def test_the_selector_keeps_everyones_count_when_it_refuses_a_filter() -> None:
    survey = _shifts(days=5, nights=1)
    shift = survey.questions.prefetch_related("choices").get(name="shift")
    everyone = selectors.results(survey)
    assert everyone.respondents == 6
    assert everyone.filter_refused is False
    for choice in ("day", "night"):
        refused = selectors.results(survey, only=(shift, choice))
        assert (refused.respondents, refused.filter_label, refused.filter_refused) == (
            6,
            "",
            True,
        )


def test_an_applied_filter_still_names_itself_and_counts_its_group() -> None:
    survey = _shifts(days=6, nights=5)
    page = _reader(survey).get(survey_url("results", survey), {"only": "shift:night"})
    found = page.context["results"]
    assert found.refusal == ""
    assert found.filter_refused is False
    assert found.filter_label == "Shift: Night"
    assert found.respondents == 5
    assert _lede(page.content.decode()) == '<p class="lede">5 responses · only Shift: Night'


def test_results_refused_for_everyone_are_not_called_a_refused_filter() -> None:
    """Fewer than the threshold in all: the page's own refusal, the count as before."""
    survey = _shifts(days=3, nights=1)
    page = _reader(survey).get(survey_url("results", survey), {"only": "shift:night"})
    found = page.context["results"]
    assert found.refusal
    assert found.filter_refused is False
    assert found.filter_label == ""
    assert _lede(page.content.decode()) == '<p class="lede">4 responses'
