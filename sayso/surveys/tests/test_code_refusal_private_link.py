# mypy: disable-error-code="no-untyped-call,arg-type"
"""A code holder whose code is refused is told the honest way back: a code works once,
and the answers it started are under the private link shown on their first page.

The refusal stays the same for a code that does not exist and one already used, so
that a guesser learns nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sayso.core.models import InvitationCodeUse
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory
from sayso.surveys import services
from sayso.surveys.models import Response, Survey
from sayso.surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db

REFUSED = (
    "That code is not valid or has already been used. Check it and try again. If you used"
    " it already, go back to your answers with the private link shown on your first page:"
    " a code works only once."
)


def _code_survey() -> tuple[Survey, list[str]]:
    survey = make_survey(CommunityFactory(), distribution=Survey.Distribution.CODES)
    organiser = OrganiserFactory(community=survey.community).user
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=2)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    survey.refresh_from_db()
    return survey, codes


def _state() -> tuple[int, int]:
    return InvitationCodeUse.objects.count(), Response.objects.count()


def test_a_used_code_points_to_the_private_link_and_a_made_up_one_reads_the_same() -> None:
    survey, codes = _code_survey()
    url = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    first = Client().post(url, {"code": codes[0]})
    assert first.status_code == 302
    # What the sentence promises: the first page shows the private link to keep.
    first_page = Client().get(first["Location"]).content.decode()
    assert "Keep this private link to come back to your answers" in first_page
    before = _state()
    used = Client().post(url, {"code": codes[0]})
    made_up = Client().post(url, {"code": "ZZZZZ-ZZZ22"})
    for refused in (used, made_up):
        assert refused.status_code == 200
        html = refused.content.decode()
        assert REFUSED in html
    assert _state() == before  # neither refusal used a code or started answers
    # Nothing on the page tells a used code from one that never existed.
    assert used.context["form"].errors == made_up.context["form"].errors == {"code": [REFUSED]}


def test_a_null_character_gets_the_same_refusal() -> None:
    survey, codes = _code_survey()
    url = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    refused = Client().post(url, {"code": codes[1] + "\x00"})
    assert refused.status_code == 200
    assert REFUSED in refused.content.decode()
    assert _state() == (0, 0)


@pytest.mark.parametrize("language", ["cy", "pl"])
def test_the_refusal_is_translated(language: str) -> None:
    with translation.override(language):
        said = translation.gettext(REFUSED)
    assert said != REFUSED
    assert said.count(":") == 1  # the two sentences and the link's reason, all there
