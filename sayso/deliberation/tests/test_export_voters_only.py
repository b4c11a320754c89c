"""participants-votes.csv lists the people with at least one vote in the export, as
Polis's own does (its rows are the rows of the vote matrix: darwin/export.clj,
participants-votes-table; no openData export has a row with n-votes 0). People who
joined without voting, or whose votes came after the published results, have no row,
and summary.csv has Polis's keys only."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import Participant, Statement

from .factories import ConversationFactory, planted
from .helpers import export_csv

pytestmark = pytest.mark.django_db

# summary.csv's keys as Polis writes them (darwin/export.clj, csv-format); Sayso leaves
# out `views`, which it does not count.
POLIS_SUMMARY_KEYS = {
    "topic",
    "url",
    "views",
    "voters",
    "voters-in-conv",
    "commenters",
    "comments",
    "groups",
    "conversation-description",
}


@pytest.mark.parametrize("anonymous", [True, False])
def test_only_people_with_a_vote_in_the_export_have_a_row(
    community: Community, anonymous: bool
) -> None:
    conversation = ConversationFactory.create(community=community, anonymous=anonymous)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)  # published: the 20 who voted
    before = services.export_polis(conversation=conversation, actor=None)
    # Two join without voting (a code redeemed, a refused first vote); one votes, but
    # fewer than the threshold have voted since, so the results do not hold it yet.
    services.join(conversation=conversation)
    services.join(conversation=conversation)
    late = services.join(conversation=conversation)
    first = Statement.objects.filter(conversation=conversation).order_by("number")[0]
    services.cast_vote(conversation=conversation, participant=late, statement_id=first.pk, value=1)
    services.compute_now(conversation=conversation)
    assert Participant.objects.filter(conversation=conversation).count() == 23

    archive = services.export_polis(conversation=conversation, actor=None)
    rows = export_csv(archive, "participants-votes.csv")
    assert len(rows) == 20
    assert all(int(row["n-votes"]) > 0 for row in rows)
    numbers = {row["participant"] for row in rows}
    voters = {row["voter-id"] for row in export_csv(archive, "votes.csv")}
    assert voters == numbers
    # Anonymous: numbered afresh among the rows written, with no gap where a silent
    # person was. Named: planted's own numbers, kept.
    assert numbers == {str(n) for n in range(20)}
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        summary = dict(csv.reader(io.StringIO(opened.read("summary.csv").decode())))
    assert set(summary) <= POLIS_SUMMARY_KEYS
    assert summary["voters"] == "20"
    # Nobody new in the results, nothing new in the export, whoever joined meanwhile.
    assert len(export_csv(before, "participants-votes.csv")) == 20
    assert len(export_csv(archive, "votes.csv")) == len(export_csv(before, "votes.csv")) == 160
    if not anonymous:
        assert export_csv(archive, "votes.csv") == export_csv(before, "votes.csv")


def test_an_export_of_people_who_joined_without_voting_lists_nobody(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=1, size=0, statements=3)
    for _ in range(3):
        services.join(conversation=conversation)
    services.compute_now(conversation=conversation)
    archive = services.export_polis(conversation=conversation, actor=None)
    assert export_csv(archive, "participants-votes.csv") == []
    assert export_csv(archive, "votes.csv") == []
    assert len(export_csv(archive, "comments.csv")) == 3
