"""A Polis import upload takes bounded memory and time, in the request and in the task
worker, however its files are made: a small zip that unpacks to a file of one line
repeated is refused before it is read; a bad row is refused at its line without the rest
of the file being read; a large upload is checked quickly in the request and in full by
the worker, whose refusal reaches the organiser on the import's page; rows beyond what
an export may hold are refused at the first one over. Nothing is created by a refusal
(but the failed job, its files dropped, when the worker refuses)."""

from __future__ import annotations

import io
import random
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sayso.analysis.opinion_map import PolisImportError, polis_io
from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import PolisImport

from .helpers import field_error, import_counts

pytestmark = pytest.mark.django_db
IMPORT_URL = "/c/depot/conversations/import/"
COMMENTS = (
    b"timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
    b"1,x,0,-1,0,0,1,Statement number 0 here\n"
    b"1,x,1,-1,0,0,1,Statement number 1 here\n"
)
VOTES_HEAD = b"timestamp,datetime,comment-id,voter-id,vote\n"
# The security review's file: every line the same vote, its date in quotes (which sent
# the whole file to the csv module, every row held as Python strings: 1 GB for 40 MB).
REPEATED = b'1,"a",0,1,1\n'


class Measured:
    peak_mb = 0.0
    seconds = 0.0


@contextmanager
def measured() -> Iterator[Measured]:
    """The peak of Python's allocations (tracemalloc) and the wall time of the block."""
    result = Measured()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start
        result.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()


def _write_votes(path: Path, rows: int, *, first: bytes = b"", last: bytes = b"") -> None:
    """votes.csv of `rows` repeated lines (a megabyte at a time), with `first` and `last`
    lines around them."""
    block = REPEATED * 80_000
    with path.open("wb") as handle:
        handle.write(VOTES_HEAD + first)
        for start in range(0, rows, 80_000):
            handle.write(block[: len(REPEATED) * min(80_000, rows - start)])
        handle.write(last)


def _upload(folder: Path) -> dict[str, Any]:
    return {name: (folder / name).open("rb") for name in ("comments.csv", "votes.csv")}


def _start(depot: Community, **kwargs: Any) -> PolisImport:
    return services.start_polis_import(community=depot, actor=None, topic="Bombs", **kwargs)


def test_a_small_zip_of_one_line_repeated_is_refused_before_it_is_read(
    depot: Community, depot_organiser: Client
) -> None:
    # 12 MB of votes.csv in a 25 KB zip, written a piece at a time.
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("comments.csv", COMMENTS)
        with archive.open("votes.csv", "w") as votes:
            votes.write(VOTES_HEAD)
            for _ in range(100):
                votes.write(REPEATED * 10_000)
    zipped = packed.getvalue()
    assert len(zipped) < 100_000
    depot_organiser.get(IMPORT_URL)  # the page's template and catalogues, loaded once
    with measured() as cost:
        response = depot_organiser.post(
            IMPORT_URL, {"topic": "Bombs", "archive": SimpleUploadedFile("export.zip", zipped)}
        )
    assert response.status_code == 200
    assert field_error(response.content.decode(), "archive") == (
        "votes.csv in the .zip file cannot be a real export&#x27;s file: it unpacks to more"
        " than 100 times its packed size (a real one, at most about 20 times), as a file of"
        " one line repeated over and over does. Check that you chose the right file, or"
        " export the conversation again."
    )
    # Before: accepted, after its 1,000,000 rows were read as Python strings in the
    # request (hundreds of MB, seconds). Now refused after its first megabyte.
    assert cost.peak_mb < 10
    assert cost.seconds < 10
    assert import_counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    "rows",
    [
        300_000,  # 3.6 MB: checked in full while the organiser waits
        800_000,  # 9.6 MB: checked by its first rows here, in full by the worker
    ],
)
def test_a_bad_row_is_refused_at_its_line_without_reading_the_rest(
    depot: Community, tmp_path: Path, rows: int
) -> None:
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    _write_votes(tmp_path / "votes.csv", rows, first=b'1,"a","b",1,1\n')
    files = _upload(tmp_path)
    with measured() as cost, pytest.raises(services.ImportRefused) as refused:
        _start(depot, files=files)
    assert str(refused.value) == "votes.csv, line 2: comment-id 'b' is not an integer"
    assert refused.value.file == "votes.csv"
    assert cost.peak_mb < 20  # before: 78 MB and 208 MB, every row read first
    assert import_counts() == (0, 0, 0, 0, 0)


def test_a_large_upload_is_checked_quickly_then_refused_by_the_worker_on_the_job_page(
    depot: Community, depot_organiser: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above the size checked in full in the request (made small here), a bad row past
    # the first ones is found by the worker, before it writes anything.
    monkeypatch.setattr(services, "POLIS_CHECK_NOW_BYTES", 64 * 1024)
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    _write_votes(tmp_path / "votes.csv", 20_000, last=b"1,x,7,1,1\n")
    job = _start(depot, files=_upload(tmp_path))
    assert job.state == PolisImport.State.QUEUED
    assert import_counts() == (1, 0, 0, 0, 0)
    services.run_polis_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.FAILED
    assert job.error == "votes.csv, line 20002: vote for statement 7, which is not in comments.csv"
    assert bytes(job.files) == b""
    assert import_counts() == (1, 0, 0, 0, 0)  # the failed job alone
    page = depot_organiser.get(f"{IMPORT_URL}?job={job.pk}").content.decode()
    assert "“Bombs” was not imported" in page
    assert "votes.csv, line 20002: vote for statement 7" in page


def test_a_large_good_upload_is_queued_in_little_memory_and_imported(
    depot: Community, tmp_path: Path
) -> None:
    # 9.6 MB, above POLIS_CHECK_NOW_BYTES: the request reads comments.csv, the first
    # rows and counts the lines; the worker reads it all, in packed arrays.
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    _write_votes(tmp_path / "votes.csv", 800_000)
    files = _upload(tmp_path)
    with measured() as cost:
        job = _start(depot, files=files)
    assert cost.peak_mb < 20  # before: 208 MB, the whole file read in the request
    assert job.state == PolisImport.State.QUEUED
    services.run_polis_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.DONE
    assert job.conversation is not None
    assert job.conversation.statements.count() == 2
    assert list(
        job.conversation.statements.get(number=0).votes.values_list("participant__number", "value")
    ) == [(1, 1)]  # the latest of 800,000 votes on one pair


def test_the_worker_reads_quoted_votes_in_packed_arrays(tmp_path: Path) -> None:
    # 200,000 rows with a quoted date, each a different participant: the careful path
    # keeps 34 bytes a vote, not lists of Python strings (61 MB before, 12 now).
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    with (tmp_path / "votes.csv").open("wb") as handle:
        handle.write(VOTES_HEAD)
        handle.write(b"".join(b'1,"a",0,%d,1\n' % n for n in range(200_000)))
    with measured() as cost:
        export = services._read_folder(tmp_path)
    assert len(export.votes) == 200_000
    assert export.vote_datetimes is not None
    assert export.vote_datetimes[199_999] == "a"
    assert cost.peak_mb < 30


@pytest.mark.parametrize("quoted", [False, True])
def test_votes_beyond_the_limit_are_refused_at_the_first_one_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quoted: bool
) -> None:
    monkeypatch.setattr(polis_io, "MAX_VOTES", 10)
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    row = b'1,"a",0,1,1\n' if quoted else b"1,a,0,1,1\n"
    (tmp_path / "votes.csv").write_bytes(VOTES_HEAD + row * 12)
    with pytest.raises(services.ImportRefused) as refused:
        services._read_folder(tmp_path)
    assert str(refused.value) == (
        "votes.csv, line 12: more than 10 votes: Sayso imports conversations of up to 10 votes"
    )


def test_participants_beyond_the_limit_are_refused_at_the_first_one_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polis_io, "MAX_PARTICIPANTS", 3)
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    rows = b"".join(b"%d,,0,1,0,0,0,\n" % n for n in range(5))
    (tmp_path / "participants-votes.csv").write_bytes(
        b"participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1\n" + rows
    )
    with pytest.raises(services.ImportRefused) as refused:
        services._read_folder(tmp_path)
    assert str(refused.value).startswith("participants-votes.csv, line 5: more than 3 participants")


def test_the_quick_check_counts_the_lines_of_a_large_upload(
    depot: Community, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "POLIS_CHECK_NOW_BYTES", 1024)
    monkeypatch.setattr(polis_io, "MAX_VOTES", 5000)
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    _write_votes(tmp_path / "votes.csv", 5001)
    with pytest.raises(services.ImportRefused) as refused:
        _start(depot, files=_upload(tmp_path))
    assert str(refused.value).startswith("votes.csv: more than 5,000 votes")
    assert import_counts() == (0, 0, 0, 0, 0)


def test_a_line_with_no_end_is_refused_before_it_is_held_whole(tmp_path: Path) -> None:
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    (tmp_path / "votes.csv").write_bytes(VOTES_HEAD + b"1,x,0,1,1\n" + b"9" * 3_000_000)
    with measured() as cost, pytest.raises(services.ImportRefused) as refused:
        services._read_folder(tmp_path)
    assert str(refused.value) == (
        "votes.csv, line 3: the line is longer than a million characters, far longer than"
        " any line of a Polis export"
    )
    assert cost.peak_mb < 20


@pytest.mark.parametrize("column", ["voter-id", "timestamp"])
def test_a_number_too_large_for_the_database_is_named_not_a_server_error(
    tmp_path: Path, column: str
) -> None:
    big = "9" * 25
    row = f"{big},x,0,1,1\n" if column == "timestamp" else f"1,x,0,{big},1\n"
    (tmp_path / "comments.csv").write_bytes(COMMENTS)
    (tmp_path / "votes.csv").write_bytes(VOTES_HEAD + b"1,x,0,1,1\n" + row.encode())
    with pytest.raises(services.ImportRefused) as refused:
        services._read_folder(tmp_path)
    assert str(refused.value) == f"votes.csv, line 3: {column} '{big}' is too large a number"


def test_a_real_sparse_matrix_that_shrinks_a_lot_in_a_zip_still_imports(
    depot: Community,
) -> None:
    # participants-votes.csv is mostly empty cells: a real one of many statements
    # shrinks far more than 100 times, so the shrink limit leaves it alone.
    rng = random.Random(5)
    n_statements = 2000
    comments = [COMMENTS.splitlines()[0]] + [
        b"1,x,%d,-1,0,0,1,Statement number %d here" % (s, s) for s in range(n_statements)
    ]
    header = b"participant,group-id,n-comments,n-votes,n-agree,n-disagree," + b",".join(
        b"%d" % s for s in range(n_statements)
    )
    matrix = [header]
    for participant in range(1000):  # three votes each
        cells = [b""] * n_statements
        for s in rng.sample(range(n_statements), 3):
            cells[s] = b"0"
        matrix.append(b"%d,,0,3,0,0," % participant + b",".join(cells))
    data = b"\n".join(matrix) + b"\n"
    assert len(data) / len(zlib.compress(data, 9)) > services.POLIS_MAX_SHRINK
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("comments.csv", b"\n".join(comments) + b"\n")
        archive.writestr("participants-votes.csv", data)
    packed.seek(0)
    job = _start(depot, archive=packed)
    services.run_polis_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.DONE, job.error
    assert job.conversation is not None
    assert job.conversation.participants.count() == 1000


def test_summary_csv_is_cut_short_not_unpacked_whole(depot: Community) -> None:
    on_notice: list[str] = []
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("comments.csv", COMMENTS)
        archive.writestr("votes.csv", VOTES_HEAD + b"1,x,0,1,1\n")
        archive.writestr("summary.csv", b"topic,x\n" * 1_000_000)
    packed.seek(0)
    notice: Callable[[str], None] = on_notice.append
    with measured() as cost:
        _start(depot, archive=packed, on_notice=notice)
    assert on_notice == [
        "The export's summary.csv was left out, as it could not be read (summary.csv:"
        " larger than 1 MB, so not a summary). Everything else was checked and is being"
        " imported."
    ]
    assert cost.peak_mb < 10


def test_polis_io_limits_name_the_file_for_a_direct_read(tmp_path: Path) -> None:
    # The reader itself, as the analysis and bench use it, refuses a comments.csv far
    # larger than any conversation's statements before reading it.
    (tmp_path / "comments.csv").write_bytes(COMMENTS + b"9" * polis_io.MAX_COMMENTS_BYTES)
    (tmp_path / "votes.csv").write_bytes(VOTES_HEAD)
    with pytest.raises(PolisImportError) as refused:
        polis_io.read_polis_export(tmp_path)
    assert refused.value.problem == (
        "larger than 20 MB, far more than the statements of any conversation"
    )
