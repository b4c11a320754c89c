# mypy: disable-error-code="no-untyped-call"
"""A respondent on a 320 px phone without JavaScript answers a survey in two languages:
switches to Polish on the start page, answers, presses Back with a number that is not
a number (told, not silently dropped), goes back anyway with the rest kept, saves for
later, comes back by the private link, checks and sends. Every page is axe-checked
and must not scroll sideways; the language in effect at each text is read from the
page as a screen reader would (the nearest lang attribute)."""

from __future__ import annotations

from typing import Any

import pytest

from sayso.surveys.models import Response
from sayso.surveys.tests.test_respondent_languages import build_survey

from .conftest import SMALLEST, BrowseFactory

pytestmark = pytest.mark.e2e


def language_at(page: Any, text: str) -> str | None:
    """The language in effect for the (first visible) element whose text is `text`."""
    element = page.get_by_text(text, exact=True).first
    return element.evaluate("e => { const l = e.closest('[lang]'); return l && l.lang }")  # type: ignore[no-any-return]


def test_answering_in_a_second_language_at_320px_without_javascript(
    browse: BrowseFactory,
) -> None:
    survey = build_survey()
    person = browse("respondent", javascript=False)
    page = person.page
    page.set_viewport_size(SMALLEST)
    person.visit(survey.public_url())
    assert page.evaluate("document.documentElement.lang") == "en"

    # Switch language with the links (no script needed), then start.
    person.follow("polski")
    assert page.get_by_role("heading", level=1).inner_text() == "Ankieta o pracy"
    assert language_at(page, "Ankieta o pracy") == "pl"
    assert language_at(page, "Tell us about work.") == "en"  # not translated: said English
    assert page.get_by_role("combobox", name="Language").input_value() == "pl"
    person.submit("Start")

    # The first page: Polish texts marked Polish, English fallbacks and Sayso's words English.
    assert page.get_by_role("heading", level=1).inner_text() == "O tobie"
    assert language_at(page, "Twoja zmiana") == "pl"
    assert language_at(page, "Dzienna") == "pl"
    assert language_at(page, "Night") == "en"
    assert language_at(page, "(required)") == "en"
    assert (
        page.get_by_role("button", name="Continue", exact=True).evaluate(
            "e => e.closest('[lang]').lang"
        )
        == "en"
    )
    page.get_by_label("Dzienna").check()
    page.get_by_label("Your age").fill("30")
    page.get_by_label("Coś jeszcze?").fill("Nic")
    person.submit("Continue")

    # Back with a number that cannot be read: told, the rest kept.
    page.get_by_label("Ile lat tu pracujesz?").fill("abc")
    person.submit("Back")
    assert "could not be saved" in page.locator(".error-summary").inner_text()
    assert page.get_by_label("Ile lat tu pracujesz?").input_value() == "abc"
    page.get_by_label("Ile lat tu pracujesz?").fill("4")
    person.submit("Go back anyway")
    assert page.get_by_role("heading", level=1).inner_text() == "O tobie"
    assert page.get_by_label("Dzienna").is_checked()
    assert page.get_by_label("Coś jeszcze?").input_value() == "Nic"
    person.submit("Continue")
    assert page.get_by_label("Ile lat tu pracujesz?").input_value() == "4"

    # Save for later, and come back by the private link.
    person.submit("Save and continue later")
    assert page.get_by_role("heading", level=1).inner_text() == "Your answers are saved"
    person.click(page.locator("main a[href*='/r/']"))
    assert page.get_by_label("Ile lat tu pracujesz?").input_value() == "4"
    person.submit("Continue")

    # The check page, then send.
    assert "Check your answers before sending" in page.content()
    assert language_at(page, "Twoja zmiana") == "pl"
    assert language_at(page, "Dzienna") == "pl"
    person.submit("Send my answers")
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you"
    sent = Response.objects.get()
    assert (sent.status, sent.language) == (Response.Status.COMPLETE, "pl")
    assert sent.draft == {"shift": "day", "age": 30, "story": "Nic", "years": 4}


def test_languages_stored_by_name_pass_the_accessibility_check(browse: BrowseFactory) -> None:
    """An XLSForm's "welsh" becomes lang="cy"; a name with no known code is marked
    lang="" (unknown), which axe-core accepts, rather than an invalid tag."""
    survey = build_survey(languages=["english", "welsh", "klingonese"], second="welsh")
    person = browse("respondent")
    page = person.page
    person.visit(survey.public_url())
    assert page.get_by_role("link", name="Cymraeg").get_attribute("lang") == "cy"
    assert page.get_by_role("link", name="klingonese").get_attribute("lang") == ""
    person.follow("Cymraeg")
    person.submit("Start")
    assert language_at(page, "Twoja zmiana") == "cy"
