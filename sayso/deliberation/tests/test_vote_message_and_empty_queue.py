"""Two follow-ups to the accessibility review: without JavaScript, "Vote recorded." is
named by the statement that takes focus after the vote (aria-describedby), so a screen
reader says both; and "Accept selected" sent from a moderation list that someone else
has emptied says that nothing is left, not "Tick at least one statement." with a link to
no box."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from sayso.core.models import AuditEvent, Community, Role
from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.deliberation.models import Conversation, Statement

from .factories import ConversationFactory, StatementFactory
from .helpers import community_url, public, token

pytestmark = pytest.mark.django_db


class Page(HTMLParser):
    """Each element's attributes by id, and the text inside the element with a given id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.autofocus: list[str | None] = []
        self._open: list[tuple[str, str | None]] = []
        self.text: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "autofocus" in found:
            self.autofocus.append(found.get("id"))
        if found.get("id"):
            self.by_id[str(found["id"])] = found
        if tag not in {"input", "br", "img", "meta", "link"}:
            self._open.append((tag, found.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, id_ in self._open:
            if id_:
                self.text[id_] = self.text.get(id_, "") + data

    def described_by(self, id_: str) -> str:
        """The text aria-describedby gives the element, as a screen reader would join it."""
        names = (self.by_id[id_].get("aria-describedby") or "").split()
        return " ".join(" ".join(self.text.get(n, "").split()) for n in names)


def test_the_statement_focused_after_a_vote_without_javascript_names_the_message() -> None:
    conversation = ConversationFactory.create()
    first, *rest = StatementFactory.create_batch(3, conversation=conversation)
    client = Client()
    client.get(public(conversation))
    response = client.post(public(conversation), {"statement": token(first), "vote": "agree"})
    assert response.status_code == 303
    page = Page(client.get(response["Location"]).content.decode())
    assert page.autofocus == ["statement-text"]
    assert page.by_id["messages-status"].get("role") == "status"
    assert page.described_by("statement-text") == "Vote recorded. Statement 2 of 3"
    assert " ".join(page.text["statement-text"].split()) in {s.text for s in rest}

    # The same address loaded again has no message: the statement names only its place.
    again = Page(client.get(response["Location"]).content.decode())
    assert "messages-status" not in again.by_id
    assert again.by_id["statement-text"].get("aria-describedby") == "statement-progress"


def test_the_thank_you_focused_after_the_last_vote_names_the_message() -> None:
    conversation = ConversationFactory.create()
    only = StatementFactory.create(conversation=conversation)
    client = Client()
    client.get(public(conversation))
    response = client.post(public(conversation), {"statement": token(only), "vote": "pass"})
    html = client.get(response["Location"]).content.decode()
    page = Page(html)
    assert len(page.autofocus) == 1
    # The thank-you box has no id of its own: found by its attributes.
    assert '<div tabindex="-1" autofocus aria-describedby="messages-status">' in html
    assert " ".join(page.text["messages-status"].split()) == "Vote recorded."


def test_with_htmx_the_card_names_only_its_place() -> None:
    """The htmx card carries no message: "Vote recorded." is in #card-status."""
    conversation = ConversationFactory.create()
    first, _second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    client.get(public(conversation))
    card = client.post(
        public(conversation),
        {"statement": token(first), "vote": "agree"},
        headers={"HX-Request": "true", "HX-Target": "card-region"},
    ).content.decode()
    assert Page(card).by_id["statement-text"].get("aria-describedby") == "statement-progress"
    assert "messages-status" not in card


def test_accepting_from_a_list_someone_else_emptied_says_so() -> None:
    community: Community = MembershipFactory.create(role=Role.ORGANISER).community
    organiser = signed_in(MembershipFactory.create(community=community, role=Role.ORGANISER).user)
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    accepted = StatementFactory.create(conversation=conversation, state=Statement.State.ACCEPTED)
    rejected = StatementFactory.create(conversation=conversation, state=Statement.State.REJECTED)
    states = dict(Statement.objects.values_list("pk", "state"))
    audit = AuditEvent.objects.count()
    page = community_url(conversation, "moderate") + "?show=pending"
    response = organiser.post(page, {"action": "accept"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(page, 302)]
    assert "There is nothing left to moderate in this list." in html
    assert "Tick at least one statement." not in html
    assert 'id="error-summary"' not in html
    assert "autofocus" not in html
    assert "No statements in this list." in html
    assert dict(Statement.objects.values_list("pk", "state")) == states
    assert AuditEvent.objects.count() == audit
    assert {accepted.pk, rejected.pk} == set(states)


def test_ticking_nothing_in_a_list_with_statements_still_asks_for_a_tick() -> None:
    community: Community = MembershipFactory.create(role=Role.ORGANISER).community
    organiser = signed_in(MembershipFactory.create(community=community, role=Role.ORGANISER).user)
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    StatementFactory.create(conversation=conversation, state=Statement.State.PENDING)
    page = community_url(conversation, "moderate") + "?show=pending"
    html = organiser.post(page, {"action": "accept"}).content.decode()
    assert "Tick at least one statement." in html
    assert "There is nothing left to moderate" not in html
    assert Statement.objects.get().state == Statement.State.PENDING
