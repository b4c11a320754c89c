"""The conversation page, the list of conversations, the report and the Polis export
count participants the same way, and say what they count: everyone who joined, and,
apart, those who voted ("voters" in summary.csv, Polis's own count, one row each in
participants-votes.csv). Someone can join without voting: by redeeming a code, by
writing a statement first, or when their first vote is refused."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, Role
from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Vote

from .factories import ConversationFactory, StatementFactory

pytestmark = pytest.mark.django_db


def _conversation(community: Community, *, voters: int, silent: int) -> Conversation:
    """`voters` people who voted and `silent` who joined without voting (one of them
    wrote a statement)."""
    conversation = ConversationFactory.create(community=community)
    statement = StatementFactory.create(conversation=conversation)
    for _ in range(voters):
        person = services.join(conversation=conversation)
        services.cast_vote(
            conversation=conversation, participant=person, statement_id=statement.pk, value=1
        )
    for n in range(silent):
        if n == 0:
            services.add_statement_as(
                conversation=conversation,
                participant_id=None,
                user=None,
                text="Night shift should meet apart",
            )
        else:
            services.join(conversation=conversation)  # a code redeemed, say
    # The recompute the votes queue: the export holds the published votes only.
    services.compute_now(conversation=conversation)
    return conversation


def _page(client: Client, conversation: Conversation, name: str = "detail") -> str:
    kwargs = {"slug": conversation.community.slug, "conversation": conversation.pk}
    response = client.get(reverse(f"deliberation:{name}", kwargs=kwargs))
    assert response.status_code == 200
    return response.content.decode()


def _figures(html: str) -> dict[str, str]:
    """The conversation page's summary: label -> value."""
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, re.S))


def _export(client: Client, conversation: Conversation) -> tuple[dict[str, str], list[list[str]]]:
    kwargs = {"slug": conversation.community.slug, "conversation": conversation.pk}
    response = client.get(reverse("deliberation:export", kwargs=kwargs))
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        summary = dict(csv.reader(io.StringIO(archive.read("summary.csv").decode())))
        rows = list(csv.reader(io.StringIO(archive.read("participants-votes.csv").decode())))
    return summary, rows[1:]


def test_the_page_the_report_and_the_export_count_alike_and_say_what(
    community: Community, organiser: Any
) -> None:
    conversation = _conversation(community, voters=6, silent=2)
    assert (Participant.objects.count(), Vote.objects.count()) == (8, 6)
    client = signed_in(organiser)

    figures = _figures(_page(client, conversation))
    assert figures["People who joined"] == "8"
    assert figures["People who have voted"] == "6 (the others joined but have not voted yet)"

    summary, rows = _export(client, conversation)
    assert "participants" not in summary  # not a Polis key
    assert summary["voters"] == "6"
    assert len(rows) == 6  # a row for each of them, as Polis writes it
    assert all(row[3] != "0" for row in rows)  # n-votes

    services.compute_now(conversation=conversation)
    report = _page(client, conversation, "report")
    assert "<dt>people who joined</dt><dd>8</dd>" in report


def test_when_everyone_voted_the_page_says_so_without_a_note(
    community: Community, organiser: Any
) -> None:
    conversation = _conversation(community, voters=5, silent=0)
    figures = _figures(_page(signed_in(organiser), conversation))
    assert (figures["People who joined"], figures["People who have voted"]) == ("5", "5")


def test_members_see_one_count_and_never_a_small_one(community: Community) -> None:
    member = signed_in(MembershipFactory.create(community=community, role=Role.MEMBER).user)
    big = _conversation(community, voters=6, silent=2)
    small = _conversation(community, voters=3, silent=1)
    figures = _figures(_page(member, big))
    assert figures["People who joined"] == "8"
    # Joined and voted side by side would give the 2 who joined without voting.
    assert "People who have voted" not in figures
    assert _figures(_page(member, small))["People who joined"] == "fewer than 5"
    listing = member.get(reverse("deliberation:list", kwargs={"slug": community.slug}))
    cards = re.findall(r"<dt>people who joined</dt><dd>(.*?)</dd>", listing.content.decode(), re.S)
    # Newest first: the small one says "fewer than 5", as its page does; it said 4.
    assert cards == ["fewer than 5", "8"]


def test_organisers_see_exact_counts_on_the_list(community: Community, organiser: Any) -> None:
    _conversation(community, voters=3, silent=1)
    listing = signed_in(organiser).get(reverse("deliberation:list", kwargs={"slug": "depot"}))
    assert re.findall(r"<dt>people who joined</dt><dd>(.*?)</dd>", listing.content.decode()) == [
        "4"
    ]
