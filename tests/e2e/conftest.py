"""Browser fixtures: Debian's Chromium through Playwright, with every page checked.

Every page a test visits through `Browse` is checked for accessibility (axe-core: no
"serious" or "critical" violation), for console errors (the strict
Content-Security-Policy reports violations there) and for horizontal scrolling at
the current width. A page reached without a check fails the test at the next step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 800}
SMALLEST = {"width": 320, "height": 640}
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# The password of every account the browser tests create.
PASSWORD = "Northgate-depot-2026!"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run e2e tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Browse:
    """One person's browser context, navigating by real clicks, checking each page."""

    page: Any
    base_url: str
    label: str
    console_errors: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    checked_url: str = ""
    pages_checked: int = 0
    # Without JavaScript no script runs in the page, axe-core included: such a page is
    # checked as a copy of its exact HTML loaded in a JavaScript-enabled auditor page.
    auditor: Any = None

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"pageerror: {error}"))
        self.page.on("framenavigated", self._on_navigated)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.unchecked.append(frame.url)

    # --- navigation -------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def visit(self, path: str, *, status: int = 200) -> Any:
        self._require_checked()
        response = self.page.goto(self.url(path))
        assert response is not None
        assert response.status == status, f"{path} answered {response.status}"
        self.check(status=status)
        return response

    def navigate(self, action: Callable[[], Any], *, status: int = 200) -> None:
        """Run an action that loads a new page (a click, a submit) and check that page."""
        self._require_checked()
        with self.page.expect_navigation() as navigation:
            action()
        response = navigation.value
        assert response is not None
        assert response.status == status, f"{response.url} answered {response.status}"
        self.check(status=status)

    def click(self, locator: Any, **kwargs: Any) -> None:
        self.navigate(lambda: locator.click(), **kwargs)

    def submit(self, name: str, **kwargs: Any) -> None:
        """Press the page's button called `name`: the one form action on most pages."""
        self.click(self.page.get_by_role("button", name=name, exact=True), **kwargs)

    def follow(self, name: str, **kwargs: Any) -> None:
        self.click(self.page.get_by_role("link", name=name, exact=True).first, **kwargs)

    # --- checks ---------------------------------------------------------------------
    def _require_checked(self) -> None:
        missed = [
            url for url in self.unchecked if urldefrag(url)[0] != urldefrag(self.checked_url)[0]
        ]
        assert not missed, f"[{self.label}] pages visited without a check: {missed}"
        self.unchecked.clear()

    def check(self, *, status: int = 200) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page.wait_for_load_state("load")
        url = self.page.url
        self.checked_url = url
        self.unchecked.clear()
        target = self.page
        if self.auditor is not None:
            target = self.auditor
            html = self.page.content()
            document = urldefrag(url)[0]
            target.set_viewport_size(self.page.viewport_size)
            target.route(
                document,
                lambda route: route.fulfill(status=200, content_type="text/html", body=html),
                times=1,
            )
            target.goto(document)
        # axe-core goes in through page.evaluate (the DevTools protocol), which the
        # page's Content-Security-Policy does not govern, so the CSP stays fully on
        # (no bypass_csp) and any violation by the page itself still reaches the
        # console check below.
        results = Axe().run(target)
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in results.response["violations"]
            if v["impact"] in BLOCKING_IMPACTS
        ]
        assert not serious, f"[{self.label}] accessibility violations on {url}: {serious}"
        errors = [
            text
            for text in self.console_errors
            # The browser logs an intended error status (such as 410) for the document.
            if not (status >= 400 and re.search(rf"status of {status}\b", text))
        ]
        self.console_errors.clear()
        assert not errors, f"[{self.label}] console errors on {url}: {errors}"
        overflow = target.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        width = self.page.viewport_size["width"]
        assert overflow <= 0, f"[{self.label}] {url} scrolls sideways by {overflow}px at {width}px"
        self.pages_checked += 1

    def at_width(self, size: dict[str, int]) -> None:
        self.page.set_viewport_size(size)
        self.check()

    def finish(self) -> None:
        self._require_checked()
        assert not self.console_errors, f"[{self.label}] console errors: {self.console_errors}"


BrowseFactory = Callable[..., Browse]


def sign_in(person: Browse, email: str) -> None:
    """Sign in through the real sign-in form, as a person would."""
    person.visit("/accounts/login/")
    person.page.get_by_label("Email:").fill(email)
    person.page.get_by_label("Password:").fill(PASSWORD)
    person.submit("Sign In")


@pytest.fixture
def browse(
    browser: Any, live_server: Any, transactional_db: None, settings: Any
) -> Iterator[BrowseFactory]:
    """Open a fresh browser context (a separate person) at phone width."""
    settings.SITE_URL = live_server.url
    people: list[Browse] = []
    contexts: list[Any] = []

    def open_context(label: str, *, javascript: bool = True) -> Browse:
        context = browser.new_context(
            viewport=PHONE, java_script_enabled=javascript, locale="en-GB"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        person = Browse(page=context.new_page(), base_url=live_server.url, label=label)
        people.append(person)
        if not javascript:
            audit_context = browser.new_context(viewport=PHONE, locale="en-GB")
            contexts.append(audit_context)
            person.auditor = audit_context.new_page()
        return person

    yield open_context
    try:
        for person in people:
            person.finish()
    finally:
        for context in contexts:
            context.close()
