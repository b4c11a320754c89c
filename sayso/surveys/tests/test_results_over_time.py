# mypy: disable-error-code="no-untyped-call,arg-type"
"""Figures that move with each response give away the next person's answer.

The reviewer's numbers: a member read "Average 39.9, from 7 answers", one more person
answered, and "44.5, from 8" gave that person's age (44.5 x 8 - 39.9 x 7 = 77). So
while a survey is open only its organisers read the figures; members see how many
people have answered, and the figures once it closes. Citations of an open survey's
result must be far enough apart for the same reason.

Also here: a filter that is not offered is said to be ignored, the results page and
the weighting page name questions and answers as people read them, and the preview
offers no "Save and continue later".
"""

from __future__ import annotations

import pytest
from django.test import Client

from sayso.core.models import Citation
from sayso.core.services import ServiceError
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import services
from sayso.surveys.models import Choice, Question, Survey

from .factories import answer, close, make_survey, survey_url

pytestmark = pytest.mark.django_db

NOTE = (
    "Results will be shown here when the survey closes. Showing them while people are "
    "still answering would let anyone who knows who has just answered work out their "
    "answers by comparing the figures before and after."
)


def seven_answered() -> Survey:
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for age in (30, 31, 35, 40, 44, 49, 50):
        answer(survey, shift="day", disciplined="no", age=age)
    return survey


def member(survey: Survey) -> Client:
    return signed_in(MembershipFactory(community=survey.community).user)


def organiser(survey: Survey) -> Client:
    return signed_in(OrganiserFactory(community=survey.community).user)


def test_members_see_only_how_many_answered_while_the_survey_is_open() -> None:
    survey = seven_answered()
    reader = member(survey)
    url = survey_url("results", survey)
    for query in ({}, {"audience": "published"}, {"only": "shift:day"}, {"by": "shift"}):
        page = reader.get(url, query)
        assert page.status_code == 200
        html = page.content.decode()
        assert "7 people have answered so far." in html
        assert NOTE in html
        assert "results" not in page.context  # nothing was counted for the page
        for figure in ("Average", "chart.svg", "Break down by", "Cite as evidence", "39."):
            assert figure not in html
    # One more answer moves the count, and nothing else.
    answer(survey, shift="day", disciplined="no", age=77)
    html = reader.get(url).content.decode()
    assert "8 people have answered so far." in html
    assert "Average" not in html
    # Closed, the figures are shown as before.
    close(survey)
    page = reader.get(url)
    html = page.content.decode()
    assert NOTE not in html
    assert "Average 44.5, from 8 answers." in html
    assert page.context["results"].respondents == 8
    assert "Only organisers see these figures for now" not in html


def test_the_chart_of_an_open_survey_shows_members_the_note_not_the_figures() -> None:
    survey = seven_answered()
    chart = survey_url("chart", survey, question=survey.questions.get(name="shift").pk)
    reader = member(survey)
    for query in ({}, {"audience": "published"}):
        note = reader.get(chart, query)
        assert note.status_code == 200
        assert note["Content-Type"] == "image/svg+xml"
        assert b"Results will be shown here when the survey closes." in note.content
        assert b"All figures hidden" not in note.content
    # Organisers still read it while the survey is open: the chart of the figures, all
    # hidden here (everyone works days), so it says so (charts.bar_chart_svg).
    drawn = organiser(survey).get(chart)
    assert b"All figures hidden: the groups are too small." in drawn.content
    assert b"Results will be shown here" not in drawn.content
    close(survey)
    shown = reader.get(chart)
    assert shown.status_code == 200
    assert b"All figures hidden: the groups are too small." in shown.content
    assert b"Results will be shown here" not in shown.content


def test_organisers_read_an_open_surveys_figures_with_a_notice() -> None:
    survey = seven_answered()
    reader = organiser(survey)
    html = reader.get(survey_url("results", survey), {"audience": "members"}).content.decode()
    assert "Only organisers see these figures for now" in html
    assert "Members will see these figures when the survey closes." in html
    assert "Average 39.9, from 7 answers." in html
    assert NOTE not in html
    close(survey)
    html = reader.get(survey_url("results", survey)).content.decode()
    assert "Only organisers see these figures for now" not in html
    assert "Average 39.9, from 7 answers." in html


# --------------------------------------------------------------------------- citations


def twenty_answered() -> tuple[Survey, Client, str]:
    community = CommunityFactory(small_group_threshold=2)  # published threshold: 10
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day", "night"] * 10:
        answer(survey, shift=worked, disciplined="no")
    cite = survey_url("cite", survey, question=survey.questions.get(name="shift").pk)
    return survey, organiser(survey), cite


def snapshots() -> list[tuple[int, list[int]]]:
    return [
        (c.snapshot["n"], [f["count"] for f in c.snapshot["figures"]])
        for c in Citation.objects.order_by("pk")
    ]


def test_an_open_surveys_result_is_cited_again_only_a_threshold_of_answers_later() -> None:
    survey, client, cite = twenty_answered()
    client.post(cite)
    assert snapshots() == [(20, [10, 10])]
    # One more answer: the two citations would give that person's shift.
    answer(survey, shift="night", disciplined="no")
    refused = client.post(cite, follow=True)
    assert snapshots() == [(20, [10, 10])]
    html = refused.content.decode()
    assert "This result can&#x27;t be cited again yet." in html
    assert "It was cited when 20 people had answered it, and 21 have now." in html
    assert "at least 10 more people have answered it" in html
    # Nine more answers, ten since the citation: far enough apart.
    for worked in ["day"] * 9:
        answer(survey, shift=worked, disciplined="no")
    client.post(cite)
    assert snapshots() == [(20, [10, 10]), (30, [19, 11])]


def test_closing_the_survey_does_not_free_a_citation_one_answer_from_another() -> None:
    survey, client, cite = twenty_answered()
    client.post(cite)
    answer(survey, shift="night", disciplined="no")
    close(survey)
    # "10 day, 10 night" then "10 day, 11 night" would give the last person's shift.
    refused = client.post(cite, follow=True)
    assert "It was cited when 20 people had answered it, and 21 have now." in (
        refused.content.decode()
    )
    assert snapshots() == [(20, [10, 10])]


def test_a_closed_surveys_result_with_no_earlier_citation_is_cited() -> None:
    survey, client, cite = twenty_answered()
    answer(survey, shift="night", disciplined="no")
    close(survey)
    cited = client.post(cite, follow=True)
    assert "Result cited as evidence." in cited.content.decode()
    assert snapshots() == [(21, [10, 11])]


def test_the_step_rule_is_kept_by_the_service_too() -> None:
    survey, client, cite = twenty_answered()
    client.post(cite)
    shift = survey.questions.get(name="shift")
    before = snapshots()
    with pytest.raises(ServiceError):
        services.cite_result(
            survey=survey,
            question=shift,
            snapshot={"title": "x", "n": 29, "figures": [], "threshold": 10},
            actor=None,
        )
    assert snapshots() == before


# --------------------------------------------------------------------------- narrowing and labels


def test_a_filter_that_is_not_offered_is_said_to_be_ignored() -> None:
    survey = seven_answered()
    close(survey)
    client = member(survey)
    url = survey_url("results", survey)
    everyone = client.get(url).context["results"]
    for query in (
        {"only": "worries:scanner"},
        {"only": "age:34"},
        {"only": "shift:weekend"},  # not one of its answers
        {"by": "age"},
    ):
        page = client.get(url, query)
        html = page.content.decode()
        assert "Showing the results for everyone" in html, query
        # A member here is offered no lists, so none are named (review 11).
        assert not page.context["breakdowns"]
        assert "These results cannot be narrowed or broken down for you" in html
        found = page.context["results"]
        assert found.filter_label == ""
        assert found.breakdown is None
        assert found.respondents == everyone.respondents == 7
    # One of the question's answers is a filter asked for, not ignored; it is refused
    # here (everyone works days), so it is not named as applied either.
    offered = client.get(url, {"only": "shift:day"})
    assert "Showing the results for everyone" not in offered.content.decode()
    assert "These results cannot be shown" in offered.content.decode()
    assert offered.context["results"].filter_refused is True
    assert offered.context["results"].filter_label == ""


def test_results_and_weighting_name_questions_and_answers_as_people_read_them() -> None:
    survey = make_survey(CommunityFactory(small_group_threshold=2), status=Survey.Status.OPEN)
    for worked in ("day", "night"):
        for disciplined in ("yes", "yes", "no", "no"):
            answer(survey, shift=worked, disciplined=disciplined)
    Question.objects.filter(survey=survey, name="shift").update(
        label={"en": "Which shift do you work?"}
    )
    Choice.objects.filter(question__survey=survey, name="day").update(label={"en": "Day shift"})
    client = organiser(survey)
    html = client.get(survey_url("results", survey), {"by": "shift"}).content.decode()
    assert '<option value="shift" selected>Which shift do you work?</option>' in html
    assert '<option value="shift:day">Which shift do you work?: Day shift</option>' in html
    assert ">shift: day<" not in html
    assert "Split by: Which shift do you work?" in html  # not "By Which shift…" (review 11)
    weighting = client.get(survey_url("weighting", survey)).content.decode()
    assert '<option value="shift" selected>Which shift do you work?</option>' in weighting


def test_the_preview_offers_no_save_and_continue_later() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client = organiser(survey)
    preview = client.post(survey_url("preview", survey))
    assert "Save and continue later" not in client.get(preview["Location"]).content.decode()
    respondent = Client()
    start = respondent.post(survey.public_url())
    page = respondent.get(start["Location"])
    assert page.status_code == 200
    assert "Save and continue later" in page.content.decode()
