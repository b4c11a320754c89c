# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""Sayso's own words on the respondent pages in the language the respondent chose.

A survey in Welsh or Polish gets Sayso's buttons, progress, checks, messages and base
layout in that language too (the catalogues in sayso/locale/cy and /pl); a survey
language Sayso has no words in (French) keeps them English, and every page says which
language each part is in. Organisers' pages stay English whatever the browser asks
for. The compiled catalogues (.mo) are committed, so a test checks they match the
.po files they are compiled from."""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import services
from sayso.surveys.models import Choice, Question, Response, Section, Survey
from sayso.surveys.views import RESPONDENT_UI_LANGUAGES, respondent_ui_language

from .factories import organiser_client, survey_url
from .test_respondent_languages import lang_of, langs_of, read

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "locale"
# What a respondent's three languages call each text of the survey: English, Welsh, Polish.
TEXTS: dict[str, tuple[str, str, str]] = {
    "title": ("Work survey", "Arolwg gwaith", "Ankieta o pracy"),
    "welcome": ("Tell us about work.", "Dywedwch wrthym am eich gwaith.", "Opowiedz nam o pracy."),
    "privacy_notice": (
        "Only organisers see answers.",
        "Dim ond trefnwyr sy'n gweld atebion.",
        "Tylko organizatorzy widzą odpowiedzi.",
    ),
    "about": ("About you", "Amdanoch chi", "O tobie"),
    "more": ("More", "Mwy", "Więcej"),
    "shift": ("Your shift", "Eich shifft", "Twoja zmiana"),
    "day": ("Day", "Dydd", "Dzienna"),
    "night": ("Night", "Nos", "Nocna"),
    "nights": ("Nights a month", "Nosweithiau'r mis", "Noce w miesiącu"),
    "age": ("Your age", "Eich oed", "Twój wiek"),
    "worries": ("What worries you", "Beth sy'n eich poeni", "Co cię niepokoi"),
    "cameras": ("Cameras", "Camerâu", "Kamery"),
    "none": ("None of these", "Dim un o'r rhain", "Żadne z nich"),
    "rank": ("What matters most", "Beth sy'n bwysig", "Co jest najważniejsze"),
    "pay": ("Pay", "Cyflog", "Płaca"),
    "safety": ("Safety", "Diogelwch", "Bezpieczeństwo"),
    "started": ("When you started", "Pryd dechreuoch chi", "Od kiedy tu pracujesz"),
    "consent": ("I agree to take part", "Rwy'n cytuno i gymryd rhan", "Zgadzam się wziąć udział"),
    "story": ("Anything else?", "Unrhyw beth arall?", "Coś jeszcze?"),
}


def labels(key: str, languages: tuple[str, ...] = ("en", "cy", "pl")) -> dict[str, str]:
    """The text `key` in each of `languages`: en, then the Welsh and Polish ones (a
    third language such as "fr" gets the Polish words: the tests only need it to differ)."""
    english, welsh, polish = TEXTS[key]
    own = {"en": english, "cy": welsh}
    return {code: own.get(code, polish) for code in languages}


def build_survey(
    languages: tuple[str, ...] = ("en", "cy", "pl"), **fields: Any
) -> tuple[Survey, dict[str, Question]]:
    """Two pages with every kind of answer a respondent can be told about: a required
    choice that brings up a question, a whole number, an option ticked on its own,
    a ranking, a date, a consent statement and an optional text."""
    fields = {"status": Survey.Status.OPEN, **fields}
    survey = Survey.objects.create(
        community=CommunityFactory(),
        languages=list(languages),
        title=TEXTS["title"][0],
        welcome=TEXTS["welcome"][0],
        privacy_notice=TEXTS["privacy_notice"][0],
        texts={
            code: {
                key: labels(key, languages)[code] for key in ("title", "welcome", "privacy_notice")
            }
            for code in languages[1:]
        },
        **fields,
    )
    about = Section.objects.create(survey=survey, order=1, title=labels("about", languages))
    more = Section.objects.create(survey=survey, order=2, title=labels("more", languages))
    questions: dict[str, Question] = {}

    def ask(
        section: Section, name: str, kind: str, choices: tuple[str, ...] = (), **extra: Any
    ) -> None:
        question = Question.objects.create(
            survey=survey,
            section=section,
            order=len(questions) + 1,
            name=name,
            type=kind,
            label=labels(name, languages),
            **extra,
        )
        for order, choice in enumerate(choices, 1):
            Choice.objects.create(
                question=question,
                order=order,
                name=choice,
                label=labels(choice, languages),
                exclusive=choice == "none",
            )
        questions[name] = question

    ask(about, "shift", Question.Type.SINGLE, ("day", "night"), required=True)
    ask(about, "nights", Question.Type.NUMBER, relevant="${shift} = 'night'")
    ask(about, "age", Question.Type.NUMBER, whole_number=True)
    ask(about, "worries", Question.Type.MULTIPLE, ("cameras", "none"))
    ask(more, "rank", Question.Type.RANKING, ("pay", "safety"))
    ask(more, "started", Question.Type.DATE)
    ask(more, "consent", Question.Type.CONSENT, required=True)
    ask(more, "story", Question.Type.SHORT_TEXT)
    return survey, questions


def start_url(survey: Survey) -> str:
    return reverse("surveys_public:start", kwargs={"link": survey.link_token})


# --------------------------------------------------------------------------- which words


@pytest.mark.parametrize(
    ("stored", "ui"),
    [
        ("cy", "cy"),
        ("CY", "cy"),
        ("cy-GB", "cy"),
        ("welsh", "cy"),  # an XLSForm column "label::Welsh"
        ("Cymraeg", "cy"),
        ("pl", "pl"),
        ("pl-PL", "pl"),
        ("pl_PL", "pl"),
        ("polish", "pl"),
        ("polski", "pl"),
        ("en", "en"),
        ("fr", "en"),  # no words of Sayso's in French: English
        ("pt-br", "en"),
        ("klingonese", "en"),
        ("", "en"),
    ],
)
def test_a_survey_language_gets_sayso_s_words_in_its_language_or_english(
    stored: str, ui: str
) -> None:
    assert respondent_ui_language(stored) == ui


def test_every_respondent_ui_language_has_a_catalogue() -> None:
    """A language listed without its catalogue would show English under lang="xx"."""
    for code in RESPONDENT_UI_LANGUAGES:
        assert (LOCALE / code / "LC_MESSAGES" / "django.mo").is_file(), code
    with_catalogue = {p.parts[-3] for p in LOCALE.glob("*/LC_MESSAGES/django.po")}
    assert with_catalogue == {"en", *RESPONDENT_UI_LANGUAGES}


# --------------------------------------------------------------------------- a whole answer

WORDS: dict[str, dict[str, str]] = {
    "cy": {
        "skip": "Neidio i'r prif gynnwys",
        "sign in": "Mewngofnodi",
        "language": "Iaith",
        "who sees": "Pwy sy'n gweld eich atebion",
        "not recorded": "Dydyn ni ddim yn cofnodi eich enw, eich cyfeiriad IP na'r amser rydych"
        " chi'n ateb: dim ond y dyddiad.",
        "start": "Dechrau",
        "page 1": "Tudalen 1 o 2",
        "page 2": "Tudalen 2 o 2",
        "required": "(gofynnol)",
        "continue": "Parhau",
        "back": "Yn ôl",
        "later": "Cadw a pharhau yn nes ymlaen",
        "problem": "Mae problem wedi codi",
        "answer this": "Atebwch y cwestiwn hwn.",
        "whole number": "Rhowch rif cyfan, fel 12.",
        "on its own": "Does dim modd ticio “Dim un o'r rhain” gydag opsiynau eraill."
        " Dad-diciwch un.",
        "new question": "Mae cwestiwn newydd wedi ymddangos oherwydd eich ateb",
        "order": "Rhowch nhw mewn trefn: 1 i'r un pwysicaf i chi, 2 i'r un lleiaf pwysig.",
        "check": "Gwiriwch eich atebion cyn eu hanfon",
        "in order": "Mewn trefn, o'r pwysicaf (1):",
        "change": "Newid",
        "not answered": "Heb ei ateb",
        "agreed": "Wedi cytuno",
        "date": "2 Mawrth 2019",
        "send": "Anfon fy atebion",
        "thanks": "Diolch",
        "sent": "Mae eich atebion wedi'u hanfon. Maen nhw'n cael eu cyfrif gydag atebion pawb"
        " arall; dydyn ni byth yn dangos grwpiau bach.",
    },
    "pl": {
        "skip": "Przejdź do głównej treści",
        "sign in": "Zaloguj się",
        "language": "Język",
        "who sees": "Kto widzi twoje odpowiedzi",
        "not recorded": "Nie zapisujemy twojego imienia i nazwiska, adresu IP ani godziny"
        " odpowiedzi: tylko datę.",
        "start": "Rozpocznij",
        "page 1": "Strona 1 z 2",
        "page 2": "Strona 2 z 2",
        "required": "(wymagane)",
        "continue": "Dalej",
        "back": "Wstecz",
        "later": "Zapisz i dokończ później",
        "problem": "Wystąpił problem",
        "answer this": "Odpowiedz na to pytanie.",
        "whole number": "Wpisz liczbę całkowitą, np. 12.",
        "on its own": "Opcji „Żadne z nich” nie można zaznaczyć razem z innymi."
        " Odznacz jedną z nich.",
        "new question": "Twoja odpowiedź sprawiła, że pojawiło się nowe pytanie",
        "order": "Ponumeruj je po kolei: 1 przy najważniejszej dla ciebie, 2 przy najmniej ważnej.",
        "check": "Sprawdź odpowiedzi przed wysłaniem",
        "in order": "W kolejności od najważniejszej (1):",
        "change": "Zmień",
        "not answered": "Brak odpowiedzi",
        "agreed": "Zgoda",
        "date": "",  # Django's "j F Y" names the month in the nominative: not checked
        "send": "Wyślij moje odpowiedzi",
        "thanks": "Dziękujemy",
        "sent": "Twoje odpowiedzi zostały wysłane. Liczymy je razem z odpowiedziami wszystkich"
        " innych osób; nigdy nie pokazujemy wyników małych grup.",
    },
}


def button_names(html: str) -> list[str]:
    """The text of each button on the page, in order (not the language buttons: each
    language's own name, in that language)."""
    found = re.findall(r'<button\b(?![^>]*name="lang")[^>]*>(.*?)</button>', html, re.DOTALL)
    return [re.sub(r"<[^>]+>", "", inner).strip() for inner in found]


@pytest.mark.parametrize("language", ["cy", "pl"])
def test_a_respondent_answers_in_welsh_or_polish_and_sayso_speaks_it(language: str) -> None:
    words = WORDS[language]
    index = ("en", "cy", "pl").index(language)
    survey, _questions = build_survey()
    client = Client()

    # The start page, in the chosen language: base layout, privacy notice, language choice.
    opened = client.get(start_url(survey) + f"?lang={language}")
    html = opened.content.decode()
    assert opened["Content-Language"] == language
    assert f'<html lang="{language}">' in html
    assert lang_of(html, TEXTS["title"][index]) == language
    for key in ("skip", "sign in", "who sees", "not recorded", "start"):
        assert lang_of(html, words[key]) == language, key
    assert f'<label for="id_language">{words["language"]}</label>' in html
    assert "Start" not in button_names(html)

    first = str(client.post(start_url(survey), {"language": language})["Location"])
    response = Response.objects.get()
    assert response.language == language
    html = client.get(first).content.decode()
    assert f'<html lang="{language}">' in html
    for key in ("page 1", "required", "continue", "later"):
        assert lang_of(html, words[key]) == language, key
    assert words["back"] not in button_names(html)  # the first page has no Back
    assert button_names(html) == [words["continue"], words["later"]]

    # Nothing answered: the problem, in the respondent's language; nothing kept.
    refused = client.post(first, {"next": "1"})
    html = refused.content.decode()
    assert refused.status_code == 200
    assert lang_of(html, words["problem"]) == language
    assert langs_of(html, words["answer this"]) == {language}  # summary and question
    assert Response.objects.get().draft == {}

    # A number that is not whole and an option ticked with another: both refused.
    refused = client.post(
        first, {"q_shift": "day", "q_age": "30.5", "q_worries": ["cameras", "none"]}
    )
    html = refused.content.decode()
    assert langs_of(html, words["whole number"]) == {language}
    assert langs_of(html, words["on its own"]) == {language}
    assert response.pk == Response.objects.get().pk
    assert "age" not in Response.objects.get().draft

    # An answer that brings up a question: said, in the respondent's language.
    shown = client.post(first, {"q_shift": "night", "q_age": "30", "q_worries": ["none"]})
    html = shown.content.decode()
    assert lang_of(html, words["new question"]) == language
    second = client.post(
        first, {"q_shift": "night", "q_nights": "4", "q_age": "30", "q_worries": ["none"]}
    )["Location"]
    html = client.get(second).content.decode()
    assert lang_of(html, words["page 2"]) == language
    assert lang_of(html, words["order"]) == language
    assert button_names(html) == [words["continue"], words["back"], words["later"]]

    check = client.post(
        second,
        {"q_rank__pay": "1", "q_rank__safety": "2", "q_started": "2019-03-02", "q_consent": "yes"},
    )["Location"]
    html = client.get(check).content.decode()
    for key in ("check", "in order", "not answered", "agreed"):
        assert lang_of(html, words[key]) == language, key
    if words["date"]:
        assert lang_of(html, words["date"]) == language
    assert langs_of(html, words["change"]) == {language}
    assert button_names(html) == [words["send"]]

    thanks = client.post(check)
    assert thanks["Location"].endswith(f"?lang={language}")
    page = client.get(thanks["Location"])
    html = page.content.decode()
    assert page["Content-Language"] == language
    assert f'<html lang="{language}">' in html
    assert lang_of(html, words["thanks"]) == language
    assert lang_of(html, words["sent"]) == language
    sent = Response.objects.get()
    assert (sent.status, sent.language) == (Response.Status.COMPLETE, language)


def test_the_english_path_is_unchanged() -> None:
    survey, _questions = build_survey()
    client = Client()
    opened = client.get(start_url(survey))
    html = opened.content.decode()
    assert opened["Content-Language"] == "en"
    assert '<html lang="en">' in html
    assert "Skip to main content" in html
    assert '<label for="id_language">Language</label>' in html
    first = client.post(start_url(survey), {"language": "en"})["Location"]
    html = client.get(first).content.decode()
    assert '<html lang="en">' in html
    assert button_names(html) == ["Continue", "Save and continue later"]
    assert "Page 1 of 2" in html
    # No part of an English survey needs a lang attribute of its own (the links to its
    # other languages name each in that language).
    links = re.search(r'<nav aria-label="Language">.*?</nav>', html, re.S)
    assert links is not None
    assert ' lang="' not in html.replace('<html lang="en">', "").replace(links[0], "")
    html = client.post(first, {"next": "1"}).content.decode()
    assert "There is a problem" in html
    assert "Answer this question." in html


def test_a_survey_language_without_sayso_words_keeps_the_english_ui() -> None:
    """French texts (the test's stand-ins), Sayso's words English, each marked."""
    survey, _questions = build_survey(("en", "fr"))
    client = Client()
    opened = client.get(start_url(survey) + "?lang=fr")
    html = opened.content.decode()
    assert opened["Content-Language"] == "en"
    assert '<html lang="en">' in html
    assert lang_of(html, TEXTS["title"][2]) == "fr"
    assert lang_of(html, "Who sees your answers") == "en"
    first = client.post(start_url(survey), {"language": "fr"})["Location"]
    html = client.post(first, {"next": "1"}).content.decode()
    assert '<html lang="en">' in html
    assert lang_of(html, TEXTS["about"][2]) == "fr"
    assert lang_of(html, "There is a problem") == "en"
    assert langs_of(html, "Answer this question.") == {"en"}
    assert button_names(html) == ["Continue", "Save and continue later"]


def test_an_english_text_left_untranslated_is_marked_english_on_a_welsh_page() -> None:
    survey, questions = build_survey()
    questions["age"].label = {"en": "Your age"}  # not translated
    questions["age"].save(update_fields=["label"])
    client = Client()
    first = client.post(start_url(survey), {"language": "cy"})["Location"]
    html = client.get(first).content.decode()
    assert '<html lang="cy">' in html
    assert lang_of(html, "Your age") == "en"
    assert lang_of(html, "Eich shifft") == "cy"
    # Sayso's sentence about it is Welsh, the question in it marked English.
    refused = client.post(first, {"q_shift": "day", "q_age": "x", "later": "1"})
    html = client.get(refused["Location"]).content.decode()
    assert 'Ni chafodd eich ateb i “<span lang="en">Your age</span>” ei gadw' in html


def test_organiser_pages_stay_english_whatever_the_browser_asks() -> None:
    survey, _questions = build_survey()
    client = organiser_client(survey)
    for asked in ("cy", "pl", "pl-PL,pl;q=0.9", "cy-GB"):
        page = client.get(survey_url("detail", survey), HTTP_ACCEPT_LANGUAGE=asked)
        assert page.status_code == 200
        assert '<html lang="en">' in page.content.decode()
        assert page["Content-Language"] == "en"
    # And a respondent page leaves no language behind for the next request.
    Client().get(start_url(survey) + "?lang=cy")
    assert translation.get_language() == "en"
    html = client.get(survey_url("detail", survey)).content.decode()
    assert '<html lang="en">' in html


def test_the_language_links_switch_the_ui_without_javascript() -> None:
    survey, _questions = build_survey()
    client = Client()
    html = client.get(start_url(survey)).content.decode()
    links = {a["href"]: a.get("lang") for tag, a, _lang in read(html).elements if tag == "a"}
    assert links["?lang=cy"] == "cy"
    assert links["?lang=pl"] == "pl"
    welsh = client.get(start_url(survey) + "?lang=cy").content.decode()
    assert '<html lang="cy">' in welsh
    links = {a["href"]: a.get("lang") for tag, a, _lang in read(welsh).elements if tag == "a"}
    assert links["?lang=en"] == "en"  # English, named in English, on a Welsh page
    assert langs_of(welsh, "English") == {"en"}  # the link and the option
    assert langs_of(welsh, "polski") == {"pl"}
    english = client.get(start_url(survey) + "?lang=en").content.decode()
    assert '<html lang="en">' in english


# --------------------------------------------------------------------------- after the answers


ENDED = {"cy": "Mae'r ddolen breifat hon wedi dod i ben", "pl": "Ten prywatny link już nie działa"}
PROTECTS = {"cy": "Sut mae Sayso yn eich diogelu", "pl": "Jak Sayso cię chroni"}
NO_TIME = {
    "cy": "Pan fyddwch chi'n cymryd rhan yn ddienw, dydyn ni ddim yn cadw dim byd sy'n eich"
    " cysylltu chi â'ch atebion, na'ch cyfeiriad IP. Dim ond y dyddiad rydyn ni'n ei gadw,"
    " byth yr amser.",
    "pl": "Gdy bierzesz udział anonimowo, nie przechowujemy niczego, co łączy odpowiedzi z tobą,"
    " ani twojego adresu IP. Zapisujemy tylko datę, nigdy godzinę.",
}


def footer_privacy_link(html: str) -> str:
    found = [
        str(attrs["href"])
        for tag, attrs, _lang in read(html).elements
        if tag == "a" and "privacy" in str(attrs.get("href"))
    ]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("language", sorted(RESPONDENT_UI_LANGUAGES))
def test_a_private_link_that_has_ended_speaks_the_language_it_was_answered_in(
    language: str,
) -> None:
    """Nothing links a sent response to its link: the link's address names the language."""
    survey, _questions = build_survey()
    client = Client()
    first = str(client.post(start_url(survey), {"language": language})["Location"])
    assert first.endswith(f"/p/0/?lang={language}")
    second = str(
        client.post(first, {"q_shift": "day", "q_age": "30", "q_worries": ["none"]})["Location"]
    )
    assert second.endswith(f"/p/1/?lang={language}")
    saved = client.post(second, {"q_story": "x", "later": "1"})
    assert saved["Location"].endswith(f"/saved/?lang={language}")
    kept = client.get(saved["Location"]).context["link"]
    assert kept.startswith("http")
    assert kept.endswith(f"/p/1/?lang={language}")
    check = str(client.post(second, {"q_consent": "yes"})["Location"])
    assert check.endswith(f"/check/?lang={language}")
    html = client.get(check).content.decode()
    changes = [
        str(attrs["href"])
        for tag, attrs, _lang in read(html).elements
        if tag == "a" and "/p/" in str(attrs["href"])
    ]
    assert len(changes) == 7  # one "Change" link per answer, whose page leads back here
    assert {change.rsplit("/", 1)[1] for change in changes} == {f"?lang={language}&from=check"}
    assert client.post(check).status_code == 302  # sent
    assert Response.objects.get().status == Response.Status.COMPLETE

    for url in (check, kept, first):  # Back to the check page; the saved link; the first
        ended = client.get(url)
        html = ended.content.decode()
        assert ended.status_code == 404
        assert ended["Content-Language"] == language
        assert f'<html lang="{language}">' in html
        assert lang_of(html, ENDED[language]) == language
        assert "This private link has ended" not in html
    # Sending twice (a second tap on "Send"): the same page, in the same language.
    again = client.post(check)
    assert (again.status_code, again["Content-Language"]) == (404, language)
    # A link without the language (mistyped, or from before): English, the site's.
    bare = client.get(check.split("?")[0])
    assert bare["Content-Language"] == "en"
    assert "This private link has ended" in bare.content.decode()


@pytest.mark.parametrize("language", ["en", "fr"])  # French: no words of Sayso's in it
def test_a_private_link_in_english_names_no_language(language: str) -> None:
    survey, _questions = build_survey(("en", language) if language != "en" else ("en",))
    client = Client()
    first = str(client.post(start_url(survey), {"language": language})["Location"])
    assert first.endswith("/p/0/")
    second = client.post(first, {"q_shift": "day", "next": "1"})["Location"]
    assert second.endswith("/p/1/")


@pytest.mark.parametrize("language", sorted(RESPONDENT_UI_LANGUAGES))
def test_how_sayso_protects_you_follows_the_respondent_s_language(language: str) -> None:
    survey, _questions = build_survey()
    client = Client()
    first = str(client.post(start_url(survey), {"language": language})["Location"])
    link = footer_privacy_link(client.get(first).content.decode())
    assert link == f"{reverse('surveys_public:privacy')}?lang={language}"
    page = client.get(link)
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Content-Language"] == language
    assert f'<html lang="{language}">' in html
    assert langs_of(html, PROTECTS[language]) == {language}  # the heading and the footer link
    assert lang_of(html, NO_TIME[language]) == language
    assert footer_privacy_link(html) == link  # its own footer keeps the language
    # The start and thank-you pages link to it in the chosen language too.
    start_page = client.get(f"{start_url(survey)}?lang={language}").content.decode()
    assert footer_privacy_link(start_page) == link
    # Asked for in a language Sayso has no words in, or none: English.
    for asked in ("?lang=fr", "?lang=", ""):
        english = client.get(reverse("surveys_public:privacy") + asked)
        assert english["Content-Language"] == "en"
        assert "How Sayso protects you</h1>" in english.content.decode()
    # The site's own page stays English, whatever the browser asks for.
    site = client.get(reverse("about-privacy"), HTTP_ACCEPT_LANGUAGE=language)
    assert "How Sayso protects you</h1>" in site.content.decode()
    assert footer_privacy_link(site.content.decode()) == reverse("about-privacy")


# --------------------------------------------------------------------------- no English left


def ui_texts(html: str, language: str) -> set[str]:
    """The texts (and the labels read out: aria-label, title, alt) read in `language`."""
    parsed = read(html)
    texts = {text for text, lang in parsed.texts if lang == language}
    for _tag, attrs, lang in parsed.elements:
        if lang == language:
            texts |= {str(attrs[a]) for a in ("aria-label", "title", "alt") if attrs.get(a)}
    return texts


@dataclass
class Twins:
    """Each respondent page asked for twice, in `language` and in English, from the same
    state: a word of Sayso's left in English is the same text on both, read as
    `language` on one and as English on the other. (Texts the person typed would be
    the same on both too: the pages compared hold none.)"""

    language: str
    leftovers: dict[str, set[str]] = field(default_factory=dict)
    pages: int = 0

    def compare(self, name: str, fetch: Callable[[str], str]) -> None:
        spoken = ui_texts(fetch(self.language), self.language)
        english = ui_texts(fetch("en"), "en")
        left = {
            text
            for text in spoken & english
            # "Sayso" is a name, "API" the same in every language; links are addresses.
            if re.search(r"[A-Za-z]", text)
            and text not in {"Sayso", "API"}
            and not text.startswith("http")
        }
        if left:
            self.leftovers[name] = left
        self.pages += 1


def html_of(client: Client, response: HttpResponse) -> str:
    """The page a request led to: itself, or where it redirected."""
    if response.status_code == 302:
        return client.get(response["Location"]).content.decode()
    return response.content.decode()


@pytest.mark.parametrize("language", sorted(RESPONDENT_UI_LANGUAGES))
def test_no_english_is_left_on_the_respondent_path(language: str) -> None:
    survey, _questions = build_survey()
    twins = Twins(language)
    client = Client()
    link = start_url(survey)
    response, raw = services.start_response(survey=survey, language="en")
    first, second = (
        reverse("surveys_public:page", kwargs={"token": raw, "page": n}) for n in (0, 1)
    )
    check = reverse("surveys_public:check", kwargs={"token": raw})

    def at(
        url: str, draft: dict[str, Any], page: int = 0, data: dict[str, Any] | None = None
    ) -> Callable[[str], str]:
        """A GET (or a POST of `data`) of `url`, from the answers `draft` on `page`."""

        def fetch(language: str) -> str:
            Response.objects.filter(pk=response.pk).update(
                language=language, draft=draft, page=page
            )
            if data is None:
                return client.get(url).content.decode()
            return html_of(client, client.post(url, data))

        return fetch

    def public(url: str) -> Callable[[str], str]:
        return lambda language: client.get(f"{url}?lang={language}").content.decode()

    twins.compare("start", public(link))
    twins.compare("first page", at(first, {}))
    twins.compare("nothing answered", at(first, {}, data={"next": "1"}))
    twins.compare(
        "refused answers",
        at(first, {}, data={"q_shift": "x", "q_age": "2.5", "q_worries": ["cameras", "none"]}),
    )
    twins.compare("not a number", at(first, {}, data={"q_shift": "day", "q_age": "abc"}))
    twins.compare("a question appears", at(first, {"shift": "day"}, data={"q_shift": "night"}))
    done = {"shift": "day", "worries": ["none"]}
    twins.compare("second page", at(second, done, 1))
    twins.compare("ranking half done", at(second, done, 1, {"q_rank__pay": "1"}))
    twins.compare("ranking twice", at(second, done, 1, {"q_rank__pay": "1", "q_rank__safety": "1"}))
    twins.compare("ranking not numbers", at(second, done, 1, {"q_rank__pay": "a"}))
    twins.compare("not a date", at(second, done, 1, {"q_started": "March"}))
    twins.compare("back, unsaved", at(second, done, 1, {"q_started": "March", "back": "1"}))
    twins.compare("saved, one not", at(second, done, 1, {"q_started": "March", "later": "1"}))
    ranked = {**done, "rank": ["safety", "pay"], "started": "2019-03-02"}
    twins.compare("check, consent missing", at(check, ranked, 1))
    twins.compare("sending refused", at(check, ranked, 1, {}))
    twins.compare("check", at(check, {**ranked, "consent": "yes"}, 1))
    twins.compare(
        "thanks", public(reverse("surveys_public:thanks", kwargs={"link": survey.link_token}))
    )
    # A private link once its answers are sent (or mistyped), as the link names its
    # language; and "How Sayso protects you", from a respondent page's footer.
    ended = reverse("surveys_public:check", kwargs={"token": "sent-or-mistyped"})
    twins.compare("link ended", public(ended))
    twins.compare(
        "link ended, sending",
        lambda language: client.post(f"{ended}?lang={language}").content.decode(),
    )
    twins.compare("privacy", public(reverse("surveys_public:privacy")))

    # An organiser's preview, then a survey that closed while someone was answering.
    preview, preview_raw = services.start_response(survey=survey, language="en", preview=True)

    def previewed(url: str) -> Callable[[str], str]:
        def fetch(language: str) -> str:
            Response.objects.filter(pk=preview.pk).update(language=language)
            return client.get(url).content.decode()

        return fetch

    twins.compare(
        "preview",
        previewed(reverse("surveys_public:page", kwargs={"token": preview_raw, "page": 0})),
    )
    twins.compare(
        "preview check", previewed(reverse("surveys_public:check", kwargs={"token": preview_raw}))
    )
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)
    twins.compare("closed", at(first, done))
    twins.compare("start, closed", public(link))
    Survey.objects.filter(pk=survey.pk).update(
        status=Survey.Status.OPEN, distribution=Survey.Distribution.MEMBERS
    )
    twins.compare("start, members only", public(link))

    # The invitation-code path: the code page, its refusals, the private link to keep.
    Survey.objects.filter(pk=survey.pk).update(distribution=Survey.Distribution.CODES)
    survey.refresh_from_db()
    code_page = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    _batch, codes = services.create_codes(survey=survey, actor=None, size=2)
    twins.compare("code", public(code_page))
    for name, typed in (("no code", ""), ("wrong code", "WRONG1"), ("too long", "X" * 30)):
        twins.compare(
            name,
            lambda language, typed=typed: client.post(
                code_page, {"code": typed, "language": language}
            ).content.decode(),
        )
    unused = iter(codes)
    twins.compare(
        "keep the link",
        lambda language: html_of(
            client, client.post(code_page, {"code": next(unused), "language": language})
        ),
    )

    assert twins.pages == 30
    assert twins.leftovers == {}, f"English left on the {language} pages: {twins.leftovers}"


# --------------------------------------------------------------------------- the catalogues


@dataclass
class Entry:
    context: str | None = None
    msgid: str = ""
    plural: str | None = None
    strings: dict[int, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    fuzzy: bool = False


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (obsolete ones, "#~", left out)."""
    entries: list[Entry] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry = Entry()
        part: str | tuple[str, int] = ""
        for line in block.splitlines():
            if line.startswith("#~"):
                break
            if line.startswith("#:"):
                entry.references += line[2:].split()
            elif line.startswith("#,"):
                entry.fuzzy = "fuzzy" in {flag.strip() for flag in line[2:].split(",")}
            elif match := re.match(
                r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])? (\".*\")$", line
            ):
                keyword, index, text = match.groups()
                part = ("msgstr", int(index or 0)) if keyword == "msgstr" else keyword
                add(entry, part, ast.literal_eval(text))
            elif line.startswith('"'):
                add(entry, part, ast.literal_eval(line))
        else:
            if entry.strings or entry.msgid:
                entries.append(entry)
    return entries


def add(entry: Entry, part: str | tuple[str, int], text: str) -> None:
    if isinstance(part, tuple):
        entry.strings[part[1]] = entry.strings.get(part[1], "") + text
    elif part == "msgctxt":
        entry.context = (entry.context or "") + text
    elif part == "msgid":
        entry.msgid += text
    elif part == "msgid_plural":
        entry.plural = (entry.plural or "") + text


def compiled_from(entries: list[Entry]) -> dict[Any, str]:
    """What msgfmt puts in the .mo, keyed as gettext.GNUTranslations reads it: each
    translated entry that is not fuzzy (a plural one by form), and the header."""
    out: dict[Any, str] = {}
    for entry in entries:
        if entry.fuzzy or not all(entry.strings.values()) or not entry.strings:
            continue
        key = f"{entry.context}\x04{entry.msgid}" if entry.context is not None else entry.msgid
        if entry.plural is None:
            out[key] = entry.strings[0]
        else:
            out |= {(key, n): text for n, text in entry.strings.items()}
    return out


def without_creation_date(catalogue: dict[Any, str]) -> dict[Any, str]:
    """GNU msgfmt (0.20 on) leaves the header's POT-Creation-Date out of the .mo: it
    says when the .po was last refreshed, nothing the pages use."""
    header = re.sub(r"^POT-Creation-Date:.*\n", "", catalogue.get("", ""), flags=re.MULTILINE)
    return {**catalogue, "": header}


CATALOGUES = sorted(
    path
    for path in LOCALE.glob("*/LC_MESSAGES/django.po")
    if len(compiled_from(read_po(path))) > 1  # more than a header: something to compile
)


def test_the_ui_catalogues_are_found() -> None:
    assert {p.parts[-3] for p in CATALOGUES} >= {"cy", "pl"}


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-3])
def test_each_compiled_catalogue_matches_its_po_file(po: Path) -> None:
    """The .mo files are committed (so that `make run` needs no GNU gettext): one
    compiled before its .po was last changed would show old words. Fix: make messages."""
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{mo} is missing: run make messages"
    with mo.open("rb") as compiled:
        found = without_creation_date(vars(gettext.GNUTranslations(compiled))["_catalog"])
    expected = without_creation_date(compiled_from(read_po(po)))
    stale = sorted(
        str(key) for key in expected.keys() | found.keys() if expected.get(key) != found.get(key)
    )
    assert stale == [], f"{mo} is older than {po.name}: run make messages"


RESPONDENT_TEMPLATES = re.compile(
    r"surveys/templates/surveys/(respond_\w+|_language\w*|_privacy)\.html"
    r"|templates/base\.html|templates/components/(error_summary|messages|notification)\.html"
    # "How Sayso protects you", as respondents reach it (surveys/respond_privacy.html).
    r"|core/templates/core/about_privacy\.html"
)
# What logic.py, services.py, forms.py and views.py can tell a respondent (the pages
# above cover Sayso's words in the templates).
RESPONDENT_MESSAGES = [
    "Agreed",
    "Did not agree",
    "Not answered",
    "Choose one of the options.",
    "Give each option a number.",
    "Give each option a different number from 1 to %(n)s.",
    "Enter a number, like 12 or 3.5.",
    "Enter a whole number, like 12.",
    "Write the number out in full, like 1000000 rather than 1e6.",
    "Enter a number of at most %(n)s digits.",
    "Enter a date as year-month-day, like 2024-03-01.",
    "Check the year: enter a date from %(first)s to %(last)s.",
    "This answer holds a character that cannot be kept, shown as �. Delete it and try again.",
    "Error:",
    "The organisers of %(community)s see each answer. Everyone else sees only totals, for groups"
    " of at least %(n)s people, and a written answer only once an organiser has approved it.",
    "Keep the answer under %(n)s characters.",
    "Tick the box to agree before you go on.",
    "Answer this question.",
    "“%(option)s” can't be ticked with other options. Untick one.",
    "This answer is not accepted. Check it and try again.",
    "This survey is not taking answers at the moment.",
    "Sign in as a member to answer this survey.",
    "You have already answered this survey. Thank you.",
    "That code is not valid or has already been used. Check it and try again. If you used"
    " it already, go back to your answers with the private link shown on your first page:"
    " a code works only once.",
    "The options of this question have changed. Choose again.",
    "The survey is being edited. Try sending your answers again.",
    "Number them in order: 1 for the most important to you, %(n)s for the least important.",
    "Your answer to “%(question)s” was not saved: %(reason)s Answer it again when you come back.",
    "Your answer to “%(question)s” could not be saved: %(reason)s",
    "Some answers need your attention before you send them.",
    "Your invitation code",
    "The code on your card or letter, like {example}. Capitals or not, it does not matter.",
    "Enter the code from your card or letter.",
    # The empty choice of a ranking's drop-down (respond_page.html), said in words: "—"
    # was read out as "dash".
    "Not ranked",
    "This is longer than an invitation code. Enter the code from your card or letter, like"
    " {example}.",
    # A conversation's participant, told why their statement waits (deliberation.views).
    "Thank you. Your statement may contain personal details, such as a name or a phone"
    " number, so an organiser will check it before it appears.",
]
RESPONDENT_PLURALS = [
    "%(count)s option has no number. Give each option a number from 1 to %(n)s.",
]


@pytest.mark.parametrize("language", sorted(RESPONDENT_UI_LANGUAGES))
def test_every_word_a_respondent_can_meet_is_translated(language: str) -> None:
    """Including the branches the pages above do not reach."""
    entries = read_po(LOCALE / language / "LC_MESSAGES" / "django.po")
    by_id = {e.msgid: e for e in entries if e.context is None}
    untranslated = sorted(
        e.msgid
        for e in entries
        if any(RESPONDENT_TEMPLATES.search(ref) for ref in e.references)
        and (e.fuzzy or not e.strings or not all(e.strings.values()))
    )
    assert untranslated == []
    for msgid in RESPONDENT_MESSAGES + RESPONDENT_PLURALS:
        entry = by_id.get(msgid)
        assert entry is not None, f"{msgid!r} is no longer in the catalogue: update this list"
        assert not entry.fuzzy, msgid
        assert entry.strings, msgid
        assert all(entry.strings.values()), msgid
    with translation.override(language):
        for msgid in RESPONDENT_MESSAGES:
            assert translation.gettext(msgid) != msgid, msgid
