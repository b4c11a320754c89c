"""What readers see of a conversation changes only in steps of at least the small-group
threshold of people (services.publication_due).

The defect: the report (and the organiser's report, and the participant's "you" page)
showed the map recomputed a few seconds after each vote, so anyone who knew when a
colleague voted could compare the report before and after and read that person's votes.
"""

from __future__ import annotations

import re
from importlib import import_module
from typing import Any

import numpy as np
import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, Role
from sayso.core.services import create_code_batch
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.deliberation import selectors, services
from sayso.deliberation.models import (
    Conversation,
    OpinionMapResult,
    Participant,
    Statement,
    Vote,
    changed_participants,
    vote_digests,
)
from sayso.deliberation.tasks import recompute_opinion_map
from sayso.deliberation.tests.factories import ConversationFactory, StatementFactory, planted

pytestmark = pytest.mark.django_db

STEP = 5  # the community's small-group threshold in these tests


@pytest.fixture
def community(db: None) -> Community:
    found: Community = CommunityFactory.create(slug="depot", small_group_threshold=STEP)
    return found


@pytest.fixture
def organiser(community: Community) -> Client:
    return signed_in(MembershipFactory.create(community=community, role=Role.ORGANISER).user)


def _report_url(conversation: Conversation) -> str:
    return reverse("deliberation_public:report", kwargs={"public_token": conversation.public_token})


def _organiser_report_url(conversation: Conversation) -> str:
    return reverse(
        "deliberation:report",
        kwargs={"slug": conversation.community.slug, "conversation": conversation.pk},
    )


def _you_url(conversation: Conversation) -> str:
    return reverse("deliberation_public:you", kwargs={"public_token": conversation.public_token})


def _vote_url(conversation: Conversation) -> str:
    return conversation.get_public_url()


def _page(client: Client, url: str) -> str:
    """The page's main content, without what differs between two requests anyway."""
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r'(nonce|value)="[^"]*"', "", main)


def _figure(html: str, label: str) -> str:
    found = re.search(rf"<dt>{label}</dt><dd>(.*?)</dd>", html)
    assert found, label
    return found.group(1)


def _over_time(html: str) -> list[tuple[str, ...]]:
    table = html.split('id="over-time-caption"', 1)[1].split("</table>", 1)[0]
    return [
        tuple(
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        )
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])
    ]


def _recompute(conversation: Conversation) -> None:
    """The task worker's job, through the task itself (run at once in tests)."""
    recompute_opinion_map.enqueue(conversation_id=conversation.pk)


def _new_voter(conversation: Conversation, votes: dict[Statement, str]) -> Client:
    """Someone new who votes through the participant's page (joining on the first vote)."""
    client = Client()
    cast = Vote.objects.filter(participant__conversation=conversation).count()
    for statement, value in votes.items():
        response = client.post(
            _vote_url(conversation),
            {"statement": selectors.statement_token(statement.pk), "vote": value},
        )
        assert response.status_code == 303
    assert Vote.objects.filter(participant__conversation=conversation).count() == cast + len(votes)
    return client


def _published(community: Community, **options: Any) -> tuple[Conversation, list[Statement]]:
    conversation = ConversationFactory.create(community=community, **options)
    planted(conversation, groups=2, size=10, statements=8)
    _recompute(conversation)
    statements = list(Statement.objects.filter(conversation=conversation).order_by("number"))
    return conversation, statements


def test_one_voter_changes_nothing_a_reader_sees_until_the_threshold_of_people_voted(
    community: Community, organiser: Client
) -> None:
    conversation, statements = _published(community)
    reader = Client()
    before = _page(reader, _report_url(conversation))
    organiser_before = _page(organiser, _organiser_report_url(conversation))
    assert _figure(before, "people who joined") == "20"
    assert _figure(before, "votes") == "160"
    rows_before = _over_time(before)

    # As in the reviewer's steps: one person votes disagree on one statement and agree
    # on another; the recompute runs.
    _new_voter(conversation, {statements[0]: "disagree", statements[7]: "agree"})
    _recompute(conversation)
    assert Vote.objects.filter(participant__conversation=conversation).count() == 162
    after = _page(reader, _report_url(conversation))
    assert after == before
    assert _page(organiser, _organiser_report_url(conversation)) == organiser_before

    # Up to one fewer than the threshold of people: still nothing moves.
    for _ in range(STEP - 2):
        _new_voter(conversation, {statements[1]: "agree", statements[2]: "pass"})
        _recompute(conversation)
        assert _page(reader, _report_url(conversation)) == before
    assert Participant.objects.filter(conversation=conversation).count() == 20 + STEP - 1

    # The threshold reached: the figures move, by all of those people at once.
    _new_voter(conversation, {statements[1]: "agree", statements[2]: "pass"})
    _recompute(conversation)
    published = _page(reader, _report_url(conversation))
    assert published != before
    assert _figure(published, "people who joined") == str(20 + STEP)
    assert _figure(published, "votes") == str(160 + 2 * STEP)
    assert _over_time(published) != rows_before


def test_a_changed_vote_counts_as_a_change(community: Community) -> None:
    conversation, statements = _published(community)
    reader = Client()
    before = _page(reader, _report_url(conversation))
    people = list(Participant.objects.filter(conversation=conversation).order_by("number"))
    last = statements[7]  # everyone agreed with it

    def change_vote(participant: Participant) -> None:
        Vote.objects.filter(participant=participant, statement=last).update(
            value=Vote.Value.DISAGREE
        )

    for participant in people[: STEP - 1]:
        change_vote(participant)
    _recompute(conversation)
    # The same number of votes, four different: not yet enough people.
    assert _page(reader, _report_url(conversation)) == before
    change_vote(people[STEP - 1])
    _recompute(conversation)
    after = _page(reader, _report_url(conversation))
    assert after != before
    assert _figure(after, "votes") == _figure(before, "votes") == "160"
    tallies = OpinionMapResult.objects.get(conversation=conversation).data["tallies"]
    assert tallies[str(last.pk)] == [20 - STEP, STEP, 20]


def test_routing_priorities_stay_with_the_published_map(community: Community) -> None:
    """Routing deals statements in proportion to these priorities, which anyone with the
    link can measure by loading the page many times: they move only with a publication
    (services._routing_priority)."""
    conversation, statements = _published(community)
    stored = OpinionMapResult.objects.get(conversation=conversation)
    data, priority = stored.data, stored.priority
    assert priority
    _new_voter(conversation, {statements[3]: "agree", statements[4]: "agree"})
    _recompute(conversation)
    again = OpinionMapResult.objects.get(conversation=conversation)
    assert again.data == data  # nothing shown moved
    assert again.priority == priority  # nor did routing
    selectors.forget_routing(conversation)
    routing = selectors.load_routing(conversation.public_token)
    assert routing is not None
    assert routing.weights == tuple(
        max(float(again.priority[str(pk)]), 1e-9) for pk in routing.statements
    )


def test_closing_a_few_votes_after_the_published_figures_keeps_them(
    community: Community, organiser: Client
) -> None:
    conversation, statements = _published(community)
    reader = Client()
    before = _page(reader, _report_url(conversation))
    assert "The figures are updated once at least 5 more people have voted" in before
    assert "a few seconds after new votes" not in before
    _new_voter(conversation, {statements[5]: "disagree", statements[6]: "agree"})
    services.set_state(conversation=conversation, open=False, actor=None)
    _recompute(conversation)  # the recompute closing queues
    after = _page(reader, _report_url(conversation))
    assert _figure(after, "votes") == _figure(before, "votes") == "160"
    assert _over_time(after) == _over_time(before)
    assert "The last few votes are not in these figures" in after
    assert "Fewer than 5 people voted after these figures were last updated" in after
    assert "open the conversation again" not in after  # for organisers only
    assert "open the conversation again" in _page(organiser, _organiser_report_url(conversation))


def test_hidden_until_closed_publishes_nothing_while_open_then_everything_at_closing(
    community: Community, organiser: Client
) -> None:
    conversation, statements = _published(community, results_hidden_until_closed=True)
    stored = OpinionMapResult.objects.get(conversation=conversation)
    assert not stored.data.get("statements")  # nothing published, organisers included
    assert stored.priority == {}  # routing is even while open (services._routing_priority)
    html = _page(organiser, _organiser_report_url(conversation))
    assert "No results until the conversation closes" in html
    assert "What group A thinks" not in html
    # One more voter just before closing: nobody saw a version to compare with.
    _new_voter(conversation, {statements[0]: "agree"})
    services.set_state(conversation=conversation, open=False, actor=None)
    _recompute(conversation)
    html = _page(Client(), _report_url(conversation))
    assert "What group A thinks" in html
    assert _figure(html, "votes") == "161"
    assert _figure(html, "people who joined") == "21"


def test_a_map_stored_before_publication_counts_as_published(community: Community) -> None:
    """Maps stored before this change (no digests): the migration records the votes
    there are, and without digests a recompute takes the current votes as published."""
    conversation, statements = _published(community)
    OpinionMapResult.objects.filter(conversation=conversation).update(published_votes=b"")
    migration = import_module("sayso.deliberation.migrations.0007_opinion_map_published_votes")
    migration.record_published_votes(apps, None)
    stored = OpinionMapResult.objects.get(conversation=conversation)
    rows = np.array(
        Vote.objects.filter(participant__conversation=conversation).values_list(
            "participant_id", "statement_id", "value"
        )
    )
    ids, digests = vote_digests(rows[:, 0], rows[:, 1], rows[:, 2])
    recorded = stored.published_digests()
    assert recorded is not None
    assert recorded[0].tolist() == ids.tolist()
    assert recorded[1].tolist() == digests.tolist()

    # And with no digests at all, a recompute publishes nothing for one new voter.
    OpinionMapResult.objects.filter(conversation=conversation).update(published_votes=b"")
    data = stored.data
    _new_voter(conversation, {statements[0]: "agree"})
    _recompute(conversation)
    again = OpinionMapResult.objects.get(conversation=conversation)
    assert again.data == data
    assert again.published_digests() is not None  # the baseline, kept from now on


def test_digests_count_new_changed_and_gone_participants() -> None:
    rows = np.array([[1, 10, 1], [1, 11, -1], [2, 10, 0], [3, 12, 1]])
    first = vote_digests(rows[:, 0], rows[:, 1], rows[:, 2])
    shuffled = rows[[3, 1, 2, 0]]
    assert changed_participants(first, vote_digests(*shuffled.T)) == 0
    changed = np.array([[1, 10, 1], [1, 11, 1], [2, 10, 0], [4, 12, 1]])
    # 1 changed a vote, 3 is gone, 4 is new; 2 is the same.
    assert changed_participants(first, vote_digests(*changed.T)) == 3


# --- the participant's "you" page ------------------------------------------------------


def _seven_votes(conversation: Conversation, statements: list[Statement]) -> Client:
    return _new_voter(
        conversation,
        {s: ("agree" if s.number % 2 == 0 or s.number == 7 else "disagree") for s in statements},
    )


def test_you_page_says_when_your_latest_votes_are_not_in_the_figures(
    community: Community,
) -> None:
    conversation, statements = _published(community)
    client = _seven_votes(conversation, statements)
    _recompute(conversation)  # one new participant: not published
    html = _page(client, _you_url(conversation))
    assert "Your latest votes are not in the groups' figures yet" in html
    assert "once at least 5 people have voted since the figures were last updated" in html
    assert "updated every few seconds" not in html
    # Four more people: now their votes are in.
    for _ in range(STEP - 1):
        _seven_votes(conversation, statements)
    _recompute(conversation)
    html = _page(client, _you_url(conversation))
    assert "not in the groups' figures yet" not in html
    assert "your group" in html
    # Changing one vote takes them out again until enough people have voted.
    participant = Participant.objects.filter(conversation=conversation).order_by("-pk")[STEP - 1]
    Vote.objects.filter(participant=participant, statement=statements[0]).update(value=-1)
    html = _page(client, _you_url(conversation))
    assert "not in the groups' figures yet" in html


def test_you_page_says_so_when_no_statement_could_be_compared(community: Community) -> None:
    conversation, _statements = _published(community)
    # Statements added since the map: nothing to compare votes on them with.
    new = [StatementFactory.create(conversation=conversation, number=20 + i) for i in range(8)]
    client = _new_voter(conversation, dict.fromkeys(new, "agree"))
    html = _page(client, _you_url(conversation))
    assert "How often you voted with each group" in html
    assert html.count("Not enough shown figures to compare yet") == 2  # groups A and B
    assert "0%" not in html


def test_you_page_asks_a_visitor_without_a_code_for_their_code(
    community: Community, organiser: Client
) -> None:
    batch, _codes = create_code_batch(
        community=community,
        actor=MembershipFactory.create(community=community, role=Role.ORGANISER).user,
        label="Night shift",
        size=2,
    )
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.CODES, code_batch=batch
    )
    html = _page(Client(), _you_url(conversation))
    assert "Enter your invitation code first" in html
    assert "Vote on at least" not in html
    assert "You have voted on 0" not in html


def test_someone_in_a_group_keeps_the_comparison_when_statements_are_added_then_it_closes(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=4)
    _recompute(conversation)
    statements = list(Statement.objects.filter(conversation=conversation).order_by("number"))
    voters = [
        _new_voter(conversation, {s: ("agree" if s.number % 2 else "disagree") for s in statements})
        for _ in range(STEP)
    ]
    _recompute(conversation)  # enough people: published, and they are in it
    for i in range(3):
        StatementFactory.create(conversation=conversation, number=10 + i)
    services.set_state(conversation=conversation, open=False, actor=None)
    conversation.refresh_from_db()
    assert not conversation.is_open
    html = _page(voters[0], _you_url(conversation))
    assert "How often you voted with each group" in html
    assert "your group" in html
    assert "Voting has ended" not in html
