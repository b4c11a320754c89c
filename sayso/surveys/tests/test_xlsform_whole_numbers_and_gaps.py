# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""XLSForm: an `integer` question stays a whole-number question through import, export,
pyxform and import again, and its answers must be whole numbers; a text with no
translation is exported as an empty cell, so a re-import does not take the main
language's text for a translation."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import services, xlsform
from sayso.surveys.models import Answer, Question, Response, Survey

pytestmark = pytest.mark.django_db


def numbers_form() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label::English (en)", "label::Polish (pl)"])
    sheet.append(["integer", "years", "Years at the depot", "Lata w magazynie"])
    sheet.append(["decimal", "hours", "Hours a week", ""])  # no Polish translation
    book.create_sheet("choices").append(["list_name", "name", "label"])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "default_language"])
    settings.append(["Depot", "English (en)"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def kinds(survey: Survey) -> dict[str, tuple[str, bool]]:
    return {q.name: (q.type, q.whole_number) for q in survey.questions.all()}


def survey_rows(data: bytes) -> list[dict[str, Any]]:
    rows = list(load_workbook(io.BytesIO(data))["survey"].iter_rows(values_only=True))
    head = [str(h) for h in rows[0]]
    return [dict(zip(head, row, strict=False)) for row in rows[1:]]


def test_an_integer_question_stays_whole_through_export_pyxform_and_import() -> None:
    from pyxform.xls2xform import convert

    community = CommunityFactory()
    first = xlsform.import_form(data=numbers_form(), community=community, actor=None).survey
    assert kinds(first) == {
        "years": (Question.Type.NUMBER, True),
        "hours": (Question.Type.NUMBER, False),
    }
    exported = xlsform.export_xlsform(first)
    types = {row["name"]: row["type"] for row in survey_rows(exported) if row["name"]}
    assert types["years"] == "integer"
    assert types["hours"] == "decimal"
    xform = str(convert(xlsform=exported, file_type=".xlsx").xform)
    assert '<bind nodeset="/data/section_1/years" type="int"/>' in xform
    assert '<bind nodeset="/data/section_1/hours" type="decimal"/>' in xform
    again = xlsform.import_form(data=exported, community=community, actor=None).survey
    assert kinds(again) == kinds(first)


def test_a_missing_translation_stays_missing_through_the_round_trip() -> None:
    from pyxform.xls2xform import convert

    community = CommunityFactory()
    first = xlsform.import_form(data=numbers_form(), community=community, actor=None).survey
    hours = first.questions.get(name="hours")
    assert hours.label == {"en": "Hours a week"}
    exported = xlsform.export_xlsform(first)
    by_name = {row["name"]: row for row in survey_rows(exported) if row["name"]}
    # Left empty, not filled with the English text.
    assert by_name["hours"]["label::English (en)"] == "Hours a week"
    assert by_name["hours"]["label::Polish (pl)"] is None
    assert by_name["years"]["label::Polish (pl)"] == "Lata w magazynie"
    # The page's own title has no translation either: its Polish cell is empty too.
    assert by_name["section_1"]["label::Polish (pl)"] is None
    converted = convert(xlsform=exported, file_type=".xlsx")
    assert converted.warnings == []  # pyxform takes the gap without a word
    again = xlsform.import_form(data=exported, community=community, actor=None).survey
    assert again.questions.get(name="hours").label == {"en": "Hours a week"}
    assert again.questions.get(name="years").label == {
        "en": "Years at the depot",
        "pl": "Lata w magazynie",
    }


def test_the_builder_keeps_a_question_whole_number_only() -> None:
    community = CommunityFactory()
    survey = xlsform.import_form(data=numbers_form(), community=community, actor=None).survey
    organiser = OrganiserFactory(community=community)
    client = signed_in(organiser.user)
    years = survey.questions.get(name="years")
    url = reverse(
        "surveys:question-edit",
        kwargs={"slug": community.slug, "pk": survey.pk, "question": years.pk},
    )
    page = client.get(url).content.decode()
    assert re.search(r'name="whole_number"[^>]*checked', page)
    saved = client.post(url, {"label": "Years here", "name": "years", "type": Question.Type.NUMBER})
    assert saved.status_code == 302
    years.refresh_from_db()
    assert (years.label["en"], years.whole_number) == ("Years here", False)
    client.post(
        url,
        {
            "label": "Years here",
            "name": "years",
            "type": Question.Type.NUMBER,
            "whole_number": "on",
        },
    )
    years.refresh_from_db()
    assert years.whole_number is True


def test_a_respondent_giving_a_fraction_to_a_whole_number_question_is_told() -> None:
    community = CommunityFactory()
    survey = xlsform.import_form(data=numbers_form(), community=community, actor=None).survey
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)
    client = Client()
    first = str(
        client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))["Location"]
    )
    # Told on the page where it was typed, with both answers kept as typed.
    refused = client.post(first, {"q_years": "2.5", "q_hours": "37.5"})
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Enter a whole number, like 12." in page
    assert 'value="2.5"' in page
    assert 'value="37.5"' in page
    check = re.sub(r"/p/0/$", "/check/", first)
    assert Answer.objects.filter(survey=survey).count() == 0
    assert Response.objects.get(survey=survey).status == Response.Status.PARTIAL
    # A whole number, and a fraction where fractions are fine, are accepted.
    client.post(first, {"q_years": "2", "q_hours": "37.5"})
    done = client.post(check)
    assert done.status_code == 302
    numbers = list(Answer.objects.filter(survey=survey).values_list("number", flat=True))
    assert len(numbers) == 2
    assert sorted(n for n in numbers if n is not None) == [2.0, 37.5]


def test_a_question_with_fractions_answered_cannot_become_whole_number_only() -> None:
    community = CommunityFactory()
    survey = xlsform.import_form(data=numbers_form(), community=community, actor=None).survey
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers={"hours": 37.5}, page=1)
    assert services.submit_response(response=response) == {}
    client = signed_in(OrganiserFactory(community=community).user)
    hours = survey.questions.get(name="hours")
    url = reverse(
        "surveys:question-edit",
        kwargs={"slug": community.slug, "pk": survey.pk, "question": hours.pk},
    )
    refused = client.post(
        url,
        {"label": "Hours a week", "name": "hours", "type": "number", "whole_number": "on"},
    )
    assert refused.status_code == 200
    assert (
        "1 answer already given is not a whole number, so this question cannot be limited"
        " to whole numbers now." in refused.content.decode()
    )
    hours.refresh_from_db()
    assert hours.whole_number is False
