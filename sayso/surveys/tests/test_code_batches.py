# mypy: disable-error-code="no-untyped-call,arg-type"
"""Invitation codes for a survey: the organiser is told, before making codes, that the
survey will then take only codes; a later batch adds codes and never voids the cards
already handed out; each code still works exactly once, whichever batch it is from."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import InvitationCodeUse
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory
from sayso.surveys import services
from sayso.surveys.models import Response, Survey

from .factories import make_survey, organiser_client, start_with_code_at_once
from .factories import survey_url as url

pytestmark = pytest.mark.django_db

SWITCH = "Once you create codes, the survey accepts only invitation codes"


def _open_with_codes(size: int = 2) -> tuple[Survey, list[str]]:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community)
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=size)
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=organiser)
    return survey, codes


def test_codes_page_says_a_link_survey_will_then_take_only_codes() -> None:
    survey = make_survey(CommunityFactory())
    page = organiser_client(survey).get(url("codes", survey))
    html = page.content.decode()
    assert SWITCH in html
    assert "Who can answer now: Anyone with the link." in html
    assert "Create codes and accept only codes" in html
    survey.refresh_from_db()
    assert survey.distribution == Survey.Distribution.LINK  # looking changes nothing


def test_codes_page_of_a_codes_survey_says_new_codes_are_added() -> None:
    survey, _codes = _open_with_codes(size=3)
    html = organiser_client(survey).get(url("codes", survey)).content.decode()
    assert SWITCH not in html
    assert "New codes are added to the ones you already made" in html
    assert "Codes already made for this survey" in html
    assert "Create more codes" in html


def test_a_second_batch_adds_codes_and_the_first_batchs_codes_still_work() -> None:
    survey, first = _open_with_codes(size=2)
    services.start_response(survey=survey, language="en", code=first[0])
    _batch, second = services.create_codes(survey=survey, actor=None, size=2)
    survey.refresh_from_db()
    assert survey.distribution == Survey.Distribution.CODES
    # An unused card from the first batch still opens the survey, once.
    services.start_response(survey=survey, language="en", code=first[1])
    services.start_response(survey=survey, language="en", code=second[0])
    assert Response.objects.filter(survey=survey).count() == 3
    for used in (first[0], first[1], second[0]):
        with pytest.raises(ServiceError, match="not valid or has already been used"):
            services.start_response(survey=survey, language="en", code=used)
    assert Response.objects.filter(survey=survey).count() == 3


def test_another_surveys_codes_do_not_open_this_one() -> None:
    survey, _codes = _open_with_codes(size=1)
    other = make_survey(survey.community)
    _batch, others = services.create_codes(survey=other, actor=None, size=1)
    with pytest.raises(ServiceError, match="not valid or has already been used"):
        services.start_response(survey=survey, language="en", code=others[0])
    assert not Response.objects.exists()
    assert not InvitationCodeUse.objects.exists()


def test_code_entry_page_takes_a_first_batch_code_after_a_second_batch() -> None:
    survey, first = _open_with_codes(size=1)
    organiser_client(survey).post(url("codes", survey), {"size": 1})
    code_page = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    started = Client().post(code_page, {"code": first[0]})
    assert started.status_code == 302
    assert "/r/" in started["Location"]
    again = Client().post(code_page, {"code": first[0]})
    assert again.status_code == 200
    assert "already been used" in again.content.decode()
    assert Response.objects.filter(survey=survey).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_reuse_of_a_first_batch_code_yields_exactly_one_response() -> None:
    survey, first = _open_with_codes(size=1)
    services.create_codes(survey=survey, actor=None, size=1)
    outcomes = start_with_code_at_once(survey, first[0])
    assert outcomes.count("ok") == 1, outcomes
    assert outcomes.count("refused") == 3, outcomes
    assert Response.objects.filter(survey=survey).count() == 1
