# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A reviewer's findings on building, importing and distributing surveys.

1. A translation of an empty text (a page left untitled) never shows in the main
   language, on the respondent's page, in the builder or after an XLSForm round trip;
   the translations page offers no box for it and keeps none.
2. A members-only survey's page gives the organiser its link to send to members.
3. A codes survey's page shows the code entry page's address, to copy into a letter.
4. A row refused for its type does not also make later references to it errors.
5. A form without a title is named after its file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import logic, services, xlsform
from sayso.surveys.models import Question, Section, Survey, pick_label

from .factories import first_page, make_survey, organiser_client, survey_url, xlsform_bytes

pytestmark = pytest.mark.django_db


def untitled_in_two_languages() -> tuple[Survey, Section]:
    """A survey in English and Welsh whose first page has no title, and a second page."""
    survey = Survey.objects.create(
        community=CommunityFactory.create(), title="Bins", languages=["en", "cy"]
    )
    first = Section.objects.create(survey=survey, order=1, title={"en": ""})
    second = Section.objects.create(survey=survey, order=2, title={"en": "More"})
    Question.objects.create(
        survey=survey,
        section=first,
        order=1,
        name="often",
        type=Question.Type.SHORT_TEXT,
        label={"en": "How often?", "cy": "Pa mor aml?"},
    )
    Question.objects.create(
        survey=survey,
        section=second,
        order=1,
        name="more",
        type=Question.Type.SHORT_TEXT,
        label={"en": "Anything else?"},
    )
    return survey, first


# --------------------------------------------------------------------------- 1. empty texts


def test_the_translations_page_offers_no_box_for_an_empty_page_title_and_keeps_none() -> None:
    survey, first = untitled_in_two_languages()
    client = organiser_client(survey)
    url = survey_url("translations", survey, language="cy")
    page = client.get(url).content.decode()
    assert f'name="section.{first.pk}"' not in page
    assert "(empty)" not in page
    # Posted all the same (an old page left open): not kept.
    saved = client.post(url, {f"section.{first.pk}": "CY 3", "survey.title": "Biniau"})
    assert saved.status_code == 302
    first.refresh_from_db()
    assert first.title == {"en": ""}
    survey.refresh_from_db()
    assert survey.texts == {"cy": {"title": "Biniau"}}


def test_a_translation_kept_from_before_is_dropped_when_translations_are_saved() -> None:
    survey, first = untitled_in_two_languages()
    first.title = {"en": "", "cy": "CY 3"}
    first.save()
    client = organiser_client(survey)
    saved = client.post(survey_url("translations", survey, language="cy"), {})
    assert saved.status_code == 302
    first.refresh_from_db()
    assert first.title == {"en": ""}


def test_a_welsh_title_of_an_untitled_page_is_not_shown_in_english() -> None:
    survey, first = untitled_in_two_languages()
    first.title = {"en": "", "cy": "CY 3"}  # kept from before the translations page's fix
    first.save()
    english = first_page(survey, "en")
    assert "CY 3" not in english
    assert "<h1>Page 1</h1>" in english
    assert "<title>Page 1 of 2 \u2013 Bins" in english
    welsh = first_page(survey, "cy")
    assert "CY 3" in welsh


def test_the_builder_shows_no_welsh_title_for_an_untitled_page() -> None:
    survey, first = untitled_in_two_languages()
    first.title = {"cy": "CY 3"}
    first.save()
    client = organiser_client(survey)
    assert "CY 3" not in client.get(survey_url("detail", survey)).content.decode()
    edit = client.get(survey_url("section-edit", survey, section=first.pk)).content.decode()
    assert "CY 3" not in edit


def test_a_round_trip_keeps_the_welsh_title_out_of_the_main_language() -> None:
    survey, first = untitled_in_two_languages()
    first.title = {"en": "", "cy": "CY 3"}
    first.save()
    data = xlsform.export_xlsform(survey)
    again = xlsform.import_xlsform(data=data, community=survey.community, actor=None)
    section = again.sections.order_by("order").first()
    assert section is not None
    assert section.label(again.default_language) == ""
    assert not section.title.get("en")
    client = organiser_client(again)
    assert "Page 1: CY 3" not in client.get(survey_url("detail", again)).content.decode()
    assert "CY 3" not in first_page(again, "en")


def test_the_main_language_is_the_fallback_never_a_third() -> None:
    labels = {"cy": "Teitl", "en": "Title"}
    assert pick_label(labels, "pl", main="en") == "Title"
    assert pick_label({"cy": "Teitl"}, "en", main="en") == ""
    assert pick_label({"cy": "Teitl"}, "cy", main="en") == "Teitl"
    # As the respondent pages show a page title or a hint, with its language.
    assert logic.shown_own_or_main(labels, "pl", "en") == "Title"
    assert logic.shown_own_or_main(labels, "pl", "en").lang == "en"
    assert logic.shown_own_or_main({"cy": "Teitl"}, "en", "en") == ""
    assert logic.shown_own_or_main({"cy": "Teitl"}, "cy", "en").lang == "cy"


def test_saving_a_page_title_keeps_its_translations_unless_it_is_left_empty() -> None:
    survey, first = untitled_in_two_languages()
    second = survey.sections.get(order=2)
    second.title = {"en": "More", "cy": "Mwy"}
    second.save()
    services.save_section(section=second, survey=survey, title="  More to say ")
    second.refresh_from_db()
    assert second.title == {"en": "More to say", "cy": "Mwy"}
    services.save_section(section=second, survey=survey, title=" ")
    second.refresh_from_db()
    assert second.title == {"en": ""}
    # Without a title, the page is saved as it is.
    first.title = {"en": "", "cy": "CY 3"}
    services.save_section(section=first, survey=survey)
    first.refresh_from_db()
    assert first.title == {"en": "", "cy": "CY 3"}


def test_a_form_labelled_only_in_welsh_shows_its_welsh_texts() -> None:
    data = xlsform_bytes(
        [
            ["type", "name", "label::Welsh (cy)"],
            ["begin_group", "p1", "Amdanoch chi"],
            ["text", "often", "Pa mor aml?"],
            ["end_group", "", ""],
        ]
    )
    survey = xlsform.import_xlsform(data=data, community=CommunityFactory.create(), actor=None)
    assert survey.languages == ["cy"]
    page = first_page(survey, "cy")
    assert "Amdanoch chi" in page
    assert "Pa mor aml?" in page


def test_a_question_labelled_only_in_another_language_is_never_blank() -> None:
    survey, _first = untitled_in_two_languages()
    question = survey.questions.get(name="often")
    question.label = {"cy": "Pa mor aml?"}
    question.save()
    assert "Pa mor aml?" in first_page(survey, "en")


# --------------------------------------------------------------------------- 2, 3. links


def test_a_members_survey_gives_the_link_to_send_to_members() -> None:
    survey = make_survey(CommunityFactory.create(), distribution=Survey.Distribution.MEMBERS)
    page = organiser_client(survey).get(survey_url("detail", survey)).content.decode()
    assert "Link to send to members (they sign in to answer)" in page
    assert f"http://testserver{survey.public_url()}" in page


def test_a_codes_survey_shows_the_address_of_its_code_page() -> None:
    survey = make_survey(CommunityFactory.create(), distribution=Survey.Distribution.CODES)
    page = organiser_client(survey).get(survey_url("detail", survey)).content.decode()
    address = "http://testserver" + reverse(
        "surveys_public:code", kwargs={"link": survey.link_token}
    )
    assert f"<code>{address}</code>" in page


# --------------------------------------------------------------------------- 4, 5. import


def form(rows: list[list[str]], settings: dict[str, str] | None = None) -> bytes:
    return xlsform_bytes(
        [["type", "name", "label", "relevant"], *rows],
        [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]],
        settings,
    )


def test_a_reference_to_a_refused_row_is_not_a_second_error() -> None:
    data = form(
        [
            ["select_one yn", "ok", "OK?", ""],
            ["geopoint", "worries", "Where?", ""],
            ["text", "why", "Why?", "${worries} != ''"],
            ["text", "typo", "And?", "${worrie} != ''"],
        ]
    )
    before = Survey.objects.count()
    with pytest.raises(xlsform.XLSFormError) as caught:
        xlsform.import_form(data=data, community=CommunityFactory.create(), actor=None)
    assert Survey.objects.count() == before
    problems = caught.value.problems
    assert any("row 3" in p and "'geopoint' is not supported" in p for p in problems)
    assert not any("${worries}" in p for p in problems)
    # A name no row has is still an error.
    assert any("row 5" in p and "${worrie}" in p for p in problems)


def test_a_form_without_a_title_is_named_after_its_file() -> None:
    upload = SimpleUploadedFile(
        "bin_collection-survey_2026.xlsx", form([["text", "often", "How often?", ""]])
    )
    imported = services.import_survey(
        upload=upload, community=CommunityFactory.create(), actor=None
    )
    assert imported.survey.title == "bin collection survey 2026"


def test_a_form_title_still_wins_over_the_file_name() -> None:
    upload = SimpleUploadedFile(
        "bins.xlsx", form([["text", "often", "How often?", ""]], {"form_title": "Bin survey"})
    )
    imported = services.import_survey(
        upload=upload, community=CommunityFactory.create(), actor=None
    )
    assert imported.survey.title == "Bin survey"
