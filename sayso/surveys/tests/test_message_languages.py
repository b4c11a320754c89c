# mypy: disable-error-code="no-untyped-call,arg-type"
"""A survey's own messages (XLSForm's required_message and constraint_message) fall
back only to the survey's main language, as page titles and hints do.

Before, a respondent whose language had no message was shown the message in any
language the form had one in: a Welsh respondent read Polish."""

from __future__ import annotations

import html
import re

import pytest
from django.utils import translation

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import logic, services, xlsform
from sayso.surveys.models import Survey

from .factories import start_answering, xlsform_bytes

pytestmark = pytest.mark.django_db

# Sayso's own words, as a Welsh respondent reads them (the cy catalogue).
WELSH_ANSWER_IT = "Atebwch y cwestiwn hwn."
WELSH_NOT_ACCEPTED = "Dydy'r ateb hwn ddim yn cael ei dderbyn."
POLISH_AGE_MISSING = "Podaj swój wiek."
POLISH_AGE_REFUSED = "Musisz mieć co najmniej 16 lat."
ENGLISH_MEMBER_MISSING = "Say whether you are a member."
POLISH_MEMBER_MISSING = "Powiedz, czy jesteś członkiem."


def imported() -> Survey:
    """English first (the main language), then Polish and Welsh. The age's messages
    are written in Polish only; the member question's in English and Polish."""
    data = xlsform_bytes(
        [
            [
                "type",
                "name",
                "label::English (en)",
                "label::Polski (pl)",
                "label::Welsh (cy)",
                "required",
                "required_message::English (en)",
                "required_message::Polski (pl)",
                "constraint",
                "constraint_message::English (en)",
                "constraint_message::Polski (pl)",
            ],
            [
                "integer",
                "age",
                "Your age",
                "Twój wiek",
                "Eich oed",
                "yes",
                "",
                POLISH_AGE_MISSING,
                ". >= 16",
                "",
                POLISH_AGE_REFUSED,
            ],
            [
                "select_one yn",
                "member",
                "Are you a member?",
                "Czy jesteś członkiem?",
                "Ydych chi'n aelod?",
                "yes",
                ENGLISH_MEMBER_MISSING,
                POLISH_MEMBER_MISSING,
                "",
                "",
                "",
            ],
        ],
        [
            ["list_name", "name", "label::English (en)", "label::Polski (pl)", "label::Welsh (cy)"],
            ["yn", "yes", "Yes", "Tak", "Ydw"],
            ["yn", "no", "No", "Nie", "Nac ydw"],
        ],
    )
    survey = xlsform.import_xlsform(data=data, community=CommunityFactory(), actor=None)
    assert survey.default_language == "en"
    age = survey.questions.get(name="age")
    assert age.required_message == {"pl": POLISH_AGE_MISSING}
    assert age.constraint_message == {"pl": POLISH_AGE_REFUSED}
    member = survey.questions.get(name="member")
    assert member.required_message == {"en": ENGLISH_MEMBER_MISSING, "pl": POLISH_MEMBER_MISSING}
    return survey


def sent_blank_then(survey: Survey, language: str, age: str) -> tuple[str, str]:
    """The first page as a respondent in `language` gets it back: sent with nothing
    answered, then with `age` typed (the member question still unanswered)."""
    client, url = start_answering(survey, language)
    blank = client.post(url, {"shown": ["age", "member"]}).content.decode()
    typed = client.post(url, {"shown": ["age", "member"], "q_age": age}).content.decode()
    return html.unescape(blank), html.unescape(typed)


def test_a_welsh_respondent_never_reads_the_polish_messages() -> None:
    survey = imported()
    blank, typed = sent_blank_then(survey, "cy", "12")
    for page in (blank, typed):
        assert POLISH_AGE_MISSING not in page
        assert POLISH_AGE_REFUSED not in page
        assert POLISH_MEMBER_MISSING not in page
    # No message of the survey's own in Welsh or English: Sayso's, in Welsh.
    assert WELSH_ANSWER_IT in blank
    assert WELSH_NOT_ACCEPTED in typed
    # One in the main language: shown, and marked as English.
    for page in (blank, typed):
        assert re.search(
            r'<[^>]+lang="en"[^>]*>(?:<[^>]+>)*' + re.escape(ENGLISH_MEMBER_MISSING), page
        ), page


def test_a_polish_respondent_still_reads_them_in_polish() -> None:
    survey = imported()
    blank, typed = sent_blank_then(survey, "pl", "12")
    assert POLISH_AGE_MISSING in blank
    assert POLISH_MEMBER_MISSING in blank
    assert POLISH_AGE_REFUSED in typed
    assert ENGLISH_MEMBER_MISSING not in blank + typed


def test_the_check_before_sending_falls_back_to_the_main_language_only() -> None:
    survey = imported()
    survey.status = Survey.Status.OPEN
    survey.save(update_fields=["status"])
    response, _raw = services.start_response(survey=survey, language="cy")
    services.save_page(response=response, answers={"age": 12}, page=1)
    with translation.override("cy"):
        errors = services.submit_response(response=response)
        not_accepted = str(logic.RULE_NOT_FOLLOWED)
    assert not_accepted.startswith(WELSH_NOT_ACCEPTED)
    assert errors == {"age": not_accepted, "member": ENGLISH_MEMBER_MISSING}
    response.refresh_from_db()
    assert response.status == response.Status.PARTIAL  # nothing sent


def test_the_checks_on_one_answer_take_the_main_language_only() -> None:
    survey = imported()
    age = survey.questions.get(name="age")
    member = survey.questions.get(name="member")
    # A third language's words are no fallback: Sayso's own message instead.
    assert logic.check_answer(age, None, {}, "cy", "en") == "Answer this question."
    assert logic.check_answer(age, 12, {"age": 12}, "cy", "en") == str(logic.RULE_NOT_FOLLOWED)
    assert logic.check_answer(member, None, {}, "cy", "en") == ENGLISH_MEMBER_MISSING
    assert logic.check_answer(age, None, {}, "pl", "en") == POLISH_AGE_MISSING
    # A message in the main language only is shown in it.
    assert logic.check_answer(member, None, {}, "en", "en") == ENGLISH_MEMBER_MISSING
    # And it says which language it is in.
    shown = logic.message_shown(member, ENGLISH_MEMBER_MISSING, "cy", "en")
    assert shown.lang == "en"
