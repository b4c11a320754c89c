"""Organisation and data-practice services, seeds and the registry entry."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from sayso.accounts.tests.factories import UserFactory
from sayso.core.models import AuditEvent
from sayso.core.permissions import NO_ACCESS
from sayso.core.registry import registry
from sayso.core.tests.factories import CommunityFactory
from sayso.organisations import services
from sayso.organisations.models import DataPractice, Organisation
from sayso.organisations.seeds import seed_demo
from sayso.organisations.tests.factories import DataPracticeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def test_publishing_is_audited_once() -> None:
    community = CommunityFactory.create()
    rosa = UserFactory.create(name="Rosa")
    organisation = services.save_organisation(
        organisation=Organisation(name="Acme"), community=community, actor=rosa
    )
    assert organisation.created_by == rosa
    assert AuditEvent.objects.count() == 0
    organisation.is_published = True
    services.save_organisation(organisation=organisation, community=community, actor=rosa)
    services.save_organisation(organisation=organisation, community=community, actor=rosa)
    assert list(AuditEvent.objects.values_list("community", "action", "summary")) == [
        (community.pk, "organisation.published", "Rosa published Acme on the public page.")
    ]


def test_records_without_a_creator_can_still_be_edited() -> None:
    """Demo records and records whose creator deleted their account have no creator."""
    practice = DataPracticeFactory.create(created_by=None)
    organisation = practice.organisation
    organisation.notes = "updated"
    services.save_organisation(
        organisation=organisation, community=organisation.community, actor=UserFactory.create()
    )
    practice.title = "Renamed practice"
    services.save_practice(practice=practice, organisation=organisation, actor=UserFactory.create())
    assert Organisation.objects.get().notes == "updated"
    assert DataPractice.objects.get().title == "Renamed practice"


def test_save_organisation_validates_and_saves_nothing_when_invalid() -> None:
    community = CommunityFactory.create()
    with pytest.raises(ValidationError) as raised:
        services.save_organisation(
            organisation=Organisation(name="Acme", website="not a url"),
            community=community,
            actor=UserFactory.create(),
        )
    assert set(raised.value.message_dict) == {"website"}
    assert Organisation.objects.count() == 0


def test_save_practice_takes_the_organisations_community() -> None:
    organisation = OrganisationFactory.create()
    practice = services.save_practice(
        practice=DataPractice(title="Tracking", stages=["use"]),
        organisation=organisation,
        actor=UserFactory.create(),
    )
    assert practice.community == organisation.community


def test_delete_organisation_deletes_its_practices() -> None:
    practice = DataPracticeFactory.create()
    DataPracticeFactory.create()
    services.delete_organisation(organisation=practice.organisation)
    assert DataPractice.objects.count() == 1
    assert Organisation.objects.count() == 1


def test_seeds_are_idempotent() -> None:
    community = CommunityFactory.create()
    seed_demo(community, "warehouse")
    seed_demo(community, "warehouse")
    assert list(Organisation.objects.values_list("name", flat=True)) == [
        "Northgate Logistics Ltd",
        "Optimetric Analytics",
    ]
    assert DataPractice.objects.count() == 2
    assert all(p.community_id == community.pk for p in DataPractice.objects.all())


def test_module_is_registered_with_dashboard_and_public_page() -> None:
    module = registry.get("organisations")
    assert module.nav_url_name == "organisations:list"
    assert module.dashboard_card is not None
    assert module.public_section is not None
    community = CommunityFactory.create()
    DataPracticeFactory.create(organisation=OrganisationFactory.create(community=community))
    card = module.dashboard_card(community, NO_ACCESS)
    assert card is not None
    assert card.figures == (("organisations", 1), ("data practices", 1))
    assert card.url == f"/c/{community.slug}/organisations/"
    assert module.public_section(community) == ""  # nothing published


def test_save_organisation_refuses_a_name_the_community_already_uses() -> None:
    community = CommunityFactory.create()
    rosa = UserFactory.create()
    acme = services.save_organisation(
        organisation=Organisation(name="  Acme   Ltd "), community=community, actor=rosa
    )
    assert acme.name == "Acme Ltd"
    beta = services.save_organisation(
        organisation=Organisation(name="Beta"), community=community, actor=rosa
    )
    with pytest.raises(services.DuplicateNameError) as raised:
        services.save_organisation(
            organisation=Organisation(name="ACME ltd"), community=community, actor=rosa
        )
    assert raised.value.message_dict == {
        "name": ["Your community already has an organisation called 'ACME ltd'."]
    }
    beta.name = "acme LTD"
    with pytest.raises(services.DuplicateNameError):
        services.save_organisation(organisation=beta, community=community, actor=rosa)
    assert sorted(Organisation.objects.values_list("name", flat=True)) == ["Acme Ltd", "Beta"]
    # Renaming an organisation to its own name in another case is not a clash.
    acme.name = "ACME LTD"
    services.save_organisation(organisation=acme, community=community, actor=rosa)
    # Another community may use the same name.
    services.save_organisation(
        organisation=Organisation(name="Acme Ltd"), community=CommunityFactory.create(), actor=rosa
    )
    assert Organisation.objects.filter(name__iexact="acme ltd").count() == 2


def test_the_database_refuses_names_differing_only_in_case() -> None:
    """The constraint behind the service's check, for two saves that race past it."""
    from django.db import IntegrityError, transaction

    community = CommunityFactory.create()
    Organisation.objects.create(community=community, name="Acme")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(community=community, name="ACME")
    assert Organisation.objects.count() == 1


def test_the_migration_numbers_names_that_differ_only_in_case() -> None:
    """Existing data that the new constraint would refuse is renamed, not lost."""
    from importlib import import_module

    migration = import_module("sayso.organisations.migrations.0002_organisation_name_ignores_case")
    rows = [
        (1, 10, "Acme"),
        (2, 10, "ACME"),
        (3, 10, "acme  "),
        (4, 11, "Acme"),  # another community may use it
        (5, 10, "Beta  Ltd"),
        (6, 10, "Acme (2)"),  # already taken by the numbering above
    ]
    assert migration.renames(rows) == {
        2: "ACME (2)",
        3: "acme (3)",
        5: "Beta Ltd",
        6: "Acme (2) (2)",
    }
