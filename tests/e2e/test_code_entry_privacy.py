# mypy: disable-error-code="no-untyped-call"
"""A respondent with an invitation code, without JavaScript, reads who sees the answers
before typing anything: the code page shows the survey's privacy notice, as the start
page of a link survey does. Every page is axe-checked."""

from __future__ import annotations

import pytest

from sayso.core.tests.factories import OrganiserFactory
from sayso.surveys import services
from sayso.surveys.models import Response, Survey
from sayso.surveys.tests.test_respondent_flow import build_survey

from .conftest import BrowseFactory

pytestmark = pytest.mark.e2e

NOTICE = "Only the branch organisers see answers, and only as totals."


def test_code_path_shows_the_privacy_notice_before_the_first_answer(
    browse: BrowseFactory,
) -> None:
    survey = build_survey(
        status=Survey.Status.DRAFT,
        distribution=Survey.Distribution.CODES,
        privacy_notice=NOTICE,
    )
    organiser = OrganiserFactory(community=survey.community).user
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=1)
    survey.status = Survey.Status.OPEN
    survey.save(update_fields=["status"])

    person = browse("respondent", javascript=False)
    page = person.page
    # The link on the card or poster leads to the code page.
    person.visit(survey.public_url())
    assert page.url.endswith(f"/surveys/{survey.link_token}/code/")
    heading = page.get_by_role("heading", name="Who sees your answers", level=2)
    assert heading.is_visible()
    notice = page.get_by_text(NOTICE, exact=True)
    assert notice.is_visible()
    code_box = page.get_by_label("Your invitation code:")
    # Read before the code box, in reading order.
    assert notice.bounding_box()["y"] < code_box.bounding_box()["y"]

    # A start without a code is refused in plain words, next to the box.
    person.submit("Start")
    assert page.locator("#id_code_error").inner_text() == "Enter the code from your card or letter."
    assert page.get_by_text(NOTICE, exact=True).is_visible()
    assert Response.objects.count() == 0

    code_box = page.get_by_label("Your invitation code:")
    code_box.fill(codes[0])
    person.submit("Start")
    assert page.get_by_role("heading", level=1).inner_text() == "About work"
    assert Response.objects.count() == 1
