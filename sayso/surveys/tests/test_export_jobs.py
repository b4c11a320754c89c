# mypy: disable-error-code="no-untyped-call,arg-type"
"""Exports prepared by the task worker: asked for, written, downloaded, deleted.

Tasks run at once in tests (the project's conftest); a request's on-commit callbacks
run when captured with execute=True, as they would after a real commit."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from sayso.core.models import AuditEvent, Role
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import export_jobs, exports, sav_stream
from sayso.surveys.models import Question, Survey, SurveyExport, export_storage

from .factories import answer, make_survey, start_order
from .factories import survey_url as url

pytestmark = pytest.mark.django_db


def awkward_survey(community: Any) -> Survey:
    """The test survey plus a date question, with answers that are hard for SPSS:
    missing values, empty and non-ASCII text, 8, 255, 256 and 1,000+ byte strings."""
    survey = make_survey(community, status=Survey.Status.OPEN)
    section = survey.sections.get(order=2)
    Question.objects.create(
        survey=survey, section=section, order=4, name="started", type=Question.Type.DATE
    )
    stories = ["", "ab", "x" * 8, "é" * 4, "z" * 255, "q" * 256, "ł" * 600, "w" * 1200, "中文"]
    for i, story in enumerate(stories):
        values: dict[str, Any] = {
            "shift": "day" if i % 2 else "night",
            "disciplined": "yes",
            "story": story,
        }
        if i % 3:
            values["age"] = 20 + i
            values["worries"] = ["rates", "cameras"][: i % 3]
        if i % 4:
            values["started"] = f"2024-0{1 + i % 9}-2{i % 9}"
        answer(survey, **values)
    answer(survey, shift="day", disciplined="no")  # no story: the question is skipped
    return survey


def stored_files() -> list[str]:
    storage = export_storage()
    return storage.listdir("")[1] if storage.exists("") else []


def organiser_client(community: Any) -> tuple[Client, Any]:
    user = OrganiserFactory(community=community).user
    client = signed_in(user)
    return client, user


def ask(client: Client, survey: Survey, fmt: str, capture: Any) -> SurveyExport:
    with capture(execute=True):
        asked = client.post(url("export", survey, fmt=fmt))
    assert asked.status_code == 302
    job = SurveyExport.objects.filter(survey=survey).order_by("-pk").first()
    assert job is not None
    assert asked["Location"] == url("export-job", survey, job=job.pk)
    return job


def test_the_spss_file_of_a_survey_is_pyreadstats_file_of_the_whole_table(
    tmp_path: Path,
) -> None:
    """The streamed SPSS export is byte for byte what pyreadstat writes from the whole
    table in one DataFrame (the creation time aside), and reads back as the answers."""
    survey = awkward_survey(CommunityFactory())
    questions = exports.columns(survey)
    frames = exports.sav_chunks(survey, questions)
    whole = pd.concat(list(frames()), ignore_index=True)
    options = exports.sav_options(survey, questions)
    exports.note_text_widths(options["variable_display_width"], whole)  # as write_sav does
    pyreadstat.write_sav(whole, str(tmp_path / "whole.sav"), **options)
    assert exports.write_sav(survey, tmp_path / "streamed.sav") == 10
    expected = bytearray((tmp_path / "whole.sav").read_bytes())
    streamed = bytearray((tmp_path / "streamed.sav").read_bytes())
    expected[sav_stream.TIMESTAMP] = streamed[sav_stream.TIMESTAMP] = b"\0" * 17
    assert streamed == expected
    frame, meta = pyreadstat.read_sav(str(tmp_path / "streamed.sav"))
    assert len(frame) == 10
    # The rows come in random order: put them back in the order they were answered.
    order = start_order(survey)
    frame = frame.sort_values(
        "response_id", key=lambda ids: ids.astype("int64").map(order), ignore_index=True
    )
    assert frame["story"].tolist()[:9] == [
        "", "ab", "x" * 8, "é" * 4, "z" * 255, "q" * 256, "ł" * 600, "w" * 1200, "中文"
    ]  # fmt: skip
    assert meta.original_variable_types["story"] == "A1200"
    assert frame["shift"].tolist()[:2] == [2.0, 1.0]
    assert meta.variable_value_labels["shift"] == {1.0: "Day", 2.0: "Night"}
    assert frame["worries"].tolist()[:3] == ["", "rates", "rates cameras"]
    assert frame["started"].tolist()[1] == dt.date(2024, 2, 21)
    assert pd.isna(frame["started"][0])
    assert meta.original_variable_types["started"] == "DATE11"
    assert meta.original_variable_types["submitted_on"] == "DATE11"
    assert frame["submitted_on"][0] == timezone.localdate()
    assert pd.isna(frame["age"][0])
    assert frame["age"][1] == 21.0


def test_no_responses_still_writes_a_readable_spss_file(tmp_path: Path) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    assert exports.write_sav(survey, tmp_path / "empty.sav") == 0
    frame, meta = pyreadstat.read_sav(str(tmp_path / "empty.sav"))
    assert len(frame) == 0
    assert meta.column_names == [
        "response_id",
        "submitted_on",
        "shift",
        "age",
        "disciplined",
        "worries",
        "worries_rates",  # each option of a multiple-choice question as 0/1
        "worries_cameras",
        "worries_sharing",
        "story",
    ]


def test_asking_queues_the_job_audits_it_and_the_worker_writes_the_file(
    django_capture_on_commit_callbacks: Any,
) -> None:
    survey = awkward_survey(CommunityFactory())
    client, user = organiser_client(survey.community)
    before = AuditEvent.objects.count()
    job = ask(client, survey, "sav", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.state, job.format, job.created_by, job.rows) == ("done", "sav", user, 10)
    assert job.finished_at is not None
    assert job.size == export_storage().size(job.file_name)
    asked = AuditEvent.objects.get(pk__gt=0, action=AuditEvent.Action.EXPORT)
    assert AuditEvent.objects.count() == before + 1
    assert asked.actor == user
    assert asked.community == survey.community
    assert "exported 10 responses to 'Scanner survey' as SPSS (.sav)." in asked.summary

    page = client.get(url("export-job", survey, job=job.pk)).content.decode()
    assert "Your SPSS (.sav) file is ready" in page
    download = client.get(url("export-download", survey, job=job.pk))
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="survey-{survey.pk}.sav"'
    assert download["Cache-Control"] == "private, no-store"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sav"
        path.write_bytes(b"".join(download.streaming_content))  # type: ignore[attr-defined]
        frame, _meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 10
    downloads = AuditEvent.objects.filter(summary__contains="downloaded the SPSS (.sav) file")
    assert downloads.count() == 1
    assert downloads.get().detail == {"survey": survey.pk, "format": "sav", "export": job.pk}
    client.get(url("export-download", survey, job=job.pk))
    assert downloads.count() == 2  # each download is logged


def test_xlsx_and_data_package_are_prepared_too(django_capture_on_commit_callbacks: Any) -> None:
    from frictionless import Package
    from openpyxl import load_workbook

    survey = awkward_survey(CommunityFactory())
    client, _user = organiser_client(survey.community)
    xlsx = ask(client, survey, "xlsx", django_capture_on_commit_callbacks)
    got = client.get(url("export-download", survey, job=xlsx.pk))
    book = load_workbook(io.BytesIO(b"".join(got.streaming_content)))  # type: ignore[attr-defined]
    assert book["responses"].max_row == 11
    package = ask(client, survey, "datapackage", django_capture_on_commit_callbacks)
    got = client.get(url("export-download", survey, job=package.pk))
    assert got["Content-Type"] == "application/zip"
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(io.BytesIO(b"".join(got.streaming_content))) as archive:  # type: ignore[attr-defined]
            archive.extractall(folder)
        report = Package(str(Path(folder) / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_a_pending_job_shows_a_page_to_refresh_and_is_not_asked_for_twice() -> None:
    """Without capturing on-commit callbacks, nothing runs: the job stays queued, as
    it does until a worker takes it."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client, _user = organiser_client(survey.community)
    first = client.post(url("export", survey, fmt="sav"))
    again = client.post(url("export", survey, fmt="sav"))
    assert first["Location"] == again["Location"]
    job = SurveyExport.objects.get()
    assert job.state == SurveyExport.State.QUEUED
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1
    page = client.get(first["Location"])
    text = page.content.decode()
    assert "Your SPSS (.sav) file is being prepared. Refresh this page to check." in text
    assert f'href="{first["Location"]}">Refresh</a>' in text
    assert "http-equiv" not in text  # no automatic reload, by meta tag or by htmx
    assert "hx-" not in text
    refused = client.get(url("export-download", survey, job=job.pk))
    assert refused.status_code == 302  # back to its page, which says it is not ready
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1
    listing = client.get(url("exports", survey)).content.decode()
    assert "Waiting to be prepared" in listing


def test_the_survey_page_explains_csv_now_and_the_others_prepared(
    django_capture_on_commit_callbacks: Any,
) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client, _user = organiser_client(survey.community)
    page = client.get(url("detail", survey)).content.decode()
    assert f'href="{url("export", survey, fmt="csv")}">CSV</a>' in page
    assert f'action="{url("export", survey, fmt="sav")}"' in page
    assert "prepared in the background" in page
    assert "deleted after 24 hours" in page
    # An old link to a prepared format leads to the list, and asks for nothing.
    old = client.get(url("export", survey, fmt="sav"))
    assert old["Location"] == url("exports", survey)
    assert not SurveyExport.objects.exists()
    assert client.post(url("export", survey, fmt="pdf")).status_code == 404
    assert not SurveyExport.objects.exists()


def test_only_the_communitys_organisers_may_ask_see_or_download(
    django_capture_on_commit_callbacks: Any,
) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="day", disciplined="no")
    organiser, _user = organiser_client(survey.community)
    job = ask(organiser, survey, "sav", django_capture_on_commit_callbacks)
    member = signed_in(MembershipFactory(community=survey.community, role=Role.MEMBER).user)
    # an organiser of another community
    outsider = signed_in(OrganiserFactory(community=CommunityFactory()).user)
    events = AuditEvent.objects.count()
    for client, status in ((member, 403), (outsider, 404)):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(url("export", survey, fmt="xlsx")).status_code == status
        assert client.get(url("exports", survey)).status_code == status
        assert client.get(url("export-job", survey, job=job.pk)).status_code == status
        assert client.get(url("export-download", survey, job=job.pk)).status_code == status
    assert SurveyExport.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_another_surveys_file_is_not_served_under_this_survey(
    django_capture_on_commit_callbacks: Any,
) -> None:
    community = CommunityFactory()
    mine = make_survey(community, status=Survey.Status.OPEN)
    theirs = make_survey(community, status=Survey.Status.OPEN)
    answer(theirs, shift="day", disciplined="no")
    client, _user = organiser_client(community)
    job = ask(client, theirs, "sav", django_capture_on_commit_callbacks)
    events = AuditEvent.objects.count()
    assert client.get(url("export-download", mine, job=job.pk)).status_code == 404
    assert client.get(url("export-job", mine, job=job.pk)).status_code == 404
    assert AuditEvent.objects.count() == events
    # An organiser of another community cannot reach it through their own survey.
    elsewhere = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    other, _user = organiser_client(elsewhere.community)
    assert other.get(url("export-download", elsewhere, job=job.pk)).status_code == 404


def test_files_are_deleted_after_24_hours(django_capture_on_commit_callbacks: Any) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="day", disciplined="no")
    client, _user = organiser_client(survey.community)
    old = ask(client, survey, "sav", django_capture_on_commit_callbacks)
    new = ask(client, survey, "xlsx", django_capture_on_commit_callbacks)
    old.refresh_from_db()
    new.refresh_from_db()
    storage = export_storage()
    assert storage.exists(old.file_name)
    assert storage.exists(new.file_name)
    assert export_jobs.purge_exports() == 0
    SurveyExport.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - export_jobs.RETENTION - dt.timedelta(minutes=1)
    )
    listing = client.get(url("exports", survey))  # pages purge what is due
    assert listing.status_code == 200
    gone = SurveyExport.objects.get(pk=old.pk)
    assert (gone.state, gone.file_name) == ("deleted", "")
    assert not storage.exists(old.file_name)
    assert storage.exists(new.file_name)
    page = client.get(url("export-job", survey, job=old.pk)).content.decode()
    assert "is not available" in page
    assert "Prepare a new one" in page
    events = AuditEvent.objects.count()
    refused = client.get(url("export-download", survey, job=old.pk))
    assert refused.status_code == 302
    assert AuditEvent.objects.count() == events


def test_the_purge_task_deletes_due_files() -> None:
    from sayso.surveys.tasks import purge_export_files

    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    job = SurveyExport.objects.create(survey=survey, format="sav", state="done")
    name = export_storage().save(f"survey-{survey.pk}-x.sav", io.BytesIO(b"data"))
    SurveyExport.objects.filter(pk=job.pk).update(
        file_name=name, finished_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert purge_export_files.call() == 1
    assert not export_storage().exists(name)
    assert SurveyExport.objects.get(pk=job.pk).state == "deleted"


def test_deleting_the_survey_deletes_its_files(django_capture_on_commit_callbacks: Any) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="day", disciplined="no")
    client, _user = organiser_client(survey.community)
    job = ask(client, survey, "sav", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert export_storage().exists(job.file_name)
    with django_capture_on_commit_callbacks(execute=True):
        survey.community.delete()  # the survey goes with its community, and its jobs
    assert not SurveyExport.objects.exists()
    assert not export_storage().exists(job.file_name)


def test_a_rolled_back_deletion_keeps_the_file(django_capture_on_commit_callbacks: Any) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client, _user = organiser_client(survey.community)
    job = ask(client, survey, "sav", django_capture_on_commit_callbacks)
    job.refresh_from_db()

    survey_id = survey.pk

    def delete_then_fail() -> None:
        with transaction.atomic():
            Survey.objects.get(pk=survey_id).delete()
            raise RuntimeError

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        delete_then_fail()
    assert Survey.objects.filter(pk=survey_id).exists()
    assert callbacks == []
    assert export_storage().exists(job.file_name)


def test_stale_jobs_expire_and_a_late_file_is_dropped(
    django_capture_on_commit_callbacks: Any,
) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client, _user = organiser_client(survey.community)
    client.post(url("export", survey, fmt="sav"))  # queued; no worker takes it
    job = SurveyExport.objects.get()
    SurveyExport.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - export_jobs.EXPORT_EXPIRY - dt.timedelta(seconds=1)
    )
    page = client.get(url("export-job", survey, job=job.pk)).content.decode()
    job.refresh_from_db()
    assert job.state == "failed"
    assert "did not finish within an hour" in page
    assert export_jobs.run_export(job_id=job.pk) is None  # a worker arriving late does nothing
    assert SurveyExport.objects.get(pk=job.pk).file_name == ""
    # A job that expires while its file is written: the file is not kept.
    running = SurveyExport.objects.create(survey=survey, format="sav")

    def expire_midway(survey: Survey, path: Path) -> int:
        path.write_bytes(b"partial")
        SurveyExport.objects.filter(pk=running.pk).update(state="failed")
        return 0

    original = exports.FILE_FORMATS["sav"]
    exports.FILE_FORMATS["sav"] = exports.FileFormat(expire_midway, ".sav", "x")
    try:
        assert export_jobs.run_export(job_id=running.pk) is None
    finally:
        exports.FILE_FORMATS["sav"] = original
    assert SurveyExport.objects.get(pk=running.pk).file_name == ""
    assert stored_files() == []


def test_a_failing_export_is_marked_failed_and_keeps_no_file() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    job = SurveyExport.objects.create(survey=survey, format="sav")

    def broken(survey: Survey, path: Path) -> int:
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    original = exports.FILE_FORMATS["sav"]
    exports.FILE_FORMATS["sav"] = exports.FileFormat(broken, ".sav", "x")
    try:
        with pytest.raises(OSError, match="disk full"):
            export_jobs.run_export(job_id=job.pk)
    finally:
        exports.FILE_FORMATS["sav"] = original
    job.refresh_from_db()
    assert (job.state, job.file_name) == ("failed", "")
    assert "unexpected problem" in job.error
    assert stored_files() == []


def test_a_file_left_by_a_killed_worker_is_deleted_when_its_job_expires() -> None:
    """The file's name is recorded before it is stored: a worker killed after storing
    it, before marking the job done, leaves a running job that names it."""
    storage = export_storage()
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    job = SurveyExport.objects.create(survey=survey, format="sav", state="running")
    name = storage.save(f"survey-{survey.pk}-left.sav", io.BytesIO(b"answers"))
    SurveyExport.objects.filter(pk=job.pk).update(file_name=name)
    assert export_jobs.expire_stale_exports() == 0  # still within its hour
    assert storage.exists(name)
    SurveyExport.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - export_jobs.EXPORT_EXPIRY - dt.timedelta(seconds=1)
    )
    assert export_jobs.expire_stale_exports() == 1
    assert not storage.exists(name)
    assert SurveyExport.objects.get(pk=job.pk).file_name == ""


def test_a_killed_workers_temporary_folder_is_deleted_by_the_next_run() -> None:
    import os
    import time

    left = Path(tempfile.mkdtemp(prefix=export_jobs.TEMPORARY_PREFIX))
    (left / "export.sav").write_bytes(b"answers")
    recent = Path(tempfile.mkdtemp(prefix=export_jobs.TEMPORARY_PREFIX))
    two_hours_ago = time.time() - 7200
    os.utime(left, (two_hours_ago, two_hours_ago))
    try:
        survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
        job = SurveyExport.objects.create(survey=survey, format="sav")
        assert export_jobs.run_export(job_id=job.pk) is not None
        assert not left.exists()
        assert recent.exists()
    finally:
        for folder in (left, recent):
            if folder.exists():
                shutil.rmtree(folder)
