"""The organisations API (django-ninja under /api/) with personal bearer tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from sayso.accounts.models import ApiToken, hash_token
from sayso.accounts.services import create_token, revoke_token
from sayso.accounts.tests.factories import AdvisorFactory, UserFactory
from sayso.core.models import Community, Role
from sayso.core.tests.factories import (
    AdvisorGrantFactory,
    CommunityFactory,
    MembershipFactory,
    signed_in,
)
from sayso.organisations.models import DataPractice, Organisation
from sayso.organisations.tests.factories import DataPracticeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


class Api:
    """A test client that sends one bearer token and JSON bodies."""

    def __init__(self, raw_token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(f"/api{path}", **kwargs)

    def get(self, path: str) -> Any:
        return self.call("get", path)

    def post(self, path: str, body: Any) -> Any:
        return self.call("post", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self.call("patch", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.call("put", path, body)

    def delete(self, path: str) -> Any:
        return self.call("delete", path)


def api_for(user: Any) -> Api:
    return Api(create_token(user=user, name="test")[1])


@pytest.fixture
def depot() -> Community:
    return CommunityFactory.create(name="Depot Workers", slug="depot", kind="workplace")


@pytest.fixture
def organiser_api(depot: Community) -> Api:
    return api_for(MembershipFactory.create(community=depot, role=Role.ORGANISER).user)


@pytest.fixture
def member_api(depot: Community) -> Api:
    return api_for(MembershipFactory.create(community=depot, role=Role.MEMBER).user)


def test_no_token_or_a_bad_or_revoked_token_is_401(depot: Community) -> None:
    assert Api(None).get("/communities/").status_code == 401
    assert Api("sayso_not-a-token").get("/communities/").status_code == 401
    user = MembershipFactory.create(community=depot).user
    token, raw = create_token(user=user, name="old")
    assert Api(raw).get("/communities/").status_code == 200
    revoke_token(token=token)
    assert Api(raw).get("/communities/").status_code == 401
    user.is_active = False
    user.save()
    _, fresh = create_token(user=user, name="new")
    assert Api(fresh).get("/communities/").status_code == 401


def test_a_browser_session_is_not_enough(depot: Community) -> None:
    client = signed_in(MembershipFactory.create(community=depot, role=Role.OWNER).user)
    assert client.get("/api/communities/").status_code == 401


def test_token_is_stored_only_as_a_digest() -> None:
    _token, raw = create_token(user=UserFactory.create(), name="  Branch sync ")
    assert raw.startswith("sayso_")
    stored = ApiToken.objects.get()
    assert stored.digest == hash_token(raw)
    assert stored.name == "Branch sync"
    assert stored.hint == raw[:10]
    values = {str(v) for v in ApiToken.objects.values().get().values()}
    assert raw not in values


def test_list_communities_shows_memberships_and_advised_communities(depot: Community) -> None:
    other = CommunityFactory.create(slug="other", name="Other")
    CommunityFactory.create(slug="unrelated")
    user = AdvisorFactory.create()
    MembershipFactory.create(community=depot, user=user, role=Role.ORGANISER)
    AdvisorGrantFactory.create(community=other, advisor=user)
    response = api_for(user).get("/communities/")
    assert response.status_code == 200
    assert sorted(response.json(), key=lambda c: c["slug"]) == [
        {
            "slug": "depot",
            "name": "Depot Workers",
            "kind": "workplace",
            "description": "",
            "is_public": False,
            "role": "organiser",
            "is_advisor": False,
        },
        {
            "slug": "other",
            "name": "Other",
            "kind": "workplace",
            "description": "",
            "is_public": False,
            "role": None,
            "is_advisor": True,
        },
    ]


def test_member_can_read_but_not_write(depot: Community, member_api: Api) -> None:
    organisation = OrganisationFactory.create(community=depot, name="Acme")
    practice = DataPracticeFactory.create(organisation=organisation)
    assert member_api.get("/communities/depot").json()["role"] == "member"
    assert [o["name"] for o in member_api.get("/communities/depot/organisations").json()] == [
        "Acme"
    ]
    base = f"/communities/depot/organisations/{organisation.pk}"
    assert member_api.get(f"{base}/practices/{practice.pk}").status_code == 200
    for response in (
        member_api.post("/communities/depot/organisations", {"name": "New"}),
        member_api.patch(base, {"name": "Changed"}),
        member_api.delete(base),
        member_api.post(f"{base}/practices", {"title": "New one", "stages": ["use"]}),
        member_api.delete(f"{base}/practices/{practice.pk}"),
    ):
        assert response.status_code == 403
        assert response.json() == {"detail": "Your role in this community does not allow this."}
    assert list(Organisation.objects.values_list("name", flat=True)) == ["Acme"]
    assert DataPractice.objects.count() == 1


def test_organiser_creates_patches_and_deletes_an_organisation(
    depot: Community, organiser_api: Api
) -> None:
    response = organiser_api.post(
        "/communities/depot/organisations",
        {"name": "Northgate", "kind": "employer", "website": "https://example.org/n"},
    )
    assert response.status_code == 201
    created = response.json()
    organisation = Organisation.objects.get()
    assert created == {
        "id": organisation.pk,
        "name": "Northgate",
        "kind": "employer",
        "website": "https://example.org/n",
        "data_protection_contact": "",
        "foi_address": "",
        "notes": "",
        "is_published": False,
    }
    assert organisation.community == depot

    path = f"/communities/depot/organisations/{organisation.pk}"
    patched = organiser_api.patch(path, {"notes": "Watch them", "is_published": True})
    assert patched.status_code == 200
    assert (patched.json()["notes"], patched.json()["name"]) == ("Watch them", "Northgate")
    organisation.refresh_from_db()
    assert (organisation.notes, organisation.is_published) == ("Watch them", True)

    assert organiser_api.delete(path).status_code == 204
    assert Organisation.objects.count() == 0
    assert organiser_api.get(path).status_code == 404


def test_organiser_manages_practices(depot: Community, organiser_api: Api) -> None:
    organisation = OrganisationFactory.create(community=depot)
    base = f"/communities/depot/organisations/{organisation.pk}/practices"
    response = organiser_api.post(
        base,
        {
            "title": "Scanner tracking",
            "stages": ["use", "collection", "use"],
            "data_categories": ["scan events", " "],
            "special_categories": ["biometric"],
            "sources": ["https://example.org/policy"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    practice = DataPractice.objects.get()
    assert body["id"] == practice.pk
    assert body["stages"] == ["collection", "use"]
    assert body["data_categories"] == ["scan events"]
    assert body["sources"] == ["https://example.org/policy"]
    assert practice.community == depot

    replaced = organiser_api.put(
        f"{base}/{practice.pk}", {"title": "Scanner tracking v2", "stages": ["retention"]}
    )
    assert replaced.status_code == 200
    assert (replaced.json()["title"], replaced.json()["stages"]) == (
        "Scanner tracking v2",
        ["retention"],
    )
    assert [p["title"] for p in organiser_api.get(base).json()] == ["Scanner tracking v2"]
    assert organiser_api.delete(f"{base}/{practice.pk}").status_code == 204
    assert DataPractice.objects.count() == 0


def test_other_community_is_404(depot: Community, organiser_api: Api) -> None:
    other = CommunityFactory.create(slug="other")
    foreign = OrganisationFactory.create(community=other)
    practice = DataPracticeFactory.create(organisation=foreign)
    assert organiser_api.get("/communities/other").status_code == 404
    assert organiser_api.get("/communities/no-such").status_code == 404
    assert organiser_api.get("/communities/other/organisations").status_code == 404
    assert organiser_api.post("/communities/other/organisations", {"name": "Xyz"}).status_code == (
        404
    )
    # An organisation of another community through one's own slug: still 404.
    own_path = f"/communities/depot/organisations/{foreign.pk}"
    assert organiser_api.get(own_path).status_code == 404
    assert organiser_api.patch(own_path, {"name": "Hijacked"}).status_code == 404
    assert organiser_api.delete(f"{own_path}/practices/{practice.pk}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.name != "Hijacked"
    assert DataPractice.objects.count() == 1


def test_duplicate_name_is_409(depot: Community, organiser_api: Api) -> None:
    OrganisationFactory.create(community=depot, name="Acme")
    second = OrganisationFactory.create(community=depot, name="Beta")
    response = organiser_api.post("/communities/depot/organisations", {"name": "ACME"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Your community already has an organisation with this name."
    }
    patched = organiser_api.patch(f"/communities/depot/organisations/{second.pk}", {"name": "acme"})
    assert patched.status_code == 409
    assert sorted(Organisation.objects.values_list("name", flat=True)) == ["Acme", "Beta"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Tracking", "stages": ["mining"]},
        {"title": "Tracking", "stages": []},
        {"title": "Tracking", "stages": ["use"], "sources": ["javascript:alert(1)"]},
        {"title": "Tracking", "stages": ["use"], "sources": ["not a url"]},
        {"title": "ab", "stages": ["use"]},
        {"title": "Tracking", "stages": ["use"], "legal_basis": "because"},
    ],
)
def test_practice_validation_errors_are_422(
    depot: Community, organiser_api: Api, body: dict[str, Any]
) -> None:
    organisation = OrganisationFactory.create(community=depot)
    response = organiser_api.post(
        f"/communities/depot/organisations/{organisation.pk}/practices", body
    )
    assert response.status_code == 422
    assert "detail" in response.json()
    assert DataPractice.objects.count() == 0


def test_organisation_validation_errors_are_422(depot: Community, organiser_api: Api) -> None:
    for body in ({"name": "Acme", "website": "not a url"}, {"name": "A"}, {"kind": "x"}):
        assert organiser_api.post("/communities/depot/organisations", body).status_code == 422
    assert Organisation.objects.count() == 0


def test_openapi_schema_lists_the_endpoints() -> None:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Sayso API"
    paths = schema["paths"]
    assert set(paths) == {
        "/api/communities/",
        "/api/communities/{slug}",
        "/api/communities/{slug}/organisations",
        "/api/communities/{slug}/organisations/{org_id}",
        "/api/communities/{slug}/organisations/{org_id}/practices",
        "/api/communities/{slug}/organisations/{org_id}/practices/{practice_id}",
    }
    assert set(paths["/api/communities/{slug}/organisations/{org_id}"]) == {
        "get",
        "patch",
        "delete",
    }
    assert set(paths["/api/communities/{slug}/organisations/{org_id}/practices/{practice_id}"]) == {
        "get",
        "put",
        "delete",
    }
    security = schema["components"]["securitySchemes"]
    assert [s["scheme"] for s in security.values()] == ["bearer"]


def test_api_holds_organisers_to_the_communitys_two_factor_rule(
    depot: Community, organiser_api: Api
) -> None:
    depot.require_mfa_for_organisers = True
    depot.save()
    response = organiser_api.post("/communities/depot/organisations", {"name": "Acme"})
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    assert not Organisation.objects.filter(community=depot).exists()


def test_the_api_docs_page_has_a_language_a_main_landmark_and_a_heading() -> None:
    from html.parser import HTMLParser

    response = Client().get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()

    class Landmarks(HTMLParser):
        found: list[tuple[str, dict[str, str | None]]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.found.append((tag, dict(attrs)))

    parser = Landmarks()
    parser.feed(page)
    tags = dict(parser.found)
    assert tags["html"].get("lang") == "en"
    assert "main" in tags
    assert "h1" in tags
    # Without JavaScript, the schema is one link away.
    assert 'href="/api/openapi.json"' in page
    assert "style=" not in page  # the Content-Security-Policy allows no inline style
