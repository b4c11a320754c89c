"""Flows that go through a real email: sign-in by emailed code, and invitations.

Emails travel through Django's SMTP backend to the `smtp_sink` server; tasks run
immediately, after the transaction commits, as they would in the worker.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from sayso.core import services
from sayso.core.models import AuditEvent, Community, Invitation, Membership, Role
from sayso.core.tests.factories import signed_in

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()
USED = "This invitation has already been used. Each link works once."


def person(email: str, **extra: Any) -> Any:
    user = User.objects.create_user(email, "Northgate-depot-2026!", **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def test_sign_in_by_emailed_code(client: Client, smtp_sink: Any) -> None:
    user = person("dana@example.org", name="Dana Rep")

    page = client.get("/accounts/login/code/")
    assert page.status_code == 200
    response = client.post("/accounts/login/code/", {"email": "dana@example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/code/confirm/"

    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "dana@example.org"
    assert message["Subject"] == "[Sayso] Sign-In Code"
    codes = re.findall(r"^([A-Z0-9]{4}-[A-Z0-9]{4})\r?$", smtp_sink.body(message), re.MULTILINE)
    assert len(codes) == 1, smtp_sink.body(message)

    # Nobody is signed in until the code is confirmed.
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/login/code/confirm/", {"code": codes[0]})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    home = client.get("/")
    assert home.wsgi_request.user == user


def test_sign_in_code_that_is_wrong_does_not_sign_in(client: Client, smtp_sink: Any) -> None:
    person("dana@example.org")
    client.post("/accounts/login/code/", {"email": "dana@example.org"})
    smtp_sink.wait_for(1)
    response = client.post("/accounts/login/code/confirm/", {"code": "WRONG1"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_account_emails_name_the_site(client: Client, smtp_sink: Any) -> None:
    """allauth's messages greet and sign off with the site's name."""
    person("dana@example.org")
    client.post("/accounts/login/code/", {"email": "dana@example.org"})
    (message,) = smtp_sink.wait_for(1)
    body = smtp_sink.body(message)
    assert body.startswith("Hello from Sayso!"), body
    assert "Thank you for using Sayso!" in body


@pytest.fixture
def northgate() -> tuple[Community, Any]:
    owner = person("dana@example.org", name="Dana Rep")
    community = services.create_community(
        creator=owner, name="Northgate Depot Workers", slug="northgate-depot", kind="workplace"
    )
    return community, owner


def test_invitation_by_email_works_once(
    northgate: tuple[Community, Any], smtp_sink: Any, settings: Any
) -> None:
    settings.SITE_URL = "http://testserver"
    community, owner = northgate
    sam = person("sam@example.org", name="Sam Picker")

    response = signed_in(owner).post(
        "/c/northgate-depot/people/invite/", {"email": "Sam@Example.org", "role": "member"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/c/northgate-depot/people/"

    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "sam@example.org"
    assert message["Subject"] == "You are invited to join Northgate Depot Workers on Sayso"
    links = re.findall(r"http://testserver/invitations/[^\s/]+/", smtp_sink.body(message))
    assert len(links) == 1
    path = urlsplit(links[0]).path

    colleague = signed_in(sam)
    page = colleague.get(path)
    assert page.status_code == 200
    assert "Join Northgate Depot Workers" in page.content.decode()
    response = colleague.post(path)
    assert response.status_code == 302
    assert response["Location"] == "/c/northgate-depot/"
    assert list(
        community.memberships.order_by("user__email").values_list("user__email", "role")
    ) == [
        ("dana@example.org", Role.OWNER),
        ("sam@example.org", Role.MEMBER),
    ]
    joined = AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_JOINED).count()

    # The link works once: opening or posting it again changes nothing.
    again = colleague.get(path)
    assert again.status_code == 410
    assert USED in again.content.decode()
    assert colleague.post(path).status_code == 410
    stranger = signed_in(person("lee@example.org"))
    answer = stranger.post(path)
    assert answer.status_code == 410
    assert USED in answer.content.decode()
    assert Membership.objects.filter(community=community).count() == 2
    assert not Membership.objects.filter(user__email="lee@example.org").exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_JOINED).count() == joined
    assert Membership.objects.get(user=sam).role == Role.MEMBER


def test_expired_invitation_says_so_and_changes_nothing(
    northgate: tuple[Community, Any], smtp_sink: Any, settings: Any
) -> None:
    settings.SITE_URL = "http://testserver"
    community, owner = northgate
    signed_in(owner).post(
        "/c/northgate-depot/people/invite/", {"email": "sam@example.org", "role": "organiser"}
    )
    (message,) = smtp_sink.wait_for(1)
    (link,) = re.findall(r"http://testserver/invitations/[^\s/]+/", smtp_sink.body(message))
    path = urlsplit(link).path
    expired_at = timezone.make_aware(dt.datetime(2025, 3, 9, 12, 0))
    Invitation.objects.filter(community=community).update(expires_at=expired_at)

    sam = signed_in(person("sam@example.org"))
    for response in (sam.get(path), sam.post(path), Client().get(path)):
        assert response.status_code == 410
        body = response.content.decode()
        assert (
            "This invitation expired on 9 March 2025. Ask the organiser to send a new one." in body
        )
    assert Membership.objects.filter(community=community).count() == 1
    invitation = Invitation.objects.get(community=community)
    assert invitation.accepted_at is None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_JOINED).exists()
