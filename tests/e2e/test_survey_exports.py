"""An SPSS export in a real browser without JavaScript: the organiser asks for it from
the survey's page, is told it is being prepared, the task worker (django-tasks-db's
db_worker, as `sayso worker` runs it) writes it, a plain Refresh shows it ready, and
the download reads back with pyreadstat. Every page is axe-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command

from sayso.core.models import AuditEvent, Community, Membership, Role
from sayso.surveys import services
from sayso.surveys.models import Survey, SurveyExport
from sayso.surveys.tests.factories import make_survey, start_order

from .conftest import PASSWORD, BrowseFactory

pytestmark = pytest.mark.e2e


def test_spss_export_is_prepared_by_the_worker_and_downloaded(
    browse: BrowseFactory, settings: Any, tmp_path: Path
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "survey_exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports")},
        },
    }
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.ORGANISER)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for i in range(12):
        response, _raw = services.start_response(survey=survey, language="en")
        answers = {"shift": "night" if i % 3 else "day", "disciplined": "yes", "age": 20 + i}
        services.save_page(response=response, answers=answers | {"story": "Zażółć " * i}, page=1)
        assert services.submit_response(response=response) == {}
    # The survey page shows its long shared link: it must wrap at phone width (every
    # visit checks that no page scrolls sideways at 320 px).
    assert survey.distribution == Survey.Distribution.LINK

    rep = browse("organiser", javascript=False)
    rep.visit("/accounts/login/")
    rep.page.get_by_label("Email:").fill(user.email)
    rep.page.get_by_label("Password:").fill(PASSWORD)
    rep.submit("Sign In")
    rep.visit(f"/c/northgate-depot/surveys/{survey.pk}/")
    assert "prepared in the background" in rep.page.content()
    rep.submit("Prepare SPSS (.sav)")
    page = rep.page
    assert "Your SPSS (.sav) file is being prepared. Refresh this page to check." in page.content()
    job = SurveyExport.objects.get()
    assert job.state == SurveyExport.State.QUEUED
    # Nothing happens by itself: the page is the same after a refresh until a worker runs.
    rep.follow("Refresh")
    assert "is being prepared" in page.content()

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    job.refresh_from_db()
    assert job.state == SurveyExport.State.DONE
    rep.follow("Refresh")
    assert "Your SPSS (.sav) file is ready" in page.content()
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download survey-{survey.pk}.sav").click()
    target = tmp_path / "downloaded.sav"
    download.value.save_as(target)
    frame, meta = pyreadstat.read_sav(str(target))
    assert len(frame) == 12
    assert meta.variable_value_labels["shift"] == {1.0: "Day", 2.0: "Night"}
    # The rows come in random order: put them back in the order they were answered.
    order = start_order(survey)
    frame = frame.sort_values(
        "response_id", key=lambda ids: ids.astype("int64").map(order), ignore_index=True
    )
    assert frame["story"][2] == "Zażółć Zażółć"
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, actor=user)
    assert audited.filter(summary__contains="exported 12 responses").count() == 1
    assert audited.filter(summary__contains="downloaded the SPSS (.sav) file").count() == 1
    rep.follow("All exports of this survey")
    assert "Ready to download" in page.content()
