"""How deliberation plugs into the community shell (nav, dashboard, evidence, demo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sayso.core.models import Citation, Community
from sayso.core.permissions import Access
from sayso.core.registry import DashboardCard, Module, registry
from sayso.core.selectors import cited_sources

from . import selectors
from .models import Conversation, MemberJoined, Participant, Statement, Vote
from .seeds import seed_demo
from .services import EVIDENCE_TYPES


def dashboard_card(community: Community, access: Access) -> DashboardCard:
    conversations = Conversation.objects.filter(community=community).aggregate(
        open=Count("pk", filter=Q(state=Conversation.State.OPEN)), total=Count("pk")
    )
    if access.can_organise:
        votes = Vote.objects.filter(statement__conversation__community=community).count()
    else:
        # Members and advisors: the votes the reports show them, added up, never a live
        # count: read before and after a few people voted, it gave the votes the reports
        # hold back (selectors.published_totals). A report that says "fewer than 5"
        # adds nothing, or the others' figures taken from this total would give it.
        totals = selectors.published_totals(
            Conversation.objects.filter(community=community).only(
                "pk", "state", "results_hidden_until_closed"
            ),
            community.small_group_threshold,
        )
        votes = sum(t.votes for t in totals.values() if t is not None and t.votes is not None)
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


def personal_data(user: Any) -> list[dict[str, Any]]:
    """The conversations this person took part in under their name (not anonymous), with
    their votes and statements; and the anonymous members-only ones Sayso records they
    joined (MemberJoined), where nothing says which participant, vote or statement is
    theirs, so there is nothing more to give."""
    named = []
    for participant in (
        Participant.objects.filter(user=user)
        .select_related("conversation__community")
        .order_by("joined_on", "pk")
    ):
        conversation = participant.conversation
        votes = (
            Vote.objects.filter(participant=participant)
            .order_by("statement__number")
            .values_list("statement__text", "value")
        )
        named.append(
            {
                "conversation": conversation.topic,
                "community": conversation.community.name,
                "joined_on": participant.joined_on.isoformat(),
                "votes": [
                    {"statement": text, "vote": str(Vote.Value(value).label)}
                    for text, value in votes
                ],
                "statements_written": list(
                    Statement.objects.filter(author=participant)
                    .order_by("number")
                    .values_list("text", flat=True)
                ),
            }
        )
    anonymous = [
        {
            "conversation": joined.conversation.topic,
            "community": joined.conversation.community.name,
            "note": _(
                "You joined this anonymous conversation. Sayso records only that you"
                " joined, so that each member takes part once; nothing links you to your"
                " votes or statements."
            ),
        }
        for joined in MemberJoined.objects.filter(user=user).select_related(
            "conversation__community"
        )
    ]
    return named + anonymous


def evidence_links(citations: Sequence[Citation]) -> dict[int, tuple[str, str]]:
    """Each cited statement's conversation report, where its figures live."""
    links = {}
    for citation, statement in cited_sources(citations, Statement, "conversation__community"):
        conversation = statement.conversation
        url = reverse(
            "deliberation:report",
            kwargs={"slug": conversation.community.slug, "conversation": conversation.pk},
        )
        links[citation.pk] = (
            _("Conversation “%(topic)s”: report") % {"topic": conversation.topic},
            url,
        )
    return links


def evidence_shown(community: Community) -> Q:
    """The cited statements members and advisors may read on the Evidence page: those
    of conversations whose report shows them its results (Conversation.results_visible:
    not an open one whose results are hidden until it closes)."""
    return Q(
        evidence_type__in=EVIDENCE_TYPES,
        source_type=ContentType.objects.get_for_model(Statement),
        source_id__in=Statement.objects.filter(conversation__community=community)
        .exclude(
            conversation__results_hidden_until_closed=True,
            conversation__state=Conversation.State.OPEN,
        )
        .values("pk"),
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
        evidence_links=evidence_links,
        evidence_template="deliberation/evidence_item.html",
        evidence_shown=evidence_shown,
        demo_seed=seed_demo,
        personal_data=personal_data,
        order=30,
    )
)
