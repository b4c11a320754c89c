"""Helpers for HTTP benchmarks: a production-like Sayso on a throwaway SQLite file."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def production_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SAYSO_DEBUG="0",
        SAYSO_SECRET_KEY="bench-" + "x" * 60,
        SAYSO_SSL_REDIRECT="0",
        SAYSO_SECURE_COOKIES="0",
        SAYSO_HSTS_SECONDS="0",
        SAYSO_SQLITE_PATH=str(workdir / "bench.sqlite3"),
        SAYSO_LOG_LEVEL="ERROR",
    )
    env.pop("DATABASE_URL", None)
    return env


@contextmanager
def prepared_site() -> Iterator[tuple[Path, dict[str, str]]]:
    workdir = Path(tempfile.mkdtemp(prefix="sayso-bench-"))
    env = production_env(workdir)
    manage = [PY, str(ROOT / "manage.py")]
    for args in (
        ["migrate", "-v0"],
        ["createcachetable"],
        ["collectstatic", "--noinput", "-v0"],
        ["demo"],
    ):
        subprocess.run([*manage, *args], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        yield workdir, env
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


SERVERS = {
    "gunicorn": lambda port, workers=2, threads=4: [
        PY,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "error",
        "--reuse-port",  # as `sayso serve` runs it (sayso/cli.py)
    ],
    "granian": lambda port, workers=2, threads=4: [
        PY,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "config.wsgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--log-level",
        "error",
        "--no-ws",
    ],
}


@contextmanager
def running(
    server: str, env: dict[str, str], *, workers: int = 2, threads: int = 4
) -> Iterator[str]:
    """Serve Sayso; `workers` x `threads` default to 2 x 4 (one process per core here)."""
    port = free_port()
    process = subprocess.Popen(SERVERS[server](port, workers, threads), env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{server} did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def server_cpu_seconds() -> float:
    """CPU time (user + system) used so far by the server this process started (the
    gunicorn master and its workers), read from /proc. Per request, it says what a
    request costs the server whatever else shares the machine, which the requests per
    second do not."""
    ticks = os.sysconf("SC_CLK_TCK")

    def children(pid: int) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # gone in between
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
        return found

    total = 0.0
    masters = children(os.getpid())
    for pid in [*masters, *(w for m in masters for w in children(m))]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total
