"""Services: setting up, joining, voting, moderation, debounced recompute, citations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from sayso.accounts.tests.factories import UserFactory
from sayso.core.models import Citation
from sayso.core.services import ServiceError
from sayso.deliberation import selectors, services
from sayso.deliberation.models import Conversation, OpinionMapResult, Participant, Statement, Vote

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, planted

pytestmark = pytest.mark.django_db


def test_create_conversation_with_seed_statements_numbers_them() -> None:
    community = ConversationFactory.create().community
    conversation = services.create_conversation(
        conversation=Conversation(topic="What should happen to scanner data?"),
        community=community,
        actor=UserFactory.create(),
        seed_statements=["Delete it after 30 days.", "Tell us what is recorded."],
    )
    assert list(conversation.statements.values_list("number", "text", "state", "kind")) == [
        (0, "Delete it after 30 days.", "accepted", "seed"),
        (1, "Tell us what is recorded.", "accepted", "seed"),
    ]
    assert OpinionMapResult.objects.filter(conversation=conversation).exists()


def test_code_access_needs_a_batch() -> None:
    community = ConversationFactory.create().community
    with pytest.raises(ServiceError, match="invitation codes"):
        services.create_conversation(
            conversation=Conversation(topic="A question?", access=Conversation.Access.CODES),
            community=community,
            actor=None,
        )


def test_anonymous_participant_stores_no_user_and_only_a_date() -> None:
    conversation = ConversationFactory.create(anonymous=True)
    participant = services.join(conversation=conversation, user=UserFactory.create())
    assert participant.user is None
    assert isinstance(participant.joined_on, dt.date)
    assert not isinstance(participant.joined_on, dt.datetime)
    fields = {f.name for f in Participant._meta.get_fields()}
    assert not fields & {"ip", "ip_address", "created_at", "user_agent"}
    statement = StatementFactory.create(conversation=conversation)
    services.cast_vote(
        conversation=conversation, participant=participant, statement_id=statement.pk, value=1
    )
    vote = Vote.objects.get()
    assert type(vote.created_on) is dt.date
    assert {f.name for f in Vote._meta.get_fields()} == {
        "id",
        "participant",
        "statement",
        "value",
        "created_on",
    }


def test_member_participation_links_the_user_once() -> None:
    conversation = ConversationFactory.create(anonymous=False, access=Conversation.Access.MEMBERS)
    user = UserFactory.create()
    first = services.join(conversation=conversation, user=user)
    again = services.join(conversation=conversation, user=user)
    assert first == again
    assert first.user == user


def test_voting_again_changes_the_vote_and_keeps_one_row() -> None:
    conversation = ConversationFactory.create()
    participant = ParticipantFactory.create(conversation=conversation)
    statement = StatementFactory.create(conversation=conversation)
    for value in (1, -1):
        services.cast_vote(
            conversation=conversation,
            participant=participant,
            statement_id=statement.pk,
            value=value,
        )
    assert list(Vote.objects.values_list("value", flat=True)) == [-1]


def test_closed_conversation_refuses_votes_and_joins() -> None:
    conversation = ConversationFactory.create(state=Conversation.State.CLOSED)
    participant = ParticipantFactory.create(conversation=conversation)
    statement = StatementFactory.create(conversation=conversation)
    with pytest.raises(services.VoteRefused, match="closed"):
        services.cast_vote(
            conversation=conversation, participant=participant, statement_id=statement.pk, value=1
        )
    with pytest.raises(ServiceError, match="closed"):
        services.join(conversation=conversation)
    assert Vote.objects.count() == 0


def test_cannot_vote_on_rejected_or_pending_or_foreign_statements() -> None:
    conversation = ConversationFactory.create(moderation=Conversation.Moderation.PRE)
    participant = ParticipantFactory.create(conversation=conversation)
    pending = StatementFactory.create(conversation=conversation, state=Statement.State.PENDING)
    foreign = StatementFactory.create()
    for statement in (pending, foreign):
        with pytest.raises(services.VoteRefused, match="not part"):
            services.cast_vote(
                conversation=conversation,
                participant=participant,
                statement_id=statement.pk,
                value=1,
            )


def test_participant_statement_waits_for_pre_moderation_and_refuses_duplicates() -> None:
    conversation = ConversationFactory.create(moderation=Conversation.Moderation.PRE)
    StatementFactory.create(conversation=conversation, text="Delete scanner data after 30 days.")
    participant = ParticipantFactory.create(conversation=conversation)
    added = services.add_participant_statement(
        conversation=conversation,
        participant=participant,
        text="  Night   shift needs its own meeting ",
    )
    assert (added.text, added.state, added.author) == (
        "Night shift needs its own meeting",
        "pending",
        participant,
    )
    with pytest.raises(ServiceError, match="already written"):
        services.add_participant_statement(
            conversation=conversation,
            participant=participant,
            text="delete SCANNER data, after 30 days!",
        )


def test_participants_cannot_add_when_not_allowed() -> None:
    conversation = ConversationFactory.create(participants_can_add=False)
    with pytest.raises(ServiceError, match="only the organisers"):
        services.add_participant_statement(
            conversation=conversation,
            participant=ParticipantFactory.create(conversation=conversation),
            text="Something new to say",
        )


def test_bulk_moderation_accepts_and_rejects() -> None:
    conversation = ConversationFactory.create()
    a, b = StatementFactory.create_batch(2, conversation=conversation, state="pending")
    other = StatementFactory.create(state="pending")
    changed = services.moderate(
        conversation=conversation, statement_ids=[a.pk, b.pk, other.pk], accept=False, actor=None
    )
    assert changed == 2
    assert set(Statement.objects.filter(state="rejected").values_list("pk", flat=True)) == {
        a.pk,
        b.pk,
    }


def test_moderation_queue_hints_duplicates_spam_and_pass_rates() -> None:
    conversation = ConversationFactory.create()
    first = StatementFactory.create(
        conversation=conversation, number=0, text="Delete the data monthly"
    )
    dup = StatementFactory.create(
        conversation=conversation, number=1, text="delete the data, MONTHLY", state="pending"
    )
    spam = StatementFactory.create(
        conversation=conversation,
        number=2,
        text="BUY CHEAP WATCHES NOW https://x.example",
        state="pending",
    )

    def vote(*values: int) -> None:
        for value in values:
            Vote.objects.create(
                participant=ParticipantFactory.create(conversation=conversation),
                statement=first,
                value=value,
                created_on=dt.date.today(),
            )

    def queue(state: str) -> list[selectors.QueueItem]:
        counts = selectors.published_counts(conversation, threshold=5)
        return selectors.moderation_queue(conversation, state, counts)

    vote(0, 0, 1, -1)
    pending = {item.statement.pk: item for item in queue("pending")}
    # Stored as number 0; shown to organisers as statement 1 (their pages count from 1).
    assert pending[dup.pk].hints == ("Same words as statement 1",)
    assert "Contains a link" in pending[spam.pk].hints
    assert "Mostly capital letters" in pending[spam.pk].hints
    # Votes and pass rates are the published map's, never the live votes: none yet.
    assert [(i.counted, i.has_votes) for i in queue("accepted")] == [(selectors.NOT_COUNTED, True)]
    assert not pending[dup.pk].has_votes
    services.compute_now(conversation=conversation)
    # Published, but only 4 votes: fewer than the threshold, as the report says.
    assert [i.counted for i in queue("accepted")] == [selectors.Counted(in_map=True, too_few=True)]
    # Six more people (5 agree, 1 passes): 3 passes of 10 is a count the report hides.
    vote(1, 1, 1, 1, 1, 0)
    services.compute_now(conversation=conversation)
    assert [i.counted for i in queue("accepted")] == [
        selectors.Counted(in_map=True, votes=10, pass_rate=None)
    ]
    # Five more who pass: 8 of 15 pass, shown; the one disagree vote is hidden (with the
    # 6 agree votes, so that it cannot be worked out from the total), as on the report.
    vote(0, 0, 0, 0, 0)
    services.compute_now(conversation=conversation)
    (item,) = queue("accepted")
    assert (item.counted.votes, item.counted.pass_rate) == (15, 53)


def test_votes_queue_one_recompute_per_window(
    monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = ConversationFactory.create()
    statements = StatementFactory.create_batch(3, conversation=conversation)
    queued: list[tuple[int, int]] = []
    monkeypatch.setattr(services, "_enqueue", lambda pk, delay: queued.append((pk, delay)))
    with django_capture_on_commit_callbacks(execute=True):
        for statement in statements:
            services.cast_vote(
                conversation=Conversation.objects.get(pk=conversation.pk),
                participant=ParticipantFactory.create(conversation=conversation),
                statement_id=statement.pk,
                value=1,
            )
    assert queued == [(conversation.pk, services.recompute_seconds())]
    # After the window, the next vote queues again.
    OpinionMapResult.objects.update(requested_at=timezone.now() - dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        services.cast_vote(
            conversation=Conversation.objects.get(pk=conversation.pk),
            participant=ParticipantFactory.create(conversation=conversation),
            statement_id=statements[0].pk,
            value=-1,
        )
    assert len(queued) == 2


def test_compute_now_finds_planted_groups_and_consensus() -> None:
    conversation = ConversationFactory.create()
    planted(conversation, groups=2, size=10, statements=8)
    result = services.compute_now(conversation=conversation)
    assert result.vote_count == 160
    assert sorted(result.data["group_sizes"].values()) == [10, 10]
    view = selectors.map_view(result, threshold=5)
    assert view is not None
    assert len(view.groups) == 2
    last = Statement.objects.get(conversation=conversation, number=7)
    consensus = [int(c["statement"]) for c in result.data["consensus"]["agree"]]
    assert last.pk in consensus
    assert set(result.priority) == {
        str(pk)
        for pk in Statement.objects.filter(conversation=conversation).values_list("pk", flat=True)
    }
    assert result.requested_at is None


def test_small_groups_are_not_shown() -> None:
    conversation = ConversationFactory.create()
    planted(conversation, groups=2, size=10, statements=8)
    result = services.compute_now(conversation=conversation)
    view = selectors.map_view(result, threshold=11)
    assert view is not None
    assert view.groups == []
    assert view.hidden_groups == 2


def test_routing_prefers_high_priority_and_skips_voted() -> None:
    import random

    routing = selectors.build_routing(
        Conversation(public_token="t"),
        [(1, "one"), (2, "two"), (3, "three")],
        {"1": 1000.0, "2": 1.0},
    )
    rng = random.Random(1)
    picks = [selectors.next_statement(routing, {3}, rng) for _ in range(200)]
    assert picks.count(1) > 190
    assert 3 not in picks
    # Statements the map has not seen yet get the novelty priority, not 1.
    assert pytest.approx(5.0625) == selectors.UNSEEN_PRIORITY
    assert routing.weights == (1000.0, 1.0, selectors.UNSEEN_PRIORITY)
    assert selectors.next_statement(routing, {1, 2, 3}) is None
    assert selectors.progress(routing, {3, 99}) == selectors.Progress(voted=1, total=3)


def test_routing_draws_among_unvoted_in_proportion_when_the_heavy_one_is_voted() -> None:
    import random

    # Rejection sampling keeps failing on statement 1, so the exact draw decides:
    # statements 2 and 3 must come out about 1 : 3.
    routing = selectors.build_routing(
        Conversation(public_token="t"),
        [(1, "one"), (2, "two"), (3, "three")],
        {"1": 1e9, "2": 1.0, "3": 3.0},
    )
    rng = random.Random(7)
    picks = [selectors.next_statement(routing, {1}, rng) for _ in range(4000)]
    assert 1 not in picks
    assert 0.7 < picks.count(3) / len(picks) < 0.8


def test_cite_consensus_statement_snapshots_figures() -> None:
    conversation = ConversationFactory.create()
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    last = Statement.objects.get(conversation=conversation, number=7)
    snapshot = selectors.citation_snapshot(conversation, last, "consensus", None, 5)
    assert snapshot is not None
    assert (snapshot["agree_percent"], snapshot["votes"], snapshot["kind"]) == (
        100,
        20,
        "consensus",
    )
    citation = services.cite_statement(
        conversation=conversation,
        statement=last,
        evidence_type=services.EVIDENCE_CONSENSUS,
        snapshot=snapshot,
        actor=None,
    )
    assert Citation.objects.get() == citation
    assert citation.source == last
    # A group statement of a group too small to show cannot be cited.
    assert selectors.citation_snapshot(conversation, last, "group", 0, 50) is None


def test_a_row_is_citable_when_its_votes_and_the_share_it_is_cited_for_are_shown() -> None:
    figures = selectors.Figures
    # 86 % of 58 agreed, fewer than 5 disagreed: evidence that most people agree.
    assert figures(86, None, 58).citable("agree")
    assert not figures(86, None, 58).citable("disagree")
    assert figures(None, 56, 27).citable("disagree")
    assert not figures(None, 56, 27).citable("agree")
    # With the votes hidden a share says nothing of how many.
    assert not figures(86, 10, None).citable("agree")
    assert not figures(86, 10, None).citable(None)
    # No direction: either shown share will do, but not none.
    assert figures(None, 0, 12).citable(None)
    assert figures(40, None, 12).citable(None)
    assert not figures(None, None, 12).citable(None)
    assert not selectors.HIDDEN.citable("agree")
    assert figures(50, 50, 12).citable("agree")
    assert figures(50, 50, 12).citable("disagree")
