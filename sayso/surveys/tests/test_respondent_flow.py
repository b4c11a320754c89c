# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""Answering a survey without JavaScript: what is typed is kept, "Save and continue
later" saves without demanding the rest and comes back to the same page, a follow-up
question brought up by an answer is shown rather than refused, and a private link
that has ended says so."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import InvitationCodeUse
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory
from sayso.surveys import services
from sayso.surveys.models import Answer, AnswerCount, Choice, Question, Response, Section, Survey

pytestmark = pytest.mark.django_db


def build_survey(**fields: Any) -> Survey:
    """Three pages: about work (with a follow-up to "Something else"), priorities (a
    ranking and a story), consent."""
    fields.setdefault("status", Survey.Status.OPEN)
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Work survey", languages=["en"], **fields
    )
    pages = [
        Section.objects.create(survey=survey, order=n, title={"en": title})
        for n, title in enumerate(["About work", "Priorities", "Agreement"], start=1)
    ]

    def q(page: int, order: int, name: str, kind: str, label: str, **extra: Any) -> None:
        choices: Sequence[tuple[str, str]] = extra.pop("choices", ())
        question = Question.objects.create(
            survey=survey,
            section=pages[page - 1],
            order=order,
            name=name,
            type=kind,
            label={"en": label},
            **extra,
        )
        for i, (name_, text) in enumerate(choices, 1):
            Choice.objects.create(question=question, order=i, name=name_, label={"en": text})

    q(1, 1, "shift", Question.Type.SINGLE, "Your shift", required=True,
      choices=[("day", "Day"), ("night", "Night")])  # fmt: skip
    q(1, 2, "worries", Question.Type.MULTIPLE, "What worries you?",
      choices=[("pay", "Pay"), ("privacy", "Privacy"), ("other", "Something else")])  # fmt: skip
    q(1, 3, "worries_other", Question.Type.SHORT_TEXT, "What else worries you?",
      required=True, relevant="selected(${worries}, 'other')")  # fmt: skip
    q(2, 1, "priorities", Question.Type.RANKING, "Rank what matters most",
      choices=[("pay", "Pay"), ("privacy", "Privacy"), ("safety", "Safety")])  # fmt: skip
    q(2, 2, "story", Question.Type.LONG_TEXT, "Tell us more")
    q(3, 1, "age", Question.Type.NUMBER, "Your age", constraint=". >= 16",
      constraint_message={"en": "Give an age of 16 or more."})  # fmt: skip
    q(3, 2, "agree", Question.Type.CONSENT, "I agree to take part", required=True)
    return survey


def start(survey: Survey, client: Client) -> str:
    """The first page's address (the private link) for a new response."""
    started = client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))
    assert started.status_code == 302
    return str(started["Location"])


def page_url(first: str, index: int) -> str:
    return re.sub(r"/p/0/$", f"/p/{index}/", first)


def response_state() -> tuple[Any, ...]:
    response = Response.objects.get()
    return (response.status, response.draft, response.page)


def nothing_sent() -> None:
    assert not Answer.objects.exists()
    assert not AnswerCount.objects.exists()
    assert Response.objects.get().status == Response.Status.PARTIAL


def chosen_ranks(html: str) -> dict[str, str]:
    """The number selected in each ranking select of a page ("" for none)."""
    ranks = {}
    for name, options in re.findall(
        r'<select name="q_priorities__(\w+)"[^>]*>(.*?)</select>', html, re.S
    ):
        selected = re.findall(r'<option value="(\d*)" selected>', options)
        ranks[name] = selected[0] if selected else ""
    return ranks


# --------------------------------------------------------------------------- rankings


def test_a_refused_ranking_is_shown_again_as_chosen() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day", "q_worries": ["pay"]})
    before = response_state()
    posted = {"q_priorities__pay": "1", "q_priorities__privacy": "1", "q_priorities__safety": "3"}
    refused = client.post(page_url(first, 1), {**posted, "q_story": "Cameras"})
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "Give each option a different number from 1 to 3." in html
    assert chosen_ranks(html) == {"pay": "1", "privacy": "1", "safety": "3"}
    # Continuing again without a change is refused again: nothing is saved as "not answered".
    again = client.post(page_url(first, 1), {**posted, "q_story": "Cameras"})
    assert chosen_ranks(again.content.decode()) == {"pay": "1", "privacy": "1", "safety": "3"}
    status, draft, page = response_state()
    assert "priorities" not in draft
    assert draft == {**before[1], "story": "Cameras"}  # the page's readable answer is kept
    assert (status, page) == (before[0], 1)
    nothing_sent()


# --------------------------------------------------------------------------- save for later


def test_save_for_later_keeps_what_was_typed_without_demanding_the_rest() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    # The required shift is left out: saving for later does not insist on it.
    saved = client.post(first, {"q_worries": ["privacy"], "later": "1"})
    assert saved.status_code == 302
    assert saved["Location"] == reverse(
        "surveys_public:saved", kwargs={"token": first.split("/")[-4]}
    )
    assert response_state() == (Response.Status.PARTIAL, {"worries": ["privacy"]}, 0)
    link = Client().get(saved["Location"]).context["link"]
    assert link.endswith(first)
    resumed = Client().get(link)
    html = resumed.content.decode()
    assert "About work" in html  # the page the person was on, not the next one
    assert 'value="privacy" id="q_worries-2" checked' in html
    assert "There is a problem" not in html
    nothing_sent()


def test_save_for_later_names_an_answer_it_cannot_keep() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "night", "q_worries": ["pay"]})
    saved = client.post(
        page_url(first, 1),
        {
            "q_priorities__pay": "2",
            "q_priorities__privacy": "2",
            "q_priorities__safety": "",
            "q_story": "Half of what I meant",
            "later": "1",
        },
    )
    assert saved.status_code == 302
    status, draft, page = response_state()
    assert draft == {"shift": "night", "worries": ["pay"], "story": "Half of what I meant"}
    assert (status, page) == (Response.Status.PARTIAL, 1)
    shown = client.get(saved["Location"]).content.decode()
    assert (
        "Your answer to “Rank what matters most” was not saved: Give each option a different"
        " number from 1 to 3. Answer it again when you come back." in shown
    )
    assert client.get(shown_link(shown)).context["section_title"] == "Priorities"
    nothing_sent()


def shown_link(html: str) -> str:
    found = re.search(r'<a href="(http[^"]+)">', html)
    assert found is not None
    return found.group(1)


def test_save_for_later_on_the_last_page_comes_back_to_it_not_to_the_check_page() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day"})
    client.post(page_url(first, 1), {"q_story": "x"})
    saved = client.post(page_url(first, 2), {"q_age": "30", "q_agree": "yes", "later": "1"})
    assert response_state() == (
        Response.Status.PARTIAL,
        {"shift": "day", "story": "x", "age": 30, "agree": "yes"},
        2,
    )
    resumed = Client().get(Client().get(saved["Location"]).context["link"])
    assert resumed.status_code == 200
    assert resumed.context["section_title"] == "Agreement"
    # An answer that breaks a rule is still an answer: kept, and named on the check page.
    saved = client.post(page_url(first, 2), {"q_age": "15", "later": "1"})
    assert response_state() == (
        Response.Status.PARTIAL,
        {"shift": "day", "story": "x", "age": 15},
        2,
    )
    resumed = Client().get(Client().get(saved["Location"]).context["link"])
    assert resumed.status_code == 200
    assert resumed.context["section_title"] == "Agreement"
    assert 'value="15"' in resumed.content.decode()
    nothing_sent()


# --------------------------------------------------------------------------- follow-ups


def test_a_follow_up_brought_up_by_an_answer_is_shown_not_refused() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    shown = client.get(first).content.decode()
    # On the page, hidden (with JavaScript, it appears as soon as it applies).
    assert '<div class="field" id="q_worries_other-field" hidden>' in shown
    again = client.post(first, {"q_shift": "day", "q_worries": ["pay", "other"]})
    html = again.content.decode()
    assert again.status_code == 200
    assert "A new question appeared because of your answer" in html
    assert 'href="#q_worries_other">What else worries you?</a>' in html
    assert '<div class="field" id="q_worries_other-field">' in html
    assert "Answer this question" not in html
    assert "There is a problem" not in html
    assert 'value="other" id="q_worries-3" checked' in html  # the other answers are kept
    assert 'value="day" id="q_shift-1" checked' in html
    # Saved as shown, so that the next time the page is sent the question counts as seen.
    assert response_state() == (
        Response.Status.PARTIAL,
        {"shift": "day", "worries": ["pay", "other"]},
        0,
    )
    # Now it has been shown, leaving it empty is refused like any required question.
    refused = client.post(
        first, {"q_shift": "day", "q_worries": ["pay", "other"], "q_worries_other": ""}
    )
    assert "What else worries you? Answer this question." in refused.content.decode()
    assert "A new question appeared" not in refused.content.decode()
    assert response_state()[2] == 0
    nothing_sent()
    done = client.post(
        first, {"q_shift": "day", "q_worries": ["pay", "other"], "q_worries_other": "Cameras"}
    )
    assert done["Location"] == page_url(first, 1)
    assert Response.objects.get().draft["worries_other"] == "Cameras"


def test_a_follow_up_and_an_error_on_a_shown_question_together() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    before = response_state()
    again = client.post(first, {"q_worries": ["other"]})  # the required shift left out
    html = again.content.decode()
    assert "There is a problem" in html
    assert "Your shift: Answer this question." in html
    assert "A new question appeared because of your answer" in html
    assert "What else worries you? Answer this question." not in html
    assert response_state() == (before[0], {"worries": ["other"]}, 0)
    nothing_sent()


# --------------------------------------------------------------------------- codes, ends


def code_survey() -> tuple[Survey, list[str]]:
    survey = build_survey(status=Survey.Status.DRAFT)
    organiser = OrganiserFactory(community=survey.community).user
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=2)
    survey.status = Survey.Status.OPEN
    survey.save(update_fields=["status"])
    return survey, codes


def test_the_first_page_after_a_code_shows_the_private_link_to_keep() -> None:
    survey, codes = code_survey()
    client = Client()
    code_page = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    assert "A code works once." in client.get(code_page).content.decode()
    started = client.post(code_page, {"code": codes[0]})
    first = started["Location"]
    html = client.get(first).content.decode()
    assert "Your code is now used. Keep this private link" in html
    assert f'<a href="http://testserver{first}">' in html
    assert InvitationCodeUse.objects.filter(activity_id=survey.pk).count() == 1
    # It stays on the first page until the answers are sent (a page shown again with
    # a problem, or once something is saved, still needs it); not on the next pages.
    client.post(first, {"q_shift": "day"})
    assert "Keep this private link" in client.get(first).content.decode()
    assert "Keep this private link" not in client.get(page_url(first, 1)).content.decode()


def test_a_sent_response_link_says_it_has_ended_without_showing_answers() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "night", "q_worries": ["pay"]})
    client.post(page_url(first, 1), {"q_story": "Told off by the scanner"})
    to_check = client.post(page_url(first, 2), {"q_agree": "yes"})["Location"]
    assert client.post(to_check).status_code == 302
    for url in (to_check, first, page_url(first, 1)):
        ended = Client().get(url)
        assert ended.status_code == 404
        html = ended.content.decode()
        assert "This private link has ended" in html
        assert "Told off by the scanner" not in html
        assert "Night" not in html
    assert Client().post(to_check).status_code == 404  # sent twice: nothing more happens
    assert Response.objects.get().status == Response.Status.COMPLETE


def test_the_consent_statement_is_marked_required_before_sending() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day"})
    client.post(page_url(first, 1), {})
    html = client.get(page_url(first, 2)).content.decode()
    assert '<label for="q_agree">I agree to take part (required)</label>' in html
