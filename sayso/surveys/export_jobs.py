"""Exports prepared in the task worker: asked for, written, downloaded, deleted.

The state changes of a SurveyExport, as services.py holds the others (kept apart
because they form one lifecycle with its own task and storage):

    start_export (request) -> run_export (worker) -> open_download (request, each time)
                                                   -> purge_exports (a day later)

XLSX, SPSS and data package files of 100,000 responses take from seconds to a minute
to write, longer than a web request may last; CSV keeps streaming in the request.
Every export is audit-logged when it is asked for (as the CSV download is) and again
at each download. The files hold every answer, so they live in private storage
(models.export_storage) and are deleted a day after they are ready, when a job never
finishes, and when the job goes with its survey or community.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sayso.core.models import AuditEvent
from sayso.core.services import ServiceError, record

from . import exports, selectors, services
from .models import Survey, SurveyExport, export_storage

logger = logging.getLogger(__name__)

# A job still waiting or running after this long lost its worker (a restart, running
# out of memory) or its place in the queue: it is marked failed and any file dropped.
EXPORT_EXPIRY = dt.timedelta(hours=1)
TEMPORARY_PREFIX = "sayso-export-"
# How long a prepared file is kept once ready (the pages say "24 hours").
RETENTION = dt.timedelta(hours=24)


def start_export(*, survey: Survey, actor: Any, fmt: str) -> SurveyExport:
    """Ask the worker for an export file and audit-log the request.

    While one of the same format for this survey is still waiting or being prepared,
    that job is returned instead of queueing another (a double click, a reload). Two
    requests at the same moment get one job too: each first locks the survey's row,
    so the second looks for a pending job only once the first has committed its own
    (on PostgreSQL, READ COMMITTED alone would let both see none and both create one;
    SQLite's IMMEDIATE transactions already take turns, and ignore the lock)."""
    if fmt not in exports.FILE_FORMATS:
        raise ServiceError(_("There is no export in that format."))
    expire_stale_exports()
    rows = selectors.complete_responses(survey).count()
    with transaction.atomic():
        # NO KEY: submissions (whose rows refer to the survey) need not wait for it.
        Survey.objects.select_for_update(no_key=True).filter(pk=survey.pk).values_list("pk").first()
        pending = _pending(survey, fmt)
        if pending is not None:
            return pending
        job = SurveyExport.objects.create(
            survey=survey,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            format=fmt,
            rows=rows,
        )
        services.audit_export(survey=survey, actor=actor, fmt=fmt, rows=rows)
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(job_id))
    return job


def _pending(survey: Survey, fmt: str) -> SurveyExport | None:
    """The newest job of this format for the survey still waiting or running."""
    return (
        SurveyExport.objects.filter(
            survey=survey,
            format=fmt,
            state__in=[SurveyExport.State.QUEUED, SurveyExport.State.RUNNING],
        )
        .order_by("-pk")
        .first()
    )


def _enqueue(job_id: int) -> None:
    from .tasks import prepare_export

    prepare_export.enqueue(job_id=job_id)


def run_export(*, job_id: int) -> SurveyExport | None:
    """Write a queued export's file (in the task worker). None when there is no such
    queued job (taken by another worker, expired, or deleted with its survey)."""
    expire_stale_exports()
    purge_exports()
    _delete_stale_temporary_files()
    if not SurveyExport.objects.filter(pk=job_id, state=SurveyExport.State.QUEUED).update(
        state=SurveyExport.State.RUNNING
    ):
        return None
    job = SurveyExport.objects.select_related("survey__community").get(pk=job_id)
    fmt = exports.FILE_FORMATS[job.format]
    storage = export_storage()
    # The name is recorded before the file is stored, so that whatever happens next (a
    # failure, expiry, the worker killed, the survey deleted) the file can be found
    # and deleted from the job. Unguessable, though never served by URL.
    name = f"survey-{job.survey_id}-{secrets.token_hex(16)}{fmt.suffix}"
    SurveyExport.objects.filter(pk=job_id).update(file_name=name)
    saved = ""
    try:
        with tempfile.TemporaryDirectory(prefix=TEMPORARY_PREFIX) as folder:
            path = Path(folder) / f"export{fmt.suffix}"
            rows = fmt.write(job.survey, path)
            size = path.stat().st_size
            with path.open("rb") as handle:
                saved = storage.save(name, File(handle))
        if saved != name:  # a storage may adjust a name; keep the one it used
            SurveyExport.objects.filter(pk=job_id).update(file_name=saved)
    except Exception:
        _drop_file(saved or name)
        _finish(
            job_id,
            SurveyExport.State.FAILED,
            file_name="",
            error=_("The export stopped on an unexpected problem. Try again."),
        )
        raise  # the worker logs it with its traceback
    # Done only if the job is still running: it may have expired, or gone with its
    # survey, while the file was written; then the file goes too.
    if not _finish(job_id, SurveyExport.State.DONE, rows=rows, size=size, running=True):
        _drop_file(saved)
        SurveyExport.objects.filter(pk=job_id).update(file_name="")
        return None
    _schedule_purge()
    job.refresh_from_db()
    return job


def _drop_file(name: str) -> None:
    if name:
        export_storage().delete(name)


def _finish(job_id: int, state: str, *, running: bool = False, **changes: Any) -> int:
    jobs = SurveyExport.objects.filter(pk=job_id)
    if running:
        jobs = jobs.filter(state=SurveyExport.State.RUNNING)
    return jobs.update(state=state, finished_at=timezone.now(), **changes)


def _schedule_purge() -> None:
    """Ask the worker to delete the file once its day is up, where the task backend
    can run a task later (the database backend can); pages and the next export purge
    too, so files are deleted even where it cannot."""
    from .tasks import purge_export_files

    task = purge_export_files
    if task.get_backend().supports_defer:
        run_after = timezone.now() + RETENTION + dt.timedelta(minutes=1)
        task.using(run_after=run_after).enqueue()


def expire_stale_exports() -> int:
    """Fail jobs that have waited or run longer than EXPORT_EXPIRY (their worker is
    gone), so that no page says "being prepared" for ever, and delete any file such a
    job left. Returns how many."""
    stale = SurveyExport.objects.filter(
        state__in=[SurveyExport.State.QUEUED, SurveyExport.State.RUNNING],
        created_at__lt=timezone.now() - EXPORT_EXPIRY,
    )
    expired = 0
    for job_id, name in stale.values_list("pk", "file_name"):
        if SurveyExport.objects.filter(
            pk=job_id, state__in=[SurveyExport.State.QUEUED, SurveyExport.State.RUNNING]
        ).update(
            state=SurveyExport.State.FAILED,
            file_name="",
            finished_at=timezone.now(),
            error=_("The export did not finish within an hour. Ask for it again."),
        ):
            _drop_file(name)
            expired += 1
    return expired


def purge_exports() -> int:
    """Delete the files of exports ready for longer than RETENTION; the jobs stay,
    marked deleted, so the audit trail and the page still say what happened. Returns
    how many files were deleted."""
    storage = export_storage()
    due = SurveyExport.objects.filter(
        state=SurveyExport.State.DONE, finished_at__lt=timezone.now() - RETENTION
    )
    deleted = 0
    for job_id, name in due.values_list("pk", "file_name"):
        # Mark first: a download that starts now finds the job deleted, not the file gone.
        if SurveyExport.objects.filter(pk=job_id, state=SurveyExport.State.DONE).update(
            state=SurveyExport.State.DELETED, file_name=""
        ):
            if name:
                storage.delete(name)
            deleted += 1
    return deleted


def _delete_stale_temporary_files() -> None:
    """A worker killed while writing leaves its temporary folder behind, with answers
    in it: the next export run on that machine deletes any older than EXPORT_EXPIRY."""
    cutoff = time.time() - EXPORT_EXPIRY.total_seconds()
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMPORARY_PREFIX}*"):
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def open_download(*, job: SurveyExport, actor: Any) -> IO[bytes]:
    """Open a ready export's file for download and audit-log the download.

    Raises ServiceError when the file is not (or no longer) there."""
    if job.state != SurveyExport.State.DONE or not job.file_name:
        raise ServiceError(_("This export is not ready to download."))
    try:
        handle: IO[bytes] = export_storage().open(job.file_name, "rb")
    except FileNotFoundError:
        logger.warning("export %s: file %s is missing", job.pk, job.file_name)
        raise ServiceError(_("This export's file is no longer there. Ask for it again.")) from None
    survey = job.survey
    record(
        community=survey.community,
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        summary=_("%(actor)s downloaded the %(fmt)s file of %(n)s responses to '%(title)s'.")
        % {"actor": actor, "fmt": job.get_format_display(), "n": job.rows, "title": survey.title},
        survey=survey.pk,
        format=job.format,
        export=job.pk,
    )
    return handle


def download_name(job: SurveyExport) -> str:
    return f"survey-{job.survey_id}{exports.FILE_FORMATS[job.format].suffix}"
