"""Survey ingestion: 64 concurrent respondents submitting over HTTP to gunicorn.

Usage: python bench/survey_ingest.py [--postgres] [--seconds 15] [--clients 64] [--workers 2 --threads 4]

Sayso runs production-like under gunicorn (bench/_server.py: 2 workers x 4 threads,
DEBUG off) on SQLite in WAL mode, or with `--postgres` on a throwaway PostgreSQL
database (postgres://postgres@127.0.0.1:5432/<temp>, created and dropped here).

A prep step (manage.py shell) builds an open survey of 8 questions (single choice,
multiple choice, a number with a constraint, a rating, a ranking, skip logic, a text)
and enough responses in progress with every answer given, each reachable by its
private link. Each simulated respondent first fetches one check page (for the CSRF
cookie and token), then, for the measured time, sends its "Send my answers" POST to
the check page of one response after another: the whole server-side submission
(every answer checked against the rules, answers written, running counts updated).
An acknowledgement is a 302 to the thank-you page.

In the same run and with the same client, the same number of connections ask the
minimal Django view /healthz for the same time: the HTTP ceiling. Printed: the
submissions per second against that, latency percentiles, the server's CPU time per
request (gunicorn master and workers, from /proc: steadier than the rates when other
work shares the machine), and a check afterwards
that every acknowledged response is stored complete with its answers and that the
running counts equal a fresh GROUP BY over the answers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from _server import PY, ROOT, prepared_site, production_env, running, server_cpu_seconds

PG_BASE = "postgres://postgres@127.0.0.1:5432"

PREP = """
import json, sys
from django.utils import timezone
from sayso.core.models import Community
from sayso.surveys.models import Choice, Question, Response, Section, Survey, digest, new_token

n = {n}
community = Community.objects.create(name="Ingest", slug="ingest")
survey = Survey.objects.create(community=community, title="Ingest", languages=["en"], status="open")
first = Section.objects.create(survey=survey, order=1, title={{"en": "You"}})
second = Section.objects.create(survey=survey, order=2, title={{"en": "Work"}})
def q(section, order, name, kind, choices=(), **extra):
    made = Question.objects.create(survey=survey, section=section, order=order, name=name,
                                   type=kind, label={{"en": name}}, **extra)
    for i, c in enumerate(choices, 1):
        Choice.objects.create(question=made, order=i, name=c, label={{"en": c}})
q(first, 1, "shift", "single", ["day", "night", "mixed"], required=True, is_breakdown=True)
q(first, 2, "age", "number", constraint=". >= 16 and . <= 80")
q(first, 3, "site", "single", ["north", "south", "east", "west"])
q(second, 1, "disciplined", "single", ["yes", "no"], required=True)
q(second, 2, "worries", "multiple", ["rates", "cameras", "sharing", "pay"])
q(second, 3, "fairness", "rating", ["1", "2", "3", "4", "5"])
q(second, 4, "priorities", "ranking", ["pay", "privacy", "safety"])
q(second, 5, "story", "long_text", relevant="${{disciplined}} = 'yes'")
today = timezone.localdate()
tokens = [new_token() for _ in range(n)]
shifts, sites = ["day", "night", "mixed"], ["north", "south", "east", "west"]
made = Response.objects.bulk_create(
    Response(survey=survey, resume_digest=digest(t), language="en", started_on=today, page=2,
             draft={{"shift": shifts[i % 3], "age": 18 + i % 60, "site": sites[i % 4],
                    "disciplined": "yes" if i % 3 else "no",
                    "worries": ["rates", "pay"] if i % 2 else ["cameras"],
                    "fairness": str(1 + i % 5), "priorities": ["privacy", "pay", "safety"],
                    **({{"story": f"Warned {{i}} times"}} if i % 3 else {{}})}})
    for i, t in enumerate(tokens))
print(json.dumps([[r.pk, t] for r, t in zip(made, tokens)]))
"""

VERIFY = """
import json
from sayso.surveys import selectors
from sayso.surveys.models import Answer, Response, Survey
acked = set(json.load(open({path!r})))
survey = Survey.objects.get(title="Ingest")
complete = set(Response.objects.filter(survey=survey, status="complete").values_list("pk", flat=True))
with_answers = set(Answer.objects.filter(survey=survey).values_list("response_id", flat=True))
counts = {{k: vars(v) for k, v in selectors.counts(survey).items()}}
tally = {{k: vars(v) for k, v in selectors.tally(Answer.objects.filter(survey=survey)).items()}}
print(json.dumps({{"acknowledged": len(acked), "complete": len(complete),
                  "missing": len(acked - complete), "without_answers": len(acked - with_answers),
                  "counts_match": counts == tally}}))
"""


def manage_shell(env: dict[str, str], code: str) -> str:
    return (
        subprocess.run(
            [PY, str(ROOT / "manage.py"), "shell", "-c", code],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )  # the printed JSON, after any shell banner


@contextmanager
def postgres_site() -> Iterator[tuple[Path, dict[str, str]]]:
    """Like _server.prepared_site, on a PostgreSQL database made for this run."""
    import psycopg

    name = f"sayso_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="sayso-bench-"))
    env = production_env(workdir)
    env["DATABASE_URL"] = f"{PG_BASE}/{name}"
    try:
        for args in (
            ["migrate", "-v0"],
            ["createcachetable"],
            ["collectstatic", "--noinput", "-v0"],
        ):
            subprocess.run(
                [PY, str(ROOT / "manage.py"), *args],
                env=env,
                check=True,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
        yield workdir, env
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Load:
    """Closed-loop load from `clients` threads, each on one keep-alive connection."""

    def __init__(self, base: str, clients: int) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.clients = clients

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def run(self, seconds: float, worker: object) -> tuple[int, list[float], list[str]]:
        latencies: list[list[float]] = [[] for _ in range(self.clients)]
        errors: list[str] = []
        start = threading.Barrier(self.clients + 1)
        stop_at = [float("inf")]

        def body(index: int) -> None:
            conn = self.connection()
            state = worker.setup(conn)  # type: ignore[attr-defined]
            start.wait()
            try:
                while time.perf_counter() < stop_at[0]:
                    t = time.perf_counter()
                    if not worker.once(conn, state):  # type: ignore[attr-defined]
                        break
                    latencies[index].append(time.perf_counter() - t)
            except Exception as error:  # reported below, not hidden
                errors.append(repr(error))
            finally:
                conn.close()

        threads = [threading.Thread(target=body, args=(i,)) for i in range(self.clients)]
        for thread in threads:
            thread.start()
        began = time.perf_counter()
        stop_at[0] = began + seconds
        start.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        flat = sorted(x for per in latencies for x in per)
        return len(flat), [elapsed, *flat], errors


class Healthz:
    def setup(self, conn: http.client.HTTPConnection) -> None:
        return None

    def once(self, conn: http.client.HTTPConnection, state: None) -> bool:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/healthz answered {response.status}")
        return True


class Submit:
    """Each respondent sends one prepared response after another."""

    TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    def __init__(self, prepared: list[tuple[int, str]]) -> None:
        self.pending = list(reversed(prepared))
        self.lock = threading.Lock()
        self.acknowledged: list[int] = []

    def take(self) -> tuple[int, str] | None:
        with self.lock:
            return self.pending.pop() if self.pending else None

    def setup(self, conn: http.client.HTTPConnection) -> tuple[str, str]:
        taken = self.take()
        assert taken is not None, "not enough prepared responses"
        self.pending.append(taken)  # only looked at, not sent
        conn.request("GET", f"/surveys/r/{taken[1]}/check/")
        response = conn.getresponse()
        html = response.read().decode()
        assert response.status == 200, response.status
        cookies = "; ".join(
            value.split(";", 1)[0]
            for key, value in response.getheaders()
            if key.lower() == "set-cookie"
        )
        match = self.TOKEN_RE.search(html)
        assert match, "no CSRF token on the check page"
        return cookies, match.group(1)

    def once(self, conn: http.client.HTTPConnection, state: tuple[str, str]) -> bool:
        taken = self.take()
        if taken is None:
            raise RuntimeError("ran out of prepared responses: prepare more")
        pk, token = taken
        cookies, csrf = state
        conn.request(
            "POST",
            f"/surveys/r/{token}/check/",
            body=f"csrfmiddlewaretoken={csrf}",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookies,
            },
        )
        response = conn.getresponse()
        response.read()
        location = response.getheader("Location", "")
        if response.status != 302 or not location.endswith("/thanks/"):
            raise RuntimeError(f"submission answered {response.status} {location}")
        with self.lock:
            self.acknowledged.append(pk)
        return True


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--prepare", type=int, default=30_000, help="responses in progress")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args()
    load_before = os.getloadavg()
    site = postgres_site() if args.postgres else prepared_site()
    database = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    with site as (workdir, env):
        made = json.loads(manage_shell(env, PREP.format(n=args.prepare)))
        submit = Submit([(int(pk), str(token)) for pk, token in made])
        with running("gunicorn", env, workers=args.workers, threads=args.threads) as base:
            load = Load(base, args.clients)
            load.run(2, Healthz())  # warm up
            cpu = server_cpu_seconds()
            count, (elapsed, *health_lat), errors = load.run(args.seconds, Healthz())
            assert not errors, errors
            health_rps = count / elapsed
            health_cpu = (server_cpu_seconds() - cpu) / count
            cpu = server_cpu_seconds()
            count, (elapsed, *sub_lat), errors = load.run(args.seconds, submit)
            sub_rps = count / elapsed
            sub_cpu = (server_cpu_seconds() - cpu) / max(count, 1)
        acked = workdir / "acknowledged.json"
        acked.write_text(json.dumps(submit.acknowledged))
        check = json.loads(manage_shell(env, VERIFY.format(path=str(acked))).strip())
    ratio = sub_rps / health_rps
    p50, p99 = percentile(sub_lat, 0.5) * 1000, percentile(sub_lat, 0.99) * 1000
    print(
        f"database: {database}; gunicorn {args.workers} workers x {args.threads} threads; "
        f"{args.clients} clients"
    )
    print(
        "load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *os.getloadavg()
        )
    )
    print(f"{'what':34} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms':>14}")
    print(
        f"{'minimal view (/healthz)':34} {health_rps:8.0f}"
        f" {percentile(health_lat, 0.5) * 1000:8.1f} {percentile(health_lat, 0.99) * 1000:8.1f}"
        f" {health_cpu * 1000:14.3f}"
    )
    print(f"{'survey submissions':34} {sub_rps:8.0f} {p50:8.1f} {p99:8.1f} {sub_cpu * 1000:14.3f}")
    print(f"submissions / minimal view: {ratio:.0%} (target >= 50%); p99 target < 150 ms")
    print(
        f"acknowledged {check['acknowledged']}, stored complete {check['complete']},"
        f" missing {check['missing']}, without answers {check['without_answers']},"
        f" running counts match GROUP BY: {check['counts_match']}"
    )
    if errors:
        print(f"errors: {len(errors)}, first: {errors[0]}")
    met = (
        ratio >= 0.5
        and p99 < 150
        and check["missing"] == 0
        and check["without_answers"] == 0
        and check["counts_match"]
        and not errors
    )
    print("targets met" if met else "targets NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
