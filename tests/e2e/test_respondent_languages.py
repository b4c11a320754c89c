# mypy: disable-error-code="no-untyped-call"
"""A respondent on a 320 px phone without JavaScript answers a survey in two languages:
switches to Polish on the start page (Sayso's own words turn Polish too), answers,
presses Back with a number that is not a number (told, not silently dropped), goes
back anyway with the rest kept, saves for later, comes back by the private link,
checks and sends. Another answers a survey in Welsh from start to thanks. Every page
is axe-checked and must not scroll sideways; the language in effect at each text is
read from the page as a screen reader would (the nearest lang attribute)."""

from __future__ import annotations

from typing import Any

import pytest

from sayso.surveys.models import Response
from sayso.surveys.tests.test_respondent_languages import build_survey
from sayso.surveys.tests.test_respondent_ui_languages import build_survey as ui_survey

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
    assert page.evaluate("document.documentElement.lang") == "pl"
    assert page.get_by_role("heading", level=1).inner_text() == "Ankieta o pracy"
    assert language_at(page, "Ankieta o pracy") == "pl"
    assert language_at(page, "Tell us about work.") == "en"  # not translated: said English
    assert page.get_by_role("combobox", name="Język").input_value() == "pl"
    person.submit("Rozpocznij")

    # The first page: Polish texts and Sayso's words Polish, English fallbacks English.
    assert page.get_by_role("heading", level=1).inner_text() == "O tobie"
    assert language_at(page, "Twoja zmiana (wymagane)") == "pl"  # the group's legend
    assert language_at(page, "Dzienna") == "pl"
    assert language_at(page, "Night") == "en"
    assert language_at(page, "(wymagane)") == "pl"
    assert (
        page.get_by_role("button", name="Dalej", exact=True).evaluate(
            "e => e.closest('[lang]').lang"
        )
        == "pl"
    )
    page.get_by_label("Dzienna").check()
    page.get_by_label("Your age").fill("30")
    page.get_by_label("Coś jeszcze?").fill("Nic")
    person.submit("Dalej")

    # Back with a number that cannot be read: told, the rest kept.
    page.get_by_label("Ile lat tu pracujesz?").fill("abc")
    person.submit("Wstecz")
    assert "Nie udało się zapisać" in page.locator(".error-summary").inner_text()
    assert page.get_by_label("Ile lat tu pracujesz?").input_value() == "abc"
    page.get_by_label("Ile lat tu pracujesz?").fill("4")
    person.submit("Wróć mimo to")
    assert page.get_by_role("heading", level=1).inner_text() == "O tobie"
    assert page.get_by_label("Dzienna").is_checked()
    assert page.get_by_label("Coś jeszcze?").input_value() == "Nic"
    person.submit("Dalej")
    assert page.get_by_label("Ile lat tu pracujesz?").input_value() == "4"

    # Save for later, and come back by the private link.
    person.submit("Zapisz i dokończ później")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "Twoje odpowiedzi zostały zapisane"
    person.click(page.locator("main a[href*='/r/']"))
    assert page.get_by_label("Ile lat tu pracujesz?").input_value() == "4"
    person.submit("Dalej")

    # The check page, then send.
    assert "Sprawdź odpowiedzi przed wysłaniem" in page.content()
    assert language_at(page, "Twoja zmiana") == "pl"
    # The answer, in the page's language (Polish): no element of its own.
    assert "Dzienna" in page.locator("dl.summary-list").inner_text()
    assert page.evaluate("document.documentElement.lang") == "pl"
    person.submit("Wyślij moje odpowiedzi")
    assert page.get_by_role("heading", level=1).inner_text() == "Dziękujemy"
    assert page.evaluate("document.documentElement.lang") == "pl"
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
    person.submit("Dechrau")  # "welsh" speaks Sayso's Welsh
    assert language_at(page, "Twoja zmiana (gofynnol)") == "cy"  # the group's legend


def test_answering_a_survey_in_welsh_from_start_to_thanks(browse: BrowseFactory) -> None:
    """Sayso's words in Welsh on every page, the page said to be Welsh (lang="cy"),
    the survey's Welsh texts inheriting it, without JavaScript at 320 px."""
    survey, _questions = ui_survey(("en", "cy"))
    person = browse("Welsh respondent", javascript=False)
    page = person.page
    page.set_viewport_size(SMALLEST)
    person.visit(survey.public_url())
    person.follow("Cymraeg")
    assert page.evaluate("document.documentElement.lang") == "cy"
    assert page.get_by_role("heading", level=1).inner_text() == "Arolwg gwaith"
    assert page.get_by_role("link", name="Neidio i'r prif gynnwys").count() == 1
    person.submit("Dechrau")

    # The first page: nothing answered is refused, in Welsh.
    assert page.get_by_text("Tudalen 1 o 2", exact=True).is_visible()
    person.submit("Parhau")
    summary = page.locator(".error-summary")
    assert "Mae problem wedi codi" in summary.inner_text()
    assert "Eich shifft: Atebwch y cwestiwn hwn." in summary.inner_text()
    assert language_at(page, "Mae problem wedi codi") == "cy"
    page.get_by_label("Nos", exact=True).check()
    page.get_by_label("Eich oed").fill("30")
    page.get_by_label("Dim un o'r rhain").check()
    person.submit("Parhau")

    # The night shift brings up a question: said in Welsh, then answered.
    assert "Mae cwestiwn newydd wedi ymddangos" in page.locator("#new-questions").inner_text()
    page.get_by_label("Nosweithiau'r mis").fill("4")
    person.submit("Parhau")

    # The second page: a ranking, a date, a consent statement.
    assert page.get_by_text("Tudalen 2 o 2", exact=True).is_visible()
    page.get_by_label("Cyflog").select_option("1")
    page.get_by_label("Diogelwch").select_option("2")
    page.get_by_label("Pryd dechreuoch chi").fill("2019-03-02")
    page.get_by_label("Rwy'n cytuno i gymryd rhan").check()
    person.submit("Parhau")

    # The check page, then send.
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Gwiriwch eich atebion cyn eu hanfon"
    )
    answers = page.locator("dl.summary-list").inner_text()
    for said in ("Wedi cytuno", "2 Mawrth 2019", "Heb ei ateb", "Newid"):
        assert said in answers
    person.submit("Anfon fy atebion")
    assert page.get_by_role("heading", level=1).inner_text() == "Diolch"
    assert page.evaluate("document.documentElement.lang") == "cy"
    sent = Response.objects.get()
    assert (sent.status, sent.language) == (Response.Status.COMPLETE, "cy")
    assert sent.draft == {
        "shift": "night",
        "nights": 4,
        "age": 30,
        "worries": ["none"],
        "rank": ["pay", "safety"],
        "started": "2019-03-02",
        "consent": "yes",
    }
