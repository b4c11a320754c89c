"""The Polis export writes the published votes from a copy kept with the published
version, so that someone in the published results voting again no longer stops it.

The defect: the published version kept only a digest of each participant's votes, so
once anyone in it voted again the export was refused ("voted again") until the next
publication: in a busy conversation, or just after closing, most of the time. Now
services.store_recomputed keeps a copy of exactly the published votes
(models.PublishedVotes) and the export writes those: two exports with no publication
between them are the same, whoever voted in between.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zipfile
from typing import Any

import numpy as np
import pytest
from django.test import Client

from sayso.core.models import AuditEvent, Community, Role
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.deliberation import models, selectors, services
from sayso.deliberation.models import (
    Conversation,
    OpinionMapResult,
    Participant,
    Statement,
    Vote,
    vote_digests,
)

from .factories import ConversationFactory, planted
from .helpers import community_url, public

pytestmark = pytest.mark.django_db

STEP = 5  # the community's small-group threshold here
FILES = ("comments.csv", "participants-votes.csv", "votes.csv", "summary.csv")
LONG_AGO = dt.date.today() - dt.timedelta(days=3)


@pytest.fixture
def community(db: None) -> Community:
    found: Community = CommunityFactory.create(slug="depot", small_group_threshold=STEP)
    return found


@pytest.fixture
def client(community: Community) -> Client:
    return signed_in(MembershipFactory.create(community=community, role=Role.ORGANISER).user)


def _conversation(community: Community, **options: Any) -> tuple[Conversation, list[Statement]]:
    """20 people in two blocs voting on 8 statements three days ago, published."""
    conversation = ConversationFactory.create(community=community, **options)
    planted(conversation, groups=2, size=10, statements=8)
    Vote.objects.filter(participant__conversation=conversation).update(created_on=LONG_AGO)
    services.compute_now(conversation=conversation)
    return conversation, list(
        Statement.objects.filter(conversation=conversation).order_by("number")
    )


def _files(archive: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: list(csv.reader(io.StringIO(opened.read(name).decode()))) for name in FILES}


def _export(conversation: Conversation, seed: int = 3) -> dict[str, list[list[str]]]:
    """Every file of an export, numbered with a fixed random order in an anonymous one."""
    return _files(
        services.export_polis(conversation=conversation, actor=None, rng=random.Random(seed))
    )


def _counts(files: dict[str, list[list[str]]]) -> dict[str, tuple[str, str]]:
    header, *rows = files["comments.csv"]
    at = header.index
    return {row[at("comment-id")]: (row[at("agrees")], row[at("disagrees")]) for row in rows}


def _exports_logged() -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()


def _first(conversation: Conversation) -> Participant:
    found = Participant.objects.filter(conversation=conversation).order_by("number").first()
    assert found is not None
    return found


def _vote_again(participant: Participant, statement: Statement, value: int) -> None:
    """A changed vote as the vote form writes it: a new value, dated today."""
    changed = Vote.objects.filter(participant=participant, statement=statement).update(
        value=value, created_on=dt.date.today()
    )
    assert changed == 1


def _newcomers(conversation: Conversation, statement: Statement, n: int) -> None:
    for _ in range(n):
        response = Client().post(
            public(conversation),
            {"statement": selectors.statement_token(statement.pk), "vote": "agree"},
        )
        assert response.status_code == 303


def _copy(conversation: Conversation) -> set[tuple[int, int, int, int | None]]:
    """The stored copy as (participant, statement, value, day or None) rows, the day in
    days since 1970-01-01."""
    stored = models.PublishedVotes.objects.get(result__conversation=conversation)
    copy = stored.unpack()
    assert copy is not None
    participant, statement, value, day = copy.columns()
    days = [None] * len(value) if day is None else day.tolist()
    return set(zip(participant.tolist(), statement.tolist(), value.tolist(), days, strict=True))


def _live(conversation: Conversation, *, days: bool) -> set[tuple[int, int, int, int | None]]:
    return {
        (p, s, v, (d - dt.date(1970, 1, 1)).days if days else None)
        for p, s, v, d in Vote.objects.filter(participant__conversation=conversation).values_list(
            "participant_id", "statement_id", "value", "created_on"
        )
    }


# --- voting again after a publication ------------------------------------------------


@pytest.mark.parametrize("anonymous", [True, False])
def test_an_export_taken_after_someone_in_the_results_votes_again_is_the_same(
    community: Community, client: Client, anonymous: bool
) -> None:
    conversation, statements = _conversation(community, anonymous=anonymous)
    before = _export(conversation)
    first = _first(conversation)
    assert Vote.objects.get(participant=first, statement=statements[7]).value == 1

    # One person in the published results votes again: before the recompute, and after
    # it (one person is fewer than the step: nothing is published).
    _vote_again(first, statements[7], -1)
    assert _export(conversation) == before
    computed_at = OpinionMapResult.objects.get(conversation=conversation).computed_at
    services.compute_now(conversation=conversation)
    assert OpinionMapResult.objects.get(conversation=conversation).computed_at == computed_at
    after = _export(conversation)
    # Every file row for row (the same random numbering from the same seed): their
    # published vote and, in a named conversation, its published day.
    assert after == before
    assert _counts(after)["7"] == ("20", "0")
    if not anonymous:
        header, *rows = after["votes.csv"]
        assert {row[header.index("datetime")] for row in rows} == {LONG_AGO.isoformat()}
    assert _exports_logged() == 3

    # Through the page: a file, not a refusal.
    response = client.get(community_url(conversation, "export"))
    assert response["Content-Type"] == "application/zip"
    streamed = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert _counts(_files(streamed)) == _counts(before)

    # The step reached: the next version holds the changed vote, and so does the export.
    _newcomers(conversation, statements[1], STEP - 1)
    services.compute_now(conversation=conversation)
    updated = _export(conversation)
    assert _counts(updated)["7"] == ("19", "1")
    assert _counts(updated)["1"] != _counts(before)["1"]


def test_a_vote_changed_while_the_export_streams_is_written_as_published(
    community: Community,
) -> None:
    conversation, statements = _conversation(community)
    before = _export(conversation)
    stream = services.stream_polis_export(
        conversation=conversation, actor=None, rng=random.Random(3)
    )
    _vote_again(_first(conversation), statements[7], -1)
    assert _files(b"".join(stream)) == before


# --- the copy kept with the published version -----------------------------------------


@pytest.mark.parametrize("anonymous", [True, False])
def test_publishing_keeps_a_copy_of_exactly_the_published_votes(
    community: Community, anonymous: bool
) -> None:
    conversation, statements = _conversation(community, anonymous=anonymous)
    published = _live(conversation, days=not anonymous)
    assert len(published) == 160
    assert _copy(conversation) == published
    # The digests kept for the report's "you" page are those of the same votes.
    stored = models.PublishedVotes.objects.get(result__conversation=conversation).unpack()
    assert stored is not None
    participant, statement, value, _day = stored.columns()
    ids, digests = vote_digests(participant, statement, value)
    kept = OpinionMapResult.objects.get(conversation=conversation).published_digests()
    assert kept is not None
    assert np.array_equal(kept[0], ids)
    assert np.array_equal(kept[1], digests)

    # A change that is not published leaves the copy as it was.
    _vote_again(_first(conversation), statements[7], -1)
    services.compute_now(conversation=conversation)
    assert _copy(conversation) == published

    # A publication replaces it with the votes it holds.
    _newcomers(conversation, statements[1], STEP - 1)
    services.compute_now(conversation=conversation)
    assert _copy(conversation) == _live(conversation, days=not anonymous) != published


# --- versions published before copies were kept ---------------------------------------


def test_a_version_published_before_copies_were_kept_gets_one_at_the_next_recompute(
    community: Community, django_capture_on_commit_callbacks: Any
) -> None:
    conversation, _statements = _conversation(community)
    before = _export(conversation)
    models.PublishedVotes.objects.filter(result__conversation=conversation).delete()
    OpinionMapResult.objects.filter(conversation=conversation).update(requested_at=None)

    logged = _exports_logged()
    with (
        django_capture_on_commit_callbacks(execute=False) as queued,
        pytest.raises(services.ExportRefused, match="still being worked out"),
    ):
        services.stream_polis_export(conversation=conversation, actor=None)
    assert _exports_logged() == logged
    assert len(queued) == 1  # the recompute
    assert OpinionMapResult.objects.get(conversation=conversation).requested_at is not None

    # Nobody in it voted again: the recompute copies their votes (not publishing).
    computed_at = OpinionMapResult.objects.get(conversation=conversation).computed_at
    services.compute_now(conversation=conversation)
    assert OpinionMapResult.objects.get(conversation=conversation).computed_at == computed_at
    assert _export(conversation) == before


def test_an_old_version_whose_votes_changed_since_waits_for_the_next_update(
    community: Community, client: Client
) -> None:
    conversation, statements = _conversation(community)
    models.PublishedVotes.objects.filter(result__conversation=conversation).delete()
    _vote_again(_first(conversation), statements[7], -1)
    # Their published vote is known nowhere now: no copy can be made of this version.
    services.compute_now(conversation=conversation)
    logged = _exports_logged()
    with pytest.raises(services.ExportRefused, match="next updated"):
        services.stream_polis_export(conversation=conversation, actor=None)
    assert _exports_logged() == logged
    response = client.get(community_url(conversation, "export"), follow=True)
    assert response.redirect_chain == [(community_url(conversation, "detail"), 302)]
    assert "next updated" in response.content.decode()

    _newcomers(conversation, statements[1], STEP - 1)
    services.compute_now(conversation=conversation)  # five changed: published, copied
    assert _counts(_export(conversation))["7"] == ("19", "1")


# --- someone gone since the publication -----------------------------------------------


def test_someone_deleted_since_the_publication_is_left_out_and_uncounted(
    community: Community,
) -> None:
    conversation, _statements = _conversation(community, anonymous=False)
    before = _export(conversation)
    # As deleting their account does (Participant.user cascades).
    _first(conversation).delete()
    after = _export(conversation)
    header, *rows = after["participants-votes.csv"]
    assert len(rows) == 19
    assert "0" not in {row[0] for row in rows}
    assert len(after["votes.csv"]) == len(before["votes.csv"]) - 8
    # comments.csv counts the votes the other files hold.
    for statement, (agrees, disagrees) in _counts(after).items():
        column = header.index(statement)
        assert int(agrees) == sum(row[column] == "1" for row in rows)
        assert int(disagrees) == sum(row[column] == "-1" for row in rows)
