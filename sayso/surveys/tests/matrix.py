# mypy: disable-error-code="no-untyped-call,arg-type"
"""Surveys' objects in the authorization matrix's world (tests/test_authorization_matrix.py).

The survey is open and answerable by link, so members see it and public pages answer;
it has one submitted response (with a text answer to approve) and one response in
progress whose private link the respondent pages use.
"""

from __future__ import annotations

import weakref
from typing import Any

from sayso.surveys import export_jobs, services
from sayso.surveys.models import Answer, Question, Response, Survey, SurveyExport, export_storage

from .factories import make_survey

PK_SOURCE = {
    f"surveys:{name}": "_survey"
    for name in (
        "detail",
        "edit",
        "status",
        "section-create",
        "section-edit",
        "section-delete",
        "question-move",
        "language-add",
        "translations",
        "question-create",
        "question-edit",
        "question-delete",
        "cite",
        "codes",
        "code-sheet",
        "preview",
        "take",
        "results",
        "chart",
        "answer-approve",
        "weighting",
        "xlsform",
        "export",
        "exports",
        "export-job",
        "export-download",
    )
}


def build(world: Any) -> None:
    survey = make_survey(world.home, status=Survey.Status.OPEN)
    survey.languages = ["en", "pl"]
    survey.save(update_fields=["languages"])
    story = Question.objects.get(survey=survey, name="story")
    submitted, _raw = services.start_response(survey=survey, language="en")
    services.save_page(
        response=submitted,
        answers={"shift": "day", "age": 30, "disciplined": "yes", "story": "Warned twice"},
        page=1,
    )
    assert services.submit_response(response=Response.objects.get(pk=submitted.pk)) == {}
    answer = Answer.objects.get(response=submitted, question=story)
    _in_progress, resume = services.start_response(survey=survey, language="en")
    # A prepared SPSS file, for the export's page and its download.
    job = SurveyExport.objects.create(survey=survey, format="sav")
    export_jobs.run_export(job_id=job.pk)
    name = SurveyExport.objects.get(pk=job.pk).file_name
    assert name
    # The matrix runs with the default private storage: the file goes with the world.
    weakref.finalize(world, export_storage().delete, name)
    world.kwargs.update(
        {
            "_survey": survey.pk,
            "section": survey.sections.values_list("pk", flat=True)[0],
            "question": story.pk,
            "response_key": Response.objects.get(pk=answer.response_id).export_key,
            "fmt": "csv",
            "link": survey.link_token,
            "language": "pl",
            "job": job.pk,
        }
    )
    # Respondent pages are reached by the private link of a response in progress
    # (the world's `token` is a community invitation's).
    for name in (
        "surveys_public:page",
        "surveys_public:check",
        "surveys_public:saved",
        "surveys_public:forget",
    ):
        world.route_kwargs[name] = {"token": resume}
    world.route_kwargs["surveys_public:page"]["page"] = 0
