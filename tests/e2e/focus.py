"""Where focus goes, as the browser tests check it: shared by the accessibility
reviews' browser tests (tests/e2e/test_accessibility_review.py and
test_deliberation_accessibility.py)."""

from __future__ import annotations

from typing import Any

from .conftest import Browse

# The id of the element with focus ("" for the page itself).
FOCUSED = "() => document.activeElement && document.activeElement.id"


def top_on_screen(page: Any, selector: str) -> bool:
    """Whether the element's top edge is inside the viewport (a long error summary may
    run below it; its heading and first link are what must be seen)."""
    box = page.locator(selector).bounding_box()
    assert box is not None
    return bool(0 <= box["y"] < page.viewport_size["height"])


def wholly_on_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    assert box is not None
    return bool(box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"])


def follow_an_error_link_then_send_again(person: Browse, button: str, fragment: str) -> None:
    """The summary has focus; following its first link puts `fragment` in the address
    and focus on what it names; sending the form again, still wrong, brings the summary
    back with focus, on screen, at an address without the fragment (Chromium skips
    autofocus on an address with a fragment, so forms post to their path without it)."""
    page = person.page
    assert page.evaluate(FOCUSED) == "error-summary"
    page.locator("#error-summary a").first.click()
    assert page.url.endswith(f"#{fragment}")
    assert page.evaluate(FOCUSED) == fragment
    person.submit(button)
    assert "#" not in page.url
    assert page.title().startswith("Error: ")
    assert page.evaluate(FOCUSED) == "error-summary"
    assert top_on_screen(page, "#error-summary")
