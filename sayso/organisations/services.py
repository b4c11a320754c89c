"""State changes for organisations and data practices."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from sayso.core.models import AuditEvent, Community
from sayso.core.services import record

from .models import DataPractice, Organisation


@transaction.atomic
def save_organisation(
    *, organisation: Organisation, community: Community, actor: Any
) -> Organisation:
    """Create or update; publishing is audited because it makes notes public."""
    was_published = (
        Organisation.objects.filter(pk=organisation.pk)
        .values_list("is_published", flat=True)
        .first()
        if organisation.pk
        else False
    )
    organisation.community = community
    if not organisation.pk:
        organisation.created_by = actor
    # created_by is empty for demo records and after the creator deletes their account.
    organisation.full_clean(exclude=["created_by"])
    organisation.save()
    if organisation.is_published and not was_published:
        record(
            community=community,
            actor=actor,
            action=AuditEvent.Action.ORGANISATION_PUBLISHED,
            summary=_("%(actor)s published %(name)s on the public page.")
            % {"actor": actor, "name": organisation.name},
        )
    return organisation


@transaction.atomic
def save_practice(
    *, practice: DataPractice, organisation: Organisation, actor: Any
) -> DataPractice:
    practice.organisation = organisation
    practice.community = organisation.community
    if not practice.pk:
        practice.created_by = actor
    practice.full_clean(exclude=["created_by"])
    practice.save()
    return practice


@transaction.atomic
def delete_practice(*, practice: DataPractice) -> None:
    practice.delete()


@transaction.atomic
def delete_organisation(*, organisation: Organisation) -> None:
    organisation.delete()
