"""The organisation a community wants to change, and what it does with data.

Both are recorded per community: one community's notes about an employer are private
to it unless it publishes the organisation on its public page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """Connected by Data's data-cycle stages, in cycle order, with retention added."""

    DESIGN = "design", _("Design")
    COLLECTION = "collection", _("Collection")
    ANALYSIS = "analysis", _("Analysis")
    SHARING = "sharing", _("Sharing")
    USE = "use", _("Use")
    REUSE = "reuse", _("Re-use")
    RETENTION = "retention", _("Retention and deletion")
    REGULATION = "regulation", _("Regulation of use")


class SpecialCategory(models.TextChoices):
    """UK GDPR Article 9 special categories (plus criminal offence data, Art. 10)."""

    HEALTH = "health", _("Health")
    BIOMETRIC = "biometric", _("Biometric (for identifying people)")
    GENETIC = "genetic", _("Genetic")
    ETHNICITY = "ethnicity", _("Racial or ethnic origin")
    POLITICS = "politics", _("Political opinions")
    BELIEFS = "beliefs", _("Religious or philosophical beliefs")
    UNION = "union", _("Trade union membership")
    SEX_LIFE = "sex_life", _("Sex life or sexual orientation")
    CRIMINAL = "criminal", _("Criminal offences")


class LegalBasis(models.TextChoices):
    NOT_STATED = "not_stated", _("Not stated / unknown")
    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    VITAL_INTERESTS = "vital_interests", _("Vital interests")
    PUBLIC_TASK = "public_task", _("Public task")
    LEGITIMATE_INTERESTS = "legitimate_interests", _("Legitimate interests")


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def published(self) -> OrganisationQuerySet:
        return self.filter(is_published=True)


class Organisation(models.Model):
    class Kind(models.TextChoices):
        EMPLOYER = "employer", _("Employer")
        HEALTH_BODY = "health_body", _("Health body")
        LANDLORD = "landlord", _("Landlord")
        VENDOR = "vendor", _("Technology vendor")
        PUBLIC_AUTHORITY = "public_authority", _("Public authority")
        REGULATOR = "regulator", _("Regulator")
        OTHER = "other", _("Other")

    community = models.ForeignKey(
        "core.Community", on_delete=models.CASCADE, related_name="organisations"
    )
    name = models.CharField(_("name"), max_length=160)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices, default=Kind.EMPLOYER)
    website = models.URLField(_("website"), blank=True)
    data_protection_contact = models.CharField(
        _("data protection contact"),
        max_length=200,
        blank=True,
        help_text=_("The data protection officer's email or address, if you know it."),
    )
    foi_address = models.CharField(
        _("freedom of information address"),
        max_length=200,
        blank=True,
        help_text=_("Only public bodies answer FOI requests. Leave empty otherwise."),
    )
    notes = models.TextField(_("notes"), blank=True)
    is_published = models.BooleanField(
        _("show on our public page"),
        default=False,
        help_text=_(
            "Publish this organisation and its data practices on your community's public page."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # Case-insensitive, as people read names: "ACME" and "Acme" are one
            # organisation. services.save_organisation says so in plain words first;
            # the constraint holds against two saves racing each other.
            models.UniqueConstraint(
                "community",
                Lower("name"),
                name="organisation_name_unique_in_community",
                violation_error_message=_(
                    "Your community already has an organisation with this name."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("organisations:detail", kwargs={"slug": self.community.slug, "pk": self.pk})


class DataPractice(models.Model):
    """One thing an organisation does with data about the community."""

    community = models.ForeignKey("core.Community", on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="practices"
    )
    title = models.CharField(_("title"), max_length=160)
    description = models.TextField(_("what happens"), blank=True)
    stages = models.JSONField(_("stages of the data cycle"), default=list)
    data_categories = models.TextField(
        _("data collected"),
        blank=True,
        help_text=_("One kind of data per line, for example 'scan rate per hour'."),
    )
    special_categories = models.JSONField(_("special category data"), default=list, blank=True)
    subjects = models.CharField(
        _("about whom"), max_length=200, blank=True, help_text=_("For example: 'all pickers'.")
    )
    purposes = models.TextField(_("purposes the organisation gives"), blank=True)
    shared_with = models.TextField(_("shared with"), blank=True)
    retention = models.CharField(_("how long it is kept"), max_length=200, blank=True)
    legal_basis = models.CharField(
        _("legal basis claimed"),
        max_length=30,
        choices=LegalBasis.choices,
        default=LegalBasis.NOT_STATED,
    )
    systems = models.TextField(
        _("systems or vendors"),
        blank=True,
        help_text=_("One per line, for example 'Zebra handheld scanners'."),
    )
    sources = models.TextField(
        _("sources"),
        blank=True,
        help_text=_(
            "Links to where you learned this, one per line: a policy, a privacy notice, a news story."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "organisations:practice",
            kwargs={"slug": self.community.slug, "pk": self.organisation_id, "practice": self.pk},
        )

    @property
    def is_special_category(self) -> bool:
        return bool(self.special_categories)

    def stage_labels(self) -> list[str]:
        return [str(Stage(s).label) for s in Stage.values if s in self.stages]

    def special_category_labels(self) -> list[str]:
        return [str(SpecialCategory(s).label) for s in self.special_categories]

    def legal_basis_label(self) -> str:
        return str(LegalBasis(self.legal_basis).label)

    @staticmethod
    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    def category_list(self) -> list[str]:
        return self.lines(self.data_categories)

    def system_list(self) -> list[str]:
        return self.lines(self.systems)

    def source_list(self) -> list[str]:
        return self.lines(self.sources)
