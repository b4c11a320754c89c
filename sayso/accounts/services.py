"""A person's own account: API tokens, their data, deleting the account."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from sayso.core.models import AuditEvent, Membership, Role
from sayso.core.registry import registry
from sayso.core.services import ServiceError, record

from .models import ApiToken, User, hash_token


@transaction.atomic
def create_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token and its raw value, which is shown once and never stored."""
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(
        user=user, name=name.strip(), digest=hash_token(raw), hint=raw[:10]
    )
    return token, raw


@transaction.atomic
def revoke_token(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def personal_data(user: User) -> dict[str, Any]:
    """Everything Sayso holds that is linked to this person (their right of access)."""
    memberships = Membership.objects.filter(user=user).select_related("community")
    return {
        "account": {
            "email": user.email,
            "name": user.name,
            "date_joined": user.date_joined.isoformat(),
            "is_advisor": user.is_advisor,
        },
        "email_addresses": list(
            EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
        ),
        "memberships": [
            {"community": m.community.name, "role": m.role, "joined_at": m.joined_at.isoformat()}
            for m in memberships
        ],
        "api_tokens": [
            {
                "name": t.name,
                "created_at": t.created_at.isoformat(),
                "revoked": t.revoked_at is not None,
            }
            for t in user.api_tokens.all()
        ],
        # What each capability holds that is linked to this person (conversations they
        # took part in under their name, surveys they are recorded as having answered),
        # from the module registry: accounts never imports the apps themselves.
        **{
            module.key: module.personal_data(user)
            for module in registry
            if module.personal_data is not None
        },
        "actions_recorded": [
            {
                "when": event.created_at.isoformat(),
                "action": event.action,
                "summary": event.summary,
            }
            for event in AuditEvent.objects.filter(actor=user).order_by("created_at")
        ],
    }


@transaction.atomic
def export_personal_data(*, user: User) -> dict[str, Any]:
    data = personal_data(user)
    record(
        community=None,
        actor=user,
        action=AuditEvent.Action.EXPORT,
        summary=f"{user.email} exported their own data.",
    )
    return data


@transaction.atomic
def delete_account(*, user: User) -> None:
    owned = Membership.objects.filter(user=user, role=Role.OWNER).select_related("community")
    if owned.exists():
        names = ", ".join(m.community.name for m in owned)
        raise ServiceError(
            f"You own {names}. Transfer ownership to someone else first, so the community is not left without an owner."
        )
    user.delete()
