"""Polis import in the task worker and the streamed export: bad uploads are refused in
the request with nothing created, good ones are imported by the task, and the round
trip through the web app loses nothing but the time of day (dates only, by design)."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sayso.analysis.opinion_map import read_polis_export
from sayso.core.models import AuditEvent, Community
from sayso.core.tests.factories import CommunityFactory
from sayso.deliberation import services
from sayso.deliberation.models import (
    Conversation,
    OpinionMapResult,
    Participant,
    PolisImport,
    Statement,
    Vote,
)
from sayso.deliberation.tasks import import_polis_upload

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, planted

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[2] / "analysis/tests/fixtures/polis/15-per-hour-seattle"
VOTES_HEAD = b"timestamp,datetime,comment-id,voter-id,vote\n"


def _upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    data = (FIXTURE / name).read_bytes() if content is None else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _post(depot_organiser: Client, **files: SimpleUploadedFile) -> Any:
    return depot_organiser.post(
        reverse("deliberation:import", kwargs={"slug": "depot"}),
        {"topic": "$15/hour", **files},
    )


def _nothing_created() -> tuple[int, ...]:
    return (
        PolisImport.objects.count(),
        Conversation.objects.count(),
        Participant.objects.count(),
        Statement.objects.count(),
        Vote.objects.count(),
    )


# --- import ----------------------------------------------------------------------------


def test_import_runs_in_the_task_and_the_organiser_is_taken_to_the_result(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(
            depot_organiser, comments=_upload("comments.csv"), votes=_upload("votes.csv")
        )
    job = PolisImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/c/depot/conversations/import/?job={job.pk}"
    assert len(callbacks) >= 1  # the import was queued on commit, not run in the request
    assert job.state == PolisImport.State.DONE
    assert bytes(job.files) == b""  # the uploaded data is not kept once imported
    conversation = Conversation.objects.get()
    assert job.conversation == conversation
    assert conversation.state == Conversation.State.CLOSED
    assert conversation.statements.count() == 54
    original = read_polis_export(FIXTURE, with_participants=False)
    assert Vote.objects.filter(participant__conversation=conversation).count() == len(
        original.votes
    )
    # The map was worked out too (the import queues it).
    assert OpinionMapResult.objects.get(conversation=conversation).vote_count == len(original.votes)
    status = depot_organiser.get(response["Location"])
    assert status.status_code == 302
    assert status["Location"] == conversation.get_absolute_url()


def test_while_importing_the_status_page_says_so_and_offers_a_refresh_link(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = _post(
            depot_organiser, comments=_upload("comments.csv"), votes=_upload("votes.csv")
        )
    job = PolisImport.objects.get()
    assert job.state == PolisImport.State.QUEUED
    assert bytes(job.files)  # kept until the worker takes it
    assert Conversation.objects.count() == 0
    page = depot_organiser.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Importing…" in html
    assert f'href="/c/depot/conversations/import/?job={job.pk}">Refresh</a>' in html
    assert "http-equiv" not in html  # no automatic refresh: reloading is the reader's choice

    import_polis_upload.enqueue(job_id=job.pk)
    assert (
        depot_organiser.get(response["Location"])["Location"]
        == Conversation.objects.get().get_absolute_url()
    )
    # A second run of the same job (a retried task) imports nothing more.
    assert import_polis_upload.enqueue(job_id=job.pk).return_value is None
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"comments": b"id,text\n1,hello\n"}, "comments.csv, line 1"),
        ({"votes": VOTES_HEAD + b"1,x,0,0,5\n"}, "votes.csv, line 2"),
        ({"votes": VOTES_HEAD + b"1,x,0,0,1\n2,y,999,0,1\n"}, "votes.csv, line 3"),
        ({"votes": b"timestamp,comment-id,voter,vote\n1,0,0,1\n"}, "votes.csv, line 1"),
    ],
)
def test_bad_files_are_refused_in_the_request_and_nothing_is_created(
    depot_organiser: Client,
    files: dict[str, bytes],
    message: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    uploads = {name: _upload(f"{name}.csv", files.get(name)) for name in ("comments", "votes")}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(depot_organiser, **uploads)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert callbacks == []
    assert _nothing_created() == (0, 0, 0, 0, 0)


def test_a_file_that_fails_in_the_worker_creates_nothing_and_says_why(
    depot: Community, depot_organiser: Client
) -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("comments.csv", (FIXTURE / "comments.csv").read_bytes())
        archive.writestr("votes.csv", VOTES_HEAD + b"1,x,0,0,7\n")
    job = PolisImport.objects.create(community=depot, topic="$15/hour", files=packed.getvalue())
    assert import_polis_upload.enqueue(job_id=job.pk).return_value is None
    job.refresh_from_db()
    assert job.state == PolisImport.State.FAILED
    assert job.error.startswith("votes.csv, line 2")
    assert bytes(job.files) == b""
    assert _nothing_created()[1:] == (0, 0, 0, 0)
    html = depot_organiser.get(f"/c/depot/conversations/import/?job={job.pk}").content.decode()
    assert "was not imported" in html
    assert "votes.csv, line 2" in html
    assert 'enctype="multipart/form-data"' in html  # try again from the same page


def test_an_import_that_breaks_midway_leaves_nothing_but_its_failed_job(
    depot: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = services.start_polis_import(
        community=depot,
        actor=None,
        files={n: (FIXTURE / n).open("rb") for n in ("comments.csv", "votes.csv")},
        topic="$15/hour",
    )

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(services, "_queue_recompute", full_disk)
    with pytest.raises(OSError, match="disk full"):
        services.run_polis_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.FAILED
    assert "nothing was imported" in job.error
    assert _nothing_created()[1:] == (0, 0, 0, 0)


def test_another_communitys_import_is_not_found(depot_organiser: Client) -> None:
    elsewhere = PolisImport.objects.create(community=CommunityFactory.create(), topic="theirs")
    response = depot_organiser.get(f"/c/depot/conversations/import/?job={elsewhere.pk}")
    assert response.status_code == 404
    assert depot_organiser.get("/c/depot/conversations/import/?job=abc").status_code == 404


def test_an_unexpected_file_name_is_refused(depot: Community) -> None:
    with pytest.raises(services.ImportRefused, match=r"Unexpected file: summary\.csv"):
        services.start_polis_import(
            community=depot,
            actor=None,
            files={"summary.csv": io.BytesIO(b"topic,x\n")},
            topic="x y z",
        )
    assert _nothing_created() == (0, 0, 0, 0, 0)


# --- export ----------------------------------------------------------------------------


def _streamed(response: Any) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(cast("Iterator[bytes]", response.streaming_content))


def test_round_trip_through_the_task_and_the_streamed_export_loses_nothing(
    depot: Community,
    depot_organiser: Client,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(
            depot_organiser,
            comments=_upload("comments.csv"),
            votes=_upload("votes.csv"),
            participants_votes=_upload("participants-votes.csv"),
        )
    conversation = Conversation.objects.get()
    response = depot_organiser.get(
        reverse("deliberation:export", kwargs={"slug": "depot", "conversation": conversation.pk})
    )
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(_streamed(response)))
    assert archive.namelist() == [
        "comments.csv",
        "participants-votes.csv",
        "votes.csv",
        "summary.csv",
    ]
    archive.extractall(tmp_path)
    again = read_polis_export(tmp_path)  # validates: counts, signs, matrix against votes
    original = read_polis_export(FIXTURE)

    # Statements: every field Polis exported.
    def statements(export: Any) -> dict[int, tuple[Any, ...]]:
        return {
            s.statement_id: (s.author_id, s.body, s.moderated, s.agrees, s.disagrees)
            for s in export.statements
        }

    mine = statements(again)
    assert mine.keys() == statements(original).keys()
    # An imported conversation is anonymous: its export names no author (-1).
    assert conversation.anonymous
    for statement_id, (_author, body, moderated, _a, _d) in statements(original).items():
        assert mine[statement_id][:3] == (-1, body, moderated)
    # Agrees and disagrees are recounted from the votes (Polis's own can drift from them,
    # openData issue #6), so they must match the votes exactly.
    latest = original.votes
    for statement_id, (_au, _b, _m, agrees, disagrees) in mine.items():
        cast = latest.value[latest.statement == statement_id]
        assert (agrees, disagrees) == (int((cast == 1).sum()), int((cast == -1).sum()))

    # Votes: the same latest votes per participant, whoever they are numbered: an
    # anonymous conversation's export numbers people in a random order, and dates every
    # vote with the day the conversation started (services._anonymous_votes_rows).
    def votes(export: Any) -> list[list[tuple[int, int]]]:
        v = export.votes
        own: dict[int, list[tuple[int, int]]] = {}
        for p, s, value in zip(
            v.participant.tolist(), v.statement.tolist(), v.value.tolist(), strict=True
        ):
            own.setdefault(p, []).append((s, value))
        return sorted(sorted(mine) for mine in own.values())

    def days(export: Any) -> set[dt.date]:
        return {dt.datetime.fromtimestamp(t / 1000, tz=dt.UTC).date() for t in export.votes.time}

    assert votes(again) == votes(original)
    assert days(again) == {timezone.localdate(conversation.created_at)}

    # Participants: everyone who voted or wrote, with the same counts Polis gave.
    assert again.participants is not None
    assert original.participants is not None
    authors = {s.author_id for s in original.statements}
    assert len(again.participants) == len(
        {p.participant_id for p in original.participants} | authors
    )

    def counts(participants: Any) -> Counter[tuple[int, int, int]]:
        return Counter((p.n_votes, p.n_agree, p.n_disagree) for p in participants)

    # The authors Polis did not list voted on nothing.
    unlisted = len(authors - {p.participant_id for p in original.participants})
    assert counts(again.participants) == counts(original.participants) + Counter(
        {(0, 0, 0): unlisted}
    )
    assert {p.n_comments for p in again.participants} == {0}  # nor who wrote how many
    # Groups are Sayso's own map's, for everyone it clustered.
    clustered = {p.participant_id for p in again.participants if p.group_id is not None}
    assert len(clustered) > 0


def _random_votes(conversation: Conversation, *, participants: int, statements: int) -> None:
    """Votes that do not compress to nothing (planted blocs would), over several days."""
    rng = random.Random(7)
    items = StatementFactory.create_batch(statements, conversation=conversation)
    people = Participant.objects.bulk_create(
        Participant(conversation=conversation, number=n, joined_on=dt.date.today())
        for n in range(participants)
    )
    Vote.objects.bulk_create(
        Vote(
            participant=p,
            statement=s,
            value=rng.choice((-1, 0, 1)),
            created_on=dt.date.today() - dt.timedelta(days=rng.randrange(30)),
        )
        for p in people
        for s in items
    )


def test_export_is_audited_before_the_first_byte_and_streams_in_pieces(
    depot: Community, depot_organiser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = ConversationFactory.create(community=depot)
    _random_votes(conversation, participants=400, statements=20)  # 8,000 votes
    services.compute_now(conversation=conversation)  # the export holds published votes
    monkeypatch.setattr(services, "EXPORT_CHUNK_BYTES", 1024)
    response = depot_organiser.get(
        reverse("deliberation:export", kwargs={"slug": "depot", "conversation": conversation.pk})
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.detail["conversation"] == conversation.pk
    assert event.detail["anonymous"] is True
    assert isinstance(response, StreamingHttpResponse)
    pieces = list(cast("Iterator[bytes]", response.streaming_content))
    # Handed on as the compressor writes, not held back to the end.
    assert len(pieces) >= 3
    assert max(len(p) for p in pieces) < 64 * 1024
    names = zipfile.ZipFile(io.BytesIO(b"".join(pieces))).namelist()
    assert names == ["comments.csv", "participants-votes.csv", "votes.csv", "summary.csv"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1


def test_votes_cast_while_the_export_streams_are_left_out(tmp_path: Path) -> None:
    conversation = ConversationFactory.create()
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)  # the export holds published votes
    stream = services.stream_polis_export(conversation=conversation, actor=None)
    late = ParticipantFactory.create(conversation=conversation, number=500)
    Vote.objects.create(
        participant=late,
        statement=Statement.objects.filter(conversation=conversation)[0],
        value=1,
        created_on=dt.date.today(),
    )
    zipfile.ZipFile(io.BytesIO(b"".join(stream))).extractall(tmp_path)
    export = read_polis_export(tmp_path)  # the three files still agree with each other
    assert len(export.votes) == 160
    assert 500 not in export.votes.participant.tolist()


def test_a_job_that_never_finishes_is_failed_and_its_files_dropped(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    """A worker that died mid-import (or a job never queued) must not keep the raw
    upload or say "Importing…" forever."""
    with django_capture_on_commit_callbacks(execute=False):
        response = _post(
            depot_organiser, comments=_upload("comments.csv"), votes=_upload("votes.csv")
        )
    job = PolisImport.objects.get()
    PolisImport.objects.filter(pk=job.pk).update(state=PolisImport.State.RUNNING)
    # Still fresh: left alone.
    assert services.expire_stale_imports() == 0
    assert bytes(PolisImport.objects.get().files)
    PolisImport.objects.filter(pk=job.pk).update(
        created_at=dt.datetime.now(dt.UTC) - services.POLIS_IMPORT_EXPIRY - dt.timedelta(minutes=1)
    )
    page = depot_organiser.get(response["Location"])
    job.refresh_from_db()
    assert job.state == PolisImport.State.FAILED
    assert bytes(job.files) == b""
    assert "did not finish within an hour" in page.content.decode()
    # A late retry of its task imports nothing.
    assert import_polis_upload.enqueue(job_id=job.pk).return_value is None
    assert Conversation.objects.count() == 0
