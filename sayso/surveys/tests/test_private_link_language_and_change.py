# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A private link's pages: the language can be changed on them, and "Change" on the
check page comes back to it.

Someone who picked the wrong language on the start page follows a language link on
any page of their private link (plain links, as on the start page): the response is in
that language from then on, its answers kept. An answer changed from the check page
leads back to the check page, unless the change brought up a question on a later page:
that page first (each such page, in order), then the check page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.models import Choice, Question, Response, Section, Survey

from .test_respondent_flow import page_url
from .test_respondent_ui_languages import build_survey, start_url

pytestmark = pytest.mark.django_db


def language_links(html: str) -> dict[str, str]:
    """The language links of a page: {name: href}, the current language as ""."""
    nav = re.search(r'<nav aria-label="[^"]*"><ul class="tag-list">(.*?)</ul></nav>', html, re.S)
    assert nav is not None, "no language links"
    links = {
        name: href.replace("&amp;", "&")
        for href, name in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', nav[1])
    }
    # On a page of questions, buttons that send the page's answers with the language.
    links |= {
        name: f"?lang={code}"
        for code, name in re.findall(
            r'<button type="submit" form="answers" name="lang" value="([^"]*)"[^>]*>([^<]*)</button>',
            nav[1],
        )
    }
    current = re.findall(r'<span aria-current="true"[^>]*>([^<]*)</span>', nav[1])
    return links | dict.fromkeys(current, "")


def html_lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', html)
    assert found is not None
    return found[1]


# --------------------------------------------------------------------------- language


def started_in_welsh(client: Client) -> tuple[Survey, str]:
    """A response started in Welsh with its first page answered: the second page's URL."""
    survey, _questions = build_survey()
    first = str(client.post(start_url(survey), {"language": "cy"})["Location"])
    answers = {"q_shift": "day", "q_age": "30", "q_worries": ["none"]}
    second = str(client.post(first, answers)["Location"])
    assert second.endswith("/p/1/?lang=cy")
    return survey, second


def test_a_respondent_who_chose_welsh_switches_to_english_then_polish() -> None:
    client = Client()
    _survey, second = started_in_welsh(client)
    draft = Response.objects.get().draft
    html = client.get(second).content.decode()
    assert html_lang(html) == "cy"
    assert language_links(html) == {"English": "?lang=en", "Cymraeg": "", "polski": "?lang=pl"}

    bare = second.split("?")[0]
    html = client.get(f"{bare}?lang=en").content.decode()
    assert html_lang(html) == "en"
    assert "Page 2 of 2" in html
    assert language_links(html) == {"English": "", "Cymraeg": "?lang=cy", "polski": "?lang=pl"}
    response = Response.objects.get()
    assert (response.language, response.draft) == ("en", draft)  # answers kept
    # From now on in English: the next pages' addresses name no language.
    sent = client.post(f"{bare}?lang=en", {"q_consent": "yes"})
    assert sent["Location"].endswith("/check/")

    polish = sent["Location"].split("?")[0] + "?lang=pl"
    check = client.get(polish)
    html = check.content.decode()
    assert (check["Content-Language"], html_lang(html)) == ("pl", "pl")
    assert "Sprawdź" in html
    assert {link.rsplit("/", 1)[1] for link in change_links(client, polish)} == {
        "?lang=pl&from=check"
    }
    assert Response.objects.get().language == "pl"
    thanks = client.post(sent["Location"].split("?")[0] + "?lang=pl")
    assert thanks["Location"].endswith("?lang=pl")
    done = Response.objects.get()
    assert (done.status, done.language) == (Response.Status.COMPLETE, "pl")


def test_the_saved_page_changes_language_and_its_link_with_it() -> None:
    client = Client()
    _survey, second = started_in_welsh(client)
    saved = client.post(second, {"later": "1"})["Location"]
    assert saved.endswith("/saved/?lang=cy")
    page = client.get(saved.split("?")[0] + "?lang=pl")
    assert page["Content-Language"] == "pl"
    assert page.context["link"].endswith("/p/1/?lang=pl")
    assert Response.objects.get().language == "pl"


@pytest.mark.parametrize("asked", ["de", "CY", "welsh", ""])
def test_a_language_the_survey_does_not_have_changes_nothing(asked: str) -> None:
    client = Client()
    _survey, second = started_in_welsh(client)
    before = Response.objects.values().get()
    html = client.get(second.split("?")[0] + f"?lang={asked}").content.decode()
    assert html_lang(html) == "cy"
    assert Response.objects.values().get() == before


def test_sending_a_page_does_not_change_the_language() -> None:
    # Only following a link does: a page's form is sent to its own address, whatever
    # ?lang= that names.
    client = Client()
    _survey, second = started_in_welsh(client)
    bare = second.split("?")[0]
    client.post(f"{bare}?lang=en", {"q_story": "x", "later": "1"})
    assert Response.objects.get().language == "cy"


def test_a_sent_response_keeps_its_language_whatever_the_link_says() -> None:
    client = Client()
    _survey, second = started_in_welsh(client)
    check = str(client.post(second, {"q_consent": "yes"})["Location"])
    client.post(check)
    ended = client.get(check.split("?")[0] + "?lang=en")
    assert ended.status_code == 404
    assert Response.objects.get().language == "cy"


def test_a_survey_in_one_language_shows_no_language_links() -> None:
    survey, _questions = build_survey(("en",))
    client = Client()
    first = str(client.post(start_url(survey), {"language": "en"})["Location"])
    assert 'aria-label="Language"' not in client.get(first).content.decode()


# --------------------------------------------------------------------------- change


def four_pages() -> Survey:
    """Your shift; nights a month (night shift only); your team; cameras on nights
    (night shift only, with a note before it)."""
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Shifts", status=Survey.Status.OPEN
    )

    def ask(page: int, name: str, kind: str, **extra: Any) -> Question:
        section, _ = Section.objects.get_or_create(
            survey=survey, order=page + 1, defaults={"title": {"en": f"Part {page + 1}"}}
        )
        return Question.objects.create(
            survey=survey,
            section=section,
            order=section.questions.count() + 1,
            name=name,
            type=kind,
            label={"en": name.title()},
            **extra,
        )

    shift = ask(0, "shift", Question.Type.SINGLE, required=True)
    ask(0, "why", Question.Type.SHORT_TEXT, relevant="${shift} = 'night'")
    for order, name in enumerate(["day", "night"], start=1):
        Choice.objects.create(question=shift, order=order, name=name, label={"en": name})
    ask(1, "nights", Question.Type.NUMBER, relevant="${shift} = 'night'")
    ask(1, "hours", Question.Type.NUMBER)
    ask(2, "team", Question.Type.SHORT_TEXT)
    ask(3, "night_note", Question.Type.NOTE, relevant="${shift} = 'night'")
    ask(3, "cameras", Question.Type.SHORT_TEXT, relevant="${shift} = 'night'")
    return survey


def answered_by_day_worker(client: Client) -> tuple[str, str]:
    """Every page answered on the day shift: the first page's and the check page's URLs."""
    survey = four_pages()
    first = str(client.post(start_url(survey), {"language": "en"})["Location"])
    url = first
    for data in ({"q_shift": "day"}, {"q_hours": "38"}, {"q_team": "Loading"}):
        url = str(client.post(url, {**data, "next": "1"})["Location"])
    assert url.endswith("/check/")
    return first, url


def change_links(client: Client, check: str) -> list[str]:
    html = client.get(check).content.decode()
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*/p/\d/[^"]*)"', html)]


def test_change_then_continue_goes_back_to_the_check_page() -> None:
    client = Client()
    _first, check = answered_by_day_worker(client)
    links = change_links(client, check)
    assert [link.rsplit("/", 3)[-3:] for link in links] == [
        ["p", "0", "?from=check"],
        ["p", "1", "?from=check"],
        ["p", "2", "?from=check"],
    ]
    team = client.post(links[2], {"q_team": "Packing", "next": "1"})
    assert team["Location"] == check  # not the pages after it again
    hours = client.post(links[1], {"q_hours": "40", "next": "1"})
    assert hours["Location"] == check  # not through page 3 (team) again
    response = Response.objects.get()
    assert (response.draft, response.page) == (
        {"shift": "day", "hours": 40, "team": "Packing"},
        4,  # past the last page, as any way to the check page leaves it
    )


def test_a_change_that_brings_up_questions_on_later_pages_goes_through_them() -> None:
    client = Client()
    _first, check = answered_by_day_worker(client)
    change_shift = change_links(client, check)[0]
    # Brought up on the same page: shown there, as always; the way back is kept.
    same = client.post(change_shift, {"q_shift": "night", "next": "1"})
    assert same.status_code == 200
    html = same.content.decode()
    assert "A new question appeared because of your answer" in html
    # The page, shown again, carries the later pages the change brought up (its
    # answer is saved with it, so the next Continue can no longer tell).
    assert '<input type="hidden" name="then" value="1,3">' in html
    # Continue: the later pages with a question brought up (nights, cameras), in turn;
    # not the team page between them, which the change did not touch.
    nights = client.post(
        change_shift, {"q_shift": "night", "q_why": "Pay", "then": "1,3", "next": "1"}
    )
    assert nights["Location"].endswith("/p/1/?from=check&then=3")
    html = client.get(nights["Location"]).content.decode()
    assert 'name="q_hours" id="q_hours" value="38"' in html  # answers kept
    cameras = client.post(nights["Location"], {"q_nights": "8", "q_hours": "38", "next": "1"})
    assert cameras["Location"].endswith("/p/3/?from=check")
    done = client.post(cameras["Location"], {"q_cameras": "Everywhere", "next": "1"})
    assert done["Location"] == check
    assert Response.objects.get().draft == {
        "shift": "night",
        "why": "Pay",
        "nights": 8,
        "hours": 38,
        "team": "Loading",
        "cameras": "Everywhere",
    }


def test_a_page_still_to_see_is_skipped_once_its_questions_no_longer_apply() -> None:
    client = Client()
    _first, check = answered_by_day_worker(client)
    hours = change_links(client, check)[1]
    # "then" names page 3, whose questions no longer apply (the shift is day again).
    done = client.post(f"{hours}&then=3,x,9", {"q_hours": "38", "next": "1"})
    assert done["Location"] == check


def test_back_from_a_changed_page_stays_on_the_way_to_the_check_page() -> None:
    """The reviewer changed an answer from the check page, pressed Back, then Continue:
    it walked through every page after that instead of returning to the check page."""
    client = Client()
    first, check = answered_by_day_worker(client)
    team = change_links(client, check)[2]
    back = client.post(team, {"q_team": "Packing", "back": "1"})
    assert back["Location"] == page_url(first, 1) + "?from=check"
    onwards = client.post(back["Location"], {"q_hours": "38", "next": "1"})
    assert onwards["Location"] == check


def test_a_refused_change_stays_on_its_page_with_the_way_back_kept() -> None:
    client = Client()
    _first, check = answered_by_day_worker(client)
    change_shift = change_links(client, check)[0]
    refused = client.post(change_shift, {"next": "1"})  # the shift is required
    assert refused.status_code == 200
    assert "There is a problem" in refused.content.decode()
    assert Response.objects.get().status == Response.Status.PARTIAL
    again = client.post(change_shift, {"q_shift": "day", "next": "1"})
    assert again["Location"] == check


def test_the_language_links_of_a_changed_page_keep_the_way_back() -> None:
    survey, _questions = build_survey()
    client = Client()
    first = str(client.post(start_url(survey), {"language": "cy"})["Location"])
    answers = {"q_shift": "day", "q_age": "30", "q_worries": ["none"]}
    second = str(client.post(first, answers)["Location"])
    check = str(client.post(second, {"q_consent": "yes"})["Location"])
    change = change_links(client, check)[0]
    assert change.endswith("/p/0/?lang=cy&from=check")
    html = client.get(change).content.decode()
    assert language_links(html)["English"] == "?lang=en"
    # The language button sends the page (what was typed kept) and keeps the way back.
    switched = client.post(change, {**answers, "q_age": "31", "lang": "en"})
    english = str(switched["Location"])
    assert english.endswith("/p/0/?from=check")
    assert Response.objects.get().draft["age"] == 31
    back = client.post(english, {**answers, "q_age": "31"})
    assert back["Location"].endswith("/check/")
    assert Response.objects.get().language == "en"


def test_changing_language_keeps_what_was_typed_on_the_page() -> None:
    """The reviewer typed an age, then tapped "Cymraeg": the page came back empty. The
    language buttons send the page's answers, kept as "Save and continue later" keeps
    them, and the same page comes back in the new language."""
    survey, _questions = build_survey()
    client = Client()
    first = str(client.post(start_url(survey), {"language": "en"})["Location"])
    html = client.get(first).content.decode()
    assert language_links(html)["Cymraeg"] == "?lang=cy"
    switched = client.post(first, {"q_shift": "day", "q_age": "45", "lang": "cy"})
    assert switched["Location"].endswith("/p/0/?lang=cy")
    response = Response.objects.get()
    assert response.language == "cy"
    assert response.draft == {"shift": "day", "age": 45}
    page = client.get(switched["Location"]).content.decode()
    assert html_lang(page) == "cy"
    assert 'value="45"' in page
    # A language the survey does not have changes nothing but keeps the answers.
    client.post(switched["Location"], {"q_shift": "day", "q_age": "46", "lang": "de"})
    response.refresh_from_db()
    assert (response.language, response.draft["age"]) == ("cy", 46)
