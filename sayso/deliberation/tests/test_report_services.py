"""Services the views now hand off to (citing from the report, a participant's
statement with joining) and the demo seed's bulk inserts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sayso.core.models import Citation
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory
from sayso.deliberation import services
from sayso.deliberation.models import (
    Conversation,
    OpinionMapResult,
    Participant,
    Statement,
    Vote,
)
from sayso.deliberation.seeds import CAMPS, STATEMENTS, TOPIC, seed_demo

from .factories import ConversationFactory, StatementFactory, planted

pytestmark = pytest.mark.django_db


def _computed() -> tuple[Conversation, Statement]:
    conversation = ConversationFactory.create()
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    return conversation, Statement.objects.get(conversation=conversation, number=7)


def test_cite_from_report_freezes_the_stored_figures() -> None:
    conversation, last = _computed()
    citation, created = services.cite_from_report(
        conversation=conversation, statement_id=last.pk, kind="consensus", group=None, actor=None
    )
    assert created
    assert citation.evidence_type == services.EVIDENCE_CONSENSUS
    assert (citation.snapshot["agree_percent"], citation.snapshot["votes"]) == (100, 20)
    group, created = services.cite_from_report(
        conversation=conversation, statement_id=last.pk, kind="group", group=0, actor=None
    )
    assert created
    assert group.evidence_type == services.EVIDENCE_GROUP_STATEMENT
    assert (group.snapshot["group"], group.snapshot["votes"]) == ("A", 10)


def test_citing_the_same_figures_again_keeps_one_citation() -> None:
    conversation, last = _computed()
    first, created = services.cite_from_report(
        conversation=conversation, statement_id=last.pk, kind="consensus", group=None, actor=None
    )
    assert created
    # Worked out again with no new votes: the same figures, a later date.
    services.compute_now(conversation=conversation)
    again, created = services.cite_from_report(
        conversation=conversation, statement_id=last.pk, kind="consensus", group=None, actor=None
    )
    assert (again.pk, created) == (first.pk, False)
    assert Citation.objects.count() == 1
    # The same statement as a group's view is other evidence, and is cited.
    _group, created = services.cite_from_report(
        conversation=conversation, statement_id=last.pk, kind="group", group=0, actor=None
    )
    assert created
    assert Citation.objects.count() == 2
    # New figures make a new citation: the old one keeps what it said then. (Figures are
    # published anew only once the threshold of people changed their votes.)
    step = conversation.community.small_group_threshold
    gone = Vote.objects.filter(statement=last).order_by("pk")[:step]
    Vote.objects.filter(pk__in=[v.pk for v in gone]).delete()
    services.compute_now(conversation=conversation)
    changed, created = services.cite_from_report(
        conversation=conversation, statement_id=last.pk, kind="consensus", group=None, actor=None
    )
    assert created
    assert changed.snapshot["votes"] == 20 - step
    assert Citation.objects.count() == 3


@pytest.mark.parametrize(
    ("kind", "group", "threshold", "other_conversation"),
    [
        ("consensus", None, 50, False),  # too few votes for the threshold
        ("group", 0, 11, False),  # group of 10 below the threshold
        ("group", 5, 5, False),  # no such group
        ("consensus", None, 5, True),  # a statement of another conversation
    ],
)
def test_cite_from_report_refuses_what_the_results_do_not_support(
    kind: str, group: int | None, threshold: int, other_conversation: bool
) -> None:
    conversation, last = _computed()
    conversation.community.small_group_threshold = threshold
    conversation.community.save(update_fields=["small_group_threshold"])
    statement_id = StatementFactory.create().pk if other_conversation else last.pk
    with pytest.raises(ServiceError, match="cannot be cited"):
        services.cite_from_report(
            conversation=conversation,
            statement_id=statement_id,
            kind=kind,
            group=group,
            actor=None,
        )
    assert Citation.objects.count() == 0


def test_a_refused_statement_does_not_leave_a_new_participant_behind() -> None:
    conversation = ConversationFactory.create()
    StatementFactory.create(conversation=conversation, text="Scanner data must be deleted")
    with pytest.raises(ServiceError, match="already written"):
        services.add_statement_as(
            conversation=conversation,
            participant_id=None,
            user=None,
            text="Scanner data must be deleted!",
        )
    assert Participant.objects.count() == 0
    statement, joined = services.add_statement_as(
        conversation=conversation, participant_id=None, user=None, text="Breaks are not idle time"
    )
    assert joined is not None
    assert statement.author == joined
    again, rejoined = services.add_statement_as(
        conversation=conversation, participant_id=joined.pk, user=None, text="Night shift too"
    )
    assert rejoined is None
    assert again.author == joined
    assert Participant.objects.count() == 1


def test_demo_seed_inserts_in_bulk_and_computes_the_map() -> None:
    community = CommunityFactory.create()
    with CaptureQueriesContext(connection) as captured:
        seed_demo(community, "warehouse")
    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    # Conversation, map row, statements, participants, votes (chunked by the backend):
    # a handful, not one per participant or vote.
    assert len(inserts) < 15
    conversation = Conversation.objects.get(community=community, topic=TOPIC)
    participants = sum(size for _camp, size in CAMPS)
    assert Participant.objects.filter(conversation=conversation).count() == participants
    assert Statement.objects.filter(conversation=conversation).count() == len(STATEMENTS) + 1
    votes = Vote.objects.filter(participant__conversation=conversation).count()
    assert 0.7 * participants * len(STATEMENTS) < votes < participants * len(STATEMENTS)
    result = OpinionMapResult.objects.get(conversation=conversation)
    assert result.vote_count == votes
    assert result.data["k"] >= 2
    seed_demo(community, "warehouse")  # a second run adds nothing
    assert Conversation.objects.filter(community=community).count() == 1
