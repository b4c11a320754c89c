# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A follow-up question on the same page, with JavaScript and without.

Every question of a page is on it; one that does not apply yet is hidden. With
JavaScript, each change sends the page (htmx, not kept) and the server answers with the
questions whose showing changed, to be put in place of theirs, and a sentence for the
page's status line. Without it, Continue shows a question brought up, as before. The
server stays the judge: an answer typed in a question that no longer applies is never
kept, and a question the person saw (it sends its name as "shown") is refused like any
other when left empty."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import services
from sayso.surveys.models import Answer, Choice, Question, Response, Section, Survey

from .test_respondent_flow import build_survey, page_url, response_state, start
from .test_respondent_languages import read
from .test_respondent_ui_languages import build_survey as build_welsh_and_polish_survey
from .test_respondent_ui_languages import start_url

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


class FormReader(HTMLParser):
    """What a browser sends for the page's form as it is shown (no button pressed):
    each field with a name, its value; a box or option only when ticked; a select's
    chosen option (its first when none is); a disabled field never."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, list[str]] = {}
        self.in_form = False
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def add(self, name: str | None, value: str) -> None:
        if name:
            self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and found.get("method") == "post":
            self.in_form = True
        if not self.in_form or "disabled" in found:
            return
        if tag == "input":
            kind = found.get("type") or "text"
            if kind in ("checkbox", "radio") and "checked" not in found:
                return
            self.add(found.get("name"), found.get("value") or "")
        elif tag == "select":
            self.select, self.options = found.get("name"), []
        elif tag == "option" and self.select:
            self.options.append((found.get("value") or "", "selected" in found))
        elif tag == "textarea":
            self.textarea, self.text = found.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select:
            chosen = [value for value, selected in self.options if selected]
            self.add(self.select, (chosen or [value for value, _ in self.options] or [""])[0])
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.add(self.textarea, self.text.removeprefix("\n"))
            self.textarea = None


def form_of(html: str) -> dict[str, list[str]]:
    reader = FormReader()
    reader.feed(html)
    return reader.data


def live(client: Client, url: str, data: dict[str, Any]) -> Any:
    """The request htmx sends on a change: the form as it stands, and live=1."""
    return client.post(url, {**data, "live": "1"}, **HTMX)


def fields_in(html: str) -> dict[str, dict[str, str | None]]:
    """The question blocks of a page or of an htmx answer, by id, with their attributes."""
    return {
        str(attrs["id"]): attrs
        for tag, attrs, _lang in read(html).elements
        if tag == "div" and str(attrs.get("id") or "").endswith("-field")
    }


def status_line(html: str) -> str:
    """The text the htmx answer puts in the page's status line."""
    start_tag = '<p id="questions-status" hx-swap-oob="innerHTML">'
    assert html.count(start_tag) == 1
    return unescape(html.split(start_tag, 1)[1].split("</p>", 1)[0])


# --------------------------------------------------------------------------- the page


def test_the_page_holds_hidden_questions_and_a_status_line() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    html = client.get(first).content.decode()
    blocks = fields_in(html)
    assert list(blocks) == ["q_shift-field", "q_worries-field", "q_worries_other-field"]
    assert [("hidden" in attrs) for attrs in blocks.values()] == [False, False, True]
    # Only the questions shown say so; the empty one says the page sends the list.
    assert form_of(html)["shown"] == ["", "shift", "worries"]
    assert '<p id="questions-status" class="visually-hidden" role="status"></p>' in html
    # Only the question that decides whether another shows asks on each change; the form
    # itself stays an ordinary form post, with or without JavaScript.
    assert {id_: attrs.get("hx-post") for id_, attrs in blocks.items()} == {
        "q_shift-field": None,
        "q_worries-field": first,
        "q_worries_other-field": None,
    }
    assert blocks["q_worries-field"] == {
        "class": "field",
        "id": "q_worries-field",
        "hx-post": first,
        "hx-trigger": "change",
        "hx-vals": '{"live": "1"}',
        "hx-swap": "none",
        "hx-sync": "closest form:queue last",
    }
    # (To this page's address, named: components/form.html says why.)
    assert f'<form method="post" action="{first}" novalidate id="answers">' in html
    # A page where no answer decides another's showing asks nothing as people answer.
    second = client.post(first, {**form_of(html), "q_shift": "day", "q_worries": "pay"})
    assert "hx-post" not in client.get(second["Location"]).content.decode()


# --------------------------------------------------------------------------- with JavaScript


def test_with_javascript_a_follow_up_appears_as_soon_as_an_answer_brings_it_up() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    before = response_state()
    data["q_shift"] = ["day"]
    data["q_worries"] = ["pay", "other"]
    answered = live(client, first, data)
    assert answered.status_code == 200
    html = answered.content.decode()
    # Only the question that appears is sent back: the ones being answered stay as they
    # are (focus and what is typed in them untouched).
    assert fields_in(html) == {
        "q_worries_other-field": {
            "class": "field",
            "id": "q_worries_other-field",
            "hx-swap-oob": "true",
        }
    }
    assert '<input type="hidden" name="shown" value="worries_other">' in html
    assert "Answer this question" not in html  # appeared, not refused
    assert status_line(html) == (
        "A new question appeared because of your answer: What else worries you?"
    )
    # Nothing is kept: the page is judged when it is sent.
    assert response_state() == before
    assert not Answer.objects.exists()


def test_a_question_that_no_longer_applies_is_hidden_keeping_what_was_typed() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    before = response_state()
    # As the page stands once the follow-up appeared and was answered.
    shown = {**data, "shown": ["", "shift", "worries", "worries_other"]}
    hide = {**shown, "q_worries": ["pay"], "q_worries_other": ["Cameras"]}
    html = live(client, first, hide).content.decode()
    assert fields_in(html) == {
        "q_worries_other-field": {
            "class": "field",
            "id": "q_worries_other-field",
            "hidden": None,
            "hx-swap-oob": "true",
        }
    }
    assert 'name="shown"' not in html
    assert 'value="Cameras"' in html
    assert status_line(html) == (
        "A question no longer applies because of your answer, so it is hidden."
    )
    # Brought back: what was typed is there again (a hidden question's field is sent).
    back = {**data, "q_worries": ["other"], "q_worries_other": ["Cameras"]}
    html = live(client, first, back).content.decode()
    assert "hidden" not in fields_in(html)["q_worries_other-field"]
    assert 'id="q_worries_other" value="Cameras"' in html
    assert response_state() == before


def test_an_answer_that_changes_no_question_gets_nothing_back() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    answered = live(client, first, {**data, "q_shift": ["night"], "q_worries": ["pay"]})
    assert answered.status_code == 204
    assert answered.content == b""


def test_several_questions_change_at_once_down_a_chain() -> None:
    """A question shown only after another follow-up: hidden with it, whatever its
    own condition would say of an answer left in the hidden one."""
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Union", languages=["en"], status="open"
    )
    page = Section.objects.create(survey=survey, order=1, title={"en": "Union"})
    for order, (name, relevant) in enumerate(
        [("member", ""), ("rep", "${member} = 'yes'"), ("met", "${rep} = 'yes'")], 1
    ):
        question = Question.objects.create(
            survey=survey,
            section=page,
            order=order,
            name=name,
            type=Question.Type.SINGLE,
            label={"en": f"Question {name}"},
            relevant=relevant,
        )
        for n, choice in enumerate(("yes", "no"), 1):
            Choice.objects.create(question=question, order=n, name=choice, label={"en": choice})
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    assert data["shown"] == ["", "member"]
    html = live(client, first, {**data, "q_member": ["yes"]}).content.decode()
    assert list(fields_in(html)) == ["q_rep-field"]
    # It decides whether the next shows: it asks on each change too, once in place.
    assert fields_in(html)["q_rep-field"]["hx-post"] == first
    # Both follow-ups shown and answered; then the first answer changes.
    both = {**data, "shown": ["", "member", "rep", "met"], "q_rep": ["yes"], "q_met": ["no"]}
    html = live(client, first, {**both, "q_member": ["no"]}).content.decode()
    assert {id_: "hidden" in attrs for id_, attrs in fields_in(html).items()} == {
        "q_rep-field": True,
        "q_met-field": True,
    }
    assert status_line(html) == (
        "2 questions no longer apply because of your answers, so they are hidden."
    )
    # Sent that way, neither hidden answer is kept.
    sent = client.post(first, {**both, "q_member": ["no"], "next": "1"})
    assert sent.status_code == 302
    assert Response.objects.get().draft == {"member": "no"}


def test_an_answer_typed_in_a_question_that_no_longer_applies_is_not_kept() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    # The follow-up appeared, was answered, then hidden again: its field is still sent.
    typed = {**data, "q_shift": ["day"], "q_worries": ["pay"], "q_worries_other": ["Cameras"]}
    saved = client.post(first, {**typed, "later": "1"})
    assert saved.status_code == 302
    assert Response.objects.get().draft == {"shift": "day", "worries": ["pay"]}
    went_on = client.post(first, {**typed, "next": "1"})
    assert went_on["Location"] == page_url(first, 1)
    assert Response.objects.get().draft == {"shift": "day", "worries": ["pay"]}


def test_a_follow_up_that_appeared_while_answering_counts_as_seen() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    # The page as it stands once the follow-up appeared with JavaScript.
    seen = {
        **data,
        "shown": ["", "shift", "worries", "worries_other"],
        "q_shift": ["day"],
        "q_worries": ["other"],
    }
    refused = client.post(first, {**seen, "next": "1"})
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "What else worries you? Answer this question." in html
    assert "A new question appeared" not in html
    assert response_state()[2] == 0
    done = client.post(first, {**seen, "q_worries_other": ["Cameras"], "next": "1"})
    assert done["Location"] == page_url(first, 1)
    assert Response.objects.get().draft["worries_other"] == "Cameras"


def test_an_optional_follow_up_seen_and_left_empty_does_not_stop_the_person() -> None:
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Union", languages=["en"], status="open"
    )
    pages = [
        Section.objects.create(survey=survey, order=n, title={"en": f"Page {n}"}) for n in (1, 2)
    ]
    for page, order, name, relevant in ((0, 1, "member", ""), (0, 2, "rep", "${member} = 'yes'")):
        question = Question.objects.create(
            survey=survey,
            section=pages[page],
            order=order,
            name=name,
            type=Question.Type.SINGLE,
            label={"en": f"Question {name}"},
            relevant=relevant,
        )
        for n, choice in enumerate(("yes", "no"), 1):
            Choice.objects.create(question=question, order=n, name=choice, label={"en": choice})
    Question.objects.create(
        survey=survey, section=pages[1], order=3, name="story", type="short_text", label={"en": "?"}
    )
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    # Without JavaScript the follow-up was never seen: the page stops to show it.
    unseen = client.post(first, {**data, "q_member": ["yes"], "next": "1"})
    assert unseen.status_code == 200
    assert "A new question appeared because of your answer" in unseen.content.decode()
    # With JavaScript it was, and a choice left unticked sends nothing: the page goes on.
    Response.objects.update(draft={})
    seen = {**data, "shown": ["", "member", "rep"], "q_member": ["yes"], "next": "1"}
    went_on = client.post(first, seen)
    assert went_on["Location"] == page_url(first, 1)
    assert Response.objects.get().draft == {"member": "yes"}


# --------------------------------------------------------------------------- without JavaScript


def test_without_javascript_the_page_as_a_browser_sends_it_shows_the_follow_up() -> None:
    """The hidden question's empty field is sent too; the page still shows it as new."""
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    data = form_of(client.get(first).content.decode())
    assert data["q_worries_other"] == [""]  # sent, though hidden
    sent = {**data, "q_shift": ["day"], "q_worries": ["pay", "other"], "next": "1"}
    again = client.post(first, sent)
    html = again.content.decode()
    assert again.status_code == 200
    assert "A new question appeared because of your answer" in html
    assert "There is a problem" not in html
    assert "hidden" not in fields_in(html)["q_worries_other-field"]
    assert form_of(html)["shown"] == ["", "shift", "worries", "worries_other"]
    # Sent again as now shown, left empty: refused like any required question.
    refused = client.post(first, {**form_of(html), "next": "1"})
    assert "What else worries you? Answer this question." in refused.content.decode()
    assert response_state()[1:] == ({"shift": "day", "worries": ["pay", "other"]}, 0)


# --------------------------------------------------------------------------- languages, ends


@pytest.mark.parametrize(
    ("language", "appeared", "hidden"),
    [
        (
            "cy",
            "Mae cwestiwn newydd wedi ymddangos oherwydd eich ateb: Nosweithiau'r mis",
            "Dydy un cwestiwn ddim yn berthnasol bellach oherwydd eich ateb, felly mae"
            " wedi'i guddio.",
        ),
        (
            "pl",
            "Twoja odpowiedź sprawiła, że pojawiło się nowe pytanie: Noce w miesiącu",
            "Po twojej odpowiedzi jedno pytanie już cię nie dotyczy, więc zostało ukryte.",
        ),
    ],
)
def test_the_status_line_speaks_the_respondent_s_language(
    language: str, appeared: str, hidden: str
) -> None:
    survey, _questions = build_welsh_and_polish_survey()
    client = Client()
    first = str(client.post(start_url(survey), {"language": language})["Location"])
    data = form_of(client.get(first).content.decode())
    shown = live(client, first, {**data, "q_shift": ["night"]})
    assert shown["Content-Language"] == language
    assert status_line(shown.content.decode()) == appeared
    gone = live(client, first, {**data, "shown": [*data["shown"], "nights"], "q_shift": ["day"]})
    assert status_line(gone.content.decode()) == hidden


def test_a_change_on_a_closed_survey_or_an_ended_link_changes_nothing() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    data = {**form_of(client.get(first).content.decode()), "q_worries": ["other"]}
    before = response_state()
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)
    closed = live(client, first, data)
    assert closed.status_code == 410  # htmx swaps nothing on an error status
    assert "hx-swap-oob" not in closed.content.decode()
    assert response_state() == before
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    response = Response.objects.get()
    services.save_page(response=response, answers={"shift": "day", "agree": "yes"}, page=2)
    assert services.submit_response(response=Response.objects.get()) == {}
    ended = live(client, first, data)
    assert ended.status_code == 404
    assert "hx-swap-oob" not in ended.content.decode()
