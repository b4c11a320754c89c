# mypy: disable-error-code="no-untyped-call,arg-type"
"""Exports do not say in what order people answered.

A response's primary key counts up as people start the survey, so an export that
showed it, or listed rows in its order, would let whoever knows who started first
(who was handed the first invitation code) pick out their row. Every export shows
a random id instead (Response.export_key) and lists the rows in its order."""

from __future__ import annotations

import csv
import io
import itertools
import json
import tempfile
import zipfile
from importlib import import_module
from pathlib import Path

import pyreadstat
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from frictionless import Package
from openpyxl import load_workbook

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys import exports, models, services
from sayso.surveys.models import Response, Survey

from .factories import answer, make_survey

pytestmark = pytest.mark.django_db

N = 30  # a random order equal to the start order: one chance in 30! (about 4e-33)


def answered(n: int = N) -> tuple[Survey, list[Response]]:
    """An open survey answered `n` times, one after another; the responses in the
    order they were started."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    made = [
        answer(survey, shift="day" if i % 2 else "night", disciplined="yes", story=f"story {i}")
        for i in range(n)
    ]
    assert [r.pk for r in made] == sorted(r.pk for r in made)
    return survey, made


def csv_table(survey: Survey) -> list[list[str]]:
    body = b"".join(exports.export_csv(survey).streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_csv_rows_have_random_ids_in_an_order_unlike_the_start_order() -> None:
    survey, made = answered()
    table = csv_table(survey)
    assert table[0][0] == "response_id"
    ids = [int(row[0]) for row in table[1:]]
    keys = {r.export_key: r for r in made}
    assert sorted(ids) == sorted(keys)  # each response once, by its export key
    assert not set(ids) & {r.pk for r in made}
    assert all(len(row[0]) == 15 for row in table[1:])
    # Each row holds its own response's answers.
    assert all(
        row[table[0].index("story")] == f"story {made.index(keys[int(row[0])])}"
        for row in table[1:]
    )
    # The rows are in the order of the random ids, which is not the order people started.
    assert ids == sorted(ids)
    started = [keys[i].pk for i in ids]
    assert started != sorted(started)
    in_start_order = [r.export_key for r in made]
    assert in_start_order != sorted(in_start_order)
    # Nor close to it (the start order with a few swaps): in a shuffle of 30, about
    # one pair of rows started one after the other stays side by side.
    neighbours = sum(b == a + 1 for a, b in itertools.pairwise(started))
    assert neighbours < N // 2


def test_chunks_read_every_response_once_along_the_random_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keyset chunks on the random key: small chunks still give each response once."""
    survey, made = answered(17)
    monkeypatch.setattr(exports, "CHUNK", 4)
    chunks = list(exports.chunks(survey, exports.columns(survey)))
    assert [len(c) for c in chunks] == [4, 4, 4, 4, 1]
    ids = [row[0] for chunk in chunks for row in chunk]
    assert ids == sorted(r.export_key for r in made)


def test_every_format_carries_the_same_ids_for_the_same_responses() -> None:
    survey, made = answered()
    story_of = {r.export_key: f"story {i}" for i, r in enumerate(made)}
    expected = sorted(story_of)

    table = csv_table(survey)
    story = table[0].index("story")
    assert [int(row[0]) for row in table[1:]] == expected
    assert {int(row[0]): row[story] for row in table[1:]} == story_of

    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(survey)))["responses"]
    cells = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in cells] == expected
    assert {row[0].value: row[story].value for row in cells} == story_of
    assert {row[0].number_format for row in cells} == {"0"}  # shown in full, not 1.2E+14

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sav"
        path.write_bytes(exports.sav_bytes(survey))
        frame, meta = pyreadstat.read_sav(str(path))
    # SPSS keeps numbers as doubles: 15 digits come back exactly.
    assert frame["response_id"].tolist() == [float(k) for k in expected]
    assert dict(zip(frame["response_id"].astype("int64"), frame["story"], strict=True)) == story_of
    assert meta.original_variable_types["response_id"] == "F15.0"

    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(io.BytesIO(exports.datapackage_zip(survey))) as archive:
            archive.extractall(folder)
        report = Package(str(Path(folder) / "datapackage.json")).validate()
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
        descriptor = json.loads((Path(folder) / "datapackage.json").read_text())
        with (Path(folder) / "responses.csv").open(newline="", encoding="utf-8") as handle:
            package = list(csv.DictReader(handle))
    assert [int(row["response_id"]) for row in package] == expected
    assert {int(row["response_id"]): row["story"] for row in package} == story_of
    field = descriptor["resources"][0]["schema"]["fields"][0]
    assert field["name"] == "response_id"
    assert field["type"] == "integer"
    assert "random number" in field["description"]
    assert "says nothing about when or in what order" in field["description"]


def test_the_submission_date_stays_a_date() -> None:
    survey, _made = answered(2)
    table = csv_table(survey)
    assert table[0][1] == "submitted_on"
    assert {row[1] for row in table[1:]} == {timezone.localdate().isoformat()}


def test_upto_leaves_out_a_response_started_after_the_export_began() -> None:
    survey, made = answered(5)
    questions = exports.columns(survey)
    upto = max(r.pk for r in made)
    frames = exports.sav_chunks(survey, questions)  # notes the last response now
    late = answer(survey, shift="day", disciplined="no")
    # The smallest key there can be: without the rule it would be the first row.
    Response.objects.filter(pk=late.pk).update(export_key=models.EXPORT_KEY_LOW)
    everyone = [row[0] for chunk in exports.chunks(survey, questions) for row in chunk]
    assert everyone[0] == models.EXPORT_KEY_LOW
    before = [row[0] for chunk in exports.chunks(survey, questions, upto=upto) for row in chunk]
    assert before == sorted(r.export_key for r in made)
    written = [key for frame in frames() for key in frame["response_id"].tolist()]
    assert written == sorted(r.export_key for r in made)


def test_a_new_response_gets_a_random_fifteen_digit_key() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    keys = [services.start_response(survey=survey, language="en")[0].export_key for _ in range(20)]
    assert len(set(keys)) == 20
    assert all(models.EXPORT_KEY_LOW <= k < 10 * models.EXPORT_KEY_LOW for k in keys)
    assert keys != sorted(keys)
    stored = dict(Response.objects.filter(survey=survey).values_list("pk", "export_key"))
    assert sorted(stored.values()) == sorted(keys)


def test_a_key_another_response_has_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    taken = Response.objects.create(survey=survey, started_on=timezone.localdate())
    draws = iter([taken.export_key, taken.export_key, models.EXPORT_KEY_LOW + 7])
    monkeypatch.setattr(models, "new_export_key", lambda: next(draws))
    with transaction.atomic():  # as in services.start_response: the transaction goes on
        response = Response(
            survey=survey, started_on=timezone.localdate(), export_key=taken.export_key
        )
        response.save()
        assert Response.objects.filter(survey=survey).count() == 2
    response.refresh_from_db()
    assert response.export_key == models.EXPORT_KEY_LOW + 7


def test_a_key_that_keeps_clashing_or_another_conflict_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    taken = Response.objects.create(
        survey=survey, started_on=timezone.localdate(), resume_digest="d" * 64
    )
    drawn: list[int] = []

    def same_again() -> int:
        drawn.append(taken.export_key)
        return taken.export_key

    monkeypatch.setattr(models, "new_export_key", same_again)
    with pytest.raises(IntegrityError):
        Response(survey=survey, started_on=timezone.localdate(), export_key=taken.export_key).save()
    assert len(drawn) == models.EXPORT_KEY_DRAWS - 1
    # A clash on something else (here the resume link) is not the key's doing: no new draw.
    drawn.clear()
    with pytest.raises(IntegrityError):
        Response(survey=survey, started_on=timezone.localdate(), resume_digest="d" * 64).save()
    assert drawn == []
    assert list(Response.objects.filter(survey=survey)) == [taken]


def test_the_export_query_reads_the_index_in_key_order() -> None:
    """Each chunk is a range of the index on (survey, status, is_preview, export_key):
    no sort of all a survey's responses, and no scan of other surveys' rows."""
    survey, made = answered(3)
    page = (
        exports.export_query(survey, upto=made[-1].pk)
        .filter(export_key__gt=made[0].export_key)
        .values_list("export_key", "submitted_on", "draft")[: exports.CHUNK]
    )
    if connection.vendor == "sqlite":
        plan = page.explain()
        assert "USING INDEX response_export" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        # With a few rows PostgreSQL may rather read another index and sort: ask it
        # not to sort, to see that an index gives the order by itself.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")
        plan = page.explain()
        assert "response_export" in plan, plan
        assert "Sort" not in plan, plan


# --- the migration that gave existing responses their keys ------------------------------

BEFORE = [("surveys", "0008_response_export_key")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_responses_distinct_random_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    survey, made = answered(7)
    fill = import_module("sayso.surveys.migrations.0009_fill_response_export_keys")
    # The first two rows draw the same key: the migration must tell them apart.
    draws = itertools.chain([models.EXPORT_KEY_LOW] * 2, iter(models.new_export_key, None))
    monkeypatch.setattr(fill, "new_export_key", lambda: next(draws))
    monkeypatch.setattr(fill, "BATCH", 3)  # several batches
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("surveys")
    try:
        MigrationExecutor(connection).migrate(BEFORE)
        # As the database was before: responses without keys.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE surveys_response SET export_key = NULL")
            cursor.execute("SELECT COUNT(*) FROM surveys_response WHERE export_key IS NULL")
            assert cursor.fetchone() == (len(made),)
        MigrationExecutor(connection).migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)  # whatever happened, as it was
    keys = dict(Response.objects.values_list("pk", "export_key"))
    assert sorted(keys) == [r.pk for r in made]
    assert None not in keys.values()
    assert len(set(keys.values())) == len(made)
    assert models.EXPORT_KEY_LOW in keys.values()  # one of the two kept the key drawn
    assert all(models.EXPORT_KEY_LOW <= k < 10 * models.EXPORT_KEY_LOW for k in keys.values())
    # The keys are unique and required now.
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.filter(pk=made[0].pk).update(export_key=keys[made[1].pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.filter(pk=made[0].pk).update(export_key=None)
    exported = [int(row[0]) for row in csv_table(survey)[1:]]
    assert exported == sorted(keys.values())
