# mypy: disable-error-code="no-untyped-call,arg-type"
"""Several languages per survey (translations page, the respondent's choice, XLSForm
round trip) and the builder's page and order tools."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import selectors, services, xlsform
from sayso.surveys.models import Question, Response, Section, Survey

from .factories import make_survey, organiser_client
from .factories import survey_url as url

pytestmark = pytest.mark.django_db


def messages_of(response: Any) -> list[str]:
    """The messages a request added (earlier unread ones ride along in the cookie)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


def translated_survey() -> Survey:
    survey = make_survey(
        CommunityFactory(),
        status=Survey.Status.OPEN,
        welcome="Tell us about scanners.",
        privacy_notice="Only organisers see answers.",
    )
    services.add_language(survey=survey, language="pl")
    shift = Question.objects.get(survey=survey, name="shift")
    day, night = shift.choices.all()
    first = survey.sections.first()
    assert first is not None
    services.save_translations(
        survey=survey,
        language="pl",
        texts={
            "survey.title": "Ankieta o skanerach",
            "survey.welcome": "Opowiedz nam o skanerach.",
            "survey.privacy_notice": "Tylko organizatorzy widzą odpowiedzi.",
            f"section.{first.pk}": "O tobie",
            f"question.{shift.pk}.label": "Zmiana?",
            f"choice.{day.pk}": "Dzienna",
            f"choice.{night.pk}": "Nocna",
        },
    )
    survey.refresh_from_db()
    return survey


# --------------------------------------------------------------------------- languages


def test_organiser_adds_a_language_and_translates_every_text() -> None:
    survey = make_survey(CommunityFactory(), welcome="Hello", privacy_notice="Private")
    client = organiser_client(survey)
    added = client.post(url("language-add", survey), {"language": "PL"})
    assert added["Location"] == url("translations", survey, language="pl")
    survey.refresh_from_db()
    assert survey.languages == ["en", "pl"]
    page = client.get(added["Location"])
    assert page.status_code == 200
    entries = page.context["entries"]
    # title, welcome, privacy, 2 page titles, 5 questions, 1 constraint message, 7 choices
    assert len(entries) == 3 + 2 + 5 + 1 + 7
    assert page.context["missing"] == len(entries)
    shift = Question.objects.get(survey=survey, name="shift")
    saved = client.post(
        added["Location"],
        {"survey.welcome": "Cześć", f"question.{shift.pk}.label": "Zmiana?"},
    )
    assert saved.status_code == 302
    survey.refresh_from_db()
    shift.refresh_from_db()
    assert survey.texts == {"pl": {"welcome": "Cześć"}}
    assert shift.label == {"en": "Shift", "pl": "Zmiana?"}
    # Clearing a translation falls back to the main language.
    client.post(added["Location"], {f"question.{shift.pk}.label": ""})
    shift.refresh_from_db()
    assert shift.label == {"en": "Shift"}


def test_adding_a_language_refuses_bad_or_repeated_codes() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    for code, message in (("en", "already has"), ("p1!", "language code")):
        refused = client.post(url("language-add", survey), {"language": code})
        assert refused["Location"] == survey.get_absolute_url()
        assert message in messages_of(refused)[0], messages_of(refused)
    assert Survey.objects.get().languages == ["en"]


def test_translations_page_only_for_the_survey_s_other_languages() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    assert client.get(url("translations", survey, language="en")).status_code == 404
    assert client.get(url("translations", survey, language="de")).status_code == 404


def test_respondent_chooses_the_language_on_the_start_page() -> None:
    survey = translated_survey()
    start = reverse("surveys_public:start", kwargs={"link": survey.link_token})
    client = Client()
    english = client.get(start).content.decode()
    assert "Tell us about scanners." in english
    assert 'value="pl" lang="pl">polski</option>' in english
    polish = client.get(start + "?lang=pl").content.decode()
    assert "Ankieta o skanerach" in polish
    assert "Opowiedz nam o skanerach." in polish
    assert "Tylko organizatorzy" in polish
    assert '<option value="pl" lang="pl" selected>' in polish
    page_url = client.post(start, {"language": "pl"})["Location"]
    page = client.get(page_url).content.decode()
    # The section title is Polish, as is the whole page (Sayso's words too).
    assert '<html lang="pl">' in page
    assert "<h1>O tobie</h1>" in page
    assert "Zmiana?" in page
    assert "Nocna" in page
    assert "Age" in page  # untranslated texts show in the main language
    second = client.post(page_url, {"q_shift": "night", "q_age": "30"})["Location"]
    check = client.post(second, {"q_disciplined": "no"})["Location"]
    summary = client.get(check).content.decode()
    assert "Nocna" in summary
    thanks = client.post(check)["Location"]
    assert thanks.endswith("?lang=pl")
    assert "Ankieta o skanerach" in client.get(thanks).content.decode()
    response = Response.objects.get()
    assert (response.status, response.language) == (Response.Status.COMPLETE, "pl")


def test_an_unknown_language_falls_back_to_the_main_one() -> None:
    survey = translated_survey()
    start = reverse("surveys_public:start", kwargs={"link": survey.link_token})
    Client().post(start, {"language": "xx"})
    assert Response.objects.get().language == "en"


def test_code_entry_keeps_the_chosen_language() -> None:
    survey = translated_survey()
    _batch, codes = services.create_codes(survey=survey, actor=None, size=1)
    start = reverse("surveys_public:start", kwargs={"link": survey.link_token})
    client = Client()
    to_code = client.get(start + "?lang=pl")
    assert to_code["Location"].endswith("/code/?lang=pl")
    assert "Opowiedz nam" in client.get(to_code["Location"]).content.decode()
    client.post(to_code["Location"], {"code": codes[0], "language": "pl"})
    assert Response.objects.get().language == "pl"


def test_xlsform_round_trips_languages_and_survey_texts() -> None:
    from pyxform.xls2xform import convert

    survey = translated_survey()
    data = xlsform.export_xlsform(survey)
    assert "Zmiana?" in convert(xlsform=data, file_type=".xlsx").xform
    again = xlsform.import_xlsform(data=data, community=survey.community, actor=None)
    assert again.languages == ["en", "pl"]
    assert (again.welcome, again.privacy_notice) == (survey.welcome, survey.privacy_notice)
    assert again.texts["pl"] == {
        "title": "Ankieta o skanerach",
        "welcome": "Opowiedz nam o skanerach.",
        "privacy_notice": "Tylko organizatorzy widzą odpowiedzi.",
    }
    shift = again.questions.get(name="shift")
    assert shift.label == {"en": "Shift", "pl": "Zmiana?"}
    assert [c.label for c in shift.choices.all()] == [
        {"en": "Day", "pl": "Dzienna"},
        {"en": "Night", "pl": "Nocna"},
    ]
    assert again.sections.first().title == {"en": "About you", "pl": "O tobie"}  # type: ignore[union-attr]
    assert not again.questions.filter(type=Question.Type.NOTE).exists()


def test_translation_entries_follow_the_survey_order() -> None:
    survey = translated_survey()
    keys = [e.key for e in selectors.translation_entries(survey, "pl")]
    assert keys[:4] == ["survey.title", "survey.welcome", "survey.privacy_notice", keys[3]]
    assert keys[3].startswith("section.")


# --------------------------------------------------------------------------- builder


def names_in(section: Section) -> list[str]:
    return list(section.questions.order_by("order", "pk").values_list("name", flat=True))


def test_questions_move_up_and_down_within_their_page() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    second = survey.sections.get(order=2)
    worries = Question.objects.get(survey=survey, name="worries")
    moved = client.post(url("question-move", survey, question=worries.pk), {"direction": "up"})
    assert moved["Location"].endswith(f"#question-{worries.pk}")
    assert names_in(second) == ["worries", "disciplined", "story"]
    client.post(url("question-move", survey, question=worries.pk), {"direction": "up"})
    assert names_in(second) == ["worries", "disciplined", "story"]  # already first
    client.post(url("question-move", survey, question=worries.pk), {"direction": "down"})
    assert names_in(second) == ["disciplined", "worries", "story"]
    assert client.get(url("question-move", survey, question=worries.pk)).status_code == 405


def test_a_question_cannot_move_before_the_answer_its_logic_uses() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    second = survey.sections.get(order=2)
    client.post(
        url("question-move", survey, question=Question.objects.get(name="worries").pk),
        {"direction": "down"},
    )
    assert names_in(second) == ["disciplined", "story", "worries"]
    story = Question.objects.get(survey=survey, name="story")
    refused = client.post(url("question-move", survey, question=story.pk), {"direction": "up"})
    assert names_in(second) == ["disciplined", "story", "worries"]
    assert messages_of(refused) == [
        "'story' uses the answer to 'disciplined', so it must stay after it."
    ]


def test_section_title_is_edited_in_the_main_language() -> None:
    survey = translated_survey()
    client = organiser_client(survey)
    first = survey.sections.get(order=1)
    form = client.get(url("section-edit", survey, section=first.pk))
    assert form.context["form"].initial == {"title": "About you"}
    client.post(url("section-edit", survey, section=first.pk), {"title": "You and your work"})
    first.refresh_from_db()
    assert first.title == {"en": "You and your work", "pl": "O tobie"}


def test_deleting_a_page_takes_its_questions_until_people_answer() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    extra = services.save_section(section=Section(title={"en": "Extra"}), survey=survey)
    services.save_question(
        question=Question(name="extra", type=Question.Type.SHORT_TEXT, label={"en": "Extra?"}),
        survey=survey,
        section=extra,
        choices=None,
        language="en",
    )
    deleted = client.post(url("section-delete", survey, section=extra.pk))
    assert messages_of(deleted) == ["Page deleted with its questions."]
    assert not Question.objects.filter(name="extra").exists()
    # A page whose answers later logic uses stays.
    second = survey.sections.get(order=2)
    services.save_question(
        question=Question(name="later", type=Question.Type.SHORT_TEXT, relevant="${shift} = 'day'"),
        survey=survey,
        section=second,
        choices=None,
        language="en",
    )
    first = survey.sections.get(order=1)
    refused = client.post(url("section-delete", survey, section=first.pk))
    assert messages_of(refused) == [
        "Questions on other pages use this page's answers in their logic: later."
    ]
    survey.status = Survey.Status.OPEN
    survey.save()
    services.start_response(survey=survey, language="en")
    refused = client.post(url("section-delete", survey, section=second.pk))
    assert "cannot be deleted" in messages_of(refused)[0]
    assert survey.sections.count() == 2


def test_the_last_page_cannot_be_deleted() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    client.post(url("section-delete", survey, section=survey.sections.get(order=2).pk))
    refused = client.post(url("section-delete", survey, section=survey.sections.get().pk))
    assert messages_of(refused) == ["A survey needs at least one page; this is the last one."]


def test_detail_page_offers_the_builder_tools() -> None:
    survey = translated_survey()
    html = organiser_client(survey).get(survey.get_absolute_url()).content.decode()
    for label in ("Move up", "Move down", "Edit title", "Delete page", "Add language"):
        assert label in html
    assert url("translations", survey, language="pl") in html
