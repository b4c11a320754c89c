"""Web server choice: gunicorn against granian serving Sayso (ADR 0002).

Both run 2 workers x 4 threads (this machine has 2 cores) against the same
production-like site (DEBUG off, SQLite in WAL mode, demo data). Load comes from
`wrk` (Debian package) in a second process: 32 connections, 10 s per row.
Prints requests per second and latency percentiles for a minimal view (/healthz,
no database) and a database-backed page (a public community page).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from _server import prepared_site, running

PATHS = {"minimal view (/healthz)": "/healthz", "public community page": "/c/northgate-warehouse/"}


def wrk(url: str, seconds: int = 10, connections: int = 32) -> tuple[float, str, str]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers from {url}:\n{out}")
    return rps, p50, p99


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk); skipping the web server benchmark.")
        return 0
    rows = []
    with prepared_site() as (_, env):
        for server in ("gunicorn", "granian"):
            with running(server, env) as base:
                for label, path in PATHS.items():
                    wrk(base + path, seconds=2)  # warm up
                    rows.append((server, label, *wrk(base + path)))
    print(f"{'server':10} {'page':28} {'req/s':>9} {'p50':>9} {'p99':>9}")
    for server, label, rps, p50, p99 in rows:
        print(f"{server:10} {label:28} {rps:9.0f} {p50:>9} {p99:>9}")
    by = {(s, page): rps for s, page, rps, *_ in rows}
    for label in PATHS:
        ratio = by[("granian", label)] / by[("gunicorn", label)]
        print(f"granian / gunicorn on {label}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
