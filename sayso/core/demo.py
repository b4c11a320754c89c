"""The demo: three realistic communities, their people, and every module's seeds.

Idempotent: running it twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import AdvisorGrant, Community, Membership, Role
from .registry import registry

DEMO_PASSWORD = "sayso-demo-2026"  # noqa: S105 (printed on purpose for the demo)
DEMO_DOMAIN = "demo.sayso.example"

COMMUNITIES = [
    {
        "key": "warehouse",
        "name": "Northgate Warehouse Workers",
        "slug": "northgate-warehouse",
        "kind": Community.Kind.WORKPLACE,
        "is_public": True,
        "description": "Pickers and packers at the Northgate distribution centre, organising "
        "over scanner productivity tracking and camera 'idle time' alerts.",
    },
    {
        "key": "patients",
        "name": "Riverside Patients' Network",
        "slug": "riverside-patients",
        "kind": Community.Kind.HEALTH,
        "is_public": True,
        "description": "Patients of Riverside GP Partnership who want a say in how their GP "
        "records are shared with a research platform.",
    },
    {
        "key": "tenants",
        "name": "Eastbank Court Tenants",
        "slug": "eastbank-tenants",
        "kind": Community.Kind.HOUSING,
        "is_public": False,
        "description": "Tenants of Eastbank Court, where the landlord installed facial-recognition "
        "entry and smart meters without asking.",
    },
]


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    organiser_email: str
    member_email: str
    advisor_email: str
    password: str


@transaction.atomic
def load_demo() -> DemoSummary:
    users = get_user_model().objects
    created = not Community.objects.filter(slug=COMMUNITIES[0]["slug"]).exists()

    def person(local: str, name: str, **extra: object) -> Any:
        user, made = users.get_or_create(
            email=f"{local}@{DEMO_DOMAIN}", defaults={"name": name, **extra}
        )
        if made:
            user.set_password(DEMO_PASSWORD)
            user.save()
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        return user

    organiser = person("organiser", "Priya (demo organiser)")
    member = person("member", "Sam (demo member)")
    advisor = person("advisor", "Alex (demo advisor)", is_advisor=True)

    for spec in COMMUNITIES:
        fields = {k: v for k, v in spec.items() if k not in {"key", "slug"}}
        community, _ = Community.objects.get_or_create(slug=spec["slug"], defaults=fields)
        Membership.objects.get_or_create(
            community=community, user=organiser, defaults={"role": Role.OWNER}
        )
        Membership.objects.get_or_create(
            community=community, user=member, defaults={"role": Role.MEMBER}
        )
        if spec["key"] == "warehouse":
            AdvisorGrant.objects.get_or_create(
                community=community, advisor=advisor, revoked_at=None
            )
        for module in registry:
            if module.demo_seed:
                module.demo_seed(community, str(spec["key"]))

    return DemoSummary(
        created=created,
        organiser_email=f"organiser@{DEMO_DOMAIN}",
        member_email=f"member@{DEMO_DOMAIN}",
        advisor_email=f"advisor@{DEMO_DOMAIN}",
        password=DEMO_PASSWORD,
    )
