"""Voting over HTTP: 64 simulated participants against Sayso served by gunicorn.

Each participant has its own identity (its own cookies and connection): it opens the
demo conversation's public link (getting a CSRF token), casts its first vote (which
makes it a participant), then votes on statement after statement as htmx does: one POST
per vote, answered with the next statement's card. Only then does the measured window
open, for all 64 at once: sustained votes/s counts the votes acknowledged ("Vote
recorded." in a 200 answer) within the fixed window, and latency percentiles are those
of the requests answered in it. /healthz, a minimal Django view, is loaded by 64 clients
in the same way in the same run. Afterwards every acknowledged vote (window or not) must
be a row in the database. Also printed per load: the server's CPU time per request
(gunicorn master and workers, from /proc: steadier than the rates when other work
shares the machine), the load generator's own CPU per request, and how the 64
connections were spread over the worker processes.

    python bench/deliberation_voting.py [--seconds 15] [--postgres] [--workers 2 --threads 4]
        [--floor]

--postgres also runs the same against PostgreSQL (postgres://postgres@127.0.0.1:5432, a
temporary database created and dropped here); --only-postgres skips SQLite. --floor
also loads a minimal view that commits one row, the least a vote could cost here.
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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from _server import PY, ROOT, prepared_site, running, server_cpu_seconds

CLIENTS = 64
# A large conversation: at the rates measured, nobody runs out of statements in the
# window (checked below: a participant that runs out is reported).
STATEMENTS = 1500
TOKEN = "northgate-scanner-demo"  # noqa: S105 (the demo conversation's public link)
PATH = f"/conversations/{TOKEN}/"
# The page's CSRF token, which htmx sends with every vote (hx-headers on the card region).
CSRF = re.compile(rb'"X-CSRFToken": "([^"]+)"')
STATEMENT = re.compile(rb'name="statement" value="(\d+)"')


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # requests answered in the window
    in_window: int = 0  # acknowledged in the window
    acknowledged: int = 0  # acknowledged at all (warm-up and window), for the row check
    errors: list[str] = field(default_factory=list)
    ran_out: int = 0
    client_cpu: float = 0.0  # the load generator's CPU seconds per request
    spread: str = "?"  # open connections per server worker process, mid-window


@dataclass
class Window:
    """The measured window opens when every client is ready and closes `seconds` later."""

    clients: int
    seconds: float
    ready: threading.Barrier = field(init=False)
    start: float = 0.0

    def __post_init__(self) -> None:
        self.ready = threading.Barrier(self.clients, action=self._open)

    def _open(self) -> None:
        self.start = time.perf_counter()

    @property
    def end(self) -> float:
        return self.start + self.seconds


def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def _cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _connect(base: str) -> http.client.HTTPConnection:
    host = urlsplit(base)
    return http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=30)


def participant(base: str, window: Window, tally: Tally, lock: threading.Lock) -> None:
    conn = _connect(base)
    jar: dict[str, str] = {}
    conn.request("GET", PATH)
    page = conn.getresponse()
    _cookies(page, jar)
    body = page.read()
    token = CSRF.search(body)
    statement = STATEMENT.search(body)
    latencies: list[float] = []
    acknowledged = in_window = 0
    errors: list[str] = []
    choices = ("agree", "disagree", "pass")
    n = 0
    warm = 3  # votes before the window: the first one joins the conversation
    ran_out = False
    reached = False
    while token and statement:
        if n == warm:
            try:
                window.ready.wait()
            except threading.BrokenBarrierError:
                break
            reached = True
        if n >= warm and time.perf_counter() >= window.end:
            break
        form = f"statement={statement.group(1).decode()}&vote={choices[n % 3]}"
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
                "X-CSRFToken": token.group(1).decode(),
                "Origin": base,
                "Referer": base + PATH,
            },
        )
        response = conn.getresponse()
        card = response.read()
        done = time.perf_counter()
        _cookies(response, jar)
        counted = n > warm and done <= window.end
        if counted:
            latencies.append(done - started)
        if response.status != 200 or b"Vote recorded." not in card:
            errors.append(f"{response.status}: {card[:200]!r}")
            break
        acknowledged += 1
        in_window += counted
        statement = STATEMENT.search(card)
        ran_out = statement is None
    if not reached:  # failed before the window: do not keep the others waiting
        window.ready.abort()
    conn.close()
    with lock:
        tally.latencies.extend(latencies)
        tally.acknowledged += acknowledged
        tally.in_window += in_window
        tally.errors.extend(errors)
        tally.ran_out += ran_out


def getter(path: str) -> Callable[[str, Window, Tally, threading.Lock], None]:
    """A client that GETs `path` over and over on one connection."""

    def client(base: str, window: Window, tally: Tally, lock: threading.Lock) -> None:
        conn = _connect(base)
        latencies = []
        for _ in range(3):  # warm-up, as for the voters
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                window.ready.abort()
                raise RuntimeError(f"GET {path}: {response.status}")
        try:
            window.ready.wait()
        except threading.BrokenBarrierError:  # another client failed: nothing to measure
            conn.close()
            return
        while True:
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            done = time.perf_counter()
            if done > window.end:
                break
            latencies.append(done - started)
        conn.close()
        with lock:
            tally.latencies.extend(latencies)
            tally.in_window += len(latencies)
            tally.acknowledged += len(latencies)

    return client


healthz = getter("/healthz")

# --floor: the least a vote could cost on this machine and database. The same server with
# one extra view (settings and URLs generated here, outside Sayso): a minimal view that
# commits one single-row INSERT, as durably as a vote (autocommit), and nothing else.
FLOOR_PATH = "/bench-floor"
FLOOR_URLS = """
from django.db import connection
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as site


def floor(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (value) VALUES (1)")
    return HttpResponse("ok")


floor.sayso_access = "public"
urlpatterns = [path("bench-floor", floor), *site]
"""
FLOOR_SETTINGS = """
from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_floor_urls"
"""


def floor_env(env: dict[str, str], folder: Path) -> dict[str, str]:
    """Environment serving the floor view as well; creates its table."""
    (folder / "bench_floor_urls.py").write_text(FLOOR_URLS)
    (folder / "bench_floor_settings.py").write_text(FLOOR_SETTINGS)
    code = (
        "import django; django.setup(); from django.db import connection; "
        "connection.cursor().execute('CREATE TABLE bench_floor (value integer)')"
    )
    subprocess.run([PY, "-c", code], env=env, cwd=ROOT, check=True)
    served = dict(env, DJANGO_SETTINGS_MODULE="bench_floor_settings")
    served["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return served


def load(
    target: Callable[[str, Window, Tally, threading.Lock], None],
    base: str,
    seconds: float,
    clients: int,
) -> tuple[Tally, float]:
    """Run `clients` threads of `target`; returns the tally and the window's length."""
    tally, lock = Tally(), threading.Lock()
    window = Window(clients, seconds)
    threads = [
        threading.Thread(target=target, args=(base, window, tally, lock)) for _ in range(clients)
    ]
    started = time.process_time()
    spy = threading.Thread(target=_record_spread, args=(base, seconds, tally), daemon=True)
    spy.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The load generator shares the machine's 2 cores with the server: what it spends
    # per request is CPU the server did not get.
    tally.client_cpu = (time.process_time() - started) / max(tally.acknowledged, 1)
    return tally, seconds


def _record_spread(base: str, seconds: float, tally: Tally) -> None:
    """How the clients' connections are spread over the server's worker processes,
    halfway through the window (from `ss`; "?" where it is missing). With one
    listening socket shared by the workers, the busiest one accepted nearly all of
    them; `sayso serve` gives each worker its own socket (--reuse-port)."""
    time.sleep(seconds / 2 + 1)  # the warm-up requests come first
    port = base.rsplit(":", 1)[1]
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return
    counts = Counter(re.findall(r"pid=(\d+)", out))
    tally.spread = "/".join(str(n) for n in sorted(counts.values(), reverse=True)) or "?"


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


def count_statements(env: dict[str, str]) -> int:
    code = (
        "import django; django.setup(); from sayso.deliberation.models import Statement; "
        f"print(Statement.objects.filter(conversation__public_token={TOKEN!r}).count())"
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


def analyse(env: dict[str, str]) -> None:
    """Give PostgreSQL the statistics autovacuum would have gathered by now.

    The data was just loaded in bulk, and autovacuum is off on this machine's server: with
    no statistics the planner checked a vote's statement by scanning every statement of
    the conversation (an index on conversation_id) instead of looking it up by primary
    key. A server in service analyses a table once a tenth of it has changed."""
    code = (
        "import django; django.setup(); from django.db import connection; "
        "connection.cursor().execute('VACUUM ANALYZE')"
    )
    subprocess.run([PY, "-c", code], env=env, cwd=ROOT, check=True)


def run(
    env: dict[str, str],
    label: str,
    seconds: float,
    workers: int,
    threads: int,
    floor_in: Path | None = None,
) -> None:
    add_statements(env, STATEMENTS)
    if env.get("DATABASE_URL", "").startswith("postgres"):
        analyse(env)
    statements = count_statements(env)
    served = floor_env(env, floor_in) if floor_in else env
    load_before = os.getloadavg()[0]
    with running("gunicorn", served, workers=workers, threads=threads) as base:
        load(healthz, base, 2, CLIENTS)  # warm up the workers
        cpu = server_cpu_seconds()
        health, health_time = load(healthz, base, seconds, CLIENTS)
        health_cpu = (server_cpu_seconds() - cpu) / max(health.acknowledged, 1)
        before = count_votes(env)
        cpu = server_cpu_seconds()
        votes, votes_time = load(participant, base, seconds, CLIENTS)
        # Server CPU per request whatever else shares the machine. The voters' page loads
        # and warm-up votes are few (4 requests each) next to the window's votes.
        votes_cpu = (server_cpu_seconds() - cpu) / max(votes.acknowledged + CLIENTS, 1)
        after = count_votes(env)
        if floor_in:
            cpu = server_cpu_seconds()
            floor, floor_time = load(getter(FLOOR_PATH), base, seconds, CLIENTS)
            floor_cpu = (server_cpu_seconds() - cpu) / max(floor.acknowledged, 1)
    health_rps = health.in_window / health_time
    votes_ps = votes.in_window / votes_time
    print(
        f"\n{label}: gunicorn {workers} workers x {threads} threads, {CLIENTS} clients, "
        f"{seconds:.0f} s window each, {statements} statements; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(
        f"{'load':24} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms':>14}"
        f" {'client CPU ms':>14} {'connections':>12}"
    )
    print(
        f"{'minimal view /healthz':24} {health_rps:9.0f} {percentile(health.latencies, 0.5):8.1f} "
        f"{percentile(health.latencies, 0.99):8.1f} {health_cpu * 1000:14.3f}"
        f" {health.client_cpu * 1000:14.3f} {health.spread:>12}"
    )
    print(
        f"{'votes (htmx POST)':24} {votes_ps:9.0f} {percentile(votes.latencies, 0.5):8.1f} "
        f"{percentile(votes.latencies, 0.99):8.1f} {votes_cpu * 1000:14.3f}"
        f" {votes.client_cpu * 1000:14.3f} {votes.spread:>12}"
    )
    if floor_in:
        floor_ps = floor.in_window / floor_time
        print(
            f"{'floor: view + 1 commit':24} {floor_ps:9.0f} "
            f"{percentile(floor.latencies, 0.5):8.1f} {percentile(floor.latencies, 0.99):8.1f}"
            f" {floor_cpu * 1000:14.3f} {floor.client_cpu * 1000:14.3f} {floor.spread:>12}"
        )
        print(
            f"floor req/s / healthz req/s: {floor_ps / health_rps:.0%} (one commit, nothing else)"
        )
    print(f"votes/s / healthz req/s: {votes_ps / health_rps:.0%} (target >= 60%)")
    print(f"p99 vote latency: {percentile(votes.latencies, 0.99):.1f} ms (target < 100 ms)")
    # Every vote is a new (participant, statement) pair, so each acknowledgement is a row.
    print(
        f"acknowledged {votes.acknowledged} ({votes.in_window} in the window), "
        f"new rows {after - before}: "
        f"{'all present' if after - before == votes.acknowledged else 'MISMATCH'}"
    )
    if votes.ran_out:
        print(f"{votes.ran_out} participants ran out of statements: the rate is understated")
    if votes.errors:
        print(f"{len(votes.errors)} clients stopped on an error, first: {votes.errors[0]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--only-postgres", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also load a minimal view that commits one row (the least a vote could cost)",
    )
    args = parser.parse_args()
    server = {"workers": args.workers, "threads": args.threads}
    if not args.only_postgres:
        with prepared_site() as (workdir, env):
            env["SAYSO_TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
            run(
                env,
                "SQLite (WAL)",
                args.seconds,
                **server,
                floor_in=workdir if args.floor else None,
            )
    if args.postgres or args.only_postgres:
        name = f"sayso_bench_{uuid.uuid4().hex[:8]}"
        admin = "postgres://postgres@127.0.0.1:5432/postgres"
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
        try:
            with prepared_site() as (workdir, env):
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
                run(
                    env,
                    "PostgreSQL",
                    args.seconds,
                    **server,
                    floor_in=workdir if args.floor else None,
                )
        finally:
            subprocess.run(
                ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True
            )
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent)
    sys.exit(main())
