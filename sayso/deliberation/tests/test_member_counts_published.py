"""Members (and advisors) read a conversation's counts as the report has them, never live.

The report holds back the votes of fewer than the threshold of people, and pools quiet
days. The dashboard's vote count and the "people who joined" on the conversation pages
were live: a member who read them before and after two people voted learnt that
exactly 2 people cast exactly 4 votes, which the report holds back; read every day,
they gave the days the report pools. Organisers keep live counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, Role
from sayso.core.tests.factories import AdvisorGrantFactory, MembershipFactory
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, OpinionMapResult, Statement

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, VoteFactory
from .helpers import community_url, signed_in

pytestmark = pytest.mark.django_db


def _conversation(
    community: Community, *, people: int = 10, hidden: bool = False, topic: str = "Cameras"
) -> tuple[Conversation, list[Statement]]:
    """`people` who voted on 3 statements each (30 votes), and a published map."""
    conversation = ConversationFactory.create(
        community=community, topic=topic, results_hidden_until_closed=hidden
    )
    statements = [
        StatementFactory.create(conversation=conversation, number=i, text=f"Statement {i}")
        for i in range(3)
    ]
    for p in range(people):
        person = ParticipantFactory.create(conversation=conversation, number=p)
        for s in statements:
            VoteFactory.create(
                participant=person, statement=s, value=[1, -1, 0][(p + s.number) % 3]
            )
    services.compute_now(conversation=conversation)
    return conversation, statements


def _two_more_vote(conversation: Conversation, statements: list[Statement]) -> None:
    """Two people join and vote twice each: fewer than the threshold, held back."""
    for n in (98, 99):
        person = ParticipantFactory.create(conversation=conversation, number=n)
        for s in statements[:2]:
            services.cast_vote(
                conversation=conversation, participant=person, statement_id=s.pk, value=1
            )
    services.compute_now(conversation=conversation)
    assert OpinionMapResult.objects.get(conversation=conversation).held_back


def _figure(page: str, label: str) -> list[str]:
    return [v.strip() for v in re.findall(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", page, re.S)]


def _read(client: Client, conversation: Conversation) -> dict[str, Any]:
    community = conversation.community
    dashboard = client.get(reverse("core:community", kwargs={"slug": community.slug}))
    listing = client.get(reverse("deliberation:list", kwargs={"slug": community.slug}))
    detail = client.get(community_url(conversation, "detail"))
    report = client.get(community_url(conversation, "report"))
    return {
        "dashboard votes": _figure(dashboard.content.decode(), "votes"),
        "list joined": _figure(listing.content.decode(), "people who joined"),
        "page joined": _figure(detail.content.decode(), "People who joined"),
        "report joined": _figure(report.content.decode(), "people who joined"),
        "report votes": _figure(report.content.decode(), "votes"),
    }


@pytest.mark.parametrize("role", [Role.MEMBER, "advisor"])
def test_held_back_votes_do_not_show_in_members_counts(community: Community, role: Any) -> None:
    conversation, statements = _conversation(community)
    if role == "advisor":
        reader = signed_in(AdvisorGrantFactory.create(community=community).advisor)
    else:
        reader = signed_in(MembershipFactory.create(community=community, role=role).user)
    before = _read(reader, conversation)
    assert before == {
        "dashboard votes": ["30"],
        "list joined": ["10"],
        "page joined": ["10"],
        "report joined": ["10"],
        "report votes": ["30"],
    }
    _two_more_vote(conversation, statements)
    assert _read(reader, conversation) == before
    listed = reader.get(reverse("deliberation:list", kwargs={"slug": community.slug}))
    assert "not a live count: it is updated with the report" in listed.content.decode()


def test_organisers_keep_live_counts(community: Community, organiser: Any) -> None:
    conversation, statements = _conversation(community)
    client = signed_in(organiser)
    _two_more_vote(conversation, statements)
    found = _read(client, conversation)
    assert found["dashboard votes"] == ["34"]
    assert found["list joined"] == ["12"]
    assert found["page joined"] == ["12"]
    assert (found["report joined"], found["report votes"]) == (["10"], ["30"])
    listed = client.get(reverse("deliberation:list", kwargs={"slug": community.slug}))
    assert "not a live count" not in listed.content.decode()


def test_members_see_no_count_while_results_are_hidden(community: Community) -> None:
    _conversation(community, topic="Shown")
    hidden, statements = _conversation(community, hidden=True, topic="Hidden")
    member = signed_in(MembershipFactory.create(community=community, role=Role.MEMBER).user)
    before = _read(member, hidden)
    assert before["dashboard votes"] == ["30"]  # the shown conversation's only
    assert before["page joined"] == ["shown when the conversation closes"]
    # Newest first: the hidden conversation, then the shown one.
    assert before["list joined"] == ["shown when the conversation closes", "10"]
    _two_more_vote_hidden(hidden, statements)
    assert _read(member, hidden) == before


def _two_more_vote_hidden(conversation: Conversation, statements: list[Statement]) -> None:
    for n in (98, 99):
        person = ParticipantFactory.create(conversation=conversation, number=n)
        services.cast_vote(
            conversation=conversation, participant=person, statement_id=statements[0].pk, value=1
        )
    services.compute_now(conversation=conversation)


def test_members_see_not_counted_yet_before_the_first_map(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    StatementFactory.create(conversation=conversation)
    for _ in range(6):
        ParticipantFactory.create(conversation=conversation)  # joined, no votes yet
    member = signed_in(MembershipFactory.create(community=community, role=Role.MEMBER).user)
    found = _read(member, conversation)
    assert found["page joined"] == ["not counted yet"]
    assert found["list joined"] == ["not counted yet"]
    assert found["dashboard votes"] == ["0"]
