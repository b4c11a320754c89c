"""Reads reused by views, the dashboard and seeds: the participant's deck and next
statement, how a participant relates to the groups, the moderation queue, the report."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
import math
import random
import re
import string
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef
from django.db.models.fields.json import KeyTransform
from django.utils.crypto import salted_hmac

from sayso.analysis.disclosure import DisclosureRefused, ProtectedTable, protect_table
from sayso.analysis.pooling import pool_small_rows

from . import personal_details
from .alike import most_alike_earlier
from .models import (
    Conversation,
    MemberJoined,
    OpinionMapResult,
    Participant,
    Statement,
    Vote,
    normalise_text,
    vote_digests,
)

# Priority of a statement the last opinion map has not seen: the spec's formula with no
# votes (A = D = S = P = 0, extremity 0) and the full novelty factor 9, squared:
# ((1 - 1/2) * 1 * (1/2) * 9)^2. New statements are routed early, as in Polis.
UNSEEN_PRIORITY = (0.25 * 9) ** 2


def member_joined_elsewhere(conversation: Conversation, user_id: int) -> bool:
    """Whether this member has joined this anonymous members-only conversation already
    (services.join records it apart from the participant): with no participant cookie
    here, they joined in another browser and carry on there."""
    return (
        conversation.anonymous
        and conversation.access == Conversation.Access.MEMBERS
        and MemberJoined.objects.filter(conversation=conversation, user_id=user_id).exists()
    )


def group_label(group: int) -> str:
    letters = string.ascii_uppercase
    return letters[group] if group < len(letters) else str(group + 1)


# --- the participant's deck ------------------------------------------------------------
#
# Routing a vote needs the conversation's settings, the statements a participant may see
# (with their text) and the latest priorities. Reading them on every vote cost most of a
# vote's time, so each process keeps them per conversation for ROUTING_SECONDS, and
# services forget them at once when they change a conversation in this process. The
# staleness is harmless: the vote itself is checked by the database at write time
# (services.cast_vote: open conversation, shown statement, own participant), and a
# refused vote reloads the state.

ROUTING_SECONDS = 2.0


# --- what a participant's page calls a statement ------------------------------------------
#
# A statement's primary key counts up across the site, and its number within the
# conversation, so either one on a participant's page would show gaps where a statement
# was rejected or is waiting (1, 2, 4: where is 3?). The vote form carries a token
# instead: the primary key through a keyed pseudorandom permutation of the numbers below
# 2**58 (a Feistel network whose round function is BLAKE2b keyed from SECRET_KEY), plus
# one. It is a whole number of at most 18 digits, as forms.parse_vote reads, shows
# nothing of the order or the gaps, and turns back into the key without a query.
# Organisers' pages, citations and the Polis export keep the stored number.

TOKEN_BITS = 58
_HALF_BITS = TOKEN_BITS // 2
_HALF_MASK = (1 << _HALF_BITS) - 1
_TOKEN_ROUNDS = 6
_token_keys: dict[str, tuple[bytes, ...]] = {}
# Tokens worked out so far (a token takes some microseconds, and each routing reload
# needs every shown statement's), for the current SECRET_KEY; bounded.
_tokens: dict[int, int] = {}
_TOKENS_KEPT = 200_000


def _round_keys() -> tuple[bytes, ...]:
    secret = settings.SECRET_KEY
    keys = _token_keys.get(secret)
    if keys is None:
        _tokens.clear()
        base = salted_hmac(
            "sayso.deliberation.statement-token", "rounds", algorithm="sha256"
        ).digest()
        keys = tuple(
            hashlib.blake2b(bytes([i]), key=base, digest_size=32).digest()
            for i in range(_TOKEN_ROUNDS)
        )
        _token_keys.clear()  # SECRET_KEY changed (tests do): keep only the current one
        _token_keys[secret] = keys
    return keys


def _mix(key: bytes, half: int) -> int:
    digest = hashlib.blake2b(half.to_bytes(4, "big"), key=key, digest_size=4).digest()
    return int.from_bytes(digest, "big") & _HALF_MASK


def statement_token(pk: int) -> int:
    """The token that stands for statement `pk` on participants' pages."""
    keys = _round_keys()
    found = _tokens.get(pk)
    if found is not None:
        return found
    if not 0 <= pk < 1 << TOKEN_BITS:
        raise ValueError(f"statement key out of range for a token: {pk}")
    left, right = pk >> _HALF_BITS, pk & _HALF_MASK
    for key in keys:
        left, right = right, left ^ _mix(key, right)
    token = (left << _HALF_BITS | right) + 1
    if len(_tokens) >= _TOKENS_KEPT:
        _tokens.clear()
    _tokens[pk] = token
    return token


def statement_of_token(token: int) -> int | None:
    """The statement key a token stands for; None for a number no token can be. Any
    other number gives some key: whoever uses it checks that the statement is shown in
    the conversation (the vote's upsert does)."""
    value = token - 1
    if not 0 <= value < 1 << TOKEN_BITS:
        return None
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for key in reversed(_round_keys()):
        left, right = right ^ _mix(key, left), left
    return left << _HALF_BITS | right


@dataclass(frozen=True)
class Routing:
    conversation: Conversation
    public_url: str
    loaded_at: float
    statements: tuple[int, ...]  # shown statements, in number order
    texts: dict[int, str]
    shown: frozenset[int]
    hidden: tuple[int, ...]  # the conversation's other statements (moderated out)
    weights: tuple[float, ...]  # routing priority of each statement in `statements`
    cumulative: tuple[float, ...]
    # The shown statements' tokens (statement_token), worked out once per reload.
    tokens: Mapping[int, int] = field(default_factory=dict)
    by_token: Mapping[int, int] = field(default_factory=dict)

    def text(self, pk: int) -> str:
        return self.texts[pk]

    def token(self, pk: int) -> int:
        found = self.tokens.get(pk)
        return statement_token(pk) if found is None else found

    def statement_for(self, token: int) -> int | None:
        found = self.by_token.get(token)
        return statement_of_token(token) if found is None else found


_routing: dict[str, Routing] = {}


def load_routing(public_token: str) -> Routing | None:
    """The routing state of a conversation, from this process's cache when fresh.

    One thread per process reloads a stale state; the others go on with the stale copy
    meanwhile (a reload reads every statement's text: not something to do eight times
    at once)."""
    now = time.monotonic()
    found = _routing.get(public_token)
    if found is not None and now - found.loaded_at < ROUTING_SECONDS:
        return found
    reloading = _reloading.setdefault(public_token, threading.Lock())
    if not reloading.acquire(blocking=found is None):
        return found  # another thread is reloading it
    try:
        current = _routing.get(public_token)
        if current is not None and current is not found and current.loaded_at >= now:
            return current  # reloaded (or forgotten and reloaded) while this one waited
        return _reload(public_token, now)
    finally:
        reloading.release()
        if public_token not in _routing:
            # No such conversation (or no longer): keep no lock for it, or every
            # made-up link requested would leave one behind for the life of the process.
            # A thread still waiting on this lock reloads once more: harmless.
            _reloading.pop(public_token, None)


_reloading: dict[str, threading.Lock] = {}


def _reload(public_token: str, now: float) -> Routing | None:
    conversation = (
        Conversation.objects.select_related("community")
        .annotate(
            map_requested_at=F("opinion_map__requested_at"),
            map_priority=F("opinion_map__priority"),
        )
        .filter(public_token=public_token)
        .first()
    )
    if conversation is None:
        _routing.pop(public_token, None)
        return None
    # Lets the vote service skip the debounce UPDATE while a recompute is already queued.
    conversation._opinion_map_requested_at = conversation.map_requested_at  # type: ignore[attr-defined]
    shown_filter = conversation.shown_statements_filter()
    rows = list(
        Statement.objects.filter(conversation=conversation)
        .filter(shown_filter)
        .order_by("number")
        .values_list("pk", "text")
    )
    hidden = Statement.objects.filter(conversation=conversation).exclude(shown_filter)
    found = build_routing(
        conversation,
        rows,
        conversation.map_priority or {},  # type: ignore[attr-defined]
        now,
        hidden=hidden.values_list("pk", flat=True),
    )
    _routing[public_token] = found
    return found


def build_routing(
    conversation: Conversation,
    rows: Sequence[tuple[int, str]],
    priority: Mapping[str, float],
    loaded_at: float = 0.0,
    hidden: Iterable[int] = (),
) -> Routing:
    """Routing state from the shown statements (pk, text) and the published map's
    priorities (services._routing_priority). A statement the map has no priority for
    (added since, or every statement while the map holds fewer than the threshold of
    people) gets UNSEEN_PRIORITY, as Polis gives a new statement; so does one the map
    gives 0, which it gives only statements moderated out when it was worked out (one
    accepted since must be dealt until the next version, which may be long in coming)."""
    weights = tuple(max(float(priority.get(str(pk)) or UNSEEN_PRIORITY), 1e-9) for pk, _t in rows)
    tokens = {pk: statement_token(pk) for pk, _text in rows}
    return Routing(
        conversation=conversation,
        public_url=conversation.get_public_url(),
        loaded_at=loaded_at,
        statements=tuple(pk for pk, _text in rows),
        texts=dict(rows),
        shown=frozenset(pk for pk, _text in rows),
        hidden=tuple(hidden),
        weights=weights,
        cumulative=tuple(itertools.accumulate(weights)),
        tokens=tokens,
        by_token={token: pk for pk, token in tokens.items()},
    )


def forget_routing(conversation: Conversation) -> None:
    """Drop this process's routing state after the conversation or its statements change."""
    _routing.pop(conversation.public_token, None)


def voted_ids(participant_id: int | None) -> set[int]:
    """The statements a participant has voted on: one index-only read."""
    if participant_id is None:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT statement_id FROM {Vote._meta.db_table} WHERE participant_id = %s",  # noqa: S608 (table name from the model)
            [participant_id],
        )
        return {row[0] for row in cursor.fetchall()}


def next_statement(
    routing: Routing, voted: Collection[int], rng: random.Random | None = None
) -> int | None:
    """Draw an unvoted statement with probability proportional to its priority
    (Polis's selectProbabilistically), as published: build_routing."""
    for pk in _draw(routing, rng or _rng):
        if pk not in voted:
            return pk
    return _exact_draw(routing, voted, rng or _rng)


def _draw(routing: Routing, rng: random.Random, n: int = 16) -> list[int]:
    """`n` independent draws from the whole deck by priority.

    Rejection sampling: the first draw that lands on an unvoted statement is distributed
    exactly as one draw among the unvoted statements, and costs a bisect instead of a
    pass over the deck; `_exact_draw` decides when every draw was voted already."""
    statements = routing.statements
    if not statements:
        return []
    total = routing.cumulative[-1]
    last = len(statements) - 1
    cumulative = routing.cumulative
    return [
        statements[min(bisect.bisect_right(cumulative, rng.random() * total), last)]
        for _ in range(n)
    ]


def _exact_draw(routing: Routing, voted: Collection[int], rng: random.Random) -> int | None:
    unvoted = [i for i, pk in enumerate(routing.statements) if pk not in voted]
    if not unvoted:
        return None
    index = rng.choices(unvoted, weights=[routing.weights[i] for i in unvoted], k=1)[0]
    return routing.statements[index]


MAX_HIDDEN_IN_QUERY = 100


def next_for(
    routing: Routing, participant_id: int | None, rng: random.Random | None = None
) -> tuple[int | None, Progress]:
    """The participant's next statement and progress, reading only what routing needs:
    which of a few drawn candidates they voted on, and how many shown statements they
    voted on (one index-only query, however many votes they have cast). Falls back to
    reading all their votes when every candidate was voted already."""
    chooser = rng or _rng
    if participant_id is None:
        return next_statement(routing, (), chooser), Progress(0, len(routing.statements))
    if len(routing.hidden) > MAX_HIDDEN_IN_QUERY:
        voted = voted_ids(participant_id)
        return next_statement(routing, voted, chooser), progress(routing, voted)
    drawn = _draw(routing, chooser)
    candidates = list(dict.fromkeys(drawn))
    table = Vote._meta.db_table
    sql = [
        f"SELECT statement_id FROM {table} WHERE participant_id = %s",  # noqa: S608 (model table)
        f" AND statement_id IN ({', '.join(['%s'] * len(candidates))})" if candidates else "",
        f" UNION ALL SELECT -1 - COUNT(*) FROM {table} WHERE participant_id = %s",  # noqa: S608
    ]
    params = [participant_id, *candidates, participant_id]
    if routing.hidden:
        sql.append(f" AND statement_id NOT IN ({', '.join(['%s'] * len(routing.hidden))})")
        params.extend(routing.hidden)
    if not candidates:
        sql[0] += " AND 1 = 0"
    with connection.cursor() as cursor:
        cursor.execute("".join(sql), params)
        rows = [row[0] for row in cursor.fetchall()]
    count = next((-1 - value for value in rows if value < 0), 0)
    voted = {value for value in rows if value > 0}
    total = len(routing.statements)
    found = Progress(voted=min(count, total), total=total)
    for pk in drawn:
        if pk not in voted:
            return pk, found
    if count >= total:
        return None, found
    everything = voted_ids(participant_id)
    return _exact_draw(routing, everything, chooser), progress(routing, everything)


_rng = random.Random()


@dataclass(frozen=True)
class Progress:
    voted: int
    total: int

    @property
    def remaining(self) -> int:
        return self.total - self.voted

    @property
    def number(self) -> int:
        """The number of the statement shown now ("Statement 3 of 20")."""
        return self.voted + 1


def progress(routing: Routing, voted: Collection[int]) -> Progress:
    return Progress(voted=len(routing.shown.intersection(voted)), total=len(routing.statements))


# --- the opinion map, as stored ----------------------------------------------------------


@dataclass(frozen=True)
class Group:
    number: int
    label: str
    size: int
    centre: tuple[float, float]
    statements: list[dict[str, Any]] = field(default_factory=list)
    # The label of the shown group whose centre is nearest on the map: the map's text
    # alternative says which groups sit closest instead of giving coordinates.
    closest: str = ""

    @property
    def anchor(self) -> str:
        return f"group-{self.label}"


@dataclass(frozen=True)
class Figures:
    """One row of a statement's figures as a page may show them: the share of the votes
    that agreed and that disagreed (whole per cent) and the number of votes, each None
    when hidden to protect people."""

    agree: int | None
    disagree: int | None
    votes: int | None

    def citable(self, key: str | None) -> bool:
        """Whether the row may be cited as evidence: its number of votes is shown and so
        is the share that makes it evidence (`key`, "agree" or "disagree"; None, when
        nothing says which, either). The other share may be hidden: a citation keeps it
        as the report shows it, None, so it discloses nothing the report does not.
        Asking for every figure kept the strongest agreement (86 % of 58, fewer than 5
        disagreeing) out of the community's asks."""
        if self.votes is None:
            return False
        if key is None:
            return self.agree is not None or self.disagree is not None
        return {"agree": self.agree, "disagree": self.disagree}[key] is not None


HIDDEN = Figures(agree=None, disagree=None, votes=None)


@dataclass(frozen=True)
class StatementFigures:
    """What may be shown about one statement: everyone's figures and each shown group's
    (by group number). `too_few` when fewer than the threshold voted on it at all.
    `passed`: the share of everyone's votes that passed (whole per cent), the pass cell
    of the same protected table, None when hidden; the moderation queue shows it."""

    overall: Figures
    groups: Mapping[int, Figures]
    too_few: bool
    passed: int | None = None


@dataclass
class MapView:
    """The stored opinion map made readable, with small groups left out."""

    computed_at: Any
    vote_count: int
    groups: list[Group]
    hidden_groups: int
    statement_index: dict[int, int]
    agree: list[list[int]]
    disagree: list[list[int]]
    seen: list[list[int]]
    data: dict[str, Any]
    threshold: int
    _figures: dict[int, StatementFigures] = field(default_factory=dict, repr=False)

    def counts(self, group: int, statement: int) -> tuple[int, int, int]:
        """(agree, disagree, pass) votes of a group on a statement, unprotected: for
        choosing what to look at, never for showing (that is `figures`)."""
        column = self.statement_index.get(statement)
        if column is None:
            return (0, 0, 0)
        agree, disagree = self.agree[group][column], self.disagree[group][column]
        return (agree, disagree, self.seen[group][column] - agree - disagree)

    def figures(self, statement: int) -> StatementFigures:
        """The statement's figures under disclosure control (`statement_figures`),
        worked out once per view."""
        found = self._figures.get(statement)
        if found is None:
            found = self._figures[statement] = statement_figures(self, statement)
        return found


def map_view(result: OpinionMapResult | None, threshold: int) -> MapView | None:
    if result is None or not result.is_current or not result.data.get("statements"):
        return None
    data = result.data
    sizes = {int(g): int(n) for g, n in data["group_sizes"].items()}
    centres = {int(g): tuple(c) for g, c in data["group_centres"].items()}
    shown = [g for g in sorted(sizes) if sizes[g] >= threshold]
    groups = [
        Group(
            number=g,
            label=group_label(g),
            size=sizes[g],
            centre=(float(centres[g][0]), float(centres[g][1])) if g in centres else (0.0, 0.0),
        )
        for g in shown
    ]
    groups = [
        replace(g, closest=min(others, key=lambda o: math.dist(g.centre, o.centre)).label)
        if (others := [o for o in groups if o.number != g.number])
        else g
        for g in groups
    ]
    return MapView(
        computed_at=result.computed_at,
        vote_count=result.vote_count,
        groups=groups,
        hidden_groups=len(sizes) - len(shown),
        statement_index={int(s): i for i, s in enumerate(data["statements"])},
        agree=data["group_agree"],
        disagree=data["group_disagree"],
        seen=data["group_seen"],
        data=data,
        threshold=threshold,
    )


# --- what may be shown about a statement --------------------------------------------------
#
# A statement's votes make one table: a row for each shown group, a row for everyone
# else (people in groups too small to show, and people not placed in a group), and a
# column each for agree, disagree and pass, with its totals. Every figure a page shows
# about the statement is part of it: the overall percentages beside the number of votes
# are the totals row, a group's percentages beside its voters are the group's row, a
# pass count is its row's total less agree and disagree, and the "everyone else" row is
# the totals less the shown groups. Each page hiding its own small figures was not
# enough: 1 agree in a group of 12 shows as 8 %, and the overall figures less two
# groups' gave back how the two people outside the groups voted. So the whole table is
# protected at once, as survey results are (analysis/disclosure.protect_table): a
# count from 1 to the threshold less one is hidden, in the body or the totals, and
# further cells are hidden until no hidden count can be worked out from the rest.
# A hidden figure is hidden on every page that could show it. A group or everyone all
# voting the same way is shown: opinion groups are not known sets of people, and
# agreement across a group is what a conversation is for.


def _pass(agree: int, disagree: int, total: int) -> int:
    return total - agree - disagree


def statement_figures(view: MapView, statement: int) -> StatementFigures:
    """Everyone's and each shown group's figures on `statement`, protected together."""
    threshold = view.threshold
    agree, disagree, total = view.data.get("tallies", {}).get(str(statement), (0, 0, 0))
    rows = [view.counts(g.number, statement) for g in view.groups]
    everyone = (agree, disagree, _pass(agree, disagree, total))
    rest = tuple(everyone[c] - sum(row[c] for row in rows) for c in range(3))
    too_few = total < threshold
    if too_few or min(rest) < 0:
        return StatementFigures(HIDDEN, {g.number: HIDDEN for g in view.groups}, too_few)
    body = [*rows, rest]
    every_count = [*everyone, total, *(n for counts in body for n in (*counts, sum(counts)))]
    table: ProtectedTable | None = None  # None: nothing small, every cell shown
    if any(0 < n < threshold for n in every_count):
        try:
            table = protect_table(body, threshold=threshold, zeros_disclosive=False)
        except DisclosureRefused:
            return StatementFigures(HIDDEN, {g.number: HIDDEN for g in view.groups}, False)

    if table is not None and _filled_to_capacity(view, table, body):
        # Every hidden row's voters are its whole group (or everyone outside the shown
        # groups): the sizes pin those totals, which the table's protection had counted
        # on moving. Only the number of votes is left.
        overall = Figures(agree=None, disagree=None, votes=total)
        return StatementFigures(overall, {g.number: HIDDEN for g in view.groups}, False)

    def hidden(i: int, column: int) -> bool:
        return table is not None and table.is_hidden(i, column)

    def row(i: int, counts: tuple[int, int, int]) -> Figures:
        if hidden(i, 3):  # the row's total: its percentages would need it
            return HIDDEN
        votes = sum(counts)
        return Figures(
            agree=None if hidden(i, 0) else _percent(counts[0], votes),
            disagree=None if hidden(i, 1) else _percent(counts[1], votes),
            votes=votes,
        )

    overall = row(len(body), everyone)
    return StatementFigures(
        overall=overall,
        groups={g.number: row(i, rows[i]) for i, g in enumerate(view.groups)},
        too_few=False,
        passed=None
        if overall.votes is None or hidden(len(body), 2)
        else _percent(everyone[2], total),
    )


def _filled_to_capacity(
    view: MapView, table: ProtectedTable, body: Sequence[Sequence[int]]
) -> bool:
    """Whether the rows whose number of voters is hidden all voted to the last person.

    A reader knows more than the table: at most a group's size voted in it, and at most
    everyone who joined less the shown groups outside them. The hidden rows' voters add
    up to the votes less the shown rows' voters; when that is every one of their people,
    each hidden row's voters are known after all, and a hidden count that could only
    move with them (everyone outside the groups agreeing, say) is known too."""
    rows = range(len(body))
    hidden_rows = [i for i in rows if table.is_hidden(i, 3)]
    if not hidden_rows:
        return False
    joined = [row[2] for row in view.data.get("over_time", [])]
    outside = sum(joined) - sum(g.size for g in view.groups)
    capacity = [g.size for g in view.groups] + [max(outside, 0)]
    voters = sum(sum(body[i]) for i in hidden_rows)
    return bool(voters >= sum(capacity[i] for i in hidden_rows))


# --- how a participant relates to the groups --------------------------------------------


@dataclass(frozen=True)
class Relation:
    label: str
    size: int
    # % of compared votes that match the group's majority; None when none compared.
    agreement: int | None
    compared: int
    is_yours: bool


@dataclass(frozen=True)
class StoredGroups:
    """Who is in which group in the published map: participant ids (sorted) and their
    group (-1 when not clustered), read from the map's warm-start arrays (which, like
    `data`, change only when a version is published: services.store_recomputed)."""

    ids: np.ndarray
    groups: np.ndarray

    def group(self, participant_id: int) -> int | None:
        at = int(np.searchsorted(self.ids, participant_id))
        if at >= len(self.ids) or int(self.ids[at]) != participant_id:
            return None
        group = int(self.groups[at])
        return group if group >= 0 else None


def stored_groups(result: OpinionMapResult | None) -> StoredGroups:
    """The groups of a current stored map; empty before one is computed."""
    arrays = result.warm_start_arrays() if result is not None and result.is_current else {}
    return StoredGroups(
        ids=arrays.get("participant_ids", np.zeros(0, dtype=np.int64)),
        groups=arrays.get("group", np.zeros(0, dtype=np.int16)),
    )


def group_of(result: OpinionMapResult | None, participant_id: int) -> int | None:
    """The participant's group in the published map; None when not clustered (yet)."""
    return stored_groups(result).group(participant_id)


def publication_step(conversation: Conversation) -> int:
    """How many participants must have voted, or changed a vote, since the published
    map before a new one is published (services.publication_due).

    The report hides small groups with the community's threshold for every audience
    that may read it (organisers, members, and anyone with the link for a link
    conversation: views._report_context), so the widest audience's threshold is that
    one too. Read when a recompute decides, so a threshold raised since applies to the
    next version at once."""
    return int(conversation.community.small_group_threshold)


def votes_published(result: OpinionMapResult | None, participant: Participant) -> bool:
    """Whether the published map holds the participant's votes as they are now (the
    digest kept for it matches theirs: models.vote_digests). A map with no digests
    kept (tests write maps directly) holds whoever it placed."""
    if result is None or not result.is_current:
        return False
    digests = result.published_digests()
    if digests is None:
        return group_of(result, participant.pk) is not None
    rows = list(Vote.objects.filter(participant=participant).values_list("statement_id", "value"))
    if not rows:
        return False
    statements, values = zip(*rows, strict=True)
    _ids, mine = vote_digests(
        np.full(len(rows), participant.pk, dtype=np.int64),
        np.asarray(statements, dtype=np.int64),
        np.asarray(values, dtype=np.int64),
    )
    ids, published = digests
    at = int(np.searchsorted(ids, participant.pk))
    return at < len(ids) and int(ids[at]) == participant.pk and published[at] == mine[0]


def relation(
    view: MapView, participant: Participant, own: int | None
) -> tuple[list[Relation], bool]:
    """Per shown group, how often the participant voted with its majority; `own` is the
    participant's group (group_of). The second value is True when the participant's own
    group is too small to show.

    A statement counts only where the report's own figures settle which way most of the
    group voted (`report_majorities`). The page must tell no more than the report: a
    participant can vote the other way on one statement and read the page again, so it
    gives away, statement by statement, whether it was compared and which way the
    group leaned. Worked out from hidden counts, that told how the one or two people
    who voted one way in a group had voted.

    Why not every statement whose majority is clear by at least the threshold (agree
    less disagree of 5 or more, or the reverse)? One changed vote cannot flip such a
    majority, but that is not what a reader learns: they learn the inequality itself,
    about counts the report hides. The report's protection hides a cell and then hides
    others (often zeros, which cost least) so that no hidden count can be worked out;
    an inequality about those cells can undo that (test_review15_report_relation.py
    has a table where it gives away 2 people outside the groups who disagreed). What
    the report's figures settle gives nothing away that the report does not."""
    votes = dict(
        Vote.objects.filter(participant=participant)
        .exclude(value=Vote.Value.PASS)
        .values_list("statement_id", "value")
    )
    settled = {pk: report_majorities(view, pk) for pk in votes if pk in view.statement_index}
    relations = []
    for group in view.groups:
        compared = matched = 0
        for statement_id, value in votes.items():
            majority = settled.get(statement_id, {}).get(group.number)
            if majority is None:
                continue  # the report's figures do not say which way the group leaned
            compared += 1
            matched += int(value == majority)
        relations.append(
            Relation(
                label=group.label,
                size=group.size,
                agreement=round(100 * matched / compared) if compared else None,
                compared=compared,
                is_yours=own == group.number,
            )
        )
    own_hidden = own is not None and all(g.number != own for g in view.groups)
    return relations, own_hidden


_INFINITY = float("inf")


def _count_range(percent: int | None, votes: int | None, most: float) -> tuple[float, float]:
    """The counts a reader can tell a share stands for: every count out of `votes` that
    rounds to `percent` (as _percent rounds); 0 to `most` when the share is hidden."""
    if percent is None or votes is None:
        return (0.0, most)
    centre = percent * votes / 100
    window = range(
        max(0, math.floor(centre - votes / 100) - 1),
        min(votes, math.ceil(centre + votes / 100) + 1) + 1,
    )
    found = [k for k in window if _percent(k, votes) == percent]
    return (float(min(found)), float(max(found))) if found else (0.0, float(votes))


def report_majorities(view: MapView, statement: int) -> dict[int, int]:
    """By shown group number, which way most of the group voted on `statement` (1 agree,
    -1 disagree), for the groups where the report's figures settle it: where every table
    of votes that agrees with what the report shows about the statement (everyone's and
    each shown group's shares and votes, a shown group's voters at most its size) has
    more agreeing than disagreeing in the group, or fewer.

    Worked out from those figures alone (`statement_figures`), never from the counts
    behind them, so that it says nothing the report does not: two statements whose
    figures are shown alike get the same answer, whatever their hidden counts. The
    bounds come from the table's sums (each row's cells add up to its votes, each
    column's to everyone's), tightened in turn until they settle; they may leave a
    majority unsettled that a cleverer reader could settle, never the reverse."""
    figures = view.figures(statement)
    overall = figures.overall
    if figures.too_few or overall.votes is None:
        return {}
    groups = view.groups
    n = len(groups)
    # Bounds: cells[i][c] for the shown groups then everyone else (agree, disagree,
    # pass), rows[i] their votes, columns[c] everyone's, and the number of votes.
    total = float(overall.votes)
    cells: list[list[list[float]]] = []
    rows: list[list[float]] = []
    for g in groups:
        shown = figures.groups[g.number]
        most = float(shown.votes) if shown.votes is not None else float(g.size)
        rows.append(
            [float(shown.votes), float(shown.votes)] if shown.votes is not None else [0.0, most]
        )
        cells.append(
            [
                list(_count_range(shown.agree, shown.votes, most)),
                list(_count_range(shown.disagree, shown.votes, most)),
                [0.0, most],
            ]
        )
    rows.append([0.0, total])
    cells.append([[0.0, total], [0.0, total], [0.0, total]])
    columns = [
        list(_count_range(overall.agree, overall.votes, total)),
        list(_count_range(overall.disagree, overall.votes, total)),
        [0.0, total],
    ]
    grand = [total, total]
    # Each sum: (the bounds of its parts, the bounds of its total).
    sums = [(cells[i], rows[i]) for i in range(n + 1)]
    sums += [([cells[i][c] for i in range(n + 1)], columns[c]) for c in range(3)]
    sums += [(rows, grand), (columns, grand)]
    for _round in range(50):
        changed = False
        for parts, whole in sums:
            low = sum(p[0] for p in parts)
            high = sum(p[1] for p in parts)
            if low > whole[0] or high < whole[1]:
                whole[0], whole[1] = max(whole[0], low), min(whole[1], high)
                changed = True
            for p in parts:
                others_low, others_high = low - p[0], high - p[1]
                floor, ceiling = whole[0] - others_high, whole[1] - others_low
                if floor > p[0] or ceiling < p[1]:
                    p[0], p[1] = max(p[0], floor), min(p[1], ceiling)
                    changed = True
        if not changed:
            break
    found = {}
    for i, g in enumerate(groups):
        agree, disagree = cells[i][0], cells[i][1]
        if agree[0] > disagree[1]:
            found[g.number] = 1
        elif disagree[0] > agree[1]:
            found[g.number] = -1
    return found


# --- statements' votes on organisers' pages -----------------------------------------------
#
# The moderation queue and the conversation's page show organisers how many votes each
# statement has and, in the queue, its pass rate. Counted live, those moved with every
# vote: an organiser who knew when someone voted (they sent the link, or sat beside
# them) could watch a statement's passes go from 3 to 4 and learn that this person
# passed. So these figures are the published map's, as the report's are: they change
# only when at least the threshold of people voted since the last version
# (services.publication_due), and small counts are hidden by the report's own rules
# (statement_figures), so the two pages never show what the report would not.


@dataclass(frozen=True)
class Counted:
    """A statement's votes and pass rate as organisers' pages show them.

    `in_map`: the published map counted the statement (False: nothing is published yet,
    or the statement was added since). `too_few`: fewer than the threshold had voted on
    it. `votes` and `pass_rate` (whole per cent) are None when hidden to protect people.
    `no_votes`: the published map holds no vote on it (0 is no small count: shown), so a
    statement nobody could vote on (waiting, held or rejected) is not said to have
    "fewer than 5 votes"."""

    in_map: bool
    too_few: bool = False
    no_votes: bool = False
    votes: int | None = None
    pass_rate: int | None = None


NOT_COUNTED = Counted(in_map=False, no_votes=True)


@dataclass(frozen=True)
class PublishedCounts:
    """The published map's figures for each statement; `counted_at` is when the map was
    worked out, None when nothing is published (no votes yet, or results hidden until
    the conversation closes)."""

    view: MapView | None

    @property
    def counted_at(self) -> Any:
        return self.view.computed_at if self.view is not None else None

    def of(self, statement: int) -> Counted:
        view = self.view
        if view is None or statement not in view.statement_index:
            return NOT_COUNTED
        shown = view.figures(statement)
        total = view.data.get("tallies", {}).get(str(statement), (0, 0, 0))[2]
        return Counted(
            in_map=True,
            too_few=shown.too_few,
            no_votes=total == 0,
            votes=shown.overall.votes,
            pass_rate=shown.passed,
        )


def published_counts(
    conversation: Conversation, threshold: int, result: OpinionMapResult | None = None
) -> PublishedCounts:
    """Each statement's votes and pass rate from the published map: one query (the
    stored map), however many statements and votes."""
    if result is None:
        result = stored_map(conversation)
    return PublishedCounts(map_view(result, threshold))


# --- the moderation queue ---------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    statement: Statement
    # Votes and pass rate as published (published_counts), never the live count.
    counted: Counted
    hints: tuple[str, ...]
    # Whether anyone has voted on it, now: its words may be changed only until then
    # (services.edit_refusal), so the "Edit" link must follow the live votes. It says
    # that someone voted, never how.
    has_votes: bool


SHORT_CHARACTERS = 20  # a statement under this many characters is flagged "Very short"


def spam_hints(text: str, duplicate_of: int | None, alike_to: int | None = None) -> tuple[str, ...]:
    from django.utils.translation import gettext as _

    hints = []
    if duplicate_of is not None:
        hints.append(_("Same words as statement %(n)s") % {"n": duplicate_of})
    elif alike_to is not None:
        hints.append(_("Much like statement %(n)s") % {"n": alike_to})
    lowered = text.lower()
    if "http://" in lowered or "https://" in lowered or "www." in lowered:
        hints.append(_("Contains a link"))
    letters = [c for c in re.sub(r"\S*(?:https?://|www\.)\S*", "", text) if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        hints.append(_("Mostly capital letters"))
    if len(normalise_text(text).split()) < 3:
        # Few words is not the same as short: one 280-letter "word" is long.
        short = len(" ".join(text.split())) < SHORT_CHARACTERS
        hints.append(_("Very short") if short else _("Only one or two words"))
    if any(text.count(c * 4) for c in set(text) if not c.isspace()):
        hints.append(_("Repeated characters"))
    # Personal details: under post-moderation such a statement is shown at once.
    said = {
        personal_details.EMAIL: _("May contain an email address"),
        personal_details.PHONE: _("May contain a phone number"),
        personal_details.POSTCODE: _("May contain a postcode"),
        personal_details.HANDLE: _("May contain a social media name (@…)"),
        personal_details.NAME: _("May name a person"),
    }
    hints.extend(said[kind] for kind in personal_details.personal_details(text))
    return tuple(hints)


def moderation_queue(
    conversation: Conversation, state: str, counts: PublishedCounts
) -> list[QueueItem]:
    """The statements in `state` with their hints and their published figures
    (`counts`, from published_counts): two queries, however many statements."""
    statements = list(
        Statement.objects.filter(conversation=conversation, state=state)
        .annotate(has_votes=Exists(Vote.objects.filter(statement=OuterRef("pk"))))
        .order_by("number")
    )
    first_with_text: dict[str, int] = {}
    kept = list(
        Statement.objects.filter(conversation=conversation)
        .exclude(state=Statement.State.REJECTED)
        .order_by("number")
        .values_list("number", "normalised")
    )
    for number, normalised in kept:
        first_with_text.setdefault(normalised, number)
    alike = most_alike_earlier(kept) if statements else {}
    items = []
    for s in statements:
        # An empty normalised text (emoji only, from before statements needed words, or
        # imported) holds no words to be a duplicate of (services.same_words).
        earlier = first_with_text.get(s.normalised) if s.normalised else None
        # Shown numbers count from 1 (the detail page's, the labels here); stored ones
        # from 0, as Polis's comment ids do.
        duplicate = earlier + 1 if earlier is not None and earlier != s.number else None
        like = alike.get(s.number)
        items.append(
            QueueItem(
                statement=s,
                counted=counts.of(s.pk),
                hints=spam_hints(s.text, duplicate, None if like is None else like + 1),
                has_votes=s.has_votes,
            )
        )
    return items


# --- the report ------------------------------------------------------------------------


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def stored_map(conversation: Conversation) -> OpinionMapResult | None:
    """The conversation's stored map without the per-participant arrays (`warm_start`),
    which only the recompute and a participant's own page need."""
    return OpinionMapResult.objects.filter(conversation=conversation).defer("warm_start").first()


def report(
    conversation: Conversation, threshold: int, result: OpinionMapResult | None = None
) -> dict[str, Any]:
    """Everything the report shows, read from the stored map (worked out by the task
    worker) and the conversation's statements: two queries, however many votes.

    Every figure about a statement comes from `MapView.figures` (protected with the
    statement's other figures), and the headline figures are the totals of the
    participation table: no figure on the page less another gives a count from 1 to the
    threshold less one."""
    if result is None:
        result = stored_map(conversation)
    view = map_view(result, threshold)
    statements = {
        s.pk: s
        for s in Statement.objects.filter(conversation=conversation).filter(
            conversation.shown_statements_filter()
        )
    }

    def row(
        pk: int, figures: Figures, too_few: bool = False, key: str | None = None
    ) -> dict[str, Any]:
        # `key`: the share that makes the row evidence, which must be shown for it to be
        # cited (Figures.citable); the template names it when it is hidden.
        return {
            "statement": statements[pk],
            "agree": figures.agree,
            "disagree": figures.disagree,
            "votes": figures.votes,
            "shown": figures.votes is not None,
            "too_few": too_few,
            "key": key,
            "citable": figures.citable(key),
        }

    over_time = participation_over_time(result, threshold)
    context: dict[str, Any] = {
        "map": view,
        "result": result,
        "over_time": over_time,
        # services._dates_unknown: imported from files that date every vote alike.
        "dates_unknown": bool(
            result is not None and result.is_current and result.data.get("dates_unknown")
        ),
    }
    if view is None:
        return context

    def overall(pk: int, key: str | None = None) -> dict[str, Any]:
        shown = view.figures(pk)
        return row(pk, shown.overall, shown.too_few, key)

    # The headline figures are the participation table's totals, read from the same
    # stored counts: "participants" less the table's new participants was the number
    # who joined without voting, and the two were counted at different moments.
    context["participants"] = _column_total(over_time, "joined")
    context["votes"] = _column_total(over_time, "votes")
    context["outside"] = _outside_groups(context["participants"], view)
    eligible = {pk for pk, s in statements.items() if not s.is_meta}
    for group in view.groups:
        for pk, direction in representative(view, group.number, eligible):
            figures = view.figures(pk).groups[group.number]
            group.statements.append(
                {
                    **row(pk, figures, key=direction),
                    "direction": direction,
                    "voters": figures.votes,
                }
            )
    context["consensus_agree"] = _broad(view, statements, "agree", overall)
    context["consensus_disagree"] = _broad(view, statements, "disagree", overall)
    tallies = view.data.get("tallies", {})
    gic = sorted(
        (
            (float(v), int(k))
            for k, v in view.data["group_informed_consensus"].items()
            if int(k) in statements
            and not statements[int(k)].is_meta
            and _voted_by_every_group(view, int(k), tallies, threshold)
            and _every_group_leans_to_agree(view, int(k))
        ),
        reverse=True,
    )
    context["group_informed"] = [
        {**overall(pk), "score": round(100 * score) if _score_shown(view, pk) else None}
        for score, pk in gic[:5]
    ]
    context["divisive"] = _divisive(view, statements)
    context["divisive_gap"] = DIVISIVE_GAP
    return context


REPRESENTATIVE_SHOWN = 5  # as Polis's pick-repness


def representative(view: MapView, group: int, eligible: Collection[int]) -> list[tuple[int, str]]:
    """The statements "What group X thinks" lists, as (statement, direction): those the
    stored map lists for the group (`repness`, Polis's top picks, at most five) that are
    still `eligible` (shown, not meta), and no others, put in order by what the page
    shows: a row whose number of votes and key share (the direction's) are shown first,
    then one with only the other share shown, then one with nothing but its votes or
    nothing at all; within each kind agree before disagree, as Polis lists them, each in
    the stored order.

    What the list depends on: which statements are listed, on the stored picks and the
    statements' moderation alone; their order, on that and the figures shown in the
    rows (`statement_figures`, each statement's own protected table), which the page
    shows anyway. So two maths outputs with the same picks and the same shown figures
    give the same list, whatever the counts behind them.

    The picks themselves are chosen by the maths from the raw counts (each group's
    agree, disagree and pass counts against the other groups', groups too small to show
    included), as in Polis: whether a statement is listed at all can depend on counts
    the report hides. That older, smaller exposure is left as Polis has it (closing it
    would mean choosing the picks from shown figures only, in the maths). Going beyond
    the picks to find statements whose figures are shown (choosing more from the stored
    counts whenever a picked row had a hidden figure, as review 15 did at first) added a
    choice made just where figures are hidden, on the small counts behind them: one vote
    in a group too small to show changed which statement was listed
    (test_review15_report_leaks.py). A group's section may therefore list a row of
    "hidden" figures; it says why it cannot be cited."""
    stored = [
        (int(entry["statement"]), str(entry["direction"]))
        for entry in view.data["repness"].get(str(group), [])[:REPRESENTATIVE_SHOWN]
    ]
    listed = [
        (pk, direction) for pk, direction in stored if pk in eligible and pk in view.statement_index
    ]

    def kind(found: tuple[int, str]) -> int:
        figures = view.figures(found[0]).groups[group]
        if figures.citable(found[1]):
            return 0
        return 1 if figures.citable(None) else 2

    order = {found: i for i, found in enumerate(listed)}
    return sorted(listed, key=lambda found: (kind(found), found[1] != "agree", order[found]))


def _broad(
    view: MapView,
    statements: Mapping[int, Statement],
    direction: str,
    overall: Any,
) -> list[dict[str, Any]]:
    """The rows of "Where most people agree" (or disagree), each citable when its votes
    and its `direction`'s share are shown. A statement fewer than the threshold voted
    on is left out, as the group sections leave out small groups: listing it under
    "most people agree" beside "fewer than 5 votes" told readers how those few people
    voted (all of them agreed)."""
    rows = []
    for found in view.data["consensus"][direction]:
        pk = int(found["statement"])
        if pk in statements and not view.figures(pk).too_few:
            rows.append(overall(pk, direction))
    return rows


def _outside_groups(participants: int | None, view: MapView) -> int | str | None:
    """How the report speaks of the people in no group it shows: those it could not
    place (too few votes, or none) and those in groups too small to show, never told
    apart. None when there is nobody to speak of (or the number who joined is not
    shown); "few" when they are fewer than the threshold; else their number.

    Their number is the number who joined less the shown groups' sizes, all on the
    page. Told apart, the people placed in a group too small to show would be that
    group's size; together they are not, and with no more than one hidden group a
    number of the threshold or more cannot be its size (a hidden group is smaller)."""
    if participants is None or not view.groups:
        return None
    outside = participants - sum(g.size for g in view.groups)
    if outside <= 0:
        return None
    return "few" if outside < view.threshold else outside


def _column_total(rows: Sequence[Mapping[str, Any]], key: str) -> int | None:
    """A column's total as the participation table implies it: None (read "fewer than
    the threshold") when its only row says so."""
    values = [r[key] for r in rows]
    return None if None in values else sum(values)


def _score_shown(view: MapView, pk: int) -> bool:
    """Whether a statement's group-informed consensus score may be shown: it multiplies
    (agree + 1) / (votes + 2) over every group, so it is shown only when every group is
    shown with its agree share and votes on the statement, and the score says nothing
    they do not. Beside those figures, a score that also counted a group too small to
    show (or a hidden share) gave back how that group voted."""
    if view.hidden_groups:
        return False
    shown = view.figures(pk)
    return all(
        shown.groups[g.number].agree is not None and shown.groups[g.number].votes is not None
        for g in view.groups
    )


DIVISIVE_SHOWN = 5
# How far apart two shown groups' agree shares must be, in points, for a statement to be
# listed under "Where the groups split". The groups are made by clustering votes, so
# they differ a little on nearly every statement: 81 % against 73 %, or 75 % against
# 71 %, is every group agreeing, and listing it as a split misled readers. One group
# mostly agreeing while another mostly disagrees (65 % agree against 65 % disagree, so
# at most 35 % agree) is at least 30 points apart; so is one group clearly for and
# another divided (85 % against 50 %). And 30 points is more than chance makes likely
# with groups of a useful size: two groups of 20 votes that think alike (50 % each)
# differ by 30 points or more about one time in seventeen (the difference's standard
# error is 16 points). Smaller groups differ by chance more, hence the test below.
DIVISIVE_GAP = 30
# The gap must also be more than chance with the votes it rests on: a one-sided test of
# two shares at Polis's level for what sets a group apart (z > 1.2816, 90 %; see
# polis-math.md, "significance"). Two groups of 5 votes need about 40 points.
DIVISIVE_Z = 1.2816


def _divisive(view: MapView, statements: Mapping[int, Statement]) -> list[dict[str, Any]]:
    """The statements on which two shown groups clearly differ (`_splits_groups`),
    widest gap first, chosen from the figures the page shows and nothing else: every
    shown group's agree share and votes, which must be shown for the statement to be
    listed. A group's hidden figures, the groups too small to show and the people
    outside every group play no part, so whether a statement is listed gives none of
    them away.

    Each row shows every shown group's agree and disagree shares and votes, from the
    same protected figures as the rest of the report: a disagree share hidden there
    (None) is hidden here too."""
    if len(view.groups) < 2:
        return []
    candidates = []
    for pk, statement in statements.items():
        if statement.is_meta or pk not in view.statement_index:
            continue
        figures = view.figures(pk)
        rows = [figures.groups[g.number] for g in view.groups]
        if any(f.agree is None or f.votes is None or f.votes < view.threshold for f in rows):
            continue  # the table shows every group's agree share, over enough votes
        gap = _splits_groups([(f.agree or 0, f.votes or 0) for f in rows])
        if gap is not None:
            candidates.append((gap, pk, rows))
    candidates.sort(key=lambda found: (-found[0], found[1]))
    return [
        {
            "statement": statements[pk],
            "spread": gap,
            "by_group": [
                {"label": g.label, "agree": f.agree, "disagree": f.disagree, "votes": f.votes}
                for g, f in zip(view.groups, rows, strict=True)
            ],
        }
        for gap, pk, rows in candidates[:DIVISIVE_SHOWN]
    ]


def _splits_groups(shares: Sequence[tuple[int, int]]) -> int | None:
    """The widest gap in points between two groups' agree shares, given as (agree %,
    votes), when it is at least DIVISIVE_GAP and more than chance given their votes
    (DIVISIVE_Z); else None."""
    pairs = sorted(
        ((a - b, a, n, b, m) for (a, n), (b, m) in itertools.permutations(shares, 2)),
        reverse=True,
    )
    for gap, high, n, low, m in pairs:
        if gap < DIVISIVE_GAP:
            return None
        pooled = (high * n + low * m) / (100 * (n + m))
        error = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
        if error > 0 and gap / 100 / error > DIVISIVE_Z:
            return gap
    return None


def _voted_by_every_group(
    view: MapView, pk: int, tallies: Mapping[str, Sequence[int]], threshold: int
) -> bool:
    """Whether a statement has the votes to be called common ground: at least `threshold`
    votes in all (so its figures are shown beside it) and at least one in every group,
    the groups too small to show included.

    The score (Polis's group-aware consensus, the product over groups of (A + 1)/(S + 2))
    gives a group that has not voted on a statement 1/2 from the prior alone, so with
    two groups a statement nobody voted on scores 25, above one that really divides
    them. Polis computes it for every statement and leaves the choosing to the report;
    ours leaves out what no vote supports."""
    if tallies.get(str(pk), (0, 0, 0))[2] < threshold:
        return False
    column = view.statement_index.get(pk)
    return column is not None and all(seen[column] > 0 for seen in view.seen)


def _every_group_leans_to_agree(view: MapView, pk: int) -> bool:
    """Whether most of every shown group's votes on a statement agree: common ground.
    The score ranks; it does not choose. A statement one group wholly rejects still
    scores about 9 (two groups of 14 and 8, one all agreeing, one all disagreeing), and
    with few statements such a one was listed as common ground. The groups too small to
    show are left out of this choice, so that whether a statement is listed says
    nothing of how they voted."""
    for group in view.groups:
        agree, disagree, passed = view.counts(group.number, pk)
        if 2 * agree <= agree + disagree + passed:
            return False
    return True


def participation_over_time(
    result: OpinionMapResult | None, threshold: int
) -> list[dict[str, Any]]:
    """Votes and new participants per day as of the stored map.

    A day with fewer than `threshold` votes or new participants gets no row of its own:
    such days are added up in one "other days" row (`pooled` "other"), with the next
    quietest days when they add up to fewer than `threshold`, so that no small count
    can be worked out by taking the shown days from the report's totals. When every
    day is pooled the one row stands for all days (`pooled` "all")."""
    if result is None or not result.is_current:
        return []
    return _pooled_days(result.data.get("over_time", []), threshold)


def _pooled_days(rows: Sequence[Sequence[Any]], threshold: int) -> list[dict[str, Any]]:
    """participation_over_time from the stored rows ([day, votes, joined])."""
    pooled = pool_small_rows(
        [(dt.date.fromisoformat(day), (votes, joined)) for day, votes, joined in rows],
        threshold=threshold,
    )
    shown: list[dict[str, Any]] = [
        {"day": day, "votes": votes, "joined": joined, "pooled": None}
        for day, (votes, joined) in pooled.rows
    ]
    if pooled.other is not None:
        shown.append(
            {
                "day": None,
                "votes": pooled.other[0],
                "joined": pooled.other[1],
                "pooled": "all" if pooled.everything_pooled else "other",
            }
        )
    return shown


# --- conversations' counts on members' pages ------------------------------------------
#
# The dashboard, the list of conversations and a conversation's page show members and
# advisors how many people joined and voted as the report does (its headline figures,
# the totals of its table of days), never live counts: the report holds back the votes
# of fewer than the threshold of people and pools quiet days, and a live count read
# before and after two people voted said that exactly 2 people cast exactly 4 votes (and
# read every day, how many took part each day). Organisers see live counts.


@dataclass(frozen=True)
class Totals:
    """A conversation's headline figures as its report shows them: None for "fewer
    than" the threshold."""

    participants: int | None
    votes: int | None


def published_totals(
    conversations: Iterable[Conversation], threshold: int
) -> dict[int, Totals | None]:
    """By conversation pk, the report's headline figures (report: the totals of
    participation_over_time), or None where the report shows members none: nothing
    published yet, or results hidden until the conversation closes. One query for them
    all, reading from each stored map only its table of days (and whether it has
    statements: map_view)."""
    conversations = list(conversations)
    visible = [c.pk for c in conversations if c.results_visible]
    found: dict[int, Totals | None] = dict.fromkeys((c.pk for c in conversations), None)
    if not visible:
        return found
    rows = (
        OpinionMapResult.objects.filter(conversation_id__in=visible)
        .annotate(
            map_format=KeyTransform("format", "data"),
            map_days=KeyTransform("over_time", "data"),
            map_first=KeyTransform("0", KeyTransform("statements", "data")),
        )
        .values_list("conversation_id", "map_format", "map_days", "map_first")
    )
    for pk, format_, days, first in rows:
        if format_ != OpinionMapResult.FORMAT or first is None:
            continue  # as map_view: no map, no figures
        shown = _pooled_days(days or [], threshold)
        found[pk] = Totals(_column_total(shown, "joined"), _column_total(shown, "votes"))
    return found


def citation_snapshot(
    conversation: Conversation, statement: Statement, kind: str, group: int | None, threshold: int
) -> dict[str, Any] | None:
    """What a citation freezes: the statement and the figures behind it as the report
    shows them, or None when the current results do not support it: not computed, a
    group too small to show, or the number of votes or the share that makes it
    evidence hidden on the report (Figures.citable). The other share, when the report
    hides it, is kept as None, never its true value: a citation shows nothing the report
    does not."""
    from django.urls import reverse

    view = map_view(stored_map(conversation), threshold)
    if view is None or statement.conversation_id != conversation.pk:
        return None
    url = reverse(
        "deliberation:report",
        kwargs={"slug": conversation.community.slug, "conversation": conversation.pk},
    )
    base = {
        "title": statement.text,
        "conversation": conversation.topic,
        "statement_number": statement.number,
        "computed_at": view.computed_at.isoformat() if view.computed_at else None,
        "url": url,
    }
    if kind == "consensus":
        # Listed under "most people agree", the agree share is the evidence; under
        # "disagree", the disagree share.
        directions = [
            d
            for d in ("agree", "disagree")
            if any(int(c["statement"]) == statement.pk for c in view.data["consensus"][d])
        ]
        figures = view.figures(statement.pk).overall
        if not any(figures.citable(d) for d in directions):
            return None
        return {
            **base,
            "kind": "consensus",
            "agree_percent": figures.agree,
            "disagree_percent": figures.disagree,
            "votes": figures.votes,
        }
    shown = {g.number: g for g in view.groups}
    if group is None or group not in shown or statement.pk not in view.statement_index:
        return None
    figures = view.figures(statement.pk).groups[group]
    # The direction the statement sets the group apart in, as "What group A thinks"
    # lists it (`representative`: the stored picks only); a statement not listed there
    # has none, and either shown share will do.
    eligible = set(
        Statement.objects.filter(conversation=conversation, is_meta=False)
        .filter(conversation.shown_statements_filter())
        .values_list("pk", flat=True)
    )
    direction = dict(representative(view, group, eligible)).get(statement.pk)
    if not figures.citable(direction):
        return None
    return {
        **base,
        "kind": "group",
        "group": shown[group].label,
        "group_size": shown[group].size,
        "agree_percent": figures.agree,
        "disagree_percent": figures.disagree,
        "votes": figures.votes,
    }
