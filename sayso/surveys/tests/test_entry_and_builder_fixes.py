# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""Fixes found in review: the privacy notice on the invitation-code path, language
codes (not names) for a survey's languages, XLSForm import problems tied to the file
field, a number keypad for whole numbers, and plain messages on invitation codes."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import InvitationCode, InvitationCodeBatch, InvitationCodeUse
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import logic, services
from sayso.surveys.forms import CodeEntryForm, CodesForm, SurveyForm
from sayso.surveys.models import Choice, Question, Response, Section, Survey

from .factories import make_survey, organiser_client
from .factories import survey_url as url

pytestmark = pytest.mark.django_db

NOTICE = "Only the branch organisers see answers, and only as totals."


def code_survey() -> Survey:
    return make_survey(
        CommunityFactory(),
        status=Survey.Status.OPEN,
        distribution=Survey.Distribution.CODES,
        welcome="Tell us about the scanners.",
        privacy_notice=NOTICE,
    )


def code_url(survey: Survey) -> str:
    return reverse("surveys_public:code", kwargs={"link": survey.link_token})


def section_of(html: str, start: str, end: str) -> str:
    """The part of `html` from `start` to the next `end`."""
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


# --------------------------------------------------------------------------- 1. privacy notice


def test_code_entry_page_shows_the_privacy_notice_as_the_link_path_does() -> None:
    survey = code_survey()
    _batch, codes = services.create_codes(survey=survey, actor=None, size=1)
    client = Client()
    # A person with a card opens the survey's link and is taken to the code page.
    to_code = client.get(survey.public_url())
    assert to_code["Location"] == code_url(survey)
    page = client.get(to_code["Location"]).content.decode()
    notice = section_of(page, "<h2>Who sees your answers</h2>", "Your code proves")
    assert NOTICE in notice
    assert "We do not record your name, your IP address" in notice
    # It comes before the form where the code (the first thing typed) goes.
    assert page.index(NOTICE) < page.index('name="code"')
    # The same markup as on the link path's start page: one include, not a copy.
    survey.distribution = Survey.Distribution.LINK
    survey.save(update_fields=["distribution"])
    start = client.get(survey.public_url()).content.decode()
    assert section_of(start, "<h2>Who sees your answers</h2>", "</p>\n<p>We do not") in notice
    survey.distribution = Survey.Distribution.CODES
    survey.save(update_fields=["distribution"])
    # After the code, the person is on page 1: the notice was seen before any answer.
    started = client.post(to_code["Location"], {"code": codes[0]})
    assert started["Location"].endswith("/0/")
    assert Response.objects.count() == 1


def test_code_entry_page_shows_the_translated_privacy_notice() -> None:
    survey = code_survey()
    services.add_language(survey=survey, language="cy")
    services.save_translations(
        survey=survey,
        language="cy",
        texts={"survey.privacy_notice": "Dim ond trefnwyr y gangen sy'n gweld atebion."},
    )
    page = Client().get(code_url(survey) + "?lang=cy").content.decode()
    # A Welsh page (Sayso's words too): the notice inherits the page's language.
    assert '<html lang="cy">' in page
    assert "<p>Dim ond trefnwyr y gangen sy&#x27;n gweld atebion.</p>" in page
    assert NOTICE not in page


def test_code_entry_page_without_a_privacy_notice_still_says_what_is_recorded() -> None:
    survey = code_survey()
    survey.privacy_notice = ""
    survey.save(update_fields=["privacy_notice"])
    page = Client().get(code_url(survey)).content.decode()
    # Sayso's own guarantees stand in for the survey's missing notice.
    assert "Who sees your answers" in page
    assert 'id="default-privacy"' in page
    assert "We do not record your name, your IP address" in page


# --------------------------------------------------------------------------- 2. language codes


@pytest.mark.parametrize(
    "code", ["en", "cy", "pl", "pt-br", "zh-hant", "zh-hant-tw", "es-419", "so", "ti", "fil"]
)
def test_language_codes_are_accepted(code: str) -> None:
    assert logic.is_language_code(code)


@pytest.mark.parametrize(
    "typed", ["english", "welsh", "polski", "xx", "en-english", "p1!", "e", "pt_br", ""]
)
def test_language_names_and_made_up_codes_are_refused(typed: str) -> None:
    assert not logic.is_language_code(typed)


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        ("cymraeg", "“cymraeg” is not a code: for Welsh, give cy."),
        ("pt_br", "“pt_br” is not a code: for Brazilian Portuguese, give pt-br."),
        ("zz_yy", "“zz_yy” is not a language code."),
        ("klingonese", "“klingonese” is not a language code."),
    ],
)
def test_the_message_names_the_code_only_for_a_known_language(typed: str, told: str) -> None:
    assert services.language_code_problem(typed) == (
        "Give language codes like en, cy or pl, separated by spaces. " + told
    )


def test_new_survey_with_a_language_name_is_refused_next_to_the_field() -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    refused = client.post(
        reverse("surveys:create", kwargs={"slug": community.slug}),
        {"title": "Scanners", "distribution": "link", "languages_text": "english pl"},
    )
    assert refused.status_code == 200
    assert Survey.objects.count() == 0
    message = (
        "Give language codes like en, cy or pl, separated by spaces."
        " “english” is not a code: for English, give en."
    )
    assert refused.context["form"].errors["languages_text"] == [message]
    html = refused.content.decode()
    field = section_of(html, '<label for="id_languages_text"', 'id="id_languages_text">')
    assert f'<ul class="errorlist" id="id_languages_text_error"><li>{message}</li></ul>' in field
    assert re.search(r'<input[^>]*aria-describedby="[^"]*id_languages_text_error', field)
    # Corrected, it is kept as typed.
    client.post(
        reverse("surveys:create", kwargs={"slug": community.slug}),
        {"title": "Scanners", "distribution": "link", "languages_text": "en pl"},
    )
    assert Survey.objects.get().languages == ["en", "pl"]


def test_editing_a_survey_refuses_a_made_up_code_and_keeps_its_languages() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    refused = client.post(
        url("edit", survey),
        {"title": "Scanners", "distribution": "link", "languages_text": "en xx"},
    )
    assert refused.context["form"].errors["languages_text"] == [
        "Give language codes like en, cy or pl, separated by spaces. “xx” is not a language code."
    ]
    survey.refresh_from_db()
    assert (survey.title, survey.languages) == ("Scanner survey", ["en"])


def test_survey_form_reads_bcp47_codes_and_commas() -> None:
    form = SurveyForm(
        {"title": "T", "distribution": "link", "languages_text": "en, cy pt-BR zh-Hant en"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["languages_text"] == ["en", "cy", "pt-br", "zh-hant"]
    empty = SurveyForm({"title": "T", "distribution": "link", "languages_text": " "})
    assert empty.errors["languages_text"] == ["Give at least one language, like en for English."]


def test_adding_a_language_by_name_is_refused_and_names_the_code() -> None:
    survey = make_survey(CommunityFactory())
    with pytest.raises(ServiceError) as refused:
        services.add_language(survey=survey, language="Welsh")
    # "Add a language" takes one code: not "codes ... separated by spaces" (review 11).
    assert str(refused.value) == (
        "Give one language code, like cy for Welsh or pt-br for Brazilian Portuguese."
        " “welsh” is not a code: for Welsh, give cy."
    )
    survey.refresh_from_db()
    assert survey.languages == ["en"]
    client = organiser_client(survey)
    added = client.post(url("language-add", survey), {"language": "pt-BR"})
    assert added["Location"] == url("translations", survey, language="pt-br")
    survey.refresh_from_db()
    assert survey.languages == ["en", "pt-br"]


# --------------------------------------------------------------------------- 3. XLSForm import


def test_import_problems_are_tied_to_the_file_field() -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    upload = io.BytesIO(b"not a spreadsheet")
    upload.name = "survey.xlsx"
    refused = client.post(
        reverse("surveys:import", kwargs={"slug": community.slug}), {"file": upload}
    )
    assert refused.status_code == 200
    assert Survey.objects.count() == 0
    problem = "The file is not an .xlsx spreadsheet. Save it as Excel (.xlsx) and try again."
    assert refused.context["form"].errors["file"] == [problem]
    html = refused.content.decode()
    assert f'<ul class="errorlist" id="id_file_error"><li>{problem}</li></ul>' in html
    file_input = re.search(r'<input type="file"[^>]*>', html)
    assert file_input is not None
    assert 'aria-describedby="id_file_helptext id_file_error"' in file_input.group(0)
    assert 'aria-invalid="true"' in file_input.group(0)
    # The error summary links to the field, and says so once.
    assert f'<a href="#id_file">XLSForm file (.xlsx): {problem}</a>' in html
    assert html.count(problem) == 2
    assert "nothing was created" in html


# --------------------------------------------------------------------------- 4. number keypad


def test_whole_number_questions_get_a_number_keypad_others_a_decimal_one() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    age = Question.objects.get(survey=survey, name="age")
    assert age.type == Question.Type.NUMBER
    client = Client()
    first = client.post(survey.public_url())["Location"]

    def age_input() -> str:
        found = re.search(r'<input[^>]*name="q_age"[^>]*>', client.get(first).content.decode())
        assert found is not None
        return found.group(0)

    assert 'inputmode="decimal"' in age_input()
    age.whole_number = True
    age.save(update_fields=["whole_number"])
    assert 'inputmode="numeric"' in age_input()


# --------------------------------------------------------------------------- 5. code messages


@pytest.mark.parametrize("typed", ["", "0", "-3", "2001", "many", "2.5"])
def test_codes_form_says_how_many_codes_can_be_made(typed: str) -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    refused = client.post(url("codes", survey), {"size": typed})
    assert refused.status_code == 200
    message = "Enter how many codes to make, from 1 to 2,000."
    assert refused.context["form"].errors["size"] == [message]
    assert f'<ul class="errorlist" id="id_size_error"><li>{message}</li></ul>' in (
        refused.content.decode()
    )
    assert InvitationCodeBatch.objects.count() == 0
    assert InvitationCode.objects.count() == 0


def test_codes_form_reads_numbers_written_with_separators() -> None:
    for typed in ("2,000", "2 000", "50"):
        form = CodesForm({"size": typed})
        assert form.is_valid(), (typed, form.errors)
    grouped = CodesForm({"size": "2,000"})
    assert grouped.is_valid()
    assert grouped.cleaned_data["size"] == 2000
    assert 'inputmode="numeric"' in str(CodesForm()["size"])


def test_code_entry_without_a_code_asks_for_the_one_on_the_card() -> None:
    survey = code_survey()
    services.create_codes(survey=survey, actor=None, size=1)
    assert not InvitationCodeUse.objects.exists()
    refused = Client().post(code_url(survey), {"code": "  "})
    assert refused.status_code == 200
    message = "Enter the code from your card or letter."
    assert refused.context["form"].errors["code"] == [message]
    assert f'<ul class="errorlist" id="id_code_error"><li>{message}</li></ul>' in (
        refused.content.decode()
    )
    assert Response.objects.count() == 0
    assert not InvitationCodeUse.objects.exists()
    too_long = CodeEntryForm({"code": "A" * 41})  # room for spaces between the letters
    assert too_long.errors["code"] == [
        "This is longer than an invitation code. Enter the code from your card or letter,"
        " like ABCDE-FGH23."
    ]


# --------------------------------------------------------------------------- 2b. names kept


def survey_with_language_names() -> tuple[Survey, Client]:
    """Languages stored by name, as an XLSForm with "label::English" columns gives."""
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = Survey.objects.create(
        community=community,
        created_by=organiser,
        title="Work survey",
        languages=["english", "pl"],
        status=Survey.Status.OPEN,
        texts={"pl": {"title": "Ankieta o pracy"}},
    )
    about = Section.objects.create(
        survey=survey, order=1, title={"pl": "O tobie", "english": "About you"}
    )
    shift = Question.objects.create(
        survey=survey,
        section=about,
        order=1,
        name="shift",
        type=Question.Type.SINGLE,
        label={"pl": "Twoja zmiana", "english": "Your shift"},
        hint={"english": "The one you work most"},
        required_message={"english": "Choose your shift.", "pl": "Wybierz zmianę."},
    )
    Choice.objects.create(question=shift, order=1, name="day", label={"english": "Day"})
    Choice.objects.create(
        question=shift, order=2, name="night", label={"pl": "Nocna", "english": "Night"}
    )
    client = signed_in(organiser)
    return survey, client


def settings_form(survey: Survey, languages: str) -> dict[str, str]:
    return {"title": survey.title, "distribution": "link", "languages_text": languages}


def test_a_survey_with_language_names_can_still_be_saved_but_not_given_new_ones() -> None:
    survey, client = survey_with_language_names()
    kept = client.post(
        url("edit", survey), {**settings_form(survey, "english pl"), "title": "Work"}
    )
    assert kept.status_code == 302
    survey.refresh_from_db()
    assert (survey.title, survey.languages) == ("Work", ["english", "pl"])
    refused = client.post(url("edit", survey), settings_form(survey, "english pl welsh"))
    assert refused.context["form"].errors["languages_text"] == [
        "Give language codes like en, cy or pl, separated by spaces."
        " “welsh” is not a code: for Welsh, give cy."
    ]
    survey.refresh_from_db()
    assert survey.languages == ["english", "pl"]


def test_replacing_a_language_name_by_its_code_moves_its_texts() -> None:
    survey, client = survey_with_language_names()
    # Someone part-way through, in English.
    started = Client().post(survey.public_url(), {"language": "english"})
    assert started.status_code == 302
    response = Response.objects.get()
    assert response.language == "english"
    saved = client.post(url("edit", survey), settings_form(survey, "en pl"))
    assert saved.status_code == 302
    survey.refresh_from_db()
    assert survey.languages == ["en", "pl"]
    assert survey.texts == {"pl": {"title": "Ankieta o pracy"}}
    section = survey.sections.get()
    assert section.title == {"pl": "O tobie", "en": "About you"}
    shift = Question.objects.get(survey=survey)
    assert shift.label == {"pl": "Twoja zmiana", "en": "Your shift"}
    assert shift.hint == {"en": "The one you work most"}
    assert shift.required_message == {"en": "Choose your shift.", "pl": "Wybierz zmianę."}
    assert [c.label for c in shift.choices.all()] == [
        {"en": "Day"},
        {"pl": "Nocna", "en": "Night"},
    ]
    response.refresh_from_db()
    assert response.language == "en"
    # The English pages show the English texts, the Polish ones the Polish texts.
    respondent = Client()
    english = respondent.get(respondent.post(survey.public_url(), {"language": "en"})["Location"])
    html = english.content.decode()
    assert "<h1>About you</h1>" in html
    assert "Your shift" in html
    assert "Ankieta o pracy" not in html
    assert "O tobie" not in html
    polish = respondent.get(respondent.post(survey.public_url(), {"language": "pl"})["Location"])
    # Polish pages are Polish throughout (Sayso's words too): the title inherits it.
    assert '<html lang="pl">' in polish.content.decode()
    assert "<h1>O tobie</h1>" in polish.content.decode()


def test_a_language_dropped_and_another_added_keeps_its_texts_where_they_were() -> None:
    """Only a name replaced by its own code moves: "english" to "de" is not a rename."""
    survey, client = survey_with_language_names()
    client.post(url("edit", survey), settings_form(survey, "de pl"))
    survey.refresh_from_db()
    assert survey.languages == ["de", "pl"]
    assert survey.sections.get().title == {"pl": "O tobie", "english": "About you"}
