# mypy: disable-error-code="no-untyped-call,arg-type,misc,union-attr"
"""Fixes from a new user's review of surveys: a member who has answered is told so; a
survey closed while someone is part-way through says so on their next page; translated
texts have the same length limits as the originals."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import logic, services
from sayso.surveys.models import Choice, Question, Response, Section, Survey

from .factories import answer as answer_of
from .factories import make_survey, organiser_client
from .factories import survey_url as url

pytestmark = pytest.mark.django_db


def test_a_member_who_has_answered_is_told_so_instead_of_offered_the_button() -> None:
    community = CommunityFactory()
    survey = make_survey(
        community,
        status=Survey.Status.OPEN,
        distribution=Survey.Distribution.MEMBERS,
        one_response_per_member=True,
    )
    member = MembershipFactory(community=community).user
    client = signed_in(member)
    take = f'action="{url("take", survey)}"'
    before = client.get(url("detail", survey)).content.decode()
    assert take in before
    assert "You have already answered this survey" not in before
    response, _raw = services.start_response(survey=survey, language="en", user=member)
    services.save_page(response=response, answers={"shift": "day", "disciplined": "no"}, page=1)
    assert services.submit_response(response=response, user=member) == {}
    after = client.get(url("detail", survey)).content.decode()
    assert take not in after
    assert "You have already answered this survey. Thank you." in after
    # Another member still has the button.
    other = signed_in(MembershipFactory(community=community).user)
    assert take in other.get(url("detail", survey)).content.decode()
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 1


def test_a_survey_closed_part_way_says_so_on_the_next_page_and_keeps_nothing_new() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    response, raw = services.start_response(survey=survey, language="en")
    page = reverse("surveys_public:page", kwargs={"token": raw, "page": 0})
    client = Client()
    assert client.post(page, {"q_shift": "night"}).status_code == 302
    response.refresh_from_db()
    saved = dict(response.draft)
    assert saved == {"shift": "night"}
    services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=None)
    second = reverse("surveys_public:page", kwargs={"token": raw, "page": 1})
    for shown in (
        client.get(second),
        client.post(second, {"q_disciplined": "yes"}),
        client.post(second, {"q_disciplined": "yes", "later": "1"}),
        client.get(reverse("surveys_public:check", kwargs={"token": raw})),
        client.get(reverse("surveys_public:saved", kwargs={"token": raw})),
    ):
        assert shown.status_code == 410
        html = shown.content.decode()
        assert "This survey has closed" in html
        assert "answers can no longer be saved or sent" in html
        assert 'name="q_disciplined"' not in html
    response.refresh_from_db()
    assert response.draft == saved
    assert response.status == Response.Status.PARTIAL


def test_a_preview_of_a_draft_survey_is_not_said_to_be_closed() -> None:
    survey = make_survey(CommunityFactory())
    _response, raw = services.start_response(survey=survey, language="en", preview=True)
    shown = Client().get(reverse("surveys_public:page", kwargs={"token": raw, "page": 0}))
    assert shown.status_code == 200
    assert 'name="q_shift"' in shown.content.decode()


def test_translations_have_the_originals_length_limits_with_the_error_at_the_box() -> None:
    survey = make_survey(CommunityFactory())
    survey.languages = ["en", "pl"]
    survey.save(update_fields=["languages"])
    question = survey.questions.get(name="shift")
    age = survey.questions.get(name="age")  # has a message when its answer is refused
    section = survey.sections.first()
    assert section is not None
    client = organiser_client(survey)
    page = url("translations", survey, language="pl")
    too_long = {
        "survey.title": "T" * 5000,
        f"section.{section.pk}": "S" * 201,
        f"question.{question.pk}.label": "Q" * 501,
        f"question.{age.pk}.constraint_message": "H" * 301,
    }
    refused = client.post(page, {**too_long, f"choice.{question.choices.first().pk}": "Dzień"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "Use at most 200 characters, as for the original (this has 5000)." in html
    assert "Use at most 200 characters, as for the original (this has 201)." in html
    assert "Use at most 500 characters, as for the original (this has 501)." in html
    assert "Use at most 300 characters, as for the original (this has 301)." in html
    assert "Nothing was saved." in html
    # Next to its box: the title's box is described by its limit and its own error,
    # and keeps the text.
    assert 'aria-invalid="true" aria-describedby="t1_original t1_limit t1_error"' in html
    assert '<ul class="errorlist" id="t1_error">' in html
    assert 'value="' + "T" * 5000 + '"' in html
    survey.refresh_from_db()
    assert survey.texts == {}
    question.refresh_from_db()
    age.refresh_from_db()
    assert "pl" not in question.label
    assert "pl" not in age.constraint_message
    assert not question.choices.filter(label__has_key="pl").exists()
    # At the limit, it saves.
    at_limit = {
        key: text[: {"T": 200, "S": 200, "Q": 500, "H": 300}[text[0]]]
        for key, text in too_long.items()
    }
    assert client.post(page, at_limit).status_code == 302
    survey.refresh_from_db()
    assert survey.texts["pl"]["title"] == "T" * 200


def _ranking() -> Question:
    survey = make_survey(CommunityFactory())
    question = Question.objects.create(
        survey=survey,
        section=survey.sections.first(),
        order=9,
        name="priorities",
        type=Question.Type.RANKING,
        label={"en": "Priorities"},
    )
    for order, name in enumerate(("pay", "privacy", "safety"), 1):
        Choice.objects.create(question=question, order=order, name=name, label={"en": name})
    return question


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"pay": "1", "privacy": "2"}, "1 option has no number. Give each option a number"),
        ({"safety": "2"}, "2 options have no number. Give each option a number from 1 to 3."),
        ({"pay": "1", "privacy": "1"}, "Give each option a different number from 1 to 3."),
        ({"pay": "1", "privacy": "4"}, "Give each option a different number from 1 to 3."),
        ({"pay": "0", "privacy": "1"}, "Give each option a different number from 1 to 3."),
    ],
)
def test_a_partial_ranking_says_a_number_is_missing(posted: dict[str, str], message: str) -> None:
    question = _ranking()
    data = QueryDict(mutable=True)
    for name, rank in posted.items():
        data[f"q_priorities__{name}"] = rank
    value, error = logic.read_answer(question, data)
    assert value is None
    assert error is not None
    assert error.startswith(message)


def test_delete_confirmation_says_when_answers_stop_it_and_offers_no_button() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer_of(survey, shift="day", disciplined="no")
    client = organiser_client(survey)
    shift = survey.questions.get(name="shift")
    section = survey.sections.last()
    assert section is not None
    for delete in (
        url("question-delete", survey, question=shift.pk),
        url("section-delete", survey, section=section.pk),
    ):
        asked = client.get(delete).content.decode()
        assert "This cannot be deleted now" in asked
        assert "<button" not in asked.split("<main", 1)[1]
        assert "Back to the survey" in asked
    question_text = client.get(url("question-delete", survey, question=shift.pk)).content
    assert b"1 person has answered" in question_text
    section_text = client.get(url("section-delete", survey, section=section.pk)).content
    assert b"People have started answering this survey" in section_text
    assert survey.questions.count() == 5
    assert survey.sections.count() == 2


def test_delete_confirmation_still_offers_the_button_when_it_can_delete() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    story = survey.questions.get(name="story")
    asked = client.get(url("question-delete", survey, question=story.pk)).content.decode()
    assert "This cannot be deleted now" not in asked
    assert ">Delete the question</button>" in asked


def test_a_single_untitled_page_is_headed_by_the_survey_title_alone() -> None:
    survey = Survey.objects.create(
        community=CommunityFactory(),
        title="Canteen survey",
        languages=["en"],
        status=Survey.Status.OPEN,
    )
    section = Section.objects.create(survey=survey, order=1, title={})
    Question.objects.create(
        survey=survey,
        section=section,
        order=1,
        name="food",
        type=Question.Type.SHORT_TEXT,
        label={"en": "Food"},
    )
    _response, raw = services.start_response(survey=survey, language="en")
    html = Client().get(reverse("surveys_public:page", kwargs={"token": raw, "page": 0}))
    text = html.content.decode()
    assert "<h1>Canteen survey</h1>" in text
    assert "Page 1" not in text
    assert "<progress" not in text
    # Two pages: the progress says where the person is.
    two = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    _response, raw = services.start_response(survey=two, language="en")
    page = Client().get(reverse("surveys_public:page", kwargs={"token": raw, "page": 0}))
    assert "Page 1 of 2" in page.content.decode()


def test_an_organiser_can_stop_weighting_and_nobody_else_can() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    services.set_weighting_targets(
        survey=survey, question=shift, population={"day": 300, "night": 100}
    )
    page = url("weighting", survey)
    member = signed_in(MembershipFactory(community=survey.community).user)
    assert member.post(page, {"stop": "1"}).status_code == 403
    survey.refresh_from_db()
    assert survey.weighting_targets == {"shift": {"day": 300, "night": 100}}
    client = organiser_client(survey)
    shown = client.get(page).content.decode()
    assert 'name="stop"' in shown
    assert "Stop weighting" in shown
    stopped = client.post(page, {"stop": "1"})
    assert stopped.status_code == 302
    assert stopped["Location"] == url("results", survey)
    survey.refresh_from_db()
    assert survey.weighting_targets == {}
    assert 'name="stop"' not in client.get(page).content.decode()  # nothing left to stop
