"""How organisations plug into the community shell (nav, dashboard, public page, demo)."""

from __future__ import annotations

from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sayso.core.models import Community
from sayso.core.permissions import Access
from sayso.core.registry import DashboardCard, Module, registry

from .models import DataPractice, Organisation
from .seeds import seed_demo


def dashboard_card(community: Community, access: Access) -> DashboardCard:
    organisations = Organisation.objects.filter(community=community).aggregate(n=Count("pk"))["n"]
    practices = DataPractice.objects.filter(community=community).count()
    return DashboardCard(
        title=_("Organisations and data practices"),
        summary=_("Who collects, uses and shares data about you, and what they do with it."),
        url=reverse("organisations:list", kwargs={"slug": community.slug}),
        figures=((_("organisations"), organisations), (_("data practices"), practices)),
    )


def public_section(community: Community) -> str:
    organisations = (
        Organisation.objects.published().filter(community=community).prefetch_related("practices")
    )
    if not organisations:
        return ""
    return render_to_string("organisations/public_section.html", {"organisations": organisations})


registry.register(
    Module(
        key="organisations",
        label=gettext_lazy("Organisations"),
        nav_url_name="organisations:list",
        description=gettext_lazy("Organisations and their data practices across the data cycle."),
        dashboard_card=dashboard_card,
        public_section=public_section,
        demo_seed=seed_demo,
        order=10,
    )
)
