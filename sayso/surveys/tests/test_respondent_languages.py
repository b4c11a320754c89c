# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""WCAG 3.1.2 (language of parts) on the respondent pages of a survey in two languages.

Sayso's own words (buttons, progress, "required", its messages) are in the page's
language: the respondent's when Sayso has words in it (Welsh, Polish), else English;
the survey's texts are in the language the respondent chose, or in the survey's main
language where a translation is missing. Each text must say which: read from the
HTML as a screen reader would, the language in effect at each text. (Sayso's Welsh and
Polish words themselves: test_respondent_ui_languages.py.)"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import logic
from sayso.surveys.models import Choice, Question, Response, Section, Survey

pytestmark = pytest.mark.django_db

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class LanguageOfText(HTMLParser):
    """Every text of a page with the language in effect there (the nearest lang
    attribute, as HTML defines it), and every element's attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.texts: list[tuple[str, str | None]] = []
        self.elements: list[tuple[str, dict[str, str | None], str | None]] = []

    def current(self) -> str | None:
        return next((lang for _tag, lang in reversed(self.stack) if lang is not None), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        lang = found.get("lang")
        if tag not in VOID:
            self.stack.append((tag, lang))
        self.elements.append((tag, found, lang if lang is not None else self.current()))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((data.strip(), self.current()))


def read(html: str) -> LanguageOfText:
    parser = LanguageOfText()
    parser.feed(html)
    return parser


def lang_of(html: str, text: str) -> str | None:
    """The language in effect at the one text node that is exactly `text`."""
    found = [lang for shown, lang in read(html).texts if shown == text]
    assert len(found) == 1, f"{text!r} is shown {len(found)} times"
    return found[0]


def langs_of(html: str, text: str) -> set[str | None]:
    return {lang for shown, lang in read(html).texts if shown == text}


def build_survey(languages: list[str] | None = None, second: str = "pl") -> Survey:
    """Two pages; some texts translated into `second`, some not (shown in English)."""
    survey = Survey.objects.create(
        community=CommunityFactory(),
        title="Work survey",
        welcome="Tell us about work.",
        privacy_notice="Only organisers see your answers.",
        languages=languages or ["en", second],
        status=Survey.Status.OPEN,
        texts={second: {"title": "Ankieta o pracy", "privacy_notice": "Tylko organizatorzy."}},
    )
    about = Section.objects.create(
        survey=survey, order=1, title={"en": "About you", second: "O tobie"}
    )
    numbers = Section.objects.create(survey=survey, order=2, title={"en": "Numbers"})
    shift = Question.objects.create(
        survey=survey,
        section=about,
        order=1,
        name="shift",
        type=Question.Type.SINGLE,
        label={"en": "Your shift", second: "Twoja zmiana"},
        hint={"en": "The one you work most"},
        required=True,
    )
    Choice.objects.create(
        question=shift, order=1, name="day", label={"en": "Day", second: "Dzienna"}
    )
    Choice.objects.create(question=shift, order=2, name="night", label={"en": "Night"})
    Question.objects.create(
        survey=survey,
        section=about,
        order=2,
        name="age",
        type=Question.Type.NUMBER,
        label={"en": "Your age"},
        constraint=". >= 16",
        constraint_message={
            "en": "Give an age of 16 or more.",
            second: "Podaj wiek 16 lub więcej.",
        },
    )
    Question.objects.create(
        survey=survey,
        section=about,
        order=3,
        name="story",
        type=Question.Type.SHORT_TEXT,
        label={"en": "Anything else?", second: "Coś jeszcze?"},
    )
    Question.objects.create(
        survey=survey,
        section=numbers,
        order=1,
        name="years",
        type=Question.Type.NUMBER,
        label={"en": "How many years have you worked here?", second: "Ile lat tu pracujesz?"},
    )
    return survey


def start(survey: Survey, client: Client, language: str) -> str:
    started = client.post(
        reverse("surveys_public:start", kwargs={"link": survey.link_token}), {"language": language}
    )
    assert started.status_code == 302
    return str(started["Location"])


# --------------------------------------------------------------------------- the tags


@pytest.mark.parametrize(
    ("stored", "tag"),
    [
        ("pl", "pl"),
        ("pt-br", "pt-br"),
        ("pt_BR", "pt-BR"),
        ("zh-hant", "zh-hant"),
        ("es-419", "es-419"),
        ("welsh", "cy"),  # an XLSForm column "label::Welsh", without "(cy)"
        ("Polish", "pl"),
        ("polski", "pl"),
        ("klingonese", ""),  # no code can be told: "unknown", not English
        ("p1!", ""),
        ("", ""),
    ],
)
def test_a_stored_language_becomes_a_bcp47_tag_or_unknown(stored: str, tag: str) -> None:
    assert logic.html_lang(stored) == tag


def test_a_text_says_which_language_it_was_taken_from() -> None:
    labels = {"en": "Your shift", "pl": "Twoja zmiana"}
    assert (logic.shown(labels, "pl", "en"), logic.shown(labels, "pl", "en").lang) == (
        "Twoja zmiana",
        "pl",
    )
    missing = logic.shown({"en": "Your age"}, "pl", "en")
    assert (missing, missing.lang) == ("Your age", "en")
    # The main language's text is the fallback, even when another is listed first.
    other_first = logic.shown({"de": "Alter", "en": "Age"}, "pl", "en")
    assert (other_first, other_first.lang) == ("Age", "en")
    nothing = logic.shown({}, "pl", "en", "age")
    assert (nothing, nothing.lang) == ("age", "")


# --------------------------------------------------------------------------- the pages


def test_a_survey_page_marks_each_text_with_the_language_it_is_in() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client, "pl")
    html = client.get(first).content.decode()
    assert '<html lang="pl">' in html
    # The survey's texts in Polish, where translated...
    assert lang_of(html, "Ankieta o pracy") == "pl"
    assert lang_of(html, "O tobie") == "pl"
    assert lang_of(html, "Twoja zmiana") == "pl"
    assert lang_of(html, "Dzienna") == "pl"
    assert lang_of(html, "Coś jeszcze?") == "pl"
    # ...and the English fallbacks marked English, not claimed to be Polish.
    assert lang_of(html, "Night") == "en"
    assert lang_of(html, "Your age") == "en"
    assert lang_of(html, "The one you work most") == "en"
    # Sayso's own words are Polish, the page's language.
    assert lang_of(html, "(wymagane)") == "pl"
    assert lang_of(html, "Strona 1 z 2") == "pl"
    assert lang_of(html, "Dalej") == "pl"
    assert lang_of(html, "Zapisz i dokończ później") == "pl"
    # What the person types is taken to be in the language they chose.
    inputs = {a["name"]: lang for tag, a, lang in read(html).elements if tag == "input"}
    assert inputs["q_story"] == "pl"


def test_messages_are_in_the_language_they_were_written_in() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client, "pl")
    before = Response.objects.get().draft
    refused = client.post(first, {"q_age": "12", "q_story": "Nic", "next": "1"})
    assert refused.status_code == 200
    html = refused.content.decode()
    # The survey's own constraint message, and Sayso's "required" message, in Polish.
    assert langs_of(html, "Podaj wiek 16 lub więcej.") == {"pl"}
    assert langs_of(html, "Odpowiedz na to pytanie.") == {"pl"}
    assert langs_of(html, "Wystąpił problem") == {"pl"}
    # The error summary names the questions in their own languages.
    assert langs_of(html, "Twoja zmiana") == {"pl"}
    assert langs_of(html, "Your age") == {"en"}
    assert before == {}


def test_the_check_page_marks_labels_answers_and_sayso_words() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client, "pl")
    second = client.post(first, {"q_shift": "night", "q_age": "30", "q_story": "Nic"})["Location"]
    check = client.post(second, {"q_years": "4"})["Location"]
    html = client.get(check).content.decode()
    assert lang_of(html, "Ankieta o pracy") == "pl"
    assert langs_of(html, "Twoja zmiana") == {"pl"}  # the label, and the hidden "Change …"
    assert lang_of(html, "Night") == "en"  # an untranslated choice
    assert langs_of(html, "Your age") == {"en"}
    assert lang_of(html, "Nic") == "pl"  # what the person wrote, in the language they chose
    assert lang_of(html, "Sprawdź odpowiedzi przed wysłaniem") == "pl"
    assert lang_of(html, "Wyślij moje odpowiedzi") == "pl"


def test_the_start_page_marks_a_missing_translation_as_the_main_language() -> None:
    survey = build_survey()
    start_url = reverse("surveys_public:start", kwargs={"link": survey.link_token})
    html = Client().get(start_url + "?lang=pl").content.decode()
    assert '<html lang="pl">' in html
    assert lang_of(html, "Ankieta o pracy") == "pl"
    assert lang_of(html, "Tylko organizatorzy.") == "pl"
    # Not translated: shown in English and said to be English (it said Polish before).
    assert lang_of(html, "Tell us about work.") == "en"
    assert lang_of(html, "Kto widzi twoje odpowiedzi") == "pl"
    assert lang_of(html, "Rozpocznij") == "pl"
    options = {a["value"]: lang for tag, a, lang in read(html).elements if tag == "option"}
    assert options == {"en": "en", "pl": "pl"}


def test_languages_stored_by_name_get_a_code_or_are_said_to_be_unknown() -> None:
    """An XLSForm imported with "label::Welsh" stores "welsh": the pages say lang="cy";
    a name no code can be found for is marked unknown (lang=""), never English."""
    survey = build_survey(languages=["english", "welsh", "klingonese"], second="welsh")
    start_url = reverse("surveys_public:start", kwargs={"link": survey.link_token})
    html = Client().get(start_url).content.decode()
    options = {a["value"]: lang for tag, a, lang in read(html).elements if tag == "option"}
    assert options == {"english": "en", "welsh": "cy", "klingonese": ""}
    links = {a["href"]: a.get("lang") for tag, a, _ in read(html).elements if tag == "a"}
    assert links["?lang=welsh"] == "cy"
    assert links["?lang=klingonese"] == ""

    client = Client()
    page = client.get(start(survey, client, "welsh")).content.decode()
    assert lang_of(page, "Twoja zmiana") == "cy"  # (the test's "Welsh" texts)
    assert lang_of(page, "Parhau") == "cy"  # "welsh" speaks Sayso's Welsh
    # The labels are keyed "english", the survey's main language: English.
    assert lang_of(page, "Night") == "en"


def test_an_english_survey_has_no_extra_markup() -> None:
    """A survey in the page's own language needs no lang attributes: it inherits."""
    survey = build_survey(languages=["en"])
    client = Client()
    html = client.get(start(survey, client, "en")).content.decode()
    assert ' lang="' not in html.replace('<html lang="en">', "")
    assert lang_of(html, "Your shift") == "en"


def test_the_page_language_follows_the_chosen_language_not_the_browser(settings: Any) -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client, "en")
    html = client.get(first, HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    # English was chosen: a Polish browser does not make the page Polish.
    assert '<html lang="en">' in html
    assert lang_of(html, "Continue") == "en"
    polish = Client()
    html = polish.get(start(survey, polish, "pl"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="pl">' in html
    assert lang_of(html, "Dalej") == "pl"


def test_a_save_for_later_notice_marks_the_question_s_language() -> None:
    # Sayso has no French words: its sentence stays English around the question (the
    # test's texts stand for French ones).
    survey = build_survey(second="fr")
    client = Client()
    first = start(survey, client, "fr")
    second = client.post(first, {"q_shift": "day"})["Location"]
    saved = client.post(second, {"q_years": "abc", "later": "1"})
    html = client.get(saved["Location"]).content.decode()
    # The question inside Sayso's English sentence, marked as markup, not escaped.
    assert 'Your answer to “<span lang="fr">Ile lat tu pracujesz?</span>” was not saved' in html
    assert lang_of(html, "Ile lat tu pracujesz?") == "fr"
    assert Response.objects.get().draft == {"shift": "day"}


def test_a_save_for_later_notice_in_polish_marks_an_english_question() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client, "pl")
    second = client.post(first, {"q_shift": "day"})["Location"]
    saved = client.post(second, {"q_years": "abc", "later": "1"})
    html = client.get(saved["Location"]).content.decode()
    assert '<html lang="pl">' in html
    # A Polish question inside Sayso's Polish sentence needs no mark...
    assert "Twoja odpowiedź na pytanie „Ile lat tu pracujesz?” nie została zapisana" in html
    assert lang_of(html, "Twoje odpowiedzi zostały zapisane") == "pl"
    Question.objects.filter(name="years").update(label={"en": "Years here"})
    client.post(second, {"q_years": "abc", "later": "1"})
    html = client.get(saved["Location"]).content.decode()
    # ...an English one (not translated) is marked English inside it.
    assert 'na pytanie „<span lang="en">Years here</span>” nie została zapisana' in html


def test_the_organiser_previews_the_survey_in_a_language_they_choose() -> None:
    from .factories import organiser_client, survey_url

    survey = build_survey()
    survey.status = Survey.Status.DRAFT
    survey.save(update_fields=["status"])
    client = organiser_client(survey)
    detail = client.get(survey_url("detail", survey)).content.decode()
    # A plain select, no script: the preview begins at the start page (?preview=1&lang=).
    assert 'name="lang" id="id_preview_language"' in detail
    assert '<option value="pl" lang="pl">' in detail
    started = client.post(survey_url("preview", survey), {"language": "pl"})
    assert started.status_code == 302
    preview = Response.objects.get()
    assert preview.is_preview
    assert preview.language == "pl"
    page = client.get(str(started["Location"]), follow=True).content.decode()
    assert lang_of(page, "Twoja zmiana") == "pl"
    # A language the survey does not have falls back to its main one.
    client.post(survey_url("preview", survey), {"language": "xx"})
    assert Response.objects.latest("pk").language == "en"
