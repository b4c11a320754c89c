"""What a participant and a moderator are told about a statement is true: a duplicate
of a shown statement can be voted on instead, one of a statement nobody sees yet gives
nothing away, and a long single word is not "Very short"."""

from __future__ import annotations

import pytest

from sayso.core.services import ServiceError
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Statement
from sayso.deliberation.selectors import spam_hints

from .factories import ConversationFactory, ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db

TEXT = "Night shift needs its own meeting about the scanners."


def _refusal(moderation: str, state: str) -> str:
    conversation = ConversationFactory.create(moderation=moderation)
    StatementFactory.create(conversation=conversation, text=TEXT, state=state)
    participant = ParticipantFactory.create(conversation=conversation)
    with pytest.raises(ServiceError) as refused:
        services.add_participant_statement(
            conversation=conversation, participant=participant, text=TEXT.upper()
        )
    assert Statement.objects.filter(conversation=conversation).count() == 1  # nothing added
    return str(refused.value)


SHOWN = "Someone has already written this statement. You can vote on it instead."


def test_a_duplicate_is_told_it_can_vote_only_when_the_original_is_shown() -> None:
    told = {
        (moderation, state): _refusal(moderation, state)
        for moderation, state in [
            (Conversation.Moderation.PRE, Statement.State.ACCEPTED),
            (Conversation.Moderation.POST, Statement.State.PENDING),  # shown while unchecked
            (Conversation.Moderation.POST, Statement.State.ACCEPTED),
        ]
    }
    assert told == {
        ("pre", "accepted"): SHOWN,
        ("post", "pending"): SHOWN,
        ("post", "accepted"): SHOWN,
    }


def test_a_duplicate_of_one_nobody_sees_yet_is_answered_as_a_new_one() -> None:
    """Telling the writer that someone wrote it already would confirm the words of a
    statement not shown yet; the statement waiting is the answer, nothing is added."""
    conversation = ConversationFactory.create(moderation=Conversation.Moderation.PRE)
    waiting = StatementFactory.create(
        conversation=conversation, text=TEXT, state=Statement.State.PENDING
    )
    participant = ParticipantFactory.create(conversation=conversation)
    answered = services.add_participant_statement(
        conversation=conversation, participant=participant, text=TEXT.upper()
    )
    assert answered.pk == waiting.pk
    assert answered.state == Statement.State.PENDING
    assert Statement.objects.filter(conversation=conversation).count() == 1


def test_very_short_means_few_characters_not_few_words() -> None:
    cases = {
        ("scannerdataaccountability" * 12)[:280]: ("Only one or two words",),  # was "Very short"
        "Unaccountablealgorithmicmanagement everywhere": ("Only one or two words",),
        "No way": ("Very short",),
        "Surveillance": ("Very short",),
        "Scanners should be switched off at night.": (),
    }
    assert {text: spam_hints(text, None) for text in cases} == cases


def test_personal_details_are_hinted_beside_the_other_hints() -> None:
    cases = {
        "Contact me at jo.bloggs@example.com about this.": ("May contain an email address",),
        "Ring the night manager on 07700 900123": ("May contain a phone number",),
        "CALL ME ON 07700 900123 NOW!!!!": (
            "Mostly capital letters",
            "Repeated characters",
            "May contain a phone number",
        ),
        "Ask @jo_bloggs, she lives at LS1 4AP": (
            "May contain a postcode",
            "May contain a social media name (@…)",
        ),
        "The scanners record us 24/7 for £5.50 an hour.": (),
    }
    assert {text: spam_hints(text, None) for text in cases} == cases
