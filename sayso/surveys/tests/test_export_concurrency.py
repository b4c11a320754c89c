# mypy: disable-error-code="no-untyped-call,arg-type"
"""Two requests for the same export at the same moment (a double click reaching two
workers) queue one job, on PostgreSQL as on SQLite."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from django.db import connection

from sayso.core.models import AuditEvent
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory
from sayso.surveys import export_jobs
from sayso.surveys.models import Survey, SurveyExport

from .factories import make_survey


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_queue_one_export(monkeypatch: pytest.MonkeyPatch) -> None:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community, status=Survey.Status.OPEN)
    monkeypatch.setattr(export_jobs, "_enqueue", lambda job_id: None)  # no worker here
    # Each request, having looked for a pending job, waits for the other to have
    # looked too: without a lock both find none and both create one. With the lock
    # the second is still waiting for the first to commit, so the first gives up
    # waiting (a second) and goes on; the second then finds the first's job.
    looked = threading.Barrier(2, timeout=1.5)
    original = export_jobs._pending

    def pending_then_wait(survey: Survey, fmt: str) -> SurveyExport | None:
        found = original(survey, fmt)
        with contextlib.suppress(threading.BrokenBarrierError):
            looked.wait()
        return found

    monkeypatch.setattr(export_jobs, "_pending", pending_then_wait)
    jobs: list[Any] = []

    def ask() -> None:
        try:
            jobs.append(
                export_jobs.start_export(
                    survey=Survey.objects.get(pk=survey.pk), actor=organiser, fmt="xlsx"
                ).pk
            )
        except Exception as error:  # reported by the assertion below
            jobs.append(f"error {error!r}")
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(jobs) == 2, jobs
    assert jobs[0] == jobs[1], jobs  # both requests are shown the same job
    assert SurveyExport.objects.filter(survey=survey).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1
