"""The foundation journey in a real browser at phone width.

A union rep signs up, starts "Northgate Depot Workers", records her employer and two
of its data practices, sees them along the data cycle, invites two colleagues (each
joining in their own browser), gives an advisor access and makes one colleague an
organiser. The rep's browser has JavaScript switched off throughout: every step must
work as plain HTML forms and links. Every page is checked by the `browse` fixture.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any
from urllib.parse import urldefrag

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import AdvisorGrant, Community, Invitation, Membership, Role
from sayso.organisations.models import DataPractice, Organisation

from .conftest import PASSWORD, SMALLEST, Browse, BrowseFactory

pytestmark = pytest.mark.e2e

User = get_user_model()
SCANNERS = "Handheld-scanner productivity tracking"
CCTV = "CCTV with automated 'idle time' alerts"


def message_to(sink: Any, address: str, total: int) -> EmailMessage:
    """The newest of `total` emails received so far, checking it went to `address`."""
    message: EmailMessage = sink.wait_for(total)[-1]
    assert message["To"] == address
    return message


def message_to_number(sink: Any, number: int, address: str) -> EmailMessage:
    """The `number`th email the sink received (1-based), checking its recipient."""
    message: EmailMessage = sink.wait_for(number)[number - 1]
    assert message["To"] == address
    return message


def link_in(sink: Any, message: EmailMessage, path_pattern: str) -> str:
    found = re.findall(rf"https?://[^\s]+{path_pattern}", sink.body(message))
    assert len(found) == 1, sink.body(message)
    return str(found[0])


def sign_up(
    person: Browse,
    sink: Any,
    *,
    email: str,
    name: str,
    emails_before: int,
    from_invitation: bool = False,
) -> None:
    """Fill allauth's sign-up form, then confirm the address from the real email. From
    an invitation's link the address is filled in and already confirmed: the link
    reached it, so no second email is sent."""
    page = person.page
    if from_invitation:
        assert page.get_by_label("Email:").input_value() == email
    else:
        page.get_by_label("Email:").fill(email)
    page.get_by_label("Your name (optional):").fill(name)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    person.submit("Sign Up")
    if from_invitation:
        assert len(sink.messages) == emails_before
        return
    assert page.get_by_role("heading", level=1).inner_text() == "Verify Your Email Address"
    message = message_to(sink, email, emails_before + 1)
    assert message["Subject"] == "[Sayso] Please Confirm Your Email Address"
    person.visit(link_in(sink, message, r"/accounts/confirm-email/[^\s/]+/"))
    person.submit("Confirm")


def cycle_stage(page: Any, label: str) -> list[str]:
    stage = page.locator("ol.cycle > li").filter(
        has=page.get_by_role("heading", level=3, name=label, exact=True)
    )
    assert stage.count() == 1
    return [text.strip() for text in stage.locator("li").all_inner_texts()]


def table_row(page: Any, title: str) -> list[str]:
    row = page.locator("table tbody tr").filter(
        has=page.get_by_role("rowheader", name=title, exact=True)
    )
    assert row.count() == 1
    return [text.strip() for text in row.locator("th, td").all_inner_texts()]


def test_union_rep_sets_up_her_community(browse: BrowseFactory, smtp_sink: Any) -> None:
    advisor = User.objects.create_user(
        "advisor@example.org", PASSWORD, name="Priya Advisor", is_advisor=True
    )
    EmailAddress.objects.create(user=advisor, email=advisor.email, verified=True, primary=True)

    # --- the rep signs up, without JavaScript -----------------------------------------
    rep = browse("rep", javascript=False)
    page = rep.page
    rep.visit("/")
    rep.follow("Create an account")
    sign_up(rep, smtp_sink, email="dana@example.org", name="Dana Rep", emails_before=0)
    assert page.url == rep.url("/")
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert EmailAddress.objects.get(email="dana@example.org").verified is True

    # --- she starts the community -------------------------------------------------------
    rep.follow("Start a community")
    page.get_by_label("Community name").fill("Northgate Depot Workers")
    page.get_by_label("Web address").fill("northgate-depot")
    page.get_by_role("radio", name="Workplace").check()
    rep.submit("Create community")
    assert page.url == rep.url("/c/northgate-depot/")
    assert page.get_by_role("heading", level=1).inner_text() == "Northgate Depot Workers"
    community = Community.objects.get(slug="northgate-depot")
    assert (community.name, community.kind) == ("Northgate Depot Workers", "workplace")
    assert list(community.memberships.values_list("user__email", "role")) == [
        ("dana@example.org", Role.OWNER)
    ]

    # --- her employer ----------------------------------------------------------------------
    rep.visit("/c/northgate-depot/organisations/new/")
    page.get_by_label("Organisation name").fill("Northgate Logistics Ltd")
    page.get_by_role("radio", name="Employer").check()
    rep.submit("Save organisation")
    employer = Organisation.objects.get(community=community)
    assert (employer.name, employer.kind) == ("Northgate Logistics Ltd", "employer")
    assert page.url == rep.url(employer.get_absolute_url())

    # --- two data practices ----------------------------------------------------------------
    rep.follow("Record a data practice")
    page.get_by_label("Title").fill(SCANNERS)
    for stage in ("Collection", "Analysis", "Sharing", "Use"):
        page.get_by_role("checkbox", name=stage, exact=True).check()
    page.get_by_label("Shared with").fill("Logistics analytics vendor")
    rep.submit("Save data practice")
    assert page.url == rep.url(employer.get_absolute_url())

    rep.follow("Record a data practice")
    page.get_by_label("Title").fill(CCTV)
    for stage in ("Collection", "Analysis", "Use"):
        page.get_by_role("checkbox", name=stage, exact=True).check()
    rep.submit("Save data practice")
    assert list(
        DataPractice.objects.filter(organisation=employer).values_list("title", "stages")
    ) == [
        (CCTV, ["collection", "analysis", "use"]),
        (SCANNERS, ["collection", "analysis", "sharing", "use"]),
    ]

    # --- laid out along the data cycle, and the same as a table -----------------------------
    stages = page.locator("ol.cycle > li h3").all_inner_texts()
    assert stages == [
        "Design",
        "Collection",
        "Analysis",
        "Sharing",
        "Use",
        "Re-use",
        "Retention and deletion",
        "Regulation of use",
    ]
    for label in ("Collection", "Analysis", "Use"):
        assert cycle_stage(page, label) == [CCTV, SCANNERS]
    assert cycle_stage(page, "Sharing") == [SCANNERS]
    for label in ("Design", "Re-use", "Retention and deletion", "Regulation of use"):
        assert cycle_stage(page, label) == []
    assert table_row(page, SCANNERS) == [
        SCANNERS,
        "Collection, Analysis, Sharing, Use",
        "None recorded",
        "Logistics analytics vendor",
    ]
    assert table_row(page, CCTV) == [CCTV, "Collection, Analysis, Use", "None recorded", "—"]
    rep.at_width(SMALLEST)  # the cycle and its table fit a 320 px phone

    # --- she invites two colleagues -----------------------------------------------------------
    emails = 1
    for address in ("sam@example.org", "lee@example.org"):
        rep.visit("/c/northgate-depot/people/")
        rep.follow("Invite someone")
        page.get_by_label("Their email address").fill(address)
        page.get_by_role("radio", name="Member").check()
        rep.submit("Send invitation")
        assert page.get_by_role("status").inner_text() == f"Invitation sent to {address}."
        emails += 1
        message = message_to(smtp_sink, address, emails)
        assert message["Subject"] == "You are invited to join Northgate Depot Workers on Sayso"
    assert Invitation.objects.pending().filter(community=community).count() == 2

    # Each colleague opens the link from their email in their own browser.
    colleagues = [
        ("sam@example.org", "Sam Picker", emails - 1),
        ("lee@example.org", "Lee Loader", emails),
    ]
    for address, name, number in colleagues:
        invitation_link = link_in(
            smtp_sink, message_to_number(smtp_sink, number, address), r"/invitations/[^\s/]+/"
        )
        colleague = browse(address)
        colleague.visit(invitation_link)
        assert colleague.page.get_by_role("heading", level=1).inner_text() == (
            "Join Northgate Depot Workers"
        )
        colleague.click(
            colleague.page.get_by_role("main").get_by_role("link", name="Create an account")
        )
        sign_up(
            colleague,
            smtp_sink,
            email=address,
            name=name,
            emails_before=emails,
            from_invitation=True,
        )
        # Signing up brings them straight back to the invitation to accept it.
        assert colleague.page.url == invitation_link
        colleague.submit("Accept and join")
        assert colleague.page.url == colleague.url("/c/northgate-depot/")
        assert colleague.page.get_by_role("status").inner_text() == (
            "Welcome to Northgate Depot Workers."
        )
    assert sorted(community.memberships.values_list("user__email", "role")) == [
        ("dana@example.org", Role.OWNER),
        ("lee@example.org", Role.MEMBER),
        ("sam@example.org", Role.MEMBER),
    ]
    assert Invitation.objects.pending().filter(community=community).count() == 0

    # --- she gives the advisor access ----------------------------------------------------------
    rep.visit("/c/northgate-depot/people/advisors/")
    page.get_by_label("Advisor").select_option(label="Priya Advisor")
    rep.submit("Give access")
    assert page.get_by_role("status").inner_text() == (
        "Priya Advisor can now see Northgate Depot Workers."
    )
    assert list(AdvisorGrant.objects.active().values_list("community__slug", "advisor")) == [
        ("northgate-depot", advisor.pk)
    ]

    # --- and makes Sam an organiser --------------------------------------------------------------
    rep.visit("/c/northgate-depot/people/")
    sam = Membership.objects.get(community=community, user__email="sam@example.org")
    page.get_by_label("Role for Sam Picker").select_option("organiser")
    rep.submit("Change role for Sam Picker")
    assert page.get_by_role("status").inner_text() == "Sam Picker is now organiser."
    sam.refresh_from_db()
    assert sam.role == Role.ORGANISER
    assert Membership.objects.get(user__email="lee@example.org").role == Role.MEMBER
    assert page.get_by_label("Role for Sam Picker").input_value() == "organiser"
    rep.at_width(SMALLEST)  # the people table fits a 320 px phone

    # --- the advisor signs in and sees the community, read-only ----------------------------------
    helper = browse("advisor")
    helper.visit("/accounts/login/")
    helper.page.get_by_label("Email:").fill("advisor@example.org")
    helper.page.get_by_label("Password:").fill(PASSWORD)
    helper.submit("Sign In")
    helper.follow("Northgate Depot Workers")
    assert helper.page.url == helper.url("/c/northgate-depot/")
    assert helper.page.get_by_role("link", name="People and invitations").count() == 0
    helper.visit("/c/northgate-depot/people/", status=403)
    assert helper.page.get_by_role("heading", level=1).inner_text() == "You cannot do this"


def test_bad_input_shows_the_error_summary_and_keeps_what_was_typed(
    browse: BrowseFactory,
) -> None:
    rep_user = User.objects.create_user("dana@example.org", PASSWORD, name="Dana Rep")
    EmailAddress.objects.create(user=rep_user, email=rep_user.email, verified=True, primary=True)
    # Someone else's community already holds the address she will try.
    Community.objects.create(name="Northgate Drivers", slug="northgate-depot")

    rep = browse("rep")
    page = rep.page
    rep.visit("/accounts/login/")
    page.get_by_label("Email:").fill("dana@example.org")
    page.get_by_label("Password:").fill(PASSWORD)
    rep.submit("Sign In")
    rep.visit("/c/new/")
    page.get_by_label("Community name").fill("Northgate Depot Workers")
    page.get_by_label("Description").fill("Pickers and loaders at the Northgate depot.")
    page.get_by_role("radio", name="Workplace").check()

    # An empty web address.
    rep.submit("Create community")
    summary = page.locator("#error-summary")
    assert summary.get_by_role("heading").inner_text() == "There is a problem"
    links = summary.get_by_role("link")
    assert links.all_inner_texts() == ["Web address: This field is required."]
    assert links.first.get_attribute("href") == "#id_slug"
    # The summary takes focus on arrival, so a screen reader announces it.
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_by_label("Community name").input_value() == "Northgate Depot Workers"
    assert page.get_by_label("Description").input_value() == (
        "Pickers and loaders at the Northgate depot."
    )
    assert page.get_by_role("radio", name="Workplace").is_checked()
    slug = page.get_by_label("Web address")
    assert slug.get_attribute("aria-invalid") == "true"
    assert "id_slug_error" in (slug.get_attribute("aria-describedby") or "").split()

    # Following the summary's link lands on the field.
    links.first.click()
    assert page.evaluate("location.hash") == "#id_slug"
    rep.check()

    # A web address another community already uses.
    slug.fill("northgate-depot")
    rep.submit("Create community")
    assert page.locator("#error-summary").get_by_role("link").all_inner_texts() == [
        "Web address: Another community already uses this web address."
    ]
    assert page.get_by_label("Web address").input_value() == "northgate-depot"
    assert page.get_by_label("Community name").input_value() == "Northgate Depot Workers"
    assert Community.objects.count() == 1

    page.get_by_label("Web address").fill("northgate-depot-workers")
    rep.submit("Create community")
    # The browser carries the "#id_slug" fragment across the redirect; the page is right.
    assert urldefrag(page.url)[0] == rep.url("/c/northgate-depot-workers/")
    assert Community.objects.filter(slug="northgate-depot-workers").count() == 1


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(
    browse: BrowseFactory,
) -> None:
    visitor = browse("keyboard")
    page = visitor.page
    visitor.visit("/")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.textContent.trim(), document.activeElement.getAttribute('href')]"
    )
    assert focused == ["Skip to main content", "#main"]
    assert page.get_by_role("link", name="Skip to main content").is_visible()
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash === '#main'")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate("document.activeElement.tagName") == "MAIN"
    visitor.check()
    visitor.at_width(SMALLEST)
