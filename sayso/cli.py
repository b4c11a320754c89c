"""The `sayso` command: everything an operator needs without knowing manage.py.

sayso run              migrate, load the demo on first run, serve and work (Ctrl-C stops both)
sayso serve            the web server only (gunicorn; see docs/decisions/0002)
sayso worker           the task worker only (may run on other machines)
sayso opinion-map PATH [--json]   the opinion map of a Polis export folder (no database)
sayso migrate | demo | createsuperuser | check | ...   any Django command
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ALIASES = {"worker": "db_worker"}


def _django(argv: Sequence[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["sayso", *argv])


def _serve_command(bind: str, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--access-logfile",
        "-",
        # No client address or user agent in the access log: a log line with an IP next
        # to a vote's time would undo anonymous participation.
        "--access-logformat",
        '%(t)s "%(r)s" %(s)s %(b)s %(M)sms',
        # Hides the keys in logged addresses (a survey response's private link, an
        # invitation, a password reset...) and never logs the client, whatever format
        # GUNICORN_CMD_ARGS may ask for: anyone reading the logs could open a draft.
        "--logger-class",
        "sayso.log_masking.AccessLogger",
        "--graceful-timeout",
        "10",
        # One listening socket per worker (SO_REUSEPORT), so the kernel spreads new
        # connections over the workers. With one shared socket the busiest worker
        # accepted nearly all of them: under the voting bench 62 of 64 keep-alive
        # connections sat on one worker while the other idled (docs/benchmarks.md).
        "--reuse-port",
    ]


def port_in_use(bind: str) -> bool:
    """Whether something already listens on `bind` (host:port).

    Each gunicorn worker binds with SO_REUSEPORT, which would also let a second Sayso
    (another `make run`, say) bind the same port and silently take half the requests.
    A plain bind, without that option, fails whenever anything holds the port."""
    if bind.startswith(("unix:", "fd://")):
        return False  # not a TCP address: gunicorn reports its own errors
    host, _sep, port = bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 (only probed, never served on)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As servers bind: connections of a server just stopped, still in TIME_WAIT,
        # must not count as the address being in use (a restart would be refused).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError:
            return True
    return False


def _refuse_busy_port(bind: str) -> None:
    if port_in_use(bind):
        sys.exit(
            f"Cannot serve on {bind}: something is already using that address. "
            "Stop it (is Sayso already running?) or give another address, "
            "e.g. `sayso serve 127.0.0.1:8001`."
        )


def _prepare() -> bool:
    """Migrate, make the cache table, collect static files; True on the first run."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from sayso.core.models import Community

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    return not Community.objects.exists()


def run(bind: str = "127.0.0.1:8000") -> int:
    _refuse_busy_port(bind)
    first_run = _prepare()
    if first_run:
        from django.core.management import call_command

        call_command("demo", address=f"http://{bind}")
    children = [
        subprocess.Popen(_serve_command(bind, workers=2)),  # noqa: S603
        subprocess.Popen([sys.executable, "-m", "sayso.cli", "worker"]),
    ]
    print(f"Sayso is running on http://{bind}/ (press Ctrl-C to stop).", flush=True)

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            try:
                children[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    print("Sayso stopped.", flush=True)
    return 0


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinite float as None: JSON has no such numbers, and
    Python's json would write `NaN`, which other readers refuse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def opinion_map(argv: Sequence[str]) -> int:
    """`sayso opinion-map PATH [--json]`: read a Polis export folder (comments.csv with
    votes.csv, or participants-votes.csv when votes.csv is absent), work out its opinion
    map and print it: a short summary, or with --json the whole result, `"groups":
    {participant id: group}` among it. Needs no database and no Django set-up: the maths
    is Django-free (`sayso.analysis.opinion_map`). A malformed export is refused with
    the file, line and problem, and exit status 1."""
    import argparse

    from sayso.analysis.opinion_map import PolisImportError, run_polis_export

    parser = argparse.ArgumentParser(
        prog="sayso opinion-map",
        description="Work out the opinion map of a Polis export folder.",
    )
    parser.add_argument(
        "path", help="a folder holding comments.csv and votes.csv (or participants-votes.csv)"
    )
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    options = parser.parse_args(list(argv))
    folder = Path(options.path)
    if not folder.is_dir():
        print(
            f"sayso opinion-map: {folder} is not a folder: give the folder of a Polis "
            "export (comments.csv and votes.csv).",
            file=sys.stderr,
        )
        return 2
    try:
        result = run_polis_export(folder)
    except PolisImportError as problem:
        print(f"sayso opinion-map: {problem}", file=sys.stderr)
        return 1
    if options.json:
        text = json.dumps(_finite(result), allow_nan=False)
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    sizes = Counter(result["groups"].values())
    print(
        f"{result['n_participants']} participants, {result['n_statements']} statements; "
        f"{result['n_in_conversation']} voted on enough statements to be placed."
    )
    print(
        f"{result['k']} opinion groups: "
        + ", ".join(f"group {group} has {sizes[group]}" for group in sorted(sizes))
    )
    seconds = sum(result["timings"].values())
    print(f"Worked out in {seconds:.2f} s. Add --json for the whole result.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = args[0], args[1:]
    if command == "run":
        return run(*(rest[:1] or []))
    if command == "opinion-map":
        return opinion_map(rest)
    if command == "serve":
        bind = rest[0] if rest else os.environ.get("SAYSO_BIND", "127.0.0.1:8000")
        workers = int(os.environ.get("SAYSO_WEB_WORKERS", "2"))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        # gunicorn runs no system checks: refuse to serve a broken configuration (for
        # example production without a secret key) before handing over.
        _django(["check", "--fail-level", "ERROR"])
        _refuse_busy_port(bind)
        os.execv(sys.executable, _serve_command(bind, workers))  # noqa: S606
    _django([ALIASES.get(command, command), *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
