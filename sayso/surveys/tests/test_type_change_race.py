# mypy: disable-error-code="no-untyped-call,arg-type"
"""A first answer arriving while the builder changes its question's type: the builder's
"nobody has answered yet" and the change happen under a lock that submissions respect,
so either the answer is checked again against the new type, or the change is refused;
never an answer stored as the old type under the new one.

On PostgreSQL the submission's claim takes the survey's revision row FOR KEY SHARE and
the builder takes it FOR UPDATE before counting; on SQLite the builder's transaction
holds the one write lock. The threaded test runs on both (CI runs the suite on each)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import services
from sayso.surveys.models import Answer, DefinitionRevision, Question, Response, Survey

from .factories import make_survey


def started(survey: Survey, **answers: Any) -> str:
    response, raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=answers, page=1)
    return raw


def to_text(question: Question) -> Question:
    question.type = Question.Type.SHORT_TEXT
    question.constraint = ""
    return services.save_question(
        question=question,
        survey=question.survey,
        section=question.section,
        choices=None,
        language="en",
    )


@pytest.mark.django_db(transaction=True)
def test_a_first_answer_sent_during_a_type_change_is_never_stored_as_the_old_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The builder counts no answers; a submission answering that question is sent
    at that moment; the builder then changes the type. The submission must wait for
    the change and be checked against the new type (or, had it gone first, the change
    be refused): no number answer may end up under a text question."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    raw = started(survey, shift="day", disciplined="no", age=30)
    age = Question.objects.select_related("survey", "section").get(survey=survey, name="age")
    outcome: list[str] = []
    finished = threading.Event()

    def send() -> None:
        try:
            submitting = services.response_to_submit(raw)
            assert submitting is not None
            errors = services.submit_response(response=submitting)
            outcome.append(f"sent {errors}")
        finally:
            finished.set()
            close_old_connections()

    sender = threading.Thread(target=send)
    counted = services._people_who_answered

    def count_then_send(question_id: int) -> int:
        people = counted(question_id)
        sender.start()
        # Held back by the lock (the fix), or written meanwhile (the defect).
        outcome.append("sent during the change" if finished.wait(timeout=2) else "waited")
        return people

    monkeypatch.setattr(services, "_people_who_answered", count_then_send)
    try:
        to_text(age)
        outcome.append("changed")
    except ServiceError as error:
        outcome.append(f"change refused: {error}")
    sender.join(timeout=30)
    assert not sender.is_alive()
    assert outcome == ["waited", "changed", "sent {}"], outcome
    age.refresh_from_db()
    assert age.type == Question.Type.SHORT_TEXT
    stored = list(Answer.objects.filter(question=age).values_list("number", "text"))
    # Checked again against the new type: stored as the text a text question holds.
    assert stored == [(None, "30")]
    assert Response.objects.get(survey=survey, is_preview=False).status == "complete"


@pytest.mark.django_db
def test_the_builder_counts_answers_inside_the_transaction_that_locked_the_survey(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lock (the survey's revision row, FOR UPDATE where the database has it) is
    taken before the answers are counted, in the same transaction as the change."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    age = Question.objects.select_related("survey", "section").get(survey=survey, name="age")
    revision_table = DefinitionRevision._meta.db_table
    seen: list[tuple[bool, list[str]]] = []
    counted = services._people_who_answered

    def watching(question_id: int) -> int:
        seen.append((connection.in_atomic_block, [q["sql"] for q in captured.captured_queries]))
        return counted(question_id)

    monkeypatch.setattr(services, "_people_who_answered", watching)
    with CaptureQueriesContext(connection) as captured:
        to_text(age)
    (in_transaction, before_count), *_ = seen
    assert in_transaction
    locks = [sql for sql in before_count if revision_table in sql and "survey_id" in sql]
    assert locks, before_count
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in locks[0]
        assert "NO KEY" not in locks[0]  # NO KEY UPDATE would not stop a claim
    # And the submission's claim, on PostgreSQL, takes the row it conflicts with.
    if connection.vendor == "postgresql":
        assert "FOR KEY SHARE OF r" in services._ONE_STATEMENT
        assert "FOR KEY SHARE OF r" in services._CLAIM
