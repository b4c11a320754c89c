"""Conversations: Polis-style deliberation with statements, votes and opinion maps.

Privacy (DESIGN.md §6): an anonymous participant is a per-conversation pseudonym with no
user link, no IP address and only the date it joined; votes carry a date, never a time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import secrets
import unicodedata
from typing import Any

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from numpy.typing import NDArray

STATEMENT_MAX_LENGTH = 280


def new_public_token() -> str:
    """18 characters of the invitation codes' alphabet (capitals and digits, no 0/O or
    1/I), 90 bits: copied off a poster without mistakes, and not guessed. Links made
    before (token_urlsafe) keep working: a token is looked up as it is."""
    from sayso.core.models import CODE_ALPHABET

    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(18))


def normalise_text(text: str) -> str:
    """Lower-case letters and digits only, single-spaced: equal for near-identical text."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    return " ".join(re.sub(r"[^\w\s]|_", " ", folded).split())[:STATEMENT_MAX_LENGTH]


# A code proves that someone belongs without saying who (DESIGN.md §6): people who come
# in with a code never have their account linked (services.join_with_code), so a
# conversation with codes that is "not anonymous" would promise organisers something it
# cannot give. The form and the service refuse that combination with these words.
CODES_ARE_ANONYMOUS = _(
    "People who take part with an invitation code are always anonymous: the code shows "
    "they belong, not who they are. Tick “Anonymous participation”, or choose another "
    "way for people to take part."
)


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def open(self) -> ConversationQuerySet:
        return self.filter(state=Conversation.State.OPEN)


class Conversation(models.Model):
    class Moderation(models.TextChoices):
        PRE = "pre", _("Check statements before anyone sees them")
        POST = "post", _("Show statements straight away; remove bad ones afterwards")

    class Access(models.TextChoices):
        LINK = "link", _("Anyone with the link")
        MEMBERS = "members", _("Members of the community (signed in)")
        CODES = "codes", _("People with an invitation code")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    community = models.ForeignKey(
        "core.Community", on_delete=models.CASCADE, related_name="conversations"
    )
    topic = models.CharField(
        _("question"),
        max_length=200,
        help_text=_(
            "The question people respond to, for example 'What should the rules be for the "
            "scanner productivity data?'"
        ),
    )
    description = models.TextField(
        _("background"), blank=True, help_text=_("Optional. What people should know first.")
    )
    data_practice = models.ForeignKey(
        "organisations.DataPractice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("about this data practice"),
    )
    moderation = models.CharField(
        _("moderation"), max_length=10, choices=Moderation.choices, default=Moderation.PRE
    )
    participants_can_add = models.BooleanField(_("participants may add statements"), default=True)
    anonymous = models.BooleanField(
        _("anonymous participation"),
        default=True,
        help_text=_("Nobody, organisers included, can see who voted or who wrote a statement."),
    )
    access = models.CharField(
        _("who can take part"), max_length=10, choices=Access.choices, default=Access.LINK
    )
    code_batch = models.ForeignKey(
        "core.InvitationCodeBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invitation codes"),
    )
    results_hidden_until_closed = models.BooleanField(
        _("hide results until the conversation closes"), default=False
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    public_token = models.CharField(max_length=32, unique=True, default=new_public_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_on = models.DateField(null=True, blank=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.topic

    def get_absolute_url(self) -> str:
        return reverse(
            "deliberation:detail", kwargs={"slug": self.community.slug, "conversation": self.pk}
        )

    def get_public_url(self) -> str:
        return reverse(
            "deliberation_public:participate", kwargs={"public_token": self.public_token}
        )

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    @property
    def results_visible(self) -> bool:
        """Results for participants and members (organisers always see them)."""
        return not (self.results_hidden_until_closed and self.is_open)

    def shown_statements_filter(self) -> Q:
        """Statements participants see: pre-moderation shows accepted ones only,
        post-moderation those waiting too, never held or rejected ones."""
        if self.moderation == self.Moderation.PRE:
            return Q(state=Statement.State.ACCEPTED)
        return Q(state__in=[Statement.State.ACCEPTED, Statement.State.PENDING])


class Participant(models.Model):
    """A pseudonym inside one conversation. `number` is its Polis participant id."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    number = models.PositiveIntegerField()
    # Only for non-anonymous conversations; anonymous participants have no user link.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    joined_on = models.DateField()
    # SHA-256 of the random join token of the page the participant joined from (views:
    # join tokens), so that a double submit of the first vote joins once. "" for none.
    join_digest = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "number"], name="participant_number_unique"
            ),
            models.UniqueConstraint(
                fields=["conversation", "join_digest"],
                condition=~Q(join_digest=""),
                name="one_participant_per_join_token",
            ),
            models.UniqueConstraint(
                fields=["conversation", "user"],
                condition=Q(user__isnull=False),
                name="one_participant_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"participant {self.number}"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


def random_member_joined_id() -> int:
    """A random key: sequential keys would line members up with participants by order."""
    return secrets.randbits(62)


class MemberJoined(models.Model):
    """That a member joined an anonymous members-only conversation, and nothing about
    which participant they are: so that each member takes part once (not once per
    browser or sign-in) without their votes being traceable to them. No date: the
    participant's own date would line the two up."""

    # A BigAutoField so that SQLite takes the id as the row's own key (INTEGER PRIMARY
    # KEY): with any other key it keeps a hidden row number counting up, in the order
    # members joined, which is the order of the participants' numbers. Always random.
    id = models.BigAutoField(primary_key=True, default=random_member_joined_id, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="member_joins_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} joined {self.conversation_id}"


class Statement(models.Model):
    class Kind(models.TextChoices):
        SEED = "seed", _("Seed statement")
        PARTICIPANT = "participant", _("Added by a participant")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        # A participant's statement that may contain personal details (personal_details), in a
        # conversation that shows new statements straight away: kept back until an
        # organiser has checked it, as pre-moderation would.
        HELD = "held", _("Held: may contain personal details")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="statements"
    )
    number = models.PositiveIntegerField()  # Polis comment id
    # New statements are kept to STATEMENT_MAX_LENGTH by forms and services; imported
    # Polis comments can be longer and are kept whole, so the round trip loses nothing.
    text = models.TextField(_("statement"))
    normalised = models.CharField(max_length=STATEMENT_MAX_LENGTH, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SEED)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACCEPTED)
    is_meta = models.BooleanField(
        _("about the conversation itself"),
        default=False,
        help_text=_("A statement about the conversation, not its topic; shown but not mapped."),
    )
    author = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_on = models.DateField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "number"], name="statement_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def community_id(self) -> Any:
        """Citations check that evidence belongs to the citing community."""
        return self.conversation.community_id

    @property
    def polis_moderated(self) -> int:
        return {
            self.State.ACCEPTED: 1,
            self.State.PENDING: 0,
            self.State.HELD: 0,
            self.State.REJECTED: -1,
        }[self.State(self.state)]


class Vote(models.Model):
    class Value(models.IntegerChoices):
        AGREE = 1, _("Agree")
        DISAGREE = -1, _("Disagree")
        PASS = 0, _("Pass / unsure")

    # No index of their own: (participant, statement) and (statement, value) below start
    # with each, and every index is written on every vote.
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    value = models.SmallIntegerField(choices=Value.choices)
    # A date, never a time: a precise time could be matched to a person.
    created_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "statement"], name="one_vote_per_statement"
            ),
        ]
        indexes = [models.Index(fields=["statement", "value"])]

    def __str__(self) -> str:
        return f"{self.participant} {self.value:+d} on {self.statement_id}"


# Bumped whenever vote_digests changes: digests of another scheme are not compared (a
# recompute takes the current votes as published instead), since every participant
# would look changed and the next version would be published however few had voted.
VOTE_DIGEST_SCHEME = 1
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def vote_digests(
    participant: NDArray[Any], statement: NDArray[Any], value: NDArray[Any]
) -> tuple[NDArray[np.int64], NDArray[np.uint64]]:
    """Each participant's votes as one 64-bit number: (participant ids, sorted; digests).

    The sum (modulo 2**64) of a well-mixed hash (splitmix64's finaliser) of each
    (statement, value) pair, so the order of the rows does not matter; any new or
    changed vote changes it. Two different sets of votes giving the same digest only
    delays a publication (a change goes uncounted), never hastens one."""
    if len(participant) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    key = (np.asarray(statement, dtype=np.int64).astype(np.uint64) << np.uint64(2)) | (
        np.asarray(value, dtype=np.int64) + 1
    ).astype(np.uint64)
    key = key ^ (key >> np.uint64(30))
    key = key * _MIX_1
    key = key ^ (key >> np.uint64(27))
    key = key * _MIX_2
    key = key ^ (key >> np.uint64(31))
    people = np.asarray(participant, dtype=np.int64)
    order = np.argsort(people, kind="stable")
    ids, starts = np.unique(people[order], return_index=True)
    return ids, np.add.reduceat(key[order], starts).astype(np.uint64)


def changed_participants(
    published: tuple[NDArray[np.int64], NDArray[np.uint64]],
    current: tuple[NDArray[np.int64], NDArray[np.uint64]],
) -> int:
    """How many participants' votes differ between two sets of digests (vote_digests):
    new participants, participants whose votes changed, and participants gone."""
    old_ids, old_digests = published
    new_ids, new_digests = current
    _common, at_old, at_new = np.intersect1d(
        old_ids, new_ids, assume_unique=True, return_indices=True
    )
    same = int(np.count_nonzero(old_digests[at_old] == new_digests[at_new]))
    return len(old_ids) + len(new_ids) - len(at_old) - same


class OpinionMapResult(models.Model):
    """A conversation's opinion map: the published version, and the latest priorities.

    The map is recomputed in the background after votes, but what readers see changes
    only when it is published (services.store_recomputed): when at least the small-group
    threshold of participants voted differently from the version published last. A map
    that moved with each vote would let anyone who knows when a colleague voted compare
    the report before and after and read that one person's votes.

    `data`, `vote_count`, `computed_at` and `warm_start` are the published version.
    `data` holds what the report shows, all sized by statements and groups, never by
    votes (keys are Statement primary keys as strings), so a report reads one row
    whatever the number of votes. `warm_start` holds the per-participant state of the
    map (groups, base clusters, who is in the conversation, the principal components)
    as compressed numpy arrays: the next recompute starts from it so that groups stay
    stable as votes arrive, and it is where a participant's group is looked up.
    `priority`, which routes each vote and is never shown, is the published version's
    too (empty, so routing is even, while that holds fewer than the threshold of
    people: services._routing_priority), as anyone can measure it by loading the
    participate page again and again; it is split out so routing reads a small column.
    """

    # Bumped when `data` gains or changes keys: a result in an older format is treated
    # as not computed yet (and recomputed) rather than shown with figures missing.
    FORMAT = 2

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="opinion_map"
    )
    data = models.JSONField(default=dict)
    priority = models.JSONField(default=dict)
    vote_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    # When a recompute was last queued; more votes inside the debounce window add nothing.
    requested_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    warm_start = models.BinaryField(default=b"", blank=True, editable=False)
    # Whose votes the published version holds: for each participant in it, a digest of
    # their votes (VOTE_DIGEST), so that the next recompute can count the participants
    # who voted, or changed a vote, since (services.store_recomputed), and a
    # participant's page can tell whether their latest votes are in it (selectors),
    # reading 16 bytes a participant rather than the copy of the votes
    # (PublishedVotes, which only the export reads). Never shown.
    published_votes = models.BinaryField(default=b"", blank=True, editable=False)
    # Whether a recompute found votes that the published version leaves out: the report
    # of a closed conversation says that the last few people's votes are not in it.
    held_back = models.BooleanField(default=False, editable=False)

    def __str__(self) -> str:
        return f"opinion map of {self.conversation_id}"

    def published_digests(self) -> tuple[NDArray[np.int64], NDArray[np.uint64]] | None:
        """(participant ids, sorted; their vote digests) of the published version, or
        None when there is no record (nothing published, or digests of another scheme)."""
        if not self.published_votes:
            return None
        with np.load(io.BytesIO(bytes(self.published_votes)), allow_pickle=False) as stored:
            if int(stored["scheme"]) != VOTE_DIGEST_SCHEME:
                return None
            return stored["participant_ids"].astype(np.int64), stored["digests"].astype(np.uint64)

    @staticmethod
    def pack_digests(ids: NDArray[np.int64], digests: NDArray[np.uint64]) -> bytes:
        return OpinionMapResult.pack_arrays(
            scheme=np.asarray(VOTE_DIGEST_SCHEME, dtype=np.int64),
            participant_ids=np.asarray(ids, dtype=np.int64),
            digests=np.asarray(digests, dtype=np.uint64),
        )

    @property
    def is_current(self) -> bool:
        """Computed, and in the format this code reads."""
        return bool(self.data) and self.data.get("format") == self.FORMAT

    def warm_start_arrays(self) -> dict[str, NDArray[Any]]:
        """The stored per-participant state by name; empty before the first compute."""
        if not self.warm_start:
            return {}
        with np.load(io.BytesIO(bytes(self.warm_start)), allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}

    @staticmethod
    def pack_arrays(**arrays: NDArray[Any]) -> bytes:
        """Compressed .npz bytes (no pickles: loading them never runs code)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()


# Stored with each copy (PublishedCopy.pack). A change to the stored arrays bumps it
# and comes with a migration that rewrites the copies kept, or drops them (the export
# then waits, and the next recompute makes one where it can: services.store_recomputed).
PUBLISHED_COPY_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class PublishedCopy:
    """The votes a published version holds, compactly, by participant.

    `participant_ids` are sorted; participant i's votes are rows starts[i] to
    starts[i + 1], by statement. Each vote is an index into `statement_ids` (2 bytes
    while a conversation has fewer than 65,536 statements voted on), a value (1 byte)
    and, in a named conversation only, its day as days since 1970-01-01 (4 bytes): 3 or 7
    bytes a vote in memory, about 14 MB for 2 million votes of a named conversation."""

    participant_ids: NDArray[np.int64]
    starts: NDArray[np.int64]
    statement_ids: NDArray[np.int64]
    statement_index: NDArray[np.unsignedinteger[Any]]
    value: NDArray[np.int8]
    day: NDArray[np.int32] | None

    def __len__(self) -> int:
        return len(self.value)

    @classmethod
    def of(
        cls,
        participant: NDArray[Any],
        statement: NDArray[Any],
        value: NDArray[Any],
        day: NDArray[Any] | None,
    ) -> PublishedCopy:
        """A copy of these votes (one per participant and statement), in any order."""
        people = np.asarray(participant, dtype=np.int64)
        statements = np.asarray(statement, dtype=np.int64)
        order = np.lexsort((statements, people))
        people = people[order]
        statement_ids, index = np.unique(statements[order], return_inverse=True)
        ids, counts = np.unique(people, return_counts=True)
        starts = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        narrow = np.uint16 if len(statement_ids) <= np.iinfo(np.uint16).max + 1 else np.uint32
        return cls(
            participant_ids=ids.astype(np.int64),
            starts=starts,
            statement_ids=statement_ids.astype(np.int64),
            statement_index=index.reshape(-1).astype(narrow),
            value=np.asarray(value, dtype=np.int8)[order],
            day=None if day is None else np.asarray(day, dtype=np.int32)[order],
        )

    def pack(self) -> bytes:
        """Compressed .npz bytes; the participants stored as how many votes each has."""
        arrays: dict[str, NDArray[Any]] = {
            "format": np.asarray(PUBLISHED_COPY_FORMAT, dtype=np.int64),
            "participant_ids": self.participant_ids,
            "counts": np.diff(self.starts).astype(np.int32),
            "statement_ids": self.statement_ids,
            "statement_index": self.statement_index,
            "value": self.value,
        }
        if self.day is not None:
            arrays["day"] = self.day
        return OpinionMapResult.pack_arrays(**arrays)

    @classmethod
    def unpack(cls, data: bytes) -> PublishedCopy:
        """The copy packed in `data` (by `pack`)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            if int(stored["format"]) != PUBLISHED_COPY_FORMAT:
                raise ValueError("a published copy in another format")
            starts = np.zeros(len(stored["counts"]) + 1, dtype=np.int64)
            np.cumsum(stored["counts"], out=starts[1:])
            return cls(
                participant_ids=stored["participant_ids"].astype(np.int64),
                starts=starts,
                statement_ids=stored["statement_ids"].astype(np.int64),
                statement_index=stored["statement_index"],
                value=stored["value"].astype(np.int8, copy=False),
                day=stored["day"].astype(np.int32, copy=False) if "day" in stored.files else None,
            )

    def columns(
        self,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int8], NDArray[np.int32] | None]:
        """(participant, statement, value, day or None) per vote, in full (24 bytes a vote
        or more: for tests and the occasional recompute, not the export)."""
        participant = np.repeat(self.participant_ids, np.diff(self.starts))
        return participant, self.statement_ids[self.statement_index], self.value, self.day

    def votes_of(self, participant_id: int) -> slice | None:
        """The rows of one participant's votes; None when the copy has none of theirs."""
        at = int(np.searchsorted(self.participant_ids, participant_id))
        if at >= len(self.participant_ids) or int(self.participant_ids[at]) != participant_id:
            return None
        return slice(int(self.starts[at]), int(self.starts[at + 1]))

    def tallies(self, participant_ids: NDArray[Any]) -> dict[int, tuple[int, int]]:
        """statement pk -> (agrees, disagrees) over the votes of those of
        `participant_ids` that the copy holds; counted a slice of votes at a time, so
        that it needs 1 byte a vote more, not 16."""
        kept = np.repeat(
            np.isin(self.participant_ids, np.asarray(participant_ids, dtype=np.int64)),
            np.diff(self.starts),
        )
        n = len(self.statement_ids)
        counts = np.zeros(3 * n, dtype=np.int64)  # (disagree, pass, agree) per statement
        for start in range(0, len(self), _TALLY_SLICE):
            part = slice(start, start + _TALLY_SLICE)
            key = self.statement_index[part].astype(np.int64) * 3 + self.value[part] + 1
            counts += np.bincount(key[kept[part]], minlength=3 * n)
        by_statement = counts.reshape(n, 3)
        return {
            int(pk): (int(agree), int(disagree))
            for pk, (disagree, _pass, agree) in zip(
                self.statement_ids.tolist(), by_statement.tolist(), strict=True
            )
            if agree or disagree
        }


_TALLY_SLICE = 1 << 18


class PublishedVotes(models.Model):
    """A copy of exactly the votes a map's published version holds (PublishedCopy),
    written with it (services.store_recomputed), for the Polis export: it writes these,
    so that an export says what the published results say and no more, whoever has
    voted since. In a table of its own so that the pages that read the map never load
    it (2 to 4 MB for 2 million votes).

    `arrays` is None when the published version's votes are not known: it was
    published before copies were kept and someone in it has voted again since, so the
    export waits for the next version. Never shown."""

    result = models.OneToOneField(
        OpinionMapResult,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="published_copy",
    )
    arrays = models.BinaryField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"published votes of {self.result_id}"

    def unpack(self) -> PublishedCopy | None:
        """The copy; None when the published votes are not known."""
        if self.arrays is None:
            return None
        return PublishedCopy.unpack(bytes(self.arrays))


class PolisImport(models.Model):
    """A validated Polis upload waiting for (or done with) the task worker.

    The upload is checked in the request, so that a bad file is refused at once; the
    tens of thousands of rows are written by the worker, not a web worker. `files` holds
    the uploaded CSV files (zipped) only until the import has run: they are raw
    participation data and are not kept once imported or refused."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be imported")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Not imported")

    community = models.ForeignKey(
        "core.Community", on_delete=models.CASCADE, related_name="polis_imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    topic = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # As chosen on the import form, for the conversation the worker creates.
    moderation = models.CharField(
        max_length=4, choices=Conversation.Moderation.choices, default=Conversation.Moderation.PRE
    )
    data_practice = models.ForeignKey(
        "organisations.DataPractice",
        on_delete=models.SET_NULL,  # deleted since the upload: about none
        null=True,
        blank=True,
        related_name="+",
    )
    files = models.BinaryField(default=b"", blank=True, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The imported votes all carry one day (or none were imported), recorded when the
    # import writes them: the report then says their dates are not known. Never worked
    # out again from the conversation's votes, which later include live ones.
    dates_unknown = models.BooleanField(default=False, editable=False)

    def __str__(self) -> str:
        return f"Polis import {self.pk}: {self.topic}"

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
