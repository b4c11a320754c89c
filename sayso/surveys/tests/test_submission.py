# mypy: disable-error-code="no-untyped-call,arg-type"
"""The fast submission path: the compiled definition, the checked claim, sharded counts."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory
from sayso.surveys import logic, selectors, services
from sayso.surveys.models import (
    Answer,
    AnswerCount,
    Choice,
    DefinitionRevision,
    Question,
    Response,
    Survey,
)

from .factories import make_survey

pytestmark = pytest.mark.django_db


def revision(survey: Survey) -> int:
    return DefinitionRevision.objects.get(survey=survey).n


def started(survey: Survey, **values: Any) -> str:
    """A response in progress with `values` as its answers; returns its private token."""
    response, raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=values, page=1)
    return raw


def withdraw_sharing(survey: Survey) -> None:
    """The organiser removes the "sharing" option of "worries" while people answer."""
    worries = survey.questions.get(name="worries")
    services.save_question(
        question=worries,
        survey=survey,
        section=worries.section,
        choices=[("rates", "Rates"), ("cameras", "Cameras")],
        language="en",
    )


def queued_write(survey: Survey, raw: str, question_id: int, choice_id: int) -> services._Pending:
    """A submission as the SQLite group commit queues it: one single-choice answer."""
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    assert submitting.definition_revision is not None
    return services._Pending(
        submitting.pk,
        survey.pk,
        submitting.definition_revision,
        "{}",
        timezone.localdate(),
        [(question_id, choice_id, None, None, None, "")],
    )


def counts_by_group(survey: Survey) -> dict[tuple[int, int, int], int]:
    return {
        (q, c, r): n
        for q, c, r, n in AnswerCount.objects.filter(survey=survey)
        .values_list("question_id", "choice_key", "rank_key")
        .annotate(n=Count("*"))
        .order_by()
    }


def grouped(survey: Survey) -> dict[int, dict[str, Any]]:
    return {k: vars(v) for k, v in selectors.tally(Answer.objects.filter(survey=survey)).items()}


def counted(survey: Survey) -> dict[int, dict[str, Any]]:
    return {k: vars(v) for k, v in selectors.counts(survey).items()}


def test_definition_revision_moves_on_every_change() -> None:
    """Kept by database triggers: on SQLite a migration that rebuilds one of these
    tables drops them, and this test says so."""
    community = CommunityFactory()
    survey = make_survey(community)
    other = make_survey(community)
    seen = [revision(survey)]
    other_before = revision(other)

    def moved() -> None:
        now = revision(survey)
        assert now > seen[-1]
        seen.append(now)

    section = survey.sections.get(order=2)
    services.save_section(section=section, survey=survey)
    moved()
    shift = survey.questions.get(name="shift")
    shift.required = False
    services.save_question(
        question=shift,
        survey=survey,
        section=shift.section,
        choices=[("day", "Day"), ("night", "Night")],
        language="en",
    )
    moved()
    Choice.objects.filter(question=shift, name="night").update(name="nights")  # bulk, no save()
    moved()
    worries = survey.questions.get(name="worries")
    services.move_question(question=worries, up=True)  # bulk_update of the order
    moved()
    first_choice = shift.choices.first()
    assert first_choice is not None
    services.save_translations(
        survey=survey, language="en", texts={f"choice.{first_choice.pk}": "Days"}
    )
    moved()
    services.delete_question(question=survey.questions.get(name="story"))
    moved()
    assert revision(other) == other_before


@pytest.mark.django_db(transaction=True)  # on PostgreSQL: the one-statement write
def test_a_change_after_the_response_was_read_is_checked_against() -> None:
    """The answers were read (and the definition cached) before an organiser made a
    question required: the write notices the new revision and checks again."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    first = started(survey, shift="day", disciplined="no")
    submitting = services.response_to_submit(first)
    assert submitting is not None
    assert services.submit_response(response=submitting) == {}  # caches the definition
    raw = started(survey, shift="day", disciplined="no")
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    before = counted(survey)
    age = survey.questions.get(name="age")
    age.required = True
    services.save_question(
        question=age, survey=survey, section=age.section, choices=None, language="en"
    )
    assert services.submit_response(response=submitting) == {"age": "Answer this question."}
    assert Response.objects.get(pk=submitting.pk).status == Response.Status.PARTIAL
    assert counted(survey) == before == grouped(survey)
    assert not Answer.objects.filter(response_id=submitting.pk).exists()


@pytest.mark.django_db(transaction=True)  # on PostgreSQL: the one-statement write
def test_a_removed_choice_is_not_written() -> None:
    """A choice removed after the response was read (and the old definition cached):
    the write notices, the answers are checked again, and the one that is no longer an
    option is refused with a message, not written."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    raw = started(survey, shift="night", disciplined="yes", worries=["sharing"])
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    assert submitting.definition_revision is not None
    selectors.definition(survey, submitting.definition_revision)
    withdraw_sharing(survey)
    assert services.submit_response(response=submitting) == {
        "worries": "The options of this question have changed. Choose again."
    }
    assert Response.objects.get(pk=submitting.pk).status == Response.Status.PARTIAL
    assert not Answer.objects.filter(response_id=submitting.pk).exists()
    assert counted(survey) == grouped(survey)


@pytest.mark.django_db(transaction=True)  # on PostgreSQL: the one-statement write
def test_a_closed_survey_takes_no_more_submissions() -> None:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community, status=Survey.Status.OPEN)
    raw = started(survey, shift="day", disciplined="no")
    services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=organiser)
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    with pytest.raises(ServiceError, match="not taking answers"):
        services.submit_response(response=submitting)
    assert Response.objects.get(pk=submitting.pk).status == Response.Status.PARTIAL
    assert not Answer.objects.exists()
    assert not AnswerCount.objects.exists()


def test_the_check_page_says_a_closed_survey_is_closed() -> None:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community, status=Survey.Status.OPEN)
    raw = started(survey, shift="day", disciplined="no")
    services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=organiser)
    client = Client()
    url = reverse("surveys_public:check", kwargs={"token": raw})
    sent = client.post(url, follow=True)
    assert sent.redirect_chain == [(url, 302)]
    assert "This survey is not taking answers at the moment." in sent.content.decode()
    assert Response.objects.get(survey=survey).status == Response.Status.PARTIAL


def test_the_check_page_marks_an_answer_whose_option_was_withdrawn() -> None:
    """The reason only the submission knows is shown beside its question, so the
    respondent knows what to change instead of meeting the same refusal again."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    raw = started(survey, shift="night", disciplined="yes", worries=["sharing"])
    withdraw_sharing(survey)
    url = reverse("surveys_public:check", kwargs={"token": raw})
    page = Client().post(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Some answers need your attention before you send them." in html
    assert "The options of this question have changed. Choose again." in html
    assert Response.objects.get(survey=survey).status == Response.Status.PARTIAL
    assert not Answer.objects.filter(survey=survey).exists()


def test_counts_are_spread_over_shards_and_sum_to_the_answers() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    for i in range(AnswerCount.SHARDS + 3):
        raw = started(
            survey,
            shift="day" if i % 3 else "night",
            age=20 + i,
            disciplined="yes" if i % 2 else "no",
            worries=["rates", "cameras"][: 1 + i % 2],
            **({"story": f"story {i}"} if i % 2 else {}),
        )
        submitting = services.response_to_submit(raw)
        assert submitting is not None
        assert services.submit_response(response=submitting) == {}
    shards = set(AnswerCount.objects.filter(survey=survey).values_list("shard", flat=True))
    assert shards == set(range(AnswerCount.SHARDS))
    assert counted(survey) == grouped(survey)
    shift = survey.questions.get(name="shift")
    assert counted(survey)[shift.pk]["chosen"] == {
        shift.choices.get(name="day").pk: 12,
        shift.choices.get(name="night").pk: 7,
    }
    before = counted(survey)
    services.recount(survey=survey)
    assert counted(survey) == before
    assert set(AnswerCount.objects.filter(survey=survey).values_list("shard", flat=True)) == {0}
    assert max(counts_by_group(survey).values()) == 1


def test_a_submission_reads_once_and_writes_in_one_transaction(
    django_assert_num_queries: Any,
) -> None:
    """With this process's copy of the survey: the lookup, then the claim, the answers
    and the counts (plus the test's savepoint and its release)."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    warm = services.response_to_submit(started(survey, shift="day", disciplined="no"))
    assert warm is not None
    assert services.submit_response(response=warm) == {}
    raw = started(survey, shift="night", disciplined="yes", worries=["rates", "sharing"])
    with django_assert_num_queries(6):
        submitting = services.response_to_submit(raw)
        assert submitting is not None
        assert services.submit_response(response=submitting) == {}
    assert Answer.objects.filter(response_id=submitting.pk).count() == 4
    assert services.response_to_submit(raw) is None  # the private link is spent


@pytest.mark.django_db(transaction=True)
def test_the_same_link_sent_from_two_browsers_at_once_is_one_response() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    raw = started(survey, shift="night", disciplined="yes", worries=["rates"], story="Warned")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        try:
            submitting = services.response_to_submit(raw)
            barrier.wait()
            if submitting is None:
                outcomes.append("gone")
            else:
                outcomes.append(repr(services.submit_response(response=submitting)))
        except Exception as error:
            outcomes.append(f"error {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["{}"] * 4, outcomes
    assert Response.objects.get(survey=survey).status == Response.Status.COMPLETE
    assert Answer.objects.filter(survey=survey).count() == 4
    assert counted(survey) == grouped(survey)
    assert sum(AnswerCount.objects.filter(survey=survey).values_list("n", flat=True)) == 4


def test_a_preview_is_checked_then_thrown_away() -> None:
    survey = make_survey(CommunityFactory())
    response, raw = services.start_response(survey=survey, language="en", preview=True)
    services.save_page(response=response, answers={"shift": "day"}, page=1)
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    assert submitting.is_preview
    assert services.submit_response(response=submitting) == {"disciplined": "Answer this question."}
    assert Response.objects.filter(pk=response.pk).exists()
    services.save_page(response=response, answers={"shift": "day", "disciplined": "no"}, page=1)
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    assert services.submit_response(response=submitting) == {}
    assert not Response.objects.exists()
    assert not Answer.objects.exists()
    assert not AnswerCount.objects.exists()


def test_the_question_types_read_by_the_plain_lookup() -> None:
    """response_to_submit decodes the JSON columns itself (text on SQLite)."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    services.add_language(survey=survey, language="pl")
    response, raw = services.start_response(survey=survey, language="pl")
    values = {"shift": "day", "age": 31.5, "disciplined": "yes", "worries": ["rates"]}
    services.save_page(response=response, answers=values, page=1)
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    assert submitting.draft == values
    assert submitting.language == "pl"
    assert submitting.survey.languages == ["en", "pl"]
    assert submitting.survey.link_token == survey.link_token
    assert submitting.survey.default_language == "en"
    assert services.submit_response(response=submitting) == {}
    assert Answer.objects.get(response_id=submitting.pk, question__name="age").number == 31.5
    assert Question.objects.filter(survey=survey).count() == 5


@pytest.mark.django_db(transaction=True)
def test_many_respondents_at_once_are_all_stored_and_counted() -> None:
    """Threads submitting together share transactions on SQLite (group commit) and one
    statement each on PostgreSQL; every acknowledged response is stored once."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    tokens = [
        started(survey, shift="day" if i % 2 else "night", disciplined="no", age=20 + i)
        for i in range(12)
    ]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(tokens))

    def send(raw: str) -> None:
        try:
            submitting = services.response_to_submit(raw)
            barrier.wait()
            assert submitting is not None
            outcomes.append(repr(services.submit_response(response=submitting)))
        except Exception as error:
            outcomes.append(f"error {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(raw,)) for raw in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["{}"] * len(tokens), outcomes
    complete = Response.objects.filter(survey=survey, status=Response.Status.COMPLETE)
    assert complete.count() == len(tokens)
    assert Answer.objects.filter(survey=survey).count() == 3 * len(tokens)
    assert counted(survey) == grouped(survey)
    age = survey.questions.get(name="age")
    assert counted(survey)[age.pk]["number_sum"] == sum(20 + i for i in range(12))


@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_writes_nothing_and_each_is_written_again_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    day = shift.choices.get(name="day").pk

    def pending(raw: str, choice_id: int) -> services._Pending:
        return queued_write(survey, raw, shift.pk, choice_id)

    good = pending(started(survey, shift="day", disciplined="no"), day)
    bad = pending(started(survey, shift="day", disciplined="no"), 999_999)  # no such choice
    with caplog.at_level("WARNING", logger="sayso.surveys.services"):
        services._write_batch([good, bad], alone=False)
    assert "A batch of 2 survey submissions failed" in caplog.text
    assert good.failed
    assert bad.failed
    assert not Response.objects.filter(status=Response.Status.COMPLETE).exists()
    assert not Answer.objects.exists()
    assert not AnswerCount.objects.exists()
    services._write_batch([good], alone=True)
    assert good.claimed is True
    with pytest.raises(IntegrityError):
        services._write_batch([bad], alone=True)
    assert list(
        Response.objects.filter(status=Response.Status.COMPLETE).values_list("pk", flat=True)
    ) == [good.response_id]
    assert counted(survey) == grouped(survey)
    assert counted(survey)[shift.pk]["chosen"] == {day: 1}


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_claim_misses_one_response_writes_nothing_then_each_alone() -> None:
    """The batch claims all its responses in one UPDATE; when one of them is already
    submitted (the same link sent twice in one batch), nothing of the batch is written
    and each submission is written again on its own: one response, counted once."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    day = shift.choices.get(name="day").pk
    raw = started(survey, shift="day", disciplined="no")
    other = started(survey, shift="day", disciplined="no")

    def pending(token: str) -> services._Pending:
        return queued_write(survey, token, shift.pk, day)

    first, again, third = pending(raw), pending(raw), pending(other)
    services._write_batch([first, again, third], alone=False)
    assert all(w.failed for w in (first, again, third))
    assert not Response.objects.filter(status=Response.Status.COMPLETE).exists()
    assert not Answer.objects.exists()
    assert not AnswerCount.objects.exists()
    for write in (first, again, third):
        services._write_batch([write], alone=True)
    assert (first.claimed, again.claimed, third.claimed) == (True, False, True)
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 2
    assert counted(survey)[shift.pk]["chosen"] == {day: 2}
    assert counted(survey) == grouped(survey)


@pytest.mark.django_db(transaction=True)
def test_a_batch_claims_nothing_after_its_survey_changed() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    shift = survey.questions.get(name="shift")
    day = shift.choices.get(name="day").pk
    writes = []
    for _ in range(3):
        submitting = services.response_to_submit(started(survey, shift="day", disciplined="no"))
        assert submitting is not None
        assert submitting.definition_revision is not None
        writes.append(
            services._Pending(
                submitting.pk,
                survey.pk,
                submitting.definition_revision,
                "{}",
                timezone.localdate(),
                [(shift.pk, day, None, None, None, "")],
            )
        )
    services.save_section(section=survey.sections.get(order=2), survey=survey)  # a new revision
    services._write_batch(writes, alone=False)
    assert all(w.failed for w in writes)
    for write in writes:
        services._write_batch([write], alone=True)
        assert write.claimed is False
    assert not Response.objects.filter(status=Response.Status.COMPLETE).exists()
    assert not Answer.objects.exists()
    assert not AnswerCount.objects.exists()


def test_prepared_rules_check_as_each_question_would_be_checked() -> None:
    """logic.check_all over the definition's prepared rules gives the messages of
    check_answer and drops what is_relevant hides, for every kind of case."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    questions = list(Question.objects.filter(survey=survey))
    prepared = selectors.definition(survey, revision(survey)).rules
    cases: list[dict[str, Any]] = [
        {},
        {"shift": "day", "disciplined": "no", "story": "hidden when not disciplined"},
        {"shift": "day", "disciplined": "yes", "story": "kept", "age": 12},
        {"shift": "night", "disciplined": "yes", "age": 40, "worries": []},
        {"disciplined": "yes", "age": 81, "worries": ["rates"]},
    ]
    for case in cases:
        expected_answers = dict(case)
        expected: dict[str, str] = {}
        for q in questions:
            if not logic.is_relevant(q, expected_answers):
                expected_answers.pop(q.name, None)
                continue
            message = logic.check_answer(
                q, expected_answers.get(q.name), expected_answers, "en", "en"
            )
            if message:
                expected[q.name] = message
        answers = dict(case)
        assert logic.check_all(prepared, answers, "en", "en") == expected, case
        assert answers == expected_answers, case
    assert logic.check_all(prepared, {"shift": "day", "age": 12}, "en", "en") == {
        "age": "Give an age from 16 to 80.",
        "disciplined": "Answer this question.",
    }


def test_the_thank_you_page_is_the_surveys_own_in_the_respondents_language() -> None:
    community = CommunityFactory()
    client = Client()
    for language in ("en", "pl", "en"):
        survey = make_survey(community, status=Survey.Status.OPEN)
        services.add_language(survey=survey, language="pl")
        response, raw = services.start_response(survey=survey, language=language)
        services.save_page(response=response, answers={"shift": "day", "disciplined": "no"}, page=1)
        sent = client.post(reverse("surveys_public:check", kwargs={"token": raw}))
        thanks = reverse("surveys_public:thanks", kwargs={"link": survey.link_token})
        assert sent.status_code == 302
        assert sent["Location"] == (thanks if language == "en" else f"{thanks}?lang=pl")
        assert Response.objects.get(pk=response.pk).status == Response.Status.COMPLETE


@pytest.mark.django_db(transaction=True)
def test_the_stored_draft_is_kept_as_read_unless_an_answer_is_dropped() -> None:
    """The write path of a real submission (group commit on SQLite, one statement on
    PostgreSQL) writes back the draft text it read when no answer is dropped, and the
    checked answers when one is: an answer to a question no longer shown is not kept."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    kept = {"shift": "day", "disciplined": "yes", "story": "Warned", "worries": ["rates"]}
    dropped = {"shift": "night", "disciplined": "no", "story": "Not asked"}
    sent = []
    for values in (kept, dropped):
        submitting = services.response_to_submit(started(survey, **values))
        assert submitting is not None
        assert services.submit_response(response=submitting) == {}
        sent.append(submitting.pk)
    first, second = (Response.objects.get(pk=pk) for pk in sent)
    assert (first.status, second.status) == (Response.Status.COMPLETE,) * 2
    assert first.draft == kept
    assert second.draft == {"shift": "night", "disciplined": "no"}
    assert not Answer.objects.filter(response=second, question__name="story").exists()
    assert counted(survey) == grouped(survey)


def test_a_missing_answer_gets_the_surveys_own_words_in_the_respondents_language() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "fr"])
    disciplined = survey.questions.get(name="disciplined")
    # Saved through the builder's service, after the definition was compiled and cached.
    first = services.response_to_submit(started(survey, shift="day", disciplined="no"))
    assert first is not None
    assert services.submit_response(response=first) == {}
    disciplined.required_message = {"en": "Say yes or no, please.", "fr": "Oui ou non, svp."}
    services.save_question(
        question=disciplined,
        survey=survey,
        section=disciplined.section,
        choices=[(c.name, c.text("en")) for c in disciplined.choices.all()],
        language="en",
    )
    raw = started(survey, shift="day")
    submitting = services.response_to_submit(raw)
    assert submitting is not None
    assert services.submit_response(response=submitting) == {
        "disciplined": "Say yes or no, please."
    }
    assert Response.objects.get(pk=submitting.pk).status == Response.Status.PARTIAL
    # On the page itself, in French; a question without its own words keeps Sayso's.
    assert logic.check_answer(disciplined, None, {}, "fr", "en") == "Oui ou non, svp."
    shift = survey.questions.get(name="shift")
    assert logic.check_answer(shift, None, {}, "fr", "en") == "Answer this question."
