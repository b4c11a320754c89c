"""Voting over HTTP: 64 simulated participants against Sayso served by gunicorn.

Each participant opens the demo conversation's public link (getting a session and a
CSRF token), then votes on statement after statement as htmx does: one POST per vote,
answered with the next statement's card. Measures sustained votes/s, latency
percentiles, and a minimal Django view's (/healthz) req/s with the same 64 clients in
the same run; afterwards checks that every acknowledged vote is in the database.

    python bench/deliberation_voting.py [--seconds 15] [--postgres]

--postgres runs the same against PostgreSQL (postgres://postgres@127.0.0.1:5432, a
temporary database created and dropped here).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from _server import PY, ROOT, prepared_site, running

CLIENTS = 64
STATEMENTS = 500  # a large conversation: participants never run out within the run
TOKEN = "northgate-scanner-demo"  # noqa: S105 (the demo conversation's public link)
PATH = f"/conversations/{TOKEN}/"
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
STATEMENT = re.compile(rb'name="statement" value="(\d+)"')


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    acknowledged: int = 0
    errors: list[str] = field(default_factory=list)


def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def _cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def participant(base: str, stop: float, tally: Tally, lock: threading.Lock) -> None:
    host = urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=30)
    jar: dict[str, str] = {}
    conn.request("GET", PATH)
    page = conn.getresponse()
    _cookies(page, jar)
    body = page.read()
    token = CSRF.search(body)
    statement = STATEMENT.search(body)
    latencies: list[float] = []
    acknowledged = 0
    errors: list[str] = []
    choices = ("agree", "disagree", "pass")
    n = 0
    while time.perf_counter() < stop and token and statement:
        form = f"csrfmiddlewaretoken={token.group(1).decode()}&statement={statement.group(1).decode()}&vote={choices[n % 3]}"
        n += 1
        started = time.perf_counter()
        conn.request(
            "POST",
            PATH,
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": _cookie_header(jar),
                "HX-Request": "true",
                "Origin": base,
                "Referer": base + PATH,
            },
        )
        response = conn.getresponse()
        card = response.read()
        latencies.append(time.perf_counter() - started)
        _cookies(response, jar)
        if response.status != 200 or b"Vote recorded." not in card:
            errors.append(f"{response.status}: {card[:200]!r}")
            break
        acknowledged += 1
        token = CSRF.search(card) or token
        statement = STATEMENT.search(card)
    conn.close()
    with lock:
        tally.latencies.extend(latencies)
        tally.acknowledged += acknowledged
        tally.errors.extend(errors)


def healthz(base: str, stop: float, tally: Tally, lock: threading.Lock) -> None:
    host = urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=30)
    latencies = []
    while time.perf_counter() < stop:
        started = time.perf_counter()
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
    with lock:
        tally.latencies.extend(latencies)
        tally.acknowledged += len(latencies)


def load(target: object, base: str, seconds: float, clients: int) -> tuple[Tally, float]:
    tally, lock = Tally(), threading.Lock()
    started = time.perf_counter()
    stop = started + seconds
    threads = [
        threading.Thread(target=target, args=(base, stop, tally, lock))  # type: ignore[arg-type]
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def count_votes(env: dict[str, str]) -> int:
    code = (
        "import django; django.setup(); from sayso.deliberation.models import Vote; "
        f"print(Vote.objects.filter(statement__conversation__public_token={TOKEN!r}).count())"
    )
    out = subprocess.run(
        [PY, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def add_statements(env: dict[str, str], n: int) -> None:
    """Grow the demo conversation so that 64 participants never run out of statements."""
    code = (
        "import django, datetime; django.setup(); "
        "from sayso.deliberation.models import Conversation, Statement; "
        f"c = Conversation.objects.get(public_token={TOKEN!r}); start = c.statements.count(); "
        "Statement.objects.bulk_create(Statement(conversation=c, number=start + i, "
        "text=f'Bench statement {i} about the scanner data', normalised=f'bench statement {i}', "
        f"created_on=datetime.date.today()) for i in range({n}))"
    )
    subprocess.run([PY, "-c", code], env=env, cwd=ROOT, check=True)


def run(env: dict[str, str], label: str, seconds: float) -> None:
    add_statements(env, STATEMENTS)
    with running("gunicorn", env) as base:
        load(healthz, base, 2, CLIENTS)  # warm up
        health, health_time = load(healthz, base, seconds, CLIENTS)
        before = count_votes(env)
        votes, votes_time = load(participant, base, seconds, CLIENTS)
        after = count_votes(env)
    health_rps = health.acknowledged / health_time
    votes_ps = votes.acknowledged / votes_time
    print(f"\n{label}: {CLIENTS} clients, {seconds:.0f} s each, {STATEMENTS + 14} statements")
    print(f"{'load':24} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print(
        f"{'minimal view /healthz':24} {health_rps:9.0f} {percentile(health.latencies, 0.5):8.1f} "
        f"{percentile(health.latencies, 0.99):8.1f}"
    )
    print(
        f"{'votes (htmx POST)':24} {votes_ps:9.0f} {percentile(votes.latencies, 0.5):8.1f} "
        f"{percentile(votes.latencies, 0.99):8.1f}"
    )
    print(f"votes/s / healthz req/s: {votes_ps / health_rps:.0%} (target >= 60%)")
    print(f"p99 vote latency: {percentile(votes.latencies, 0.99):.1f} ms (target < 100 ms)")
    # Every vote is a new (participant, statement) pair, so each acknowledgement is a row.
    print(
        f"acknowledged {votes.acknowledged}, new rows {after - before}: "
        f"{'all present' if after - before == votes.acknowledged else 'MISMATCH'}"
    )
    if votes.errors:
        print(f"{len(votes.errors)} clients stopped on an error, first: {votes.errors[0]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with prepared_site() as (_workdir, env):
        env["SAYSO_TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
        run(env, "SQLite (WAL)", args.seconds)
    if args.postgres:
        name = f"sayso_bench_{uuid.uuid4().hex[:8]}"
        admin = "postgres://postgres@127.0.0.1:5432/postgres"
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
        try:
            with prepared_site() as (_workdir, env):
                env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
                manage = [PY, str(ROOT / "manage.py")]
                for command in (["migrate", "-v0"], ["createcachetable"], ["demo"]):
                    subprocess.run(
                        [*manage, *command],
                        env=env,
                        cwd=ROOT,
                        check=True,
                        stdout=subprocess.DEVNULL,
                    )
                run(env, "PostgreSQL", args.seconds)
        finally:
            subprocess.run(
                ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True
            )
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent)
    sys.exit(main())
