"""How surveys plug into the community shell (nav, dashboard, evidence, demo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sayso.core.models import Citation, Community
from sayso.core.permissions import Access
from sayso.core.registry import DashboardCard, Module, registry
from sayso.core.selectors import cited_sources

from .models import MemberParticipation, Question, Response, Survey
from .seeds import seed_demo
from .services import EVIDENCE_RESULT


def dashboard_card(community: Community, access: Access) -> DashboardCard:
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


def evidence_links(citations: Sequence[Citation]) -> dict[int, tuple[str, str]]:
    """Each cited result's survey results, at its question, in the view it was cited
    from (as published; weighted if it was)."""
    links = {}
    for citation, question in cited_sources(citations, Question, "survey__community"):
        survey = question.survey
        query = {"audience": "published"}
        if citation.snapshot.get("weighted"):
            query["weighted"] = "1"
        url = reverse("surveys:results", kwargs={"slug": survey.community.slug, "pk": survey.pk})
        links[citation.pk] = (
            _("Survey “%(title)s”: results") % {"title": survey.title},
            f"{url}?{urlencode(query)}#q-{question.pk}",
        )
    return links


def evidence_shown(community: Community) -> Q:
    """The cited results members and advisors may read on the Evidence page: those of
    closed surveys whose figures they read on the results page too. Everything else
    is kept from them there (selectors.withheld_because: an open survey's figures, or
    figures a few responses from those they saw or were cited); drafts have none."""
    return Q(
        evidence_type=EVIDENCE_RESULT,
        source_type=ContentType.objects.get_for_model(Question),
        source_id__in=Question.objects.filter(
            survey__community=community,
            survey__status=Survey.Status.CLOSED,
            survey__figures_withheld_since_shown=False,
        ).values("pk"),
    )


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
        evidence_links=evidence_links,
        evidence_template="surveys/evidence_item.html",
        evidence_shown=evidence_shown,
        demo_seed=seed_demo,
        personal_data=personal_data,
        order=30,
    )
)
