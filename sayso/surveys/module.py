"""How surveys plug into the community shell (nav, dashboard, evidence, demo)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sayso.core.models import Community
from sayso.core.registry import DashboardCard, Module, registry

from .models import MemberParticipation, Response, Survey
from .seeds import seed_demo
from .services import EVIDENCE_RESULT


def dashboard_card(community: Community, user: Any) -> DashboardCard:
    figures = Survey.objects.filter(community=community).aggregate(
        open=Count("pk", filter=Q(status=Survey.Status.OPEN)), total=Count("pk")
    )
    answered = Response.objects.filter(
        survey__community=community, status=Response.Status.COMPLETE, is_preview=False
    ).count()
    return DashboardCard(
        title=_("Surveys"),
        summary=_("Ask members what they experience, safely, and turn it into evidence."),
        url=reverse("surveys:list", kwargs={"slug": community.slug}),
        figures=((_("open surveys"), figures["open"]), (_("responses"), answered)),
    )


def personal_data(user: Any) -> list[dict[str, Any]]:
    """The surveys Sayso records this person answered (one answer per member). Which
    answers are theirs is never recorded, so there are none to give."""
    return [
        {
            "survey": str(taken.survey),
            "community": taken.survey.community.name,
            "note": _(
                "Sayso records only that you answered, so that each member answers"
                " once; nothing links you to your answers."
            ),
        }
        for taken in MemberParticipation.objects.filter(user=user).select_related(
            "survey__community"
        )
    ]


registry.register(
    Module(
        key="surveys",
        label=gettext_lazy("Surveys"),
        nav_url_name="surveys:list",
        description=gettext_lazy(
            "Privacy-safe community surveys, from XLSForm to weighted results."
        ),
        dashboard_card=dashboard_card,
        evidence_types=(EVIDENCE_RESULT,),
        demo_seed=seed_demo,
        personal_data=personal_data,
        order=30,
    )
)
