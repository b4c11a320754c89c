"""Who may do what in a community. Small functions, heavily tested.

Outsiders get 404 (they must not learn that something exists); people inside the
community without enough power get 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import ROLE_RANK, AdvisorGrant, Community, Membership, Role


@dataclass(frozen=True)
class Access:
    """What one person can do in one community, worked out once per request."""

    role: Role | None
    is_advisor: bool

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.role] if self.role else 0

    @property
    def can_view(self) -> bool:
        return self.role is not None or self.is_advisor

    @property
    def is_member(self) -> bool:
        return self.role is not None

    @property
    def can_organise(self) -> bool:
        return self.rank >= ROLE_RANK[Role.ORGANISER]

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    def at_least(self, level: str) -> bool:
        """`level` is "viewer" (member or advisor), "member", "organiser" or "owner"."""
        if level == "viewer":
            return self.can_view
        return self.rank >= ROLE_RANK[Role(level)]


NO_ACCESS = Access(role=None, is_advisor=False)


def access_for(user: Any, community: Community) -> Access:
    if not user.is_authenticated:
        return NO_ACCESS
    role = (
        Membership.objects.filter(community=community, user=user)
        .values_list("role", flat=True)
        .first()
    )
    is_advisor = bool(
        user.is_advisor
        and AdvisorGrant.objects.active().filter(community=community, advisor=user).exists()
    )
    return Access(role=Role(role) if role else None, is_advisor=is_advisor)


def needs_mfa(user: Any, community: Community, access: Access) -> bool:
    """True when the community requires two-factor sign-in of organisers and this
    organiser has not set it up yet."""
    if not (community.require_mfa_for_organisers and access.can_organise):
        return False
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def invitable_roles(role: str | None) -> list[Role]:
    """The roles someone with `role` may invite people as, and whose invitations still
    waiting they may cancel: no more than they could give by changing a role. The owner
    changes roles (to member or organiser); organisers change none, so they invite
    members only. Nobody is invited as owner: ownership is transferred."""
    if role == Role.OWNER:
        return [Role.MEMBER, Role.ORGANISER]
    if role == Role.ORGANISER:
        return [Role.MEMBER]
    return []
