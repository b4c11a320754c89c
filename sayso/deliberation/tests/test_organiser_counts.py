"""Organisers' pages show each statement's votes and pass rate as the report has them.

The defect: the moderation queue and the conversation's page counted votes live, so an
organiser who knew when someone voted (they sent the link, or sat beside them) could
watch a statement's passes go from 3 to 4 and learn that this person passed. Now both
read the published map (selectors.published_counts), which changes only once at least
the small-group threshold of people voted, with small counts hidden as on the report.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sayso.core.models import Community
from sayso.deliberation import selectors
from sayso.deliberation.models import Conversation, OpinionMapResult, Statement, Vote
from sayso.deliberation.tasks import recompute_opinion_map

from .factories import (
    ConversationFactory,
    ParticipantFactory,
    StatementFactory,
    VoteFactory,
    planted,
)
from .helpers import community_url, token

pytestmark = pytest.mark.django_db

STEP = 5  # the depot community's small-group threshold (the default)


def _recompute(conversation: Conversation) -> None:
    """The task worker's job, through the task itself (run at once in tests)."""
    recompute_opinion_map.enqueue(conversation_id=conversation.pk)


def _published(community: Community, **options: object) -> tuple[Conversation, list[Statement]]:
    """Two blocs of 10 who voted on 8 statements (factories.planted), published."""
    conversation = ConversationFactory.create(community=community, **options)
    planted(conversation, groups=2, size=10, statements=8)
    _recompute(conversation)
    assert selectors.map_view(selectors.stored_map(conversation), STEP) is not None
    return conversation, list(Statement.objects.filter(conversation=conversation))


def _new_voter(conversation: Conversation, votes: dict[Statement, str]) -> None:
    """Someone new who votes through the participant's page (joining on the first vote)."""
    client = Client()
    cast = Vote.objects.filter(participant__conversation=conversation).count()
    for statement, value in votes.items():
        response = client.post(
            conversation.get_public_url(), {"statement": token(statement), "vote": value}
        )
        assert response.status_code == 303
    assert Vote.objects.filter(participant__conversation=conversation).count() == cast + len(votes)


def _text(cell: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()


def _rows(html: str, caption_id: str) -> list[tuple[str, ...]]:
    """The text of each body row's cells in the table captioned `caption_id`."""
    table = html.split(f'id="{caption_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        tuple(_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S))
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _queue(client: Client, conversation: Conversation) -> list[tuple[str, ...]]:
    """Statement, votes and pass rate of each row of the moderation page's accepted list
    (one cell when the two share one, "not counted yet" say)."""
    response = client.get(community_url(conversation, "moderate") + "?show=accepted")
    assert response.status_code == 200
    return [row[1:2] + row[3:] for row in _rows(response.content.decode(), "queue-caption")]


def _detail(client: Client, conversation: Conversation) -> list[tuple[str, ...]]:
    """Number, statement, status and votes of each row of the conversation's page."""
    response = client.get(community_url(conversation, "detail"))
    assert response.status_code == 200
    return _rows(response.content.decode(), "statements-caption")


def _label(statement: Statement) -> str:
    return f"{statement.number + 1}. {statement.text}"


def test_one_new_voter_after_a_publication_moves_nothing_on_organiser_pages(
    depot: Community, depot_organiser: Client
) -> None:
    conversation, statements = _published(depot)
    first, last = statements[0], statements[7]
    queue_before = _queue(depot_organiser, conversation)
    detail_before = _detail(depot_organiser, conversation)

    # Someone the organiser watches votes: passes on the first, agrees with the last.
    _new_voter(conversation, {first: "pass", last: "agree"})
    _recompute(conversation)
    assert Vote.objects.filter(statement=last).count() == 21
    assert Vote.objects.filter(statement=first, value=Vote.Value.PASS).count() == 5
    assert _queue(depot_organiser, conversation) == queue_before
    assert _detail(depot_organiser, conversation) == detail_before

    # What both pages show: everyone agreed with the last statement, 20 votes, nobody
    # passed. Four people passed on the first, a count below the threshold: hidden, as
    # on the report.
    assert queue_before[7] == (_label(last), "20", "0%")
    assert queue_before[0] == (_label(first), "20", "hidden")
    assert detail_before[7] == ("8", last.text, "Accepted", "20")


def test_the_figures_move_once_the_threshold_of_people_voted_and_match_the_report(
    depot: Community, depot_organiser: Client
) -> None:
    conversation, statements = _published(depot)
    first, last = statements[0], statements[7]
    queue_before = _queue(depot_organiser, conversation)
    for _ in range(STEP - 1):
        _new_voter(conversation, {first: "pass", last: "agree"})
        _recompute(conversation)
    assert _queue(depot_organiser, conversation) == queue_before
    _new_voter(conversation, {first: "pass", last: "agree"})
    _recompute(conversation)

    queue = _queue(depot_organiser, conversation)
    assert queue != queue_before
    assert queue[7] == (_label(last), "25", "0%")
    # 4 + 5 of 25 passed on the first: 36 %, shown now that the count is not small.
    assert queue[0] == (_label(first), "25", "36%")
    assert _detail(depot_organiser, conversation)[0] == ("1", first.text, "Accepted", "25")
    # The report's own figures, from the same published map.
    view = selectors.map_view(selectors.stored_map(conversation), STEP)
    assert view is not None
    assert view.figures(first.pk).overall.votes == 25
    assert view.figures(last.pk).overall == selectors.Figures(agree=100, disagree=0, votes=25)


def test_before_anything_is_published_the_pages_say_not_counted_yet(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    statement = StatementFactory.create(conversation=conversation, number=0)
    for _ in range(STEP + 1):
        VoteFactory.create(
            participant=ParticipantFactory.create(conversation=conversation),
            statement=statement,
            value=Vote.Value.PASS,
        )
    assert not OpinionMapResult.objects.get(conversation=conversation).data
    page = depot_organiser.get(community_url(conversation, "moderate") + "?show=accepted")
    html = page.content.decode()
    assert _queue(depot_organiser, conversation) == [(_label(statement), "Not counted yet")]
    assert "No votes have been counted yet." in html
    assert "100%" not in html
    assert _detail(depot_organiser, conversation) == [
        ("1", statement.text, "Accepted", "Not counted yet")
    ]


def test_results_hidden_until_closing_are_not_counted_for_organisers_either(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot, results_hidden_until_closed=True)
    planted(conversation, groups=2, size=10, statements=8)
    _recompute(conversation)
    html = depot_organiser.get(community_url(conversation, "detail")).content.decode()
    assert "Votes are counted when the conversation closes" in html
    assert {row[3] for row in _detail(depot_organiser, conversation)} == {"Not counted yet"}


def test_a_statement_added_since_the_publication_waits_for_the_next_update(
    depot: Community, depot_organiser: Client
) -> None:
    conversation, _statements = _published(depot)
    before = _queue(depot_organiser, conversation)
    new = StatementFactory.create(conversation=conversation, number=8)
    _new_voter(conversation, {new: "pass"})
    _recompute(conversation)  # one person: not published
    queue = _queue(depot_organiser, conversation)
    assert queue == [*before, (_label(new), "Counted with the next update")]
    assert _detail(depot_organiser, conversation)[8] == (
        "9",
        new.text,
        "Accepted",
        "Counted with the next update",
    )
    moderate = community_url(conversation, "moderate") + "?show=accepted"
    html = depot_organiser.get(moderate).content.decode()
    assert "These are the report's figures, last updated on" in html
    assert "updated once at least 5 more people have voted" in html


def test_a_statement_waiting_for_moderation_offers_edit_until_its_first_vote(
    depot: Community, depot_organiser: Client
) -> None:
    # The edit rule follows the live votes (the words of a statement someone voted on are
    # fixed), while the figures stay the published ones.
    conversation, _statements = _published(depot)
    waiting = StatementFactory.create(
        conversation=conversation, number=8, state=Statement.State.PENDING
    )
    url = community_url(conversation, "moderate") + "?show=pending"
    edit = reverse("deliberation:statement-edit", args=[depot.slug, conversation.pk, waiting.pk])
    assert edit in depot_organiser.get(url).content.decode()
    _new_voter(conversation, {waiting: "agree"})
    html = depot_organiser.get(url).content.decode()
    assert edit not in html
    assert "Counted with the next update" in html


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_moderation_and_detail_query_counts_do_not_grow_with_statements(
    depot: Community, depot_organiser: Client
) -> None:
    conversation, _statements = _published(depot)
    moderate = community_url(conversation, "moderate") + "?show=accepted"
    detail = community_url(conversation, "detail")
    few = (_queries(depot_organiser, moderate), _queries(depot_organiser, detail))
    for number in range(8, 28):
        StatementFactory.create(conversation=conversation, number=number)
    _new_voter(conversation, {Statement.objects.get(conversation=conversation, number=20): "pass"})
    assert (_queries(depot_organiser, moderate), _queries(depot_organiser, detail)) == few
    # session, user, membership, advisor grant, conversation, tab counts, stored map,
    # the queue's statements, the statements' words for hints (moderation);
    # session, user, membership, advisor grant, conversation, stored map, statements,
    # participants (detail). Never the votes.
    assert few == (9, 8)
