"""Organisation and data-practice pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sayso.accounts.tests.factories import UserFactory
from sayso.core.models import AuditEvent, Community, Role
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.organisations import services
from sayso.organisations.models import DataPractice, Organisation
from sayso.organisations.selectors import data_cycle
from sayso.organisations.tests.factories import DataPracticeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def depot() -> Community:
    return CommunityFactory.create(name="Depot Workers", slug="depot")


@pytest.fixture
def organiser(depot: Community) -> Any:
    return MembershipFactory.create(
        community=depot, user=UserFactory.create(name="Rosa"), role=Role.ORGANISER
    ).user


@pytest.fixture
def client(organiser: Any) -> Client:
    return signed_in(organiser)


def url(name: str, community: Community, **kwargs: Any) -> str:
    return reverse(f"organisations:{name}", kwargs={"slug": community.slug, **kwargs})


def organisation_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Northgate Logistics",
        "kind": "employer",
        "website": "https://example.org",
        "data_protection_contact": "dpo@example.org",
        "foi_address": "",
        "notes": "",
        **overrides,
    }


def practice_data(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Scanner tracking",
        "description": "Every scan is logged.",
        "stages": ["use", "collection"],
        "legal_basis": "not_stated",
        "sources": "",
        **overrides,
    }


# --- organisations --------------------------------------------------------------------


def test_create_organisation(depot: Community, client: Client, organiser: Any) -> None:
    response = client.post(url("create", depot), organisation_data(is_published="on"))
    organisation = Organisation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == organisation.get_absolute_url()
    assert (organisation.community, organisation.created_by, organisation.is_published) == (
        depot,
        organiser,
        True,
    )
    assert list(AuditEvent.objects.values_list("action", "summary")) == [
        ("organisation.published", "Rosa published Northgate Logistics on the public page.")
    ]


def test_a_new_organisations_kind_is_chosen_not_assumed(depot: Community, client: Client) -> None:
    """Nothing is ticked to begin with, so nobody saves "Employer" without choosing it."""
    html = client.get(url("create", depot)).content.decode()
    kinds = re.findall(r'<input type="radio" name="kind"[^>]*>', html)
    assert len(kinds) == len(Organisation.Kind.choices)
    assert not [k for k in kinds if "checked" in k]
    data = organisation_data()
    del data["kind"]
    response = client.post(url("create", depot), data)
    assert response.status_code == 200
    assert response.context["form"].errors["kind"] == ["Choose what kind of organisation this is."]
    shown_again = response.content.decode()
    assert "checked" not in "".join(
        re.findall(r'<input type="radio" name="kind"[^>]*>', shown_again)
    )
    assert not Organisation.objects.exists()


def test_editing_an_organisation_keeps_its_kind_ticked(depot: Community, client: Client) -> None:
    organisation = OrganisationFactory.create(community=depot, kind=Organisation.Kind.LANDLORD)
    html = client.get(url("edit", depot, pk=organisation.pk)).content.decode()
    ticked = re.findall(r'<input type="radio" name="kind" value="(\w+)"[^>]*checked', html)
    assert ticked == ["landlord"]


def test_edit_organisation(depot: Community, client: Client) -> None:
    organisation = OrganisationFactory.create(community=depot, name="Old name")
    response = client.post(
        url("edit", depot, pk=organisation.pk), organisation_data(name="  New   name ")
    )
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.name == "New name"
    assert AuditEvent.objects.count() == 0  # not published: nothing to audit


def test_duplicate_organisation_name_is_refused_with_a_clear_message(
    depot: Community, client: Client
) -> None:
    OrganisationFactory.create(community=depot, name="Northgate Logistics")
    OrganisationFactory.create(name="Other one")  # the same name elsewhere is fine
    response = client.post(url("create", depot), organisation_data(name="northgate logistics"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#id_name"' in html
    assert "Your community already has an organisation called &#x27;northgate logistics&#x27;." in (
        html
    )
    assert 'value="northgate logistics"' in html
    assert 'value="dpo@example.org"' in html
    assert Organisation.objects.filter(community=depot).count() == 1


def test_a_name_taken_by_a_save_at_the_same_moment_is_refused_not_a_crash(
    depot: Community, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two organisers saving the same name at once both pass the checks; the database
    refuses the second, which gets the message beside the name, not a server error."""
    OrganisationFactory.create(community=depot, name="Northgate Logistics")
    # The race: both saves pass every check made before writing.
    monkeypatch.setattr(services, "name_taken", lambda **_kwargs: False)
    monkeypatch.setattr(Organisation, "validate_constraints", lambda *_a, **_k: None)
    response = client.post(url("create", depot), organisation_data(name="NORTHGATE LOGISTICS"))
    assert response.status_code == 200
    assert "Your community already has an organisation with this name." in (
        response.content.decode()
    )
    assert Organisation.objects.filter(community=depot).count() == 1


def test_edit_to_a_duplicate_name_is_refused(depot: Community, client: Client) -> None:
    OrganisationFactory.create(community=depot, name="Taken")
    organisation = OrganisationFactory.create(community=depot, name="Mine")
    response = client.post(url("edit", depot, pk=organisation.pk), organisation_data(name="TAKEN"))
    assert response.status_code == 200
    assert 'href="#id_name"' in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.name == "Mine"


def test_delete_organisation(depot: Community, client: Client) -> None:
    organisation = OrganisationFactory.create(community=depot)
    DataPracticeFactory.create(organisation=organisation)
    assert client.get(url("delete", depot, pk=organisation.pk)).status_code == 200
    response = client.post(url("delete", depot, pk=organisation.pk))
    assert response["Location"] == url("list", depot)
    assert Organisation.objects.count() == 0
    assert DataPractice.objects.count() == 0


def test_pages_are_scoped_to_the_community(depot: Community, client: Client) -> None:
    elsewhere = DataPracticeFactory.create()
    org = elsewhere.organisation
    assert client.get(url("detail", depot, pk=org.pk)).status_code == 404
    assert client.post(url("edit", depot, pk=org.pk), organisation_data()).status_code == 404
    assert (
        client.post(url("practice-delete", depot, pk=org.pk, practice=elsewhere.pk)).status_code
        == 404
    )
    assert DataPractice.objects.filter(pk=elsewhere.pk).exists()


# --- data practices -------------------------------------------------------------------


def test_create_practice_keeps_cycle_order(depot: Community, client: Client) -> None:
    organisation = OrganisationFactory.create(community=depot)
    response = client.post(
        url("practice-create", depot, pk=organisation.pk),
        practice_data(sources="https://example.org/policy\n\n  http://example.org/news  "),
    )
    assert response.status_code == 302
    practice = DataPractice.objects.get()
    assert practice.stages == ["collection", "use"]
    assert practice.community == depot
    assert practice.source_list() == ["https://example.org/policy", "http://example.org/news"]


def test_practice_needs_at_least_one_stage(depot: Community, client: Client) -> None:
    organisation = OrganisationFactory.create(community=depot)
    response = client.post(
        url("practice-create", depot, pk=organisation.pk), practice_data(stages=[])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tick at least one stage of the data cycle." in html
    assert 'href="#id_stages_0"' in html
    assert 'value="Scanner tracking"' in html
    assert DataPractice.objects.count() == 0


def test_practice_sources_must_be_web_links_one_per_line(depot: Community, client: Client) -> None:
    organisation = OrganisationFactory.create(community=depot)
    response = client.post(
        url("practice-create", depot, pk=organisation.pk),
        practice_data(sources="https://example.org/ok\n\njavascript:alert(1)\nftp://x"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#id_sources"' in html
    assert (
        "Line 2 is not a web link: &#x27;javascript:alert(1)&#x27;. "
        "Put one link per line, starting with https://"
    ) in html
    assert "https://example.org/ok" in html  # what was typed stays
    assert 'value="collection" id="id_stages_1" checked>' in html
    assert 'value="use" id="id_stages_4" checked>' in html
    assert DataPractice.objects.count() == 0


def test_edit_and_delete_practice(depot: Community, client: Client) -> None:
    practice = DataPracticeFactory.create(organisation=OrganisationFactory.create(community=depot))
    org_pk = practice.organisation_id
    response = client.post(
        url("practice-edit", depot, pk=org_pk, practice=practice.pk),
        practice_data(title="Renamed", stages=["retention"]),
    )
    assert response.status_code == 302
    practice.refresh_from_db()
    assert (practice.title, practice.stages) == ("Renamed", ["retention"])
    response = client.post(url("practice-delete", depot, pk=org_pk, practice=practice.pk))
    assert response["Location"] == practice.organisation.get_absolute_url()
    assert DataPractice.objects.count() == 0


def test_organisation_page_shows_practices_in_the_cycle_and_the_table(
    depot: Community, client: Client
) -> None:
    organisation = OrganisationFactory.create(community=depot, name="Northgate")
    DataPracticeFactory.create(
        organisation=organisation, title="Scanner tracking", stages=["collection", "use"]
    )
    DataPracticeFactory.create(
        organisation=organisation,
        title="CCTV alerts",
        stages=["analysis"],
        special_categories=["biometric"],
    )
    response = client.get(organisation.get_absolute_url())
    assert response.status_code == 200
    cycle = {stage.value: [p.title for p in stage.practices] for stage in response.context["cycle"]}
    assert cycle == {
        "design": [],
        "collection": ["Scanner tracking"],
        "analysis": ["CCTV alerts"],
        "sharing": [],
        "use": ["Scanner tracking"],
        "reuse": [],
        "retention": [],
        "regulation": [],
    }
    html = response.content.decode()
    assert html.count("cycle__stage--active") == 3
    assert "<td>Collection, Use</td>" in html
    assert "<td>Biometric (for identifying people)</td>" in html


def test_data_cycle_shows_every_stage_in_order() -> None:
    practice = DataPractice(title="x", stages=["retention", "design"])
    stages = data_cycle([practice])
    assert [s.value for s in stages] == [
        "design",
        "collection",
        "analysis",
        "sharing",
        "use",
        "reuse",
        "retention",
        "regulation",
    ]
    assert [bool(s.practices) for s in stages] == [
        True,
        False,
        False,
        False,
        False,
        False,
        True,
        False,
    ]


# --- list page and public page ----------------------------------------------------------

ORGANISATION_LIST_QUERIES = 5


def test_organisation_list_query_count_is_pinned(
    depot: Community, client: Client, django_assert_num_queries: Any
) -> None:
    client.get(url("list", depot))
    for _ in range(2):
        DataPracticeFactory.create(organisation=OrganisationFactory.create(community=depot))
    with django_assert_num_queries(ORGANISATION_LIST_QUERIES):
        assert client.get(url("list", depot)).status_code == 200
    for _ in range(10):
        DataPracticeFactory.create(organisation=OrganisationFactory.create(community=depot))
    with CaptureQueriesContext(connection) as more:
        response = client.get(url("list", depot))
    assert len(response.context["organisations"]) == 12
    assert len(more.captured_queries) == ORGANISATION_LIST_QUERIES


def test_organisation_page_query_count_does_not_grow(depot: Community, client: Client) -> None:
    organisation = OrganisationFactory.create(community=depot)
    DataPracticeFactory.create(organisation=organisation)
    client.get(organisation.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(organisation.get_absolute_url())
    for _ in range(8):
        DataPracticeFactory.create(organisation=organisation)
    with CaptureQueriesContext(connection) as many:
        client.get(organisation.get_absolute_url())
    assert len(many.captured_queries) == len(few.captured_queries)


def test_public_page_shows_only_published_organisations(depot: Community) -> None:
    depot.is_public = True
    depot.save()
    shown = OrganisationFactory.create(community=depot, name="Shown Ltd", is_published=True)
    DataPracticeFactory.create(organisation=shown, title="Published practice")
    hidden = OrganisationFactory.create(community=depot, name="Hidden Ltd", notes="secret notes")
    DataPracticeFactory.create(organisation=hidden, title="Hidden practice")
    OrganisationFactory.create(name="Elsewhere Ltd", is_published=True)

    response = Client().get(depot.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Shown Ltd" in html
    assert "Published practice" in html
    for private in ("Hidden Ltd", "Hidden practice", "secret notes", "Elsewhere Ltd"):
        assert private not in html


def test_private_community_page_is_404_for_outsiders_even_with_published_organisations(
    depot: Community,
) -> None:
    OrganisationFactory.create(community=depot, is_published=True)
    outsider = signed_in(UserFactory.create())
    assert outsider.get(depot.get_absolute_url()).status_code == 404
    assert outsider.get(url("list", depot)).status_code == 404


def test_members_can_read_but_not_change(depot: Community) -> None:
    organisation = OrganisationFactory.create(community=depot)
    member = signed_in(MembershipFactory.create(community=depot).user)
    assert member.get(url("list", depot)).status_code == 200
    html = member.get(organisation.get_absolute_url()).content.decode()
    assert url("edit", depot, pk=organisation.pk) not in html
    assert member.post(url("create", depot), organisation_data(name="New")).status_code == 403
    assert Organisation.objects.count() == 1
