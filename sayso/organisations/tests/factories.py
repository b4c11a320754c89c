"""Factories for organisations and their data practices."""

from __future__ import annotations

from factory.django import DjangoModelFactory

from sayso.core.tests.declarations import lazy_function, self_attribute, sequence, sub_factory
from sayso.core.tests.factories import CommunityFactory
from sayso.organisations.models import DataPractice, Organisation


class OrganisationFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    community = sub_factory(CommunityFactory)
    name = sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.EMPLOYER


class DataPracticeFactory(DjangoModelFactory[DataPractice]):
    class Meta:
        model = DataPractice

    organisation = sub_factory(OrganisationFactory)
    community = self_attribute("organisation.community")
    title = sequence(lambda n: f"Practice {n}")
    stages = lazy_function(lambda: ["collection", "use"])
