# mypy: disable-error-code="no-untyped-call,arg-type"
"""Weighting by several questions (raking), one question's figures at a time.

Setting a question's population figures keeps the other questions' (it used to
replace them), a question can be taken out of the weighting or the weighting stopped,
and the weighting page lists the figures in force in the words people read, with the
boxes filled for the question chosen. A limit on one person's weight (trimming) is
kept on the survey and applied. The results page names the questions weighted by and
says what the effective sample size means. Refusals keep the disclosure rules: no
combination of answers to the weighting's questions may be given by fewer than the
threshold, and no refusal names an answer."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sayso.analysis import survey_stats
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import selectors, services
from sayso.surveys.models import Answer, Choice, Question, Survey

from .factories import answer, make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


def worded(survey: Survey) -> Survey:
    """Questions and answers in the words people read, unlike their short names."""
    for name, text, answers in (
        ("shift", "Which shift do you usually work?", {"day": "Days", "night": "Nights"}),
        ("disciplined", "Have you been disciplined?", {"yes": "Yes, I have", "no": "No, never"}),
    ):
        Question.objects.filter(survey=survey, name=name).update(label={"en": text})
        for choice, words in answers.items():
            Choice.objects.filter(question__survey=survey, name=choice).update(label={"en": words})
    return survey


def crowd(cells: dict[tuple[str, str], int], threshold: int = 5) -> Survey:
    """A survey answered by `cells[(shift, disciplined)]` people each."""
    community = CommunityFactory(small_group_threshold=threshold)
    survey = worded(make_survey(community, status=Survey.Status.OPEN))
    for (shift, disciplined), n in cells.items():
        for _ in range(n):
            answer(survey, shift=shift, disciplined=disciplined, worries=["rates"])
    return survey


EVEN = {("day", "yes"): 20, ("day", "no"): 10, ("night", "yes"): 6, ("night", "no"): 9}


def question(survey: Survey, name: str) -> Question:
    return survey.questions.prefetch_related("choices").get(name=name)


def targets_of(survey: Survey) -> dict[str, Any]:
    return dict(Survey.objects.get(pk=survey.pk).weighting_targets)


def by_name(found: selectors.Results, name: str) -> selectors.QuestionResult:
    return next(r for r in found.questions if r.question.name == name)


def reference(survey: Survey, name: str, limit: float | None = None) -> list[float]:
    """Each respondent weighted one at a time (no counting by cells), as a reference."""
    targets = survey.weighting_targets
    labels = [
        dict(
            Answer.objects.filter(survey=survey, question__name=t).values_list(
                "response_id", "choice__name"
            )
        )
        for t in targets
    ]
    ids = sorted(set.intersection(*(set(x) for x in labels)))
    groups = [[x[r] for r in ids] for x in labels]
    margins = selectors.common_total(list(targets.values()))
    ones = np.ones(len(ids))
    if len(margins) == 1:
        weights = survey_stats.post_stratify(ones, groups[0], margins[0], trim_upper=limit).weights
    else:
        weights = survey_stats.rake(
            ones, list(zip(groups, margins, strict=True)), trim_upper=limit
        ).weights
    answers = dict(
        Answer.objects.filter(survey=survey, question__name=name).values_list(
            "response_id", "choice__name"
        )
    )
    choices = [c.name for c in question(survey, name).choices.all()]
    found = survey_stats.proportions(
        [answers[r] for r in ids], weights=list(weights), categories=choices
    )
    return [e.value for e in found]


# --------------------------------------------------------------------------- services


def test_a_second_question_is_added_to_the_weighting_not_put_in_place_of_the_first() -> None:
    survey = crowd(EVEN)
    services.set_weighting_targets(
        survey=survey, question=question(survey, "shift"), population={"day": 60, "night": 40}
    )
    services.set_weighting_targets(
        survey=survey, question=question(survey, "disciplined"), population={"yes": 30, "no": 70}
    )
    assert targets_of(survey) == {
        "shift": {"day": 60, "night": 40},
        "disciplined": {"yes": 30, "no": 70},
    }
    # Changing the first question's figures keeps both, in the same order.
    services.set_weighting_targets(
        survey=survey, question=question(survey, "shift"), population={"day": 55, "night": 45}
    )
    assert list(targets_of(survey).items()) == [
        ("shift", {"day": 55, "night": 45}),
        ("disciplined", {"yes": 30, "no": 70}),
    ]
    survey.refresh_from_db()
    found = selectors.results(survey, weighted=True)
    assert found.weighting is not None
    assert found.weighting.calibration.kind == "raking"
    assert found.weighted_by == ["Which shift do you usually work?", "Have you been disciplined?"]
    # Raked to both: each question's weighted shares are its population figures.
    assert [r.weighted for r in by_name(found, "shift").rows] == pytest.approx([0.55, 0.45])
    assert [r.weighted for r in by_name(found, "disciplined").rows] == pytest.approx([0.3, 0.7])


def test_adding_a_question_with_a_small_combination_of_answers_is_refused() -> None:
    """Each question alone has 5 or more per answer, but only 3 night workers said yes:
    raking would give those 3 one weight of their own, so it is refused, naming no
    answer, and the figures in force stay as they were."""
    survey = crowd({("day", "yes"): 20, ("day", "no"): 10, ("night", "yes"): 3, ("night", "no"): 9})
    services.set_weighting_targets(
        survey=survey, question=question(survey, "shift"), population={"day": 60, "night": 40}
    )
    before = targets_of(survey)
    with pytest.raises(ServiceError) as refused:
        services.set_weighting_targets(
            survey=survey,
            question=question(survey, "disciplined"),
            population={"yes": 30, "no": 70},
        )
    message = str(refused.value)
    assert "together with the others" in message
    assert re.findall(r"\d+", message) == ["5"]
    for answer_words in ("yes", "night", "day", "no,", "Nights", "Yes"):
        assert answer_words not in message
    assert "wait until more people have answered" in message
    assert "remove another question" in message
    assert targets_of(survey) == before
    # Alone, disciplined is fine: the combination was the problem.
    services.stop_weighting(survey=survey)
    services.set_weighting_targets(
        survey=survey, question=question(survey, "disciplined"), population={"yes": 30, "no": 70}
    )
    assert list(targets_of(survey)) == ["disciplined"]


def test_one_question_is_removed_and_the_others_kept() -> None:
    survey = crowd(EVEN)
    survey.weighting_targets = {"shift": {"day": 1, "night": 1}, "disciplined": {"yes": 1, "no": 3}}
    survey.save()
    services.remove_weighting_target(survey=survey, name="shift")
    assert targets_of(survey) == {"disciplined": {"yes": 1, "no": 3}}
    with pytest.raises(ServiceError, match="not weighted by that question"):
        services.remove_weighting_target(survey=survey, name="shift")
    assert targets_of(survey) == {"disciplined": {"yes": 1, "no": 3}}
    services.remove_weighting_target(survey=survey, name="disciplined")
    assert targets_of(survey) == {}


def test_a_deleted_question_leaves_the_weighting_and_the_others_stay() -> None:
    survey = make_survey(CommunityFactory())
    section = survey.sections.get(order=1)
    site = Question.objects.create(
        survey=survey, section=section, order=9, name="site", type=Question.Type.SINGLE
    )
    Choice.objects.create(question=site, order=1, name="north", label={"en": "North"})
    survey.weighting_targets = {"site": {"north": 5}, "shift": {"day": 1, "night": 1}}
    survey.save()
    services.delete_question(question=site)
    assert targets_of(survey) == {"shift": {"day": 1, "night": 1}}


def test_a_question_that_can_no_longer_weight_is_said_not_quietly_dropped() -> None:
    survey = crowd(EVEN)
    survey.weighting_targets = {"shift": {"day": 1, "night": 1}, "gone": {"a": 1}}
    survey.save()
    found = selectors.results(survey, weighted=True)
    assert found.weighting is None
    assert "no longer a single-choice question" in found.weighting_refusal
    assert all(r.weighted is None for q in found.questions for r in q.rows)
    page = organiser_client(survey).get(survey_url("weighting", survey)).content.decode()
    assert "Remove it from the weighting" in page


def test_figures_with_different_totals_are_read_as_shares() -> None:
    """400 staff by shift and percentages by discipline: raking needs one total, so each
    question's figures count as shares of their own total."""
    survey = crowd(EVEN)
    survey.weighting_targets = {
        "shift": {"day": 240, "night": 160},
        "disciplined": {"yes": 30, "no": 70},
    }
    survey.weight_limit = None
    survey.save()
    found = selectors.results(survey, weighted=True)
    assert found.weighting is not None, found.weighting_refusal
    assert [r.weighted for r in by_name(found, "shift").rows] == pytest.approx([0.6, 0.4])
    assert [r.weighted for r in by_name(found, "disciplined").rows] == pytest.approx([0.3, 0.7])
    assert [r.weighted for r in by_name(found, "shift").rows] == pytest.approx(
        reference(survey, "shift")
    )
    page = organiser_client(survey).get(survey_url("weighting", survey)).content.decode()
    assert "add up to different totals" in page


def trimmed_survey() -> Survey:
    """Few night workers, weighted to nine in ten of the population: each would count
    for about 6.6 average people without a limit."""
    survey = crowd({("day", "yes"): 20, ("day", "no"): 40, ("night", "yes"): 5, ("night", "no"): 5})
    survey.weighting_targets = {"shift": {"day": 5, "night": 95}}
    survey.save()
    return survey


def test_the_limit_on_one_persons_weight_is_applied_when_weighting() -> None:
    survey = trimmed_survey()
    assert survey.weight_limit == 5  # the usual limit, unless the organiser changes it
    limited = selectors.results(survey, weighted=True)
    assert limited.weighting is not None
    assert limited.weighting.trimmed > 0
    shares = [r.weighted for r in by_name(limited, "disciplined").rows]
    assert shares == pytest.approx(reference(survey, "disciplined", limit=5))
    services.set_weight_limit(survey=survey, limit=None)
    survey.refresh_from_db()
    free = selectors.results(survey, weighted=True)
    assert free.weighting is not None
    assert free.weighting.trimmed == 0
    unlimited = [r.weighted for r in by_name(free, "disciplined").rows]
    assert unlimited == pytest.approx(reference(survey, "disciplined"))
    assert unlimited[0] == pytest.approx(0.05 * 20 / 60 + 0.95 * 5 / 10)
    assert shares[0] != pytest.approx(unlimited[0], abs=0.01)  # the limit changed it


@pytest.mark.parametrize("limit", [1, 0, 21, -3])
def test_a_limit_out_of_range_is_refused_and_nothing_changes(limit: int) -> None:
    survey = make_survey(CommunityFactory())
    with pytest.raises(ServiceError, match="from 2 to 20"):
        services.set_weight_limit(survey=survey, limit=limit)
    assert Survey.objects.get(pk=survey.pk).weight_limit == 5


# --------------------------------------------------------------------------- snapshot


def test_raking_is_read_from_the_results_snapshot_once_counted(
    settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """A second question changes what the snapshot counts (answers by the respondent's
    answers to every question weighted by): the worker is asked to count again, and
    the raked results then come from the snapshot, equal to weighting each person."""
    settings.SAYSO = {
        **getattr(settings, "SAYSO", {}),
        "SURVEY_RESULTS_CACHE_FROM": 0,
        "SURVEY_RESULTS_FRESH_SECONDS": 1e9,
    }
    cache.clear()
    queued: list[int] = []
    monkeypatch.setattr(selectors, "_queue_recount", queued.append)
    survey = crowd(EVEN)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_weighting_targets(
            survey=survey, question=question(survey, "shift"), population={"day": 1, "night": 1}
        )
    selectors.results(survey)  # counted and kept, for one question
    kept = cache.get(selectors._joint_key(survey))
    assert kept.weighting == ("shift",)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_weighting_targets(
            survey=survey,
            question=question(survey, "disciplined"),
            population={"yes": 1, "no": 3},
        )
    assert queued[-1] == survey.pk
    survey.refresh_from_db()
    selectors.recount_results(survey)  # what the worker does
    assert cache.get(selectors._joint_key(survey)).weighting == ("shift", "disciplined")
    with CaptureQueriesContext(connection) as queries:
        found = selectors.results(survey, weighted=True)
    assert not any("t0.choice_id IS NOT NULL" in q["sql"] for q in queries)  # read, not counted
    assert found.weighting is not None
    assert found.weighting.calibration.kind == "raking"
    assert [r.weighted for r in by_name(found, "shift").rows] == pytest.approx(
        reference(survey, "shift", limit=5)
    )
    cache.clear()


# --------------------------------------------------------------------------- pages


def test_the_page_lists_the_figures_in_force_in_words_and_fills_the_chosen_boxes() -> None:
    survey = crowd(EVEN)
    survey.weighting_targets = {"disciplined": {"yes": 300, "no": 2700}}
    survey.save()
    client = organiser_client(survey)
    url = survey_url("weighting", survey)
    page = client.get(url).content.decode()
    listed = page.split('id="in-force"', 1)[1].split('id="figures"', 1)[0]
    assert "Have you been disciplined?" in listed
    assert '<th scope="row">Yes, I have</th><td>300</td><td>10%</td>' in listed
    assert '<th scope="row">No, never</th><td>2,700</td><td>90%</td>' in listed
    assert "Which shift" not in listed  # not weighted by it
    # The question in force is the one chosen, its boxes filled, though shift comes first.
    assert re.search(r'<option value="disciplined" selected>', page)
    assert 'value="300"' in page
    assert 'value="2,700"' in page
    assert "Save the changed figures" in page
    # Another question, chosen to add it: empty boxes, and the figures in force stay listed.
    other = client.get(url, {"question": "shift"}).content.decode()
    assert 'name="pop_day"' in other
    box = re.search(r'<input[^>]*name="pop_day"[^>]*>', other)
    assert box is not None
    assert 'value="' not in box.group(0)
    assert "Weight by this question" in other
    assert "Yes, I have" in other.split('id="in-force"', 1)[1].split('id="figures"', 1)[0]


def test_adding_figures_on_the_page_keeps_the_others_then_one_is_removed() -> None:
    survey = crowd(EVEN)
    client = organiser_client(survey)
    url = survey_url("weighting", survey)
    assert (
        client.post(url, {"question": "shift", "pop_day": "600", "pop_night": "400"}).status_code
        == 302
    )
    saved = client.post(url, {"question": "disciplined", "pop_yes": "300", "pop_no": "700"})
    assert saved.status_code == 302
    assert saved["Location"].endswith("?weighted=1")
    assert list(targets_of(survey)) == ["shift", "disciplined"]
    page = client.get(url).content.decode()
    assert "raking" in page
    assert "Which shift do you usually work?" in page.split('id="figures"', 1)[0]
    assert "Have you been disciplined?" in page.split('id="figures"', 1)[0]
    removed = client.post(url, {"remove": "shift"}, follow=True).content.decode()
    assert "no longer weighted by &#x27;Which shift do you usually work?&#x27;" in removed
    assert targets_of(survey) == {"disciplined": {"yes": 300.0, "no": 700.0}}
    stopped = client.post(url, {"stop": "1"})
    assert stopped.status_code == 302
    assert targets_of(survey) == {}
    assert "None: the results are not weighted now." in client.get(url).content.decode()


def test_the_limit_is_set_on_the_page_in_plain_words() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    url = survey_url("weighting", survey)
    page = client.get(url).content.decode()
    assert "Limit how much one person can count" in page
    assert re.search(r'name="trim-limit"[^>]*value="5"|value="5"[^>]*name="trim-limit"', page)
    for typed in ("1", "25", "2.5", "lots"):
        refused = client.post(url, {"save_limit": "1", "trim-limit": typed})
        assert refused.status_code == 200
        assert "Give a whole number from 2 to 20, or leave the box empty." in (
            refused.content.decode()
        )
        assert Survey.objects.get(pk=survey.pk).weight_limit == 5
    assert client.post(url, {"save_limit": "1", "trim-limit": "3"}).status_code == 302
    assert Survey.objects.get(pk=survey.pk).weight_limit == 3
    assert client.post(url, {"save_limit": "1", "trim-limit": ""}).status_code == 302
    assert Survey.objects.get(pk=survey.pk).weight_limit is None
    # Saving the limit touches no population figure.
    assert Survey.objects.get(pk=survey.pk).weighting_targets == {}


def test_the_results_page_names_the_questions_and_explains_the_effective_size() -> None:
    survey = trimmed_survey()
    services.set_weighting_targets(
        survey=survey,
        question=question(survey, "disciplined"),
        population={"yes": 40, "no": 60},
    )
    client = organiser_client(survey)
    page = client.get(survey_url("results", survey), {"weighted": "1"}).content.decode()
    note = page.split('id="weighting-note"', 1)[1].split("</div>", 1)[0]
    assert "<li>Which shift do you usually work?</li><li>Have you been disciplined?</li>" in note
    found = selectors.results(Survey.objects.get(pk=survey.pk), weighted=True)
    assert found.weighting is not None
    n = f"{found.weighting.n_eff:.0f}"
    assert f"Effective sample size: {n}." in note
    assert f"as if {n} people had answered and each counted the same" in note
    assert "Nobody counts for more than 5 times the average person." in note
    assert "Some people reached that limit" in note
    assert "People chose to answer" in note  # a convenience sample
    # Unweighted, none of it.
    assert 'id="weighting-note"' not in client.get(survey_url("results", survey)).content.decode()
