"""Factories for communities, memberships, invitations and advisor grants, and a
signed-in test client."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone
from factory.django import DjangoModelFactory

from sayso.accounts.models import User
from sayso.accounts.tests.factories import AdvisorFactory, UserFactory
from sayso.core.models import (
    AdvisorGrant,
    AuditEvent,
    Community,
    Invitation,
    Membership,
    Role,
)
from sayso.core.tests.declarations import lazy_attribute, lazy_function, sequence, sub_factory


class CommunityFactory(DjangoModelFactory[Community]):
    class Meta:
        model = Community

    name = sequence(lambda n: f"Community {n}")
    slug = sequence(lambda n: f"community-{n}")
    kind = Community.Kind.WORKPLACE


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    community = sub_factory(CommunityFactory)
    user = sub_factory(UserFactory)
    role = Role.MEMBER


class OwnerFactory(MembershipFactory):
    role = Role.OWNER


class OrganiserFactory(MembershipFactory):
    role = Role.ORGANISER


class AdvisorGrantFactory(DjangoModelFactory[AdvisorGrant]):
    class Meta:
        model = AdvisorGrant

    community = sub_factory(CommunityFactory)
    advisor = sub_factory(AdvisorFactory)


class InvitationFactory(DjangoModelFactory[Invitation]):
    """Pass `raw_token="..."` to know the link; otherwise a random one is made."""

    class Meta:
        model = Invitation
        exclude = ("raw_token",)

    community = sub_factory(CommunityFactory)
    email = sequence(lambda n: f"invitee{n}@example.org")
    role = Role.MEMBER
    raw_token = sequence(lambda n: f"invitation-token-{n}")
    digest = lazy_attribute(lambda o: Invitation.digest_of(o.raw_token))
    expires_at = lazy_function(lambda: timezone.now() + dt.timedelta(days=14))


def audit_events(community: Community) -> list[tuple[str, str]]:
    """(action, summary) for every audit event in `community`, oldest first."""
    return list(
        AuditEvent.objects.filter(community=community)
        .order_by("created_at", "pk")
        .values_list("action", "summary")
    )


def signed_in(user: User) -> Client:
    """A fresh test client (a browser of its own) already signed in as `user`.

    Signs in with `force_login` (no password form). Each call makes a new client, so
    two calls for the same user are two separate browsers.
    """
    client = Client()
    client.force_login(user)
    return client
