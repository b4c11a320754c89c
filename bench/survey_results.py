"""Results page and CSV export of a 30-question survey with many responses.

Usage: python bench/survey_results.py [responses] [--keep DIR] [--formats all]
       [--skip-results] [--breakdowns K]   (default 100000 responses, CSV only, K=1)

Builds a survey of 30 questions (24 single choice, 3 multiple choice, 3 number) with N
submitted responses in a throwaway SQLite file (`--keep DIR` keeps it there and reuses
it on the next run), then, in a fresh process so that memory figures are its own:

The first K single-choice questions (default 1: "q0", as an organiser would declare a
shift question) are breakdown questions, as most real surveys have: results are then
protected jointly across every view, which costs a query over every answer. With
`--breakdowns 0` the survey has none (the figures before breakdowns existed). Each
results figure is taken unfiltered, filtered by q0's second answer, broken down by q0,
and both; "first" is a request with nothing kept from an earlier one (the kept joint
counts dropped): from 10,000 responses it says "Counting the answers" and queues the
count, which is then made here as the task worker makes it, and timed; "best" is the
best of the warm ones after it.

- the results computation (all questions, Wilson intervals, suppression), best of 5,
  with its query count, and the same weighted (post-stratified by the first
  question, then raked to the first two), best of 3 each;
- the whole results page as an organiser gets it (view, template, charts), server
  time through Django's test client, best of 5, after one warming request;
- for each export format asked for (`--formats csv,xlsx,sav,datapackage` or `all`;
  CSV alone by default; `sav-frame` writes SPSS the old way, from one DataFrame, for
  comparison), in another fresh process, a full export: CSV read as a client would,
  the others written to a file as the task worker does: rows per second (CSV best of
  3, the others once, timed without tracemalloc, which slows Python down), then peak
  traced Python memory and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = 30
CHOICES = 5
ORGANISER = "organiser@example.org"


def setup(workdir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["SAYSO_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
    os.environ["SAYSO_DEBUG"] = "0"
    os.environ.setdefault("SAYSO_SECRET_KEY", "bench-" + "x" * 60)
    os.environ["SAYSO_SSL_REDIRECT"] = "0"
    # The whole page is served as in production (DEBUG off), which reads static files'
    # hashed names from the manifest that collectstatic writes: kept beside the database.
    os.environ["SAYSO_STATIC_ROOT"] = str(workdir / "static")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def kind_of(i: int) -> str:
    return "multiple" if i % 10 == 9 else "number" if i % 10 == 8 else "single"


def build(n: int, breakdowns: int = 1) -> None:
    """Write the survey straight into the database (bulk inserts, not the respondent
    flow: the ingest benchmark times that)."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from sayso.core.models import Community, Membership, Role
    from sayso.surveys.models import Answer, Choice, Question, Response, Section, Survey

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.contrib.auth import get_user_model

    community = Community.objects.create(name="Bench", slug="bench")
    organiser = get_user_model().objects.create_user(email=ORGANISER, password=None)
    Membership.objects.create(community=community, user=organiser, role=Role.ORGANISER)
    survey = Survey.objects.create(
        community=community, title="Bench", languages=["en"], status="open"
    )
    section = Section.objects.create(survey=survey, order=1, title={"en": "All"})
    questions: list[tuple[Any, list[Any]]] = []
    for i in range(QUESTIONS):
        q = Question.objects.create(
            survey=survey,
            section=section,
            order=i,
            name=f"q{i}",
            type=kind_of(i),
            label={"en": f"Question {i}"},
            is_breakdown=kind_of(i) == "single" and i < breakdowns,
        )
        choices = (
            []
            if q.type == "number"
            else [
                Choice.objects.create(
                    question=q, order=j, name=f"c{j}", label={"en": f"Option {j}"}
                )
                for j in range(CHOICES)
            ]
        )
        questions.append((q, choices))
    rng = random.Random(1)
    today = timezone.localdate()
    answer_table = Answer._meta.db_table
    # The table name comes from the model; the values are parameters.
    insert = (
        f"INSERT INTO {answer_table} (survey_id, response_id, question_id, choice_id, rank,"  # noqa: S608
        " number, date, text, approved) VALUES (%s, %s, %s, %s, %s, %s, NULL, '', %s)"
    )
    start = time.perf_counter()
    batch = 5000
    for offset in range(0, n, batch):
        with transaction.atomic():
            drafts = []
            for _ in range(min(batch, n - offset)):
                data: dict[str, object] = {}
                for q, choices in questions:
                    if q.type == "number":
                        data[q.name] = rng.randint(18, 65)
                    elif q.type == "multiple":
                        picked = [c.name for c in choices if rng.random() < 0.4]
                        if picked:
                            data[q.name] = picked
                    else:
                        # Skewed, so that some options are small enough to hide in filters.
                        data[q.name] = rng.choices(choices, weights=(40, 30, 20, 9, 1))[0].name
                drafts.append(
                    Response(
                        survey=survey,
                        status="complete",
                        started_on=today,
                        submitted_on=today,
                        draft=data,
                    )
                )
            made = Response.objects.bulk_create(drafts)
            rows: list[tuple[Any, ...]] = []
            for response in made:
                for q, choices in questions:
                    value = response.draft.get(q.name)
                    if value is None:
                        continue
                    if q.type == "number":
                        rows.append((survey.pk, response.pk, q.pk, None, None, value, False))
                    else:
                        names = value if isinstance(value, list) else [value]
                        multiple = q.type == "multiple"
                        position = 0
                        for c in choices:
                            if c.name in names:
                                position += 1
                                rank = position if multiple else None
                                rows.append((survey.pk, response.pk, q.pk, c.pk, rank, None, False))
            with connection.cursor() as cursor:
                cursor.executemany(insert, rows)
        print(f"  {offset + len(made):>7} responses", end="\r", flush=True)
    # The running counts that submissions keep, built from the answers in one go.
    from sayso.surveys.services import recount

    recount(survey=survey)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {n} responses in {time.perf_counter() - start:.1f} s")


def measure() -> None:
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sayso.surveys import selectors
    from sayso.surveys.models import Answer, Survey

    survey = Survey.objects.select_related("community").get(title="Bench")
    n = selectors.complete_responses(survey).count()
    answers = Answer.objects.filter(survey=survey).count()
    splits = list(survey.questions.filter(is_breakdown=True).prefetch_related("choices"))
    print(
        f"survey: {QUESTIONS} questions ({len(splits)} to break down by),"
        f" {n:,} responses, {answers:,} answer rows"
    )
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)  # a database kept from before

    # The views a user can ask for: unfiltered and, with a breakdown question, filtered by
    # its second answer, broken down by it, and both.
    views: list[tuple[str, dict[str, Any], str]] = [("unfiltered", {}, "")]
    if splits:
        by = splits[0]
        name = list(by.choices.all())[1].name
        views += [
            ("filtered", {"only": (by, name)}, f"?only={by.name}:{name}"),
            ("broken down", {"breakdown": by}, f"?by={by.name}"),
            (
                "filtered + broken down",
                {"only": (by, name), "breakdown": by},
                f"?only={by.name}:{name}&by={by.name}",
            ),
            # Published figures are protected from the members' hidden cells (the
            # members' tables worked out first), so they cost more.
            (
                "published, broken down",
                {"breakdown": by, "audience": "published"},
                f"?by={by.name}&audience=published",
            ),
        ]
    for label, options, _query in views:
        cache.clear()  # nothing kept from an earlier request
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            found = selectors.results(survey, **options)
        first = time.perf_counter() - t
        first_queries = len(queries)
        counted = _count_in_worker(found.still_counting, selectors, survey)
        timings = []
        for _ in range(5):
            t = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                found = selectors.results(survey, **options)
            timings.append(time.perf_counter() - t)
        assert not found.refusal, found.refusal
        if not options:
            assert found.respondents == n
        hidden = sum(row.hidden for q in found.questions for row in q.rows)
        print(
            f"results computation, {label}: first {first * 1000:.0f} ms ({first_queries} queries)"
            f"{counted}, then best {min(timings) * 1000:.0f} ms of 5 ({len(queries)} queries),"
            f" {hidden} cells suppressed"
        )

    # Weighted by the first question (post-stratification to equal groups), then raked
    # to the first two questions' margins; the targets are set on the object only, so
    # the kept database is not changed.
    equal = {f"c{j}": 1000.0 for j in range(CHOICES)}
    rising = {f"c{j}": 5000.0 * (j + 1) / sum(range(1, CHOICES + 1)) for j in range(CHOICES)}
    for label, targets in (
        ("weighted results computation", {"q0": equal}),
        ("raked results computation (2 margins)", {"q0": equal, "q1": rising}),
    ):
        survey.weighting_targets = targets
        # A new weighting is a new snapshot, made by the task worker (timed here).
        first_view = selectors.results(survey, weighted=True)
        counted = _count_in_worker(first_view.still_counting, selectors, survey)
        timings = []
        for _ in range(3):
            t = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                weighted = selectors.results(survey, weighted=True)
            timings.append(time.perf_counter() - t)
        outcome = (
            f"effective sample size {weighted.weighting.n_eff:,.0f}"
            if weighted.weighting is not None
            else f"not weighted: {weighted.weighting_refusal[:60]}..."
        )
        print(
            f"{label}:{counted}, then best {min(timings) * 1000:.0f} ms of 3,"
            f" {len(queries)} queries, {outcome}"
        )
    survey.weighting_targets = {}

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(email=ORGANISER))
    for label, _options, query in views:
        url = f"/c/{survey.community.slug}/surveys/{survey.pk}/results/{query}"
        cache.clear()
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url)
        cold = time.perf_counter() - t
        cold_queries = len(queries)
        assert page.status_code == 200, page.status_code
        counted = _count_in_worker(b"Counting the answers" in page.content, selectors, survey)
        timings = []
        for _ in range(5):
            reset_queries()
            t = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                page = client.get(url)
            timings.append(time.perf_counter() - t)
            assert page.status_code == 200
        print(
            f"results page, {label} (organiser, whole response): first {cold * 1000:.0f} ms"
            f" ({cold_queries} queries){counted}, then best {min(timings) * 1000:.0f} ms of 5"
            f" ({len(queries)} queries), {len(page.content) / 1e3:.0f} kB"
        )


def _count_in_worker(still_counting: bool, selectors: Any, survey: Any) -> str:
    """A big survey's first view says "Counting the answers" and queues the count; do
    what the task worker does here, timed, so that the warm figures after it are read
    from the snapshot. Returns what to print about it."""
    if not still_counting:
        return " (counted in the request)"
    t = time.perf_counter()
    selectors.recount_results(survey)
    return f" showing 'Counting the answers'; the worker's count {time.perf_counter() - t:.1f} s"


FORMATS = ("csv", "xlsx", "sav", "datapackage")
# Not in "all": SPSS written the old way, from one DataFrame of every response, to
# compare memory with the streamed file (`--formats sav,sav-frame`).
COMPARISONS = ("sav-frame",)


def measure_export(fmt: str = "csv") -> None:
    """One export format, in its own process so that its peak RSS is its own.

    CSV is read as the client receives the streamed response. The other formats are
    written to a file as the task worker writes them (exports.FILE_FORMATS), without
    the copy into the private storage that follows."""
    from sayso.surveys import exports, selectors
    from sayso.surveys.models import Survey

    survey = Survey.objects.select_related("community").get(title="Bench")
    n = selectors.complete_responses(survey).count()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3

    def write_frame(survey: Survey, path: Path) -> int:
        import pandas as pd
        import pyreadstat

        questions = exports.columns(survey)
        frame = pd.concat(list(exports.sav_chunks(survey, questions)()), ignore_index=True)
        pyreadstat.write_sav(frame, str(path), **exports.sav_options(survey, questions))
        return len(frame)

    def export() -> int:
        if fmt == "csv":
            # Every streamed block read, then closed.
            response = exports.export_csv(survey)
            try:
                return sum(len(chunk) for chunk in response)
            finally:
                response.close()
        write = write_frame if fmt == "sav-frame" else exports.FILE_FORMATS[fmt].write
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "export"
            assert write(survey, path) == n
            return path.stat().st_size

    # CSV is quick enough to take the best of 3; the others are timed once.
    rates = []
    for _ in range(3 if fmt == "csv" else 1):
        t = time.perf_counter()
        size = export()
        rates.append(n / (time.perf_counter() - t))
    # Peak RSS of the untraced runs: tracemalloc's own bookkeeping would add to it.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    tracemalloc.start()
    export()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"{fmt.upper()} export of {n:,}: {'best ' if fmt == 'csv' else ''}{max(rates):,.0f} rows/s"
        f"{' of 3' if fmt == 'csv' else ''} ({n / max(rates):.1f} s), {size / 1e6:.1f} MB,"
        f" peak traced Python memory {peak / 1e6:.1f} MB, process peak RSS {rss:.0f} MB"
        f" ({rss_before:.0f} MB before exporting: Python, Django, SQLite)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("responses", nargs="?", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the database in DIR")
    parser.add_argument(
        "--formats",
        default="csv",
        help=(
            f"export formats to measure, comma-separated, or 'all' ({', '.join(FORMATS)});"
            f" also {', '.join(COMPARISONS)}"
        ),
    )
    parser.add_argument("--skip-results", action="store_true", help="measure only the exports")
    parser.add_argument(
        "--breakdowns",
        type=int,
        default=1,
        help="how many single-choice questions are breakdown questions (default 1)",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--part", default="results", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        setup(args.measure)
        measure() if args.part == "results" else measure_export(args.part)
        return
    formats = FORMATS if args.formats == "all" else tuple(args.formats.split(","))
    unknown = [f for f in formats if f not in FORMATS + COMPARISONS]
    if unknown:
        choices = ", ".join(FORMATS + COMPARISONS)
        parser.error(f"unknown format {', '.join(unknown)}: choose from {choices}")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sayso-survey-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    marker = workdir / f"built-{args.responses}-breakdowns-{args.breakdowns}"
    try:
        if not marker.exists():
            (workdir / "bench.sqlite3").unlink(missing_ok=True)
            for old in workdir.glob("built-*"):
                old.unlink()  # the database they stood for is gone
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    BUILD,
                    str(workdir),
                    str(args.responses),
                    str(args.breakdowns),
                ],
                check=True,
                cwd=ROOT,
            )
            marker.touch()
        for part in (() if args.skip_results else ("results",)) + formats:
            subprocess.run(
                [sys.executable, __file__, "--measure", str(workdir), "--part", part],
                check=True,
                cwd=ROOT,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


BUILD = (
    "import sys; sys.path.insert(0, 'bench'); from pathlib import Path; import survey_results as b;"
    " b.setup(Path(sys.argv[1])); b.build(int(sys.argv[2]), int(sys.argv[3]))"
)

if __name__ == "__main__":
    main()
