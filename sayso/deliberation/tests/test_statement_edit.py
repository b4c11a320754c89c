"""A moderator takes a name out of a statement waiting for moderation, then accepts it.

Only a waiting statement nobody has voted on can change (a vote was cast on the words as
written); the words are checked as a new statement's are; the number stays; the audit
log says who changed which statement without keeping the words taken out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import AuditEvent, Community, Role
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Statement, normalise_text

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, VoteFactory

pytestmark = pytest.mark.django_db

NAMED = "My manager Dave Smith uses the scanner data to shame people in meetings."
FIXED = "My manager uses the scanner data to shame people in meetings."


def _waiting(depot: Community, **fields: Any) -> Statement:
    conversation = ConversationFactory.create(
        community=depot, moderation=Conversation.Moderation.PRE
    )
    StatementFactory.create(conversation=conversation, number=0, text="Scanner data is useful.")
    values = {"number": 1, "text": NAMED, "state": Statement.State.PENDING, **fields}
    return StatementFactory.create(conversation=conversation, **values)


def _edit_url(statement: Statement) -> str:
    return reverse(
        "deliberation:statement-edit",
        kwargs={
            "slug": statement.conversation.community.slug,
            "conversation": statement.conversation_id,
            "statement": statement.pk,
        },
    )


def _moderate_url(statement: Statement) -> str:
    return reverse(
        "deliberation:moderate",
        kwargs={"slug": "depot", "conversation": statement.conversation_id},
    )


def _unchanged(statement: Statement) -> None:
    """The statement as it was, and nothing in the audit log."""
    fresh = Statement.objects.get(pk=statement.pk)
    assert (fresh.text, fresh.normalised, fresh.number, fresh.state) == (
        statement.text,
        statement.normalised,
        statement.number,
        statement.state,
    )
    assert not AuditEvent.objects.filter(action=services.STATEMENT_EDITED).exists()


def test_a_moderator_takes_a_name_out_then_accepts_the_statement(
    depot: Community, depot_organiser: Client
) -> None:
    statement = _waiting(depot)
    page = depot_organiser.get(_edit_url(statement))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Edit statement 2</h1>" in html
    assert NAMED in html  # the words to change, in the field

    response = depot_organiser.post(_edit_url(statement), {"text": f"  {FIXED} "})
    assert response.status_code == 302
    assert response["Location"] == f"{_moderate_url(statement)}?show=pending"
    assert "Statement 2 saved. It is still waiting: accept it when it reads right." in (
        depot_organiser.get(response["Location"]).content.decode()
    )
    fresh = Statement.objects.get(pk=statement.pk)
    assert (fresh.text, fresh.normalised, fresh.number, fresh.state) == (
        FIXED,
        normalise_text(FIXED),
        1,
        Statement.State.PENDING,
    )
    event = AuditEvent.objects.get(action=services.STATEMENT_EDITED)
    assert event.community == depot
    assert event.detail == {"conversation": statement.conversation_id, "statement": statement.pk}
    # The name taken out is nowhere in the log (nor the new words: not needed there).
    logged = event.summary + json.dumps(event.detail)
    assert "Dave" not in logged
    assert "Smith" not in logged
    assert FIXED not in logged
    assert "changed the words of statement 2, waiting for moderation" in event.summary

    depot_organiser.post(
        f"{_moderate_url(statement)}?show=pending",
        {"statements": [statement.pk], "action": "accept"},
    )
    assert Statement.objects.get(pk=statement.pk).state == Statement.State.ACCEPTED


def test_the_moderation_page_offers_edit_only_where_it_is_allowed(
    depot: Community, depot_organiser: Client
) -> None:
    statement = _waiting(depot)
    voted = StatementFactory.create(
        conversation=statement.conversation, number=2, state=Statement.State.PENDING
    )
    VoteFactory.create(
        participant=ParticipantFactory.create(conversation=statement.conversation), statement=voted
    )
    html = depot_organiser.get(f"{_moderate_url(statement)}?show=pending").content.decode()
    link = f'<a href="{_edit_url(statement)}">Edit<span class="visually-hidden"> statement 2</span></a>'
    assert link in html
    assert _edit_url(voted) not in html  # voted on: its words are fixed
    accepted = depot_organiser.get(f"{_moderate_url(statement)}?show=accepted").content.decode()
    assert "/edit/" not in accepted


def _vote_on(statement: Statement) -> None:
    VoteFactory.create(
        participant=ParticipantFactory.create(conversation=statement.conversation),
        statement=statement,
    )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            lambda s: Statement.objects.filter(pk=s.pk).update(state=Statement.State.ACCEPTED),
            "This statement has been accepted already, so its words can no longer be changed.",
        ),
        (
            lambda s: Statement.objects.filter(pk=s.pk).update(state=Statement.State.REJECTED),
            "This statement has been rejected. Only a statement waiting for moderation can be"
            " edited.",
        ),
        (
            _vote_on,
            "People have already voted on this statement, so its words can no longer be"
            " changed: their votes were on the words as written.",
        ),
    ],
    ids=["accepted", "rejected", "voted on"],
)
def test_a_statement_that_cannot_change_says_why_and_stays_as_it_was(
    depot: Community, depot_organiser: Client, setup: Any, message: str
) -> None:
    statement = _waiting(depot)
    setup(statement)
    statement.refresh_from_db()
    page = depot_organiser.get(_edit_url(statement)).content.decode()
    assert message in page
    assert 'name="text"' not in page  # no form to fill in for nothing
    response = depot_organiser.post(_edit_url(statement), {"text": FIXED})
    assert response.status_code == 200
    assert message in response.content.decode()
    _unchanged(statement)
    # The service refuses on its own too, with the same words.
    with pytest.raises(ServiceError, match=message.split(",")[0]):
        services.edit_pending_statement(
            conversation=statement.conversation, statement_id=statement.pk, text=FIXED, actor=None
        )
    _unchanged(statement)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "ok",
            "Write your statement in words: use at least 3 letters or numbers. Emoji,"
            " symbols and spaces alone cannot be voted on.",
        ),
        ("x" * 281, "Keep it to 280 characters so it reads well on a phone. It has 281."),
        ("", "Write the statement&#x27;s words."),
        # Another statement's words (case and punctuation aside) would split its votes.
        ("scanner data is USEFUL!", "Statement 1 already says the same thing: keep one."),
    ],
    ids=["too short", "too long", "empty", "duplicate"],
)
def test_words_are_checked_as_a_new_statements_are(
    depot: Community, depot_organiser: Client, text: str, message: str
) -> None:
    statement = _waiting(depot)
    response = depot_organiser.post(_edit_url(statement), {"text": text})
    assert response.status_code == 200
    assert (
        f'<ul class="errorlist" id="id_text_error"><li>{message}</li></ul>'
        in response.content.decode()
    )
    _unchanged(statement)


def test_the_service_refuses_over_long_words_the_form_would_have_caught(
    depot: Community,
) -> None:
    statement = _waiting(depot)
    with pytest.raises(ServiceError, match="Keep a statement to 280 characters"):
        services.edit_pending_statement(
            conversation=statement.conversation,
            statement_id=statement.pk,
            text="y" * 281,
            actor=None,
        )
    _unchanged(statement)


def test_same_words_again_change_nothing_and_log_nothing(depot: Community) -> None:
    statement = _waiting(depot)
    services.edit_pending_statement(
        conversation=statement.conversation, statement_id=statement.pk, text=NAMED, actor=None
    )
    _unchanged(statement)


def test_another_conversations_statement_is_not_found(
    depot: Community, depot_organiser: Client
) -> None:
    statement = _waiting(depot)
    elsewhere = _waiting(CommunityFactory.create(slug="elsewhere"))
    url = reverse(
        "deliberation:statement-edit",
        kwargs={
            "slug": "depot",
            "conversation": statement.conversation_id,
            "statement": elsewhere.pk,
        },
    )
    assert depot_organiser.get(url).status_code == 404
    assert depot_organiser.post(url, {"text": FIXED}).status_code == 404
    _unchanged(elsewhere)
    with pytest.raises(ServiceError, match=r"That statement is not in this conversation\."):
        services.edit_pending_statement(
            conversation=statement.conversation,
            statement_id=elsewhere.pk,
            text=FIXED,
            actor=None,
        )
    _unchanged(elsewhere)


@pytest.mark.parametrize("role", [Role.MEMBER])
def test_a_member_who_is_not_an_organiser_cannot_edit(depot: Community, role: str) -> None:
    statement = _waiting(depot)
    member = signed_in(MembershipFactory.create(community=depot, role=role).user)
    assert member.get(_edit_url(statement)).status_code == 403
    assert member.post(_edit_url(statement), {"text": FIXED}).status_code == 403
    _unchanged(statement)
