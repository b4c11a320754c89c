"""State changes for conversations: set-up, joining, voting, moderation, opinion maps,
Polis import and export, and citations.

Every function is keyword-only, opens its own transaction and defers side effects (the
opinion-map recompute) with `transaction.on_commit`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sayso.analysis.opinion_map import (
    PolisExport,
    PolisImportError,
    PolisParticipant,
    PolisStatement,
    Votes,
    compute_opinion_map,
    opinion_map_to_dict,
    read_polis_export,
    write_polis_export,
)
from sayso.core.models import AuditEvent, Citation, Community
from sayso.core.services import ServiceError, cite, record, redeem_code

from . import selectors
from .models import (
    STATEMENT_MAX_LENGTH,
    Conversation,
    OpinionMapResult,
    Participant,
    Statement,
    Vote,
    normalise_text,
)

EVIDENCE_CONSENSUS = "deliberation.consensus"
EVIDENCE_GROUP_STATEMENT = "deliberation.group_statement"
EVIDENCE_TYPES = (EVIDENCE_CONSENSUS, EVIDENCE_GROUP_STATEMENT)


def recompute_seconds() -> int:
    """Debounce window: at most one recompute is queued per conversation per window."""
    return int(getattr(settings, "SAYSO", {}).get("DELIBERATION_RECOMPUTE_SECONDS", 10))


# --- setting up ----------------------------------------------------------------------


def _clean_statement_text(text: str) -> str:
    cleaned = " ".join(text.split())
    if len(cleaned) < 3:
        raise ServiceError(_("Write a statement of at least 3 characters."))
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
        if text.strip():
            add_seed_statement(conversation=conversation, text=text, actor=actor)
    return conversation


def _check_settings(conversation: Conversation) -> None:
    if conversation.access == Conversation.Access.CODES:
        batch = conversation.code_batch
        if batch is None:
            raise ServiceError(_("Choose which invitation codes let people take part."))
        if batch.community_id != conversation.community_id:
            raise ServiceError(_("Those invitation codes belong to another community."))
    if (
        conversation.data_practice_id
        and conversation.data_practice.community_id != conversation.community_id  # type: ignore[union-attr]
    ):
        raise ServiceError(_("That data practice belongs to another community."))


@transaction.atomic
def update_conversation(*, conversation: Conversation, actor: Any) -> Conversation:
    _check_settings(conversation)
    conversation.full_clean()
    conversation.save()
    _changed(conversation)
    return conversation


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


@transaction.atomic
def add_seed_statement(
    *, conversation: Conversation, text: str, actor: Any, is_meta: bool = False
) -> Statement:
    cleaned = _clean_statement_text(text)
    _lock(conversation)
    _changed(conversation)
    return Statement.objects.create(
        conversation=conversation,
        number=_next_number(conversation, Statement),
        text=cleaned,
        normalised=normalise_text(cleaned),
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
    if (
        Statement.objects.filter(conversation=conversation, normalised=normalised)
        .exclude(state=Statement.State.REJECTED)
        .exists()
    ):
        raise ServiceError(
            _("Someone has already written this statement. You can vote on it instead.")
        )
    _lock(conversation)
    _changed(conversation)
    pre = conversation.moderation == Conversation.Moderation.PRE
    return Statement.objects.create(
        conversation=conversation,
        number=_next_number(conversation, Statement),
        text=cleaned,
        normalised=normalised,
        kind=Statement.Kind.PARTICIPANT,
        state=Statement.State.PENDING if pre else Statement.State.ACCEPTED,
        author=participant,
        created_on=timezone.localdate(),
    )


# --- taking part ---------------------------------------------------------------------


@transaction.atomic
def join(*, conversation: Conversation, user: Any = None) -> Participant:
    """A new pseudonymous participant. `user` is linked only when the conversation is
    not anonymous; an anonymous participant records nothing but the date."""
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
    return Participant.objects.create(
        conversation=conversation,
        number=_next_number(conversation, Participant),
        user=linked,
        joined_on=timezone.localdate(),
    )


@transaction.atomic
def join_with_code(*, conversation: Conversation, raw_code: str) -> Participant | None:
    """Redeem an invitation code and join, all or nothing. The conversation is checked
    open under its row lock first, so a closed conversation never uses up a code.
    None when the code is not valid or already used."""
    if _lock(conversation) != Conversation.State.OPEN:
        raise ServiceError(_("This conversation has closed. You can still read its results."))
    batch = conversation.code_batch
    if batch is None or not redeem_code(batch=batch, raw_code=raw_code):
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


# --- moderation ----------------------------------------------------------------------


@transaction.atomic
def moderate(
    *, conversation: Conversation, statement_ids: Iterable[int], accept: bool, actor: Any
) -> int:
    changed = Statement.objects.filter(
        conversation=conversation, pk__in=list(statement_ids)
    ).update(state=Statement.State.ACCEPTED if accept else Statement.State.REJECTED)
    if changed:
        _changed(conversation)
        _queue_recompute(conversation, force=True)
    return changed


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
    rows = Vote.objects.filter(participant__conversation=conversation).values_list(
        "participant_id", "statement_id", "value"
    )
    flat = np.fromiter(
        (x for row in rows.iterator(chunk_size=20_000) for x in row), dtype=np.int64
    ).reshape(-1, 3)
    return Votes(
        np.ascontiguousarray(flat[:, 0]),
        np.ascontiguousarray(flat[:, 1]),
        flat[:, 2].astype(np.int8),
        None,
    )


def compute_now(*, conversation: Conversation) -> OpinionMapResult:
    """Compute and store the opinion map. Call from the task worker or a command,
    never from a request: it reads every vote of the conversation."""
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
    votes = _vote_columns(conversation)
    if len(votes) == 0:
        empty, _created = OpinionMapResult.objects.update_or_create(
            conversation=conversation,
            defaults={"data": {}, "priority": {}, "vote_count": 0, "computed_at": timezone.now()},
        )
        return empty
    result = compute_opinion_map(
        votes,
        moderated_out=[pk for pk, _state, _meta in statements if pk not in shown_ids],
        meta=[pk for pk, _state, is_meta in statements if is_meta],
        statements=[pk for pk, _state, _meta in statements],
    )
    data = opinion_map_to_dict(result)
    group_ids = sorted(int(g) for g in set(result.group.tolist()) if g >= 0)
    centres: dict[int, list[float]] = {}
    for g in group_ids:
        mask = result.group == g
        centres[g] = result.participant_projection[mask].mean(axis=0).tolist()
    stats = result.group_stats
    stored = {
        "k": data["k"],
        "n_participants": data["n_participants"],
        "n_in_conversation": data["n_in_conversation"],
        "groups": data["groups"],
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
        "timings": data["timings"],
    }
    with transaction.atomic():
        stored_result, _created = OpinionMapResult.objects.update_or_create(
            conversation=conversation,
            defaults={
                # Through JSON once, so the instance holds what the database holds (str keys).
                "data": json.loads(json.dumps(stored)),
                "priority": json.loads(json.dumps(data["priority"])),
                "vote_count": len(votes),
                "computed_at": timezone.now(),
                "error": "",
            },
        )
    return stored_result


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
NO_AUTHOR = -1  # seed statements written by organisers have no participant as author


def _day_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def build_polis_export(conversation: Conversation) -> PolisExport:
    participants = list(
        Participant.objects.filter(conversation=conversation)
        .order_by("number")
        .values_list("pk", "number")
    )
    number_of = dict(participants)
    statements = list(Statement.objects.filter(conversation=conversation).order_by("number"))
    statement_number = {s.pk: s.number for s in statements}
    votes = list(
        Vote.objects.filter(participant__conversation=conversation)
        .order_by("created_on", "pk")
        .values_list("participant_id", "statement_id", "value", "created_on")
    )
    tallies: dict[int, list[int]] = {s.pk: [0, 0] for s in statements}
    per_participant: dict[int, list[int]] = {pk: [0, 0, 0, 0] for pk, _n in participants}
    for participant_id, statement_id, value, _day in votes:
        if value == 1:
            tallies[statement_id][0] += 1
            per_participant[participant_id][1] += 1
        elif value == -1:
            tallies[statement_id][1] += 1
            per_participant[participant_id][2] += 1
        per_participant[participant_id][0] += 1
    author_number = dict(
        Participant.objects.filter(conversation=conversation).values_list("pk", "number")
    )
    for s in statements:
        if s.author_id:
            per_participant[s.author_id][3] += 1
    result = OpinionMapResult.objects.filter(conversation=conversation).first()
    groups = {int(k): int(v) for k, v in (result.data.get("groups", {}) if result else {}).items()}
    polis_statements = tuple(
        PolisStatement(
            statement_id=s.number,
            author_id=author_number[s.author_id] if s.author_id else NO_AUTHOR,
            agrees=tallies[s.pk][0],
            disagrees=tallies[s.pk][1],
            moderated=s.polis_moderated,
            body=s.text,
            timestamp=_day_ms(s.created_on),
            datetime=s.created_on.isoformat(),
            is_meta=s.is_meta,
            is_seed=s.kind == Statement.Kind.SEED,
        )
        for s in statements
    )
    column = np.array
    vote_columns = Votes(
        column([number_of[v[0]] for v in votes], dtype=np.int64),
        column([statement_number[v[1]] for v in votes], dtype=np.int64),
        column([v[2] for v in votes], dtype=np.int8),
        column([_day_ms(v[3]) for v in votes], dtype=np.int64),
    )
    polis_participants = tuple(
        PolisParticipant(
            participant_id=number,
            group_id=groups.get(pk),
            n_comments=per_participant[pk][3],
            n_votes=per_participant[pk][0],
            n_agree=per_participant[pk][1],
            n_disagree=per_participant[pk][2],
        )
        for pk, number in participants
    )
    return PolisExport(
        statements=polis_statements,
        comments_header=COMMENTS_HEADER,
        votes=vote_columns,
        vote_events=vote_columns,
        vote_datetimes=tuple(v[3].isoformat() for v in votes),
        participants=polis_participants,
        participants_statement_columns=tuple(s.number for s in statements),
    )


def export_polis(*, conversation: Conversation, actor: Any) -> bytes:
    """The conversation as a Polis export (comments.csv, votes.csv,
    participants-votes.csv) in a zip. Audit-logged: it is raw participation data."""
    export = build_polis_export(conversation)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="sayso-polis-") as folder:
        write_polis_export(folder, export)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).iterdir()):
                archive.write(path, arcname=path.name)
    record(
        community=conversation.community,
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        summary=_("%(person)s exported the conversation '%(topic)s' as Polis CSV files.")
        % {"person": actor, "topic": conversation.topic},
        conversation=conversation.pk,
        votes=len(export.votes),
    )
    return buffer.getvalue()


class ImportRefused(ServiceError):  # noqa: N818 (reads as the outcome)
    pass


def read_polis_upload(files: Mapping[str, IO[bytes]]) -> PolisExport:
    """Validate uploaded Polis files (name -> file). Raises ImportRefused naming the
    file, line and problem; nothing is written to the database here."""
    with tempfile.TemporaryDirectory(prefix="sayso-polis-") as folder:
        for name, upload in files.items():
            with (Path(folder) / name).open("wb") as handle:
                for chunk in iter(lambda upload=upload: upload.read(1 << 20), b""):  # type: ignore[misc]
                    handle.write(chunk)
        try:
            return read_polis_export(folder)
        except PolisImportError as error:
            raise ImportRefused(
                _("%(file)s, line %(line)s: %(problem)s")
                % {"file": Path(error.file).name, "line": error.line, "problem": error.problem}
            ) from None
        except UnicodeDecodeError:
            raise ImportRefused(
                _("The files must be CSV text in UTF-8, as Polis exports them.")
            ) from None


def _date_of(ms: int | None, fallback: dt.date) -> dt.date:
    if ms is None:
        return fallback
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


@transaction.atomic
def import_polis(
    *, community: Community, actor: Any, export: PolisExport, topic: str, description: str = ""
) -> Conversation:
    """Create a closed conversation from a validated Polis export, all or nothing.

    Kept: statement ids, text, authors, moderation, meta and seed flags, participant ids
    and each participant's latest vote. Times become dates (privacy rule)."""
    today = timezone.localdate()
    conversation = Conversation(
        community=community,
        topic=topic,
        description=description,
        moderation=Conversation.Moderation.POST,
        state=Conversation.State.CLOSED,
        closed_on=today,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
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
                text=s.body,
                normalised=normalise_text(s.body),
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
