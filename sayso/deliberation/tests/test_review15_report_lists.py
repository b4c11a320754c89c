"""Review 15, findings 2 and 4 on the report: the statements that set a group apart are
chosen preferring those whose figures can be shown (4 of group A's 5 had a hidden
figure in the demo); a row with both shares hidden says so; and the people in no shown
group are accounted for, without a small number."""

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
from .helpers import community_url, signed_in
from .test_report_disclosure import (
    TODAY,
    Planned,
    pinned_small_counts,
    read_report,
    shown_on_page,
    write_map,
)

pytestmark = pytest.mark.django_db


def _group_rows(html: str, label: str) -> list[tuple[str, str]]:
    section = html.split(f'<section aria-labelledby="group-{label}">', 1)[1].split("</section>")[0]
    return re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', section, re.S)


@pytest.fixture
def demo(community: Community, organiser: Any) -> tuple[Conversation, Client]:
    """The demo conversation (Northgate), as the reviewer read it."""
    seed_demo(community, "warehouse")
    conversation = Conversation.objects.get(community=community, topic=TOPIC)
    return conversation, signed_in(organiser)


def test_a_groups_statements_are_those_whose_figures_can_be_shown_first(
    demo: tuple[Conversation, Client],
) -> None:
    conversation, client = demo
    threshold = conversation.community.small_group_threshold
    html = client.get(community_url(conversation, "report")).content.decode()
    # The reviewer's count: group A's section had 1 row of 5 that could be cited (4 with
    # a hidden figure, 2 of them both). It now lists every such statement there is.
    citable_rows = [
        text for text, cells in _group_rows(html, "A") if "Cannot be cited" not in cells
    ]
    assert len(citable_rows) >= 3, citable_rows
    view = selectors.map_view(selectors.stored_map(conversation), threshold)
    assert view is not None
    eligible = set(
        Statement.objects.filter(conversation=conversation, is_meta=False)
        .filter(conversation.shown_statements_filter())
        .values_list("pk", flat=True)
    )
    texts = dict(Statement.objects.filter(conversation=conversation).values_list("text", "pk"))
    for group in view.groups:
        rows = _group_rows(html, group.label)
        listed = [texts[text] for text, _cells in rows]
        assert len(listed) == min(5, len(view.data["repness"][str(group.number)]))
        direction = dict(selectors._rep_candidates(view, group.number, eligible))

        def citable(
            pk: int, group: selectors.Group = group, direction: dict[int, str] = direction
        ) -> bool:
            return view.figures(pk).groups[group.number].citable(direction[pk])

        # No statement that sets the group apart with its figures shown is left out
        # while one with its key figure hidden is listed.
        left_out = [pk for pk in direction if pk not in listed and pk in eligible]
        if any(not citable(pk) for pk in listed):
            assert not any(citable(pk) for pk in left_out), group.label
        # Every listed row shows what the figures allow, and says why it cannot be cited.
        for text, cells in rows:
            figures = view.figures(texts[text]).groups[group.number]
            if figures.agree is None and figures.disagree is None and figures.votes is not None:
                assert "Cannot be cited: the agree and disagree figures are hidden" in cells


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
