"""State changes for communities, roles, invitations, advisors, codes and citations.

Every function is keyword-only, opens its own transaction and defers side effects
(email) until the transaction commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator, get_text_list
from django.utils.translation import gettext as _

from .models import (
    ROLE_RANK,
    AdvisorGrant,
    AuditEvent,
    Citation,
    Community,
    Invitation,
    InvitationCode,
    InvitationCodeBatch,
    InvitationCodeUse,
    Membership,
    Role,
)
from .permissions import invitable_roles
from .tasks import send_email


class ServiceError(Exception):
    """A rule was broken; the message is written for the person who tried."""


def record(
    *, community: Community | None, actor: Any, action: str, summary: str, **detail: Any
) -> AuditEvent:
    return AuditEvent.objects.create(
        community=community,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        summary=summary,
        detail=detail,
    )


@transaction.atomic
def create_community(*, creator: Any, **fields: Any) -> Community:
    community = Community(**fields)
    community.full_clean()
    community.save()
    Membership.objects.create(community=community, user=creator, role=Role.OWNER)
    record(
        community=community,
        actor=creator,
        action=AuditEvent.Action.COMMUNITY_CREATED,
        summary=_("%(person)s created the community.") % {"person": creator},
    )
    return community


@transaction.atomic
def update_community(*, community: Community, actor: Any, changed: list[str]) -> Community:
    """Saves `community`'s settings; the audit log says in words what each of the
    `changed` settings was and now is ("changed the smallest group shown from 5 to 3")."""
    community.full_clean()
    before = Community.objects.filter(pk=community.pk).first()
    community.save()
    if before is None:
        return community
    moves = {
        field: (getattr(before, field), getattr(community, field))
        for field in changed
        if getattr(before, field) != getattr(community, field)
    }
    if moves:
        said = get_text_list(
            [_setting_change(f, old, new) for f, (old, new) in moves.items()], _("and")
        )
        record(
            community=community,
            actor=actor,
            action=AuditEvent.Action.COMMUNITY_UPDATED,
            # Two long names may not fit in a summary: cut short, with an ellipsis.
            summary=Truncator(
                _("%(person)s %(changes)s.") % {"person": actor, "changes": said}
            ).chars(AuditEvent._meta.get_field("summary").max_length or 300),
            changed=list(moves),
            # Each value before and after; not a description's text, which may be long.
            values={f: [old, new] for f, (old, new) in moves.items() if f != "description"},
        )
    return community


def _setting_change(field: str, old: Any, new: Any) -> str:
    """One setting's change, as a clause after the person's name."""
    if field == "name":
        return _("renamed the community from “%(old)s” to “%(new)s”") % {"old": old, "new": new}
    if field == "kind":
        kinds = dict(Community.Kind.choices)
        return _("changed the kind of community from %(old)s to %(new)s") % {
            "old": kinds.get(old, old),
            "new": kinds.get(new, new),
        }
    if field == "small_group_threshold":
        return _("changed the smallest group shown from %(old)s to %(new)s") % {
            "old": old,
            "new": new,
        }
    if field == "is_public":
        return _("turned the public page on") if new else _("turned the public page off")
    if field == "require_mfa_for_organisers":
        if new:
            return _("made two-factor sign-in required for organisers")
        return _("made two-factor sign-in optional for organisers")
    if field == "description":
        return _("changed the description")
    return _("changed the %(setting)s") % {
        "setting": Community._meta.get_field(field).verbose_name  # type: ignore[union-attr]
    }


def _fit_summary(summary: str) -> str:
    """A long name and a long address may not fit in a summary: cut short, with an
    ellipsis (PostgreSQL refuses what is too long)."""
    return Truncator(summary).chars(AuditEvent._meta.get_field("summary").max_length or 300)


def invitation_url(raw_token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("accept-invitation", args=[raw_token])


def _role_of(community: Community, user: Any) -> str | None:
    return (
        Membership.objects.filter(community=community, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )


@transaction.atomic
def invite(*, community: Community, inviter: Any, email: str, role: str) -> Invitation:
    email = email.strip().lower()
    if role not in (Role.MEMBER, Role.ORGANISER):
        raise ServiceError(_("Invitations can make people members or organisers."))
    allowed = invitable_roles(_role_of(community, inviter))
    if not allowed:
        raise ServiceError(_("Only organisers and the owner can invite people."))
    if role not in allowed:
        raise ServiceError(_("Only the owner can invite organisers. You can invite members."))
    if Membership.objects.filter(community=community, user__email__iexact=email).exists():
        raise ServiceError(_("%(email)s is already in this community.") % {"email": email})
    # A new invitation to the same address replaces any still pending, unless the
    # inviter could not have sent that one (an organiser replacing the owner's
    # invitation to be an organiser would take that role away).
    waiting = Invitation.objects.pending().filter(community=community, email=email)
    if waiting.exclude(role__in=allowed).exists():
        raise ServiceError(
            _(
                "%(email)s already has an invitation waiting to be an organiser. Only the"
                " owner can change or cancel it."
            )
            % {"email": email}
        )
    waiting.update(cancelled_at=timezone.now())
    raw, digest = Invitation.new_token()
    invitation = Invitation.objects.create(
        community=community,
        email=email,
        role=role,
        digest=digest,
        invited_by=inviter,
        expires_at=timezone.now() + dt.timedelta(days=settings.SAYSO["INVITATION_DAYS"]),
    )
    record(
        community=community,
        actor=inviter,
        action=AuditEvent.Action.MEMBER_INVITED,
        summary=_fit_summary(
            _("%(person)s invited %(email)s as %(role)s.")
            % {"person": inviter, "email": email, "role": Role(role).label}
        ),
    )
    context = {
        "community": community,
        "inviter": inviter,
        "role": Role(role).label,
        "url": invitation_url(raw),
        "days": settings.SAYSO["INVITATION_DAYS"],
    }
    subject = _("You are invited to join %(community)s on Sayso") % {"community": community.name}
    body = render_to_string("core/email/invitation.txt", context)
    transaction.on_commit(lambda: send_email.enqueue(subject=subject, body=body, to=[email]))
    return invitation


@transaction.atomic
def cancel_invitation(*, invitation: Invitation, actor: Any) -> None:
    if invitation.role not in invitable_roles(_role_of(invitation.community, actor)):
        raise ServiceError(_("Only the owner can cancel an invitation to be an organiser."))
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    record(
        community=invitation.community,
        actor=actor,
        action=AuditEvent.Action.INVITATION_CANCELLED,
        summary=_("%(person)s cancelled the invitation to %(email)s.")
        % {"person": actor, "email": invitation.email},
    )


class InvitationError(ServiceError):
    pass


def find_invitation(raw_token: str) -> Invitation:
    """Return a usable invitation or raise InvitationError saying plainly why not."""
    invitation = (
        Invitation.objects.select_related("community")
        .filter(digest=Invitation.digest_of(raw_token))
        .first()
    )
    if invitation is None:
        raise InvitationError(
            _("This invitation link is not valid. Check you copied the whole link from the email.")
        )
    if invitation.accepted_at:
        raise InvitationError(_("This invitation has already been used. Each link works once."))
    if invitation.cancelled_at:
        raise InvitationError(
            _("This invitation was replaced or cancelled. Ask the organiser for a new one.")
        )
    if invitation.is_expired:
        raise InvitationError(
            _("This invitation expired on %(date)s. Ask the organiser to send a new one.")
            % {"date": timezone.localtime(invitation.expires_at).strftime("%-d %B %Y")}
        )
    return invitation


class WrongAccountError(InvitationError):
    """The signed-in account does not hold the invited address, confirmed."""


def holds_invited_address(*, invitation: Invitation, user: Any) -> bool:
    """True when `user` has the address the invitation was sent to, confirmed.

    Sayso makes every account confirm its address (allauth's mandatory verification),
    and an address added to an account later counts only once it is confirmed: a
    forwarded email, a shared mailbox or a leaked link must not let someone signed in
    as another person take the invitation (and the role it gives)."""
    from allauth.account.models import EmailAddress

    return bool(
        getattr(user, "is_authenticated", False)
        and EmailAddress.objects.filter(
            user=user, email__iexact=invitation.email, verified=True
        ).exists()
    )


@transaction.atomic
def accept_invitation(*, raw_token: str, user: Any) -> Membership:
    """Make `user`, who must hold the invited address confirmed, a member at the
    invitation's role. Someone already in the community keeps a higher role: an
    invitation raises a role, never lowers it."""
    invitation = find_invitation(raw_token)
    if not holds_invited_address(invitation=invitation, user=user):
        raise WrongAccountError(
            _(
                "This invitation was sent to another email address. Sign in with that"
                " address to accept it."
            )
        )
    # Claim the invitation with a conditional update so two tabs cannot both use it.
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    if not claimed:
        raise InvitationError(_("This invitation has already been used. Each link works once."))
    community = invitation.community
    invited = Role(invitation.role)
    membership = (
        Membership.objects.select_for_update().filter(community=community, user=user).first()
    )
    said = {"person": user, "role": invited.label, "email": invitation.email}
    if membership is None:
        membership = Membership.objects.create(community=community, user=user, role=invited)
        action = AuditEvent.Action.MEMBER_JOINED
        summary = _("%(person)s accepted an invitation as %(role)s, sent to %(email)s, and joined.")
    elif membership.rank < ROLE_RANK[invited]:
        old = Role(membership.role)
        membership.role = invited
        membership.save(update_fields=["role"])
        action = AuditEvent.Action.ROLE_CHANGED
        summary = _(
            "%(person)s accepted an invitation as %(role)s, sent to %(email)s: raised from"
            " %(old)s to %(role)s."
        )
        said["old"] = old.label
    else:
        action = AuditEvent.Action.MEMBER_JOINED
        summary = _(
            "%(person)s accepted an invitation as %(role)s, sent to %(email)s, and stays %(kept)s."
        )
        said["kept"] = Role(membership.role).label
    record(
        community=community,
        actor=user,
        action=action,
        summary=_fit_summary(summary % said),
        invitation=invitation.pk,
        role=membership.role,
    )
    return membership


def _owner_count(community: Community) -> int:
    return Membership.objects.filter(community=community, role=Role.OWNER).count()


@transaction.atomic
def change_role(*, membership: Membership, new_role: str, actor: Any) -> Membership:
    if new_role not in Role.values:
        raise ServiceError(_("Choose member, organiser or owner."))
    if new_role == Role.OWNER:
        raise ServiceError(_("To make someone the owner, use 'Transfer ownership'."))
    if membership.role == Role.OWNER:
        raise ServiceError(_("The owner's role cannot be changed here. Transfer ownership first."))
    old = membership.role
    if old == new_role:
        return membership
    membership.role = new_role
    membership.save(update_fields=["role"])
    record(
        community=membership.community,
        actor=actor,
        action=AuditEvent.Action.ROLE_CHANGED,
        summary=_("%(actor)s changed %(person)s from %(old)s to %(new)s.")
        % {
            "actor": actor,
            "person": membership.user,
            "old": Role(old).label,
            "new": Role(new_role).label,
        },
    )
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, actor: Any) -> None:
    if membership.role == Role.OWNER:
        raise ServiceError(_("The owner cannot be removed. Transfer ownership first."))
    community, person = membership.community, membership.user
    membership.delete()
    record(
        community=community,
        actor=actor,
        action=AuditEvent.Action.MEMBER_REMOVED,
        summary=_("%(actor)s removed %(person)s.") % {"actor": actor, "person": person},
    )


@transaction.atomic
def leave(*, community: Community, user: Any) -> None:
    membership = Membership.objects.select_for_update().get(community=community, user=user)
    if membership.role == Role.OWNER:
        raise ServiceError(
            _("You are the owner. Transfer ownership to someone else before you leave.")
        )
    membership.delete()
    record(
        community=community,
        actor=user,
        action=AuditEvent.Action.MEMBER_LEFT,
        summary=_("%(person)s left the community.") % {"person": user},
    )


@transaction.atomic
def transfer_ownership(
    *, community: Community, owner: Any, new_owner_membership: Membership
) -> None:
    current = Membership.objects.select_for_update().get(community=community, user=owner)
    if current.role != Role.OWNER:
        raise ServiceError(_("Only the owner can transfer ownership."))
    if new_owner_membership.community_id != community.pk or new_owner_membership.pk == current.pk:
        raise ServiceError(_("Choose another person in this community."))
    current.role = Role.ORGANISER
    current.save(update_fields=["role"])
    new_owner_membership.role = Role.OWNER
    new_owner_membership.save(update_fields=["role"])
    record(
        community=community,
        actor=owner,
        action=AuditEvent.Action.OWNERSHIP_TRANSFERRED,
        summary=_("%(actor)s made %(person)s the owner.")
        % {"actor": owner, "person": new_owner_membership.user},
    )


@transaction.atomic
def grant_advisor(*, community: Community, advisor: Any, actor: Any) -> AdvisorGrant:
    if not advisor.is_advisor:
        raise ServiceError(_("%(person)s is not a Sayso advisor.") % {"person": advisor})
    try:
        with transaction.atomic():
            grant = AdvisorGrant.objects.create(
                community=community, advisor=advisor, granted_by=actor
            )
    except IntegrityError:
        raise ServiceError(
            _("%(person)s can already see this community.") % {"person": advisor}
        ) from None
    record(
        community=community,
        actor=actor,
        action=AuditEvent.Action.ADVISOR_GRANTED,
        summary=_("%(actor)s gave advisor %(person)s access.")
        % {"actor": actor, "person": advisor},
    )
    return grant


@transaction.atomic
def revoke_advisor(*, grant: AdvisorGrant, actor: Any) -> None:
    if grant.revoked_at:
        return
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    record(
        community=grant.community,
        actor=actor,
        action=AuditEvent.Action.ADVISOR_REVOKED,
        summary=_("%(actor)s removed advisor %(person)s's access.")
        % {"actor": actor, "person": grant.advisor},
    )


MAX_CODES_PER_BATCH = 2000


@transaction.atomic
def create_code_batch(
    *, community: Community, actor: Any, label: str, size: int, purpose: models.Model | None = None
) -> tuple[InvitationCodeBatch, list[str]]:
    """Create `size` codes, each working once in every survey or conversation that
    takes the batch. The readable codes are returned once, for printing; only their
    digests are stored."""
    if not 1 <= size <= MAX_CODES_PER_BATCH:
        raise ServiceError(_("Choose between 1 and %(max)s codes.") % {"max": MAX_CODES_PER_BATCH})
    batch = InvitationCodeBatch.objects.create(
        community=community,
        label=label,
        size=size,
        created_by=actor,
        purpose_type=ContentType.objects.get_for_model(purpose) if purpose else None,
        purpose_id=purpose.pk if purpose else None,
    )
    codes: set[str] = set()
    while len(codes) < size:
        codes.add(InvitationCode.new_code())
    ordered = sorted(codes)
    InvitationCode.objects.bulk_create(
        InvitationCode(batch=batch, digest=InvitationCode.digest_of(code)) for code in ordered
    )
    record(
        community=community,
        actor=actor,
        action=AuditEvent.Action.CODES_CREATED,
        summary=_("%(actor)s created %(n)s invitation codes: %(label)s.")
        % {"actor": actor, "n": size, "label": label},
    )
    return batch, ordered


def redeem_code(*, batch: InvitationCodeBatch, raw_code: str, activity: models.Model) -> bool:
    """Use a code of `batch` for `activity` (a survey or a conversation). True exactly
    once per code and activity, even under concurrent attempts; the same code still
    works once in every other activity.

    The caller stores whatever the code unlocked separately: nothing here links the
    use to it."""
    return redeem_code_in(batch_ids=[batch.pk], raw_code=raw_code, activity=activity)


def redeem_code_in(*, batch_ids: Iterable[int], raw_code: str, activity: models.Model) -> bool:
    """Use a code from any of the batches for `activity`: True exactly once per code
    and activity, as redeem_code.

    Redeeming inserts the code's use (InvitationCodeUse) inside a savepoint: of two
    browsers sending the code at once, the unique constraint on (code, activity) lets
    one insert through and the other fails (on PostgreSQL it waits for the first to
    commit or roll back; SQLite lets one writer in at a time). The caller's
    transaction goes on either way."""
    ids = list(batch_ids)
    if not ids or activity.pk is None:
        return False
    code_id = (
        InvitationCode.objects.filter(batch_id__in=ids, digest=InvitationCode.digest_of(raw_code))
        .values_list("pk", flat=True)
        .first()
    )
    if code_id is None:
        return False
    use = {
        "code_id": code_id,
        "activity_type": ContentType.objects.get_for_model(activity),
        "activity_id": activity.pk,
    }
    # A second try only if the clash was with another use's random id, never with
    # this code's use for this activity (astronomically unlikely: ids are 62 bits).
    for _attempt in range(2):
        try:
            with transaction.atomic():
                InvitationCodeUse.objects.create(**use)
        except IntegrityError:
            if InvitationCodeUse.objects.filter(**use).exists():
                return False
        else:
            return True
    return False


@transaction.atomic
def find_citation(
    *,
    community: Community,
    source: models.Model,
    evidence_type: str,
    snapshot: Mapping[str, Any],
    ignoring: Collection[str] = frozenset(),
) -> Citation | None:
    """The first citation of `source` as `evidence_type` with the same frozen figures,
    leaving out the keys in `ignoring` (when it was cited, when the figures were worked
    out), or None. Citing it again (a double submit, the same figures another day)
    would list the same evidence twice. A removed citation does not count: citing the
    same figures again lists them again."""

    def kept(frozen: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in frozen.items() if k not in ignoring}

    wanted = kept(snapshot)
    earlier = (
        Citation.objects.listed()
        .filter(
            community=community,
            source_type=ContentType.objects.get_for_model(source),
            source_id=source.pk,
            evidence_type=evidence_type,
        )
        .order_by("pk")
    )
    return next((c for c in earlier if kept(c.snapshot) == wanted), None)


def cite(
    *,
    community: Community,
    source: models.Model,
    evidence_type: str,
    snapshot: dict[str, Any],
    actor: Any,
    note: str = "",
) -> Citation:
    from .registry import registry

    if evidence_type not in registry.evidence_types():
        raise ServiceError(_("This kind of evidence cannot be cited."))
    if getattr(source, "community_id", None) != community.pk:
        raise ServiceError(_("Evidence can only be cited within its own community."))
    return Citation.objects.create(
        community=community,
        source_type=ContentType.objects.get_for_model(source),
        source_id=source.pk,
        evidence_type=evidence_type,
        snapshot=snapshot,
        note=note,
        cited_by=actor,
    )


@transaction.atomic
def remove_citation(*, citation: Citation, actor: Any) -> None:
    """Take a citation off the community's Evidence page and its source's page, as an
    organiser asked. The row is kept, marked removed (models.Citation says why), and
    the removal is in the audit log. Refused, changing nothing, when `actor` is not an
    organiser of the community or the citation was removed already (two tabs, say)."""
    community = citation.community
    role = (
        Membership.objects.filter(community=community, user__pk=actor.pk)
        .values_list("role", flat=True)
        .first()
        if getattr(actor, "pk", None) is not None
        else None
    )
    if role not in (Role.ORGANISER, Role.OWNER):
        raise ServiceError(_("Only organisers can remove evidence."))
    removed = (
        Citation.objects.listed()
        .filter(pk=citation.pk, community=community)
        .update(removed_at=timezone.now(), removed_by=actor)
    )
    if not removed:
        raise ServiceError(_("This evidence was removed already."))
    title = str(citation.snapshot.get("title") or citation.evidence_type)
    record(
        community=community,
        actor=actor,
        action=AuditEvent.Action.CITATION_REMOVED,
        summary=Truncator(
            _("%(person)s removed evidence: “%(title)s”") % {"person": actor, "title": title}
        ).chars(AuditEvent._meta.get_field("summary").max_length or 300),
        citation=citation.pk,
        evidence_type=citation.evidence_type,
    )
