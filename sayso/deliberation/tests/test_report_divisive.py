""" "Where the groups split" on a conversation report lists only statements on which two
shown groups clearly differ (selectors._divisive): agree shares 30 points or more
apart, beyond chance with their votes, read from the figures the page shows. Groups
that largely agree (75 % against 70 %, 100 % against 75 %) are not a split."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community
from sayso.deliberation import selectors
from sayso.deliberation.models import Conversation

from .factories import ConversationFactory
from .test_report_disclosure import TODAY, Planned, write_map

pytestmark = pytest.mark.django_db


def _plan(votes: dict[str, list[tuple[int, int, int]]]) -> Planned:
    """Groups A and B of 20, nobody outside them; `votes` per statement: group A's
    (agree, disagree, pass), group B's, then everyone else's."""
    total = sum(sum(sum(row) for row in rows) for rows in votes.values())
    return Planned(
        sizes=[20, 20],
        votes=votes,
        repness={},
        consensus_agree=[],
        consensus_disagree=[],
        gic={},
        over_time=[[TODAY, total, 40]],
        vote_count=total,
    )


def _split_section(client: Client, conversation: Conversation) -> str:
    url = reverse("deliberation:report", kwargs={"slug": "depot", "conversation": conversation.pk})
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    return html.split(">Where the groups split</h2>", 1)[1].split("<h2", 1)[0]


def _listed(section: str) -> list[str]:
    return re.findall(r'<th scope="rowgroup" colspan="4">(.*?)</th>', section)


def _heard(header: str) -> str:
    """A group's row header as a screen reader says it ("Group A"); the letter alone is
    what is seen, hidden from screen readers."""
    heard = re.fullmatch(
        r'<span class="visually-hidden">(Group (\w))</span><span aria-hidden="true">(\w)</span>',
        header,
    )
    assert heard is not None, header
    assert heard.group(2) == heard.group(3)
    return heard.group(1)


def _rows(section: str) -> dict[str, list[tuple[str, ...]]]:
    """statement -> a (group, agree, disagree, voted) row per shown group, as shown."""
    found = {}
    for body in re.findall(r"<tbody>(.*?)</tbody>", section, re.S):
        (statement,) = _listed(body)
        found[statement] = [
            (_heard(label), *(c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)))
            for label, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', body)
        ]
    return found


NOBODY_ELSE = (0, 0, 0)


def test_only_statements_the_groups_clearly_differ_on_are_listed(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    write_map(
        conversation,
        _plan(
            {
                # 75 % against 70 %: both groups agree.
                "Both agree on rotas": [(15, 5, 0), (14, 6, 0), NOBODY_ELSE],
                # 100 % against 75 %: a 25-point gap, still both agreeing.
                "Warmer in A on lockers": [(20, 0, 0), (15, 5, 0), NOBODY_ELSE],
                # 100 % against 25 % (B: 75 % disagree): a split.
                "Split on cameras": [(20, 0, 0), (5, 15, 0), NOBODY_ELSE],
                # 100 % against 50 % (B divided: 25 % disagree, 25 % pass): a split too.
                "B divided on breaks": [(20, 0, 0), (10, 5, 5), NOBODY_ELSE],
            }
        ),
    )
    section = _split_section(depot_organiser, conversation)
    # Widest gap first; the statements the groups largely agree on are left out.
    assert _listed(section) == ["Split on cameras", "B divided on breaks"]
    # Each group's agree and disagree shares and votes, under the statement.
    assert _rows(section) == {
        "Split on cameras": [("Group A", "100%", "0%", "20"), ("Group B", "25%", "75%", "20")],
        "B divided on breaks": [("Group A", "100%", "0%", "20"), ("Group B", "50%", "25%", "20")],
    }
    assert "at least 30 points above another" in section
    # A table a screen reader can follow: named by its caption, each statement heading
    # its group of rows, each group heading its row, each figure under its column.
    assert '<caption id="split-caption"' in section
    assert section.count("<tbody>") == 2
    assert re.findall(r'<th scope="col"[^>]*>(.*?)</th>', section) == [
        "Group",
        "Agree",
        "Disagree",
        "Voted",
    ]


def test_no_split_says_so_plainly(depot: Community, depot_organiser: Client) -> None:
    conversation = ConversationFactory.create(community=depot)
    write_map(
        conversation,
        _plan(
            {
                "Both agree on rotas": [(15, 5, 0), (14, 6, 0), NOBODY_ELSE],
                "Warmer in A on lockers": [(20, 0, 0), (15, 5, 0), NOBODY_ELSE],
            }
        ),
    )
    section = _split_section(depot_organiser, conversation)
    assert _listed(section) == []
    assert "<table" not in section
    assert (
        "No statement clearly splits the groups: on every statement whose figures can be "
        "shown for each group, the groups agree to much the same degree." in section
    )


def test_a_split_resting_on_a_hidden_figure_is_not_listed(
    depot: Community, depot_organiser: Client
) -> None:
    # Group B's 3 agreeing are fewer than the threshold: its agree share is hidden, so
    # the statement is not listed although the hidden counts would make it a split.
    conversation = ConversationFactory.create(community=depot)
    statements = write_map(
        conversation,
        _plan(
            {
                "Split on cameras": [(20, 0, 0), (5, 15, 0), NOBODY_ELSE],
                "Hidden split on breaks": [(20, 0, 0), (3, 17, 0), NOBODY_ELSE],
            }
        ),
    )
    found = selectors.report(conversation, 5)
    b = found["map"].groups[1].number
    assert found["map"].figures(statements["Hidden split on breaks"].pk).groups[b].agree is None
    assert [row["statement"].text for row in found["divisive"]] == ["Split on cameras"]
    assert _listed(_split_section(depot_organiser, conversation)) == ["Split on cameras"]


@pytest.mark.parametrize(
    ("shares", "gap"),
    [
        ([(81, 40), (73, 40)], None),  # both agree
        ([(75, 20), (71, 20)], None),
        ([(100, 20), (75, 20)], None),  # 25 points: under the margin
        ([(80, 20), (50, 20)], 30),  # 30 points over 20 votes each: beyond chance
        ([(70, 5), (40, 5)], None),  # 30 points over 5 votes each: could be chance
        ([(80, 5), (40, 5)], 40),
        ([(90, 20), (85, 20), (20, 20)], 70),  # the widest pair counts
    ],
)
def test_the_rule_on_shown_shares(shares: list[tuple[int, int]], gap: int | None) -> None:
    assert selectors._splits_groups(shares) == gap
