"""State changes for organisations and data practices."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from sayso.core.models import AuditEvent, Community
from sayso.core.services import record

from .models import DataPractice, Organisation


def name_taken(*, community: Community, name: str, exclude_pk: int | None = None) -> bool:
    """Whether another organisation of this community already has this name, ignoring
    case and spacing: "ACME  Ltd" and "Acme Ltd" are the same organisation to a reader."""
    clash = Organisation.objects.filter(community=community, name__iexact=tidy_name(name))
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    return clash.exists()


def tidy_name(name: str) -> str:
    return " ".join(name.split())


class DuplicateNameError(ValidationError):
    """Raised by save_organisation; forms show it beside the name, the API answers 409."""


@transaction.atomic
def save_organisation(
    *, organisation: Organisation, community: Community, actor: Any
) -> Organisation:
    """Create or update; publishing is audited because it makes notes public.

    Refuses a name the community already uses (DuplicateNameError), whichever way the
    organisation arrives (form, API, import), so the rule lives here once."""
    organisation.name = tidy_name(organisation.name)
    if name_taken(community=community, name=organisation.name, exclude_pk=organisation.pk):
        raise DuplicateNameError(
            {
                "name": [
                    _("Your community already has an organisation called '%(name)s'.")
                    % {"name": organisation.name}
                ]
            }
        )
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
