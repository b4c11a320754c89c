# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""Weighted results counted in one query (and equal to weighting response by
response), and the builder, weighting, import and export pages: the views hand the
request to a form or a service and render."""

from __future__ import annotations

import io
import random
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from sayso.analysis import survey_stats
from sayso.core.models import AuditEvent
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import selectors, services
from sayso.surveys.models import Answer, Choice, Question, Survey

from .factories import make_survey, organiser_client

pytestmark = pytest.mark.django_db


def answered(n: int = 40, seed: int = 3) -> Survey:
    """A survey with `n` responses spread unevenly over shift and discipline."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    rng = random.Random(seed)
    for _ in range(n):
        response, _raw = services.start_response(survey=survey, language="en")
        answers: dict[str, Any] = {
            "shift": rng.choices(["day", "night"], weights=(3, 1))[0],
            "disciplined": rng.choice(["yes", "no"]),
            "worries": ["rates"],
        }
        if rng.random() < 0.8:
            answers["age"] = rng.randint(18, 60)
        services.save_page(response=response, answers=answers, page=1)
        assert services.submit_response(response=response) == {}
    return survey


def by_response(survey: Survey, name: str) -> dict[int, str]:
    return dict(
        Answer.objects.filter(survey=survey, question__name=name).values_list(
            "response_id", "choice__name"
        )
    )


def expected_shares(survey: Survey, targets: dict[str, dict[str, float]], name: str) -> list[float]:
    """Weighting done the slow way, one respondent at a time, as a reference."""
    labels = [by_response(survey, t) for t in targets]
    ids = sorted(set.intersection(*(set(x) for x in labels)))
    groups = [[x[r] for r in ids] for x in labels]
    margins = list(targets.values())
    if len(margins) == 1:
        weights = survey_stats.post_stratify(np.ones(len(ids)), groups[0], margins[0]).weights
    else:
        weights = survey_stats.rake(
            np.ones(len(ids)), list(zip(groups, margins, strict=True))
        ).weights
    weight_of = dict(zip(ids, weights, strict=True))
    answers = by_response(survey, name)
    kept = [r for r in ids if r in answers]
    question = survey.questions.get(name=name)
    estimates = survey_stats.proportions(
        [answers[r] for r in kept],
        weights=[weight_of[r] for r in kept],
        categories=[c.name for c in question.choices.all()],
    )
    return [e.value for e in estimates]


def weighted_shares(survey: Survey, name: str) -> list[float | None]:
    found = selectors.results(survey, weighted=True)
    return [r.weighted for r in next(q for q in found.questions if q.question.name == name).rows]


def test_post_stratified_results_equal_weighting_each_respondent() -> None:
    # Enough people that every answer has 5 or more in each shift: weighted shares are
    # shown only then (see test_results_privacy).
    survey = answered(200)
    targets = {"shift": {"day": 50.0, "night": 50.0}}
    survey.weighting_targets = targets
    survey.save()
    assert weighted_shares(survey, "disciplined") == pytest.approx(
        expected_shares(survey, targets, "disciplined"), abs=1e-12
    )
    # The weighting moved the figures: night workers, fewer, now count as much.
    unweighted = selectors.results(survey)
    disciplined = next(q for q in unweighted.questions if q.question.name == "disciplined")
    assert [r.share for r in disciplined.rows] != weighted_shares(survey, "disciplined")
    shift = weighted_shares(survey, "shift")
    assert shift == pytest.approx([0.5, 0.5])


def test_raked_results_equal_weighting_each_respondent() -> None:
    survey = answered(200, seed=8)
    targets = {
        "shift": {"day": 60.0, "night": 40.0},
        "disciplined": {"yes": 30.0, "no": 70.0},
    }
    survey.weighting_targets = targets
    survey.save()
    assert weighted_shares(survey, "shift") == pytest.approx(
        expected_shares(survey, targets, "shift"), abs=1e-9
    )
    assert weighted_shares(survey, "disciplined") == pytest.approx([0.3, 0.7], abs=1e-6)


def test_weighting_is_counted_with_the_results_whatever_the_number_of_questions() -> None:
    """A survey with a weighting counts its weighting rows with the rest of the results
    snapshot (one GROUP BY, and one lookup of the weighting's questions), so a weighted
    page costs no query more than an unweighted one."""
    survey = answered()
    with CaptureQueriesContext(connection) as before:
        selectors.results(survey)
    survey.weighting_targets = {"shift": {"day": 50.0, "night": 50.0}}
    survey.save()
    survey = Survey.objects.select_related("community").get(pk=survey.pk)
    with CaptureQueriesContext(connection) as plain:
        selectors.results(survey)
    assert len(plain) == len(before) + 2
    with CaptureQueriesContext(connection) as weighted:
        found = selectors.results(survey, weighted=True)
    assert found.weighting is not None
    assert len(weighted) == len(plain)
    # More weighable questions: still no query more.
    section = survey.sections.first()
    for i in range(3):
        extra = Question.objects.create(
            survey=survey, section=section, order=10 + i, name=f"extra{i}", type="single"
        )
        Choice.objects.create(question=extra, order=1, name="a", label={"en": "A"})
    with CaptureQueriesContext(connection) as more:
        selectors.results(survey, weighted=True)
    assert len(more) == len(plain)


def test_question_editing_keeps_other_languages_and_refuses_bad_choices() -> None:
    survey = make_survey(CommunityFactory())
    survey.languages = ["en", "pl"]
    survey.save()
    shift = survey.questions.get(name="shift")
    shift.label = {"en": "Shift", "pl": "Zmiana"}
    shift.save()
    client = organiser_client(survey)
    url = reverse(
        "surveys:question-edit",
        kwargs={"slug": survey.community.slug, "pk": survey.pk, "question": shift.pk},
    )
    shown = client.get(url).content.decode()
    assert "day = Day" in shown
    post = {"label": "Your shift", "name": "shift", "type": "single", "required": "on"}
    refused = client.post(url, post | {"choices": "day = Day\nday = Days again"})
    assert refused.status_code == 200
    assert "Choice line 2: the name &#x27;day&#x27; is used twice." in refused.content.decode()
    shift.refresh_from_db()
    assert shift.label == {"en": "Shift", "pl": "Zmiana"}
    assert list(shift.choices.values_list("name", flat=True)) == ["day", "night"]
    saved = client.post(url, post | {"choices": "day = Day\nnight = Night\nswing = Swing"})
    assert saved.status_code == 302
    shift.refresh_from_db()
    assert shift.label == {"en": "Your shift", "pl": "Zmiana"}
    assert list(shift.choices.values_list("name", flat=True)) == ["day", "night", "swing"]

    # The survey's own words for a missing answer: set in this language, the other
    # language's kept, and removed again when the field is emptied.
    shift.required_message = {"pl": "Wybierz zmianę"}
    shift.save()
    worded = post | {"choices": "day = Day\nnight = Night", "required_message": "Pick one "}
    assert client.post(url, worded).status_code == 302
    shift.refresh_from_db()
    assert shift.required_message == {"pl": "Wybierz zmianę", "en": "Pick one"}
    assert 'value="Pick one"' in client.get(url).content.decode()
    emptied = worded | {"required_message": ""}
    assert client.post(url, emptied).status_code == 302
    shift.refresh_from_db()
    assert shift.required_message == {"pl": "Wybierz zmianę"}


def test_weighting_page_refuses_a_count_that_is_not_a_number() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    url = reverse("surveys:weighting", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    chosen = client.get(url + "?question=disciplined").content.decode()
    assert 'name="pop_yes"' in chosen
    assert 'name="pop_day"' not in chosen
    refused = client.post(url, {"question": "shift", "pop_day": "lots", "pop_night": "70"})
    assert refused.status_code == 200
    assert "Give the number of people in digits, like 3,000 or 3000." in refused.content.decode()
    missing = client.post(url, {"question": "shift", "pop_day": "", "pop_night": "70"})
    assert "Give the number of people, like 3,000." in missing.content.decode()
    survey.refresh_from_db()
    assert survey.weighting_targets == {}
    saved = client.post(url, {"question": "shift", "pop_day": "30", "pop_night": "70"})
    assert saved.status_code == 302
    survey.refresh_from_db()
    assert survey.weighting_targets == {"shift": {"day": 30.0, "night": 70.0}}


def small_form(extra_head: list[str], extra: list[str]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label", *extra_head])
    sheet.append(["integer", "n", "How many?", *extra])
    settings = book.create_sheet("settings")
    settings.append(["form_title"])
    settings.append(["Counts"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_page_names_what_was_left_out() -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:import", kwargs={"slug": community.slug})
    data = small_form(["guidance_hint"], ["Count every one"])
    done = client.post(url, {"file": SimpleUploadedFile("f.xlsx", data)}, follow=True)
    page = done.content.decode()
    assert "Imported &#x27;Counts&#x27; as a draft" in page
    assert "guidance hints are not shown (row 2)." in page
    assert Survey.objects.get().title == "Counts"


def test_import_refuses_an_oversized_file_and_creates_nothing() -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:import", kwargs={"slug": community.slug})
    big = small_form([], []) + b"\0" * services.MAX_XLSFORM_BYTES
    refused = client.post(url, {"file": SimpleUploadedFile("big.xlsx", big)})
    assert refused.status_code == 200
    assert "an XLSForm of questions is under 5 MB" in refused.content.decode()
    assert not Survey.objects.exists()


@pytest.mark.parametrize("fmt", ["xlsx", "sav", "datapackage"])
def test_file_exports_stream_from_disk_and_are_audited(
    fmt: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Asked for in one request, written by the task (run when the request commits),
    then downloaded: streamed from the stored file, never held whole."""
    import pyreadstat
    from frictionless import Package
    from openpyxl import load_workbook

    survey = answered(12)
    client = organiser_client(survey)
    url = reverse(
        "surveys:export", kwargs={"slug": survey.community.slug, "pk": survey.pk, "fmt": fmt}
    )
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(url)
    assert asked.status_code == 302
    assert AuditEvent.objects.get(action=AuditEvent.Action.EXPORT).detail["format"] == fmt
    response = client.get(asked["Location"] + "download/")
    assert response.status_code == 200
    assert response.streaming  # sent from the stored file, never held whole
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    downloaded = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).latest("pk")
    assert downloaded.detail["format"] == fmt
    assert " downloaded the " in downloaded.summary
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export.{fmt if fmt != 'datapackage' else 'zip'}"
        path.write_bytes(body)
        if fmt == "xlsx":
            assert load_workbook(path)["responses"].max_row == 13
        elif fmt == "sav":
            frame, meta = pyreadstat.read_sav(str(path))
            assert len(frame) == 12
            # Unanswered ages are missing values, not zeros.
            ages = Answer.objects.filter(survey=survey, question__name="age").count()
            assert int(frame["age"].notna().sum()) == ages < 12
            assert meta.variable_value_labels["shift"] == {1.0: "Day", 2.0: "Night"}
        else:
            with zipfile.ZipFile(path) as archive:
                archive.extractall(folder)
            report = Package(str(Path(folder) / "datapackage.json")).validate()
            assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
            assert (Path(folder) / "responses.csv").read_text().count("\n") == 13


def test_weighted_page_filtered_to_one_answer_shows_everyone_there() -> None:
    """Filtered to night workers, every respondent in view answered "night": its
    weighted share is exactly 1 (a rounding step past 1 once broke this page)."""
    survey = answered(60, seed=5)
    survey.weighting_targets = {"disciplined": {"yes": 40.0, "no": 60.0}}
    survey.save()
    shift = survey.questions.get(name="shift")
    found = selectors.results(survey, only=(shift, "night"), weighted=True)
    # The filter's own question is not shown by share (it would show 0 and 100 %).
    rows = next(q for q in found.questions if q.question.name == "shift").rows
    assert [r.weighted for r in rows] == [None, None]
    disciplined = next(q for q in found.questions if q.question.name == "disciplined").rows
    assert sum(r.weighted for r in disciplined) == pytest.approx(1.0)
    url = reverse("surveys:results", args=[survey.community.slug, survey.pk])
    response = organiser_client(survey).get(url, {"only": "shift:night", "weighted": "1"})
    assert response.status_code == 200
    assert "approximate" in response.content.decode().lower()
