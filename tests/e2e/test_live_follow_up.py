# mypy: disable-error-code="no-untyped-call,misc"
"""A follow-up question on the same page, on a small phone (360 by 740).

With JavaScript it appears as soon as the answer that brings it up is ticked, the
status line says so for screen readers and focus stays on the box just ticked; unticked,
it goes again, keeping what was typed in it until the page is sent, and an answer left
in it then is not kept. Only a question that decides whether another shows asks the
server anything. Without JavaScript, Continue shows it, as before. A question brought
up by a typed answer (a number, a text, a date) is there when Tab leaves the box, so a
keyboard user lands on it. A Welsh respondent's link to "How Sayso protects you" leads
to that page in Welsh."""

from __future__ import annotations

from typing import Any

import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.models import Question, Response, Section, Survey
from sayso.surveys.tests.test_respondent_flow import build_survey
from sayso.surveys.tests.test_respondent_ui_languages import build_survey as build_welsh_survey

from .conftest import BrowseFactory

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 360, "height": 740}
# htmx has finished its swap and settling.
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
FOLLOW_UP = "What else worries you? (required)"


def asked_live(page: Any) -> list[str]:
    """Collects the page's htmx requests (the form posts sent as someone answers)."""
    sent: list[str] = []
    page.on(
        "request",
        lambda request: sent.append(request.url) if request.headers.get("hx-request") else None,
    )
    return sent


def test_with_javascript_the_follow_up_appears_as_soon_as_it_applies(
    browse: BrowseFactory,
) -> None:
    survey = build_survey()
    person = browse("respondent")
    page = person.page
    person.visit(f"/surveys/{survey.link_token}/")
    person.submit("Start")
    person.at_width(SMALL_PHONE)
    sent = asked_live(page)
    follow_up = page.get_by_label(FOLLOW_UP)
    status = page.locator("#questions-status")
    assert not follow_up.is_visible()

    # An answer that decides whether nothing shows asks nothing; one that could, asks,
    # and when nothing changes nothing is said.
    page.get_by_label("Day").check()
    page.wait_for_timeout(300)
    assert sent == []
    with page.expect_response(lambda response: response.request.headers.get("hx-request")):
        page.get_by_label("Pay").check()
    page.wait_for_function(SETTLED)
    assert sent == [page.url]  # to the page itself, not a page of its own
    assert status.inner_text() == ""
    assert not follow_up.is_visible()

    page.get_by_label("Something else").check()
    follow_up.wait_for(state="visible")
    page.wait_for_function(SETTLED)
    assert status.inner_text() == (
        "A new question appeared because of your answer: What else worries you?"
    )
    assert page.evaluate("document.activeElement.id") == "q_worries-3"  # focus stays
    assert len(sent) == 2
    person.check()  # axe, the CSP (console) and no sideways scrolling, as it now stands

    # Typed in, then no longer applying: hidden, its text kept in the page for now.
    follow_up.fill("Cameras in the canteen")
    page.get_by_label("Something else").uncheck()
    follow_up.wait_for(state="hidden")
    page.wait_for_function(SETTLED)
    assert status.inner_text() == (
        "A question no longer applies because of your answer, so it is hidden."
    )
    assert page.evaluate("document.activeElement.id") == "q_worries-3"
    page.get_by_label("Something else").check()
    follow_up.wait_for(state="visible")
    page.wait_for_function(SETTLED)
    assert follow_up.input_value() == "Cameras in the canteen"

    # Sent while hidden: the answer in it is not kept.
    page.get_by_label("Something else").uncheck()
    follow_up.wait_for(state="hidden")
    page.wait_for_function(SETTLED)
    person.submit("Continue")
    assert page.get_by_role("heading", level=1).inner_text() == "Priorities"
    assert Response.objects.get().draft == {"shift": "day", "worries": ["pay"]}
    assert page.locator("[hx-post]").count() == 0  # nothing on this page decides another

    # Back, brought up again, answered and sent: kept, with no stop on the way.
    person.submit("Back")
    assert not follow_up.is_visible()
    page.get_by_label("Something else").check()
    follow_up.wait_for(state="visible")
    page.wait_for_function(SETTLED)
    assert follow_up.input_value() == ""
    follow_up.fill("Cameras in the canteen")
    person.submit("Continue")
    assert page.get_by_role("heading", level=1).inner_text() == "Priorities"
    assert Response.objects.get().draft["worries_other"] == "Cameras in the canteen"


def test_without_javascript_continue_shows_the_follow_up(browse: BrowseFactory) -> None:
    survey = build_survey()
    person = browse("respondent", javascript=False)
    page = person.page
    person.visit(f"/surveys/{survey.link_token}/")
    person.submit("Start")
    person.at_width(SMALL_PHONE)
    follow_up = page.get_by_label(FOLLOW_UP)
    page.get_by_label("Day").check()
    page.get_by_label("Something else").check()
    assert not follow_up.is_visible()  # nothing runs: it shows once the page is sent
    person.submit("Continue")
    title = "A new question appeared because of your answer"
    assert page.get_by_role("heading", name=title).count() == 1
    assert page.locator(".error-summary").count() == 0
    assert follow_up.is_visible()
    assert page.get_by_label("Something else").is_checked()
    follow_up.fill("Cameras in the canteen")
    person.submit("Continue")
    assert page.get_by_role("heading", level=1).inner_text() == "Priorities"
    assert Response.objects.get().draft["worries_other"] == "Cameras in the canteen"


def test_a_welsh_respondent_reads_how_sayso_protects_them_in_welsh(
    browse: BrowseFactory,
) -> None:
    survey, _questions = build_welsh_survey()
    person = browse("Welsh respondent")
    page = person.page
    person.visit(f"/surveys/{survey.link_token}/?lang=cy")
    person.submit("Dechrau")
    person.at_width(SMALL_PHONE)
    person.follow("Sut mae Sayso yn eich diogelu")
    assert page.get_by_role("heading", level=1).inner_text() == "Sut mae Sayso yn eich diogelu"
    assert page.evaluate("document.documentElement.lang") == "cy"
    assert "Results about small groups" not in page.content()


def build_typed_survey() -> Survey:
    """One page whose follow-ups are brought up by what is typed: a number, a text and
    a date, each followed by its follow-up and then a question everyone is asked."""
    survey = Survey.objects.create(
        community=CommunityFactory(),
        title="Long service",
        languages=["en"],
        status=Survey.Status.OPEN,
    )
    section = Section.objects.create(survey=survey, order=1, title={"en": "Your work"})
    rows = [
        ("years", Question.Type.NUMBER, "Years worked here", ""),
        ("changed", Question.Type.SHORT_TEXT, "What changed in that time?", "${years} >= 10"),
        ("team", Question.Type.SHORT_TEXT, "Your team", ""),
        ("other_job", Question.Type.SHORT_TEXT, "Another job, if you have one", ""),
        ("other_hours", Question.Type.NUMBER, "Hours a week there", "${other_job} != ''"),
        ("site", Question.Type.SHORT_TEXT, "Your site", ""),
        ("since", Question.Type.DATE, "Working here since", ""),
        ("before", Question.Type.SHORT_TEXT, "Where before that?", "${since} >= '2020-01-01'"),
        ("role", Question.Type.SHORT_TEXT, "Your role", ""),
    ]
    for order, (name, kind, label, relevant) in enumerate(rows, start=1):
        Question.objects.create(
            survey=survey,
            section=section,
            order=order,
            name=name,
            type=kind,
            label={"en": label},
            relevant=relevant,
            whole_number=kind == Question.Type.NUMBER,
        )
    return survey


@pytest.mark.parametrize(
    ("decider", "typed", "follow_up"),
    [
        ("q_years", "20", "q_changed"),
        ("q_other_job", "Cleaner", "q_other_hours"),
        ("q_since", "01032021", "q_before"),  # typed into its day, month, year: 1 March 2021
    ],
)
def test_tab_from_a_typed_answer_lands_on_the_question_it_brings_up(
    browse: BrowseFactory, decider: str, typed: str, follow_up: str
) -> None:
    # A person types their answer, pauses as people do (well under a second) and
    # presses Tab: the question the answer brought up is there to be tabbed into, in
    # its place, not skipped on the way to the next question.
    survey = build_typed_survey()
    person = browse("keyboard respondent")
    page = person.page
    person.visit(f"/surveys/{survey.link_token}/")
    person.submit("Start")
    sent = asked_live(page)
    page.focus(f"#{decider}")
    page.keyboard.type(typed, delay=80)
    page.wait_for_timeout(500)
    page.keyboard.press("Tab")
    if decider == "q_since":  # Chromium's date box takes a Tab of its own, after the year
        assert page.evaluate("document.activeElement.id") == decider
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == follow_up
    page.wait_for_function(SETTLED)
    assert page.locator("#questions-status").inner_text() == (
        "A new question appeared because of your answer: "
        + page.locator(f"label[for={follow_up}]").inner_text()
    )
    # Asked while the person typed, not once per key (Chromium tells of each complete
    # date as it is typed, so a date may ask a few times).
    assert 1 <= len(sent) <= (4 if decider == "q_since" else 2), sent
    # htmx's indicator styles are off (base.html's htmx-config): no inline <style>,
    # which the CSP would refuse with a console error.
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    person.check()  # axe, and no console error (the CSP) after the live updates
