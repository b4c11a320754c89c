# mypy: disable-error-code="no-untyped-call,arg-type"
from __future__ import annotations

from typing import Any

import pytest

from sayso.core.models import AuditEvent, Citation
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory
from sayso.surveys import selectors, services
from sayso.surveys.models import Answer, Question, Response, Survey

from .factories import make_survey, start_with_code_at_once

pytestmark = pytest.mark.django_db


def answer(survey: Survey, **values: Any) -> Response:
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=values, page=1)
    assert services.submit_response(response=response) == {}
    response.refresh_from_db()
    return response


def test_anonymous_response_stores_no_user_ip_or_time() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    response = answer(
        survey, shift="night", disciplined="yes", worries=["rates", "cameras"], story="Warned"
    )
    field_names = {f.name for f in Response._meta.get_fields()}
    assert not field_names & {"user", "ip", "ip_address", "created_at", "submitted_at"}
    assert response.submitted_on is not None
    assert response.resume_digest is None
    rows = sorted(
        Answer.objects.filter(response=response).values_list(
            "question__name", "choice__name", "text"
        )
    )
    assert rows == [
        ("disciplined", "yes", ""),
        ("shift", "night", ""),
        ("story", None, "Warned"),
        ("worries", "cameras", ""),
        ("worries", "rates", ""),
    ]


def test_submit_refuses_missing_required_and_keeps_answers() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers={"shift": "day", "age": 12}, page=1)
    errors = services.submit_response(response=response)
    assert errors == {"age": "Give an age from 16 to 80.", "disciplined": "Answer this question."}
    response.refresh_from_db()
    assert response.status == Response.Status.PARTIAL
    assert response.draft == {
        "shift": "day",
        "age": 12,
    }
    assert not Answer.objects.exists()


def test_irrelevant_answers_are_dropped_on_submit() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    response = answer(survey, shift="day", disciplined="no", story="should go")
    assert "story" not in response.draft
    assert not Answer.objects.filter(question__name="story").exists()


def test_closed_survey_refuses_answers() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.CLOSED)
    with pytest.raises(ServiceError, match="not taking answers"):
        services.start_response(survey=survey, language="en")


def test_question_logic_is_validated_on_save() -> None:
    survey = make_survey(CommunityFactory())
    section = survey.sections.last()  # the new question goes after ${worries}, on page 2
    assert section is not None
    bad = Question(name="late", type=Question.Type.NUMBER, relevant="${nothere} = 1")
    with pytest.raises(
        ServiceError, match=r"refers to \$\{nothere\}, which is not an earlier question"
    ):
        services.save_question(
            question=bad, survey=survey, section=section, choices=None, language="en"
        )
    broken = Question(name="late", type=Question.Type.NUMBER, constraint=". >")
    with pytest.raises(
        ServiceError,
        match=(
            r"^Answer must satisfy: Something is missing at the end, after '>'\."
            r" For example: \. > 16$"
        ),
    ):
        services.save_question(
            question=broken, survey=survey, section=section, choices=None, language="en"
        )
    good = Question(
        name="late", type=Question.Type.SINGLE, relevant="selected(${worries}, 'rates')"
    )
    services.save_question(
        question=good,
        survey=survey,
        section=section,
        choices=[("a", "A"), ("b", "B")],
        language="en",
    )
    assert list(good.choices.values_list("name", flat=True)) == ["a", "b"]


def test_codes_are_single_use_and_unlinked() -> None:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community)
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=3)
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=organiser)
    services.start_response(survey=survey, language="en", code=codes[0].lower())
    with pytest.raises(ServiceError, match="not valid or has already been used"):
        services.start_response(survey=survey, language="en", code=codes[0])
    with pytest.raises(ServiceError, match="not valid or has already been used"):
        services.start_response(survey=survey, language="en", code="AAAAA-AAAAA")
    assert not {f.name for f in Response._meta.get_fields()} & {
        "code",
        "code_digest",
        "invitation_code",
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_reuse_of_a_code_yields_exactly_one_response() -> None:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community)
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=1)
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=organiser)
    outcomes = start_with_code_at_once(survey, codes[0])
    assert outcomes.count("ok") == 1, outcomes
    assert Response.objects.filter(survey=survey).count() == 1


def test_results_suppress_small_groups_and_refuse_narrow_filters() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for _ in range(8):
        answer(survey, shift="day", disciplined="no")
    for _ in range(3):
        answer(survey, shift="night", disciplined="yes")
    found = selectors.results(survey)
    shift = next(r for r in found.questions if r.question.name == "shift")
    assert [(r.name, r.count, r.hidden) for r in shift.rows] == [
        ("day", None, True),
        ("night", None, True),
    ]
    assert found.respondents == 11
    night = survey.questions.get(name="shift")
    narrowed = selectors.results(survey, only=(night, "night"))
    # The refusal never says how many: the 3 night workers are hidden in every table.
    assert narrowed.refusal.startswith("Fewer than 5 people, or everyone, gave one of the answers")
    assert "3" not in narrowed.refusal
    breakdown = selectors.results(survey, breakdown=night)
    disciplined = next(r for r in breakdown.questions if r.question.name == "disciplined")
    assert disciplined.crosstab is not None
    assert disciplined.crosstab.refusal
    for _ in range(6):
        answer(survey, shift="night", disciplined="yes")
    found = selectors.results(survey)
    shift = next(r for r in found.questions if r.question.name == "shift")
    assert [(r.name, r.count) for r in shift.rows] == [("day", 8), ("night", 9)]
    assert shift.rows[0].interval == "26 to 69%"
    published = selectors.results(survey, audience="published")
    assert published.threshold == 10


def test_text_answers_beyond_organisers_only_once_approved() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    for i in range(5):
        answer(survey, shift="day", disciplined="yes", story=f"story {i}")
        answer(survey, shift="day", disciplined="no")  # "yes" is not everyone's answer
    members = next(r for r in selectors.results(survey).questions if r.question.name == "story")
    assert members.texts == []
    services.approve_answer(answer=Answer.objects.get(text="story 2"))
    members = next(r for r in selectors.results(survey).questions if r.question.name == "story")
    assert [a.text for a in members.texts] == ["story 2"]
    organisers = next(
        r
        for r in selectors.results(survey, can_see_all_text=True).questions
        if r.question.name == "story"
    )
    assert len(organisers.texts) == 5


def test_weighting_reports_effective_sample_size() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    # Every answer given by 0 or at least 5 people in each shift: weighted shares are
    # shown only then (see test_results_privacy).
    for said, day, night in (("no", 10, 5), ("yes", 5, 5)):
        for _ in range(day):
            answer(survey, shift="day", disciplined=said)
        for _ in range(night):
            answer(survey, shift="night", disciplined=said)
    question = survey.questions.get(name="shift")
    services.set_weighting_targets(
        survey=survey, question=question, population={"day": 50, "night": 50}
    )
    found = selectors.results(survey, weighted=True)
    assert found.weighting is not None
    # Kish: (50 + 50)^2 / (50^2/15 + 50^2/10).
    assert round(found.weighting.n_eff, 2) == 24.0
    disciplined = next(r for r in found.questions if r.question.name == "disciplined")
    # Half the weight each: yes is (5/15 + 5/10) / 2, where unweighted it is 10/25.
    assert [round(r.weighted or 0, 2) for r in disciplined.rows] == [0.42, 0.58]
    assert [r.share for r in disciplined.rows] == [0.4, 0.6]


def test_cite_result_and_audit_export() -> None:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community, status=Survey.Status.OPEN)
    question = survey.questions.get(name="shift")
    citation = services.cite_result(
        survey=survey, question=question, snapshot={"title": "x", "n": 12}, actor=organiser
    )
    assert Citation.objects.get().source == question
    assert citation.evidence_type == "survey.result"
    services.audit_export(survey=survey, actor=organiser, fmt="csv", rows=3)
    services.audit_export(survey=survey, actor=organiser, fmt="datapackage", rows=3)
    summaries = list(
        AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
        .order_by("pk")
        .values_list("summary", flat=True)
    )
    assert [summary.rsplit(" as ", 1)[1] for summary in summaries] == [
        "CSV.",
        "Frictionless data package.",
    ]


def test_submission_costs_a_fixed_handful_of_queries(django_assert_num_queries: Any) -> None:
    """Questions, choice ids, then in one transaction: claim the response, insert every
    answer at once, upsert the counts (plus the test's savepoint and its release)."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(
        response=response,
        answers={
            "shift": "day",
            "age": 30,
            "disciplined": "yes",
            "worries": ["rates", "cameras", "sharing"],
            "story": "Warned",
        },
        page=1,
    )
    response = services.find_response(_raw)  # type: ignore[assignment]
    with django_assert_num_queries(7):
        assert services.submit_response(response=response) == {}
    assert Answer.objects.filter(response=response).count() == 7
    assert services.submit_response(response=response) == {}  # a second send adds nothing
    assert Answer.objects.filter(response=response).count() == 7
    assert [r.date for r in Answer.objects.filter(response=response)] == [None] * 7


def test_a_date_answer_is_stored_as_a_date() -> None:
    import datetime as dt

    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    services.save_question(
        question=Question(name="since", type=Question.Type.DATE, label={"en": "Since?"}),
        survey=survey,
        section=survey.sections.get(order=2),
        choices=None,
        language="en",
    )
    response = answer(survey, shift="day", disciplined="no", since="2024-03-01")
    assert Answer.objects.get(response=response, question__name="since").date == dt.date(2024, 3, 1)
