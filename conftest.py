"""Project-wide test fixtures: immediate tasks, a real SMTP sink, strict skips."""

from __future__ import annotations

import email
import email.policy
import os
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from
# that thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _immediate_tasks(request: pytest.FixtureRequest) -> None:
    """Tasks run at once in tests, through the real task functions.

    The Django-free maths tests may run with `-p no:django`; then there is nothing to set."""
    if not request.config.pluginmanager.hasplugin("django"):
        return
    settings = request.getfixturevalue("settings")
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """A real SMTP server on localhost that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.port = _free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} email(s), the SMTP sink received {len(self.messages)}"
        )

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": sink.port, "timeout": 10},
        }
    }
    try:
        yield sink
    finally:
        sink.controller.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With SAYSO_NO_SKIPS=1 (set by .ci/run) any skipped test fails the run."""
    if os.environ.get("SAYSO_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        print(f"\nSAYSO_NO_SKIPS: {skipped} test(s) were skipped; CI requires every test to run.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
