"""The example XLSForm the import page offers imports cleanly, with nothing left out."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import services
from sayso.surveys.models import Question

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "static/surveys/example-xlsform.xlsx"


def test_the_example_imports_with_nothing_left_out() -> None:
    community = CommunityFactory.create()
    upload = SimpleUploadedFile("example-xlsform.xlsx", EXAMPLE.read_bytes())
    imported = services.import_survey(upload=upload, community=community, actor=None)
    survey = imported.survey
    assert imported.notes == []
    assert survey.title == "Scanner data survey (example)"
    assert [s.label(survey.default_language) for s in survey.sections.order_by("order")] == [
        "About you",
        "Your experience",
    ]
    questions = {q.name: q for q in survey.questions.all()}
    assert list(questions) == ["shift", "years", "disciplined", "worries", "story"]
    assert questions["years"].whole_number
    assert questions["years"].constraint == ". >= 0 and . <= 60"
    assert questions["story"].relevant == "${disciplined} = 'yes'"
    assert questions["worries"].type == Question.Type.MULTIPLE


def test_the_import_page_links_to_the_example() -> None:
    organiser = OrganiserFactory.create()
    client = signed_in(organiser.user)
    page = client.get(reverse("surveys:import", kwargs={"slug": organiser.community.slug}))
    assert "example-xlsform" in page.content.decode()
    assert "Download an example form" in page.content.decode()


def test_importing_a_form_twice_says_the_titles_are_the_same() -> None:
    organiser = OrganiserFactory.create()
    client = signed_in(organiser.user)
    url = reverse("surveys:import", kwargs={"slug": organiser.community.slug})
    first = client.post(
        url, {"file": SimpleUploadedFile("a.xlsx", EXAMPLE.read_bytes())}, follow=True
    )
    assert "Another survey here has the same title" not in first.content.decode()
    again = client.post(
        url, {"file": SimpleUploadedFile("a.xlsx", EXAMPLE.read_bytes())}, follow=True
    )
    assert "Another survey here has the same title" in again.content.decode()
