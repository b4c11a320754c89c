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


@task()
def recount_results(*, survey_id: int) -> int:
    """Count a survey's answers by its breakdown questions' groups again and keep the
    snapshot that its results pages read (queued by selectors.joint_data when a page
    showed an older one); returns the completed responses counted, 0 when gone."""
    from .models import Survey
    from .selectors import recount_results as recount

    survey = Survey.objects.filter(pk=survey_id).first()
    found = recount(survey) if survey is not None else None
    return found.total if found is not None else 0


@task()
def forget_unsent_responses() -> int:
    """Delete the unsent answers of surveys closed services.UNSENT_KEPT_DAYS (30) days
    ago or more (queued for then when a survey closes: services.set_status); returns
    how many responses were deleted."""
    from .services import forget_unsent_responses as forget

    return forget()
