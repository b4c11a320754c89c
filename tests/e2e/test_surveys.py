"""A survey in real browsers at phone width: an organiser builds it (a page, a required
single choice, a number with a constraint, a question shown by skip logic), opens it
with invitation codes; two respondents answer with their codes from their own
browsers (one trips the constraint and keeps the answers typed), a used code is
refused; the organiser reads the results with small groups hidden and downloads the
CSV. Every page is axe-checked."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import Community, Membership, Role
from sayso.surveys import services
from sayso.surveys.models import Answer, Response, Survey

from .conftest import PASSWORD, Browse, BrowseFactory, sign_in

pytestmark = pytest.mark.e2e


def add_question(
    rep: Browse,
    *,
    page_number: int,
    label: str,
    name: str,
    kind: str,
    choices: str = "",
    required: bool = False,
    relevant: str = "",
    constraint: str = "",
    message: str = "",
) -> None:
    rep.click(rep.page.get_by_role("link", name="Add a question here").nth(page_number - 1))
    form = rep.page
    form.get_by_label("Question:", exact=True).fill(label)
    form.get_by_label("Short name:").fill(name)
    form.get_by_label("Type of answer:").select_option(kind)
    if choices:
        form.get_by_label("Choices:").fill(choices)
    if required:
        form.get_by_label("An answer is required").check()
    if relevant:
        form.get_by_text("Write the rule yourself (advanced)").click()  # opens its <details>
        form.get_by_label("Show only if:").fill(relevant)
    if constraint:
        form.get_by_label("Answer must satisfy:").fill(constraint)
    if message:
        form.get_by_label("Message when it does not:").fill(message)
    rep.submit("Save question")
    assert "Question saved." in form.content()


def start_with_code(person: Browse, code_page: str, code: str, *, status: int = 200) -> None:
    person.visit(code_page)
    person.page.get_by_label("Your invitation code:").fill(code)
    person.submit("Start", status=status)


def test_survey_built_answered_with_codes_and_read_with_suppression(
    browse: BrowseFactory, tmp_path: Path
) -> None:
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.ORGANISER)

    # --- the organiser builds the survey ---------------------------------------------
    rep = browse("organiser")
    sign_in(rep, user.email)
    rep.visit("/c/northgate-depot/surveys/")
    rep.follow("Build a survey")
    page = rep.page
    page.get_by_label("Title:").fill("Scanner data at work")
    page.get_by_label("People with an invitation code").check()
    rep.submit("Save survey")
    survey = Survey.objects.get()
    rep.follow("Add a page")
    page.get_by_label("Page title:").fill("What happened")
    rep.submit("Add page")
    add_question(
        rep,
        page_number=1,
        label="Which shift do you work?",
        name="shift",
        kind="single",
        choices="day = Day shift\nnight = Night shift",
        required=True,
    )
    add_question(
        rep,
        page_number=1,
        label="How old are you?",
        name="age",
        kind="number",
        constraint=". >= 16 and . <= 80",
        message="Give an age from 16 to 80.",
    )
    add_question(
        rep,
        page_number=2,
        label="What happened on the night shift?",
        name="story",
        kind="long_text",
        relevant="${shift} = 'night'",
    )
    assert list(survey.questions.values_list("name", flat=True)) == ["shift", "age", "story"]

    # --- invitation codes, then open ---------------------------------------------------
    rep.follow("Invitation codes")
    page.get_by_label("How many codes?").fill("8")
    rep.submit("Create codes")
    codes = page.locator(".code-sheet code").all_inner_texts()
    assert len(codes) == 8
    # On each card the survey's title and its link are a line each, not run together.
    title, link = page.locator(".code-sheet li").first.locator("span").all()
    title_box, link_box = title.bounding_box(), link.bounding_box()
    assert title_box is not None
    assert link_box is not None
    assert link_box["y"] >= title_box["y"] + title_box["height"] - 1
    rep.follow("Back to the survey")
    rep.submit("Open for answers")
    assert "The survey is now: Open for answers." in page.content()
    code_page = page.get_by_role("link", name="Where people type their code").get_attribute("href")
    assert code_page is not None

    # --- respondent 1: night shift, trips the age constraint ---------------------------
    night = browse("respondent 1")
    start_with_code(night, code_page, codes[0])
    form = night.page
    assert "Page 1 of 2" in form.content()
    form.get_by_label("Night shift").check()
    form.get_by_label("How old are you?").fill("12")
    night.submit("Continue")
    assert form.locator("#q_age-error").inner_text() == "Give an age from 16 to 80."
    assert form.get_by_label("Night shift").is_checked()  # answers kept
    assert form.get_by_label("How old are you?").input_value() == "12"
    form.get_by_label("How old are you?").fill("34")
    night.submit("Continue")
    form.get_by_label("What happened on the night shift?").fill("Warned over pick rates.")
    night.submit("Continue")
    assert "Check your answers before sending" in form.content()
    night.submit("Send my answers")
    assert form.get_by_role("heading", level=1).inner_text() == "Thank you"

    # --- more codes for latecomers: the cards already handed out keep working ----------
    rep.follow("Invitation codes")
    assert "New codes are added to the ones you already made" in page.content()
    page.get_by_label("How many codes?").fill("2")
    rep.submit("Create more codes")
    late = page.locator(".code-sheet code").all_inner_texts()
    assert len(late) == 2
    assert not set(late) & set(codes)

    # --- respondent 2: day shift, so the night-shift page is skipped --------------------
    day = browse("respondent 2")
    start_with_code(day, code_page, codes[1])
    day.page.get_by_label("Day shift").check()
    day.page.get_by_label("How old are you?").fill("51")
    day.submit("Continue")
    assert "Check your answers before sending" in day.page.content()
    assert "What happened on the night shift?" not in day.page.content()
    day.submit("Send my answers")

    # --- a used code is refused plainly -----------------------------------------------
    start_with_code(night, code_page, codes[0])
    assert "That code is not valid or has already been used." in night.page.content()
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 2

    # --- results: too few people, so nothing is shown ----------------------------------
    rep.visit(f"/c/northgate-depot/surveys/{survey.pk}/results/")
    assert "These results cannot be shown" in page.content()
    assert "Night shift" not in page.content()

    # Five more people answer (day shift) with their codes, outside the browser.
    survey.refresh_from_db()
    for code in codes[2:7]:
        response, _token = services.start_response(survey=survey, language="en", code=code)
        services.save_page(response=response, answers={"shift": "day", "age": 40}, page=1)
        assert services.submit_response(response=Response.objects.get(pk=response.pk)) == {}

    # 7 people: 6 day, 1 night. The night cell is hidden, and so is the day cell, which
    # would give the night one away (7 - 6).
    rep.visit(f"/c/northgate-depot/surveys/{survey.pk}/results/")
    shift = page.get_by_role("region", name="Which shift do you work?", exact=True)
    assert "7 people answered" in shift.inner_text()
    rows = shift.locator("tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["Day shift", "Night shift"]
    assert all("hidden (small group)" in r for r in rows), rows
    age = page.get_by_role("region", name="How old are you?", exact=True)
    assert "from 7 answers" in age.inner_text()
    assert "Warned over pick rates." in page.content()  # organisers read every text

    # --- CSV download -------------------------------------------------------------------
    rep.follow("Scanner data at work")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    target = tmp_path / "responses.csv"
    download.value.save_as(target)
    table = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(table) == 7
    assert sorted(r["shift"] for r in table) == ["day"] * 6 + ["night"]
    assert [r["story"] for r in table if r["shift"] == "night"] == ["Warned over pick rates."]
    assert Answer.objects.filter(question__name="story").count() == 1


def test_a_condition_built_by_clicking_asks_only_the_people_it_names(
    browse: BrowseFactory,
) -> None:
    """No rule typed: the organiser picks "Night shift" from the earlier question's
    answers; a night worker is asked the follow-up, a day worker is not."""
    from sayso.surveys.models import Choice, Question
    from sayso.surveys.tests.factories import make_survey

    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.ORGANISER)
    survey = make_survey(community)
    Question.objects.filter(survey=survey, name="shift").update(
        label={"en": "Which shift do you work?"}
    )
    for name, words in (("day", "Day shift"), ("night", "Night shift")):
        Choice.objects.filter(question__survey=survey, name=name).update(label={"en": words})

    rep = browse("organiser")
    sign_in(rep, user.email)
    rep.visit(f"/c/northgate-depot/surveys/{survey.pk}/")
    rep.click(rep.page.get_by_role("link", name="Add a question here").nth(1))
    form = rep.page
    form.get_by_label("Question:", exact=True).fill("What happened on the night shift?")
    form.get_by_label("Short name:").fill("night_story")
    form.get_by_label("Type of answer:").select_option("long_text")
    form.get_by_label("Answer to an earlier question:").select_option(label="Night shift")
    form.get_by_label("gave that answer", exact=True).check()
    assert not form.get_by_label("Show only if:").is_visible()  # the written rule stays folded
    rep.submit("Save question")
    assert "Question saved." in form.content()
    assert survey.questions.get(name="night_story").relevant == "${shift} = 'night'"
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)

    def answer(label: str, shift: str) -> bool:
        """One person answers; whether they were asked the night-shift question."""
        person = browse(label)
        page = person.page
        person.visit(f"/surveys/{survey.link_token}/")
        person.submit("Start")
        page.get_by_label(shift).check()
        person.submit("Continue")
        page.get_by_label("No", exact=True).check()
        # On the page for both (hidden until it applies), shown only to the night worker.
        asked = bool(page.get_by_label("What happened on the night shift?").is_visible())
        if asked:
            page.get_by_label("What happened on the night shift?").fill("Moved to days.")
        person.submit("Continue")
        assert "Check your answers before sending" in page.content()
        person.submit("Send my answers")
        assert page.get_by_role("heading", level=1).inner_text() == "Thank you"
        return asked

    assert answer("night worker", "Night shift")
    assert not answer("day worker", "Day shift")
    stories = Answer.objects.filter(question__name="night_story")
    assert list(stories.values_list("text", flat=True)) == ["Moved to days."]
