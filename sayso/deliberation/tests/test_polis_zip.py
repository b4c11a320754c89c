"""Importing an export as one .zip file, as an organiser would: Sayso's own export comes
back as a new conversation that loses nothing the format carries; a zipped Polis export
(in a folder, with its other files) imports too; a file that is not text, or a zip that
is not an export, is refused with the file named and plain words, and nothing is made."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
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
from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import (
    Conversation,
    Participant,
    PolisImport,
    Statement,
    Vote,
)
from sayso.organisations.tests.factories import DataPracticeFactory

from .factories import ConversationFactory, ParticipantFactory, StatementFactory
from .helpers import field_error as _field_error
from .helpers import import_counts as _counts

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[2] / "analysis/tests/fixtures/polis/15-per-hour-seattle"
IMPORT_URL = "/c/depot/conversations/import/"
NOT_TEXT = "{} could not be read as text (UTF-8). Save it as CSV UTF-8 and try again."


def _zip(files: dict[str, bytes]) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return packed.getvalue()


def _conversation_with_everything(depot: Community, *, anonymous: bool = True) -> Conversation:
    """Accepted, pending and rejected statements, a meta one, seeds and one a participant
    wrote, quotes and commas and accents in the text, votes over three days, and someone
    who joined without voting (whom the export leaves out)."""
    conversation = ConversationFactory.create(community=depot, anonymous=anonymous)
    today = dt.date.today()
    people = [
        ParticipantFactory.create(
            conversation=conversation, number=n, joined_on=today - dt.timedelta(days=n % 3)
        )
        for n in range(8)
    ]
    ParticipantFactory.create(conversation=conversation, number=42, joined_on=today)
    texts = [
        "Scanner data should never be used in disciplinary meetings.",
        'Managers say "it is only for safety", but is it?',
        "Rotas, breaks and overtime: who decides?",
        "Café staff should be asked too.",
        "We need a say before new tracking starts.",
    ]
    statements = [
        StatementFactory.create(conversation=conversation, number=n, text=text)
        for n, text in enumerate(texts)
    ]
    statements.append(
        StatementFactory.create(
            conversation=conversation,
            number=5,
            text="Written by a participant, waiting for moderation.",
            kind=Statement.Kind.PARTICIPANT,
            state=Statement.State.PENDING,
            author=people[3],
            created_on=today - dt.timedelta(days=1),
        )
    )
    statements.append(
        StatementFactory.create(
            conversation=conversation,
            number=6,
            text="Rejected: off topic.",
            kind=Statement.Kind.PARTICIPANT,
            state=Statement.State.REJECTED,
            author=people[5],
        )
    )
    statements.append(
        StatementFactory.create(
            conversation=conversation, number=7, text="Is this a good question?", is_meta=True
        )
    )
    Vote.objects.bulk_create(
        Vote(
            participant=person,
            statement=statement,
            value=(-1, 0, 1)[(p + s) % 3],
            created_on=today - dt.timedelta(days=(p + s) % 3),
        )
        for p, person in enumerate(people)
        for s, statement in enumerate(statements[:6])
        if (p + s) % 4
    )
    # The recompute the votes would queue: the export holds the published votes, all
    # of them in the first version.
    services.compute_now(conversation=conversation)
    return conversation


def _statements(conversation: Conversation) -> set[tuple[Any, ...]]:
    return set(
        Statement.objects.filter(conversation=conversation).values_list(
            "number", "text", "state", "kind", "is_meta", "author__number", "created_on"
        )
    )


def _votes(conversation: Conversation) -> set[tuple[Any, ...]]:
    return set(
        Vote.objects.filter(participant__conversation=conversation).values_list(
            "participant__number", "statement__number", "value", "created_on"
        )
    )


def _votes_by_person(conversation: Conversation) -> list[list[tuple[int, int]]]:
    """Each participant's (statement, value) votes, whatever their number."""
    own: dict[int, list[tuple[int, int]]] = {}
    for p, s, value in Vote.objects.filter(participant__conversation=conversation).values_list(
        "participant_id", "statement__number", "value"
    ):
        own.setdefault(p, []).append((s, value))
    return sorted(sorted(mine) for mine in own.values())


def _export(depot_organiser: Client, conversation: Conversation) -> bytes:
    response = depot_organiser.get(
        reverse("deliberation:export", kwargs={"slug": "depot", "conversation": conversation.pk})
    )
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(cast("Iterator[bytes]", response.streaming_content))


@pytest.mark.parametrize("anonymous", [False, True])
def test_our_own_export_zip_imports_as_a_new_conversation_that_loses_nothing(
    depot: Community,
    depot_organiser: Client,
    django_capture_on_commit_callbacks: Any,
    anonymous: bool,
) -> None:
    # The reviewer's case: export a conversation, import the very file it gave. An
    # anonymous conversation's export names no author (see the test below), so its
    # copy has none; everything else comes back. The question and background are left
    # empty on the form: they come back from the export's summary.csv.
    original = _conversation_with_everything(depot, anonymous=anonymous)
    Conversation.objects.filter(pk=original.pk).update(
        topic="Scanner data: what should the rules be?",
        description='The depot\'s "productivity" scanners, since May.\nSecond line, é.',
    )
    original.refresh_from_db()
    practice = DataPracticeFactory.create(organisation__community=depot)
    exported = _export(depot_organiser, original)
    with django_capture_on_commit_callbacks(execute=True):
        response = depot_organiser.post(
            IMPORT_URL,
            {
                "topic": "",
                "description": "",
                "moderation": "post",
                "data_practice": practice.pk,
                "archive": SimpleUploadedFile(
                    f"conversation-{original.pk}-polis.zip", exported, "application/zip"
                ),
            },
        )
    assert response.status_code == 302, _field_error(response.content.decode(), "archive")
    job = PolisImport.objects.get()
    assert job.state == PolisImport.State.DONE, job.error
    copy = job.conversation
    assert copy is not None
    assert copy.pk != original.pk
    assert depot_organiser.get(response["Location"])["Location"] == copy.get_absolute_url()
    # The question and background, from summary.csv; the settings chosen on the form.
    assert (copy.topic, copy.description) == (original.topic, original.description)
    assert (copy.moderation, copy.data_practice) == ("post", practice)

    # Statements: number, text, moderation, seed or not, meta, author and day.
    expected = _statements(original)
    if anonymous:
        expected = {(*row[:5], None, row[6]) for row in expected}
    assert _statements(copy) == expected
    assert len(_statements(copy)) == 8
    # Votes: who, on what, which way, which day. An anonymous conversation's export
    # numbers people in a random order and dates every vote with the day it started
    # (services._anonymous_votes_rows): the same votes come back, not who or when.
    if anonymous:
        started = timezone.localdate(original.created_at)
        assert _votes_by_person(copy) == _votes_by_person(original)
        assert {row[3] for row in _votes(copy)} == {started}
    else:
        assert _votes(copy) == _votes(original)
    assert len(_votes(copy)) == Vote.objects.filter(participant__conversation=original).count()
    # Participants: everyone with a vote (anonymous: numbered afresh). The one who never
    # voted is not in the export, as Polis writes it (it lists the rows of its votes).
    numbers = set(Participant.objects.filter(conversation=copy).values_list("number", flat=True))
    voted = set(
        Participant.objects.filter(conversation=original, votes__isnull=False).values_list(
            "number", flat=True
        )
    )
    assert 42 not in voted
    assert numbers == (set(range(len(voted))) if anonymous else voted)


def _csv(archive: bytes, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        text = opened.read(name).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("anonymous", [True, False])
def test_an_anonymous_conversations_export_does_not_say_who_wrote_a_statement(
    depot: Community, depot_organiser: Client, anonymous: bool, tmp_path: Path
) -> None:
    # The creation form promises: "Nobody, organisers included, can see ... who wrote a
    # statement." An author-id is the author's participant number, which is their row
    # in participants-votes.csv (every vote they cast), and n-comments there says who
    # wrote any. So in an anonymous conversation participant-written statements get
    # author-id -1, like organisers' seeds, and everyone n-comments 0.
    original = _conversation_with_everything(depot, anonymous=anonymous)
    exported = _export(depot_organiser, original)
    comments = {row["comment-id"]: row for row in _csv(exported, "comments.csv")}
    participants = _csv(exported, "participants-votes.csv")
    written = {"5": "3", "6": "5"}  # statement number: its author's participant number
    assert {number: comments[number]["author-id"] for number in written} == (
        dict.fromkeys(written, "-1") if anonymous else written
    )
    # Seeds never name a participant.
    assert {row["author-id"] for n, row in comments.items() if n not in written} == {"-1"}
    n_comments = {row["participant"]: row["n-comments"] for row in participants}
    assert len(n_comments) == 8  # everyone with a vote (not number 42, who has none)
    if anonymous:
        assert set(n_comments.values()) == {"0"}
    else:
        assert {p: n for p, n in n_comments.items() if n != "0"} == {"3": "1", "5": "1"}
    # The files still read as a valid Polis export (counts, signs, votes against rows).
    zipfile.ZipFile(io.BytesIO(exported)).extractall(tmp_path)
    again = read_polis_export(tmp_path)
    assert len(again.statements) == 8


def test_votes_csv_rows_do_not_follow_the_order_votes_were_cast_in(
    depot: Community, depot_organiser: Client
) -> None:
    # Someone who watched people vote in a room could match the order of the rows
    # (who voted first, who voted straight after a statement appeared) to people.
    # The rows go by participant number, then day, then statement number, as the export
    # reads (and checks against the published results) a participant's votes at once.
    # (Named votes: an anonymous conversation's export gives no day of a vote at all.)
    conversation = ConversationFactory.create(community=depot, anonymous=False)
    today = dt.date.today()
    people = [ParticipantFactory.create(conversation=conversation, number=n) for n in range(3)]
    statements = [
        StatementFactory.create(conversation=conversation, number=n, text=f"Statement {n}")
        for n in range(3)
    ]
    # Cast last participant first and last statement first, on two days.
    cast_in = [
        (2, 1, today),
        (0, 2, today),
        (2, 0, today),
        (1, 1, today - dt.timedelta(days=1)),
        (0, 0, today),
        (1, 0, today - dt.timedelta(days=1)),
    ]
    for p, s, day in cast_in:
        Vote.objects.create(participant=people[p], statement=statements[s], value=1, created_on=day)
    services.compute_now(conversation=conversation)  # the export holds published votes
    written = [
        (row["datetime"], row["voter-id"], row["comment-id"])
        for row in _csv(_export(depot_organiser, conversation), "votes.csv")
    ]
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert written == [
        (today.isoformat(), "0", "0"),
        (today.isoformat(), "0", "2"),
        (yesterday, "1", "0"),
        (yesterday, "1", "1"),
        (today.isoformat(), "2", "0"),
        (today.isoformat(), "2", "1"),
    ]


def test_a_zipped_polis_export_in_its_folder_with_its_other_files_imports(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    names = ("comments.csv", "votes.csv", "participants-votes.csv", "summary.csv")
    archive = _zip({f"15-per-hour-seattle/{n}": (FIXTURE / n).read_bytes() for n in names})
    with django_capture_on_commit_callbacks(execute=True):
        response = depot_organiser.post(
            IMPORT_URL,
            {"topic": "$15/hour", "archive": SimpleUploadedFile("export.zip", archive)},
        )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    original = read_polis_export(FIXTURE)
    assert conversation.statements.count() == len(original.statements)
    assert set(
        Vote.objects.filter(participant__conversation=conversation).values_list(
            "participant__number", "statement__number", "value"
        )
    ) == set(
        zip(
            original.votes.participant.tolist(),
            original.votes.statement.tolist(),
            original.votes.value.tolist(),
            strict=True,
        )
    )


LATIN_1 = "timestamp,datetime,comment-id,voter-id,vote\n1,Café,0,0,1\n".encode("latin-1")
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"


@pytest.mark.parametrize(
    ("field", "file", "content"),
    [
        ("votes", "votes.csv", LATIN_1),
        ("votes", "votes.csv", BINARY),
        ("comments", "comments.csv", BINARY),
        ("comments", "comments.csv", "comment-id,comment-body\n1,Æble\n".encode("cp1252")),
        ("votes", "votes.csv", "timestamp,comment-id,voter-id,vote\n".encode("utf-16")),
    ],
)
def test_a_file_that_is_not_text_is_named_and_nothing_is_created(
    depot_organiser: Client, field: str, file: str, content: bytes
) -> None:
    uploads = {
        name: SimpleUploadedFile(f"my-{name}.csv", (FIXTURE / f"{name}.csv").read_bytes())
        for name in ("comments", "votes")
    }
    uploads[field] = SimpleUploadedFile(f"my-{field}.csv", content)
    before = _counts()
    response = depot_organiser.post(IMPORT_URL, {"topic": "$15/hour", **uploads})
    html = response.content.decode()
    assert response.status_code == 200
    # Next to the field it concerns, and named in the error summary.
    assert _field_error(html, field) == NOT_TEXT.format(file)
    assert f'<a href="#id_{field}">' in html
    assert "line 0" not in html
    assert _counts() == before == (0, 0, 0, 0, 0)


def test_a_file_in_a_zip_that_is_not_text_is_named_and_nothing_is_created(
    depot_organiser: Client,
) -> None:
    archive = _zip({"comments.csv": (FIXTURE / "comments.csv").read_bytes(), "votes.csv": LATIN_1})
    response = depot_organiser.post(
        IMPORT_URL, {"topic": "$15/hour", "archive": SimpleUploadedFile("export.zip", archive)}
    )
    html = response.content.decode()
    assert _field_error(html, "archive") == NOT_TEXT.format("votes.csv")
    assert "line 0" not in html
    assert _counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("field", "content", "message"),
    [
        (
            "archive",
            b"comment-id,comment-body\n",
            "The export file is not a .zip file. Choose the .zip file you got from the"
            " export, or the CSV files one by one.",
        ),
        (
            "archive",
            _zip({"summary.csv": b"topic,x\n", "README.md": b"hello"}),
            "The .zip file does not hold a Polis export: it needs comments.csv and votes.csv"
            " (or participants-votes.csv).",
        ),
        (
            "archive",
            _zip({"a/comments.csv": b"x", "b/comments.csv": b"y", "a/votes.csv": b"z"}),
            "The .zip file holds more than one comments.csv. Put one conversation&#x27;s"
            " export in it at a time.",
        ),
        (
            # The zip chosen for comments.csv: said next to that field, not "line 0".
            "comments",
            _zip({"comments.csv": b"x", "votes.csv": b"y"}),
            "This is a .zip file. Choose it under “Export file (.zip)” instead, or unzip it"
            " and choose comments.csv here.",
        ),
    ],
)
def test_a_zip_that_is_not_an_export_is_refused_next_to_its_field(
    depot_organiser: Client, field: str, content: bytes, message: str
) -> None:
    files = {field: SimpleUploadedFile("upload.zip", content)}
    if field == "comments":
        files["votes"] = SimpleUploadedFile("votes.csv", (FIXTURE / "votes.csv").read_bytes())
    response = depot_organiser.post(IMPORT_URL, {"topic": "$15/hour", **files})
    assert response.status_code == 200
    assert _field_error(response.content.decode(), field) == message
    assert _counts() == (0, 0, 0, 0, 0)


def test_a_zip_that_unpacks_beyond_the_limit_is_refused(
    depot_organiser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sayso.deliberation import services

    monkeypatch.setattr(services, "POLIS_MAX_FILE_BYTES", 1000)
    archive = _zip({"comments.csv": b"x" * 5000, "votes.csv": b"y"})
    assert len(archive) < 1000  # small as uploaded, large once unpacked
    response = depot_organiser.post(
        IMPORT_URL, {"topic": "$15/hour", "archive": SimpleUploadedFile("export.zip", archive)}
    )
    assert (
        _field_error(response.content.decode(), "archive")
        == "comments.csv is larger than 200 MB once unzipped."
    )
    assert _counts() == (0, 0, 0, 0, 0)


def test_both_a_zip_and_csv_files_or_neither_is_explained(depot_organiser: Client) -> None:
    both = depot_organiser.post(
        IMPORT_URL,
        {
            "topic": "$15/hour",
            "archive": SimpleUploadedFile("export.zip", _zip({"comments.csv": b"x"})),
            "votes": SimpleUploadedFile("votes.csv", (FIXTURE / "votes.csv").read_bytes()),
        },
    )
    assert (
        _field_error(both.content.decode(), "archive")
        == "Choose either the .zip file or the CSV files, not both."
    )
    neither = depot_organiser.post(IMPORT_URL, {"topic": "$15/hour"})
    assert (
        _field_error(neither.content.decode(), "archive")
        == "Choose the .zip file of the export, or its CSV files below."
    )
    assert _counts() == (0, 0, 0, 0, 0)
