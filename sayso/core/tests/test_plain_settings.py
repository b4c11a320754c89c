"""Plain words on the community's forms: the web address (no "slug"), the smallest group
shown (the form's limits are the server's), and the audit log's account of a change of
settings (what changed, from what to what, not a database field's name)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.accounts.tests.factories import UserFactory
from sayso.core.models import AuditEvent, Community, Role
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in

pytestmark = pytest.mark.django_db

WEB_ADDRESS = "Use only letters, numbers and single hyphens in the web address, like &#x27;northgate-depot&#x27;."


def owner_of(community: Community) -> Client:
    return signed_in(
        MembershipFactory.create(
            community=community, user=UserFactory.create(name="Rosa"), role=Role.OWNER
        ).user
    )


def settings_data(community: Community, **changes: Any) -> dict[str, Any]:
    data = {
        "name": community.name,
        "kind": community.kind,
        "description": community.description,
        "small_group_threshold": community.small_group_threshold,
    }
    if community.is_public:
        data["is_public"] = "on"
    if community.require_mfa_for_organisers:
        data["require_mfa_for_organisers"] = "on"
    return {**data, **changes}


def columns(community: Community) -> tuple[Any, ...]:
    fresh = Community.objects.get(pk=community.pk)
    return (
        fresh.name,
        fresh.kind,
        fresh.description,
        fresh.is_public,
        fresh.small_group_threshold,
        fresh.require_mfa_for_organisers,
    )


# --- the web address --------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["depot workers", "depot/workers", "depot_workers", "-depot", "a--b"]
)
def test_a_web_address_of_the_wrong_shape_is_refused_in_plain_words(typed: str) -> None:
    response = signed_in(UserFactory.create()).post(
        reverse("core:community-create"), {"name": "Depot Workers", "slug": typed, "kind": "other"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["form"].errors["slug"] == [WEB_ADDRESS.replace("&#x27;", "'")]
    assert WEB_ADDRESS in html
    assert "slug" not in html.lower().replace('name="slug"', "").replace("id_slug", "")
    assert not Community.objects.exists()


def test_the_new_community_form_says_the_web_address_cannot_change() -> None:
    html = signed_in(UserFactory.create()).get(reverse("core:community-create")).content.decode()
    assert (
        '<div class="helptext" id="id_slug_helptext">Used in links to your community, like'
        " /c/northgate-depot/. It cannot be changed later.</div>"
    ) in html


# --- the smallest group shown ------------------------------------------------------------


def test_the_threshold_box_allows_what_the_server_allows() -> None:
    community = CommunityFactory.create(small_group_threshold=5)
    html = owner_of(community).get(reverse("core:settings", args=[community.slug])).content.decode()
    box = re.search(r'<input[^>]*name="small_group_threshold"[^>]*>', html)
    assert box is not None
    assert 'min="2"' in box.group(0)
    assert 'max="100"' in box.group(0)


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        ("0", "The smallest group shown must be at least 2 people."),
        ("1", "The smallest group shown must be at least 2 people."),
        ("-3", "The smallest group shown must be at least 2 people."),
        ("", "The smallest group shown must be at least 2 people."),
        ("two", "The smallest group shown must be at least 2 people."),
        ("101", "The smallest group shown can be at most 100 people."),
    ],
)
def test_a_threshold_out_of_range_gets_one_plain_message(typed: str, told: str) -> None:
    community = CommunityFactory.create(small_group_threshold=5)
    before = columns(community)
    response = owner_of(community).post(
        reverse("core:settings", args=[community.slug]),
        settings_data(community, small_group_threshold=typed),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["small_group_threshold"] == [told]
    assert columns(community) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.COMMUNITY_UPDATED).exists()


# --- the audit log -----------------------------------------------------------------------


def test_a_settings_change_is_logged_in_words_with_before_and_after() -> None:
    community = CommunityFactory.create(
        name="Depot Workers", kind=Community.Kind.WORKPLACE, small_group_threshold=5
    )
    client = owner_of(community)
    response = client.post(
        reverse("core:settings", args=[community.slug]),
        settings_data(
            community,
            small_group_threshold="3",
            kind=Community.Kind.HEALTH,
            is_public="on",
            description="New words",
        ),
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.COMMUNITY_UPDATED)
    assert event.summary == (
        "Rosa changed the kind of community from Workplace to Health, changed"
        " the description, turned the public page on and changed the smallest group shown"
        " from 5 to 3."
    )
    assert event.detail == {
        "changed": ["kind", "description", "is_public", "small_group_threshold"],
        "values": {
            "kind": ["workplace", "health"],
            "is_public": [False, True],
            "small_group_threshold": [5, 3],
        },
    }
    # The audit page shows it as it is.
    audit = client.get(reverse("core:audit", args=[community.slug])).content.decode()
    assert "changed the smallest group shown from 5 to 3" in audit
    assert "small_group_threshold" not in audit


def test_saving_settings_unchanged_logs_nothing() -> None:
    community = CommunityFactory.create(small_group_threshold=5)
    response = owner_of(community).post(
        reverse("core:settings", args=[community.slug]), settings_data(community)
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.COMMUNITY_UPDATED).exists()


def test_renaming_and_two_factor_are_said_in_words() -> None:
    community = CommunityFactory.create(name="Depot Workers")
    owner_of(community).post(
        reverse("core:settings", args=[community.slug]),
        settings_data(community, name="Depot Workers United", require_mfa_for_organisers="on"),
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.COMMUNITY_UPDATED)
    assert event.summary == (
        "Rosa renamed the community from “Depot Workers” to “Depot Workers"
        " United” and made two-factor sign-in required for organisers."
    )
