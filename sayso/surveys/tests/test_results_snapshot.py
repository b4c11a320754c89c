# mypy: disable-error-code="no-untyped-call,arg-type"
"""The snapshot of counts that every view of a survey's results reads.

Results of a survey with breakdown questions are cut from one count of every answer
by the breakdown groups, kept in the cache under the survey's data version. These
tests check that the version moves with what changes the counts (a submission, a
change to the questions, a deleted response, a recount), that every view at one
version reads the same counts, that an older snapshot is shown whole with a note
while the task worker counts again, and how many queries a page costs once counted.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import selectors, services, tasks
from sayso.surveys.models import Answer, Question, Response, Survey

from .factories import make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _kept(settings: Any) -> Any:
    """Every survey is kept, however small; a stale one is counted again in the
    request (as a quick count is) unless a test says otherwise."""
    settings.SAYSO = {
        **getattr(settings, "SAYSO", {}),
        "SURVEY_RESULTS_CACHE_FROM": 0,
        "SURVEY_RESULTS_FRESH_SECONDS": 1e9,
    }
    cache.clear()
    yield settings
    cache.clear()


def answer(survey: Survey, **values: Any) -> Response:
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=values, page=1)
    assert services.submit_response(response=response) == {}
    return response


def surveyed(n: int = 12) -> Survey:
    survey = make_survey(CommunityFactory(small_group_threshold=2), status=Survey.Status.OPEN)
    for i in range(n):
        answer(
            survey,
            shift="day" if i % 2 else "night",
            age=20 + i,
            disciplined="yes" if i % 3 else "no",
            worries=["rates"] if i % 2 else ["rates", "cameras"],
        )
    return survey


def kept(survey: Survey) -> Any:
    return cache.get(selectors._joint_key(survey))


def rows(result: selectors.Results, name: str) -> list[int | None]:
    found = next(q for q in result.questions if q.question.name == name)
    return [row.count for row in found.rows]


def test_the_first_view_keeps_the_counts_and_the_next_reads_them() -> None:
    survey = surveyed()
    assert kept(survey) is None
    first = selectors.results(survey)
    snapshot = kept(survey)
    assert snapshot.version == selectors.data_version(survey)
    assert snapshot.total == first.respondents == 12
    assert rows(first, "disciplined") == [8, 4]
    with CaptureQueriesContext(connection) as queries:
        again = selectors.results(survey)
    assert not any("GROUP BY" in q["sql"] for q in queries.captured_queries)  # nothing counted
    assert rows(again, "disciplined") == [8, 4]
    assert kept(survey) == snapshot


def test_a_new_submission_is_counted_on_the_next_view() -> None:
    survey = surveyed()
    selectors.results(survey)
    before = kept(survey).version
    answer(survey, shift="day", age=50, disciplined="no")
    after = selectors.results(survey)
    assert kept(survey).version != before
    assert kept(survey).version == selectors.data_version(survey)
    assert after.respondents == 13
    assert rows(after, "disciplined") == [8, 5]
    assert after.figures_as_of is None


def test_a_change_to_the_questions_is_counted_on_the_next_view() -> None:
    survey = surveyed()
    selectors.results(survey)
    before = kept(survey)
    # The organiser declares a second question to break results down by.
    disciplined = survey.questions.get(name="disciplined")
    disciplined.is_breakdown = True
    disciplined.save()
    assert selectors.data_version(survey)[0] != before.version[0]
    found = selectors.results(survey)
    assert len(kept(survey).shape) == 2 == len(before.shape) + 1
    assert rows(found, "disciplined") == [8, 4]
    # Now the results can be broken down by it, from the new snapshot.
    by = selectors.results(survey, breakdown=survey.questions.get(name="disciplined"))
    shift = next(q for q in by.questions if q.question.name == "shift")
    assert shift.crosstab is not None
    assert not shift.crosstab.refusal
    assert shift.crosstab.cells[-1] == [6, 6, 12]  # the totals: day, night, all


def test_a_question_changed_is_never_shown_from_an_older_snapshot(settings: Any) -> None:
    """Even where older snapshots are shown while a new one is made, a change to the
    questions is counted at once: the old counts are by the old groups."""
    settings.SAYSO = {**settings.SAYSO, "SURVEY_RESULTS_FRESH_SECONDS": 0}
    survey = surveyed()
    selectors.results(survey)
    disciplined = survey.questions.get(name="disciplined")
    disciplined.is_breakdown = True
    disciplined.save()
    found = selectors.results(survey)
    assert found.figures_as_of is None
    assert kept(survey).version == selectors.data_version(survey)


def test_deleted_responses_are_taken_out_on_the_next_view() -> None:
    """A response deleted (with its answers, as a retention rule or the admin would),
    and one deleted then another submitted, so that the number is the same."""
    survey = surveyed()
    selectors.results(survey)
    before = kept(survey).version
    gone = Response.objects.filter(survey=survey, answers__question__name="disciplined")
    gone.filter(answers__choice__name="no").earliest("pk").delete()
    found = selectors.results(survey)
    assert kept(survey).version != before
    assert found.respondents == 11
    assert rows(found, "disciplined") == [8, 3]
    answer(survey, shift="day", disciplined="yes")
    replaced = selectors.results(survey)
    assert replaced.respondents == 12
    assert rows(replaced, "disciplined") == [9, 3]


def test_answers_withdrawn_and_recounted_are_taken_out_on_the_next_view() -> None:
    """Answers removed and the running counts rebuilt (services.recount) move the
    version even though no response went."""
    survey = surveyed()
    selectors.results(survey)
    before = kept(survey).version
    Answer.objects.filter(survey=survey, question__name="worries", choice__name="cameras").delete()
    services.recount(survey=survey)
    worries = survey.questions.get(name="worries")
    cameras = worries.choices.get(name="cameras").pk
    assert cameras in {row[0] for row in kept(survey).rows[worries.pk]}
    selectors.results(survey)
    assert kept(survey).version != before
    assert cameras not in {row[0] for row in kept(survey).rows[worries.pk]}


def test_every_view_at_one_version_reads_the_same_counts() -> None:
    """An answer written behind the version's back (no running count, no new
    response) is seen by no view until the version moves: the unfiltered page, a
    filter and a breakdown all show the snapshot's counts, never a fresh count."""
    survey = surveyed()
    client = organiser_client(survey)
    url = survey_url("results", survey)
    client.get(url)
    snapshot = kept(survey)
    disciplined = survey.questions.get(name="disciplined")
    night = Response.objects.filter(survey=survey, answers__choice__name="night").first()
    Answer.objects.filter(response=night, question=disciplined).update(
        choice=disciplined.choices.get(name="no")
        if Answer.objects.filter(response=night, choice__name="yes").exists()
        else disciplined.choices.get(name="yes")
    )
    shift = survey.questions.get(name="shift")
    views = [
        selectors.results(survey),
        selectors.results(survey, only=(shift, "night")),
        selectors.results(survey, only=(shift, "day")),
        selectors.results(survey, breakdown=shift),
        selectors.results(survey, only=(shift, "night"), breakdown=shift),
    ]
    assert kept(survey) == snapshot  # the same snapshot, not counted again
    everyone, night_only, day_only, by_shift, _both = views
    assert rows(everyone, "disciplined") == [8, 4]
    # The filters' counts add up to the unfiltered ones: all read from one snapshot.
    night_rows, day_rows = rows(night_only, "disciplined"), rows(day_only, "disciplined")
    assert (night_rows, day_rows) == ([4, 2], [4, 2])  # none hidden: 2 is the threshold
    table = next(q for q in by_shift.questions if q.question.name == "disciplined").crosstab
    assert table is not None
    assert table.cells[-1] == [8, 4, 12]
    for page in (client.get(url), client.get(url, {"only": "shift:night", "by": "shift"})):
        assert page.status_code == 200
        assert page.context["results"].respondents in (12, 6)
    # The task worker's recount finds the snapshot up to date and counts nothing...
    tasks.recount_results.enqueue(survey_id=survey.pk)
    assert kept(survey) == snapshot
    # ...but rebuilding the running counts (the repair) moves the version, and the
    # next view counts the change.
    services.recount(survey=survey)
    assert selectors.data_version(survey) != snapshot.version
    assert rows(selectors.results(survey), "disciplined") != [8, 4]
    assert kept(survey) != snapshot


def test_an_older_snapshot_is_shown_whole_while_the_worker_counts(settings: Any) -> None:
    """Where counting takes long, a page finding an older snapshot shows it, says
    when it was made, and queues a recount (run at once in tests); the next page
    shows the new counts without the note."""
    settings.SAYSO = {**settings.SAYSO, "SURVEY_RESULTS_FRESH_SECONDS": 0}
    survey = surveyed()
    client = organiser_client(survey)
    url = survey_url("results", survey)
    assert client.get(url).context["results"].figures_as_of is None
    old = kept(survey)
    answer(survey, shift="day", age=50, disciplined="no")
    page = client.get(url)
    shown = page.context["results"]
    assert shown.figures_as_of == old.made_at
    assert shown.respondents == 12  # the older snapshot, whole
    assert "Figures as of" in page.content.decode()
    # The recount ran in the worker and kept the new snapshot.
    assert kept(survey).version == selectors.data_version(survey)
    latest = client.get(url)
    assert latest.context["results"].figures_as_of is None
    assert latest.context["results"].respondents == 13
    assert "Figures as of" not in latest.content.decode()


def test_the_recount_task_writes_the_snapshot() -> None:
    survey = surveyed()
    assert kept(survey) is None
    result = tasks.recount_results.enqueue(survey_id=survey.pk)
    assert result.return_value == 12
    assert kept(survey).version == selectors.data_version(survey)
    assert kept(survey).total == 12
    # A survey without a question to break down by has nothing to keep.
    Question.objects.filter(survey=survey).update(is_breakdown=False)
    cache.clear()
    assert tasks.recount_results.enqueue(survey_id=survey.pk).return_value == 0
    assert kept(survey) is None


def test_a_small_survey_is_counted_each_time_and_not_kept(settings: Any) -> None:
    settings.SAYSO = {**settings.SAYSO, "SURVEY_RESULTS_CACHE_FROM": 13}
    survey = surveyed()
    assert selectors.results(survey).respondents == 12
    assert kept(survey) is None
    answer(survey, shift="day", disciplined="no")
    assert selectors.results(survey).respondents == 13
    assert kept(survey) is not None


def test_a_page_read_from_the_snapshot_costs_the_same_queries_whatever_the_view(
    django_assert_num_queries: Any,
) -> None:
    survey = surveyed()
    # As the results page passes it: with its choices read.
    shift = survey.questions.prefetch_related("choices").get(name="shift")
    selectors.results(survey)
    # questions, their choices, the data version, the snapshot, the texts shown (none
    # under a filter: written answers are listed only for everyone)
    with django_assert_num_queries(5):
        selectors.results(survey)
    with django_assert_num_queries(5):
        selectors.results(survey, breakdown=shift)
    with django_assert_num_queries(4):
        selectors.results(survey, only=(shift, "day"), breakdown=shift)
    for _ in range(6):
        answer(survey, shift="night", disciplined="no")
    selectors.results(survey)
    with django_assert_num_queries(5):
        assert selectors.results(survey).respondents == 18


def test_the_results_page_costs_the_same_queries_once_counted(
    django_assert_num_queries: Any,
) -> None:
    survey = surveyed()
    client = organiser_client(survey)
    url = survey_url("results", survey)
    client.get(url)  # counted and kept
    pinned = []
    for query in ({}, {"only": "shift:night"}, {"by": "shift"}):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url, query)
        assert page.status_code == 200
        assert not any("mask0" in q["sql"] for q in queries)  # nothing counted by groups
        pinned.append(len(queries))
    # session, user, community, membership, survey, questions and their choices (read
    # by the view, then by the selector), the data version, the snapshot, the texts
    # (not read under a filter, where none are listed), the citations
    assert pinned == [13, 12, 13]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_version_and_counts_are_read_in_one() -> None:
    """As in a request (no test transaction around it): on PostgreSQL the count runs
    in a repeatable-read transaction of its own, which must be its first statement."""
    survey = surveyed(6)
    with CaptureQueriesContext(connection) as queries:
        found = selectors.results(survey)
    assert found.respondents == 6
    assert kept(survey).version == selectors.data_version(survey)
    isolation = [q["sql"] for q in queries if "ISOLATION LEVEL" in q["sql"]]
    assert isolation == (
        ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"]
        if connection.vendor == "postgresql"
        else []
    )


@pytest.fixture
def queued(monkeypatch: Any) -> list[int]:
    """Recounts asked of the task worker, recorded instead of run (tests otherwise run
    tasks at once), so that a test sees the page a reader sees while it is counting."""
    asked: list[int] = []
    monkeypatch.setattr(selectors, "_queue_recount", asked.append)
    return asked


def big(settings: Any, survey: Survey) -> None:
    """Make `survey` count as a big one: too many answers to count in the request."""
    settings.SAYSO = {**settings.SAYSO, "SURVEY_RESULTS_COUNT_IN_REQUEST_UP_TO": 12}
    assert survey.responses.filter(status=Response.Status.COMPLETE).count() >= 12


def test_a_big_survey_with_nothing_counted_says_so_and_the_worker_counts(
    settings: Any, queued: list[int]
) -> None:
    from sayso.core.models import Citation

    survey = surveyed()
    big(settings, survey)
    client = organiser_client(survey)
    url = survey_url("results", survey)
    page = client.get(url)
    assert page.status_code == 200
    shown = page.context["results"]
    assert shown.still_counting
    assert shown.questions == []
    html = page.content.decode()
    assert "Counting the answers" in html
    assert "Sayso is counting the answers of 12 responses" in html
    assert "disciplined" not in html  # no figures, no questions
    assert queued == [survey.pk]
    assert kept(survey) is None  # nothing counted in the request
    # A second reader within the minute queues nothing more.
    assert client.get(url).context["results"].still_counting
    assert queued == [survey.pk]
    # The chart is not an empty picture a browser would keep.
    disciplined = survey.questions.get(name="disciplined")
    chart = client.get(survey_url("chart", survey, question=disciplined.pk))
    assert chart.status_code == 503
    assert chart["Retry-After"] == "30"
    # Citing waits too, and nothing is cited.
    cited = client.post(survey_url("cite", survey, question=disciplined.pk), follow=True)
    assert "still being counted" in cited.content.decode()
    assert not Citation.objects.exists()
    # The worker counts; then the page shows the figures.
    assert tasks.recount_results.call(survey_id=survey.pk) == 12
    page = client.get(url)
    assert not page.context["results"].still_counting
    assert rows(page.context["results"], "disciplined") == [8, 4]
    assert "Counting the answers" not in page.content.decode()


def test_a_big_survey_under_a_task_backend_that_runs_at_once_shows_figures(
    settings: Any,
) -> None:
    """Development runs tasks in the request: the reader gets the figures, not a wait."""
    survey = surveyed()
    big(settings, survey)
    found = selectors.results(survey)
    assert not found.still_counting
    assert rows(found, "disciplined") == [8, 4]
    assert kept(survey).version == selectors.data_version(survey)


def test_a_big_surveys_changed_questions_are_counted_by_the_worker(
    settings: Any, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    survey = surveyed()
    selectors.results(survey)  # counted and kept while small
    big(settings, survey)
    disciplined = survey.questions.get(name="disciplined")
    # Refused (the name is taken): nothing changes, nothing is queued.
    disciplined.name = "shift"
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.BuilderError):
        services.save_question(
            question=disciplined,
            survey=survey,
            section=disciplined.section,
            choices=[(c.name, c.text("en")) for c in disciplined.choices.all()],
            language="en",
        )
    assert queued == []
    disciplined.refresh_from_db()
    disciplined.is_breakdown = True
    with django_capture_on_commit_callbacks(execute=True):
        services.save_question(
            question=disciplined,
            survey=survey,
            section=disciplined.section,
            choices=[(c.name, c.text("en")) for c in disciplined.choices.all()],
            language="en",
        )
    # Queued once the change committed.
    assert queued == [survey.pk]
    # Until the worker has counted, the page says it is counting.
    assert selectors.results(survey).still_counting


def test_a_survey_with_nothing_kept_queues_no_recount_when_its_questions_change(
    queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    survey = surveyed()
    question = survey.questions.get(name="disciplined")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.move_question(question=question, up=True)
    assert len(callbacks) == 1  # asked, and found nothing kept
    assert queued == []


def test_a_recount_of_a_snapshot_already_up_to_date_counts_nothing() -> None:
    survey = surveyed()
    selectors.results(survey)
    snapshot = kept(survey)
    with CaptureQueriesContext(connection) as queries:
        assert selectors.recount_results(survey) == snapshot
    assert not any("mask0" in q["sql"] for q in queries)


def weighted_shares(found: selectors.Results, name: str) -> list[float | None]:
    result = next(q for q in found.questions if q.question.name == name)
    return [row.weighted for row in result.rows]


def test_weighted_results_are_read_from_the_snapshot_and_match_a_live_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    survey = surveyed(40)
    survey.weighting_targets = {"disciplined": {"yes": 50.0, "no": 50.0}}
    survey.save()
    shift = survey.questions.prefetch_related("choices").get(name="shift")
    selectors.results(survey)  # counted and kept, with the weighting's rows
    assert kept(survey).weight_rows
    views = [None, (shift, "day"), (shift, "night")]
    from_snapshot = []
    for only in views:
        with CaptureQueriesContext(connection) as queries:
            found = selectors.results(survey, weighted=True, only=only)
        assert found.weighting is not None, found.weighting_refusal
        assert not any("t0.choice_id IS NOT NULL" in q["sql"] for q in queries)  # nothing counted
        from_snapshot.append(weighted_shares(found, "shift") + weighted_shares(found, "worries"))
    assert None not in from_snapshot[0][:2]  # the shift shares, weighted
    # The same figures as counting the weighting's rows afresh, view by view.
    counts = selectors._joint_counts

    def without_weight_rows(*args: Any) -> Any:
        found = counts(*args)
        assert found is not None
        found.weight_rows = None
        return found

    monkeypatch.setattr(selectors, "_joint_counts", without_weight_rows)
    for only, shares in zip(views, from_snapshot, strict=True):
        with CaptureQueriesContext(connection) as queries:
            live = selectors.results(survey, weighted=True, only=only)
        assert any("t0.choice_id IS NOT NULL" in q["sql"] for q in queries)  # counted afresh
        assert weighted_shares(live, "shift") + weighted_shares(live, "worries") == (
            pytest.approx(shares)
        )


def test_a_new_weighting_is_counted_before_it_is_shown(
    settings: Any, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    survey = surveyed(40)
    selectors.results(survey)  # kept, with no weighting
    assert kept(survey).weight_rows is None
    big(settings, survey)
    shift = survey.questions.get(name="shift")
    with django_capture_on_commit_callbacks(execute=True):
        services.set_weighting_targets(
            survey=survey, question=shift, population={"day": 30.0, "night": 70.0}
        )
    assert queued == [survey.pk]  # the worker counts the weighting's rows
    # Until then the page waits rather than weigh with rows counted for no weighting.
    assert selectors.results(survey, weighted=True).still_counting
    selectors.recount_results(survey)
    found = selectors.results(survey, weighted=True)
    assert found.weighting is not None
    assert kept(survey).weighting == ("shift",)
