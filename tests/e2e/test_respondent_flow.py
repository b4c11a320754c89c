# mypy: disable-error-code="no-untyped-call"
"""A respondent with an invitation code, on a phone, with and without JavaScript: the
first page gives the private link to keep; a follow-up question brought up by an
answer appears with a notice instead of an error; a refused ranking keeps the numbers
chosen; "Save and continue later" names what it could not keep and comes back to the
same page; the consent statement says it is required; the check link, once the
answers are sent, says it has ended. Every page is axe-checked."""

from __future__ import annotations

import pytest

from sayso.core.tests.factories import OrganiserFactory
from sayso.surveys import services
from sayso.surveys.models import Response, Survey
from sayso.surveys.tests.test_respondent_flow import build_survey
from sayso.surveys.tests.test_respondent_ui_languages import (
    build_survey as build_welsh_and_polish_survey,
)

from .conftest import BrowseFactory

pytestmark = pytest.mark.e2e

# htmx has finished its swap and settling.
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


@pytest.mark.parametrize("javascript", [True, False])
def test_answering_with_a_code_keeps_what_was_typed(
    browse: BrowseFactory, javascript: bool
) -> None:
    survey = build_survey(status=Survey.Status.DRAFT)
    organiser = OrganiserFactory(community=survey.community).user
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=1)
    survey.status = Survey.Status.OPEN
    survey.save(update_fields=["status"])

    person = browse("respondent", javascript=javascript)
    page = person.page
    person.visit(f"/surveys/{survey.link_token}/code/")
    page.get_by_label("Your invitation code:").fill(codes[0])
    person.submit("Start")
    notice = page.locator(".notification", has_text="Keep this private link")
    assert notice.get_by_role("link").inner_text() == page.url

    # Each option's words sit beside its box, not under it.
    box = page.get_by_label("Day").bounding_box()
    words = page.locator("label", has_text="Day").first.bounding_box()
    assert box is not None
    assert words is not None
    assert words["x"] >= box["x"] + box["width"]
    assert abs(words["y"] - box["y"]) < box["height"]

    # A follow-up question appears: with JavaScript as soon as the answer brings it up
    # (said in the status line, focus left where it is); without, after Continue, with a
    # notice and without an error.
    page.get_by_label("Day").check()
    follow_up = page.get_by_label("What else worries you? (required)")
    assert not follow_up.is_visible()
    page.get_by_label("Something else").check()
    if javascript:
        follow_up.wait_for(state="visible")
        page.wait_for_function(SETTLED)
        assert page.locator("#questions-status").inner_text() == (
            "A new question appeared because of your answer: What else worries you?"
        )
        assert page.evaluate("document.activeElement.id") == "q_worries-3"
        person.check()
    else:
        person.submit("Continue")
        title = "A new question appeared because of your answer"
        assert page.get_by_role("heading", name=title).count() == 1
        assert page.locator(".error-summary").count() == 0
    assert page.get_by_label("Something else").is_checked()
    follow_up.fill("Cameras in the canteen")
    person.submit("Continue")

    # A refused ranking keeps the numbers chosen.
    assert page.get_by_role("heading", level=1).inner_text() == "Priorities"
    for option, rank in (("Pay", "1"), ("Privacy", "1"), ("Safety", "3")):
        page.get_by_label(option).select_option(rank)
    person.submit("Continue")
    assert "Give each option a different number from 1 to 3." in page.content()
    assert [page.get_by_label(o).input_value() for o in ("Pay", "Privacy", "Safety")] == [
        "1",
        "1",
        "3",
    ]

    # Saved for later: the ranking is named, and the link comes back to this page.
    person.submit("Save and continue later")
    assert "Your answer to “Rank what matters most” was not saved" in page.content()
    person.click(page.locator("main a[href*='/r/']"))
    assert page.get_by_role("heading", level=1).inner_text() == "Priorities"
    for option, rank in (("Pay", "2"), ("Privacy", "1"), ("Safety", "3")):
        page.get_by_label(option).select_option(rank)
    person.submit("Continue")

    page.get_by_label("I agree to take part (required)").check()
    person.submit("Continue")
    assert "Check your answers before sending" in page.content()
    check_link = page.url
    person.submit("Send my answers")
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you"
    assert Response.objects.get().draft["priorities"] == ["privacy", "pay", "safety"]

    person.visit(check_link, status=404)
    assert page.get_by_role("heading", level=1).inner_text() == "This private link has ended"
    assert "Cameras in the canteen" not in page.content()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_respondent_changes_language_and_an_answer_from_the_check_page(
    browse: BrowseFactory, javascript: bool
) -> None:
    # Welsh picked by mistake on the start page: English chosen on the first page by a
    # language button, which sends the page (so what was typed is kept; no script
    # needed); then an answer changed from the check page leads back to it.
    survey, _questions = build_welsh_and_polish_survey()
    person = browse("respondent", javascript=javascript)
    page = person.page
    person.visit(f"/surveys/{survey.link_token}/?lang=cy")
    person.submit("Dechrau")
    assert page.evaluate("document.documentElement.lang") == "cy"
    language = page.get_by_role("navigation", name="Iaith")
    assert language.locator("[aria-current]").inner_text() == "Cymraeg"
    person.click(language.get_by_role("button", name="English"))
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "About you"
    assert Response.objects.get().language == "en"

    page.get_by_label("Day").check()
    page.get_by_label("Your age").fill("30")
    page.get_by_label("None of these").check()
    person.submit("Continue")
    page.get_by_label("Pay").select_option("1")
    page.get_by_label("Safety").select_option("2")
    page.get_by_label("I agree to take part (required)").check()
    person.submit("Continue")
    assert page.get_by_role("heading", level=1).inner_text() == "Check your answers before sending"
    check_url = page.url

    person.click(page.get_by_role("link", name="Change Your age"))
    assert page.get_by_role("heading", level=1).inner_text() == "About you"
    page.get_by_label("Your age").fill("31")
    person.submit("Continue")
    assert page.url == check_url  # not through the second page again
    assert page.locator("dd", has_text="31").count() == 1
    person.submit("Send my answers")
    sent = Response.objects.get()
    assert (sent.status, sent.language, sent.draft["age"]) == (
        Response.Status.COMPLETE,
        "en",
        31,
    )
