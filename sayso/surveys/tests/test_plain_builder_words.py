# mypy: disable-error-code="no-untyped-call,arg-type,misc,attr-defined"
"""Plain words for organisers and respondents (review 54: S4, S5, S7, S11, D8).

The builder names its fields without researchers' jargon and says what a missing
title or question means; a logic rule with a mistake is refused in plain words with
a correct example; a ranking says what its numbers mean; and a survey's code page
matches the community's, telling the truth about how long the codes can be shown."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.fields import CODE_EXAMPLE
from sayso.core.models import CODE_ALPHABET, InvitationCode, InvitationCodeBatch
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys.forms import CodeEntryForm, QuestionForm, SurveyForm
from sayso.surveys.models import Choice, Question, Section, Survey

from .factories import make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


def field_errors(html: str, field: str) -> list[str]:
    """The messages shown beside the field `field` (components/field.html)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []


# --------------------------------------------------------------------------- S7


def test_an_empty_title_is_asked_for_in_plain_words() -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    refused = client.post(
        reverse("surveys:create", kwargs={"slug": community.slug}),
        {"title": "  ", "languages_text": "en", "distribution": "link"},
    )
    assert refused.status_code == 200
    html = refused.content.decode()
    assert field_errors(html, "title") == ["Give the survey a title people will recognise."]
    assert "This field is required." not in html
    assert not Survey.objects.exists()


def test_an_empty_question_and_short_name_are_asked_for_in_plain_words() -> None:
    survey = make_survey(CommunityFactory())
    section = survey.sections.first()
    assert section is not None
    before = list(survey.questions.values_list("name", flat=True))
    client = organiser_client(survey)
    refused = client.post(
        survey_url("question-create", survey, section=section.pk),
        {"label": "", "name": "", "type": "number"},
    )
    assert refused.status_code == 200
    html = refused.content.decode()
    assert field_errors(html, "label") == ["Write the question people will answer."]
    assert field_errors(html, "name") == ["Give the question a short name, like shift."]
    assert "This field is required." not in html
    assert list(survey.questions.values_list("name", flat=True)) == before


# --------------------------------------------------------------------------- S4


def test_the_builder_names_its_options_without_jargon() -> None:
    survey = make_survey(CommunityFactory())
    section = survey.sections.first()
    assert section is not None
    client = organiser_client(survey)
    question_page = client.get(survey_url("question-create", survey, section=section.pk))
    html = unescape(question_page.content.decode())
    assert "Likert" not in html
    assert (
        '<option value="rating">Rating scale (for example, from “strongly disagree” to'
        " “strongly agree”)</option>"
    ) in html
    assert "results page can then show every other question" in html  # breakdown help
    assert "${shift} = 'night' asks only people who chose the night shift" in html
    assert ". >= 16 and . <= 80 accepts 16 to 80" in html

    settings_page = unescape(client.get(survey_url("edit", survey)).content.decode())
    assert "Convenience sample" not in settings_page
    assert "convenience sample" not in settings_page
    assert "Anyone could choose to answer" in settings_page
    assert "so the results will be marked as approximate" in settings_page
    assert "en for English, pl for Polish, cy for Welsh" in settings_page
    # The codes are still what is typed.
    form = SurveyForm(
        data={"title": "T", "languages_text": "en pl cy", "distribution": "link"},
        instance=Survey(community=survey.community),
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["languages_text"] == ["en", "pl", "cy"]


def test_the_data_package_export_says_what_it_is() -> None:
    survey = make_survey(CommunityFactory())
    html = organiser_client(survey).get(survey_url("detail", survey)).content.decode()
    assert "Frictionless" not in html
    assert "Prepare data package (CSV files with a description of every column)" in html


@pytest.mark.parametrize(
    ("field", "rule", "message"),
    [
        (
            "constraint",
            ">= 16",
            "Something is missing before '&gt;=' (at character 1). For example: . &gt;= 16",
        ),
        (
            "constraint",
            ". >= 16 . <= 80",
            "'.' does not fit here: is 'and' or 'or' missing before it? (at character 9)."
            " For example: . &gt;= 16 and . &lt;= 80",
        ),
        (
            # "." cannot stand for an answer here: the example takes an earlier question.
            "relevant",
            "${shift} = 'night' and",
            "Something is missing at the end, after 'and'. For example: ${age} &gt;= 16 and"
            " ${age} &lt;= 80",
        ),
        (
            "relevant",
            "${shift} == 'night'",
            "Compare with a single '=', not '==' (at character 10). For example: ${shift} ="
            " 'night'",
        ),
    ],
)
def test_a_broken_rule_is_refused_in_plain_words_with_an_example(
    field: str, rule: str, message: str
) -> None:
    survey = make_survey(CommunityFactory())
    section = survey.sections.last()
    assert section is not None
    before = list(survey.questions.values_list("name", flat=True))
    refused = organiser_client(survey).post(
        survey_url("question-create", survey, section=section.pk),
        {"label": "How old?", "name": "older", "type": "number", field: rule},
    )
    assert refused.status_code == 200
    html = refused.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert field_errors(html, field) == [message]
    assert "Unexpected" not in html
    assert list(survey.questions.values_list("name", flat=True)) == before


def test_the_question_form_offers_every_type_with_the_model_s_values() -> None:
    form = QuestionForm(question=Question(), language="en")
    offered = [value for value, _label in form.fields["type"].choices]
    assert offered == [value for value, _label in Question.Type.choices]


# --------------------------------------------------------------------------- S5


def ranking_survey(languages: list[str] | None = None) -> Survey:
    survey = Survey.objects.create(
        community=CommunityFactory(),
        title="Priorities",
        languages=languages or ["en"],
        status=Survey.Status.OPEN,
    )
    section = Section.objects.create(survey=survey, order=1, title={"en": "Priorities"})
    question = Question.objects.create(
        survey=survey,
        section=section,
        order=1,
        name="priorities",
        type=Question.Type.RANKING,
        label={"en": "What matters most?", "pl": "Co jest najważniejsze?"},
    )
    for i, (name, en, pl) in enumerate(
        [("pay", "Pay", "Płaca"), ("privacy", "Privacy", "Prywatność"), ("breaks", "Breaks", "")],
        1,
    ):
        Choice.objects.create(
            question=question, order=i, name=name, label={"en": en, **({"pl": pl} if pl else {})}
        )
    return survey


def start(survey: Survey, client: Client, language: str = "en") -> str:
    started = client.post(
        reverse("surveys_public:start", kwargs={"link": survey.link_token}), {"language": language}
    )
    assert started.status_code == 302
    return str(started["Location"])


INSTRUCTION = "Number them in order: 1 for the most important to you, 3 for the least important."


def test_a_ranking_says_what_its_numbers_mean_on_the_page_and_the_check_page() -> None:
    survey = ranking_survey()
    client = Client()
    page = start(survey, client)
    html = client.get(page).content.decode()
    # Said in the group, and read out with it.
    assert f'<p class="helptext" id="q_priorities-order">{INSTRUCTION}</p>' in html
    assert re.search(r'<fieldset id="q_priorities"[^>]*aria-describedby="q_priorities-order"', html)
    check = client.post(
        page,
        {"q_priorities__pay": "2", "q_priorities__privacy": "1", "q_priorities__breaks": "3"},
    )["Location"]
    summary = client.get(check).content.decode()
    assert (
        'In order, from the most important (1):<ol class="ranked"><li><bdi>Privacy</bdi></li>'
        "<li><bdi>Pay</bdi></li><li><bdi>Breaks</bdi></li></ol>"
    ) in summary


def test_a_ranking_without_numbers_given_says_nothing_on_the_check_page() -> None:
    survey = ranking_survey()
    client = Client()
    page = start(survey, client)
    check = client.post(page, {"next": "1"})["Location"]
    summary = client.get(check).content.decode()
    assert "Not answered" in summary
    assert "In order, from the most important" not in summary


def test_the_ranking_instruction_is_in_polish_in_a_polish_survey() -> None:
    """Sayso's words are Polish on a Polish page (sayso/locale/pl): the instruction
    too, and the one option left untranslated is marked English."""
    survey = ranking_survey(["en", "pl"])
    client = Client()
    html = client.get(start(survey, client, "pl")).content.decode()
    assert '<html lang="pl">' in html
    polish = "Ponumeruj je po kolei: 1 przy najważniejszej dla ciebie, 3 przy najmniej ważnej."
    assert f'<p class="helptext" id="q_priorities-order">{polish}</p>' in html
    assert "<legend>Co jest najważniejsze?</legend>" in html
    assert '<label for="q_priorities__pay">Płaca</label>' in html
    assert '<label for="q_priorities__breaks" lang="en">Breaks</label>' in html  # not translated


# --------------------------------------------------------------------------- S11, D8


def test_both_code_sheets_say_how_long_they_can_be_reopened() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    made = client.post(survey_url("codes", survey), {"size": "2"}, follow=True)
    community_made = client.post(
        reverse("core:code-batch-new", kwargs={"slug": survey.community.slug}),
        {"label": "Night shift", "size": "2"},
        follow=True,
    )
    promise = (
        "You can reopen this page in this browser for one day, while you stay signed in. After"
        " that the codes cannot be shown again, because Sayso keeps only a scrambled"
        " fingerprint of each code."
    )
    for sheet in (made, community_made):
        html = sheet.content.decode()
        assert "Print these codes now, or save this page as a PDF." in html
        assert promise in html
        assert "not stored anywhere" not in html
        assert "shown only once" not in html
        # And it is true: the same codes are shown again on reopening the page.
        again = client.get(sheet.redirect_chain[-1][0]).content.decode()
        codes = re.findall(r"<code>([A-Z0-9-]+)</code>", html)
        assert len(codes) == 2
        assert re.findall(r"<code>([A-Z0-9-]+)</code>", again) == codes
    assert InvitationCodeBatch.objects.count() == 2
    assert InvitationCode.objects.count() == 4


def test_the_code_example_is_shaped_like_a_real_code() -> None:
    made = InvitationCode.new_code()
    assert [len(part) for part in CODE_EXAMPLE.split("-")] == [len(p) for p in made.split("-")]
    assert set(CODE_EXAMPLE.replace("-", "")) <= set(CODE_ALPHABET)
    assert InvitationCode.normalise(CODE_EXAMPLE.lower()) == CODE_EXAMPLE
    assert CODE_EXAMPLE in str(CodeEntryForm()["code"].help_text)
