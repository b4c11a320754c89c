# mypy: disable-error-code="no-untyped-call,arg-type"
"""A browser review of the results: a number question whose average is withheld and
which shows no ranges was still offered "Cite as evidence" (refused as "too few people
answered it" with 18 answers), and said nothing but a hard sentence; the weighting
page said the results are weighted while the results page said they are not (a few
people skipped the weighting's question); and the refusals for those few skippers did
not say what the problem was or what to do."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from sayso.core.models import Citation
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import selectors, services
from sayso.surveys.models import Question, Survey

from .factories import answer, close, make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db

WITHHELD = (
    "The average is not shown: in at least one group these results can be split by, "
    "everyone gave the same or nearly the same answer, so an average would give their "
    "answers away."
)
NO_RANGES = (
    "Ranges of answers are not shown either: the answers cannot be split into ranges "
    "of at least 10 people each."
)


def all_alike(n: int = 18) -> Survey:
    """`n` people, all aged 30: the average would be each one's age, and one range
    would hold them all. Nothing to split by."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="shift").update(is_breakdown=False)
    for i in range(n):
        answer(survey, shift="day" if i % 2 else "night", disciplined="no", age=30)
    return close(survey)


def section(html: str, survey: Survey, name: str) -> str:
    pk = survey.questions.get(name=name).pk
    return html.split(f'id="q-{pk}"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("audience", ["members", "published"])
def test_a_withheld_average_without_ranges_says_why_and_how_many_answered(audience: str) -> None:
    survey = all_alike()
    client = organiser_client(survey)
    response = client.get(survey_url("results", survey), {"audience": audience})
    found = response.context["results"]
    age = next(r for r in found.questions if r.question.name == "age")
    assert (age.mean, age.rows, age.refusal) == (None, [], "")
    html = section(response.content.decode(), survey, "age")
    assert WITHHELD in html
    assert "18 people answered" in html
    threshold = selectors.thresholds(survey).published
    assert NO_RANGES.replace("10", str(threshold)) in html
    # The same count as the other questions' tables of the same people.
    assert "18 people answered" in section(response.content.decode(), survey, "disciplined")


def test_cite_is_not_offered_without_a_figure_and_a_direct_request_says_why() -> None:
    survey = all_alike()
    client = organiser_client(survey)
    html = client.get(survey_url("results", survey), {"audience": "published"}).content.decode()
    age_html = section(html, survey, "age")
    assert "Cite as evidence" not in age_html
    assert "Not offered as evidence" in age_html
    age = survey.questions.get(name="age")
    cited = client.post(survey_url("cite", survey, question=age.pk))
    assert cited.status_code == 302
    said = [str(m) for m in get_messages(cited.wsgi_request)]
    assert said == [
        "This result cannot be cited: neither its average nor ranges of its answers are "
        "shown, so there is no figure to cite."
    ]
    assert not Citation.objects.exists()


def skipped_shift(skippers: int, *, status: str = Survey.Status.CLOSED) -> tuple[Survey, Client]:
    """20 day and 20 night workers and `skippers` who did not answer the shift
    question, weighted by shift."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    survey.questions.filter(name="shift").update(required=False, is_breakdown=False)
    for shift in ("day", "night"):
        for i in range(20):
            answer(survey, shift=shift, disciplined="yes" if i % 2 else "no", age=30 + i)
    for i in range(skippers):
        answer(survey, disciplined="yes" if i % 2 else "no", age=25 + 3 * i)
    survey.weighting_targets = {"shift": {"day": 100, "night": 100}}
    survey.save(update_fields=["weighting_targets"])
    if status == Survey.Status.CLOSED:
        close(survey)
    return survey, organiser_client(survey)


def test_a_few_skippers_are_named_as_the_reason_with_what_to_do() -> None:
    survey, _client = skipped_shift(2)
    found = selectors.results(Survey.objects.get(pk=survey.pk), weighted=True)
    assert found.weighting is None
    assert found.weighting_refusal == (
        "These results are not weighted: a few people (fewer than 5) skipped a question "
        "the weighting uses. Weighted figures leave out people who did not answer those "
        "questions, so setting them beside the unweighted figures could reveal their answers. "
        "To weight the results, stop weighting by the question they skipped, on the "
        "weighting page. The figures below are not weighted."
    )
    survey.status = Survey.Status.OPEN
    survey.save(update_fields=["status"])
    found = selectors.results(Survey.objects.get(pk=survey.pk), weighted=True)
    assert "wait until more people have answered, or stop weighting" in found.weighting_refusal
    assert "2" not in found.weighting_refusal


def test_a_small_weighting_group_is_not_called_skipping() -> None:
    """Everyone answered the shift question, but only 3 work nights."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    survey.questions.filter(name="shift").update(is_breakdown=False)
    for i in range(20):
        answer(survey, shift="day", disciplined="no", age=30 + i)
    for i in range(3):
        answer(survey, shift="night", disciplined="no", age=50 + i)
    survey.weighting_targets = {"shift": {"day": 100, "night": 100}}
    survey.save(update_fields=["weighting_targets"])
    close(survey)
    found = selectors.results(Survey.objects.get(pk=survey.pk), weighted=True)
    assert found.weighting is None
    assert "skipped" not in found.weighting_refusal
    assert "fewer than 5 people gave one of the answers" in found.weighting_refusal
    assert "3" not in found.weighting_refusal


def weighting_page(client: Client, survey: Survey) -> str:
    response = client.get(survey_url("weighting", survey))
    assert response.status_code == 200
    return response.content.decode()


def test_the_weighting_page_says_the_weighting_is_not_applied_now() -> None:
    survey, client = skipped_shift(2)
    html = weighting_page(client, survey)
    refusal = selectors.results(Survey.objects.get(pk=survey.pk), weighted=True).weighting_refusal
    assert refusal
    assert "Weighting not applied now" in html
    # Said as this page says it: not "on the weighting page" (test_review15_results.py).
    not_applied, _published = selectors.weighting_refusals(Survey.objects.get(pk=survey.pk))
    assert not_applied.endswith("they skipped. Meanwhile the results are shown unweighted.")
    assert not_applied in html
    assert "The figures below are not weighted" not in html
    assert "The results are weighted by this question" not in html
    # The figures stay listed, to change or remove.
    assert "Population figures in force" in html


def test_the_weighting_page_says_the_results_are_weighted_when_they_are() -> None:
    survey, client = skipped_shift(0)
    html = weighting_page(client, survey)
    assert "Weighting not applied now" not in html
    assert "The results are weighted by this question" in html


def test_the_weighting_page_says_so_when_only_the_published_results_are_not_weighted() -> None:
    """6 skippers: enough for members (5), too few for the published results (10)."""
    survey, client = skipped_shift(6)
    assert selectors.thresholds(survey).published > 6
    html = weighting_page(client, survey)
    assert "The results are weighted by this question" in html
    assert "Results as they would be published are not weighted now" in html
    assert "Weighting not applied now" not in html


def test_saving_a_question_a_few_skipped_says_a_few_skipped_and_what_to_do() -> None:
    for status, way_out in (
        (Survey.Status.OPEN, "Choose another question, or wait until more people have answered."),
        (Survey.Status.CLOSED, "Choose another question."),
    ):
        survey, _client = skipped_shift(2, status=status)
        survey.weighting_targets = {}
        survey.save(update_fields=["weighting_targets"])
        shift = survey.questions.get(name="shift")
        with pytest.raises(ServiceError) as refused:
            services.set_weighting_targets(
                survey=survey, question=shift, population={"day": 100, "night": 100}
            )
        said = str(refused.value)
        assert said == (
            "Results can't be weighted by this question: a few people (fewer than 5) "
            "skipped it, or another question the weighting uses. Weighted figures leave "
            "them out, so setting them beside the unweighted figures would reveal their "
            "answers. " + way_out
        )
        assert not re.search(r"\b[1-4]\b", said)
        survey.refresh_from_db()
        assert survey.weighting_targets == {}
