"""The community's Evidence page in a browser: an organiser of the demo community cites
a survey result and a conversation statement, finds both on the Evidence page from the
navigation, and reaches each link back and each remove button with the keyboard alone;
removing asks first and works without a mouse. A member, without JavaScript, filters
the page by kind. `Browse.check` runs axe on every page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from sayso.core.demo import DEMO_PASSWORD, load_demo
from sayso.core.models import Citation, Community
from sayso.deliberation.models import Conversation
from sayso.surveys.models import Survey

from .conftest import Browse, BrowseFactory

pytestmark = pytest.mark.e2e

FOCUSED = """() => { const el = document.activeElement;
  return el ? (el.innerText || el.getAttribute('aria-label') || '').replace(/\\s+/g, ' ').trim() : ''; }"""


def demo_sign_in(person: Browse, email: str) -> None:
    person.visit("/accounts/login/")
    person.page.get_by_label("Email:").fill(email)
    person.page.get_by_label("Password:").fill(DEMO_PASSWORD)
    person.submit("Sign In")


def tab_to(page: Any, text: str, *, start: str = "body") -> None:
    """Press Tab from the start of `start` until the focused element reads `text`."""
    page.locator(start).first.focus()
    for _ in range(300):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == text:
            ring = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
            )
            assert ring, f"no visible focus on {text!r}"
            return
    raise AssertionError(f"Tab never reached {text!r} on {page.url}")


def press_enter(person: Browse) -> None:
    person.navigate(lambda: person.page.keyboard.press("Enter"))


def titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".evidence-list h3").all_inner_texts()]


def test_cite_in_the_demo_and_find_both_on_the_evidence_page(browse: BrowseFactory) -> None:
    load_demo()
    community = Community.objects.get(slug="northgate-warehouse")
    survey = Survey.objects.get(community=community, status=Survey.Status.CLOSED)
    conversation = Conversation.objects.filter(community=community).order_by("pk").first()
    assert conversation is not None
    base = f"/c/{community.slug}"

    organiser = browse("organiser")
    demo_sign_in(organiser, "organiser@demo.sayso.example")
    page = organiser.page

    # The navigation leads there by keyboard; nothing cited yet: what evidence is.
    organiser.visit(f"{base}/")
    tab_to(page, "Evidence", start=".community-nav")
    press_enter(organiser)
    assert page.get_by_role("heading", name="No evidence yet", exact=True).is_visible()
    assert page.get_by_text("beside a figure in a survey's results").is_visible()

    # A survey result, cited from the results as published.
    organiser.visit(f"{base}/surveys/{survey.pk}/results/?audience=published")
    organiser.click(page.get_by_role("button", name="Cite as evidence").first)
    assert page.get_by_text("Result cited as evidence.").is_visible()
    result = Citation.objects.get(evidence_type="survey.result")
    # A statement, cited from the conversation's report.
    organiser.visit(f"{base}/conversations/{conversation.pk}/report/")
    organiser.click(page.get_by_role("button", name="Cite").first)
    statement = Citation.objects.exclude(pk=result.pk).get()

    organiser.follow("Evidence")
    assert titles(page) == [statement.snapshot["title"], result.snapshot["title"]]
    assert page.get_by_role("heading", name="2 pieces of evidence").is_visible()
    survey_card = page.locator(".evidence-list > li").nth(1)
    assert f"{result.snapshot['n']} people answered" in survey_card.inner_text()

    # Each link back is reached with Tab and followed with Enter.
    source = f"Survey “{survey.title}”: results"
    tab_to(page, source, start="main")
    press_enter(organiser)
    assert page.url.endswith(
        f"/surveys/{survey.pk}/results/?audience=published#q-{result.source_id}"
    )
    organiser.visit(f"{base}/evidence/")
    tab_to(page, f"Conversation “{conversation.topic}”: report", start="main")
    press_enter(organiser)
    assert page.url.endswith(f"/conversations/{conversation.pk}/report/")

    # Removing: the button names what it removes; a page asks first.
    organiser.visit(f"{base}/evidence/")
    tab_to(page, f"Remove {statement.snapshot['title']}", start="main")
    press_enter(organiser)
    assert page.get_by_role("heading", name="Remove this evidence?").is_visible()
    Citation.objects.get(pk=statement.pk, removed_at__isnull=True)  # not yet
    tab_to(page, f"Remove {statement.snapshot['title']}", start="main")
    press_enter(organiser)
    assert page.get_by_text(f"Evidence removed: “{statement.snapshot['title']}”").is_visible()
    assert titles(page) == [result.snapshot["title"]]
    assert Citation.objects.get(pk=statement.pk).removed_at is not None

    # A member, without JavaScript: the closed survey's citation is theirs to read, and
    # the plain form filters by kind.
    member = browse("member", javascript=False)
    demo_sign_in(member, "member@demo.sayso.example")
    member.visit(f"{base}/evidence/")
    assert titles(member.page) == [result.snapshot["title"]]
    assert member.page.get_by_role("link", name="Remove").count() == 0
    member.page.get_by_label("Show evidence from").select_option(label="Conversations")
    member.submit("Show")
    assert member.page.get_by_role(
        "heading", name="No evidence from Conversations yet"
    ).is_visible()
    member.page.get_by_label("Show evidence from").select_option(label="Surveys")
    member.submit("Show")
    assert titles(member.page) == [result.snapshot["title"]]
    assert get_user_model().objects.filter(email="member@demo.sayso.example").exists()
