"""Seed statements as an organiser types them: a line said twice is refused with both
line numbers and nothing is made; a message names the line as the textarea counts it
(blank lines included); a statement added later that repeats one already there is
refused next to the field, with the same notion of "the same words" as participants get."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory
from sayso.deliberation import services
from sayso.deliberation.forms import ConversationForm
from sayso.deliberation.models import Conversation, OpinionMapResult, Statement

from .factories import ConversationFactory, ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db


def _create(depot_organiser: Client, seeds: str) -> Any:
    return depot_organiser.post(
        reverse("deliberation:create", kwargs={"slug": "depot"}),
        {
            "topic": "What should the rules be for scanner data?",
            "moderation": "pre",
            "access": "link",
            "anonymous": "on",
            "participants_can_add": "on",
            "seed_statements": seeds,
        },
    )


def _seed_errors(html: str) -> list[str]:
    found = re.search(r'<ul class="errorlist" id="id_seed_statements_error">(.*?)</ul>', html)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def _counts() -> tuple[int, int, int]:
    return (
        Conversation.objects.count(),
        Statement.objects.count(),
        OpinionMapResult.objects.count(),
    )


def test_the_same_line_twice_is_refused_naming_both_lines_and_nothing_is_made(
    depot_organiser: Client,
) -> None:
    seeds = (
        "Delete scanner data after 30 days.\n"
        "Tell us what is recorded.\n"
        "\n"
        "Ask the union before tracking starts.\n"
        "  delete SCANNER data after 30 days  \n"
    )
    before = _counts()
    response = _create(depot_organiser, seeds)
    assert response.status_code == 200
    assert _seed_errors(response.content.decode()) == [
        "Lines 1 and 5 say the same thing: keep one."
    ]
    assert _counts() == before == (0, 0, 0)


def test_duplicates_use_the_participants_notion_of_the_same_words() -> None:
    # Punctuation, case and spacing aside (models.normalise_text), as for participants.
    form = ConversationForm(
        {
            "topic": "Scanner data rules",
            "moderation": "pre",
            "access": "link",
            "seed_statements": "We need a say!\nwe need   a SAY\nWe need a say, now.",
        },
        community=CommunityFactory.create(),
    )
    assert not form.is_valid()
    assert form.errors["seed_statements"] == ["Lines 1 and 2 say the same thing: keep one."]


def test_different_lines_are_all_created_in_order(depot_organiser: Client) -> None:
    response = _create(depot_organiser, "Delete after 30 days\n\nTell us what is recorded\n")
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert list(conversation.statements.order_by("number").values_list("text", flat=True)) == [
        "Delete after 30 days",
        "Tell us what is recorded",
    ]


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        # Lines 1, 2 and 4 are blank: the short one is on line 9 of the textarea, and
        # the 7th non-blank line (what the old message counted).
        (
            "\n\nFirst statement here.\n\nSecond one.\nThird one.\nFourth.\nFifth.\nok\n",
            "Line 9 needs words to vote on: at least 3 letters or numbers.",
        ),
        ("One statement.\n\n\n" + "x" * 281 + "\n", "Line 4 is longer than 280 characters."),
    ],
)
def test_a_bad_line_is_named_by_its_line_in_the_box(
    depot_organiser: Client, seeds: str, message: str
) -> None:
    before = _counts()
    response = _create(depot_organiser, seeds)
    errors = _seed_errors(response.content.decode())
    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert _counts() == before == (0, 0, 0)


def test_an_added_statement_that_repeats_one_is_refused_next_to_the_field(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    StatementFactory.create(conversation=conversation, number=0, text="Delete after 30 days.")
    StatementFactory.create(conversation=conversation, number=1, text="Tell us what is recorded.")
    url = reverse(
        "deliberation:statement-add", kwargs={"slug": "depot", "conversation": conversation.pk}
    )
    before = _counts()
    response = depot_organiser.post(url, {"text": "tell us  what is RECORDED"})
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<ul class="errorlist" id="id_text_error"><li>'
        # Stored as number 1; the organiser's pages count from 1, so it is statement 2.
        "Statement 2 already says the same thing: keep one.</li>" in html
    )
    assert _counts() == before
    # A new idea is still added.
    assert depot_organiser.post(url, {"text": "Ask the union first."}).status_code == 302
    assert Statement.objects.filter(conversation=conversation).count() == 3


def test_an_added_statement_may_repeat_a_rejected_one(depot: Community) -> None:
    conversation = ConversationFactory.create(community=depot)
    StatementFactory.create(
        conversation=conversation,
        number=0,
        text="Scanners are fine.",
        state=Statement.State.REJECTED,
    )
    added = services.add_seed_statement(
        conversation=conversation, text="Scanners are fine", actor=None
    )
    assert added.number == 1


def test_an_organiser_statement_repeating_a_participants_is_refused(
    depot: Community,
) -> None:
    conversation = ConversationFactory.create(community=depot)
    author = ParticipantFactory.create(conversation=conversation, number=0)
    StatementFactory.create(
        conversation=conversation,
        number=4,
        text="Who reads the scanner logs?",
        kind=Statement.Kind.PARTICIPANT,
        state=Statement.State.PENDING,
        author=author,
    )
    before = _counts()
    with pytest.raises(ServiceError, match="Statement 5 already says the same thing"):
        services.add_seed_statement(
            conversation=conversation, text="who reads the scanner logs", actor=None
        )
    assert _counts() == before


def test_the_service_refuses_duplicate_seeds_too_and_makes_nothing(
    depot: Community,
) -> None:
    # A caller that skips the form (a command, the API) gets no half-made conversation.
    before = _counts()
    with pytest.raises(ServiceError, match="Statement 1 already says the same thing"):
        services.create_conversation(
            conversation=Conversation(topic="Scanner data rules"),
            community=depot,
            actor=None,
            seed_statements=["Delete after 30 days", "delete after 30 days."],
        )
    assert _counts() == before == (0, 0, 0)


# --- a closed conversation --------------------------------------------------------------

CLOSED = "This conversation is closed, so statements can no longer be added. Reopen it to add one."


def _closed(depot: Community) -> tuple[Conversation, str]:
    conversation = ConversationFactory.create(community=depot)
    StatementFactory.create(conversation=conversation, number=0, text="Delete after 30 days.")
    services.set_state(conversation=conversation, open=False, actor=None)
    url = reverse(
        "deliberation:statement-add", kwargs={"slug": "depot", "conversation": conversation.pk}
    )
    return conversation, url


def _state(conversation: Conversation) -> tuple[object, ...]:
    """Everything adding a statement would change."""
    result = OpinionMapResult.objects.get(conversation=conversation)
    return (
        list(Statement.objects.values_list("pk", "number", "text", "state")),
        result.requested_at,
        Conversation.objects.get(pk=conversation.pk).state,
    )


def test_a_closed_conversation_offers_no_form_to_add_a_statement(
    depot: Community, depot_organiser: Client
) -> None:
    conversation, url = _closed(depot)
    detail = depot_organiser.get(conversation.get_absolute_url()).content.decode()
    assert f'action="{url}"' not in detail
    assert "Add a statement" not in detail
    assert CLOSED in detail
    page = depot_organiser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="text"' not in html
    assert CLOSED in html


def test_a_statement_sent_to_a_closed_conversation_is_refused_and_nothing_changes(
    depot: Community, depot_organiser: Client
) -> None:
    conversation, url = _closed(depot)
    before = _state(conversation)
    response = depot_organiser.post(url, {"text": "Ask the union first."})
    assert response.status_code == 200
    html = response.content.decode()
    assert CLOSED in html
    assert 'name="text"' not in html
    # The words come back, to copy once the conversation is open again.
    assert re.search(
        r'<textarea id="kept-text"[^>]*readonly[^>]*>\s*Ask the union first.</textarea>', html
    )
    assert "Statement added." not in html
    assert _state(conversation) == before


def test_the_service_refuses_a_closed_conversation_whatever_the_caller_was_shown(
    depot: Community,
) -> None:
    conversation = ConversationFactory.create(community=depot)
    StatementFactory.create(conversation=conversation, number=0, text="Delete after 30 days.")
    stale = Conversation.objects.get(pk=conversation.pk)  # read while it was open
    services.set_state(conversation=conversation, open=False, actor=None)
    before = _state(conversation)
    assert stale.is_open
    with pytest.raises(ServiceError, match=re.escape(CLOSED)):
        services.add_seed_statement(conversation=stale, text="Ask the union first.", actor=None)
    assert _state(conversation) == before


def test_opened_again_it_takes_statements_again(depot: Community, depot_organiser: Client) -> None:
    conversation, url = _closed(depot)
    services.set_state(conversation=conversation, open=True, actor=None)
    assert depot_organiser.post(url, {"text": "Ask the union first."}).status_code == 302
    assert Statement.objects.filter(conversation=conversation).count() == 2
