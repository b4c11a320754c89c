"""Concurrent double submits of one vote leave exactly one row."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Vote

from .factories import ConversationFactory, ParticipantFactory, StatementFactory


@pytest.mark.django_db(transaction=True)
def test_double_vote_at_once_leaves_one_row() -> None:
    # The SQLite test database is a file (config/settings.py), so the threads meet
    # SQLite's real locking and busy timeout here.
    conversation = ConversationFactory.create()
    participant = ParticipantFactory.create(conversation=conversation)
    statements = StatementFactory.create_batch(5, conversation=conversation)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def submit(value: int) -> None:
        try:
            barrier.wait()
            for statement in statements:
                services.cast_vote(
                    conversation=Conversation.objects.get(pk=conversation.pk),
                    participant=participant.pk,
                    statement_id=statement.pk,
                    value=value,
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(1 if i % 2 else -1,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Vote.objects.count() == 5
    assert set(Vote.objects.values_list("statement_id", flat=True)) == {s.pk for s in statements}


def test_sqlite_checkpoints_the_wal_every_10000_pages(tmp_path: Path) -> None:
    # A checkpoint runs inside the commit that crosses the threshold, and the process's
    # other writers wait for it: at SQLite's default (1,000 pages) that was every ~250
    # votes and half of the write time (docs/benchmarks.md, Deliberation voting).
    # Checked on a connection of its own, so that it runs whichever database the suite
    # uses; the embedded default is checked to use the same PRAGMAs.
    with closing(sqlite3.connect(tmp_path / "pragmas.sqlite3")) as own:
        own.executescript(settings.SQLITE_PRAGMAS)
        assert own.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10000
        assert own.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert own.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        assert database["OPTIONS"]["init_command"].startswith(settings.SQLITE_PRAGMAS)
