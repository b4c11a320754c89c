# mypy: disable-error-code="no-untyped-call,arg-type"
"""A survey's printable codes come in pages of a bounded size (a batch may have 2,000
codes, each card with the survey's QR code), without JavaScript or stored codes."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from sayso.core.models import InvitationCode
from sayso.core.selectors import SHEET_PAGE, sheet_token
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in

from .factories import make_survey
from .factories import survey_url as url

pytestmark = pytest.mark.django_db

CODE = re.compile(r"<code>([A-Z0-9-]+)</code>")


def test_two_thousand_codes_come_a_page_at_a_time_and_all_once() -> None:
    survey = make_survey(CommunityFactory())
    client = signed_in(OrganiserFactory(community=survey.community).user)
    first = client.post(url("codes", survey), {"size": 2000}, follow=True)
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, no-store"
    html = first.content.decode()
    pages = -(-2000 // SHEET_PAGE)
    # One page held every code: 6.9 MB of HTML (the QR code's data in each card).
    assert html.count("<img src=") == SHEET_PAGE
    assert len(first.content) < 1_000_000
    assert f"Codes 1 to {SHEET_PAGE} of 2,000 (page 1 of {pages})." in html
    seen = CODE.findall(html)
    for number in range(2, pages + 1):
        token = re.search(r'name="sheet" value="([^"]+)"', html)
        assert token is not None
        assert f'name="page" value="{number}"' in html
        page = client.post(url("code-sheet", survey), {"sheet": token.group(1), "page": number})
        assert page.status_code == 200
        html = page.content.decode()
        assert f"(page {number} of {pages})" in html
        seen += CODE.findall(html)
    assert f'name="page" value="{pages + 1}"' not in html
    assert len(seen) == len(set(seen)) == 2000
    survey.refresh_from_db()
    stored = set(
        InvitationCode.objects.filter(batch=survey.code_batch).values_list("digest", flat=True)
    )
    assert {InvitationCode.digest_of(code) for code in seen} == stored


def test_an_earlier_batchs_sheet_still_shows_as_its_codes_still_work() -> None:
    survey = make_survey(CommunityFactory())
    organiser = OrganiserFactory(community=survey.community).user
    client = signed_in(organiser)
    client.post(url("codes", survey), {"size": 2})
    survey.refresh_from_db()
    old = sheet_token(batch_id=survey.code_batch_id, user_id=organiser.pk, codes=["AAAAA-BBBBB"])
    client.post(url("codes", survey), {"size": 2})  # more codes: the first ones still work
    response = client.post(url("code-sheet", survey), {"sheet": old, "page": 1})
    assert response.status_code == 200
    assert b"AAAAA-BBBBB" in response.content


def test_another_surveys_sheet_shows_nothing() -> None:
    survey = make_survey(CommunityFactory())
    other = make_survey(survey.community)
    organiser = OrganiserFactory(community=survey.community).user
    client = signed_in(organiser)
    client.post(url("codes", survey), {"size": 2})
    client.post(url("codes", other), {"size": 2})
    other.refresh_from_db()
    theirs = sheet_token(batch_id=other.code_batch_id, user_id=organiser.pk, codes=["AAAAA-BBBBB"])
    response = client.post(url("code-sheet", survey), {"sheet": theirs, "page": 1})
    assert response.status_code == 302
    assert response["Location"] == url("detail", survey)
    assert any("can no longer be shown" in str(m) for m in get_messages(response.wsgi_request))
    assert b"AAAAA-BBBBB" not in response.content
