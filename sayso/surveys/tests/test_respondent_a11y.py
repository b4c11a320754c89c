# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""The respondent pages to assistive technology: each question's hint and error are
tied to what is answered with (aria-describedby: the input, or a group's fieldset),
each id once on the page; a required question says so in its label and with
aria-required where the role allows it, never with the HTML `required` attribute
(the server's own message is the one to hear); a refused answer carries
aria-invalid="true", and only a refused one. The check page ties each problem to the
link that changes the answer. The builder's preview shows the same pages."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.models import Choice, Question, Response, Section, Survey

from .factories import organiser_client

pytestmark = pytest.mark.django_db


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.text = tag, attrs, ""

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def attr(self, name: str) -> str:
        """The attribute's value, "" when it is missing."""
        return self.attrs.get(name, "")

    @property
    def described_by(self) -> list[str]:
        return (self.get("aria-describedby") or "").split()


class Page(HTMLParser):
    """Every element of a page with its attributes, and the text of those with an id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in ("input", "br", "meta", "link", "img", "hr"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def by_id(self, id_: str) -> Element:
        found = [e for e in self.elements if e.get("id") == id_]
        assert len(found) == 1, (id_, len(found))
        return found[0]

    def named(self, name: str) -> list[Element]:
        return [e for e in self.elements if e.get("name") == name]

    def text_of(self, ids: Sequence[str]) -> list[str]:
        return [" ".join(self.by_id(i).text.split()) for i in ids]

    def check_ids(self) -> None:
        """Each id once; each id an aria-describedby names is on the page."""
        ids = Counter(e.get("id") for e in self.elements if e.get("id"))
        assert [i for i, n in ids.items() if n > 1] == []
        for element in self.elements:
            for id_ in element.described_by:
                assert id_ in ids, (element.tag, element.attrs)


def build_survey(**fields: Any) -> Survey:
    """One page with a question of each kind, most with a hint; a second page."""
    fields.setdefault("status", Survey.Status.OPEN)
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Depot survey", languages=["en"], **fields
    )
    first = Section.objects.create(survey=survey, order=1, title={"en": "About work"})
    second = Section.objects.create(survey=survey, order=2, title={"en": "More"})

    def q(section: Section, order: int, name: str, kind: str, **extra: Any) -> None:
        choices: Sequence[str] = extra.pop("choices", ())
        question = Question.objects.create(
            survey=survey,
            section=section,
            order=order,
            name=name,
            type=kind,
            label={"en": name.replace("_", " ").title()},
            **extra,
        )
        for i, name_ in enumerate(choices, 1):
            Choice.objects.create(question=question, order=i, name=name_, label={"en": name_})

    q(first, 1, "role", Question.Type.SHORT_TEXT, required=True, hint={"en": "As on your payslip"},
      required_message={"en": "Tell us your role, even roughly."})  # fmt: skip
    q(first, 2, "years", Question.Type.NUMBER, hint={"en": "Whole years"},
      constraint=". <= 60", constraint_message={"en": "Give at most 60 years."})  # fmt: skip
    q(first, 3, "shift", Question.Type.SINGLE, required=True, hint={"en": "The one you work most"},
      choices=["day", "night"])  # fmt: skip
    q(first, 4, "fair", Question.Type.RATING, choices=["no", "yes"])  # optional, no hint
    q(first, 5, "worries", Question.Type.MULTIPLE, required=True, hint={"en": "Tick any"},
      choices=["pay", "cameras"])  # fmt: skip
    q(first, 6, "priorities", Question.Type.RANKING, required=True, hint={"en": "1 is most"},
      choices=["pay", "safety"])  # fmt: skip
    q(first, 7, "story", Question.Type.LONG_TEXT, hint={"en": "In your own words"})
    q(first, 8, "since", Question.Type.DATE)
    q(first, 9, "about", Question.Type.NOTE, hint={"en": "A note's hint"})
    q(first, 10, "agree", Question.Type.CONSENT, required=True,
      hint={"en": "You can stop at any time"})  # fmt: skip
    q(second, 1, "later", Question.Type.SHORT_TEXT, required=True)
    return survey


def start(survey: Survey, client: Client) -> str:
    started = client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))
    assert started.status_code == 302
    return str(started["Location"])


NOTHING = {"next": "1"}
ALL_FINE = {
    "q_role": "Picker",
    "q_years": "4",
    "q_shift": "day",
    "q_fair": "yes",
    "q_worries": ["pay"],
    "q_priorities__pay": "1",
    "q_priorities__safety": "2",
    "q_story": "Fine",
    "q_since": "2020-01-02",
    "q_agree": "yes",
}


def shown(client: Client, url: str, data: dict[str, Any] | None = None) -> Page:
    response = client.post(url, data) if data is not None else client.get(url)
    assert response.status_code == 200
    page = Page(response.content.decode())
    page.check_ids()
    return page


def form_controls(page: Page) -> list[Element]:
    return [e for e in page.elements if e.tag in ("input", "select", "textarea", "fieldset")]


# --------------------------------------------------------------------------- hints


def test_each_hint_is_tied_to_its_input_or_group() -> None:
    survey = build_survey()
    client = Client()
    page = shown(client, start(survey, client))
    # A text box, a number, a long text: the input itself.
    for field, hint in [
        ("q_role", "As on your payslip"),
        ("q_years", "Whole years"),
        ("q_story", "In your own words"),
    ]:
        assert page.by_id(field).described_by == [f"{field}-hint"]
        assert page.text_of([f"{field}-hint"]) == [hint]
    # A group of options: its fieldset, read with the legend on entering the group.
    for field, hint in [
        ("q_shift", "The one you work most"),
        ("q_worries", "Tick any"),
        ("q_priorities", "1 is most"),
    ]:
        group = page.by_id(field)
        assert group.tag == "fieldset"
        # A ranking also says what its numbers mean (the hint is the organiser's).
        order = [f"{field}-order"] if field == "q_priorities" else []
        assert group.described_by == [f"{field}-hint", *order]
        assert page.text_of([f"{field}-hint"]) == [hint]
        # Said once, on the group, not again on each option.
        assert all(not e.described_by for e in page.elements if e.attr("name").startswith(field))
    # The consent box shows its hint (it showed none before) and is described by it.
    assert page.by_id("q_agree").described_by == ["q_agree-hint"]
    assert page.text_of(["q_agree-hint"]) == ["You can stop at any time"]
    # No hint, nothing to describe.
    assert page.by_id("q_fair").get("aria-describedby") is None
    assert page.by_id("q_since").get("aria-describedby") is None


# --------------------------------------------------------------------------- required


def test_required_questions_are_said_to_be_required_without_the_html_attribute() -> None:
    survey = build_survey()
    client = Client()
    page = shown(client, start(survey, client))
    # Said in words, in the label or legend, for everyone.
    assert page.text_of(["q_shift"])[0].startswith("Shift (required)")
    assert [e.text for e in page.elements if e.tag == "label" and e.get("for") == "q_role"] == [
        "Role (required)"
    ]
    # And as a state, where the role has one: a text box, a radio group, each select
    # of a ranking (every option needs its number), the consent box.
    assert page.by_id("q_role").get("aria-required") == "true"
    assert page.by_id("q_shift").get("role") == "radiogroup"
    assert page.by_id("q_shift").get("aria-required") == "true"
    assert [e.get("aria-required") for e in page.named("q_priorities__pay")] == ["true"]
    assert [e.get("aria-required") for e in page.named("q_priorities__safety")] == ["true"]
    assert page.by_id("q_agree").get("aria-required") == "true"
    # Not on each box of a "tick any" group, where it would read as "tick every box".
    assert page.by_id("q_worries").get("role") is None
    assert [e.get("aria-required") for e in page.named("q_worries")] == [None, None]
    # Optional questions: no claim.
    for field in ("q_years", "q_story", "q_since", "q_fair"):
        assert page.by_id(field).get("aria-required") is None
    # The browser never checks first: the server's message (the survey's own words)
    # is the one shown and heard.
    assert not [e for e in form_controls(page) if "required" in e.attrs]
    assert [e for e in page.elements if e.tag == "form" and "novalidate" in e.attrs]


def test_a_required_question_left_empty_gets_the_servers_own_message() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    page = shown(client, first, {**ALL_FINE, "q_role": ""})
    role = page.by_id("q_role")
    assert role.described_by == ["q_role-hint", "q_role-error"]
    assert page.text_of(["q_role-error"]) == ["Tell us your role, even roughly."]
    assert role.get("aria-invalid") == "true"
    assert Response.objects.get().page == 0  # not let through


# --------------------------------------------------------------------------- errors


def test_every_refused_answer_is_marked_invalid_and_described_by_its_own_error() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    page = shown(
        client,
        first,
        {"q_years": "70", "q_priorities__pay": "1", "q_priorities__safety": "1", **NOTHING},
    )
    expected = {
        "q_role": "Tell us your role, even roughly.",
        "q_years": "Give at most 60 years.",
        "q_shift": "Answer this question.",
        "q_worries": "Answer this question.",
        "q_priorities": "Give each option a different number from 1 to 2.",
        "q_agree": "Tick the box to agree before you go on.",
    }
    errors = {e["id"]: e for e in page.elements if e.attr("id").endswith("-error")}
    assert {i.removesuffix("-error") for i in errors} == set(expected)  # one per question
    for field, message in expected.items():
        owner = page.by_id(field)
        assert owner.described_by[-1] == f"{field}-error"
        assert page.text_of([f"{field}-error"]) == [message]
    # Hint first, then the error, as they are on the page.
    assert page.by_id("q_shift").described_by == ["q_shift-hint", "q_shift-error"]
    # aria-invalid where the role takes it: the input, the radio group, each box of a
    # "tick any" group, each select of a ranking, the consent box.
    assert page.by_id("q_role").get("aria-invalid") == "true"
    assert page.by_id("q_years").get("aria-invalid") == "true"
    assert page.by_id("q_shift").get("aria-invalid") == "true"
    assert [e.get("aria-invalid") for e in page.named("q_worries")] == ["true", "true"]
    assert page.by_id("q_worries").get("aria-invalid") is None  # a plain group has none
    assert [e.get("aria-invalid") for e in page.elements if e.tag == "select"] == ["true", "true"]
    assert page.by_id("q_agree").get("aria-invalid") == "true"
    # The questions answered well, or optional and empty, are not invalid.
    for field in ("q_fair", "q_story", "q_since"):
        assert page.by_id(field).get("aria-invalid") is None
        assert page.by_id(field).described_by in ([], [f"{field}-hint"])
    assert [e.get("aria-invalid") for e in page.named("q_fair")] == [None, None]
    # The error summary links to each question's first box (a group's first option or
    # select), where following the link puts focus.
    links = [e.get("href") for e in page.elements if e.tag == "a"]
    first_boxes = {
        "q_role": "q_role",
        "q_years": "q_years",
        "q_shift": "q_shift-1",
        "q_worries": "q_worries-1",
        "q_priorities": "q_priorities__pay",
        "q_agree": "q_agree",
    }
    assert {f"#{box}" for box in first_boxes.values()} <= set(links)
    assert all(page.by_id(box).tag in ("input", "select") for box in first_boxes.values())


def test_a_corrected_answer_is_no_longer_invalid() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    refused = shown(client, first, {**ALL_FINE, "q_years": "70"})
    assert refused.by_id("q_years").get("aria-invalid") == "true"
    assert [e.get("id") for e in form_controls(refused) if e.get("aria-invalid")] == ["q_years"]
    went = client.post(first, ALL_FINE)
    assert went.status_code == 302  # on to the next page
    again = shown(client, first)
    assert not [e for e in form_controls(again) if e.get("aria-invalid")]
    assert not [e for e in again.elements if e.attr("id").endswith("-error")]


def test_two_questions_with_errors_each_have_their_own() -> None:
    """Two questions with errors, one's name the start of the other's: each is
    described by its own hint and error, each id on one element only."""
    survey = build_survey()
    section = survey.sections.get(order=1)
    Question.objects.create(
        survey=survey,
        section=section,
        order=11,
        name="role_2",
        type=Question.Type.SHORT_TEXT,
        label={"en": "Second role"},
        required=True,
        hint={"en": "If you have one"},
    )
    client = Client()
    page = shown(client, start(survey, client), {**ALL_FINE, "q_role": ""})
    assert page.by_id("q_role").described_by == ["q_role-hint", "q_role-error"]
    assert page.by_id("q_role_2").described_by == ["q_role_2-hint", "q_role_2-error"]
    assert page.text_of(["q_role-error", "q_role_2-error"]) == [
        "Tell us your role, even roughly.",
        "Answer this question.",
    ]


def test_ids_stay_unique_when_a_short_name_ends_like_a_choice_or_hint_id() -> None:
    """shift's second choice and a question named shift_2, worries' hint and a question
    named worries_hint: every id once, and each label names its own control."""
    survey = build_survey()
    section = survey.sections.get(order=1)
    for order, name in ((12, "shift_2"), (13, "worries_hint"), (14, "shift_error")):
        Question.objects.create(
            survey=survey,
            section=section,
            order=order,
            name=name,
            type=Question.Type.SHORT_TEXT,
            label={"en": name},
            hint={"en": "x"},
        )
    client = Client()
    page = shown(client, start(survey, client), {**ALL_FINE, "q_shift": ""})
    page.check_ids()
    assert page.by_id("q_shift_2").get("name") == "q_shift_2"
    assert page.by_id("q_worries_hint").get("name") == "q_worries_hint"
    assert page.by_id("q_shift_error").get("name") == "q_shift_error"
    assert page.by_id("q_shift").described_by == ["q_shift-hint", "q_shift-error"]
    for label in (e for e in page.elements if e.tag == "label"):
        control = page.by_id(label.get("for"))
        assert control.tag in ("input", "select", "textarea", "progress"), label.attrs


# --------------------------------------------------------------------------- check page


def test_the_check_page_ties_each_problem_to_its_change_link() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    # Save with answers missing, then look at the check page.
    client.post(first, {"q_role": "Picker", "q_years": "4", "later": "1"})
    check = re.sub(r"/p/0/$", "/check/", first)
    page = shown(client, check)
    change = [e for e in page.elements if e.tag == "a" and "/p/" in e.attr("href")]
    described = {" ".join(e.text.split()): e.described_by for e in change}
    # Each required question left empty: its own error, named by its link.
    problems = {text: page.text_of(ids) for text, ids in described.items() if ids}
    assert problems == {
        "Change Shift": ["Answer this question."],
        "Change Worries": ["Answer this question."],
        "Change Priorities": ["Answer this question."],
        "Change Agree": ["Tick the box to agree before you go on."],
        "Change Later": ["Answer this question."],
    }
    ids = [i for ids in described.values() for i in ids]
    assert len(ids) == len(set(ids))  # one id per question
    assert described["Change Role"] == []
    assert described["Change Years"] == []


# --------------------------------------------------------------------------- preview


def test_the_builders_preview_shows_the_same_pages() -> None:
    survey = build_survey(status=Survey.Status.DRAFT)
    client = organiser_client(survey)
    started = client.post(
        reverse("surveys:preview", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    )
    assert started.status_code == 302
    first = str(started["Location"])
    assert re.search(r"/p/0/$", first)
    page = shown(client, first, {**ALL_FINE, "q_years": "70"})
    assert "Preview: answers are checked but not kept." in " ".join(
        e.text for e in page.elements if e.tag == "main"
    )
    assert page.by_id("q_years").get("aria-invalid") == "true"
    assert page.by_id("q_years").described_by == ["q_years-hint", "q_years-error"]
    assert page.by_id("q_shift").get("role") == "radiogroup"
    assert page.by_id("q_shift").described_by == ["q_shift-hint"]
    assert page.by_id("q_role").get("aria-required") == "true"
    assert Response.objects.get().is_preview


# --------------------------------------------------------------------------- code entry


def test_the_invitation_code_box_is_required_without_the_html_attribute() -> None:
    survey = build_survey(distribution=Survey.Distribution.CODES)
    url = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    page = shown(Client(), url)
    box = page.by_id("id_code")
    assert box.get("aria-required") == "true"
    assert "required" not in box.attrs
    assert box.described_by == ["id_code_helptext"]
    assert box.get("aria-invalid") is None
    page = shown(Client(), url, {"code": ""})
    box = page.by_id("id_code")
    assert box.described_by == ["id_code_helptext", "id_code_error"]
    assert page.text_of(["id_code_error"]) == ["Enter the code from your card or letter."]
    assert box.get("aria-invalid") == "true"
    assert "required" not in box.attrs
