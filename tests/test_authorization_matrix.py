"""Every URL in the URLconf, requested by every kind of person, answers as its access
level says.

The URLs are discovered from the resolver, not listed by hand: a new Sayso view is
covered as soon as it is routed, and a Sayso view without `sayso_access` (set by
`community_view` or `access_level`) fails the run. Third-party URLs (allauth, the
django-ninja API, the admin) are classified explicitly by namespace or prefix; an
unclassified one fails too.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from sayso.accounts.services import create_token
from sayso.accounts.tests.factories import AdvisorFactory
from sayso.core.models import Role
from sayso.core.tests.factories import (
    AdvisorGrantFactory,
    CommunityFactory,
    InvitationFactory,
    MembershipFactory,
)
from sayso.organisations.tests.factories import DataPracticeFactory, OrganisationFactory

ACTORS = ("anonymous", "outsider", "member", "organiser", "owner", "advisor")
RANK = {"member": 1, "organiser": 2, "owner": 3}
INVITATION_TOKEN = "matrix-invitation-token"


@dataclass(frozen=True)
class Route:
    """One routed URL pattern."""

    path: str  # the pattern as text, prefixes joined
    name: str  # namespaced URL name
    namespace: str
    callback: Any
    kwarg_names: tuple[str, ...]

    @property
    def is_sayso(self) -> bool:
        return str(getattr(self.callback, "__module__", "")).startswith("sayso.")

    @property
    def test_id(self) -> str:
        return f"{self.name or '?'}[{self.path}]"


def _walk(
    resolver: URLResolver, prefix: str = "", namespace: str = "", kwargs: tuple[str, ...] = ()
) -> list[Route]:
    routes: list[Route] = []
    for entry in resolver.url_patterns:
        text = prefix + str(entry.pattern)
        names = kwargs + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            joined = f"{namespace}:{inner}" if namespace and inner else (namespace or inner)
            routes.extend(_walk(entry, text, joined, names))
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            routes.append(Route(text, name, namespace, entry.callback, names))
    return routes


def discover() -> list[Route]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for route in _walk(get_resolver()):
        # django-ninja routes one URL pattern per HTTP method; the path is what we test.
        key = (route.path, route.namespace)
        if key not in seen:
            seen.add(key)
            unique.append(route)
    return unique


ROUTES = discover()
SAYSO_ROUTES = [r for r in ROUTES if r.is_sayso]
THIRD_PARTY_ROUTES = [r for r in ROUTES if not r.is_sayso]

# The community home is a public page only for public communities; the world's "home"
# community is private, so there it behaves exactly like a viewer page.
ACCESS_OVERRIDES = {"core:community": "viewer"}


def _app_extensions() -> list[Any]:
    """Each app may ship `sayso/<app>/tests/matrix.py` to put its own objects in the
    world, so adding an app never means editing this file. It may define
    `PK_SOURCE`, `ACCESS_OVERRIDES` and `build(world)`, which adds entries to
    `world.kwargs` (by URL argument name) or `world.route_kwargs` (by URL name)."""
    found = []
    for app in settings.INSTALLED_APPS:
        if not app.startswith("sayso."):
            continue
        try:
            found.append(importlib.import_module(f"{app}.tests.matrix"))
        except ModuleNotFoundError as error:
            if error.name != f"{app}.tests.matrix":
                raise
    return found


EXTENSIONS = _app_extensions()
for _extension in EXTENSIONS:
    ACCESS_OVERRIDES.update(getattr(_extension, "ACCESS_OVERRIDES", {}))

# --- Third-party URLs, classified explicitly ---------------------------------------
# allauth pages anyone may open, and what a signed-in person gets there.
ALLAUTH_PUBLIC = {
    # name: (anonymous, signed in)
    "account_login": (200, 302),  # signed-in people are sent on
    "account_signup": (200, 302),
    "account_inactive": (200, 200),
    "account_email_verification_sent": (200, 200),
    "account_reset_password": (200, 200),
    "account_reset_password_done": (200, 200),
    "account_reset_password_from_key": (200, 200),  # "bad token" page
    "account_reset_password_from_key_done": (200, 200),
    "account_confirm_email": (200, 200),  # "link expired or invalid" page
    "account_request_login_code": (200, 302),
    "account_confirm_login_code": (302, 302),  # no pending code: back to the start
    "account_logout": (302, 200),
}
# allauth pages for signed-in people only; anonymous people are sent to sign in.
ALLAUTH_AUTHENTICATED = {
    "account_email": 200,
    "account_change_password": 200,
    "account_set_password": 302,  # already has a password: goes to change it
    "account_reauthenticate": 200,
    # allauth 65.22: confirm who you are by an emailed code. Nobody has asked for one
    # here, so both send the person back a step (to the password form).
    "account_request_reauthentication_code": 302,
    "account_confirm_reauthentication_code": 302,
    "mfa_index": 200,
    "mfa_activate_totp": 302,  # asks for the password again first
    "mfa_deactivate_totp": 404,  # nothing to deactivate
    "mfa_view_recovery_codes": 404,  # none generated yet
    "mfa_generate_recovery_codes": 302,  # needs an authenticator first
    "mfa_download_recovery_codes": 404,
    "usersessions_list": 200,
    "mfa_reauthenticate": 302,  # no authenticator: password reauthentication instead
}
# allauth pages that only make sense half-way through a sign-in.
ALLAUTH_IN_FLOW = {"mfa_authenticate": (302, 302)}

API_NAMESPACE = "api-1.0.0"
API_PUBLIC = {"api-1.0.0:openapi-json": 200, "api-1.0.0:openapi-view": 200}
API_ROOT = "api-1.0.0:api-root"
ADMIN_NAMESPACE = "admin"
ADMIN_PUBLIC = {"admin:login": 200, "admin:jsi18n": 200}


def classify_third_party(route: Route) -> str:
    if route.namespace == API_NAMESPACE or route.path.startswith("api/"):
        return "api"
    if route.namespace == ADMIN_NAMESPACE or route.path.startswith("admin/"):
        return "admin"
    if route.path.startswith("accounts/") and route.callback.__module__.startswith("allauth."):
        return "allauth"
    return "unclassified"


# --- The world ---------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]
    home: Any
    other: Any
    kwargs: dict[str, Any]
    tokens: dict[str, int]
    route_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture
def world(db: None, settings: Any) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    home = CommunityFactory.create(slug="home", name="Home", is_public=False)
    other = CommunityFactory.create(slug="other", name="Other")
    owner = MembershipFactory.create(community=home, role=Role.OWNER).user
    organiser = MembershipFactory.create(community=home, role=Role.ORGANISER).user
    member_ship = MembershipFactory.create(community=home, role=Role.MEMBER)
    outsider = MembershipFactory.create(community=other, role=Role.ORGANISER).user
    advisor = AdvisorFactory.create()
    grant = AdvisorGrantFactory.create(community=home, advisor=advisor, granted_by=owner)
    invitation = InvitationFactory.create(community=home, raw_token=INVITATION_TOKEN)
    organisation = OrganisationFactory.create(community=home)
    practice = DataPracticeFactory.create(organisation=organisation)
    users = {
        "anonymous": None,
        "outsider": outsider,
        "member": member_ship.user,
        "organiser": organiser,
        "owner": owner,
        "advisor": advisor,
    }
    tokens = {
        actor: create_token(user=user, name="matrix")[0].pk
        for actor, user in users.items()
        if user is not None
    }
    world = World(
        users=users,
        home=home,
        other=other,
        tokens=tokens,
        kwargs={
            "slug": home.slug,
            "token": INVITATION_TOKEN,
            "practice": practice.pk,
            "org_id": organisation.pk,
            "practice_id": practice.pk,
            "key": "not-a-real-key",
            "uidb36": "zz",
            "object_id": "1",
            "content_type_id": "1",
            "app_label": "core",
            "url": "no-such-page/",
            "_organisation": organisation.pk,
            "_invitation": invitation.pk,
            "_membership": member_ship.pk,
            "_grant": grant.pk,
        },
    )
    for extension in EXTENSIONS:
        if hasattr(extension, "build"):
            extension.build(world)
    return world


# Which object `pk` means on each URL (every pk names an object inside "home").
PK_SOURCE = {
    "core:invitation-cancel": "_invitation",
    "core:member-role": "_membership",
    "core:member-remove": "_membership",
    "core:advisor-revoke": "_grant",
    "accounts:token-revoke": "_token",
}
for _extension in EXTENSIONS:
    PK_SOURCE.update(getattr(_extension, "PK_SOURCE", {}))


def url_for(route: Route, world: World, actor: str) -> str:
    kwargs: dict[str, Any] = {}
    specific = world.route_kwargs.get(route.name, {})
    for name in route.kwarg_names:
        if name in specific:
            kwargs[name] = specific[name]
        elif name == "pk":
            source = PK_SOURCE.get(
                route.name, "_organisation" if route.name.startswith("organisations:") else ""
            )
            if not source:
                pytest.fail(f"{route.test_id}: say which object its `pk` names in PK_SOURCE")
            if source == "_token":
                # Each person revokes their own token; anonymous people have none.
                kwargs["pk"] = world.tokens.get(actor, world.tokens["member"])
            else:
                kwargs["pk"] = world.kwargs[source]
        elif name in world.kwargs:
            kwargs[name] = world.kwargs[name]
        else:
            pytest.fail(f"{route.test_id}: no value for URL argument {name!r}")
    if re.search(r"[\^$]", route.path) or not route.name or route.name.endswith(":"):
        return _fill_regex(route, kwargs)
    return reverse(route.name, kwargs=kwargs)


def _fill_regex(route: Route, kwargs: dict[str, Any]) -> str:
    """Unnamed or regex patterns (admin object redirects, allauth keys): fill by hand."""
    text = route.path.replace("^", "").replace("$", "")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m.group(1)]), text)
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), text)
    return "/" + text


def client_for(world: World, actor: str) -> Client:
    client = Client()
    user = world.users[actor]
    if user is not None:
        client.force_login(user)
    return client


def allowed(level: str, actor: str) -> bool:
    if level == "public":
        return True
    if actor == "anonymous":
        return False
    if level == "authenticated":
        return True
    if actor == "outsider":
        return False
    if actor == "advisor":
        return level == "viewer"
    return level == "viewer" or RANK[actor] >= RANK[level]


def expected_denial(level: str, actor: str) -> int:
    if actor == "anonymous":
        return 302
    if actor == "outsider":
        return 404
    return 403


def assert_login_redirect(response: Any, path: str) -> None:
    assert response.status_code == 302, response.status_code
    target = urlsplit(response["Location"])
    assert target.path == reverse(settings.LOGIN_URL)
    assert parse_qs(target.query) == {"next": [path]}


# --- Tests -------------------------------------------------------------------------


def test_discovery_found_the_sayso_and_third_party_urls() -> None:
    names = {r.name for r in ROUTES}
    assert {"home", "core:community", "organisations:practice-delete", "accounts:tokens"} <= names
    assert {"account_login", "api-1.0.0:list_organisations", "admin:index"} <= names
    assert len(SAYSO_ROUTES) >= 30


@pytest.mark.parametrize("route", SAYSO_ROUTES, ids=lambda r: r.test_id)
def test_every_sayso_view_declares_its_access(route: Route) -> None:
    level = getattr(route.callback, "sayso_access", None)
    assert level in {"public", "authenticated", "viewer", "member", "organiser", "owner"}, (
        f"{route.test_id} ({route.callback.__module__}.{route.callback.__name__}) has no "
        "`sayso_access`: decorate it with community_view(level) or access_level(level)."
    )


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", SAYSO_ROUTES, ids=lambda r: r.test_id)
def test_sayso_get(route: Route, actor: str, world: World) -> None:
    level = ACCESS_OVERRIDES.get(route.name, getattr(route.callback, "sayso_access", None))
    assert level is not None, f"{route.test_id} has no `sayso_access`"
    post_only = getattr(route.callback, "sayso_post_only", False)
    url = url_for(route, world, actor)
    response = client_for(world, actor).get(url)
    if allowed(level, actor):
        assert response.status_code == (405 if post_only else 200), (url, response.status_code)
    elif actor == "anonymous":
        assert_login_redirect(response, url)
    else:
        assert response.status_code == expected_denial(level, actor), (url, response.status_code)


POST_ONLY_ROUTES = [r for r in SAYSO_ROUTES if getattr(r.callback, "sayso_post_only", False)]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", POST_ONLY_ROUTES, ids=lambda r: r.test_id)
def test_sayso_post_only_post(route: Route, actor: str, world: World) -> None:
    """Denied people change nothing; allowed people are sent back after the action."""
    level = route.callback.sayso_access
    url = url_for(route, world, actor)
    response = client_for(world, actor).post(url)
    if allowed(level, actor):
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path != reverse(settings.LOGIN_URL)
    elif actor == "anonymous":
        assert_login_redirect(response, url)
    else:
        assert response.status_code == expected_denial(level, actor)


def test_post_only_routes_exist() -> None:
    assert {r.name for r in POST_ONLY_ROUTES} >= {
        "core:invitation-cancel",
        "core:member-role",
        "core:member-remove",
        "core:advisor-revoke",
        "organisations:practice-delete",
        "accounts:token-revoke",
    }


@pytest.mark.parametrize("route", THIRD_PARTY_ROUTES, ids=lambda r: r.test_id)
def test_third_party_url_is_classified(route: Route) -> None:
    kind = classify_third_party(route)
    assert kind != "unclassified", f"{route.test_id} is not a Sayso view and not classified"
    if kind == "allauth":
        assert (
            route.name in ALLAUTH_PUBLIC
            or route.name in ALLAUTH_AUTHENTICATED
            or route.name in ALLAUTH_IN_FLOW
        ), f"allauth URL {route.name} needs a classification"


ALLAUTH_ROUTES = [r for r in THIRD_PARTY_ROUTES if classify_third_party(r) == "allauth"]
API_ROUTES = [r for r in THIRD_PARTY_ROUTES if classify_third_party(r) == "api"]
ADMIN_ROUTES = [r for r in THIRD_PARTY_ROUTES if classify_third_party(r) == "admin"]


@pytest.mark.parametrize("actor", ["anonymous", "member"])
@pytest.mark.parametrize("route", ALLAUTH_ROUTES, ids=lambda r: r.test_id)
def test_allauth_get(route: Route, actor: str, world: World) -> None:
    url = url_for(route, world, actor)
    response = client_for(world, actor).get(url)
    if route.name in ALLAUTH_AUTHENTICATED:
        if actor == "anonymous":
            assert_login_redirect(response, url)
        else:
            assert response.status_code == ALLAUTH_AUTHENTICATED[route.name]
        return
    anonymous, signed_in = {**ALLAUTH_PUBLIC, **ALLAUTH_IN_FLOW}[route.name]
    assert response.status_code == (anonymous if actor == "anonymous" else signed_in)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", API_ROUTES, ids=lambda r: r.test_id)
def test_api_needs_a_token(route: Route, actor: str, world: World) -> None:
    """A browser session is not enough: every API operation wants a bearer token."""
    response = client_for(world, actor).get(url_for(route, world, actor))
    if route.name in API_PUBLIC:
        assert response.status_code == API_PUBLIC[route.name]
    elif route.name == API_ROOT:
        # ninja's root is only a namespace anchor; it answers nothing.
        assert response.status_code == 404
    else:
        assert response.status_code == 401


@pytest.mark.parametrize("actor", ["anonymous", "owner"])
@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=lambda r: r.test_id)
def test_admin_needs_staff(route: Route, actor: str, world: World) -> None:
    """Community owners are not site staff: the admin sends them to its sign-in."""
    url = url_for(route, world, actor)
    response = client_for(world, actor).get(url)
    if route.name in ADMIN_PUBLIC:
        assert response.status_code in {200, 302}
        return
    if route.name == "admin:logout":
        # GET does not log out (POST-only); it sends people back to the admin index.
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == reverse("admin:index")
        return
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("admin:login")
