from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sayso.core.models import Community, Role
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    """Tasks run at once, so a test sees the recompute its votes queued."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def depot(db: None) -> Community:
    """A community at /c/depot/."""
    community: Community = CommunityFactory.create(slug="depot")
    return community


@pytest.fixture
def depot_organiser(depot: Community) -> Client:
    """A test client signed in as an organiser of `depot`."""
    organiser = MembershipFactory.create(community=depot, role=Role.ORGANISER).user
    return signed_in(organiser)


@pytest.fixture
def community(db: None) -> Community:
    """A community at /c/depot/, for tests that sign people in themselves."""
    found: Community = CommunityFactory.create(slug="depot")
    return found


@pytest.fixture
def organiser(community: Community) -> Any:
    """An organiser of `community`, as a user."""
    return MembershipFactory.create(community=community, role=Role.ORGANISER).user
