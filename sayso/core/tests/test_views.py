"""Community shell pages: forms, people management, public and private pages, queries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sayso.accounts.tests.factories import AdvisorFactory, UserFactory
from sayso.core.models import AuditEvent, Community, Invitation, Membership, Role
from sayso.core.tests.factories import (
    AdvisorGrantFactory,
    CommunityFactory,
    InvitationFactory,
    MembershipFactory,
    signed_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def depot() -> Community:
    return CommunityFactory.create(name="Depot Workers", slug="depot")


@pytest.fixture
def owner(depot: Community) -> Any:
    return MembershipFactory.create(
        community=depot, user=UserFactory.create(name="Rosa"), role=Role.OWNER
    ).user


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


# --- creating a community ------------------------------------------------------------


def test_create_community_page_creates_and_redirects() -> None:
    rosa = UserFactory.create()
    response = signed_in(rosa).post(
        reverse("core:community-create"),
        {"name": "Depot Workers", "slug": "depot", "kind": "workplace", "description": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == "/c/depot/"
    assert Membership.objects.get(community__slug="depot").user == rosa


def test_invalid_community_form_keeps_values_links_errors_and_saves_nothing() -> None:
    CommunityFactory.create(slug="depot")
    before = Community.objects.count()
    response = signed_in(UserFactory.create()).post(
        reverse("core:community-create"),
        {"name": "Depot Workers Two", "slug": "depot", "kind": "health", "description": "Hello"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert 'href="#id_slug"' in html
    assert "Another community already uses this web address." in html
    assert 'value="Depot Workers Two"' in html
    assert 'value="depot"' in html
    assert ">\nHello</textarea>" in html
    assert 'value="health" required id="id_kind_1" checked>' in html
    assert Community.objects.count() == before
    assert AuditEvent.objects.count() == 0


def test_reserved_slug_error_links_to_the_field() -> None:
    response = signed_in(UserFactory.create()).post(
        reverse("core:community-create"), {"name": "Depot", "slug": "admin", "kind": "other"}
    )
    html = response.content.decode()
    assert 'href="#id_slug"' in html
    assert "&#x27;admin&#x27; is reserved. Choose another." in html
    assert Community.objects.count() == 0


# --- the community home: public page or dashboard ---------------------------------------


def test_private_community_page_is_404_for_outsiders(depot: Community) -> None:
    assert signed_in(UserFactory.create()).get(depot.get_absolute_url()).status_code == 404
    missing = signed_in(UserFactory.create()).get("/c/no-such-community/")
    assert missing.status_code == 404
    anonymous = Client().get(depot.get_absolute_url())
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/accounts/login/?next=/c/depot/"


def test_public_community_page_for_anyone(depot: Community) -> None:
    depot.is_public = True
    depot.description = "We pick and pack."
    depot.save()
    for client in (Client(), signed_in(UserFactory.create())):
        response = client.get(depot.get_absolute_url())
        assert response.status_code == 200
        assert response.templates[0].name == "core/community_public.html"
        assert "We pick and pack." in response.content.decode()


def test_members_and_advisors_see_the_dashboard(depot: Community, owner: Any) -> None:
    advisor = AdvisorGrantFactory.create(community=depot).advisor
    for user in (owner, advisor):
        response = signed_in(user).get(depot.get_absolute_url())
        assert response.status_code == 200
        assert response.templates[0].name == "core/dashboard.html"


# The shell and the organisations card take 8; each further module's card adds its own
# (deliberation: 2, surveys: 2). Pinned so a card that queries per row shows up here.
DASHBOARD_QUERIES = 12


def test_dashboard_query_count_is_pinned(
    depot: Community, owner: Any, django_assert_num_queries: Any
) -> None:
    client = signed_in(owner)
    url = depot.get_absolute_url()
    client.get(url)  # warm the session
    with django_assert_num_queries(DASHBOARD_QUERIES):
        assert client.get(url).status_code == 200
    for _ in range(10):
        MembershipFactory.create(community=depot)
        AdvisorGrantFactory.create(community=depot)
    assert queries_for(client, url) == DASHBOARD_QUERIES


# --- people -----------------------------------------------------------------------------


def test_members_page_query_count_is_pinned(
    depot: Community, owner: Any, django_assert_num_queries: Any
) -> None:
    client = signed_in(owner)
    url = reverse("core:members", kwargs={"slug": depot.slug})
    client.get(url)
    for _ in range(3):
        MembershipFactory.create(community=depot)
        InvitationFactory.create(community=depot)
    AdvisorGrantFactory.create(community=depot)
    with django_assert_num_queries(MEMBERS_PAGE_QUERIES):
        assert client.get(url).status_code == 200
    for _ in range(10):
        MembershipFactory.create(community=depot)
        InvitationFactory.create(community=depot)
        AdvisorGrantFactory.create(community=depot)
    with django_assert_num_queries(MEMBERS_PAGE_QUERIES):
        assert client.get(url).status_code == 200


MEMBERS_PAGE_QUERIES = 7


def test_invite_form_sends_and_lists_pending(
    depot: Community, owner: Any, django_capture_on_commit_callbacks: Any, smtp_sink: Any
) -> None:
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("core:invite", kwargs={"slug": depot.slug}),
            {"email": "sam@example.org", "role": "member"},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("core:members", kwargs={"slug": depot.slug})
    assert smtp_sink.wait_for(1)[0]["To"] == "sam@example.org"
    page = client.get(response["Location"]).content.decode()
    assert "sam@example.org" in page
    assert "Invitation sent to sam@example.org." in page


def test_invite_form_error_for_an_existing_member(depot: Community, owner: Any) -> None:
    response = signed_in(owner).post(
        reverse("core:invite", kwargs={"slug": depot.slug}),
        {"email": owner.email, "role": "member"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#id_email"' in html
    assert f"{owner.email} is already in this community." in html
    assert f'value="{owner.email}"' in html
    assert Invitation.objects.count() == 0


def test_owner_changes_a_role_and_sees_the_message(depot: Community, owner: Any) -> None:
    sam = MembershipFactory.create(community=depot, user=UserFactory.create(name="Sam"))
    client = signed_in(owner)
    response = client.post(
        reverse("core:member-role", kwargs={"slug": depot.slug, "pk": sam.pk}),
        {"role": "organiser"},
        follow=True,
    )
    assert "Sam is now organiser." in response.content.decode()
    sam.refresh_from_db()
    assert sam.role == Role.ORGANISER


def test_owner_cannot_demote_themself_through_the_page(depot: Community, owner: Any) -> None:
    mine = Membership.objects.get(user=owner)
    response = signed_in(owner).post(
        reverse("core:member-role", kwargs={"slug": depot.slug, "pk": mine.pk}),
        {"role": "member"},
        follow=True,
    )
    assert "The owner&#x27;s role cannot be changed here." in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_role_change_cannot_reach_another_community(depot: Community, owner: Any) -> None:
    elsewhere = MembershipFactory.create()
    response = signed_in(owner).post(
        reverse("core:member-role", kwargs={"slug": depot.slug, "pk": elsewhere.pk}),
        {"role": "organiser"},
    )
    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.role == Role.MEMBER


def test_owner_cannot_leave_through_the_page(depot: Community, owner: Any) -> None:
    response = signed_in(owner).post(
        reverse("core:leave", kwargs={"slug": depot.slug}), follow=True
    )
    assert "You are the owner. Transfer ownership" in response.content.decode()
    assert Membership.objects.filter(user=owner).exists()


def test_member_leaves(depot: Community) -> None:
    sam = MembershipFactory.create(community=depot).user
    response = signed_in(sam).post(reverse("core:leave", kwargs={"slug": depot.slug}))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not Membership.objects.filter(user=sam).exists()


def test_accept_invitation_page_problems_answer_410(depot: Community) -> None:
    InvitationFactory.create(community=depot, raw_token="used", accepted_at="2024-01-01T00:00Z")
    response = Client().get(reverse("accept-invitation", args=["used"]))
    assert response.status_code == 410
    assert "This invitation has already been used. Each link works once." in (
        response.content.decode()
    )


def test_signing_up_from_an_invitation_needs_no_confirmation_email(depot: Community) -> None:
    """The invitation link reached its address, so an account made with that address
    from the link is confirmed already; another address still has to be confirmed."""
    from allauth.account.models import EmailAddress

    InvitationFactory.create(community=depot, raw_token="welcome", email="sam@example.org")
    page = reverse("accept-invitation", args=["welcome"])
    client = Client()
    assert client.get(page).status_code == 200
    signup = reverse("account_signup") + "?next=" + page
    assert 'value="sam@example.org"' in client.get(signup).content.decode()
    response = client.post(
        signup,
        {
            "email": "Sam@Example.org",
            "password1": "a long pass phrase 7",
            "password2": "a long pass phrase 7",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == page  # back to accept, signed in, not "check your email"
    assert EmailAddress.objects.get(email="sam@example.org").verified
    response = client.post(page)
    assert response["Location"] == depot.get_absolute_url()
    assert Membership.objects.filter(community=depot, user__email="sam@example.org").exists()

    # Someone else, signing up with another address without the link, must confirm it.
    other = Client()
    response = other.post(
        signup,
        {
            "email": "kim@example.org",
            "password1": "a long pass phrase 8",
            "password2": "a long pass phrase 8",
        },
    )
    assert response["Location"] != page
    assert not EmailAddress.objects.get(email="kim@example.org").verified


def test_advisor_grant_form(depot: Community, owner: Any) -> None:
    alex = AdvisorFactory.create(name="Alex")
    response = signed_in(owner).post(
        reverse("core:advisors", kwargs={"slug": depot.slug}), {"advisor": alex.pk}, follow=True
    )
    assert "Alex can now see Depot Workers." in response.content.decode()
    assert list(Community.objects.advised_by(alex)) == [depot]


def test_code_batch_page_shows_codes_once(depot: Community, owner: Any) -> None:
    response = signed_in(owner).post(
        reverse("core:code-batch-new", kwargs={"slug": depot.slug}),
        {"label": "Night shift", "size": "3"},
        follow=True,
    )
    assert response.status_code == 200
    assert len(response.context["sheet"].cards) == 3
    assert "<svg" in response.content.decode()


# --- health and security ------------------------------------------------------------------


def test_healthz() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


def test_readyz_when_migrated() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok"}


def test_csp_header_is_strict() -> None:
    response = Client().get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
