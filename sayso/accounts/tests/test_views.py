"""A person's own account: data export, deletion, API tokens, sign-in limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from sayso.accounts import services
from sayso.accounts.models import ApiToken, User, hash_token
from sayso.accounts.tests.factories import UserFactory, verified
from sayso.core.models import AuditEvent, Membership, Role
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam() -> User:
    return verified(UserFactory.create(email="sam@example.org", name="Sam"))


@pytest.fixture
def client(sam: User) -> Client:
    return signed_in(sam)


# --- personal data ------------------------------------------------------------------


def test_export_includes_memberships_and_is_audited(sam: User, client: Client) -> None:
    MembershipFactory.create(community=CommunityFactory.create(name="Depot Workers"), user=sam)
    create_token = services.create_token(user=sam, name="sync")[0]
    assert client.get(reverse("accounts:data")).status_code == 200
    assert AuditEvent.objects.count() == 0  # looking at the page exports nothing

    response = client.post(reverse("accounts:data"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="my-sayso-data.json"'
    data = json.loads(response.content)
    assert set(data) == {
        "account",
        "email_addresses",
        "memberships",
        "api_tokens",
        "deliberation",
        "surveys",
        "actions_recorded",
    }
    assert data["account"]["email"] == "sam@example.org"
    assert data["account"]["name"] == "Sam"
    assert data["email_addresses"] == [
        {"email": "sam@example.org", "verified": True, "primary": True}
    ]
    assert [(m["community"], m["role"]) for m in data["memberships"]] == [
        ("Depot Workers", "member")
    ]
    assert data["api_tokens"] == [
        {"name": "sync", "created_at": create_token.created_at.isoformat(), "revoked": False}
    ]
    assert "digest" not in json.dumps(data)
    event = AuditEvent.objects.get()
    assert (event.community, event.actor, event.action, event.summary) == (
        None,
        sam,
        "export",
        "sam@example.org exported their own data.",
    )


def test_export_holds_nothing_about_other_people(sam: User) -> None:
    community = CommunityFactory.create()
    MembershipFactory.create(community=community, user=sam)
    MembershipFactory.create(
        community=community, user=UserFactory.create(email="other@example.org")
    )
    assert "other@example.org" not in json.dumps(services.personal_data(sam))


# --- deleting an account ------------------------------------------------------------


def test_owner_cannot_delete_their_account(sam: User, client: Client) -> None:
    MembershipFactory.create(
        community=CommunityFactory.create(name="Depot Workers"), user=sam, role=Role.OWNER
    )
    response = client.post(reverse("accounts:delete"), {"confirm": "delete"}, follow=True)
    html = response.content.decode()
    assert "You own Depot Workers. Transfer ownership to someone else first" in html
    assert User.objects.filter(pk=sam.pk).exists()
    assert Membership.objects.filter(user=sam).count() == 1


def test_delete_needs_the_confirmation_box(sam: User, client: Client) -> None:
    response = client.post(reverse("accounts:delete"), {}, follow=True)
    assert "Tick the box to confirm" in response.content.decode()
    assert User.objects.filter(pk=sam.pk).exists()


def test_member_deletes_their_account(sam: User, client: Client) -> None:
    community = CommunityFactory.create()
    MembershipFactory.create(community=community, user=sam)
    services.create_token(user=sam, name="sync")
    response = client.post(reverse("accounts:delete"), {"confirm": "delete"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not User.objects.filter(pk=sam.pk).exists()
    assert Membership.objects.count() == 0
    assert ApiToken.objects.count() == 0
    assert EmailAddress.objects.count() == 0
    # Signed out: account pages now ask to sign in.
    assert client.get(reverse("accounts:profile")).status_code == 302


# --- API tokens -----------------------------------------------------------------------


def test_new_token_is_shown_once(sam: User, client: Client) -> None:
    response = client.post(reverse("accounts:tokens"), {"name": "Branch sync"})
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw.startswith("sayso_")
    html = response.content.decode()
    assert f'<code id="new-token">{raw}</code>' in html
    token = ApiToken.objects.get(user=sam)
    assert (token.name, token.digest, token.hint) == ("Branch sync", hash_token(raw), raw[:10])
    again = client.get(reverse("accounts:tokens")).content.decode()
    assert raw not in again
    assert f"{raw[:10]}…" in again


def test_revoke_token(sam: User, client: Client) -> None:
    token, raw = services.create_token(user=sam, name="sync")
    response = client.post(reverse("accounts:token-revoke", args=[token.pk]), follow=True)
    assert "Token &#x27;sync&#x27; revoked." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = Client().get("/api/communities/", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 401


def test_cannot_revoke_someone_elses_token(client: Client) -> None:
    theirs, _ = services.create_token(user=UserFactory.create(), name="theirs")
    response = client.post(reverse("accounts:token-revoke", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_api_use_is_recorded_by_date_only(sam: User) -> None:
    from django.utils import timezone

    token, raw = services.create_token(user=sam, name="sync")
    Client().get("/api/communities/", headers={"Authorization": f"Bearer {raw}"})
    token.refresh_from_db()
    assert token.last_used_on == timezone.localdate()


# --- sign-in rate limit -------------------------------------------------------------------


def test_failed_sign_ins_are_rate_limited(settings: Any) -> None:
    """The configured limits hold: failures per address are refused by the form, and
    the per-IP limit on sign-in attempts answers 429."""
    call_command("createcachetable", verbosity=0)  # the shared cache lives in the database
    from django.core.cache import cache

    cache.clear()
    verified(UserFactory.create(email="rosa@example.org"))
    client = Client()
    url = reverse("account_login")
    wrong = {"login": "rosa@example.org", "password": "wrong password"}

    _per_ip, per_key = settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",")
    key_limit = int(per_key.split("/")[0])
    for _ in range(key_limit):
        response = client.post(url, wrong)
        assert response.status_code == 200
        assert "too many failed login attempts" not in response.content.decode().lower()
    blocked = client.post(url, {**wrong, "password": "correct-horse-battery-staple"})
    assert blocked.status_code == 200
    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session  # even the right password is refused now

    ip_limit = int(settings.ACCOUNT_RATE_LIMITS["login"].split("/")[0])
    statuses = [
        client.post(url, {"login": f"p{n}@example.org", "password": "x"}).status_code
        for n in range(ip_limit)
    ]
    assert statuses[-1] == 429
    assert set(statuses[: ip_limit - key_limit - 2]) == {200}
