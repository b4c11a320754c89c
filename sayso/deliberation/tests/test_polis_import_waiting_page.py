"""The page shown while a Polis import waits for the task worker says what was checked.

An upload up to services.POLIS_CHECK_NOW_BYTES is checked in full while the organiser
waits; a larger one only quickly (its first rows and line counts), the task worker
checking everything before it writes anything. The waiting page must not tell the
organiser of a large upload that its files "were checked"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import PolisImport

pytestmark = pytest.mark.django_db
IMPORT_URL = "/c/depot/conversations/import/"
COMMENTS = (
    b"timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
    b"1,x,0,-1,0,0,1,Statement number 0 here\n"
    b"1,x,1,-1,0,0,1,Statement number 1 here\n"
)
VOTES = b"timestamp,datetime,comment-id,voter-id,vote\n" + b"1,x,0,1,1\n1,x,1,1,-1\n" * 400
CHECKED = "“Bombs”: the files were checked and are being imported in the background."
FIRST_CHECK = (
    "“Bombs”: a first check of the files found no problem. In the background, they are"
    " now checked in full, then imported. If a file has a problem, nothing is imported"
    " and this page will say what is wrong."
)


def _queued(depot: Community, folder: Path) -> PolisImport:
    (folder / "comments.csv").write_bytes(COMMENTS)
    (folder / "votes.csv").write_bytes(VOTES)
    files: dict[str, Any] = {
        name: (folder / name).open("rb") for name in ("comments.csv", "votes.csv")
    }
    job = services.start_polis_import(community=depot, actor=None, topic="Bombs", files=files)
    assert job.state == PolisImport.State.QUEUED  # not run: the page while it waits
    return job


def test_a_small_upload_checked_in_full_says_so(
    depot: Community, depot_organiser: Client, tmp_path: Path
) -> None:
    job = _queued(depot, tmp_path)
    page = depot_organiser.get(f"{IMPORT_URL}?job={job.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Importing…" in html
    assert CHECKED in html
    assert "a first check of the files" not in html
    job.refresh_from_db()
    assert job.state == PolisImport.State.QUEUED  # looking changed nothing


def test_a_large_upload_checked_quickly_does_not_claim_a_full_check(
    depot: Community, depot_organiser: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The upload (about 4 KB) is made "large" by lowering the size checked in full.
    monkeypatch.setattr(services, "POLIS_CHECK_NOW_BYTES", 1024)
    job = _queued(depot, tmp_path)
    html = depot_organiser.get(f"{IMPORT_URL}?job={job.pk}").content.decode()
    assert "Importing…" in html
    assert FIRST_CHECK in html
    assert "the files were checked" not in html
    # Running (taken by the worker, still checking): the same words.
    PolisImport.objects.filter(pk=job.pk).update(state=PolisImport.State.RUNNING)
    html = depot_organiser.get(f"{IMPORT_URL}?job={job.pk}").content.decode()
    assert FIRST_CHECK in html
    assert "the files were checked" not in html


def test_the_size_is_told_apart_at_the_limit(
    depot: Community, depot_organiser: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Exactly at the limit the request checks in full (services._check_upload: <=).
    monkeypatch.setattr(services, "POLIS_CHECK_NOW_BYTES", len(COMMENTS) + len(VOTES))
    job = _queued(depot, tmp_path)
    assert services.import_checked_in_full(job)
    monkeypatch.setattr(services, "POLIS_CHECK_NOW_BYTES", len(COMMENTS) + len(VOTES) - 1)
    assert not services.import_checked_in_full(job)
    html = depot_organiser.get(f"{IMPORT_URL}?job={job.pk}").content.decode()
    assert FIRST_CHECK in html
