"""Wide tables scroll sideways inside their own region on a 320 px phone; someone using
only a keyboard must be able to reach that region and scroll it (WCAG 2.1.1, axe's
scrollable-region-focusable), and hear what it holds. An organiser of the demo
community visits each page with such a table; `Browse.check` runs axe on every page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from sayso.accounts import services as account_services
from sayso.core.demo import DEMO_PASSWORD, load_demo
from sayso.core.models import Community
from sayso.organisations.models import Organisation
from sayso.surveys import services as survey_services
from sayso.surveys.models import Survey

from .conftest import SMALLEST, Browse, BrowseFactory

pytestmark = pytest.mark.e2e

# What a screen reader announces for a region: the text of what aria-labelledby names.
NAME_OF = """el => (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
  .map(id => (document.getElementById(id) || {textContent: ''}).textContent)
  .join(' ').replace(/\\s+/g, ' ').trim()"""


def regions(page: Any) -> list[dict[str, str]]:
    """Each scrolling wrapper on the page: its tabindex, role and name."""
    found: list[dict[str, str]] = page.evaluate(
        "() => [...document.querySelectorAll('.table-wrap')].map(el => ({"
        "tabindex: el.getAttribute('tabindex'), role: el.getAttribute('role'),"
        f"name: ({NAME_OF})(el)}}))"
    )
    return found


def tab_to_region(page: Any, name: str) -> None:
    """Press Tab from the start of the page's main content (where the skip link lands)
    until the region called `name` has focus."""
    page.locator("main").focus()
    for _ in range(400):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement;"
            f" return el.classList.contains('table-wrap') ? ({NAME_OF})(el) : null; }}"
        )
        if focused == name:
            return
    raise AssertionError(f"Tab never reached the region {name!r} on {page.url}")


def check_regions(person: Browse, *, expected: list[str]) -> None:
    """Every scrolling wrapper on the page is a focusable region with its own name; the
    keyboard reaches each, shows where focus is, and scrolls one that is wider."""
    page = person.page
    found = regions(page)
    assert [r["name"] for r in found] == expected
    assert len(set(expected)) == len(expected), f"two regions share a name: {expected}"
    assert all(r["tabindex"] == "0" and r["role"] == "region" for r in found), found
    for name in expected:
        # Playwright works out the accessible name as a browser would.
        assert page.get_by_role("region", name=name, exact=True).count() == 1, name
        tab_to_region(page, name)
        ring = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth]; }"
        )
        assert ring == ["solid", "3px"], f"no visible focus ring on {name!r}: {ring}"
        wider = page.evaluate(
            "() => document.activeElement.scrollWidth > document.activeElement.clientWidth"
        )
        if wider:
            page.keyboard.press("ArrowRight")
            page.wait_for_function("() => document.activeElement.scrollLeft > 0")


def test_organiser_reaches_every_scrolling_table_by_keyboard(browse: BrowseFactory) -> None:
    load_demo()
    community = Community.objects.get(slug="northgate-warehouse")
    organiser = get_user_model().objects.get(email="organiser@demo.sayso.example")
    account_services.create_token(user=organiser, name="Rota spreadsheet")
    survey = Survey.objects.filter(community=community).order_by("pk").first()
    assert survey is not None
    survey_services.create_codes(survey=survey, actor=organiser, size=5)
    organisation = Organisation.objects.filter(community=community, practices__isnull=False)[0]
    base = f"/c/{community.slug}"

    person = browse("organiser")
    person.page.set_viewport_size(SMALLEST)
    person.visit("/accounts/login/")
    person.page.get_by_label("Email:").fill(organiser.email)
    person.page.get_by_label("Password:").fill(DEMO_PASSWORD)
    person.submit("Sign In")

    people = community.memberships.count()
    person.visit(f"{base}/people/")
    check_regions(person, expected=[f"{people} people"])
    person.visit(f"{base}/audit/")
    check_regions(person, expected=["Audit events, newest first"])
    person.visit(f"{base}/codes/")
    check_regions(person, expected=["Sets of codes"])
    person.visit(f"{base}/surveys/{survey.pk}/codes/")
    check_regions(person, expected=["Codes already made for this survey"])
    person.visit(f"{base}/organisations/{organisation.pk}/")
    check_regions(person, expected=["Data practices and the stages where they happen"])
    person.visit("/account/tokens/")
    check_regions(person, expected=["Your tokens"])
    person.visit("/accounts/sessions/")
    check_regions(person, expected=["Sessions"])

    # Results: one table per question, each caption saying how many answered; the
    # question's heading makes each region's name its own.
    person.visit(f"{base}/surveys/{survey.pk}/results/")
    found = [r["name"] for r in regions(person.page)]
    assert found, "the demo survey's results show no table"
    headings = person.page.locator("section.card h2").all_inner_texts()
    assert all(any(n.startswith(h + " ") for h in headings) for n in found), found
    check_regions(person, expected=found)
    person.page.get_by_label("Break down by").select_option(index=1)
    breakdown = person.page.get_by_label("Break down by").evaluate(
        "el => el.options[el.selectedIndex].text"
    )
    person.submit("Show")
    found = [r["name"] for r in regions(person.page)]
    by = [n for n in found if n.endswith(f" Split by: {breakdown}")]
    assert by, found
    check_regions(person, expected=found)
