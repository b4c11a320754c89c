# mypy: disable-error-code="no-untyped-call,arg-type"
"""The results page offers only the breakdowns and filters it would show the reader
(selectors._offers), says which are not offered without giving a group's size, shows
the filter's own question as one line, and says plainly what a filter does to the
written answers."""

from __future__ import annotations

import html as markup
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sayso.core.models import Community
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import seeds
from sayso.surveys.models import Answer, Choice, Question, Survey

from .factories import answer, close, make_survey, survey_url

pytestmark = pytest.mark.django_db


def _client(community: Community, *, organiser: bool = False) -> Client:
    factory = OrganiserFactory if organiser else MembershipFactory
    return signed_in(factory(community=community).user)


def _page(client: Client, survey: Survey, **query: str) -> str:
    response = client.get(survey_url("results", survey), query)
    assert response.status_code == 200
    return response.content.decode()


def _options(html: str, name: str) -> list[str]:
    """The values offered by the page's <select name=`name`>, the empty one left out."""
    found = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    if found is None:
        return []
    return [v for v in re.findall(r'<option value="([^"]*)"', found.group(1)) if v]


def _notes(html: str) -> list[str]:
    found = re.search(r'<div id="not-offered">(.*?)</div>', html, re.S)
    if found is None:
        return []
    return [markup.unescape(n) for n in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def _section(html: str, survey: Survey, name: str) -> str:
    pk = survey.questions.get(name=name).pk
    return html.split(f'aria-labelledby="q-{pk}">', 1)[1].split("</section>", 1)[0]


def _shift_survey(community: Community, shifts: dict[str, int], **extra: Any) -> Survey:
    """make_survey's survey, closed, with `shifts` people in each shift (a shift not
    among its choices is added as one), every one answering "disciplined"."""
    survey = make_survey(community, status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    for order, name in enumerate(shifts, 1):
        if not shift.choices.filter(name=name).exists():
            Choice.objects.create(
                question=shift, order=order, name=name, label={"en": name.title()}
            )
    for name, n in shifts.items():
        for i in range(n):
            answer(survey, shift=name, disciplined="yes" if i % 2 else "no", **extra)
    return close(survey)


# --------------------------------------------------------------------------- A: what is offered


def test_everything_is_offered_when_every_group_is_big_enough() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = _shift_survey(community, {"day": 10, "night": 8})
    html = _page(_client(community), survey)
    assert _options(html, "by") == ["shift"]
    assert _options(html, "only") == ["shift:day", "shift:night"]
    assert _notes(html) == []
    assert 'id="not-offered"' not in html


def test_an_answer_nobody_gave_and_a_question_with_a_small_group_are_not_offered() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    Choice.objects.create(question=shift, order=3, name="weekend", label={"en": "Weekend"})
    area = Question.objects.create(
        survey=survey,
        section=survey.sections.get(order=1),
        order=3,
        name="area",
        type=Question.Type.SINGLE,
        label={"en": "Where do you work most?"},
        is_breakdown=True,
    )
    for i, (name, words) in enumerate(
        [("picking", "Picking"), ("packing", "Packing"), ("goods_in", "Goods in")], 1
    ):
        Choice.objects.create(question=area, order=i, name=name, label={"en": words})
    # Goods in has 2 people; nobody works weekends.
    people = [("day", "picking")] * 10 + [("night", "packing")] * 6 + [("night", "goods_in")] * 2
    for shift_name, where in people:
        answer(survey, shift=shift_name, area=where, disciplined="no")
    close(survey)

    html = _page(_client(community), survey)
    # Shift by itself passes (Weekend is empty), so it is a breakdown and its answers
    # with people are filters; "Where do you work most?" is neither.
    assert _options(html, "by") == ["shift"]
    assert _options(html, "only") == ["shift:day", "shift:night"]
    notes = _notes(html)
    assert notes == [
        "“Shift: Weekend” is not offered: fewer than 5 people chose it.",
        "“Where do you work most?” is not offered: fewer than 5 people, or everyone, gave"
        " one of its answers (or did not answer it), so results split by it could give"
        " people's answers away.",
    ]
    # No note gives a group's size, or says which of a question's groups is small.
    assert [re.findall(r"\d+", note) for note in notes] == [["5"], ["5"]]
    assert "Goods in" not in " ".join(notes)
    # What is not offered, typed into the address, is refused as before.
    refused = _page(_client(community), survey, only="area:picking")
    assert "These results cannot be shown" in refused
    assert "Fewer than 5 people, or everyone, gave one of the answers to" in refused
    assert "Goods in" not in refused.split("These results cannot be shown")[1][:600]
    broken = _page(_client(community), survey, by="area")
    assert "This breakdown cannot be shown" in broken


def test_organisers_get_the_same_rule_with_the_threshold_of_the_view_they_chose() -> None:
    # Night has 8: enough for members (5), not for published results (10).
    community = CommunityFactory(small_group_threshold=5)
    survey = _shift_survey(community, {"day": 12, "night": 8})
    organiser = _client(community, organiser=True)
    members = _page(organiser, survey)
    assert _options(members, "by") == ["shift"]
    assert _notes(members) == []
    published = _page(organiser, survey, audience="published")
    assert _options(published, "by") == []
    assert _options(published, "only") == []
    assert _notes(published) == [
        "“Shift” is not offered: fewer than 10 people, or everyone, gave one of its answers"
        " (or did not answer it), so results split by it could give people's answers away."
    ]


def test_the_demo_spring_check_in_offers_no_breakdown_and_says_why() -> None:
    community: Community = CommunityFactory.create(small_group_threshold=5)
    seeds.seed_demo(community, "warehouse")
    survey = Survey.objects.get(community=community, title=seeds.CLOSED_TITLE)
    html = _page(_client(community), survey)
    assert _options(html, "by") == []
    assert _options(html, "only") == []
    [note] = _notes(html)
    assert note.startswith("“Where do you work most?” is not offered: fewer than 5 people")
    assert "4" not in note


def test_working_out_the_offers_costs_no_query_per_question_or_answer() -> None:
    community = CommunityFactory(small_group_threshold=5)
    one = _shift_survey(community, {"day": 10, "night": 8})
    two = _shift_survey(community, {"day": 10, "night": 8, "weekend": 6})
    Question.objects.filter(survey=two, name="disciplined").update(is_breakdown=True)
    client = _client(community)
    counted = []
    for survey in (one, two):
        _page(client, survey)  # the session and the like, once
        with CaptureQueriesContext(connection) as queries:
            html = _page(client, survey)
        counted.append(len(queries))
    assert _options(html, "only") == [
        "shift:day",
        "shift:night",
        "shift:weekend",
        "disciplined:yes",
        "disciplined:no",
    ]
    assert counted[0] == counted[1]


# --------------------------------------------------------------------------- B: the filter


def test_the_filter_question_is_one_line_and_the_rest_are_filtered() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = _shift_survey(community, {"day": 10, "night": 10})
    html = _page(_client(community), survey, only="shift:night")
    shift = _section(html, survey, "shift")
    assert "<p>Everyone here answered “Night”: this is the filter.</p>" in shift
    assert "<table" not in shift
    assert "hidden" not in shift
    disciplined = _section(html, survey, "disciplined")
    assert "<table" in disciplined
    assert "10 people answered" in disciplined
    # Unfiltered, the shift question's table is there as ever.
    assert "<table" in _section(_page(_client(community), survey), survey, "shift")


def test_the_filter_question_broken_down_shows_no_crosstab() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = _shift_survey(community, {"day": 10, "night": 10})
    Question.objects.filter(survey=survey, name="disciplined").update(is_breakdown=True)
    html = _page(_client(community), survey, only="shift:night", by="disciplined")
    shift = _section(html, survey, "shift")
    assert "<p>Everyone here answered “Night”: this is the filter.</p>" in shift
    assert "<table" not in shift
    assert "By Disciplined" not in shift


def _story_survey(night_stories: int) -> Survey:
    """12 day and 12 night workers, 7 of each disciplined (and so asked the story): 6
    day workers and `night_stories` night workers wrote one, approved."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for shift, wrote in (("day", 6), ("night", night_stories)):
        for i in range(12):
            extra = {"story": f"{shift} story {i}"} if i < wrote else {}
            answer(survey, shift=shift, disciplined="yes" if i < 7 else "no", **extra)
    Answer.objects.filter(survey=survey, question__name="story").update(approved=True)
    return close(survey)


FILTERED_OUT = (
    "Written answers are not listed when the results are narrowed to a group: the lists "
    "for two groups could be compared to find who wrote an answer."
)


def test_written_answers_are_not_listed_under_a_filter_and_the_page_says_where_they_are() -> None:
    # Two filtered lists share the answers of the people in both groups (review 12), so
    # no filter lists written answers, however big its group: not for organisers either.
    survey = _story_survey(night_stories=6)
    for client in (_client(survey.community), _client(survey.community, organiser=True)):
        html = _page(client, survey, only="shift:night")
        story = _section(html, survey, "story")
        assert "story" not in re.sub(r"<h2.*?</h2>", "", story)
        assert FILTERED_OUT in markup.unescape(story)
        pk = survey.questions.get(name="story").pk
        assert f'href="{survey_url("results", survey)}#q-{pk}"' in story
        # The other questions are filtered: 12 night workers.
        assert "12 people answered" in _section(html, survey, "disciplined")


def test_written_answers_a_filter_cannot_show_say_so_plainly() -> None:
    survey = _story_survey(night_stories=2)
    html = _page(_client(survey.community), survey, only="shift:day")
    story = _section(html, survey, "story")
    assert "story" not in re.sub(r"<h2.*?</h2>", "", story)
    assert FILTERED_OUT in markup.unescape(story)
    assert "cannot be filtered or broken down" not in story
    # The other questions are filtered: 12 day workers.
    assert "12 people answered" in _section(html, survey, "disciplined")
    # Without the filter the eight answers are listed.
    everyone = _section(_page(_client(survey.community), survey), survey, "story")
    assert len(re.findall(r"<li><bdi>\w+ story \d+", everyone)) == 8
    assert FILTERED_OUT not in markup.unescape(everyone)
