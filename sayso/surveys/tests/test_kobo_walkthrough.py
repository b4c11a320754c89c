# mypy: disable-error-code="no-untyped-call,arg-type"
"""The issue's "Done when", walked with the test client as a new organiser would: a
KoboToolbox-style XLSForm (survey, choices and settings sheets, two languages,
metadata, a note, groups, relevant and constraint) is uploaded, opened with codes,
answered from several sessions in both languages, read with small groups hidden,
weighted, and exported in every format, each re-opened."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from sayso.core.models import AuditEvent
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys.models import Question, Response, Survey

pytestmark = pytest.mark.django_db

EN, FR = "label::English (en)", "label::Français (fr)"


def kobo_form() -> bytes:
    """A form as KoboToolbox's builder exports it (columns in its order)."""
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    head = [
        "type",
        "name",
        EN,
        FR,
        "hint::English (en)",
        "hint::Français (fr)",
        "required",
        "relevant",
        "constraint",
        "constraint_message::English (en)",
        "constraint_message::Français (fr)",
        "appearance",
        "$kuid",
    ]
    survey.append(head)
    rows = [
        ["start", "start"],
        ["end", "end"],
        ["today", "today"],
        ["deviceid", "deviceid"],
        ["note", "intro", "About your work at the depot", "Votre travail au dépôt"],
        ["begin_group", "work", "Your work", "Votre travail"],
        ["select_one shifts", "shift", "Which shift?", "Quelle équipe ?", "", "", "true"],
        [
            "integer",
            "years",
            "Years at the depot",
            "Années au dépôt",
            "Whole years",
            "Années entières",
            "",
            "",
            ". >= 0 and . <= 50",
            "From 0 to 50",
            "De 0 à 50",
        ],
        ["date", "started", "When did you start?", "Depuis quand ?"],
        ["end_group"],
        ["begin_group", "scanners", "Scanners", "Scanners"],
        [
            "select_multiple worries",
            "worries",
            "What worries you?",
            "Qu'est-ce qui vous inquiète ?",
        ],
        [
            "text",
            "story",
            "Tell us what happened",
            "Racontez-nous",
            "",
            "",
            "",
            "selected(${worries}, 'discipline')",
            "string-length(.) <= 300",
            "",
            "",
            "multiline",
        ],
        ["end_group"],
    ]
    for number, row in enumerate(rows):
        survey.append([*row, *[""] * (len(head) - 1 - len(row)), f"k{number}"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", EN, FR])
    for row in (
        ["shifts", "day", "Day", "Jour"],
        ["shifts", "night", "Night", "Nuit"],
        ["worries", "rates", "Pick rates", "Cadences"],
        ["worries", "discipline", "Discipline", "Sanctions"],
        ["worries", "sharing", "Data shared", "Partage des données"],
    ):
        choices.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["Depot scanners", "depot_scanners", "vGx7", "English (en)"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def answer(client: Client, start: str, language: str, pages: list[dict[str, object]]) -> str:
    """Answers every page from `start` (a code page or a link) and returns the thanks URL."""
    location = client.post(start, {"language": language} | pages[0])["Location"]
    for data in pages[1:]:
        location = client.post(location, data)["Location"]
    assert "/check/" in location, location
    return str(client.post(location)["Location"])


def test_kobo_form_from_upload_to_every_export(django_capture_on_commit_callbacks: Any) -> None:
    community = CommunityFactory()
    organiser = signed_in(OrganiserFactory(community=community).user)
    base = {"slug": community.slug}

    imported = organiser.post(
        reverse("surveys:import", kwargs=base),
        {"file": SimpleUploadedFile("depot.xlsx", kobo_form())},
    )
    assert imported.status_code == 302, imported.context and imported.context["problems"]
    survey = Survey.objects.get()
    assert (survey.title, survey.languages) == ("Depot scanners", ["en", "fr"])
    assert list(survey.questions.values_list("name", "type")) == [
        ("intro", Question.Type.NOTE),
        ("shift", Question.Type.SINGLE),
        ("years", Question.Type.NUMBER),
        ("started", Question.Type.DATE),
        ("worries", Question.Type.MULTIPLE),
        ("story", Question.Type.LONG_TEXT),
    ]
    years = survey.questions.get(name="years")
    assert years.constraint_message == {"en": "From 0 to 50", "fr": "De 0 à 50"}
    assert years.hint == {"en": "Whole years", "fr": "Années entières"}
    pk = {**base, "pk": survey.pk}
    assert organiser.get(reverse("surveys:detail", kwargs=pk)).status_code == 200
    assert (
        organiser.get(reverse("surveys:translations", kwargs=pk | {"language": "fr"})).status_code
        == 200
    )

    codes = organiser.post(reverse("surveys:codes", kwargs=pk), {"size": 12}, follow=True).context[
        "codes"
    ]
    organiser.post(reverse("surveys:status", kwargs=pk), {"status": "open"})
    code_page = reverse("surveys_public:code", kwargs={"link": survey.link_token})

    # In French: the note (on a page of its own, being outside any group) and labels show,
    # a refused number keeps the other answers and says why in French.
    first = Client()
    page = first.post(code_page, {"code": codes[0][0], "language": "fr"})["Location"]
    assert "Votre travail au dépôt" in first.get(page).content.decode()  # a page of its own
    page = first.post(page, {})["Location"]
    assert "Quelle équipe ?" in first.get(page).content.decode()
    refused = first.post(page, {"q_shift": "night", "q_years": "70"}).content.decode()
    assert "De 0 à 50" in refused
    assert 'value="70"' in refused

    people = [
        ("fr", "night", "3", ["discipline"], "Averti deux fois"),
        ("en", "day", "12", ["rates"], ""),
        ("en", "day", "5", ["rates", "sharing"], ""),
        ("en", "night", "8", ["discipline", "rates"], "Warned by the scanner"),
        ("fr", "day", "1", ["sharing"], ""),
        ("en", "day", "20", ["rates"], ""),
        ("en", "day", "2", ["rates"], ""),
    ]
    for i, (language, shift, years_, worries, story) in enumerate(people, start=1):
        client = Client()
        thanks = answer(
            client,
            code_page,
            language,
            [
                {"code": codes[i][0]},
                {},
                {"q_shift": shift, "q_years": years_, "q_started": "2020-03-01"},
                {"q_worries": worries, "q_story": story},
            ],
        )
        assert client.get(thanks).status_code == 200
    used = Client().post(code_page, {"code": codes[1][0]})
    assert "already been used" in used.content.decode()
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 7
    assert set(Response.objects.values_list("language", flat=True)) == {"en", "fr"}

    # Results: members see counts of 5+; published results hide more (threshold 10).
    results = reverse("surveys:results", kwargs=pk)
    members = organiser.get(results).content.decode()
    assert "hidden (small group)" in members
    published = organiser.get(results + "?audience=published")
    # Seven respondents are below the published threshold of 10: the whole page is refused.
    assert published.context["results"].threshold == 10
    assert published.context["results"].refusal == (
        "Fewer than 10 people have answered so far, so no results are shown: with so few, "
        "someone's answers could be picked out."
    )
    assert "These results cannot be shown" in published.content.decode()
    assert published.context["results"].questions == []
    assert "Votre travail au dépôt" not in members  # a note has no results

    weighting = reverse("surveys:weighting", kwargs=pk)
    # Two night workers: under the threshold of 5, so weighting by shift is refused when
    # saved (the results could never be weighted by it), and nothing is kept.
    refused_weighting = organiser.post(
        weighting, {"question": "shift", "pop_day": "300", "pop_night": "700"}
    ).content.decode()
    assert "be weighted by this question: fewer than 5 people" in refused_weighting
    survey.refresh_from_db()
    assert survey.weighting_targets == {}

    def export(fmt: str) -> bytes:
        """CSV downloads at once; the other formats are asked for, prepared by the task
        (run at once here, when the request's transaction commits), then downloaded."""
        url = reverse("surveys:export", kwargs=pk | {"fmt": fmt})
        if fmt == "csv":
            got = organiser.get(url)
        else:
            with django_capture_on_commit_callbacks(execute=True):
                asked = organiser.post(url)
            assert asked.status_code == 302, fmt
            page = organiser.get(asked["Location"])
            assert "file is ready" in page.content.decode(), fmt
            got = organiser.get(asked["Location"] + "download/")
        assert got.status_code == 200, fmt
        return b"".join(got.streaming_content)  # type: ignore[attr-defined]

    rows = list(csv.reader(io.StringIO(export("csv").decode("utf-8-sig"))))
    assert rows[0] == [
        "response_id",
        "submitted_on",
        "shift",
        "years",
        "started",
        "worries",
        "story",
    ]
    assert len(rows) == 8
    book = load_workbook(io.BytesIO(export("xlsx")))
    assert book["responses"].max_row == 8
    import pyreadstat
    from frictionless import Package

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sav"
        path.write_bytes(export("sav"))
        frame, meta = pyreadstat.read_sav(str(path))
        assert len(frame) == 7
        assert meta.variable_value_labels["shift"] == {1.0: "Day", 2.0: "Night"}
        with zipfile.ZipFile(io.BytesIO(export("datapackage"))) as archive:
            archive.extractall(folder)
        descriptor = json.loads((Path(folder) / "datapackage.json").read_text())
        assert descriptor["resources"]
        report = Package(str(Path(folder) / "datapackage.json")).validate()
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    exports_ = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert exports_.filter(summary__contains=" exported ").count() == 4
    assert exports_.filter(summary__contains=" downloaded the ").count() == 3
    # The organiser's results pages showed unapproved text answers: the day's reads are
    # logged once, as reads, not as exports.
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.ANSWERS_READ)
    assert reads.filter(summary__contains="read the unapproved text answers").count() == 1

    # The XLSForm written back converts with pyxform and keeps both languages.
    from pyxform.xls2xform import convert

    written = organiser.get(reverse("surveys:xlsform", kwargs=pk)).content
    xform = convert(xlsform=written, file_type=".xlsx").xform
    assert "Quelle équipe ?" in xform
    assert "Votre travail au dépôt" in xform
