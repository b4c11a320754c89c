"""Results of questions shown only to some people (skip logic).

A question shown only to those who gave one answer to an earlier question is answered
by exactly that group (when it is required): its "7 people answered" is that answer's
count. Where the earlier question's table hides that count, showing the follow-up's
figures gave it back, and with it every figure hidden to protect it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sayso.core.models import Community
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import selectors
from sayso.surveys.models import Choice, Question, Section, Survey
from sayso.surveys.tests.factories import answer, close, make_survey, survey_url

pytestmark = pytest.mark.django_db


def _question(
    survey: Survey, name: str, kind: str, relevant: str, choices: tuple[str, ...] = (), **extra: Any
) -> Question:
    section = Section.objects.get(survey=survey, order=2)
    question = Question.objects.create(
        survey=survey,
        section=section,
        order=10 + Question.objects.filter(survey=survey).count(),
        name=name,
        type=kind,
        label={"en": name.title()},
        relevant=relevant,
        **extra,
    )
    for i, c in enumerate(choices, 1):
        Choice.objects.create(question=question, order=i, name=c, label={"en": c.title()})
    return question


def _survey(community: Community, disciplined: dict[str, int], follow_up_when: str) -> Survey:
    """`disciplined` answered yes / no / unsure by the given numbers of people (half of
    each on days, half on nights); "how" (required, one of two answers) asked only when
    `follow_up_when` holds, and "what" (long text) likewise."""
    survey = make_survey(community, status=Survey.Status.OPEN)
    Choice.objects.create(
        question=Question.objects.get(survey=survey, name="disciplined"),
        order=3,
        name="unsure",
        label={"en": "Unsure"},
    )
    _question(
        survey, "how", Question.Type.SINGLE, follow_up_when, ("written", "verbal"), required=True
    )
    _question(survey, "what", Question.Type.LONG_TEXT, follow_up_when)
    n = 0
    for value, count in disciplined.items():
        for _ in range(count):
            n += 1
            values: dict[str, Any] = {"shift": "day" if n % 2 else "night", "disciplined": value}
            survey_ = Survey.objects.get(pk=survey.pk)
            if selectors_relevant(survey_, "how", values):
                values["how"] = "written"
                values["what"] = f"what happened {n}"
            answer(survey, **values)
    close(survey)  # members read the figures once the survey is closed
    return survey


def selectors_relevant(survey: Survey, name: str, values: dict[str, Any]) -> bool:
    from sayso.surveys import logic

    return logic.is_relevant(Question.objects.get(survey=survey, name=name), values)


def _results(survey: Survey, *, organiser: bool = False) -> dict[str, selectors.QuestionResult]:
    client = Client()
    if organiser:
        client.force_login(OrganiserFactory.create(community=survey.community).user)
    else:
        client.force_login(MembershipFactory.create(community=survey.community).user)
    page = client.get(survey_url("results", survey))
    assert page.status_code == 200
    return {r.question.name: r for r in page.context["results"].questions}


def test_a_follow_up_to_a_hidden_answer_is_hidden_too() -> None:
    # unsure 2 is too few; yes 7 is hidden with it so that the 2 cannot be worked out.
    survey = _survey(
        CommunityFactory.create(), {"no": 23, "yes": 7, "unsure": 2}, "${disciplined} = 'yes'"
    )
    found = _results(survey)
    shown = {row.name: row.count for row in found["disciplined"].rows}
    assert shown == {"yes": None, "no": 23, "unsure": None}
    how = found["how"]
    # Before: "7 people answered", and 32 - 23 - 7 gave the 2 unsure.
    assert how.refusal
    assert "only" in how.refusal
    assert not how.rows
    assert found["what"].refusal
    assert not found["what"].texts


def test_a_follow_up_to_answers_shown_everywhere_is_shown() -> None:
    # 12 "yes" on each shift: nothing of "disciplined" is hidden in any view.
    survey = _survey(CommunityFactory.create(), {"no": 24, "yes": 12}, "${disciplined} = 'yes'")
    found = _results(survey)
    assert not any(row.hidden for row in found["disciplined"].rows)
    assert not found["how"].refusal
    assert found["how"].respondents == 12


def test_a_follow_up_is_judged_by_the_answers_it_follows() -> None:
    # "yes" (10) and "unsure" (2) are hidden; "no" (24) is shown in every view.
    counts = {"no": 24, "yes": 10, "unsure": 2}
    community = CommunityFactory.create()
    after_no = _results(_survey(community, counts, "${disciplined} = 'no'"))
    assert [r.hidden for r in after_no["disciplined"].rows] == [True, False, True]
    # Asked after a shown answer: its 24 people are a figure already shown.
    assert not after_no["how"].refusal
    assert after_no["how"].respondents == 24
    # Asked after every hidden answer together: 12 = 36 - 24, known anyway.
    after_both = _results(_survey(community, counts, "${disciplined} != 'no'"))
    assert not after_both["how"].refusal
    assert after_both["how"].respondents == 12
    # Asked after one hidden answer of two: its 10 would give the 2 "unsure".
    after_yes = _results(_survey(community, counts, "${disciplined} = 'yes'"))
    assert after_yes["how"].refusal == (
        "This question was asked only of people who gave certain answers to “Disciplined”. "
        "Some of that question's figures are hidden to protect people, and this question's "
        "figures could give them away, so they are hidden too."
    )
    assert after_yes["how"].respondents == 0


def test_an_organiser_still_reads_a_withheld_follow_ups_text_answers() -> None:
    survey = _survey(
        CommunityFactory.create(), {"no": 23, "yes": 7, "unsure": 2}, "${disciplined} = 'yes'"
    )
    member = _results(survey)["what"]
    assert member.refusal
    assert not member.texts
    organiser = _results(survey, organiser=True)["what"]
    assert not organiser.refusal
    assert len(organiser.texts) == 7
    assert "Some of that question's figures are hidden" in organiser.follow_up_note
    client = signed_in(OrganiserFactory.create(community=survey.community).user)
    page = client.get(survey_url("results", survey)).content.decode()
    assert "Only organisers see these answers" in page
    assert "what happened" in page


def test_a_follow_up_of_a_withheld_follow_up_is_withheld() -> None:
    survey = _survey(
        CommunityFactory.create(), {"no": 23, "yes": 7, "unsure": 2}, "${disciplined} = 'yes'"
    )
    _question(survey, "appealed", Question.Type.SINGLE, "${how} = 'written'", ("yes", "no"))
    found = _results(survey)
    assert found["how"].refusal
    assert "“How”" in found["appealed"].refusal


def test_without_a_breakdown_question_the_unfiltered_table_decides() -> None:
    community = CommunityFactory.create()
    survey = _survey(community, {"no": 23, "yes": 7, "unsure": 2}, "${disciplined} = 'yes'")
    Question.objects.filter(survey=survey, name="shift").update(is_breakdown=False)
    found = _results(Survey.objects.get(pk=survey.pk))
    assert found["how"].refusal
    assert found["how"].respondents == 0
    # One question's results alone (a chart, a citation) are judged the same way.
    how = Question.objects.get(survey=survey, name="how")
    alone = selectors.results(Survey.objects.get(pk=survey.pk), question=how)
    assert alone.questions[0].refusal
    shown = _survey(community, {"no": 23, "yes": 9}, "${disciplined} = 'yes'")
    Question.objects.filter(survey=shown, name="shift").update(is_breakdown=False)
    how = Question.objects.get(survey=shown, name="how")
    assert (
        selectors.results(Survey.objects.get(pk=shown.pk), question=how).questions[0].respondents
        == 9
    )


def test_a_text_question_for_everyone_answered_by_few_is_held_back_from_members() -> None:
    survey = _survey(CommunityFactory.create(), {"no": 12, "yes": 12}, "${disciplined} = 'yes'")
    Question.objects.filter(survey=survey, name="what").update(relevant="")
    found = _results(Survey.objects.get(pk=survey.pk))
    assert found["what"].text_answered == 12
    for answer_ in found["what"].question.answers.all()[:9]:
        answer_.delete()  # 3 written answers left
    client = signed_in(MembershipFactory.create(community=survey.community).user)
    page = client.get(survey_url("results", survey)).content.decode()
    assert (
        "Fewer than 5 people answered this question, so no answers are shown: "
        "with so few, someone's answers could be picked out."
    ) in page


def test_a_withheld_follow_up_cannot_filter_or_break_down_the_results() -> None:
    # Its groups' sizes would give the hidden count back: 7 chose "written", and the
    # 25 who did not answer it are the 23 "no" and the 2 "unsure".
    survey = _survey(
        CommunityFactory.create(), {"no": 23, "yes": 7, "unsure": 2}, "${disciplined} = 'yes'"
    )
    Question.objects.filter(survey=survey, name="how").update(is_breakdown=True)
    client = signed_in(MembershipFactory.create(community=survey.community).user)
    url = survey_url("results", survey)
    filtered = client.get(url, {"only": "how:written"})
    assert filtered.status_code == 200
    assert "asked only of people who gave certain answers" in filtered.context["results"].refusal
    assert filtered.context["results"].respondents != 7
    broken_down = client.get(url, {"by": "how"})
    results = broken_down.context["results"]
    assert "asked only of people who gave certain answers" in results.breakdown_refusal
    assert all(r.crosstab is None or not r.crosstab.cells for r in results.questions)
