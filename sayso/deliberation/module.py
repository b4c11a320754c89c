"""How deliberation plugs into the community shell (nav, dashboard, evidence, demo)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sayso.core.models import Community
from sayso.core.registry import DashboardCard, Module, registry

from .models import Conversation, Vote
from .seeds import seed_demo
from .services import EVIDENCE_TYPES


def dashboard_card(community: Community, user: Any) -> DashboardCard:
    conversations = Conversation.objects.filter(community=community).aggregate(
        open=Count("pk", filter=Q(state=Conversation.State.OPEN)), total=Count("pk")
    )
    votes = Vote.objects.filter(statement__conversation__community=community).count()
    return DashboardCard(
        title=_("Conversations"),
        summary=_("Find where your community agrees and where it splits, one statement at a time."),
        url=reverse("deliberation:list", kwargs={"slug": community.slug}),
        figures=(
            (_("open conversations"), conversations["open"]),
            (_("conversations"), conversations["total"]),
            (_("votes"), votes),
        ),
    )


registry.register(
    Module(
        key="deliberation",
        label=gettext_lazy("Conversations"),
        nav_url_name="deliberation:list",
        description=gettext_lazy(
            "Polis-style conversations: statements, votes, opinion groups and consensus."
        ),
        dashboard_card=dashboard_card,
        evidence_types=EVIDENCE_TYPES,
        demo_seed=seed_demo,
        order=30,
    )
)
