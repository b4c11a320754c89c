# mypy: disable-error-code="no-untyped-call,arg-type"
"""The translations page never cuts a translation short.

Its boxes carried maxlength, so a browser silently cut a longer translation pasted in
at the limit, mid-word. Now the page says each box's limit, the browser sends the
whole text, and a text too long is refused by name with its length, every typed
translation shown again and nothing saved changed (as the deliberation statement
form does)."""

from __future__ import annotations

import html
import re

import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.models import Survey

from .factories import make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


def welsh_survey() -> Survey:
    survey = make_survey(CommunityFactory())
    survey.languages = ["en", "cy"]
    survey.welcome = "Thank you for taking part."
    survey.texts = {"cy": {"title": "Arolwg sganwyr"}}
    survey.save(update_fields=["languages", "welcome", "texts"])
    return survey


def boxes(page: str) -> list[str]:
    return re.findall(r"<(?:input type=\"text\"|textarea) name=\"[^\"]+\"[^>]*>", page)


def test_no_box_is_cut_by_the_browser_and_each_says_its_limit() -> None:
    survey = welsh_survey()
    page = organiser_client(survey).get(survey_url("translations", survey, language="cy"))
    text = page.content.decode()
    found = boxes(text)
    assert found
    assert not any("maxlength" in box for box in found)
    # The title's box (the first): its limit said beside it and read out with it.
    assert '<div class="helptext" id="t1_limit">At most 200 characters.</div>' in text
    assert 'name="survey.title"' in found[0]
    assert 'aria-describedby="t1_original t1_limit"' in found[0]
    # A text without a limit (the welcome text) says none.
    welcome = next(box for box in found if 'name="survey.welcome"' in box)
    assert "_limit" not in welcome


def test_a_translation_too_long_is_refused_by_name_and_nothing_typed_or_saved_is_lost() -> None:
    survey = welsh_survey()
    shift = survey.questions.get(name="shift")
    day = shift.choices.get(name="day")
    long_title = "Arolwg " + "hir iawn " * 30  # 277 characters, as a browser now sends it
    client = organiser_client(survey)
    url = survey_url("translations", survey, language="cy")
    refused = client.post(
        url,
        {
            "survey.title": long_title,
            f"question.{shift.pk}.label": "Shifft",
            f"choice.{day.pk}": "Dydd",
        },
    )
    assert refused.status_code == 200
    page = html.unescape(refused.content.decode())
    length = len(long_title.strip())
    message = f"Use at most 200 characters, as for the original (this has {length})."
    # Named in the summary by its box, and said at the box.
    assert f"Title: {message}" in page
    assert f'<ul class="errorlist" id="t1_error"><li>{message}</li></ul>' in page
    # The whole text comes back, and every other translation typed with it.
    assert f'value="{long_title.strip()}"' in page
    assert 'value="Shifft"' in page
    assert 'value="Dydd"' in page
    # Nothing saved changed: the translation saved before is kept, the new ones wait.
    survey.refresh_from_db()
    assert survey.texts == {"cy": {"title": "Arolwg sganwyr"}}
    shift.refresh_from_db()
    day.refresh_from_db()
    assert "cy" not in shift.label
    assert "cy" not in day.label
