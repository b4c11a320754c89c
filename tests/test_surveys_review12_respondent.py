# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A browser reviewer's findings on the respondent pages (review 12), each pinned by a
test that failed before its fix: a null character typed or put in an address (a 500
on PostgreSQL), direction-override characters in answers, the private link to keep
after a code, dates far in the past or future and full-width digits, the progress of
a survey whose answers skip a page, page titles, where the error summary's links lead,
and htmx only on the pages that use it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core import text
from sayso.core.models import InvitationCodeUse
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import logic, services
from sayso.surveys.models import Answer, Choice, Question, Response, Section, Survey
from sayso.surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db


def build_survey(**fields: Any) -> Survey:
    """Three pages: about work (a required shift, a multiple choice with an option
    ticked on its own, a site, a story), nights (only for the night shift), and more
    (a ranking, the day the person started, a consent)."""
    fields.setdefault("status", Survey.Status.OPEN)
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Work survey", languages=["en"], **fields
    )
    pages = [
        Section.objects.create(survey=survey, order=n, title={"en": title})
        for n, title in enumerate(["About work", "Nights", "More"], start=1)
    ]

    def q(page: int, order: int, name: str, kind: str, label: str, **extra: Any) -> None:
        choices: Sequence[tuple[str, str]] = extra.pop("choices", ())
        question = Question.objects.create(
            survey=survey,
            section=pages[page - 1],
            order=order,
            name=name,
            type=kind,
            label={"en": label},
            **extra,
        )
        for i, (name_, label_) in enumerate(choices, 1):
            Choice.objects.create(
                question=question,
                order=i,
                name=name_,
                label={"en": label_},
                exclusive=name_ == "none",
            )

    q(1, 1, "shift", Question.Type.SINGLE, "Your shift", required=True,
      choices=[("day", "Day"), ("night", "Night")])  # fmt: skip
    q(1, 2, "worries", Question.Type.MULTIPLE, "What worries you?",
      choices=[("pay", "Pay"), ("none", "None of these")])  # fmt: skip
    q(1, 3, "site", Question.Type.SHORT_TEXT, "Your site")
    q(1, 4, "story", Question.Type.LONG_TEXT, "Tell us more")
    q(2, 1, "nights", Question.Type.NUMBER, "Nights a month", relevant="${shift} = 'night'")
    q(3, 1, "rank", Question.Type.RANKING, "What matters most",
      choices=[("pay", "Pay"), ("safety", "Safety")])  # fmt: skip
    q(3, 2, "started", Question.Type.DATE, "When you started", constraint=". <= today()",
      constraint_message={"en": "Give a day that has come."})  # fmt: skip
    q(3, 3, "agree", Question.Type.CONSENT, "I agree to take part", required=True)
    return survey


def start(survey: Survey, client: Client) -> str:
    """The first page's address (the private link) for a new response."""
    started = client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))
    assert started.status_code == 302
    return str(started["Location"])


def page_url(first: str, index: int) -> str:
    return re.sub(r"/p/0/$", f"/p/{index}/", first)


def token_of(first: str) -> str:
    return first.split("/")[-4]


def check_url(first: str) -> str:
    return reverse("surveys_public:check", kwargs={"token": token_of(first)})


def state() -> tuple[Any, ...]:
    response = Response.objects.get()
    return (response.status, response.draft, response.page, response.language)


def code_survey() -> tuple[Survey, list[str]]:
    survey = build_survey(status=Survey.Status.DRAFT, distribution=Survey.Distribution.CODES)
    organiser = OrganiserFactory(community=survey.community).user
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=3)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    survey.refresh_from_db()
    return survey, codes


def code_page(survey: Survey) -> str:
    return reverse("surveys_public:code", kwargs={"link": survey.link_token})


def title_of(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert found is not None
    return found.group(1)


class Ids(HTMLParser):
    """The ids of a page's elements, and the targets of its in-page links (#id) by the
    list they are in (the element with an id around them)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}  # id: tag
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids[str(values["id"])] = tag
        href = values.get("href") or ""
        if tag == "a" and href.startswith("#"):
            self.links.append(href[1:])


def summary_links(html: str) -> list[str]:
    """The targets of the error summary's links."""
    found = re.search(r'<div class="error-summary".*?</div>', html, re.DOTALL)
    assert found is not None, "no error summary"
    return Ids(found.group(0)).links


# --------------------------------------------------------------------------- 1. null characters


def test_a_text_answer_with_a_null_character_is_refused_next_to_it_keeping_the_rest() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    before = state()
    refused = client.post(first, {"q_shift": "day", "q_site": "Depot 4", "q_story": "a\x00b"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "There is a problem" in html
    message = (
        "This answer holds a character that cannot be kept, shown as �. Delete it and try again."
    )
    assert f'<ul class="errorlist" id="q_story-error"><li>{message}</li></ul>' in html
    # Shown again as typed, the character made visible, and no null in the page.
    assert ">a\ufffdb</textarea>" in html
    assert "\x00" not in html
    assert 'value="day" id="q_shift-1" checked' in html
    assert 'value="Depot 4"' in html
    # The readable answers are kept, the refused one is not, and the page is the same.
    assert state() == (before[0], {"shift": "day", "site": "Depot 4"}, 0, "en")


def test_save_for_later_names_a_text_answer_with_a_null_character_and_keeps_the_rest() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    saved = client.post(first, {"q_shift": "night", "q_site": "x\x00", "later": "1"})
    assert saved.status_code == 302
    assert state() == (Response.Status.PARTIAL, {"shift": "night"}, 0, "en")
    shown = client.get(saved["Location"]).content.decode()
    assert (
        "Your answer to “Your site” was not saved: This answer holds a character that cannot"
        " be kept, shown as �. Delete it and try again. Answer it again when you come back."
    ) in shown


def test_a_null_character_in_a_survey_link_is_not_found() -> None:
    """On PostgreSQL the lookup itself failed (a 500): such a link names no survey."""
    survey = build_survey(distribution=Survey.Distribution.CODES)
    link = survey.link_token
    for path in (
        f"/surveys/{link}%00/",
        f"/surveys/{link}%00/code/",
        f"/surveys/{link}%00/thanks/",
    ):
        assert Client().get(path).status_code == 404, path
    assert Client().post(f"/surveys/{link.lower()}%00/code/", {"code": "x"}).status_code == 404
    assert Client().get(f"/surveys/{link.lower()}/").status_code == 302  # small letters still work


def test_a_null_character_in_a_private_link_or_its_language_says_the_link_ended() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    token = token_of(first)
    before = state()
    for path in (
        f"/surveys/r/{token}%00/p/0/",
        f"/surveys/r/{token}%00/check/",
        f"/surveys/r/{token}%00/saved/",
        f"/surveys/r/{token}%00/forget/",
    ):
        ended = client.get(path)
        assert ended.status_code == 404, path
        assert "This private link has ended" in ended.content.decode()
    # A language that is none of the survey's changes nothing.
    assert client.get(f"{first}?lang=en%00").status_code == 200
    assert state() == before
    assert client.post(first, {"q_shift": "day", "lang": "en\x00"}).status_code == 302
    assert state() == (before[0], {"shift": "day"}, 0, "en")
    assert client.get("/surveys/privacy/?lang=%00").status_code == 200


def test_a_code_with_a_null_character_is_refused_plainly() -> None:
    survey, codes = code_survey()
    refused = Client().post(code_page(survey), {"code": codes[0] + "\x00"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "That code is not valid or has already been used. Check it and try again." in html
    assert "Null characters" not in html
    assert not InvitationCodeUse.objects.exists()
    assert not Response.objects.exists()


# --------------------------------------------------------------------------- 2. direction


def test_the_shared_helper_takes_out_every_direction_control_and_nothing_else() -> None:
    controls = "".join(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
    assert len(controls) == 9
    # The direction marks (U+200F) that right-to-left writing needs are kept.
    assert text.without_direction_controls(f"a{controls}b\u200fc\u05d0") == "ab\u200fc\u05d0"
    # Deliberation takes them out of statements with the same rule (its own test:
    # tests/test_deliberation_review11.py).


def test_direction_controls_are_taken_out_of_text_answers_when_saved() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(
        first,
        {
            "q_shift": "day",
            "q_site": "\u202eDepot\u202c 4",
            "q_story": "\u2067Told off\u2069 by the \u202escanner",
        },
    )
    assert state()[1] == {"shift": "day", "site": "Depot 4", "story": "Told off by the scanner"}
    # Saved for later too.
    client.post(first, {"q_shift": "day", "q_site": "\u202dNorth", "later": "1"})
    assert state()[1]["site"] == "North"


def test_the_check_page_isolates_each_answer_and_keeps_its_line_breaks() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    # A draft kept before the characters were taken out: <bdi> keeps them inside it.
    Response.objects.update(
        draft={
            "shift": "day",
            "site": "\u202eDepot <4>",
            "story": "First line\r\nSecond & last",
            "agree": "yes",
        },
        page=2,
    )
    html = client.get(check_url(first)).content.decode()
    assert "<dd><bdi>Day</bdi> <a " in html
    assert "<bdi>\u202eDepot &lt;4&gt;</bdi> <a " in html
    assert "<bdi>First line<br>Second &amp; last</bdi>" in html


def test_text_boxes_take_their_direction_from_what_is_typed() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    html = client.get(first).content.decode()
    assert re.search(r'<input type="text" dir="auto" name="q_site"', html)
    assert re.search(r'<textarea name="q_story" id="q_story" dir="auto"', html)
    more = client.get(page_url(first, 2)).content.decode()
    # Dates and numbers are written left to right whatever the language.
    assert not re.search(r'<input[^>]*name="q_started"[^>]*dir=', more)


# --------------------------------------------------------------------------- 3. the link to keep


KEEP = "Your code is now used. Keep this private link"


def test_the_private_link_to_keep_stays_on_the_first_page_of_a_code_survey() -> None:
    survey, codes = code_survey()
    client = Client()
    first = client.post(code_page(survey), {"code": codes[0]})["Location"]
    assert KEEP in client.get(first).content.decode()
    # Refused (the shift left out) with an answer kept: still there.
    refused = client.post(first, {"q_site": "Depot 4"})
    assert "There is a problem" in refused.content.decode()
    assert state()[1] == {"site": "Depot 4"}
    assert KEEP in refused.content.decode()
    assert f'<a href="http://testserver{first}">' in refused.content.decode()
    # Back to it later: still there.
    assert KEEP in client.get(first).content.decode()
    # Switched to Welsh with the language buttons (which save what was typed): still
    # there, in Welsh, with the link that keeps the language.
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "cy"])
    switched = client.post(first, {"q_site": "Depot 4", "lang": "cy"})["Location"]
    assert switched == f"{first}?lang=cy"
    welsh = client.get(switched).content.decode()
    assert '<html lang="cy">' in welsh
    assert f'<a href="http://testserver{first}?lang=cy">' in welsh
    Survey.objects.filter(pk=survey.pk).update(languages=["en"])
    Response.objects.update(language="en")
    # Continued past it: on the next page, no; back on the first page, yes.
    client.post(first, {"q_shift": "night"})
    assert KEEP not in client.get(page_url(first, 1)).content.decode()
    assert KEEP in client.get(first).content.decode()


def test_the_private_link_to_keep_is_only_for_codes() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    assert KEEP not in client.get(first).content.decode()


# --------------------------------------------------------------------------- 4. dates


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("1900-01-01", "1900-01-01"),
        ("2019-03-02", "2019-03-02"),
        # Full-width digits and hyphens, as typed with a Japanese or Chinese keyboard.
        ("\uff12\uff10\uff11\uff19\uff0d\uff10\uff13\uff0d\uff10\uff12", "2019-03-02"),
        ("\uff12\uff10\uff11\uff19-03-02", "2019-03-02"),
        ("\u0662\u0660\u0661\u0669-\u0660\u0663-\u0660\u0662", "2019-03-02"),  # Arabic-Indic
    ],
)
def test_a_date_in_range_is_kept(typed: str, kept: str) -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day"})
    done = client.post(page_url(first, 2), {"q_started": typed, "q_agree": "yes"})
    assert done.status_code == 302
    assert state()[1]["started"] == kept


@pytest.mark.parametrize("typed", ["0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31"])
def test_a_date_before_1900_or_after_2100_is_refused_in_plain_words(typed: str) -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day"})
    before = state()
    refused = client.post(page_url(first, 2), {"q_started": typed, "q_agree": "yes"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "Check the year: enter a date from 1900 to 2100." in html
    assert f'value="{typed}"' in html  # shown again as typed
    assert state() == (before[0], {**before[1], "agree": "yes"}, 2, "en")


def test_the_survey_s_own_date_rule_still_applies_within_the_range() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day"})
    refused = client.post(page_url(first, 2), {"q_started": "2099-01-01", "q_agree": "yes"})
    html = refused.content.decode()
    assert "Give a day that has come." in html
    assert "Check the year" not in html


def test_a_date_out_of_range_kept_before_is_refused_on_the_check_page_and_when_sent() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    Response.objects.update(draft={"shift": "day", "started": "0001-01-01", "agree": "yes"}, page=2)
    html = client.get(check_url(first)).content.decode()
    assert "Check the year: enter a date from 1900 to 2100." in html
    sent = client.post(check_url(first))
    assert sent.status_code == 200
    assert Response.objects.get().status == Response.Status.PARTIAL
    assert not Answer.objects.exists()


def test_the_date_range_judges_only_dates() -> None:
    assert logic.date_problem("1900-01-01") is None
    assert logic.date_problem("2100-12-31") is None
    assert logic.date_problem("1899-12-31") == "Check the year: enter a date from 1900 to 2100."
    # Not dates (a number kept before the question became a date): not this rule's.
    for value in (30, 2.5, "March", ["2019-03-02"], None):
        assert logic.date_problem(value) is None, value


def test_the_date_box_offers_the_range() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    html = client.get(page_url(first, 2)).content.decode()
    assert re.search(r'<input type="date"[^>]* min="1900-01-01" max="2100-12-31"', html)


def test_full_width_forms_and_other_scripts_digits_read_as_ascii() -> None:
    wide = "\uff12\uff10\uff12\uff14\uff0d\uff10\uff13\u3000\uff21\uff42"
    assert text.ascii_forms(wide) == "2024-03 Ab"
    assert text.ascii_forms("\u0967\u0968") == "12"  # Devanagari
    # A superscript is no digit of the number it follows (NFKC would make 10² 102).
    assert text.ascii_forms("10\u00b2") == "10\u00b2"
    assert text.ascii_forms("caf\u00e9") == "caf\u00e9"


def test_a_code_typed_in_full_width_characters_works() -> None:
    survey, codes = code_survey()
    wide = "".join(chr(ord(c) + 0xFEE0) for c in codes[0])  # the full-width forms
    assert wide != codes[0]
    started = Client().post(code_page(survey), {"code": wide})
    assert started.status_code == 302
    assert InvitationCodeUse.objects.count() == 1


# --------------------------------------------------------------------------- 5. progress


def progress(html: str) -> str:
    found = re.search(r'<label for="progress">(.*?)</label>', html)
    assert found is not None, "no progress"
    return found.group(1)


def test_progress_counts_only_the_pages_that_apply_to_the_answers_so_far() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    # Nothing answered yet: the nights page may still apply.
    assert progress(client.get(first).content.decode()) == "Page 1 of 3"
    assert client.post(first, {"q_shift": "day"})["Location"] == page_url(first, 2)
    last = client.get(page_url(first, 2)).content.decode()
    assert progress(last) == "Page 2 of 2"
    assert '<progress id="progress" max="100" value="50">' in last
    assert progress(client.get(first).content.decode()) == "Page 1 of 2"
    # The night shift brings the nights page up.
    assert client.post(first, {"q_shift": "night"})["Location"] == page_url(first, 1)
    assert progress(client.get(page_url(first, 1)).content.decode()) == "Page 2 of 3"
    assert progress(client.get(page_url(first, 2)).content.decode()) == "Page 3 of 3"
    assert progress(client.get(first).content.decode()) == "Page 1 of 3"


def test_the_pages_counted_are_those_the_answers_so_far_leave_open() -> None:
    shift = Question(name="shift", type=Question.Type.SINGLE)
    nights = Question(name="nights", type=Question.Type.NUMBER, relevant="${shift} = 'night'")
    late = Question(name="late", type=Question.Type.SHORT_TEXT, relevant="${nights} > 5")
    note = Question(name="thanks", type=Question.Type.NOTE)
    pages = [[shift], [nights], [late], [note]]
    assert logic.pages_to_go_through(pages, 0, {}) == [0, 1, 2, 3]
    # The day shift skips the nights page, and so the page that follows from it.
    assert logic.pages_to_go_through(pages, 0, {"shift": "day"}) == [0, 3]
    assert logic.pages_to_go_through(pages, 0, {"shift": "night"}) == [0, 1, 2, 3]
    # On the nights page, before the nights are given: the next page may come.
    assert logic.pages_to_go_through(pages, 1, {"shift": "night"}) == [0, 1, 2, 3]
    assert logic.pages_to_go_through(pages, 1, {"shift": "night", "nights": 3}) == [0, 1, 3]
    assert logic.pages_to_go_through(pages, 1, {"shift": "night", "nights": 9}) == [0, 1, 2, 3]
    # A page reached by its address counts, skipped or not.
    assert logic.pages_to_go_through(pages, 2, {"shift": "day"}) == [0, 2, 3]
    # An earlier question left blank will not be answered on the way: it decides.
    assert logic.pages_to_go_through(pages, 3, {}) == [0, 3]


def test_progress_follows_the_answers_of_a_page_shown_again() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    # Refused (two options that can't go together), as the answers on it stand: the
    # day shift skips the nights page, the night shift brings it up.
    refused = client.post(first, {"q_shift": "day", "q_worries": ["pay", "none"]})
    assert "There is a problem" in refused.content.decode()
    assert progress(refused.content.decode()) == "Page 1 of 2"
    refused = client.post(first, {"q_shift": "night", "q_worries": ["pay", "none"]})
    assert "There is a problem" in refused.content.decode()
    assert progress(refused.content.decode()) == "Page 1 of 3"


# --------------------------------------------------------------------------- 6. titles


def test_each_respondent_page_s_title_names_the_step_and_says_when_there_is_a_problem() -> None:
    survey = build_survey()
    client = Client()
    start_url = reverse("surveys_public:start", kwargs={"link": survey.link_token})
    assert title_of(client.get(start_url).content.decode()) == "Work survey · Sayso"
    first = start(survey, client)
    # Nothing answered yet: the nights page may still apply.
    assert title_of(client.get(first).content.decode()) == (
        "Page 1 of 3: About work \u2013 Work survey · Sayso"
    )
    refused = client.post(first, {"q_site": "x"}).content.decode()
    assert title_of(refused) == "Error: Page 1 of 3: About work \u2013 Work survey · Sayso"
    client.post(first, {"q_shift": "day"})
    assert title_of(client.get(page_url(first, 2)).content.decode()) == (
        "Page 2 of 2: More \u2013 Work survey · Sayso"
    )
    # An answer that cannot be read, with Back: the page says it could not be saved.
    unsaved = client.post(page_url(first, 2), {"q_started": "March", "back": "1"})
    assert title_of(unsaved.content.decode()).startswith("Error: Page 2 of 2: More")
    check = check_url(first)
    assert title_of(client.get(check).content.decode()) == (
        "Error: Check your answers \u2013 Work survey · Sayso"  # the consent is missing
    )
    client.post(page_url(first, 2), {"q_agree": "yes"})
    assert title_of(client.get(check).content.decode()) == (
        "Check your answers \u2013 Work survey · Sayso"
    )
    saved = client.post(page_url(first, 2), {"q_agree": "yes", "later": "1"})["Location"]
    assert title_of(client.get(saved).content.decode()) == (
        "Your answers are saved \u2013 Work survey · Sayso"
    )
    forget = reverse("surveys_public:forget", kwargs={"token": token_of(first)})
    assert title_of(client.get(forget).content.decode()) == (
        "Forget your answers? \u2013 Work survey · Sayso"
    )
    thanks = client.post(check)["Location"]
    assert title_of(client.get(thanks).content.decode()) == "Thank you \u2013 Work survey · Sayso"


def test_a_one_page_survey_s_title_and_a_forgotten_response_s() -> None:
    survey = build_survey()
    Section.objects.filter(survey=survey, order__gt=1).delete()
    client = Client()
    first = start(survey, client)
    assert title_of(client.get(first).content.decode()) == "About work \u2013 Work survey · Sayso"
    Section.objects.filter(survey=survey).update(title={})
    assert title_of(client.get(first).content.decode()) == "Work survey · Sayso"
    forget = reverse("surveys_public:forget", kwargs={"token": token_of(first)})
    forgotten = client.post(forget).content.decode()
    assert title_of(forgotten) == "Your answers are forgotten \u2013 Work survey · Sayso"


def test_the_code_page_s_title_names_it_and_says_when_the_code_is_refused() -> None:
    survey, _codes = code_survey()
    client = Client()
    assert title_of(client.get(code_page(survey)).content.decode()) == (
        "Your invitation code \u2013 Work survey · Sayso"
    )
    refused = client.post(code_page(survey), {"code": "WRONG-CODE1"}).content.decode()
    assert title_of(refused) == "Error: Your invitation code \u2013 Work survey · Sayso"


# --------------------------------------------------------------------------- 7. summary links


def test_the_error_summary_leads_to_the_first_box_of_each_question() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    refused = client.post(first, {"q_worries": ["pay", "none"]}).content.decode()
    links = summary_links(refused)
    assert links == ["q_shift-1", "q_worries-1"]
    ids = Ids(refused).ids
    assert [ids[target] for target in links] == ["input", "input"]
    client.post(first, {"q_shift": "day"})
    ranking = client.post(
        page_url(first, 2), {"q_rank__pay": "1", "q_rank__safety": "1", "q_agree": "yes"}
    ).content.decode()
    assert summary_links(ranking) == ["q_rank__pay"]
    assert Ids(ranking).ids["q_rank__pay"] == "select"
    # A question with one box still leads to it.
    consent = client.post(page_url(first, 2), {}).content.decode()
    assert summary_links(consent) == ["q_agree"]
    assert Ids(consent).ids["q_agree"] == "input"


def test_the_unsaved_answers_summary_leads_to_the_first_box_too() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day"})
    unsaved = client.post(
        page_url(first, 2), {"q_rank__pay": "a", "q_started": "March", "back": "1"}
    ).content.decode()
    assert summary_links(unsaved) == ["q_rank__pay", "q_started"]


def test_a_new_question_s_link_leads_to_its_first_box() -> None:
    survey = build_survey()
    # A choice question on the first page, brought up by the night shift.
    Question.objects.filter(name="nights").update(
        section=Section.objects.get(survey=survey, order=1), order=9, type=Question.Type.SINGLE
    )
    question = Question.objects.get(name="nights")
    Choice.objects.create(question=question, order=1, name="few", label={"en": "A few"})
    client = Client()
    first = start(survey, client)
    html = client.post(first, {"q_shift": "night"}).content.decode()
    assert "A new question appeared because of your answer" in html
    assert 'href="#q_nights-1">Nights a month</a>' in html


# --------------------------------------------------------------------------- 8. htmx


HTMX = re.compile(r'<script src="[^"]*htmx[^"]*"')


def test_htmx_is_loaded_only_on_the_pages_of_questions() -> None:
    survey, codes = code_survey()
    client = Client()
    assert not HTMX.search(client.get(code_page(survey)).content.decode())
    first = client.post(code_page(survey), {"code": codes[0]})["Location"]
    assert HTMX.search(client.get(first).content.decode())
    client.post(first, {"q_shift": "day"})
    client.post(page_url(first, 2), {"q_agree": "yes"})
    check = check_url(first)
    assert not HTMX.search(client.get(check).content.decode())
    forget = reverse("surveys_public:forget", kwargs={"token": token_of(first)})
    assert not HTMX.search(client.get(forget).content.decode())
    thanks = client.post(check)["Location"]
    assert not HTMX.search(client.get(thanks).content.decode())
    link_survey = build_survey()
    start_page = reverse("surveys_public:start", kwargs={"link": link_survey.link_token})
    assert not HTMX.search(client.get(start_page).content.decode())
    assert not HTMX.search(client.get(reverse("surveys_public:privacy")).content.decode())
    # Nor on an organiser's survey pages, which use none of it: htmx is only where a
    # page uses it (tests/test_accessibility_review.py).
    organiser = signed_in(OrganiserFactory(community=survey.community).user)
    detail = reverse("surveys:detail", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    assert not HTMX.search(organiser.get(detail).content.decode())


def test_read_answer_refuses_a_null_character_in_any_typed_answer() -> None:
    """Numbers and dates with a null character were already refused as not numbers
    and not dates; a text now is too, with its own message."""
    survey = build_survey()
    by_name = {q.name: q for q in survey.questions.all()}
    for name, typed in (("site", "a\x00"), ("nights", "1\x00"), ("started", "2019-03-02\x00")):
        value, error = logic.read_answer(by_name[name], {f"q_{name}": typed})
        assert value is None, name
        assert error, name


# --------------------------------------------------------------------------- the default notice


def test_a_survey_without_its_own_notice_still_says_who_sees_the_answers() -> None:
    """A survey opened with an empty privacy notice said nothing on its start page about
    who sees what: Sayso's own guarantees are said instead."""
    community = CommunityFactory(name="Depot workers", small_group_threshold=6)
    bare = make_survey(community, status=Survey.Status.OPEN, privacy_notice="")
    page = Client().get(bare.public_url()).content.decode()
    assert "Who sees your answers" in page
    assert (
        "The organisers of Depot workers see each answer. Everyone else sees only totals,"
        " for groups of at least 6 people" in page
    )
    own = make_survey(
        community, status=Survey.Status.OPEN, privacy_notice="Only the organisers read them."
    )
    page = Client().get(own.public_url()).content.decode()
    assert "Only the organisers read them." in page
    assert 'id="default-privacy"' not in page
