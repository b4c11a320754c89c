"""State changes for conversations: set-up, joining, voting, moderation, opinion maps,
Polis import and export, and citations.

Every function is keyword-only, opens its own transaction and defers side effects (the
opinion-map recompute) with `transaction.on_commit`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import random
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import CharField, Count, F, Max, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from sayso.analysis.opinion_map import (
    Consensus,
    OpinionMap,
    PolisExport,
    PolisImportError,
    StatementStats,
    Votes,
    compute_opinion_map,
    opinion_map_to_dict,
    read_polis_export,
)
from sayso.analysis.opinion_map.polis_io import (
    PARTICIPANTS_FIXED,
    SUMMARY,
    SUMMARY_DESCRIPTION,
    SUMMARY_MAX_BYTES,
    SUMMARY_TOPIC,
    VOTES_HEADER,
    PolisNotTextError,
    PolisStatement,
    PolisSummary,
    check_export_start,
    read_summary,
    statement_line,
)
from sayso.core.models import AuditEvent, Citation, Community
from sayso.core.services import ServiceError, cite, find_citation, record, redeem_code
from sayso.core.spreadsheet import guard_formula, unguard_formula
from sayso.core.text import without_direction_controls

from . import selectors
from .models import (
    CODES_ARE_ANONYMOUS,
    STATEMENT_MAX_LENGTH,
    Conversation,
    MemberJoined,
    OpinionMapResult,
    Participant,
    PolisImport,
    PublishedCopy,
    PublishedVotes,
    Statement,
    Vote,
    changed_participants,
    normalise_text,
    vote_digests,
)
from .personal_details import personal_details
from .statement_text import MIN_WORD_CHARACTERS, has_words, visible_text

EVIDENCE_CONSENSUS = "deliberation.consensus"
EVIDENCE_GROUP_STATEMENT = "deliberation.group_statement"
EVIDENCE_TYPES = (EVIDENCE_CONSENSUS, EVIDENCE_GROUP_STATEMENT)


def recompute_seconds() -> int:
    """Debounce window: at most one recompute is queued per conversation per window."""
    return int(getattr(settings, "SAYSO", {}).get("DELIBERATION_RECOMPUTE_SECONDS", 10))


# --- setting up ----------------------------------------------------------------------


# Asked of every statement: a participant's, a seed, an organiser's edit (and of the
# statements an import would show, _check_imported_statements).
NEEDS_WORDS = gettext_lazy(
    "Write your statement in words: use at least %(n)s letters or numbers. Emoji,"
    " symbols and spaces alone cannot be voted on."
)


# Direction controls (core.text) are taken out of a statement: they could make it read
# one way in the moderation queue and the report and say another. So are characters
# that show nothing (statement_text): a statement of them was a blank card.
def _clean_statement_text(text: str) -> str:
    cleaned = visible_text(without_direction_controls(text))
    if not has_words(cleaned):
        raise ServiceError(str(NEEDS_WORDS) % {"n": MIN_WORD_CHARACTERS})
    if len(cleaned) > STATEMENT_MAX_LENGTH:
        raise ServiceError(
            _("Keep a statement to %(n)s characters so it reads well on a phone.")
            % {"n": STATEMENT_MAX_LENGTH}
        )
    return cleaned


def _next_number(conversation: Conversation, model: type[Statement] | type[Participant]) -> int:
    current = model.objects.filter(conversation=conversation).aggregate(n=Max("number"))["n"]
    return 0 if current is None else current + 1


def _lock(conversation: Conversation) -> str | None:
    """Serialise numbering of statements and participants within one conversation;
    returns the conversation's current state, read under the lock.

    NO KEY UPDATE: votes referencing other rows are not blocked. (SQLite takes the write
    lock at BEGIN anyway: transaction_mode IMMEDIATE.)"""
    return (
        Conversation.objects.select_for_update(no_key=True)
        .filter(pk=conversation.pk)
        .values_list("state", flat=True)
        .first()
    )


def _changed(conversation: Conversation) -> None:
    """What participants are routed to changed: drop this process's cached routing at
    once (other processes reload theirs within selectors.ROUTING_SECONDS)."""
    transaction.on_commit(lambda: selectors.forget_routing(conversation))
    selectors.forget_routing(conversation)


@transaction.atomic
def create_conversation(
    *,
    conversation: Conversation,
    community: Community,
    actor: Any,
    seed_statements: Iterable[str] = (),
) -> Conversation:
    conversation.community = community
    conversation.created_by = actor if getattr(actor, "is_authenticated", False) else None
    _check_settings(conversation)
    conversation.full_clean()
    conversation.save()
    OpinionMapResult.objects.create(conversation=conversation)
    for text in seed_statements:
        # A line of nothing visible (zero-width spaces pasted with a list) is blank.
        if visible_text(text):
            add_seed_statement(conversation=conversation, text=text, actor=actor)
    return conversation


def _check_settings(conversation: Conversation) -> None:
    if conversation.access == Conversation.Access.CODES:
        batch = conversation.code_batch
        if batch is None:
            raise ServiceError(_("Choose which invitation codes let people take part."))
        if batch.community_id != conversation.community_id:
            raise ServiceError(_("Those invitation codes belong to another community."))
        if not conversation.anonymous:
            raise ServiceError(str(CODES_ARE_ANONYMOUS))
    if (
        conversation.data_practice_id
        and conversation.data_practice.community_id != conversation.community_id  # type: ignore[union-attr]
    ):
        raise ServiceError(_("That data practice belongs to another community."))


# Settings that make a promise to the people who take part: who can (and so whether
# one person can come back as a second participant) and whether their votes are linked
# to them. Once anyone has joined, the promise they joined under must stay true.
PROMISED_SETTINGS = ("anonymous", "access", "code_batch_id")
PROMISE_FIXED = gettext_lazy(
    "People have already joined, so who can take part and whether votes are anonymous"
    " can no longer change: the promise made to them must stay true."
)


def anyone_joined(conversation: Conversation) -> bool:
    return Participant.objects.filter(conversation=conversation).exists()


@transaction.atomic
def update_conversation(*, conversation: Conversation, actor: Any) -> Conversation:
    """Save the conversation's settings. Once anyone has joined, `PROMISED_SETTINGS`
    are refused if changed (read again under the conversation's lock, so that a join
    just before cannot slip between the check and the save) and nothing is saved."""
    _lock(conversation)
    stored = (
        Conversation.objects.filter(pk=conversation.pk).values(*PROMISED_SETTINGS).first() or {}
    )
    if any(getattr(conversation, name) != stored.get(name) for name in PROMISED_SETTINGS) and (
        anyone_joined(conversation)
    ):
        raise ServiceError(str(PROMISE_FIXED))
    _check_settings(conversation)
    conversation.full_clean()
    conversation.save()
    _changed(conversation)
    return conversation


def voters(conversation: Conversation) -> int:
    """How many participants have voted at least once."""
    return (
        Vote.objects.filter(participant__conversation=conversation)
        .values("participant_id")
        .distinct()
        .count()
    )


@transaction.atomic
def set_state(*, conversation: Conversation, open: bool, actor: Any) -> Conversation:
    """Put the conversation in the target state; a repeat (a double submit) changes nothing."""
    target = Conversation.State.OPEN if open else Conversation.State.CLOSED
    if _lock(conversation) == target:
        conversation.state = target
        return conversation
    conversation.state = Conversation.State.OPEN if open else Conversation.State.CLOSED
    conversation.closed_on = None if open else timezone.localdate()
    conversation.save(update_fields=["state", "closed_on"])
    _changed(conversation)
    if not open:
        # The final map should include every vote; queue it now rather than wait.
        _queue_recompute(conversation, force=True)
    return conversation


def same_words(conversation: Conversation, normalised: str) -> Statement | None:
    """The earliest statement of the conversation with the same words (`normalise_text`:
    case, spacing and punctuation aside), rejected ones left out; None when there is
    none. Two such statements would split the votes on one idea between them.

    An empty normalised text (a statement of emoji, stored before statements needed
    words, or imported) is nobody's duplicate: it holds no words to compare."""
    if not normalised:
        return None
    return (
        Statement.objects.filter(conversation=conversation, normalised=normalised)
        .exclude(state=Statement.State.REJECTED)
        .order_by("number")
        .only("pk", "number", "state")
        .first()
    )


class ClosedRefused(ServiceError):  # noqa: N818 (reads as the outcome)
    """The conversation is closed: nothing more can be added to it."""


SEEDS_CLOSED = gettext_lazy(
    "This conversation is closed, so statements can no longer be added. Reopen it to add one."
)


@transaction.atomic
def add_seed_statement(
    *, conversation: Conversation, text: str, actor: Any, is_meta: bool = False
) -> Statement:
    """An organiser's statement, accepted at once. Refused in a closed conversation
    (ClosedRefused, its state read under the lock, whatever the caller's copy says):
    nobody can vote on it there, and a statement added after closing would sit in the
    results as if people had been able to."""
    if _lock(conversation) != Conversation.State.OPEN:
        raise ClosedRefused(str(SEEDS_CLOSED))
    cleaned = _clean_statement_text(text)
    normalised = normalise_text(cleaned)
    original = same_words(conversation, normalised)
    if original is not None:
        raise ServiceError(
            # Shown numbers count from 1; stored ones from 0, as Polis's ids do.
            _("Statement %(n)s already says the same thing: keep one.") % {"n": original.number + 1}
        )
    _changed(conversation)
    return Statement.objects.create(
        conversation=conversation,
        number=_next_number(conversation, Statement),
        text=cleaned,
        normalised=normalised,
        kind=Statement.Kind.SEED,
        state=Statement.State.ACCEPTED,
        is_meta=is_meta,
        created_on=timezone.localdate(),
    )


@transaction.atomic
def add_participant_statement(
    *, conversation: Conversation, participant: Participant, text: str
) -> Statement:
    if not conversation.is_open:
        raise ServiceError(_("This conversation has closed, so no new statements can be added."))
    if not conversation.participants_can_add:
        raise ServiceError(_("In this conversation only the organisers add statements."))
    cleaned = _clean_statement_text(text)
    normalised = normalise_text(cleaned)
    found = same_words(conversation, normalised)
    if found is not None:
        if found.state == Statement.State.HELD or (
            found.state == Statement.State.PENDING
            and conversation.moderation == Conversation.Moderation.PRE
        ):
            # Not shown to anyone yet: answered as if it were new (it waits for an
            # organiser all the same), since "someone has already written this" would
            # let anyone confirm the words of a statement kept back, a name in it, say.
            return found
        raise ServiceError(
            _("Someone has already written this statement. You can vote on it instead.")
        )
    _lock(conversation)
    _changed(conversation)
    if conversation.moderation == Conversation.Moderation.PRE:
        state = Statement.State.PENDING
    elif personal_details(cleaned):
        # Shown straight away, it could name a manager or a colleague to everyone before
        # anyone checked it: an organiser sees it first (the hint is only a hint).
        state = Statement.State.HELD
    else:
        state = Statement.State.ACCEPTED
    return Statement.objects.create(
        conversation=conversation,
        number=_next_number(conversation, Statement),
        text=cleaned,
        normalised=normalised,
        kind=Statement.Kind.PARTICIPANT,
        state=state,
        author=participant,
        created_on=timezone.localdate(),
    )


# --- taking part ---------------------------------------------------------------------


@transaction.atomic
def join(*, conversation: Conversation, user: Any = None, token: str = "") -> Participant:
    """A new pseudonymous participant. `user`, the person signed in, is linked only when
    the conversation is not anonymous; an anonymous participant records nothing but the
    date. In an anonymous members-only conversation, that the member joined is recorded
    apart (MemberJoined, with no link to the participant), and a second join refused:
    otherwise each new browser or sign-in would be one more voice.

    `token` is the random key of the page the person joins from: joining twice with one
    token (a double click on the first vote) gives the same participant. Only its
    digest is kept, which links the participant to nothing but that page."""
    if not conversation.is_open:
        raise ServiceError(_("This conversation has closed. You can still read its results."))
    linked = (
        user if (not conversation.anonymous and getattr(user, "is_authenticated", False)) else None
    )
    if linked is not None:
        existing = Participant.objects.filter(conversation=conversation, user=linked).first()
        if existing is not None:
            return existing
    if _lock(conversation) != Conversation.State.OPEN:
        # Checked again under the lock: the caller's copy may be a cached one.
        raise ServiceError(_("This conversation has closed. You can still read its results."))
    digest = Participant.digest_of(token) if token else ""
    if digest:
        # Read under the conversation's lock: a join with the same token that got there
        # first has committed by now.
        same = Participant.objects.filter(conversation=conversation, join_digest=digest).first()
        if same is not None:
            return same
    if (
        conversation.anonymous
        and conversation.access == Conversation.Access.MEMBERS
        and getattr(user, "is_authenticated", False)
    ):
        # Under the conversation's lock, so two browsers joining at once are serialised.
        if MemberJoined.objects.filter(conversation=conversation, user=user).exists():
            raise ServiceError(
                _(
                    "You have already joined this conversation, in another browser or "
                    "before signing in again. Each member takes part once, and your votes "
                    "are anonymous, so Sayso cannot bring them here: carry on where you "
                    "started."
                )
            )
        MemberJoined.objects.create(conversation=conversation, user=user)
    return Participant.objects.create(
        conversation=conversation,
        number=_next_number(conversation, Participant),
        user=linked,
        joined_on=timezone.localdate(),
        join_digest=digest,
    )


@transaction.atomic
def join_with_code(*, conversation: Conversation, raw_code: str) -> Participant | None:
    """Redeem an invitation code and join, all or nothing. The conversation is checked
    open under its row lock first, so a closed conversation never uses up a code.
    None when the code is not valid or already used."""
    if _lock(conversation) != Conversation.State.OPEN:
        raise ServiceError(_("This conversation has closed. You can still read its results."))
    batch = conversation.code_batch
    if batch is None or not redeem_code(batch=batch, raw_code=raw_code, activity=conversation):
        return None
    return join(conversation=conversation)


class VoteRefused(ServiceError):  # noqa: N818 (reads as the outcome)
    pass


def _upsert_vote_sql() -> str:
    """One statement that records a vote only if, at that moment, the conversation is open,
    the statement is shown in it (pre-moderation: accepted; post: not rejected) and the
    participant belongs to it; a second vote on the statement replaces the first.

    The checks run inside the write, so a cached view of the conversation (the routing
    state of selectors) can never let a vote into a closed conversation. INSERT ... ON
    CONFLICT DO UPDATE reads the same on SQLite (3.24+) and PostgreSQL."""
    vote, statement, conversation, participant = (
        m._meta.db_table for m in (Vote, Statement, Conversation, Participant)
    )
    return (
        f"INSERT INTO {vote} (participant_id, statement_id, value, created_on) "  # noqa: S608 (table names from the models)
        "SELECT %s, %s, %s, %s WHERE EXISTS ("
        f"SELECT 1 FROM {statement} s INNER JOIN {conversation} c ON c.id = s.conversation_id "
        "WHERE s.id = %s AND c.id = %s AND c.state = %s "
        "AND (s.state = %s OR (s.state = %s AND c.moderation = %s))"
        f") AND EXISTS (SELECT 1 FROM {participant} p WHERE p.id = %s AND p.conversation_id = %s) "
        "ON CONFLICT (participant_id, statement_id) "
        "DO UPDATE SET value = excluded.value, created_on = excluded.created_on"
    )


_UPSERT_VOTE = _upsert_vote_sql()
_sqlite_writer = threading.Lock()


def _write_turn() -> AbstractContextManager[object]:
    """On SQLite, this process's threads take turns to write a vote.

    SQLite has one writer at a time, and a connection that finds the database locked
    sleeps in its busy handler (1 ms, then 2, 5, 10 ...) however soon the lock is freed.
    A thread lock wakes the next writer the moment the last one is done, so only server
    processes still meet the busy handler. (An flock across processes as well measured
    no better with 2 workers.) Not inside a transaction: a thread that already holds
    SQLite's lock must not wait for one that waits for it."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "sqlite" and db.get_autocommit():
        return _sqlite_writer
    return nullcontext()


def cast_vote(
    *,
    conversation: Conversation,
    participant: Participant | int,
    statement_id: int,
    value: int,
) -> None:
    """Record (or change) one vote. A second submit of the same vote, even at the same
    moment, leaves one row: the insert is an upsert on (participant, statement).

    One statement in autocommit (it is atomic by itself); the reason for a refusal is
    looked up only when the database refused."""
    if value not in (1, -1, 0):
        raise VoteRefused(_("Choose agree, disagree or pass."))
    participant_id = participant if isinstance(participant, int) else participant.pk
    with _write_turn(), connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_VOTE,
            [
                participant_id,
                statement_id,
                value,
                timezone.localdate(),
                statement_id,
                conversation.pk,
                Conversation.State.OPEN,
                Statement.State.ACCEPTED,
                Statement.State.PENDING,
                Conversation.Moderation.POST,
                participant_id,
                conversation.pk,
            ],
        )
        recorded = cursor.rowcount > 0
    if not recorded:
        state = Conversation.objects.filter(pk=conversation.pk).values_list("state", flat=True)
        if state.first() != Conversation.State.OPEN:
            raise VoteRefused(_("This conversation has closed, so votes are no longer counted."))
        if not Participant.objects.filter(pk=participant_id, conversation=conversation).exists():
            raise VoteRefused(_("You need to join this conversation before you can vote."))
        raise VoteRefused(_("That statement is not part of this conversation any more."))
    _queue_recompute(conversation)


@transaction.atomic
def join_and_vote(
    *, conversation: Conversation, user: Any, token: str, statement_id: int, value: int
) -> Participant:
    """A first vote: join (as `join`) and vote, all or nothing. A refused vote (the
    statement rejected or the conversation closed since the page was loaded) leaves no
    new participant, who would count among the people who joined with no vote.

    In one transaction, where `_write_turn` is a nullcontext: on SQLite the write lock
    is taken at BEGIN (transaction_mode IMMEDIATE) and held to the end."""
    joined = join(conversation=conversation, user=user, token=token)
    cast_vote(conversation=conversation, participant=joined, statement_id=statement_id, value=value)
    return joined


@transaction.atomic
def add_statement_as(
    *, conversation: Conversation, participant_id: int | None, user: Any, text: str
) -> tuple[Statement, Participant | None]:
    """A participant's statement, joining them first when they have not joined yet
    (all or nothing: a refused statement leaves no new participant). Returns the
    statement and the participant who joined, or None when they had joined already."""
    participant = (
        Participant.objects.filter(pk=participant_id, conversation=conversation).first()
        if participant_id is not None
        else None
    )
    joined = None
    if participant is None:
        # join links the account only when the conversation is not anonymous.
        participant = joined = join(conversation=conversation, user=user)
    statement = add_participant_statement(
        conversation=conversation, participant=participant, text=text
    )
    return statement, joined


def ensure_map_current(*, conversation: Conversation, result: OpinionMapResult | None) -> None:
    """A map stored by an older version lacks what the report now reads: queue its
    recompute (debounced like a vote's), so it is shown again shortly."""
    if result is not None and result.data and not result.is_current:
        _queue_recompute(conversation)


# --- moderation ----------------------------------------------------------------------


@transaction.atomic
def moderate(
    *,
    conversation: Conversation,
    statement_ids: Iterable[int],
    accept: bool,
    actor: Any,
    still: str | None = None,
) -> int:
    """Accept or reject the statements; returns how many changed. `still`: only those
    still in that state (the list the moderator ticked them in), so that a statement
    someone else checked since the page was loaded is left as they left it."""
    chosen = Statement.objects.filter(conversation=conversation, pk__in=list(statement_ids))
    if still is not None:
        chosen = chosen.filter(state=still)
    changed = chosen.update(state=Statement.State.ACCEPTED if accept else Statement.State.REJECTED)
    if changed:
        _changed(conversation)
        _queue_recompute(conversation, force=True)
    return changed


STATEMENT_EDITED = AuditEvent.Action.STATEMENT_EDITED


def edit_refusal(statement: Statement, *, has_votes: bool) -> str | None:
    """Why a moderator may not change this statement's words, or None when they may.

    Only while it waits for moderation and nobody has voted on it: a vote was cast on
    the words as they were, and changed words would make it a vote on something else."""
    if statement.state == Statement.State.ACCEPTED:
        return _(
            "This statement has been accepted already, so its words can no longer be"
            " changed. If it names someone, reject it."
        )
    if statement.state == Statement.State.REJECTED:
        return _(
            "This statement has been rejected. Only a statement waiting for moderation can"
            " be edited."
        )
    if has_votes:
        return _(
            "People have already voted on this statement, so its words can no longer be"
            " changed: their votes were on the words as written. If it names someone,"
            " reject it."
        )
    return None


@transaction.atomic
def edit_pending_statement(
    *, conversation: Conversation, statement_id: int, text: str, actor: Any
) -> Statement:
    """Change the words of a statement waiting for moderation that nobody has voted
    on, for example to take out a name before accepting it. Its number stays; the
    words are checked for length and duplicates as a new statement's are.

    Audit-logged without the old words (they may be the personal detail being taken
    out) or the new ones: the log says who changed which statement, and when."""
    _lock(conversation)
    # Locked, so that a vote cannot land between the check and the change (a vote
    # holds a key-share lock on its statement on PostgreSQL; SQLite serialises writes).
    statement = (
        Statement.objects.select_for_update()
        .filter(conversation=conversation, pk=statement_id)
        .first()
    )
    if statement is None:
        raise ServiceError(_("That statement is not in this conversation."))
    refusal = edit_refusal(statement, has_votes=statement.votes.exists())
    if refusal is not None:
        raise ServiceError(refusal)
    cleaned = _clean_statement_text(text)
    normalised = normalise_text(cleaned)
    original = same_words(conversation, normalised)
    if original is not None and original.pk != statement.pk:
        raise ServiceError(
            _("Statement %(n)s already says the same thing: keep one.") % {"n": original.number + 1}
        )
    if cleaned == statement.text:
        return statement
    statement.text = cleaned
    statement.normalised = normalised
    statement.save(update_fields=["text", "normalised"])
    record(
        community=conversation.community,
        actor=actor,
        action=STATEMENT_EDITED,
        summary=_(
            "%(person)s changed the words of statement %(n)s, waiting for moderation, in"
            " the conversation '%(topic)s'."
        )
        % {"person": actor, "n": statement.number + 1, "topic": conversation.topic},
        conversation=conversation.pk,
        statement=statement.pk,
    )
    # Under post-moderation a waiting statement is already shown: routing has its words.
    _changed(conversation)
    return statement


@transaction.atomic
def set_meta(*, conversation: Conversation, statement_id: int, is_meta: bool) -> None:
    Statement.objects.filter(conversation=conversation, pk=statement_id).update(is_meta=is_meta)
    _changed(conversation)
    _queue_recompute(conversation, force=True)


# --- the opinion map -----------------------------------------------------------------


def _queue_recompute(conversation: Conversation, *, force: bool = False) -> None:
    """Enqueue a recompute unless one was queued within the debounce window.

    A conditional UPDATE claims the window, so concurrent votes queue one task. The
    task runs after the window (where the backend can defer), so the burst of votes
    that triggered it is included."""
    now = timezone.now()
    window = dt.timedelta(seconds=recompute_seconds())
    cached = getattr(conversation, "_opinion_map_requested_at", None)
    if not force and cached is not None and cached > now - window:
        return
    pending = OpinionMapResult.objects.filter(conversation=conversation)
    if not force:
        pending = pending.filter(Q(requested_at__isnull=True) | Q(requested_at__lte=now - window))
    claimed = pending.update(requested_at=now)
    if not claimed and force:
        OpinionMapResult.objects.get_or_create(
            conversation=conversation, defaults={"requested_at": now}
        )
        claimed = 1
    conversation._opinion_map_requested_at = now  # type: ignore[attr-defined]
    if claimed:
        conversation_id = conversation.pk
        delay = 0 if force else recompute_seconds()
        transaction.on_commit(lambda: _enqueue(conversation_id, delay))


def _enqueue(conversation_id: int, delay: int) -> None:
    from .tasks import recompute_opinion_map

    task = recompute_opinion_map
    if delay and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + dt.timedelta(seconds=delay))
    task.enqueue(conversation_id=conversation_id)


def _vote_columns(conversation: Conversation) -> Votes:
    return _read_votes(conversation)[0]


# Votes read from the database at a time by a recompute.
VOTES_PER_READ = 20_000


def _read_votes(conversation: Conversation) -> tuple[Votes, np.ndarray | None]:
    """Every vote of the conversation as columns, and in a named conversation each
    vote's day (days since 1970-01-01; the export's votes.csv gives it), else None.

    SQLite keeps a date as its ISO text: it is read as that text and parsed by numpy a
    batch at a time, since Django's parsing date by date doubled the read (2 million
    votes: 4.5 s against 1.9 s without days, 2.4 s so)."""
    rows = Vote.objects.filter(participant__conversation=conversation).order_by()
    if conversation.anonymous:
        flat = np.fromiter(
            (
                x
                for row in rows.values_list("participant_id", "statement_id", "value").iterator(
                    chunk_size=VOTES_PER_READ
                )
                for x in row
            ),
            dtype=np.int64,
        ).reshape(-1, 3)
        days = None
    else:
        sqlite = connections[rows.db].vendor == "sqlite"
        day = Cast("created_on", CharField()) if sqlite else F("created_on")
        batches: list[np.ndarray] = []
        batch: list[Any] = []

        def columns() -> Iterator[int]:
            for participant, statement, value, on in (
                rows.annotate(day=day)
                .values_list("participant_id", "statement_id", "value", "day")
                .iterator(chunk_size=VOTES_PER_READ)
            ):
                batch.append(on)
                if len(batch) == VOTES_PER_READ:
                    batches.append(np.array(batch, dtype="datetime64[D]"))
                    batch.clear()
                yield participant
                yield statement
                yield value

        flat = np.fromiter(columns(), dtype=np.int64).reshape(-1, 3)
        batches.append(np.array(batch, dtype="datetime64[D]"))
        days = np.concatenate(batches).astype(np.int64).astype(np.int32)
    votes = Votes(
        np.ascontiguousarray(flat[:, 0]),
        np.ascontiguousarray(flat[:, 1]),
        flat[:, 2].astype(np.int8),
        None,
    )
    return votes, days


def store_recomputed(
    *,
    conversation: Conversation,
    votes: Votes,
    published: dict[str, Any],
    days: np.ndarray | None = None,
) -> OpinionMapResult:
    """Store a recomputed map (compute_now): all of it (`published`: data, priority,
    vote_count, computed_at, warm_start) only when `publication_due`. Otherwise readers,
    and routing, keep the version published last. Its routing priorities are stored as
    `_routing_priority` says.

    Which participants changed is worked out from the vote matrix the recompute read
    (`votes`), against the digests kept for the published version. A publication also
    keeps a copy of exactly the votes it holds (PublishedVotes, with `days`, each
    vote's day in a named conversation), which the export writes."""
    current = vote_digests(votes.participant, votes.statement, votes.value)
    with transaction.atomic():
        stored = (
            OpinionMapResult.objects.select_for_update()
            .filter(conversation=conversation)
            .defer("warm_start")
            .first()
        )
        earlier = stored.published_digests() if stored is not None else None
        legacy = stored is not None and stored.is_current and stored.data.get("statements")
        known = (
            stored is not None
            and PublishedVotes.objects.filter(result=stored, arrays__isnull=False).exists()
        )
        rebuilt = False
        if earlier is None and legacy:
            # A map published before digests were kept (or with digests of another
            # scheme): the digests of the copy kept of its votes; without one, take the
            # current votes as the ones it holds. That can only count fewer changes
            # than there were, so the next version waits longer.
            earlier = _copied_digests(stored) if known and stored is not None else None
            if earlier is None:
                earlier, known = current, False
            rebuilt = True
        changed = None if earlier is None else changed_participants(earlier, current)
        fields: dict[str, Any] = {"error": ""}
        copy: bytes | None = None
        write_copy = False
        if publication_due(conversation, stored, changed):
            fields.update(published)
            fields["priority"] = _routing_priority(
                conversation, stored, changed, published["priority"], people=len(current[0])
            )
            fields["published_votes"] = OpinionMapResult.pack_digests(*current)
            fields["held_back"] = False
            copy = PublishedCopy.of(votes.participant, votes.statement, votes.value, days).pack()
            write_copy = True
        else:
            fields["held_back"] = bool(changed)
            if rebuilt and earlier is not None:
                fields["published_votes"] = OpinionMapResult.pack_digests(*earlier)
            if legacy and not known and earlier is not None:
                # Published before copies were kept: copy it now if nobody in it has
                # voted again since (their votes now are then the published ones).
                copy = _copy_if_unchanged(earlier, current, votes, days)
                write_copy = True
        result, _created = OpinionMapResult.objects.update_or_create(
            conversation=conversation, defaults=fields
        )
        if write_copy:
            PublishedVotes.objects.update_or_create(result=result, defaults={"arrays": copy})
    return result


def _routing_priority(
    conversation: Conversation,
    stored: OpinionMapResult | None,
    changed: int | None,
    priority: dict[str, float],
    *,
    people: int,
) -> dict[str, float]:
    """The routing priorities stored with a version being published (`priority`, worked
    out from its votes; `people`: how many participants it holds).

    Routing deals statements in proportion to these (selectors.next_statement), and
    anyone with the link can load the participate page thousands of times and measure
    them. So they follow the published version only, and move only by the votes of at
    least the threshold of participants (selectors.publication_step), as the report
    does: priorities stored after every recompute let anyone read one person's vote
    from a statement dealt more, or less, often after they voted.

    - A version of fewer than the threshold of people routes evenly (no priorities: each
      statement gets selectors.UNSEEN_PRIORITY). The first version is published at once,
      whoever is in it; routing by it would show how its first few people voted.
    - A version published though fewer than the threshold changed their votes since the
      last (one replacing a map in an older format) keeps the priorities routing used.
    - While results are hidden until the conversation closes nothing is published
      (publication_due), so routing is even until it closes."""
    step = selectors.publication_step(conversation)
    if people < step:
        return {}
    kept = stored.priority if stored is not None else {}
    if kept and (changed is None or changed < step):
        return dict(kept)
    return priority


def _copied_digests(stored: OpinionMapResult) -> tuple[np.ndarray, np.ndarray] | None:
    """The digests of the votes kept in the published version's copy."""
    kept = PublishedVotes.objects.filter(result=stored).first()
    copy = kept.unpack() if kept is not None else None
    if copy is None:
        return None
    participant, statement, value, _day = copy.columns()
    return vote_digests(participant, statement, value)


def _copy_if_unchanged(
    earlier: tuple[np.ndarray, np.ndarray],
    current: tuple[np.ndarray, np.ndarray],
    votes: Votes,
    days: np.ndarray | None,
) -> bytes | None:
    """A copy of the published votes made from the current ones, when every participant
    in the published version (digests `earlier`) has the same votes now (`current`);
    else None, as their published votes are known nowhere."""
    ids, kept = earlier
    now_ids, now = current
    if not np.array_equal(ids, np.intersect1d(ids, now_ids, assume_unique=True)):
        return None  # someone in it has no votes now
    if not np.array_equal(now[np.searchsorted(now_ids, ids)], kept):
        return None
    rows = _published_mask(ids, votes.participant)
    return PublishedCopy.of(
        votes.participant[rows],
        votes.statement[rows],
        votes.value[rows],
        None if days is None else days[rows],
    ).pack()


def publication_due(
    conversation: Conversation, stored: OpinionMapResult | None, changed: int | None
) -> bool:
    """Whether a recompute's map replaces the one readers see.

    - A conversation whose results are hidden until it closes publishes nothing while
      open, for organisers neither: its first version is the one worked out at closing,
      with every vote, which nobody has an earlier version to compare with.
    - The first map of a conversation is published as soon as it exists (nothing to
      compare it with; small groups and small counts are hidden in it as always). So is
      a map replacing one stored in a format this code no longer reads (not shown).
    - After that, a version is published only when at least the threshold of
      participants (selectors.publication_step) voted, or changed a vote, since the
      version published last: so any two versions a reader can compare differ by the
      votes of that many people at least, and no one person's votes can be read from
      the difference. Closing the conversation is no exception (as surveys' figures
      between closings): the last few votes wait until it is opened again and more
      people vote."""
    if conversation.results_hidden_until_closed and conversation.is_open:
        return False
    if stored is None or not stored.is_current or not stored.data.get("statements"):
        return True
    return changed is not None and changed >= selectors.publication_step(conversation)


def _previous_map(stored: OpinionMapResult | None) -> OpinionMap | None:
    """The previous map as far as warm start needs it, or None before the first compute.

    compute_opinion_map reads only participant_ids, in_conversation, base_label, group,
    k, statement_ids and components of `previous` (compute._aligned,
    _previous_components, _warm_group_centers); those are stored in `warm_start`, the
    other fields are left empty. tests/test_opinion_map_store.py checks that a map
    warm-started from this equals one warm-started from the full previous map."""
    arrays = stored.warm_start_arrays() if stored is not None else {}
    if not arrays:
        return None
    empty_float = np.zeros(0)
    empty_int = np.zeros(0, dtype=np.int64)
    no_stats = np.zeros((0, 0), dtype=np.int64)
    return OpinionMap(
        participant_ids=arrays["participant_ids"].astype(np.int64),
        statement_ids=arrays["statement_ids"].astype(np.int64),
        center=empty_float,
        components=arrays["components"].astype(np.float64),
        participant_projection=np.zeros((0, 0)),
        statement_projection=np.zeros((0, 0)),
        extremity=empty_float,
        in_conversation=arrays["in_conversation"].astype(bool),
        base_label=arrays["base_label"].astype(np.int64),
        base_centers=np.zeros((0, 0)),
        group=arrays["group"].astype(np.int64),
        k=int(arrays["k"]),
        silhouette={},
        group_stats=StatementStats(no_stats, no_stats, no_stats, empty_int),
        repness={},
        consensus=Consensus((), ()),
        group_informed_consensus=empty_float,
        priority=empty_float,
        moderated_out=frozenset(),
        meta=frozenset(),
    )


def _warm_start(result: OpinionMap) -> bytes:
    """What the next compute warm-starts from (see _previous_map), compactly: 8 bytes
    per participant id, 1 for membership, 2 each for base cluster and group."""
    return OpinionMapResult.pack_arrays(
        participant_ids=np.asarray(result.participant_ids, dtype=np.int64),
        in_conversation=np.asarray(result.in_conversation, dtype=bool),
        base_label=np.asarray(result.base_label, dtype=np.int16),
        group=np.asarray(result.group, dtype=np.int16),
        statement_ids=np.asarray(result.statement_ids, dtype=np.int64),
        components=np.asarray(result.components, dtype=np.float64),
        k=np.asarray(result.k, dtype=np.int64),
    )


def _tallies(votes: Votes) -> dict[int, list[int]]:
    """statement pk -> [agree, disagree, votes] over everyone (one vote per pair)."""
    if len(votes) == 0:
        return {}
    ids, column = np.unique(votes.statement, return_inverse=True)
    n = len(ids)
    agree = np.bincount(column, weights=votes.value == 1, minlength=n)
    disagree = np.bincount(column, weights=votes.value == -1, minlength=n)
    seen = np.bincount(column, minlength=n)
    return {
        int(pk): [int(a), int(d), int(t)]
        for pk, a, d, t in zip(ids.tolist(), agree, disagree, seen, strict=True)
    }


def _over_time(conversation: Conversation) -> list[list[Any]]:
    """[day, votes, new participants] per day, unsuppressed: the report suppresses small
    counts with the community's threshold at the time it is shown."""
    votes = dict(
        Vote.objects.filter(participant__conversation=conversation)
        .order_by()
        .values("created_on")
        .annotate(n=Count("pk"))
        .values_list("created_on", "n")
    )
    joined = dict(
        Participant.objects.filter(conversation=conversation)
        .order_by()
        .values("joined_on")
        .annotate(n=Count("pk"))
        .values_list("joined_on", "n")
    )
    return [
        [day.isoformat(), votes.get(day, 0), joined.get(day, 0)]
        for day in sorted(set(votes) | set(joined))
    ]


def _dates_unknown(conversation: Conversation) -> bool:
    """Whether the conversation was imported from files that give every vote the same
    day (our anonymous export stamps each vote with the day the conversation started;
    an upload without votes.csv has no days at all, and the import dates them all the
    day it ran): the report then does not show the days as when people took part.

    Decided once, from the imported votes alone, when the import wrote them
    (`_one_vote_day`, kept on the PolisImport), never from the votes now held: were live
    votes counted (the conversation opened again), one person voting on the day of
    the import would turn the table of days on, telling that somebody took part that
    day, which pooling the quiet days hides. So it stays "not known", with no table,
    whatever is voted later."""
    return PolisImport.objects.filter(
        conversation=conversation, state=PolisImport.State.DONE, dates_unknown=True
    ).exists()


def _one_vote_day(conversation: Conversation) -> bool:
    """Whether the conversation's votes carry at most one day: asked by the import as
    it writes them, before anyone else can vote."""
    days = (
        Vote.objects.filter(participant__conversation=conversation)
        .order_by()
        .values_list("created_on", flat=True)
        .distinct()[:2]
    )
    return len(days) <= 1


def compute_now(*, conversation: Conversation) -> OpinionMapResult:
    """Compute and store the opinion map, warm-started from the stored one so that
    groups keep their letters as votes arrive. Call from the task worker or a command,
    never from a request: it reads every vote of the conversation.

    Also stores what the report shows beside the map (overall tallies per statement,
    participation per day), so that a report reads one row however many votes there are.
    """
    # Clear the claim first, so that votes arriving during the computation queue a new one.
    OpinionMapResult.objects.filter(conversation=conversation).update(requested_at=None)
    statements = list(
        Statement.objects.filter(conversation=conversation).values_list("pk", "state", "is_meta")
    )
    shown = conversation.shown_statements_filter()
    shown_ids = set(
        Statement.objects.filter(conversation=conversation)
        .filter(shown)
        .values_list("pk", flat=True)
    )
    votes, days = _read_votes(conversation)
    over_time = _over_time(conversation)
    dates_unknown = _dates_unknown(conversation)
    if len(votes) == 0:
        # Published at once, holding no votes: the export writes none.
        PublishedVotes.objects.filter(result__conversation=conversation).delete()
        empty, _created = OpinionMapResult.objects.update_or_create(
            conversation=conversation,
            defaults={
                "data": {
                    "format": OpinionMapResult.FORMAT,
                    "over_time": over_time,
                    "dates_unknown": dates_unknown,
                },
                "priority": {},
                "vote_count": 0,
                "computed_at": timezone.now(),
                "warm_start": b"",
                "error": "",
            },
        )
        return empty
    stored = OpinionMapResult.objects.filter(conversation=conversation).first()
    result = compute_opinion_map(
        votes,
        moderated_out=[pk for pk, _state, _meta in statements if pk not in shown_ids],
        meta=[pk for pk, _state, is_meta in statements if is_meta],
        statements=[pk for pk, _state, _meta in statements],
        previous=_previous_map(stored),
    )
    data = opinion_map_to_dict(result)
    group_ids = sorted(int(g) for g in set(result.group.tolist()) if g >= 0)
    centres: dict[int, list[float]] = {}
    for g in group_ids:
        mask = result.group == g
        centres[g] = result.participant_projection[mask].mean(axis=0).tolist()
    stats = result.group_stats
    # Everything here is sized by statements and groups; who is in which group lives in
    # warm_start (8 + 2 bytes a participant), not in this JSON the report parses.
    summary = {
        "format": OpinionMapResult.FORMAT,
        "k": data["k"],
        "n_participants": data["n_participants"],
        "n_in_conversation": data["n_in_conversation"],
        "group_sizes": {g: int(stats.members[g]) for g in range(len(stats.members))},
        "group_centres": centres,
        "statements": result.statement_ids.tolist(),
        "group_agree": stats.agree.tolist(),
        "group_disagree": stats.disagree.tolist(),
        "group_seen": stats.seen.tolist(),
        "repness": data["repness"],
        "consensus": data["consensus"],
        "group_informed_consensus": data["group_informed_consensus"],
        "extremity": data["extremity"],
        "tallies": _tallies(votes),
        "over_time": over_time,
        "dates_unknown": dates_unknown,
        "timings": data["timings"],
    }
    # Stored only when published, priorities included (readers and routing see the map
    # change only once enough people have voted: publication_due, _routing_priority).
    return store_recomputed(
        conversation=conversation,
        votes=votes,
        days=days,
        published={
            # Through JSON once, so the instance holds what the database holds (str keys).
            "data": json.loads(json.dumps(summary)),
            "priority": json.loads(json.dumps(data["priority"])),
            "vote_count": len(votes),
            "computed_at": timezone.now(),
            "warm_start": _warm_start(result),
            "error": "",
        },
    )


# --- Polis export and import ----------------------------------------------------------

COMMENTS_HEADER = (
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "is-meta",
    "is-seed",
    "comment-body",
)
# Seed statements written by organisers have no participant as author; in anonymous
# conversations no statement names one in the export (`_authors_shown`).
NO_AUTHOR = -1


def _day_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def _polis_text(value: int | str | bool | None) -> str:
    """A cell as Polis's exporter writes it (booleans as true/false, None empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Chunks:
    """A write-only, unseekable file: zipfile then streams (data descriptors after each
    entry), and the bytes written so far are handed on with `take`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return out


EXPORT_CHUNK_BYTES = 256 * 1024
EXPORT_ROWS_PER_QUERY = 5000


class ExportRefused(ServiceError):  # noqa: N818 (reads as the outcome)
    """The export would tell more than the published results do: nothing is sent."""


EXPORT_HIDDEN = gettext_lazy(
    "You chose to hide the results until the conversation closes, so the export waits"
    " until then too. It holds people's votes: it would show the results early, and two"
    " exports a little apart would show how the people who voted in between voted."
)
EXPORT_NOT_READY = gettext_lazy(
    "The results are still being worked out, and the export holds the same votes as the"
    " results. Try again in a minute."
)


def export_refusal(conversation: Conversation) -> str | None:
    """Why the export is refused before anything is read (the conversation page shows
    it in place of the export button), or None: results hidden until the conversation
    closes are hidden from the export too, as from the report (publication_due)."""
    if conversation.results_hidden_until_closed and conversation.is_open:
        return str(EXPORT_HIDDEN)
    return None


def _published_unknown(conversation: Conversation) -> str:
    """Why a version published before the export kept a copy of its votes, and whose
    votes changed since, cannot be exported (store_recomputed, _copy_if_unchanged)."""
    n = selectors.publication_step(conversation)
    reopen = (
        ""
        if conversation.is_open
        else _(" The conversation is closed: open it again to let more people vote.")
    )
    return (
        ngettext(
            "The export is not available yet. It holds only the votes in the published"
            " results, and these were worked out before the export kept a copy of them."
            " It is available when the results are next updated, once at least %(n)d"
            " person has voted since the last update.",
            "The export is not available yet. It holds only the votes in the published"
            " results, and these were worked out before the export kept a copy of them."
            " It is available when the results are next updated, once at least %(n)d"
            " people have voted since the last update.",
            n,
        )
        % {"n": n}
        + reopen
    )


def _published_mask(ids: np.ndarray, participants: np.ndarray) -> np.ndarray:
    """Which of `participants` are among `ids` (sorted)."""
    if len(ids) == 0:
        return np.zeros(len(participants), dtype=bool)
    at = np.minimum(np.searchsorted(ids, participants), len(ids) - 1)
    return np.asarray(ids[at] == participants, dtype=bool)


def _published_copy(conversation: Conversation, result: OpinionMapResult | None) -> PublishedCopy:
    """The votes the published version holds, from the copy kept with it
    (PublishedVotes); ExportRefused when there is none to write.

    Before the first version is worked out the export waits, and the recompute is
    queued. So it does for a version published before copies were kept: the recompute
    copies it when nobody in it has voted again since; otherwise its votes are known
    nowhere and the export waits for the next version."""
    stored: PublishedVotes | None = getattr(result, "published_copy", None)
    if result is not None and result.is_current and stored is not None:
        copy = stored.unpack()
        if copy is None:
            raise ExportRefused(_published_unknown(conversation))
        return copy
    if Vote.objects.filter(participant__conversation=conversation).exists():
        _queue_recompute(conversation)
        raise ExportRefused(str(EXPORT_NOT_READY))
    empty = np.zeros(0, dtype=np.int64)
    return PublishedCopy.of(empty, empty, empty, None)


def stream_polis_export(
    *, conversation: Conversation, actor: Any, rng: random.Random | None = None
) -> Iterator[bytes]:
    """The conversation as a Polis export (comments.csv, participants-votes.csv,
    votes.csv, summary.csv) in a zip, as pieces of bytes for a streamed response.

    It never tells more than the published results do (ExportRefused, before anything
    is sent or logged, when it would): nothing while results are hidden until the
    conversation closes (export_refusal); otherwise exactly the votes the published
    version holds, from the copy kept with it (_published_copy), with comments.csv's
    counts taken from the same votes. participants-votes.csv has a row for each
    participant with a vote in it, as Polis's has (_in_order): not those who joined
    without voting or whose votes are not published yet; someone in the published
    version who has voted since is written as published. So two exports with no new
    version between them are the same, whoever voted in between, in a named
    conversation too (its results are published in the same steps). Someone deleted
    since (with their account) is left out, and their votes uncounted.

    Memory is bounded by the published copy, read at once (3 bytes a vote, 7 in a named
    conversation, which keeps each vote's day: about 14 MB for 2 million votes), plus
    the participants' order (8 bytes each) and the published map's groups; rows are
    read from the database in batches and zipped as they come. Votes cast or changed
    while it streams change nothing: the copy was read before the first byte.

    Audit-logged when called, before a byte is sent: it is raw participation data
    (pseudonymous; statements may name people), whoever then reads the stream.

    In an anonymous conversation the participants are numbered in a new random order
    each time (`rng`, a system random source unless a test gives one) and every vote
    carries the day the conversation started (`_votes_rows`): numbers in the order
    people joined, or the day of each vote, would let an organiser who knows when
    someone took part find their row."""
    refusal = export_refusal(conversation)
    if refusal is not None:
        raise ExportRefused(refusal)
    # One query: the copy is the one kept with the groups read here.
    result = (
        OpinionMapResult.objects.select_related("published_copy")
        .filter(conversation=conversation)
        .first()
    )
    published = _published_copy(conversation, result)
    record(
        community=conversation.community,
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        summary=_("%(person)s exported the conversation '%(topic)s' as Polis CSV files.")
        % {"person": actor, "topic": conversation.topic},
        conversation=conversation.pk,
        anonymous=conversation.anonymous,
        published_votes=len(published),
        published_participants=len(published.participant_ids),
    )
    groups = selectors.stored_groups(result)
    return _polis_zip(conversation, published, groups, rng or random.SystemRandom())


def _polis_zip(
    conversation: Conversation,
    published: PublishedCopy,
    groups: selectors.StoredGroups,
    rng: random.Random,
) -> Iterator[bytes]:
    sink = _Chunks()
    counts = _Counts()
    # Anonymous: one shuffled order, the same in both files of votes. Named: by number.
    if conversation.anonymous:
        order, numbers = _shuffled_participants(conversation, rng), None
    else:
        order, numbers = _numbered_participants(conversation)
    # Counted over the votes the other files hold: not those of anyone deleted since.
    tallies = published.tallies(np.asarray(order, dtype=np.int64))
    statement_numbers = dict(
        Statement.objects.filter(conversation=conversation).values_list("pk", "number")
    )
    start = timezone.localdate(conversation.created_at)

    def participants() -> Iterator[_ParticipantVotes]:
        return _in_order(published, statement_numbers, start, order, numbers)

    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in (
            ("comments.csv", _comments_rows(conversation, tallies, counts)),
            (
                "participants-votes.csv",
                _participants_rows(conversation, participants(), counts, groups),
            ),
            ("votes.csv", _votes_rows(conversation, participants())),
            # Last: its counts are taken while the files above are written, so they
            # agree with them at no extra query (a generator runs when it is reached).
            (SUMMARY, _summary_rows(conversation, counts)),
        ):
            with (
                archive.open(name, "w", force_zip64=True) as entry,
                io.TextIOWrapper(entry, encoding="utf-8", newline="") as text,
            ):
                writer = csv.writer(text, lineterminator="\n")
                for row in rows:
                    writer.writerow(row)
                    if sink.size >= EXPORT_CHUNK_BYTES:
                        yield sink.take()
        # Closing the archive writes the central directory.
    yield sink.take()


@dataclasses.dataclass
class _Counts:
    """summary.csv's counts, as Polis means them, tallied while the other files are
    written: statements, distinct authors, participants whose votes it holds (those in
    the published results: the rows of participants-votes.csv), participants in the
    published map's groups, and groups."""

    comments: int = 0
    commenters: int = 0
    voters: int = 0
    in_map: int = 0
    groups: set[int] = dataclasses.field(default_factory=set)


def _summary_rows(conversation: Conversation, counts: _Counts) -> Iterator[list[str]]:
    """summary.csv in Polis's shape (key,value rows, no header), so that importing the
    export, here or in a Polis tool, brings back the question and its background.

    `url` is left empty: the conversation's link holds its public token, and anyone
    holding it could take part (or, once the file travels, vote again). `views` is
    left out: Sayso does not count page views. Nothing else is added: `voters` is the
    rows of participants-votes.csv, as in Polis's (people who joined without voting,
    or whose votes are not published yet, are in neither)."""
    yield [SUMMARY_TOPIC, guard_formula(conversation.topic)]
    yield ["url", ""]
    yield ["voters", str(counts.voters)]
    yield ["voters-in-conv", str(counts.in_map)]
    if _authors_shown(conversation):
        # Not in an anonymous conversation: with the statements' count and the votes,
        # "1 commenter" would tell who wrote them all (see _authors_shown).
        yield ["commenters", str(counts.commenters)]
    yield ["comments", str(counts.comments)]
    yield ["groups", str(len(counts.groups))]
    yield [SUMMARY_DESCRIPTION, guard_formula(conversation.description)]


def _authors_shown(conversation: Conversation) -> bool:
    """Whether the export names who wrote each statement. Not in an anonymous
    conversation: an author-id is the author's participant number, which is their row
    of votes in participants-votes.csv and votes.csv, and the form promises that nobody,
    organisers included, can see who wrote a statement. Such statements are written with
    author-id -1 (as organisers' are; Polis's readers and ours take it as "no
    participant") and every participant with n-comments 0."""
    return not conversation.anonymous


def _comments_rows(
    conversation: Conversation, tallies: dict[int, tuple[int, int]], counts: _Counts
) -> Iterator[list[str]]:
    """comments.csv: every statement, with the agrees and disagrees of the published
    votes (`tallies`: those the other files hold), never a live count."""
    yield list(COMMENTS_HEADER)
    authors_shown = _authors_shown(conversation)
    statements = (
        Statement.objects.filter(conversation=conversation)
        .order_by("number")
        .values_list(
            "pk", "number", "author__number", "state", "is_meta", "kind", "text", "created_on"
        )
    )
    moderated: dict[str, int] = {
        Statement.State.ACCEPTED.value: 1,
        Statement.State.PENDING.value: 0,
        Statement.State.HELD.value: 0,
        Statement.State.REJECTED.value: -1,
    }
    authors: set[int] = set()
    for pk, number, author, state, is_meta, kind, text, created_on in statements.iterator(
        chunk_size=EXPORT_ROWS_PER_QUERY
    ):
        counts.comments += 1
        if author is not None:
            authors.add(author)
            counts.commenters = len(authors)
        agree, disagree = tallies.get(pk, (0, 0))
        yield [
            _polis_text(value)
            for value in (
                _day_ms(created_on),
                created_on.isoformat(),
                number,
                author if author is not None and authors_shown else NO_AUTHOR,
                agree,
                disagree,
                moderated[state],
                is_meta,
                kind == Statement.Kind.SEED,
                # A spreadsheet would run "=HYPERLINK(...)"; the import takes the
                # apostrophe off again (import_polis), so the words come back the same.
                guard_formula(text),
            )
        ]


def _participants_rows(
    conversation: Conversation,
    participants: Iterator[_ParticipantVotes],
    counts: _Counts,
    groups: selectors.StoredGroups,
) -> Iterator[list[str]]:
    """participants-votes.csv: one row per participant with a published vote, in the
    order `participants` gives (by number, or shuffled in an anonymous conversation),
    with their published votes and their group in the published map."""
    columns = list(
        Statement.objects.filter(conversation=conversation)
        .order_by("number")
        .values_list("number", flat=True)
    )
    yield [*PARTICIPANTS_FIXED, *(str(n) for n in columns)]
    column_of = {number: i for i, number in enumerate(columns)}
    authored = (
        dict(
            Statement.objects.filter(conversation=conversation, author__isnull=False)
            .order_by()
            .values("author_id")
            .annotate(n=Count("pk"))
            .values_list("author_id", "n")
        )
        if _authors_shown(conversation)
        else {}  # a count of statements written would pick out the writers
    )
    for pk, number, cast in participants:
        cells = [""] * len(columns)
        n_votes = n_agree = n_disagree = 0
        for statement, value, _day in cast:
            cells[column_of[statement]] = str(value)
            n_votes += 1
            n_agree += value == 1
            n_disagree += value == -1
        group = groups.group(pk)
        counts.voters += 1  # every row has a vote (_in_order)
        if group is not None:
            counts.in_map += 1
            counts.groups.add(group)
        yield [
            str(number),
            "" if group is None else str(group),
            str(authored.get(pk, 0)),
            str(n_votes),
            str(n_agree),
            str(n_disagree),
            *cells,
        ]


# (pk, number in the export, [(statement number, value, day)])
_ParticipantVotes = tuple[int, int, list[tuple[int, int, dt.date]]]


def _shuffled_participants(conversation: Conversation, rng: random.Random) -> list[int]:
    """The participants' keys in a random order: an anonymous export numbers them by
    their place in it (a key held per participant; the votes are read a batch at a time)."""
    keys = list(
        Participant.objects.filter(conversation=conversation)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator(chunk_size=EXPORT_ROWS_PER_QUERY)
    )
    rng.shuffle(keys)
    return keys


def _numbered_participants(conversation: Conversation) -> tuple[list[int], list[int]]:
    """The participants' keys and stored numbers, by number: a named export keeps them."""
    keys: list[int] = []
    numbers: list[int] = []
    for pk, number in (
        Participant.objects.filter(conversation=conversation)
        .order_by("number")
        .values_list("pk", "number")
        .iterator(chunk_size=EXPORT_ROWS_PER_QUERY)
    ):
        keys.append(pk)
        numbers.append(number)
    return keys, numbers


def _in_order(
    published: PublishedCopy,
    statement_numbers: dict[int, int],
    start: dt.date,
    order: list[int],
    numbers: list[int] | None = None,
) -> Iterator[_ParticipantVotes]:
    """(pk, number, [(statement number, value, day)]) for each participant of `order`
    with at least one vote to write, in that order, by statement number, numbered by
    their place among those or, given `numbers` (one for each of `order`), by those.
    Their votes are the published ones (`published`), dated with the day kept with
    each, or `start` in an anonymous conversation (which keeps none).

    People the published votes do not hold (they joined without voting, or voted only
    since) are left out, as Polis's export has a row only for someone with a vote
    (darwin/export.clj: participants-votes-table is the vote matrix's rows). Each call
    gives the same rows and numbers, so the two files of votes agree."""
    statement_pks = published.statement_ids.tolist()
    epoch = dt.date(1970, 1, 1)
    days: dict[int, dt.date] = {}
    written = 0
    for place, pk in enumerate(order):
        rows = published.votes_of(pk)
        if rows is None:
            continue
        own: list[tuple[int, int, dt.date]] = []
        index = published.statement_index[rows].tolist()
        values = published.value[rows].tolist()
        stored_days = published.day[rows].tolist() if published.day is not None else None
        for i, (column, value) in enumerate(zip(index, values, strict=True)):
            number = statement_numbers.get(statement_pks[column])
            if number is None:
                continue  # a statement gone since
            day = start if stored_days is None else days.get(stored_days[i])
            if day is None:
                day = days[stored_days[i]] = epoch + dt.timedelta(days=stored_days[i])  # type: ignore[index]
            own.append((number, value, day))
        if not own:
            continue
        own.sort()
        yield pk, written if numbers is None else numbers[place], own
        written += 1


def _votes_rows(
    conversation: Conversation, participants: Iterator[_ParticipantVotes]
) -> Iterator[list[str]]:
    """votes.csv, by participant (as participants-votes.csv), then day, then statement
    number: never in the order the votes were cast, which (who voted first, who voted
    just after a statement appeared) could be matched to people someone watched taking
    part. Times are dates (the privacy rule): a vote is stamped at midnight UTC of its
    day. In an anonymous conversation every vote is stamped with the day the
    conversation started: with what an organiser saw (someone taking part on a given
    day), the day of each vote would pick out their row."""
    yield list(VOTES_HEADER)
    if conversation.anonymous:
        day = timezone.localdate(conversation.created_at)
        stamp, iso = str(_day_ms(day)), day.isoformat()
        for _pk, number, own in participants:
            for statement, value, _day in own:
                yield [stamp, iso, str(statement), str(number), str(value)]
        return
    stamps: dict[dt.date, tuple[str, str]] = {}  # worked out once a day, not a vote
    for _pk, number, own in participants:
        for statement, value, day in sorted(own, key=lambda vote: (vote[2], vote[0])):
            dated = stamps.get(day)
            if dated is None:
                dated = stamps[day] = (str(_day_ms(day)), day.isoformat())
            yield [*dated, str(statement), str(number), str(value)]


def export_polis(
    *, conversation: Conversation, actor: Any, rng: random.Random | None = None
) -> bytes:
    """The whole export zip at once, for callers without a response to stream into
    (commands and tests). Audit-logged as stream_polis_export is."""
    return b"".join(stream_polis_export(conversation=conversation, actor=actor, rng=rng))


class ImportRefused(ServiceError):  # noqa: N818 (reads as the outcome)
    """An upload that cannot be imported. `file` names the Polis file at fault
    (comments.csv, votes.csv, participants-votes.csv), or is "archive" for the zip
    itself, so that the message can go next to that file's field; summary.csv when the
    question is missing (the question field is where that message goes)."""

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


def _save_uploads(files: Mapping[str, IO[bytes]], folder: Path) -> None:
    for name, upload in files.items():
        written = 0
        with (folder / name).open("wb") as handle:
            for chunk in iter(lambda upload=upload: upload.read(1 << 20), b""):  # type: ignore[misc]
                written += len(chunk)
                if written > POLIS_MAX_FILE_BYTES:
                    raise ImportRefused(
                        _("%(file)s is larger than 200 MB.") % {"file": name}, file=name
                    )
                handle.write(chunk)


def _refused(error: PolisImportError) -> ImportRefused:
    """What the organiser is told about a file polis_io refused: file, line, problem."""
    name = Path(error.file).name
    if isinstance(error, PolisNotTextError):
        return ImportRefused(
            _("%(file)s could not be read as text (UTF-8). Save it as CSV UTF-8 and try again.")
            % {"file": name},
            file=name,
        )
    if error.line is None:
        message = _("%(file)s: %(problem)s") % {"file": name, "problem": error.problem}
    else:
        message = _("%(file)s, line %(line)s: %(problem)s") % {
            "file": name,
            "line": error.line,
            "problem": error.problem,
        }
    return ImportRefused(message, file=name)


def _read_folder(folder: Path) -> PolisExport:
    """Read and check an export folder in full (ImportRefused naming file, line and
    problem). Memory stays within what polis_io's limits allow (MAX_VOTES and the
    rest): files are read a piece or a row at a time, never as Python rows."""
    try:
        export = read_polis_export(folder)
    except PolisImportError as error:
        raise _refused(error) from None
    _check_imported_statements(export.statements, folder / "comments.csv")
    return export


# An upload this small (its CSV files together, unpacked) is checked in full while the
# organiser waits, so that a problem is shown on the form at once: every openData export
# is (the largest is 4 MB), and even a file of the slowest kind to read (every value in
# quotes) takes a few seconds at most. A larger one is checked here as far as can be
# done quickly (check_export_start: comments.csv in full, the other files' headers, first
# rows and number of lines), then in full by the task worker before it writes anything;
# a problem found there is shown on the import's page, as the same message.
POLIS_CHECK_NOW_BYTES = 8 * 1024 * 1024


def _check_upload(folder: Path) -> None:
    size = sum((folder / name).stat().st_size for name in POLIS_FILES if (folder / name).is_file())
    if size <= POLIS_CHECK_NOW_BYTES:
        _read_folder(folder)
        return
    try:
        statements, _header = check_export_start(folder)
    except PolisImportError as error:
        raise _refused(error) from None
    _check_imported_statements(statements, folder / "comments.csv")


def _check_imported_statements(statements: Sequence[PolisStatement], comments: Path) -> None:
    """What a statement must hold here holds for an import too: a file of headers only
    would make an empty conversation, and a statement people would see (accepted, or
    waiting for an organiser to accept it) must not be blank. Accepted ones need words
    as typed ones do (NEEDS_WORDS); waiting ones need only something visible, since
    real Polis exports hold waiting rows such as "ok" or "?" (never shown unless an
    organiser accepts them). Moderated-out rows are kept as they are: nobody sees them,
    and the round trip keeps them."""
    if not statements:
        raise ImportRefused(
            _(
                "comments.csv holds no statements, so there is nothing to import. Check"
                " that you chose the right file: a Polis export lists its statements under"
                " the header line."
            ),
            file="comments.csv",
        )
    for s in statements:
        if s.moderated == -1:
            continue
        shown = visible_text(without_direction_controls(unguard_formula(s.body)))
        if s.moderated == 1 and not has_words(shown):
            problem = _(
                "statement %(id)s is shown to people (moderated 1) but has fewer than"
                " %(n)s letters or numbers: only emoji, symbols, spaces or invisible"
                " characters. Write it in words, or mark it moderated out (-1)."
            ) % {"id": s.statement_id, "n": MIN_WORD_CHARACTERS}
        elif not shown:
            problem = _(
                "statement %(id)s is blank: it holds only spaces or invisible characters."
                " Write it in words, or mark it moderated out (-1)."
            ) % {"id": s.statement_id}
        else:
            continue
        line = statement_line(comments, s.statement_id)
        where = {"file": comments.name, "line": line, "problem": problem}
        raise ImportRefused(
            _("%(file)s, line %(line)s: %(problem)s") % where
            if line is not None
            else _("%(file)s: %(problem)s") % where,
            file=comments.name,
        )


def read_polis_upload(files: Mapping[str, IO[bytes]]) -> PolisExport:
    """Validate uploaded Polis files (name -> file). Raises ImportRefused naming the
    file, line and problem; nothing is written to the database here."""
    with tempfile.TemporaryDirectory(prefix="sayso-polis-") as folder:
        _save_uploads(files, Path(folder))
        return _read_folder(Path(folder))


POLIS_FILES = ("comments.csv", "votes.csv", "participants-votes.csv")
# Taken from a zip besides POLIS_FILES: the question and background, when it has them.
ARCHIVE_FILES = (*POLIS_FILES, SUMMARY)
# The most one file of an export may hold once unzipped: the upload limit, so that a
# small zip that unpacks to gigabytes is refused rather than filling the disk. (What a
# file may hold is bounded too, by rows: polis_io.MAX_VOTES and the rest.)
POLIS_MAX_FILE_BYTES = 200 * 1024 * 1024
# How many times a .zip file may have shrunk comments.csv or votes.csv, once either is
# over a megabyte: real ones shrink 3 to 20 times (Sayso's own exports, in which every
# vote of an anonymous conversation has the same date, about 16 times). A file that
# shrinks far more is one line repeated over and over, made to be large once unpacked,
# and is refused before it is read. participants-votes.csv, mostly empty cells, shrinks
# hundreds of times when real, so it is bounded by its rows instead.
POLIS_MAX_SHRINK = 100
POLIS_SHRINK_FROM_BYTES = 1024 * 1024
_SHRINK_CHECKED = ("comments.csv", "votes.csv")


def _unpack_archive(archive: IO[bytes], folder: Path) -> None:
    """Write the Polis files of an export zip into `folder`: Sayso's own export, or a
    Polis export zipped with or without its folder. summary.csv comes too (the
    question and background); other files (comment-groups.csv, stats-history.csv, a
    README) are left out: they hold nothing the import keeps."""
    try:
        opened = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise ImportRefused(
            _(
                "The export file is not a .zip file. Choose the .zip file you got from the"
                " export, or the CSV files one by one."
            ),
            file="archive",
        ) from None
    with opened:
        found: dict[str, zipfile.ZipInfo] = {}
        for info in opened.infolist():
            name = PurePosixPath(info.filename).name
            if info.is_dir() or name not in ARCHIVE_FILES or "__MACOSX" in info.filename:
                continue
            if name in found:
                raise ImportRefused(
                    _(
                        "The .zip file holds more than one %(file)s. Put one conversation's"
                        " export in it at a time."
                    )
                    % {"file": name},
                    file="archive",
                )
            found[name] = info
        if "comments.csv" not in found or not found.keys() & {
            "votes.csv",
            "participants-votes.csv",
        }:
            raise ImportRefused(
                _(
                    "The .zip file does not hold a Polis export: it needs comments.csv and"
                    " votes.csv (or participants-votes.csv)."
                ),
                file="archive",
            )
        for name, info in found.items():
            if info.flag_bits & 0x1:
                raise ImportRefused(
                    _("The .zip file is protected by a password. Export it again without one."),
                    file="archive",
                )
            try:
                _copy_limited(opened, info, folder / name)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
                raise ImportRefused(
                    _(
                        "%(file)s could not be unpacked from the .zip file: the file may be"
                        " damaged. Download the export again and try again."
                    )
                    % {"file": name},
                    file="archive",
                ) from None


def _copy_limited(opened: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Unpack one file, refusing it (before it is read, when the zip says so) if it is
    too large or shrunk too much to be an export's. summary.csv is cut off just past
    the size a summary may have, which read_summary then reports."""
    name = target.name
    limit = SUMMARY_MAX_BYTES + 1 if name == SUMMARY else POLIS_MAX_FILE_BYTES
    if name != SUMMARY and info.file_size > limit:
        raise _too_large(name)
    _check_shrink(name, info.file_size, info.compress_size)
    # Counted while reading: the sizes a zip declares can lie. The compressed size it
    # declares is the most that is read of it, so the shrink found is at least the real one.
    written = 0
    with opened.open(info) as source, target.open("wb") as handle:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            if written + len(chunk) > limit:
                if name == SUMMARY:
                    handle.write(chunk[: limit - written])
                    return
                raise _too_large(name)
            written += len(chunk)
            _check_shrink(name, written, info.compress_size)
            handle.write(chunk)


def _too_large(name: str) -> ImportRefused:
    return ImportRefused(
        _("%(file)s is larger than 200 MB once unzipped.") % {"file": name}, file="archive"
    )


def _check_shrink(name: str, unpacked: int, packed: int) -> None:
    if (
        name in _SHRINK_CHECKED
        and unpacked > POLIS_SHRINK_FROM_BYTES
        and unpacked > POLIS_MAX_SHRINK * max(packed, 1)
    ):
        raise ImportRefused(
            _(
                "%(file)s in the .zip file cannot be a real export's file: it unpacks to"
                " more than %(n)s times its packed size (a real one, at most about 20"
                " times), as a file of one line repeated over and over does. Check that"
                " you chose the right file, or export the conversation again."
            )
            % {"file": name, "n": POLIS_MAX_SHRINK},
            file="archive",
        )


def start_polis_import(
    *,
    community: Community,
    actor: Any,
    files: Mapping[str, IO[bytes]] | None = None,
    archive: IO[bytes] | None = None,
    topic: str = "",
    description: str = "",
    moderation: str = Conversation.Moderation.PRE,
    data_practice: Any = None,
    on_notice: Callable[[str], None] | None = None,
) -> PolisImport:
    """Check an uploaded Polis export and queue its import in the task worker.

    The export comes as its CSV files (`files`, name -> file) or as one zip
    (`archive`), such as Sayso's own export. A bad file is refused here (ImportRefused
    naming file, line and problem) and nothing is created; a good one is kept, zipped,
    until the worker has imported it.

    An empty `topic` or `description` is taken from the zip's summary.csv (a typed one
    wins). A summary.csv that cannot be read does not stop good votes: it is ignored,
    and `on_notice` is told why, unless the question was to come from it (then the
    upload is refused, naming its line, next to the question). `moderation` and
    `data_practice` are as on the creation form, whose defaults they share."""
    files = files or {}
    unknown = sorted(set(files) - set(POLIS_FILES))
    if unknown:
        raise ImportRefused(_("Unexpected file: %(name)s.") % {"name": unknown[0]})
    if data_practice is not None and data_practice.community_id != community.pk:
        raise ServiceError(_("That data practice belongs to another community."))
    if moderation not in Conversation.Moderation.values:
        raise ServiceError(_("Choose how statements are moderated."))
    with tempfile.TemporaryDirectory(prefix="sayso-polis-") as folder:
        if archive is not None:
            _unpack_archive(archive, Path(folder))
        _save_uploads(files, Path(folder))
        _check_upload(Path(folder))
        topic, description = _topic_and_description(
            Path(folder) / SUMMARY, topic, description, on_notice
        )
        # Kept only until the worker has read it: the quickest compression, which
        # costs the request under 2 seconds for the largest upload (200 MB), not 6.
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as kept:
            for path in sorted(Path(folder).iterdir()):
                if path.name in POLIS_FILES:
                    kept.write(path, arcname=path.name)
    # Checked and packed above, outside any transaction: on SQLite a transaction holds
    # the write lock, and parsing a large export inside one would stall every vote.
    with transaction.atomic():
        job = PolisImport.objects.create(
            community=community,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            topic=topic,
            description=description,
            moderation=moderation,
            data_practice=data_practice,
            files=packed.getvalue(),
        )
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue_import(job_id))
    return job


def _topic_and_description(
    path: Path, topic: str, description: str, on_notice: Callable[[str], None] | None
) -> tuple[str, str]:
    """The question and background: as typed, or else from summary.csv."""
    topic = " ".join(topic.split())
    summary: PolisSummary | None = None
    problem = ""
    if path.is_file():
        try:
            summary = read_summary(path)
        except PolisNotTextError:
            problem = _("summary.csv could not be read as text (UTF-8)")
        except PolisImportError as error:
            problem = (
                _("summary.csv: %(problem)s") % {"problem": error.problem}
                if error.line is None
                else _("summary.csv, line %(line)s: %(problem)s")
                % {"line": error.line, "problem": error.problem}
            )
    if not topic:
        if problem:
            raise ImportRefused(
                _(
                    "Write the question the conversation asked. It could not be taken from"
                    " the export: %(problem)s."
                )
                % {"problem": problem},
                file=SUMMARY,
            )
        topic = " ".join(unguard_formula(summary.topic).split()) if summary is not None else ""
        if not topic:
            raise ImportRefused(
                _(
                    "Write the question the conversation asked: the export does not say it"
                    " (it has no summary.csv with a topic)."
                ),
                file=SUMMARY,
            )
        limit = PolisImport._meta.get_field("topic").max_length or 200
        if len(topic) > limit:
            raise ImportRefused(
                _(
                    "The question in the export's summary.csv is longer than %(n)s"
                    " characters. Write a shorter one here."
                )
                % {"n": limit},
                file=SUMMARY,
            )
    elif problem and on_notice is not None:
        on_notice(
            _(
                "The export's summary.csv was left out, as it could not be read (%(problem)s)."
                " Everything else was checked and is being imported."
            )
            % {"problem": problem}
        )
    if not description.strip() and summary is not None:
        description = unguard_formula(summary.description)
    return topic, description


# A job still waiting or running after this long lost its worker (a restart, running out
# of memory) or its place in the queue: it is marked failed and its files dropped.
POLIS_IMPORT_EXPIRY = dt.timedelta(hours=1)
# The largest export imports in a minute or two: after this long the page says the
# import is taking longer than expected and offers to stop it and start again, rather
# than "Importing…" until POLIS_IMPORT_EXPIRY.
POLIS_IMPORT_LATE = dt.timedelta(minutes=5)


def import_running_late(job: PolisImport) -> bool:
    return job.is_pending and timezone.now() - job.created_at > POLIS_IMPORT_LATE


def import_checked_in_full(job: PolisImport) -> bool:
    """Whether a waiting import's files were checked in full when uploaded
    (_check_upload): not one over POLIS_CHECK_NOW_BYTES, which was checked quickly and
    is checked in full by the worker before it writes anything. Told from the sizes in
    the kept zip's directory (nothing is unpacked); false when that cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(job.files)) as kept:
            size = sum(info.file_size for info in kept.infolist() if info.filename in POLIS_FILES)
    except zipfile.BadZipFile:
        return False
    return size <= POLIS_CHECK_NOW_BYTES


def cancel_polis_import(*, community: Community, job_id: int) -> bool:
    """Stop an import still waiting or running: marked failed, its files dropped. A
    worker that takes it later finds no queued job; one running it finds it no longer
    running when it is about to finish, and rolls back (run_polis_import), so a stopped
    import never adds a conversation. False when it had already finished."""
    return bool(
        PolisImport.objects.filter(
            pk=job_id,
            community=community,
            state__in=[PolisImport.State.QUEUED, PolisImport.State.RUNNING],
        ).update(
            state=PolisImport.State.FAILED,
            files=b"",
            finished_at=timezone.now(),
            error=_("You stopped this import, so nothing was imported."),
        )
    )


def expire_stale_imports(*, community: Community | None = None) -> int:
    """Fail jobs that have waited or run longer than POLIS_IMPORT_EXPIRY and drop their
    uploaded files, so raw participation data is never kept by a job that will not
    finish. Returns how many were expired."""
    stale = PolisImport.objects.filter(
        state__in=[PolisImport.State.QUEUED, PolisImport.State.RUNNING],
        created_at__lt=timezone.now() - POLIS_IMPORT_EXPIRY,
    )
    if community is not None:
        stale = stale.filter(community=community)
    return stale.update(
        state=PolisImport.State.FAILED,
        files=b"",
        finished_at=timezone.now(),
        error=_("The import did not finish within an hour; nothing was imported. Try again."),
    )


def _enqueue_import(job_id: int) -> None:
    from .tasks import import_polis_upload

    import_polis_upload.enqueue(job_id=job_id)


def run_polis_import(*, job_id: int) -> PolisImport | None:
    """Import a queued upload (in the task worker): the conversation, its statements,
    participants and votes are created in one transaction with the job marked done, or
    not at all. The uploaded files are dropped either way. None when there is no such
    queued job (already taken by another worker, expired, or deleted)."""
    expire_stale_imports()
    if not PolisImport.objects.filter(pk=job_id, state=PolisImport.State.QUEUED).update(
        state=PolisImport.State.RUNNING
    ):
        return None
    job = PolisImport.objects.select_related("community", "created_by", "data_practice").get(
        pk=job_id
    )
    if job.state != PolisImport.State.RUNNING:
        return job  # stopped in the instant since it was taken, its files gone
    try:
        with tempfile.TemporaryDirectory(prefix="sayso-polis-") as folder:
            with zipfile.ZipFile(io.BytesIO(bytes(job.files))) as archive:
                archive.extractall(
                    folder, members=[n for n in archive.namelist() if n in POLIS_FILES]
                )
            export = _read_folder(Path(folder))
        practice = job.data_practice
        if practice is not None and practice.community_id != job.community_id:
            practice = None  # checked on upload; never another community's
        with transaction.atomic():
            conversation = import_polis(
                community=job.community,
                actor=job.created_by,
                export=export,
                topic=job.topic,
                description=job.description,
                moderation=job.moderation,
                data_practice=practice,
            )
            if not _finish_import(
                job_id,
                PolisImport.State.DONE,
                conversation=conversation,
                # The imported votes only: nobody else can have voted yet.
                dates_unknown=_one_vote_day(conversation),
            ):
                raise _ImportStopped  # stopped meanwhile (cancel_polis_import): undo it
    except _ImportStopped:
        pass
    except ImportRefused as refused:
        _finish_import(job_id, PolisImport.State.FAILED, error=str(refused))
    except Exception:
        _finish_import(
            job_id,
            PolisImport.State.FAILED,
            error=_("The import stopped on an unexpected problem; nothing was imported."),
        )
        raise  # the worker logs it with its traceback
    job.refresh_from_db()
    return job


class _ImportStopped(Exception):  # noqa: N818 (reads as what happened)
    """The job was stopped by an organiser while the worker imported it."""


def _finish_import(job_id: int, state: str, **changes: Any) -> bool:
    """Record the outcome and drop the uploaded files: raw participation data is not
    kept once it is imported or refused. Only a job still running: one stopped
    meanwhile (cancel_polis_import) keeps saying so. False when it was stopped."""
    return bool(
        PolisImport.objects.filter(pk=job_id, state=PolisImport.State.RUNNING).update(
            state=state, files=b"", finished_at=timezone.now(), **changes
        )
    )


def _date_of(ms: int | None, fallback: dt.date) -> dt.date:
    if ms is None:
        return fallback
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


@transaction.atomic
def import_polis(
    *,
    community: Community,
    actor: Any,
    export: PolisExport,
    topic: str,
    description: str = "",
    moderation: str = Conversation.Moderation.PRE,
    data_practice: Any = None,
) -> Conversation:
    """Create a closed conversation from a validated Polis export, all or nothing.

    Kept: statement ids, text, authors, moderation, meta and seed flags, participant ids
    and each participant's latest vote. Times become dates (privacy rule). Settings the
    export does not carry are the creation form's defaults, but for `moderation` and
    `data_practice`, which the import form asks for."""
    today = timezone.localdate()
    conversation = Conversation(
        community=community,
        topic=topic,
        description=description,
        moderation=moderation,
        data_practice=data_practice,
        state=Conversation.State.CLOSED,
        closed_on=today,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _check_settings(conversation)
    conversation.full_clean()
    conversation.save()
    OpinionMapResult.objects.create(conversation=conversation)
    first_day: dict[int, dt.date] = {}
    votes = export.votes
    vote_days = (
        [_date_of(int(t), today) for t in votes.time.tolist()]
        if votes.time is not None
        else [today] * len(votes)
    )
    for participant_number, day in zip(votes.participant.tolist(), vote_days, strict=True):
        if participant_number not in first_day or day < first_day[participant_number]:
            first_day[participant_number] = day
    numbers = set(first_day) | {s.author_id for s in export.statements if s.author_id >= 0}
    # Sayso's earlier exports also gave a row to people who joined without voting:
    # they come back as participants with no votes.
    numbers |= {p.participant_id for p in export.participants or ()}
    Participant.objects.bulk_create(
        [
            Participant(conversation=conversation, number=n, joined_on=first_day.get(n, today))
            for n in sorted(numbers)
        ],
        batch_size=2000,
    )
    participant_pk = dict(
        Participant.objects.filter(conversation=conversation).values_list("number", "pk")
    )
    state_of = {
        1: Statement.State.ACCEPTED,
        0: Statement.State.PENDING,
        -1: Statement.State.REJECTED,
    }
    Statement.objects.bulk_create(
        [
            Statement(
                conversation=conversation,
                number=s.statement_id,
                # The apostrophe our export puts before a formula, taken off again.
                text=unguard_formula(s.body),
                normalised=normalise_text(unguard_formula(s.body)),
                kind=Statement.Kind.SEED if s.is_seed else Statement.Kind.PARTICIPANT,
                state=state_of[s.moderated],
                is_meta=bool(s.is_meta),
                author_id=participant_pk.get(s.author_id),
                created_on=_date_of(s.timestamp, today),
            )
            for s in export.statements
        ],
        batch_size=2000,
    )
    statement_pk = dict(
        Statement.objects.filter(conversation=conversation).values_list("number", "pk")
    )
    Vote.objects.bulk_create(
        (
            Vote(
                participant_id=participant_pk[p],
                statement_id=statement_pk[s],
                value=v,
                created_on=day,
            )
            for p, s, v, day in zip(
                votes.participant.tolist(),
                votes.statement.tolist(),
                votes.value.tolist(),
                vote_days,
                strict=True,
            )
        ),
        batch_size=5000,
    )
    _queue_recompute(conversation, force=True)
    return conversation


# --- citations -----------------------------------------------------------------------


@transaction.atomic
def cite_statement(
    *,
    conversation: Conversation,
    statement: Statement,
    evidence_type: str,
    snapshot: dict[str, Any],
    actor: Any,
    note: str = "",
) -> Citation:
    if statement.conversation_id != conversation.pk:
        raise ServiceError(_("That statement is not part of this conversation."))
    return cite(
        community=conversation.community,
        source=statement,
        evidence_type=evidence_type,
        snapshot=snapshot,
        actor=actor,
        note=note,
    )


# What changes when the map is merely worked out again, not what was cited.
_RECOMPUTED_KEYS = frozenset({"computed_at"})


@transaction.atomic
def cite_from_report(
    *,
    conversation: Conversation,
    statement_id: int,
    kind: str,
    group: int | None,
    actor: Any,
) -> tuple[Citation, bool]:
    """Cite a consensus statement (kind "consensus") or what a group thinks of a
    statement (kind "group") as the current report shows it, with its figures frozen.
    Returns the citation and whether it is new: when the statement is cited already
    with the same figures, that citation is returned and nothing is added.

    Refused when the stored results do not support it: not in them, a group or vote
    count below the community's small-group threshold, or its number of votes or the
    share that makes it evidence hidden on the report to protect people
    (selectors.citation_snapshot). The other share may be hidden: it is kept as None."""
    statement = Statement.objects.filter(pk=statement_id, conversation=conversation).first()
    snapshot = (
        selectors.citation_snapshot(
            conversation, statement, kind, group, conversation.community.small_group_threshold
        )
        if statement is not None
        else None
    )
    if statement is None or snapshot is None:
        raise ServiceError(
            _(
                "That statement is not in the current results, or its number of votes or the"
                " share it would be cited for is hidden to protect people, so it cannot be"
                " cited."
            )
        )
    evidence_type = EVIDENCE_CONSENSUS if kind == "consensus" else EVIDENCE_GROUP_STATEMENT
    # Under the conversation's lock, so that two presses at once make one citation.
    _lock(conversation)
    earlier = find_citation(
        community=conversation.community,
        source=statement,
        evidence_type=evidence_type,
        snapshot=snapshot,
        ignoring=_RECOMPUTED_KEYS,
    )
    if earlier is not None:
        return earlier, False
    citation = cite_statement(
        conversation=conversation,
        statement=statement,
        evidence_type=evidence_type,
        snapshot=snapshot,
        actor=actor,
    )
    return citation, True
