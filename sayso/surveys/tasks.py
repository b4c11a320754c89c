"""Background work for surveys. Runs in the task worker (`sayso worker`)."""

from __future__ import annotations

from django.tasks import task


@task()
def prepare_export(*, job_id: int) -> int | None:
    """Write an export file asked for by an organiser (export_jobs.start_export queues
    it); returns the rows written, or None when the job was taken or is gone."""
    from .export_jobs import run_export

    job = run_export(job_id=job_id)
    return job.rows if job is not None else None


@task()
def purge_export_files() -> int:
    """Delete export files past their day (queued to run then); returns how many."""
    from .export_jobs import expire_stale_exports, purge_exports

    expire_stale_exports()
    return purge_exports()
