"""An accessibility reviewer's findings on the conversations' pages (WCAG 2.2 AA, a 320 px
phone, keyboard, no JavaScript, axe), each pinned by a test that failed before its fix:
the moderation queue's error link lands on a box, forms post to their page without its
#fragment, a vote without JavaScript lands on the next statement, invitation code boxes
that phones do not mangle, titles that name the conversation, htmx only where it is
used, and the comparison table named once. What only a browser shows is in
tests/e2e/test_deliberation_accessibility.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from sayso.core.models import Community, Role
from sayso.core.services import create_code_batch
from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, PolisImport, Statement

from .factories import ConversationFactory, StatementFactory, planted
from .helpers import community_url, public, token

pytestmark = pytest.mark.django_db

TOPIC = "Scanner data: what should the rules be?"
HTMX = re.compile(r'<script src="[^"]*htmx[^"]*"')


class Elements(HTMLParser):
    """Each start tag of a page, as (tag, attributes)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def by_id(self, id_: str) -> list[tuple[str, dict[str, str | None]]]:
        return [(tag, attrs) for tag, attrs in self.found if attrs.get("id") == id_]

    def with_attribute(self, name: str) -> list[tuple[str, dict[str, str | None]]]:
        return [(tag, attrs) for tag, attrs in self.found if name in attrs]


def post_actions(html: str) -> list[str | None]:
    """The action of each form that posts, but the header's "Sign out"."""
    return [
        attrs.get("action")
        for tag, attrs in Elements(html).found
        if tag == "form"
        and (attrs.get("method") or "get").lower() == "post"
        and attrs.get("action") != "/accounts/logout/"
    ]


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert found is not None
    return " ".join(found.group(1).split())


def organiser_of(community: Community) -> Client:
    return signed_in(MembershipFactory.create(community=community, role=Role.ORGANISER).user)


def waiting(community: Community, n: int = 2) -> tuple[Conversation, list[Statement]]:
    """A pre-moderated conversation with `n` statements waiting."""
    conversation = ConversationFactory.create(
        community=community, topic=TOPIC, moderation=Conversation.Moderation.PRE
    )
    statements = [
        StatementFactory.create(conversation=conversation, state=Statement.State.PENDING)
        for _ in range(n)
    ]
    return conversation, statements


def code_conversation(community: Community) -> Conversation:
    batch, _codes = create_code_batch(community=community, actor=None, label="Depot", size=1)
    conversation = ConversationFactory.create(
        community=community,
        topic=TOPIC,
        access=Conversation.Access.CODES,
        anonymous=True,
        code_batch=batch,
    )
    StatementFactory.create(conversation=conversation)
    return conversation


# ------------------------------------------- 3. the moderation queue's error link


def test_ticking_nothing_links_the_error_to_the_first_box(community: Community) -> None:
    client = organiser_of(community)
    conversation, statements = waiting(community)
    page = community_url(conversation, "moderate") + "?show=pending"
    html = client.post(page, {"action": "accept"}).content.decode()
    assert title(html) == f"Error: Moderate statements: {TOPIC} · Sayso"
    summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    (href,) = re.findall(
        r'<a href="#([^"]+)">Statements: Tick at least one statement.</a>', summary
    )
    elements = Elements(html)
    ((tag, box),) = elements.by_id(href)
    first_row = next(a for _tag, a in elements.found if a.get("name") == "statements")
    assert (tag, box) == ("input", first_row)
    assert box["type"] == "checkbox"
    # The first box is the first statement's: its label names it.
    assert f'<label for="{href}">1. {statements[0].text}</label>' in html
    # Each box still has its own label.
    for attrs in elements.found:
        if attrs[1].get("name") == "statements":
            assert f'<label for="{attrs[1]["id"]}">' in html
    assert set(Statement.objects.values_list("state", flat=True)) == {Statement.State.PENDING}


# -------------------------------------------------- 4. forms post without the #fragment


def test_every_form_of_the_organisers_pages_names_its_address(community: Community) -> None:
    client = organiser_of(community)
    conversation, statements = waiting(community)
    moderate = community_url(conversation, "moderate")
    pages = {
        moderate: [moderate],
        moderate + "?show=pending": [moderate + "?show=pending"],
        community_url(conversation, "state"): [community_url(conversation, "state")],
        f"{moderate}{statements[0].pk}/edit/": [f"{moderate}{statements[0].pk}/edit/"],
        community_url(conversation, "statement-add"): [
            community_url(conversation, "statement-add")
        ],
        community_url(conversation, "edit"): [community_url(conversation, "edit")],
    }
    for path, actions in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert post_actions(response.content.decode()) == actions, path
    # Sent back with a problem, at the address that selected every box.
    html = client.post(moderate + "?show=pending", {"select": "all"}).content.decode()
    assert post_actions(html) == [moderate + "?show=pending"]


def test_every_form_of_the_participants_pages_names_its_address(community: Community) -> None:
    conversation = ConversationFactory.create(community=community, participants_can_add=True)
    StatementFactory.create(conversation=conversation)
    client = Client()
    adding = public(conversation, "statement")
    assert post_actions(client.get(adding).content.decode()) == [adding]
    html = client.post(adding, {"text": ""}).content.decode()
    assert post_actions(html) == [adding]
    assert title(html).startswith("Error: ")
    gated = code_conversation(community)
    gate = public(gated)
    assert post_actions(Client().get(gate).content.decode()) == [gate]
    html = Client().post(gate, {"code": ""}).content.decode()
    assert post_actions(html) == [gate]
    assert "Type the code from your card." in html


# ---------------------------------------------- 10. a vote without JavaScript


def test_after_a_vote_without_javascript_the_next_statement_has_focus(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    page = public(conversation)
    assert not Elements(client.get(page).content.decode()).with_attribute("autofocus")
    response = client.post(page, {"statement": token(first), "vote": "agree"})
    assert response.status_code == 303
    assert "#" not in response["Location"]  # a #fragment would stop autofocus
    html = client.get(response["Location"]).content.decode()
    # One element takes focus: the next statement, read with "Vote recorded." (the
    # message's status box) and how far along it is.
    assert Elements(html).with_attribute("autofocus") == [
        (
            "h2",
            {
                "id": "statement-text",
                "tabindex": "-1",
                "autofocus": None,
                "aria-describedby": "messages-status statement-progress",
            },
        )
    ]
    assert re.search(r'<h2 id="statement-text"[^>]*>' + re.escape(second.text) + "</h2>", html)
    assert '<p id="statement-progress">Statement 2 of 2</p>' in html
    assert "Vote recorded." in html
    # "Change my last vote": the card for that vote has focus too.
    change = re.search(r'href="([^"]*\?change=\d+)"', html)
    assert change is not None
    html = client.get(change.group(1)).content.decode()
    (focused,) = Elements(html).with_attribute("autofocus")
    assert focused[1]["id"] == "statement-text"
    assert re.search(r'<h2 id="statement-text"[^>]*>' + re.escape(first.text) + "</h2>", html)
    # The last vote: the thank-you message has focus.
    response = client.post(page, {"statement": token(second), "vote": "pass"})
    html = client.get(response["Location"]).content.decode()
    (focused,) = Elements(html).with_attribute("autofocus")
    assert focused == (
        "div",
        {"tabindex": "-1", "autofocus": None, "aria-describedby": "messages-status"},
    )
    assert re.search(
        r'<div tabindex="-1" autofocus aria-describedby="messages-status">\s*'
        r'<div class="notification notification--success"',
        html,
    )
    # Coming back later (no vote just cast): the page starts at the top.
    assert not Elements(client.get(page).content.decode()).with_attribute("autofocus")


# ----------------------------------------------------------- 11. invitation code boxes


def test_the_code_box_is_not_changed_by_a_phones_keyboard(community: Community) -> None:
    html = Client().get(public(code_conversation(community))).content.decode()
    (box,) = [attrs for tag, attrs in Elements(html).found if attrs.get("name") == "code"]
    assert box["autocapitalize"] == "characters"
    assert box["autocorrect"] == "off"
    assert box["spellcheck"] == "false"
    assert box["autocomplete"] == "off"


# ---------------------------------------------------------------- 13. page titles


def test_titles_name_the_conversation(community: Community) -> None:
    Community.objects.filter(pk=community.pk).update(name="Northgate Depot Workers")
    client = organiser_of(community)
    conversation, statements = waiting(community)
    conversation.participants_can_add = True
    conversation.save(update_fields=["participants_can_add"])
    moderate = community_url(conversation, "moderate")
    job = PolisImport.objects.create(community=community, topic="Night shift scanners")
    titles = {
        f"/c/{community.slug}/conversations/": "Conversations: Northgate Depot Workers",
        moderate: f"Moderate statements: {TOPIC}",
        f"{moderate}{statements[1].pk}/edit/": f"Edit statement {statements[1].number + 1}: {TOPIC}",
        community_url(conversation, "statement-add"): f"Add a statement: {TOPIC}",
        community_url(conversation, "edit"): f"Edit conversation: {TOPIC}",
        community_url(conversation, "state"): f"Close the conversation: {TOPIC}",
        community_url(conversation, "cite"): f"Cite as evidence: {TOPIC}",
        community_url(conversation, "report"): f"Report: {TOPIC}",
        f"/c/{community.slug}/conversations/import/?job={job.pk}": (
            "Importing: Night shift scanners"
        ),
        public(conversation, "statement"): f"Add your statement \u2013 {TOPIC}",
        public(conversation, "you"): f"How your view relates to the groups \u2013 {TOPIC}",
        public(conversation, "forget"): f"Forget you on this device? \u2013 {TOPIC}",
    }
    for path, expected in titles.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert title(response.content.decode()) == f"{expected} · Sayso", path
    forgotten = client.post(public(conversation, "forget")).content.decode()
    assert title(forgotten) == f"This device has forgotten you \u2013 {TOPIC} · Sayso"


def test_a_long_question_is_shortened_in_the_title(community: Community) -> None:
    client = organiser_of(community)
    long = (
        "What should the rules be for the handheld scanner data that the depot collects on"
        " every shift, and who should see it?"
    )
    conversation = ConversationFactory.create(community=community, topic=long)
    html = client.get(community_url(conversation, "moderate")).content.decode()
    assert title(html) == "Moderate statements: What should the rules be for the handheld … · Sayso"
    # The page itself gives the whole question.
    assert long in html


# ------------------------------------------------------- 14. htmx only where it is used

ROOT = Path(__file__).resolve().parents[1] / "templates"


def test_a_page_without_htmx_attributes_leaves_htmx_out() -> None:
    pages = sorted(ROOT.glob("**/*.html"))
    assert len(pages) > 15
    loading = [
        path.name
        for path in pages
        if '{% extends "base.html" %}' in (text := path.read_text(encoding="utf-8"))
        and "hx-" not in text
        and "{% block htmx %}{% endblock %}" not in text
    ]
    assert loading == []


def test_htmx_is_loaded_only_on_the_voting_page(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=6, statements=8)
    services.compute_now(conversation=conversation)
    client = Client()
    for _statement in range(8):
        html = client.get(public(conversation)).content.decode()
        assert HTMX.search(html)
        shown = re.search(r'name="statement" value="(\d+)"', html)
        assert shown is not None
        client.post(public(conversation), {"statement": shown.group(1), "vote": "agree"})
    for name in ("report", "you", "statement", "forget"):
        html = client.get(public(conversation, name)).content.decode()
        assert "hx-" not in html, name
        assert not HTMX.search(html), name
    organiser = organiser_of(community)
    for name in ("detail", "moderate", "report", "edit"):
        html = organiser.get(community_url(conversation, name)).content.decode()
        assert not HTMX.search(html), name


# ------------------------------------------------------- 15. the comparison table


def test_the_comparison_table_is_named_once(community: Community) -> None:
    conversation = ConversationFactory.create(community=community, topic=TOPIC)
    planted(conversation, groups=2, size=35, statements=8)
    services.compute_now(conversation=conversation)
    client = Client()
    for statement in Statement.objects.filter(conversation=conversation).order_by("number"):
        vote = "agree" if statement.number % 2 == 0 or statement.number == 7 else "disagree"
        client.post(public(conversation), {"statement": token(statement), "vote": vote})
    html = client.get(public(conversation, "you")).content.decode()
    name = "How often you voted with each group's majority"
    main = html.split('<main id="main"', 1)[1]
    assert main.count(name) == 1
    # The caption, shown, names the table and its scrolling region.
    assert '<caption id="relations-caption">' + name + "</caption>" in main
    assert (
        '<div class="table-wrap" tabindex="0" role="region" aria-labelledby="relations-caption">'
        in main
    )
    assert not re.search(r"<h2[^>]*>[^<]*How often you voted", main)
    assert re.search(r"\d+% of \d+ statements", main)
