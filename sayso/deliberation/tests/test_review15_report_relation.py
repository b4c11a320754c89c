"""Review 15, finding 1: "How your view relates to the groups" gave no answer in the demo
conversation, as it compared only statements with every group figure shown. It now
compares a statement wherever the report's figures settle which way most of the group
voted (selectors.report_majorities), and still tells nothing the report does not."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from django.test import Client

from sayso.core.models import Community
from sayso.deliberation import selectors, views
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .factories import ConversationFactory, ParticipantFactory
from .helpers import public, token
from .test_report_disclosure import TODAY, Planned, write_map

pytestmark = pytest.mark.django_db

THRESHOLD = 5


def _near_unanimous() -> Planned:
    """The demo conversation's groups and votes (Northgate: groups A of 42 and B of 26):
    most statements are near-unanimous in a group, with a few voting the other way, so
    that nearly every group row has a share hidden, and many both."""
    return Planned(
        sizes=[42, 26],
        votes={
            "Breaks are not idle time": [(32, 3, 1), (16, 5, 1), (0, 0, 0)],
            "Scanners should not rank people": [(29, 0, 4), (15, 2, 4), (0, 0, 0)],
            "Data should be deleted after a month": [(27, 4, 5), (17, 5, 2), (0, 0, 0)],
            "Workers should see their own data": [(29, 3, 4), (16, 4, 2), (0, 0, 0)],
            "A union rep should audit the system": [(30, 3, 0), (20, 3, 2), (0, 0, 0)],
            "Targets help the team": [(30, 3, 1), (4, 18, 1), (0, 0, 0)],
            "Idle flags should be kept": [(34, 2, 2), (1, 21, 2), (0, 0, 0)],
            "Managers may see the raw data": [(1, 33, 3), (15, 7, 0), (0, 0, 0)],
            "Scan data may be used in appraisals": [(3, 29, 2), (17, 5, 0), (0, 0, 0)],
            "Night shifts need other targets": [(33, 3, 3), (7, 13, 1), (0, 0, 0)],
        },
        repness={},
        consensus_agree=[],
        consensus_disagree=[],
        gic={},
        over_time=[[TODAY, 600, 68]],
        vote_count=600,
    )


def _view(conversation: Conversation) -> selectors.MapView:
    view = selectors.map_view(selectors.stored_map(conversation), THRESHOLD)
    assert view is not None
    return view


def test_near_unanimous_groups_are_compared(depot: Community) -> None:
    plan = _near_unanimous()
    conversation = ConversationFactory.create(community=depot)
    statements = write_map(conversation, plan)
    view = _view(conversation)
    # What made the page say "Not enough shown figures to compare yet": on every one of
    # these a group's agree or disagree share is hidden.
    assert all(
        any(f.agree is None or f.disagree is None for f in view.figures(s.pk).groups.values())
        for s in statements.values()
    )
    participant = ParticipantFactory.create(conversation=conversation, number=0)
    Vote.objects.bulk_create(
        Vote(participant=participant, statement=s, value=1, created_on=dt.date.today())
        for s in statements.values()
    )
    relations, _own_hidden = selectors.relation(view, participant, None)
    # Each group's majority is settled by the figures on at least three statements
    # (views.MIN_COMPARED), and the page gives a share.
    assert all(r.compared >= views.MIN_COMPARED for r in relations), relations
    # The shares are right: agreeing with everything, you side with A on the statements
    # A mostly agrees with, with B on those B does.
    for relation, group in zip(relations, view.groups, strict=True):
        settled = [
            (s, m)
            for s in statements.values()
            if (m := selectors.report_majorities(view, s.pk).get(group.number)) is not None
        ]
        for statement, majority in settled:
            agree, disagree, _pass = view.counts(group.number, statement.pk)
            assert majority == (1 if agree > disagree else -1), (group.label, statement.text)
        matched = sum(m == 1 for _s, m in settled)
        assert relation.compared == len(settled)
        assert relation.agreement == round(100 * matched / len(settled))


def test_the_you_page_gives_an_answer_and_changing_a_vote_tells_nothing_hidden(
    depot: Community,
) -> None:
    plan = _near_unanimous()
    conversation = ConversationFactory.create(community=depot)
    statements = write_map(conversation, plan)
    client = Client()
    for statement in statements.values():
        client.post(public(conversation), {"statement": token(statement), "vote": "agree"})
    participant = Participant.objects.get(conversation=conversation)
    assert Vote.objects.filter(participant=participant).count() == len(statements)
    write_map(conversation, plan)  # the votes queued recomputes: the planned map again

    def table() -> str:
        html = client.get(public(conversation, "you")).content.decode()
        found = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
        assert found is not None, html
        return found.group(1)

    before = table()
    assert "Not enough shown figures to compare yet" not in before
    assert len(re.findall(r"\d+% of \d+ statements", before)) == 2

    view = _view(conversation)

    def flip(text: str) -> str:
        Vote.objects.filter(participant=participant, statement=statements[text]).update(value=-1)
        return table()

    # Statements the figures do not settle for either group are not compared: voting
    # the other way on them changes nothing on the page.
    unsettled = [
        text for text, s in statements.items() if not selectors.report_majorities(view, s.pk)
    ]
    assert unsettled  # the test can see one
    for text in unsettled:
        assert flip(text) == before, text
    # A settled one is compared (the test can fail).
    settled = next(
        text for text, s in statements.items() if selectors.report_majorities(view, s.pk)
    )
    assert flip(settled) != before


def _figures_view(rows: list[tuple[int, int, int]], sizes: list[int]) -> selectors.MapView:
    """A map of one statement (key 1) whose shown groups voted `rows` (agree, disagree,
    pass), nobody else in the conversation."""
    return selectors.MapView(
        computed_at=None,
        vote_count=0,
        groups=[
            selectors.Group(number=g, label=selectors.group_label(g), size=n, centre=(0, 0))
            for g, n in enumerate(sizes)
        ],
        hidden_groups=0,
        statement_index={1: 0},
        agree=[[r[0]] for r in rows],
        disagree=[[r[1]] for r in rows],
        seen=[[sum(r)] for r in rows],
        data={
            "over_time": [[TODAY, 0, sum(sizes)]],
            "tallies": {
                "1": [sum(r[0] for r in rows), sum(r[1] for r in rows), sum(sum(r) for r in rows)]
            },
        },
        threshold=THRESHOLD,
    )


def test_the_answer_depends_on_the_shown_figures_alone() -> None:
    # The reviewer's rule (compare where agree - disagree >= 5, or the reverse) on two
    # statements the report shows alike: 13 votes, 54 % agree and 46 % disagree, 7 of
    # group A and 6 of group B voted, nothing else shown. With the rule, group A
    # (1 agree, 6 disagree) is compared on the first and not on the second (2 agree,
    # 5 disagree): voting the other way on it and reading the page again tells the
    # participant which, and with the report's figures (A's agrees are 1 to 7, and
    # 7 less twice them is 5 or more only for 1) that exactly 1 of group A agreed.
    first = _figures_view([(1, 6, 0), (6, 0, 0)], [7, 8])
    second = _figures_view([(2, 5, 0), (5, 1, 0)], [7, 8])
    assert first.figures(1) == second.figures(1)
    assert first.figures(1).overall == selectors.Figures(54, 46, 13)

    def margin_rule(view: selectors.MapView) -> list[bool]:
        return [abs(a - d) >= THRESHOLD for a, d, _p in (view.counts(g, 1) for g in (0, 1))]

    assert margin_rule(first) != margin_rule(second)  # what the rule would give away
    # What the page uses: the same for both, as the figures are.
    assert selectors.report_majorities(first, 1) == selectors.report_majorities(second, 1)


def test_a_settled_majority_is_always_the_true_one() -> None:
    """Random statements (shown groups, people outside them): every majority the
    figures settle is the true one, and two statements with the same figures get the
    same answer."""
    rng = random.Random(15)
    answers: dict[object, dict[int, int]] = {}
    settled = 0
    for _case in range(400):
        sizes = [rng.randint(THRESHOLD, 3 * THRESHOLD) for _ in range(rng.randint(1, 3))]
        rows = []
        for n in sizes:
            voters = rng.randint(0, n)
            lean = rng.random()
            a = sum(rng.random() < lean for _ in range(voters))
            p = sum(rng.random() < 0.1 for _ in range(voters - a))
            rows.append((a, voters - a - p, p))
        view = _figures_view(rows, sizes)
        majorities = selectors.report_majorities(view, 1)
        for g, majority in majorities.items():
            agree, disagree, _pass = rows[g]
            assert majority == (1 if agree > disagree else -1), (rows, majority)
            settled += 1
        key = (tuple(sizes), repr(view.figures(1)))
        assert answers.setdefault(key, majorities) == majorities
    assert settled > 40  # the check is not empty


def test_statement_rows_are_read_from_the_published_statements(depot: Community) -> None:
    # A statement the map does not hold (added since) is not compared.
    plan = _near_unanimous()
    conversation = ConversationFactory.create(community=depot)
    write_map(conversation, plan)
    view = _view(conversation)
    added = Statement.objects.create(
        conversation=conversation, number=99, text="New", created_on=dt.date.today()
    )
    assert selectors.report_majorities(view, added.pk) == {}
