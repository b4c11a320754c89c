"""Review 15, findings 2 and 4 on the report: a group's statements whose figures can be
shown come first (4 of group A's 5 had a hidden figure in the demo, listed first by
Polis's order); a row with both shares hidden says so; and the people in no shown group
are accounted for, without a small number.

Which statements are listed stays the stored top picks: choosing others in place of
rows with hidden figures told about the hidden counts (test_review15_report_leaks.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from sayso.core.models import Community
from sayso.deliberation import selectors
from sayso.deliberation.models import Conversation, Statement
from sayso.deliberation.seeds import TOPIC, seed_demo

from .factories import ConversationFactory
from .helpers import community_url, group_rows, signed_in
from .test_report_disclosure import (
    TODAY,
    Planned,
    pinned_small_counts,
    read_report,
    shown_on_page,
    write_map,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(community: Community, organiser: Any) -> tuple[Conversation, Client]:
    """The demo conversation (Northgate), as the reviewer read it."""
    seed_demo(community, "warehouse")
    conversation = Conversation.objects.get(community=community, topic=TOPIC)
    return conversation, signed_in(organiser)


def test_a_groups_statements_whose_figures_can_be_shown_come_first(
    demo: tuple[Conversation, Client],
) -> None:
    conversation, client = demo
    threshold = conversation.community.small_group_threshold
    html = client.get(community_url(conversation, "report")).content.decode()
    view = selectors.map_view(selectors.stored_map(conversation), threshold)
    assert view is not None
    eligible = set(
        Statement.objects.filter(conversation=conversation, is_meta=False)
        .filter(conversation.shown_statements_filter())
        .values_list("pk", flat=True)
    )
    texts = dict(Statement.objects.filter(conversation=conversation).values_list("text", "pk"))
    both_hidden = 0
    for group in view.groups:
        rows = group_rows(html, group.label)
        listed = [texts[text] for text, _cells in rows]
        picks = [
            (int(e["statement"]), str(e["direction"]))
            for e in view.data["repness"][str(group.number)]
        ]
        # The stored picks, every one still shown, and no other statement.
        assert sorted(listed) == sorted(pk for pk, _d in picks if pk in eligible), group.label
        direction = dict(picks)

        def kind(
            pk: int, group: selectors.Group = group, direction: dict[int, str] = direction
        ) -> int:
            figures = view.figures(pk).groups[group.number]
            if figures.citable(direction[pk]):
                return 0
            return 1 if figures.citable(None) else 2

        # Put in order: the rows that can be cited first, then those with only the
        # other share shown, then the rest; agree before disagree within each.
        order = [(kind(pk), direction[pk] != "agree") for pk in listed]
        assert order == sorted(order), group.label
        # Every listed row shows what the figures allow, and says why it cannot be cited.
        for (text, cells), (row_kind, _disagree) in zip(rows, order, strict=True):
            assert ("Cannot be cited" in cells) == (row_kind > 0), text
            figures = view.figures(texts[text]).groups[group.number]
            if figures.agree is None and figures.disagree is None and figures.votes is not None:
                assert "Cannot be cited: the agree and disagree figures are hidden" in cells
                both_hidden += 1
    # The reviewer's count: group A's section had 1 row of 5 that could be cited (4 with
    # a hidden figure, 2 of them both). That row now comes first.
    group_a = group_rows(html, "A")
    assert len(group_a) == 5
    assert "Cannot be cited" not in group_a[0][1]
    assert all("Cannot be cited" in cells for _text, cells in group_a[1:])
    assert both_hidden >= 2


def test_the_chosen_rows_give_away_no_small_count(demo: tuple[Conversation, Client]) -> None:
    conversation, client = demo
    threshold = conversation.community.small_group_threshold
    page = read_report(client.get(community_url(conversation, "report")).content.decode())
    view = selectors.map_view(selectors.stored_map(conversation), threshold)
    assert view is not None
    joined = int(page.header["people who joined"])
    labels = [g.label for g in view.groups]
    sizes = [g.size for g in view.groups]
    checked = 0
    for statement in Statement.objects.filter(conversation=conversation):
        if statement.pk not in view.statement_index:
            continue
        agree, disagree, total = view.data["tallies"].get(str(statement.pk), (0, 0, 0))
        rows = [view.counts(g.number, statement.pk) for g in view.groups]
        rest = (
            agree - sum(r[0] for r in rows),
            disagree - sum(r[1] for r in rows),
            total - agree - disagree - sum(r[2] for r in rows),
        )
        truth = [*rows, rest]
        shown = shown_on_page(page, statement.text, truth, [*labels, "rest"])
        caps = [*sizes, joined - sum(sizes)]
        assert pinned_small_counts(truth, shown, caps, threshold) == [], statement.text
        checked += any(shown.rows)
    assert checked >= 5


def _outside(html: str) -> str:
    found = re.search(r'<p id="outside-groups">(.*?)</p>', html, re.S)
    return found.group(1) if found else ""


def _plan(joined: int, sizes: list[int]) -> Planned:
    return Planned(
        sizes=sizes,
        votes={"Breaks are not idle time": [(n // 2, n - n // 2, 0) for n in sizes] + [(0, 0, 0)]},
        repness={},
        consensus_agree=[],
        consensus_disagree=[],
        gic={},
        over_time=[[TODAY, 200, joined]],
        vote_count=200,
    )


@pytest.mark.parametrize(
    ("joined", "sizes", "said"),
    [
        # The demo: 73 joined, groups of 46 and 26.
        (73, [46, 26], "A few people are not in a group shown here"),
        # The imported London conversation: 27 joined, groups of 9 and 9.
        (27, [9, 9], "9 people are not in a group shown here"),
        (20, [10, 10], ""),
        # 3 in a group too small to show and nobody else: their number is not given.
        (23, [10, 10, 3], "A few people are not in a group shown here"),
        (30, [10, 10, 3], "10 people are not in a group shown here"),
    ],
)
def test_people_in_no_shown_group_are_accounted_for(
    depot: Community, depot_organiser: Client, joined: int, sizes: list[int], said: str
) -> None:
    conversation = ConversationFactory.create(community=depot)
    write_map(conversation, _plan(joined, sizes))
    html = depot_organiser.get(community_url(conversation, "report")).content.decode()
    found = _outside(html)
    if not said:
        assert found == ""
        return
    assert found.startswith(said), found
    assert "too few statements to be placed, or are in a group too small to show" in found
    # A small number is never printed, nor a hidden group's size.
    assert not re.search(r"\b[1-4]\b", found)
    if 3 in sizes:
        assert "3" not in found
