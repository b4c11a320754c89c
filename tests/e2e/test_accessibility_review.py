# mypy: disable-error-code="no-untyped-call"
"""An accessibility reviewer's findings outside the conversations, as a browser shows
them (the page-level ones are in tests/test_accessibility_review.py): the error summary
takes focus again after one of its links was followed, an error message after a
redirect takes focus with and without JavaScript, the People page's controls fit a
320 px phone, larger text spacing keeps the import pages from scrolling sideways, boxes
in a table are big enough to hit, and results tables say on a phone that they scroll.
Every page is axe-checked (conftest.Browse)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.demo import DEMO_PASSWORD, load_demo
from sayso.core.models import Community, InvitationCodeBatch, Membership, Role
from sayso.surveys import services
from sayso.surveys.models import Response, Survey
from sayso.surveys.tests.test_respondent_flow import build_survey

from .conftest import PASSWORD, SMALLEST, BrowseFactory, sign_in
from .focus import FOCUSED, follow_an_error_link_then_send_again, top_on_screen

pytestmark = pytest.mark.e2e

# WCAG 1.4.12's bookmarklet: what a reader may set without losing content. Added as a
# constructed style sheet, which the page's Content-Security-Policy (no inline styles)
# does not govern, as a reader's extension would.
TEXT_SPACING = (
    "* { line-height: 1.5 !important; letter-spacing: 0.12em !important;"
    " word-spacing: 0.16em !important; } p { margin-bottom: 2em !important; }"
)
ADD_SHEET = """css => { const sheet = new CSSStyleSheet(); sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def organiser(community: Community, email: str = "rep@example.org") -> Any:
    user = get_user_model().objects.create_user(email, PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    Membership.objects.create(community=community, user=user, role=Role.OWNER)
    return user


def test_the_error_summary_takes_focus_again_after_its_link_was_followed(
    browse: BrowseFactory,
) -> None:
    """Chromium skips autofocus on a page whose address has a #fragment: a form without
    an action posted to the address with the link's fragment, so the second summary
    stayed off screen and was not read out."""
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    user = organiser(community)
    survey = build_survey(status=Survey.Status.DRAFT, distribution=Survey.Distribution.CODES)
    Survey.objects.filter(pk=survey.pk).update(community=community)

    # An organiser's form (components/form.html).
    rep = browse("organiser")
    rep.page.set_viewport_size(SMALLEST)
    sign_in(rep, user.email)
    rep.visit("/c/northgate-depot/codes/new/")
    rep.page.get_by_label("How many codes?").fill("")
    rep.submit("Make codes")
    follow_an_error_link_then_send_again(rep, "Make codes", "id_label")
    assert not InvitationCodeBatch.objects.exists()

    # The respondent's code page and a page of questions.
    _batch, (code,) = services.create_codes(survey=survey, actor=user, size=1)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    person = browse("respondent")
    person.page.set_viewport_size(SMALLEST)
    person.visit(f"/surveys/{survey.link_token}/code/")
    person.submit("Start")
    follow_an_error_link_then_send_again(person, "Start", "id_code")
    person.page.get_by_label("Your invitation code:").fill(code)
    person.submit("Start")
    person.submit("Continue")  # "Your shift" is required
    follow_an_error_link_then_send_again(person, "Continue", "q_shift-1")
    assert Response.objects.get().answers.count() == 0


@pytest.mark.parametrize("javascript", [True, False])
def test_an_error_message_after_a_redirect_takes_focus(
    browse: BrowseFactory, javascript: bool
) -> None:
    """ "Create invitation codes before opening a survey that needs them." comes on the
    page the organiser is sent back to: a live region filled as a page loads is often not
    read out, so it takes focus, and the title says "Error:"."""
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    user = organiser(community)
    survey = build_survey(status=Survey.Status.DRAFT, distribution=Survey.Distribution.CODES)
    Survey.objects.filter(pk=survey.pk).update(community=community)

    rep = browse("organiser", javascript=javascript)
    sign_in(rep, user.email)
    rep.visit(f"/c/northgate-depot/surveys/{survey.pk}/")
    rep.submit("Open for answers")
    page = rep.page
    assert page.title() == "Error: Work survey · Sayso"
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "Create invitation codes before opening a survey that needs them."
    assert page.evaluate(FOCUSED) == "messages-alert"
    assert top_on_screen(page, "#messages-alert")
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT


def test_demo_pages_on_a_320px_phone(browse: BrowseFactory) -> None:
    """People: the role drop-down is as tall as a button and every control of the table
    is on screen without scrolling it. Moderation: a statement's box is 24 px. Results:
    a table cut off at the card's edge is said to scroll, on a phone only."""
    load_demo()
    community = Community.objects.get(slug="northgate-warehouse")
    base = f"/c/{community.slug}"
    member = Membership.objects.get(community=community, role=Role.MEMBER)
    name = member.user.display_name

    person = browse("organiser")
    person.page.set_viewport_size(SMALLEST)
    page = person.page
    person.visit("/accounts/login/")
    page.get_by_label("Email:").fill("organiser@demo.sayso.example")
    page.get_by_label("Password:").fill(DEMO_PASSWORD)
    person.submit("Sign In")

    person.visit(f"{base}/people/")
    region = page.locator(".table-wrap")
    assert region.evaluate("el => el.scrollWidth - el.clientWidth") <= 0
    edge = region.bounding_box()
    assert edge is not None
    controls = [
        page.get_by_label(f"Role for {name}"),
        page.get_by_role("button", name=f"Change role for {name}"),
        page.get_by_role("button", name=f"Remove {name}"),
    ]
    for control in controls:
        box = control.bounding_box()
        assert box is not None
        assert box["x"] >= edge["x"]
        assert box["x"] + box["width"] <= edge["x"] + edge["width"]
        assert box["height"] >= (44 if control == controls[0] else 24)
    controls[0].select_option("organiser")
    person.click(controls[1])
    member.refresh_from_db()
    assert member.role == Role.ORGANISER

    conversation = community.conversations.order_by("pk").first()
    assert conversation is not None
    person.visit(f"{base}/conversations/{conversation.pk}/moderate/?show=pending")
    boxes = page.locator(".table input[type=checkbox]")
    assert boxes.count() > 0
    for box in boxes.all():
        size = box.bounding_box()
        assert size is not None
        assert size["width"] >= 24
        assert size["height"] >= 24

    survey = Survey.objects.filter(community=community).order_by("pk").first()
    assert survey is not None
    person.visit(f"{base}/surveys/{survey.pk}/results/")
    hint = page.locator(".table-hint").first
    assert hint.is_visible()
    assert hint.inner_text() == "If the table is cut off, scroll it sideways to see the rest."
    person.at_width({"width": 1024, "height": 800})
    assert not hint.is_visible()


def test_larger_text_spacing_keeps_the_import_pages_on_a_320px_phone(
    browse: BrowseFactory,
) -> None:
    """WCAG 1.4.12: with the spacing a reader may set, a file box (307 px) and a group's
    widest line pushed the page sideways."""
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    user = organiser(community)
    rep = browse("organiser")
    rep.page.set_viewport_size(SMALLEST)
    sign_in(rep, user.email)
    for path in ("surveys/import/", "conversations/import/"):
        rep.visit(f"/c/northgate-depot/{path}")
        assert rep.page.evaluate(SIDEWAYS) <= 0
        rep.page.evaluate(ADD_SHEET, TEXT_SPACING)
        assert rep.page.evaluate("getComputedStyle(document.body).letterSpacing") != "normal"
        assert rep.page.evaluate(SIDEWAYS) <= 0, path
