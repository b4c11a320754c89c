"""Communities, roles and the primitives every module shares.

Community is the tenant: every other record belongs to exactly one, and every lookup
is scoped to it (see `CommunityScopedQuerySet`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    _("Use lower-case letters, numbers and single hyphens, like 'northgate-depot'."),
)
RESERVED_SLUGS = frozenset(
    {"new", "invitations", "admin", "api", "accounts", "static", "healthz", "readyz"}
)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ORGANISER = "organiser", _("Organiser")
    MEMBER = "member", _("Member")


# Roles in increasing order of power; permission checks compare ranks.
ROLE_RANK = {Role.MEMBER: 1, Role.ORGANISER: 2, Role.OWNER: 3}


class CommunityQuerySet(models.QuerySet["Community"]):
    def public(self) -> CommunityQuerySet:
        return self.filter(is_public=True)

    def of_user(self, user: Any) -> CommunityQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)

    def advised_by(self, user: Any) -> CommunityQuerySet:
        if not user.is_authenticated or not user.is_advisor:
            return self.none()
        return self.filter(advisor_grants__advisor=user, advisor_grants__revoked_at__isnull=True)


def default_threshold() -> int:
    """A new community starts at the site's threshold (SAYSO_SMALL_GROUP_THRESHOLD)."""
    return int(settings.SAYSO["SMALL_GROUP_THRESHOLD"])


class Community(models.Model):
    class Kind(models.TextChoices):
        WORKPLACE = "workplace", _("Workplace")
        HEALTH = "health", _("Health")
        HOUSING = "housing", _("Housing")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(
        _("web address"),
        max_length=60,
        unique=True,
        validators=[SLUG_VALIDATOR],
        help_text=_("Used in links to your community, like /c/northgate-depot/."),
        error_messages={"unique": _("Another community already uses this web address.")},
    )
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    is_public = models.BooleanField(
        _("public page"),
        default=False,
        help_text=_(
            "A public community has a page anyone can read, with what you choose to publish. "
            "Members, plans and notes always stay private."
        ),
    )
    small_group_threshold = models.PositiveSmallIntegerField(
        _("smallest group shown"),
        default=default_threshold,
        validators=[MinValueValidator(2), MaxValueValidator(100)],
        help_text=_(
            "Results about fewer people than this are hidden, so nobody can be singled out."
        ),
    )
    require_mfa_for_organisers = models.BooleanField(
        _("organisers must use two-factor sign-in"),
        default=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("communities")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:community", kwargs={"slug": self.slug})


class Membership(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "user"], name="one_membership_per_person"),
        ]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.community} ({self.role})"

    @property
    def rank(self) -> int:
        return ROLE_RANK[Role(self.role)]


class AdvisorGrantQuerySet(models.QuerySet["AdvisorGrant"]):
    def active(self) -> AdvisorGrantQuerySet:
        return self.filter(revoked_at__isnull=True)


class AdvisorGrant(models.Model):
    """A community lets a site-level advisor see it, until it revokes the grant."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="advisor_grants"
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="advisor_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AdvisorGrantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "advisor"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_grant_per_advisor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.advisor} advises {self.community}"


def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        return self.filter(
            accepted_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A single-use emailed link that makes the recipient a member or organiser."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=[(Role.MEMBER, Role.MEMBER.label), (Role.ORGANISER, Role.ORGANISER.label)],
        default=Role.MEMBER,
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.community} for {self.email}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        raw = secrets.token_urlsafe(32)
        return raw, _token_digest(raw)

    @staticmethod
    def digest_of(raw: str) -> str:
        return _token_digest(raw)

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AuditEvent(models.Model):
    """A sensitive action (role change, export, access grant), readable by owners."""

    class Action(models.TextChoices):
        COMMUNITY_CREATED = "community.created", _("Community created")
        COMMUNITY_UPDATED = "community.updated", _("Community settings changed")
        MEMBER_INVITED = "member.invited", _("Person invited")
        INVITATION_CANCELLED = "member.invitation_cancelled", _("Invitation cancelled")
        MEMBER_JOINED = "member.joined", _("Person joined")
        MEMBER_LEFT = "member.left", _("Person left")
        MEMBER_REMOVED = "member.removed", _("Person removed")
        ROLE_CHANGED = "member.role_changed", _("Role changed")
        OWNERSHIP_TRANSFERRED = "ownership.transferred", _("Ownership transferred")
        ADVISOR_GRANTED = "advisor.granted", _("Advisor given access")
        ADVISOR_REVOKED = "advisor.revoked", _("Advisor access removed")
        CODES_CREATED = "codes.created", _("Invitation codes created")
        EXPORT = "export", _("Data exported")
        ANSWERS_READ = "answers.read", _("Unapproved answers read")
        ORGANISATION_PUBLISHED = "organisation.published", _("Organisation published")
        STATEMENT_EDITED = "statement.edited", _("Statement edited in moderation")
        CITATION_REMOVED = "citation.removed", _("Evidence removed")

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="audit_events", null=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    summary = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.summary


class CitationQuerySet(models.QuerySet["Citation"]):
    def listed(self) -> CitationQuerySet:
        """Citations not removed: what the Evidence page and the source pages list."""
        return self.filter(removed_at__isnull=True)


class Citation(models.Model):
    """Evidence cited by a later module: a link to the source plus a frozen snapshot.

    The snapshot keeps what the evidence said when it was cited (a figure with n and
    interval, a quote, a consensus statement), so an ask or briefing stays truthful
    even if the source later changes; `source` links back to the living object.

    Removing a citation (services.remove_citation) hides it from every list but keeps
    the row: what was once cited may already be in someone's hands, and the modules'
    checks against citing figures a few people apart (surveys.services.cite_result,
    a survey's closing) must still see it.
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="citations")
    source_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    source_id = models.PositiveBigIntegerField()
    source = GenericForeignKey("source_type", "source_id")
    evidence_type = models.CharField(max_length=60)
    snapshot = models.JSONField()
    note = models.TextField(blank=True)
    cited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    cited_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = CitationQuerySet.as_manager()

    class Meta:
        ordering = ["-cited_at", "-pk"]
        indexes = [models.Index(fields=["source_type", "source_id"])]

    def __str__(self) -> str:
        return str(self.snapshot.get("title", self.evidence_type))


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read off paper


class InvitationCodeBatchQuerySet(models.QuerySet["InvitationCodeBatch"]):
    def with_used_counts(self, *, activity: models.Model) -> InvitationCodeBatchQuerySet:
        """Each batch with `used`: how many of its codes were used for `activity` (a
        survey or a conversation). A code works once for each activity, so what was
        used elsewhere does not count here."""
        return self.annotate(
            used=models.Count(
                "codes__uses",
                filter=Q(
                    codes__uses__activity_type=ContentType.objects.get_for_model(activity),
                    codes__uses__activity_id=activity.pk,
                ),
            )
        )


class InvitationCodeBatch(models.Model):
    """A printable set of codes proving that someone belongs, not who.

    Surveys and conversations accept a code instead of a sign-in; a code works once in
    each of them (InvitationCodeUse). The codes are stored only as digests, and which
    codes were used is recorded with the codes, apart from whatever a code unlocked, so
    no answer can be traced back to a code.
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="code_batches")
    label = models.CharField(
        _("what the codes are for"),
        max_length=120,
        help_text=_("For example: 'Night shift survey, November'."),
    )
    purpose_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    purpose_id = models.PositiveBigIntegerField(null=True, blank=True)
    purpose = GenericForeignKey("purpose_type", "purpose_id")
    size = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_on = models.DateField(default=dt.date.today)

    objects = InvitationCodeBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_on", "-pk"]

    def __str__(self) -> str:
        return self.label


class InvitationCode(models.Model):
    """One code of a batch, as its digest. Where it was used: InvitationCodeUse."""

    batch = models.ForeignKey(InvitationCodeBatch, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"code in {self.batch}"

    @staticmethod
    def new_code() -> str:
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        return f"{raw[:5]}-{raw[5:]}"

    @staticmethod
    def normalise(raw: str) -> str:
        cleaned = "".join(ch for ch in raw.upper() if ch in CODE_ALPHABET)
        return f"{cleaned[:5]}-{cleaned[5:]}"

    @classmethod
    def digest_of(cls, raw: str) -> str:
        return _token_digest(cls.normalise(raw))


def new_code_use_id() -> int:
    """A random id for an InvitationCodeUse. Ids counting up would keep the order in
    which codes were used, and with it the order of the answers they unlocked: whoever
    knows who was handed which code could then pick out a person's answers."""
    return secrets.randbelow(2**62) + 1


class InvitationCodeUse(models.Model):
    """A code used once for one activity: a survey or a conversation. The same code
    works once in each, so a person handed one card can answer a survey and take part
    in a conversation, but neither twice.

    Redeeming is inserting this row: the unique constraint lets exactly one of two
    attempts at once through (services.redeem_code_in). Nothing here says what the use
    unlocked: no link to a response or participant, no date or time, and an id drawn at
    random (new_code_use_id), so the order of uses matches nothing. No date on purpose:
    a response or participant keeps the day it started, so on a day when one code was
    used, the use's date would pick out its answers; and the codes' digests are not
    keyed, so whoever knows which envelope got which code could find that code's use.
    """

    # A BigAutoField so that SQLite takes the id as the row's own key (INTEGER PRIMARY
    # KEY): with any other key it would keep a hidden row number counting up. The id is
    # always drawn at random, never left to the database.
    id = models.BigAutoField(primary_key=True, default=new_code_use_id, editable=False)
    code = models.ForeignKey(InvitationCode, on_delete=models.CASCADE, related_name="uses")
    activity_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    activity_id = models.PositiveBigIntegerField()
    activity = GenericForeignKey("activity_type", "activity_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["code", "activity_type", "activity_id"], name="code_used_once_per_activity"
            )
        ]

    def __str__(self) -> str:
        return f"code used for {self.activity_type_id}:{self.activity_id}"
