"""No figure on the report, less or beside another, gives a count from 1 to the
small-group threshold less one: not the headline figures against the participation
table, not a group's percentages (1 agree in a group of 12 showed as 8 %), not the
overall figures less the shown groups' (how the people outside the groups voted), not
the group-informed consensus score beside the groups' figures. The participant's
"how your view relates to the groups" page learns nothing the report hides.

The checks read what a page shows, turn every shown figure into an equation on the
statement's table of votes (a row per shown group, one for everyone else; agree,
disagree, pass), add what a reader also knows (counts are not negative, a group's
voters are at most its size), and ask a linear program for the smallest and largest
value of every small count: a small count with one possible value is a leak."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from scipy.optimize import linprog

from sayso.core.models import Citation, Community
from sayso.core.services import ServiceError
from sayso.deliberation import selectors, services, views
from sayso.deliberation.models import Conversation, OpinionMapResult, Participant, Statement, Vote

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, planted
from .helpers import token

pytestmark = pytest.mark.django_db

THRESHOLD = 5  # the depot community's
Counts = tuple[int, int, int]  # agree, disagree, pass


# --- checking shown figures by linear programming ----------------------------------------


@dataclass
class Shown:
    """What a reader sees about one statement: per row of its table (the shown groups in
    order, then everyone else) the row total and counts, and the column totals; None
    where nothing is shown. Percentages are turned into the counts they stand for."""

    rows: list[dict[str, int]] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)


def _count(percent: int, votes: int, true: int) -> int:
    # A reader turns a shown share back into a count; with at most 100 votes only one
    # count rounds to it. The test uses the true count, after checking that it is the one.
    assert round(100 * true / votes) == percent if votes else percent == 0
    return true


def pinned_small_counts(
    truth: Sequence[Counts], shown: Shown, caps: Sequence[int | None], threshold: int
) -> list[str]:
    """The small counts of the table that the shown figures fix to one value.

    `truth` is the body (rows x agree, disagree, pass); `caps` an upper bound a reader
    knows on each row's total (a group's size), or None."""
    n_rows = len(truth)
    size = 3 * n_rows
    a_eq: list[np.ndarray] = []
    b_eq: list[float] = []

    def cell(r: int, c: int) -> np.ndarray:
        v = np.zeros(size)
        v[3 * r + c] = 1
        return v

    def row_sum(r: int) -> np.ndarray:
        return sum((cell(r, c) for c in range(3)), np.zeros(size))

    def column_sum(c: int) -> np.ndarray:
        return sum((cell(r, c) for r in range(n_rows)), np.zeros(size))

    names = ("agree", "disagree", "pass")
    for r, figures in enumerate(shown.rows):
        for key, value in figures.items():
            a_eq.append(row_sum(r) if key == "votes" else cell(r, names.index(key)))
            b_eq.append(value)
    for key, value in shown.columns.items():
        a_eq.append(
            sum((row_sum(r) for r in range(n_rows)), np.zeros(size))
            if key == "votes"
            else column_sum(names.index(key))
        )
        b_eq.append(value)
    a_ub = [row_sum(r) for r, cap in enumerate(caps) if cap is not None]
    b_ub = [float(cap) for cap in caps if cap is not None]

    quantities: list[tuple[str, np.ndarray, int]] = []
    for r, counts in enumerate(truth):
        for c in range(3):
            quantities.append((f"row {r} {names[c]}", cell(r, c), counts[c]))
        quantities.append((f"row {r} votes", row_sum(r), sum(counts)))
    for c in range(3):
        quantities.append((f"all {names[c]}", column_sum(c), sum(row[c] for row in truth)))
    found = []
    for name, vector, true in quantities:
        if not 0 < true < threshold:
            continue
        # A row's votes at its cap is everyone in the group (or everyone outside the
        # groups) having voted: a count of people the page gives anyway, not of votes.
        capped = not name.endswith("votes")
        ends: list[float] = []
        for sign in (1, -1):
            solved = linprog(
                sign * vector,
                A_eq=np.array(a_eq) if a_eq else None,
                b_eq=b_eq or None,
                A_ub=np.array(a_ub) if a_ub and capped else None,
                b_ub=b_ub if b_ub and capped else None,
                bounds=(0, None),
                method="highs",
            )
            if solved.status == 3:  # unbounded: no end on that side
                ends.append(-sign * np.inf)
                continue
            assert solved.status == 0, name  # the truth itself is a solution
            assert solved.fun is not None
            ends.append(sign * float(solved.fun))
        if ends[1] - ends[0] < 0.5:
            found.append(f"{name} = {true}")
    return found


def shown_from_figures(
    truth: Sequence[Counts], figures: selectors.StatementFigures, groups: Sequence[int]
) -> Shown:
    """Every figure `figures` allows, as if each were on the page."""
    return Shown(
        rows=[shown_counts(figures.groups[g], truth[i]) for i, g in enumerate(groups)],
        columns=shown_counts(figures.overall, _summed(truth)),
    )


def shown_counts(f: selectors.Figures, counts: Counts) -> dict[str, int]:
    """A row's shown figures as the counts they give a reader."""
    out: dict[str, int] = {}
    if f.votes is None:
        return out
    out["votes"] = f.votes
    assert f.votes == sum(counts)
    if f.agree is not None:
        out["agree"] = _count(f.agree, f.votes, counts[0])
    if f.disagree is not None:
        out["disagree"] = _count(f.disagree, f.votes, counts[1])
    return out


def _summed(rows: Sequence[Counts]) -> Counts:
    return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))


# --- a stored map written by hand -----------------------------------------------------------


@dataclass
class Planned:
    """A conversation's stored map, chosen figure by figure."""

    sizes: list[int]  # per group; those below the threshold are not shown
    votes: dict[str, list[Counts]]  # statement text -> per group, then everyone else
    repness: dict[int, list[str]]
    consensus_agree: list[str]
    consensus_disagree: list[str]
    gic: dict[str, float]
    over_time: list[list[object]]
    vote_count: int
    members: dict[int, int] = field(default_factory=dict)  # participant pk -> group


def write_map(conversation: Conversation, plan: Planned) -> dict[str, Statement]:
    statements = {
        s.text: s for s in Statement.objects.filter(conversation=conversation).order_by("number")
    }
    for number, text in enumerate(plan.votes, start=len(statements)):
        if text not in statements:
            statements[text] = StatementFactory.create(
                conversation=conversation, number=number, text=text
            )
    order = list(plan.votes)
    k = len(plan.sizes)

    def per_group(column: int | None) -> list[list[int]]:
        return [
            [sum(plan.votes[t][g]) if column is None else plan.votes[t][g][column] for t in order]
            for g in range(k)
        ]

    def tally(text: str) -> list[int]:
        rows = plan.votes[text]
        return [sum(r[0] for r in rows), sum(r[1] for r in rows), sum(sum(r) for r in rows)]

    members = sorted(plan.members)
    OpinionMapResult.objects.filter(conversation=conversation).update(
        data={
            "format": OpinionMapResult.FORMAT,
            "k": k,
            "n_participants": sum(plan.sizes),
            "n_in_conversation": sum(plan.sizes),
            "group_sizes": {str(g): n for g, n in enumerate(plan.sizes)},
            "group_centres": {str(g): [float(g), float(-g)] for g in range(k)},
            "statements": [statements[t].pk for t in order],
            "group_agree": per_group(0),
            "group_disagree": per_group(1),
            "group_seen": per_group(None),
            "repness": {
                str(g): [{"statement": statements[t].pk, "direction": "agree"} for t in texts]
                for g, texts in plan.repness.items()
            },
            "consensus": {
                "agree": [{"statement": statements[t].pk} for t in plan.consensus_agree],
                "disagree": [{"statement": statements[t].pk} for t in plan.consensus_disagree],
            },
            "group_informed_consensus": {str(statements[t].pk): v for t, v in plan.gic.items()},
            "extremity": {},
            "tallies": {str(statements[t].pk): tally(t) for t in order},
            "over_time": plan.over_time,
            "timings": {},
        },
        vote_count=plan.vote_count,
        computed_at=timezone.now(),
        warm_start=OpinionMapResult.pack_arrays(
            participant_ids=np.array(members, dtype=np.int64),
            group=np.array([plan.members[p] for p in members], dtype=np.int16),
        ),
    )
    return statements


TODAY = dt.date.today().isoformat()


def scenario() -> Planned:
    """Groups A and B of 12, a group C of 3 (too small to show), two people not placed in
    a group (the last row of each statement) and two who joined without voting."""
    return Planned(
        sizes=[12, 12, 3],
        votes={
            # 1 of group A's 12 agrees: 8 %. The two outside the groups: 1 agree, 1 pass.
            "Split on breaks": [(1, 11, 0), (12, 0, 0), (2, 1, 0), (1, 0, 1)],
            "Split on cameras": [(10, 0, 2), (0, 12, 0), (0, 3, 0), (0, 0, 0)],
            "Common ground on rotas": [(12, 0, 0), (11, 0, 1), (3, 0, 0), (2, 0, 0)],
            "Even on overtime": [(6, 6, 0), (5, 7, 0), (0, 0, 0), (0, 0, 0)],
            # Only one of group B voted: the "you" page must not compare with it.
            "Few in B on lockers": [(6, 0, 0), (1, 0, 0), (0, 0, 0), (0, 0, 0)],
        },
        repness={
            0: ["Split on breaks", "Split on cameras", "Even on overtime"],
            1: ["Split on breaks", "Split on cameras", "Common ground on rotas"],
        },
        consensus_agree=["Common ground on rotas", "Split on breaks"],
        consensus_disagree=["Split on cameras"],
        gic={
            "Split on breaks": 0.30,
            "Split on cameras": 0.10,
            "Common ground on rotas": 0.80,
            "Even on overtime": 0.25,
            "Few in B on lockers": 0.2,
        },
        # 29 voters and 2 who joined without voting; a vote arrived between the map's
        # read of the votes (vote_count) and the count per day.
        over_time=[[TODAY, 120, 31]],
        vote_count=119,
    )


# --- reading the report as a reader does ------------------------------------------------


CELL = re.compile(r"<td([^>]*)>(.*?)</td>", re.S)
ROW = re.compile(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', re.S)


def _cells(row_html: str) -> list[str | None]:
    """A row's figures: numbers, or None for "hidden"; a cell spanning three columns
    stands for three hidden figures. Evidence (cite) cells are left out."""
    out: list[str | None] = []
    for attributes, text in CELL.findall(row_html):
        text = text.strip()
        if "evidence" in attributes or (not text and "numeric" not in attributes):
            continue
        span = 3 if 'colspan="3"' in attributes else 1
        out.extend([None if not re.fullmatch(r"\d+%?", text) else text] * span)
    return out


def _section(html: str, heading: str) -> str:
    return html.split(f">{heading}</h2>", 1)[1].split("<h2", 1)[0]


def _number(text: str | None) -> int | None:
    return None if text is None else int(text.rstrip("%"))


@dataclass
class Page:
    header: dict[str, str]
    over_time: list[tuple[str, str, str]]
    group_sizes: dict[str, int]
    # statement text -> label ("" for everyone) -> (agree %, disagree %, votes)
    figures: dict[str, dict[str, tuple[int | None, int | None, int | None]]]
    divisive: dict[str, dict[str, int | None]]
    scores: dict[str, str]


def read_report(html: str) -> Page:
    block = re.search(r'<dl class="figures">(.*?)</dl>', html, re.S)
    assert block is not None
    header = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block.group(1)))
    table = html.split("Participation over time", 1)[1]
    over_time = [
        (day, *(c.strip() for c in re.findall(r'<td class="numeric">(.*?)</td>', rest)))
        for day, rest in ROW.findall(table.split("</table>", 1)[0])
    ]
    sizes = {
        label: int(n)
        for label, n in re.findall(
            r'<th scope="row"><a href="#group-(\w+)">Group \w+</a></th><td class="numeric">(\d+)</td>',
            html,
        )
    }
    figures: dict[str, dict[str, tuple[int | None, int | None, int | None]]] = {}

    def add(text: str, label: str, values: Sequence[str | None]) -> None:
        found = (_number(values[0]), _number(values[1]), _number(values[2]))
        seen = figures.setdefault(text, {})
        # The same figure is shown the same way wherever it appears.
        assert seen.setdefault(label, found) == found, (text, label)

    for label, section in re.findall(
        r'<section aria-labelledby="group-(\w+)">(.*?)</section>', html, re.S
    ):
        for text, row in ROW.findall(section):
            add(text, label, _cells(row))
    scores = {}
    for heading in ("Where most people agree", "Where most people disagree"):
        for text, row in ROW.findall(_section(html, heading)):
            add(text, "", _cells(row))
    for text, row in ROW.findall(_section(html, "Common ground across groups")):
        cells = _cells(row)
        scores[text] = cells[0] or "hidden"
        add(text, "", cells[1:])
    divisive: dict[str, dict[str, int | None]] = {}
    split = _section(html, "Where the groups split")
    # A row group per statement, a row per group: agree, disagree, voted.
    for body in re.findall(r"<tbody>(.*?)</tbody>", split, re.S):
        text = re.findall(r'<th scope="rowgroup" colspan="4">(.*?)</th>', body)[0]
        for label, row in ROW.findall(body):
            # Heard "Group A" (visually hidden), seen "A".
            label = re.findall(r'aria-hidden="true">(\w+)<', label)[0]
            values = _cells(row)
            add(text, label, values)
            divisive.setdefault(text, {})[label] = _number(values[0])
    return Page(header, over_time, sizes, figures, divisive, scores)


def shown_on_page(page: Page, text: str, truth: Sequence[Counts], labels: Sequence[str]) -> Shown:
    """The page's figures about one statement as equations on its table."""

    def as_counts(
        values: tuple[int | None, int | None, int | None] | None, counts: Counts
    ) -> dict[str, int]:
        if values is None:
            return {}
        agree, disagree, votes = values
        return shown_counts(selectors.Figures(agree, disagree, votes), counts)

    # Where the groups split shows each group's agree and disagree shares and votes,
    # read into `figures` with the group tables' (read_report).
    seen = page.figures.get(text, {})
    rows = [as_counts(seen.get(label), truth[i]) for i, label in enumerate(labels)]
    return Shown(rows=rows, columns=as_counts(seen.get(""), _summed(truth)))


def _report_url(conversation: Conversation) -> str:
    return reverse(
        "deliberation:report",
        kwargs={"slug": conversation.community.slug, "conversation": conversation.pk},
    )


def _public(conversation: Conversation, name: str) -> str:
    return reverse(
        f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
    )


def _planned_conversation(community: Community, plan: Planned) -> Conversation:
    conversation = ConversationFactory.create(community=community)
    write_map(conversation, plan)
    return conversation


def _tables(plan: Planned) -> dict[str, list[Counts]]:
    """Each statement's table as a reader would need it: the shown groups, then
    everyone else (the groups too small to show and the people outside the groups)."""
    shown = [g for g, n in enumerate(plan.sizes) if n >= THRESHOLD]
    out = {}
    for text, rows in plan.votes.items():
        rest = [r for g, r in enumerate(rows) if g not in shown]
        out[text] = [*(rows[g] for g in shown), _summed(rest)]
    return out


# --- leak 1: the headline figures against the participation table ------------------------


def _differences(page: Page) -> list[int]:
    """Header figure less the participation table's column total, for each column."""
    out = []
    for name, column in (("people who joined", 2), ("votes", 1)):
        values = [row[column] for row in page.over_time]
        header = page.header[name]
        if header.startswith("fewer than") or any(v.startswith("fewer") for v in values):
            assert [header] == values  # only one row, for all days, says so too
            continue
        out.append(int(header) - sum(int(v) for v in values))
    return out


def test_the_header_less_the_participation_table_gives_no_small_count(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = _planned_conversation(depot, scenario())
    page = read_report(depot_organiser.get(_report_url(conversation)).content.decode())
    # Before: 29 participants (voters) above a table of 31 new participants gave the 2
    # who joined without voting; 119 votes above 120 gave a vote cast in between.
    assert [row[1:] for row in page.over_time] == [("120", "31")]
    assert page.header["people who joined"] == "31"
    assert page.header["votes"] == "120"
    assert all(d == 0 or d >= THRESHOLD for d in _differences(page))


def test_people_who_joined_without_voting_are_counted_in_the_header_and_the_table(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    # Two more join without voting (a redeemed code, a refused first vote), and one
    # writes a statement without voting.
    for number in (20, 21):
        ParticipantFactory.create(conversation=conversation, number=number)
    services.add_statement_as(
        conversation=conversation, participant_id=None, user=None, text="Breaks are not idle"
    )
    services.compute_now(conversation=conversation)
    page = read_report(depot_organiser.get(_report_url(conversation)).content.decode())
    assert page.over_time[0][1:] == ("160", "23")
    assert (page.header["people who joined"], page.header["votes"]) == ("23", "160")
    assert _differences(page) == [0, 0]


def test_a_small_day_is_pooled_and_the_header_stays_the_tables_total(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    for number in (20, 21):  # two joined yesterday and did not vote
        ParticipantFactory.create(conversation=conversation, number=number, joined_on=yesterday)
    services.compute_now(conversation=conversation)
    page = read_report(depot_organiser.get(_report_url(conversation)).content.decode())
    # Yesterday's 2 cannot have a row, nor an "Other days" row of 2: one row for all days.
    assert page.over_time == [("All days", "160", "22")]
    assert (page.header["people who joined"], page.header["votes"]) == ("22", "160")


# --- leak 2: group percentages, and the overall figures less the groups' ----------------


def test_no_small_count_can_be_worked_out_from_the_report(
    depot: Community, depot_organiser: Client
) -> None:
    plan = scenario()
    conversation = _planned_conversation(depot, plan)
    for client, url in (
        (depot_organiser, _report_url(conversation)),
        (Client(), _public(conversation, "report")),  # anyone with the link
    ):
        html = client.get(url).content.decode()
        page = read_report(html)
        assert page.group_sizes == {"A": 12, "B": 12}
        labels = ["A", "B", "rest"]
        caps = [12, 12, 31 - 24]  # the rest: everyone less the shown groups
        checked = 0
        for text, truth in _tables(plan).items():
            shown = shown_on_page(page, text, truth, labels)
            assert pinned_small_counts(truth, shown, caps, THRESHOLD) == [], text
            checked += any(shown.rows) or bool(shown.columns)
        assert checked == 4, url  # every statement but lockers, which no list names
        # What the old page showed: group A's 8 % on breaks (1 of 12), and overall
        # figures that less groups A and B gave the rest's 3 agree, 1 disagree, 1 pass.
        assert page.figures["Split on breaks"]["A"][0] is None
        assert "8%" not in html
        assert "hidden" in html
        assert "To protect people, a figure says “hidden”" in html


def test_the_split_table_shows_both_shares_and_no_small_count(
    depot: Community, depot_organiser: Client
) -> None:
    # Groups A and B of 20, nobody else. Group B's 3 disagreeing on the second statement
    # are fewer than the threshold: hidden in the split table as everywhere.
    plan = Planned(
        sizes=[20, 20],
        votes={
            "Split on cameras": [(20, 0, 0), (5, 15, 0), (0, 0, 0)],
            "Split, B unsure on breaks": [(20, 0, 0), (8, 3, 9), (0, 0, 0)],
        },
        repness={},
        consensus_agree=[],
        consensus_disagree=[],
        gic={},
        over_time=[[TODAY, 80, 40]],
        vote_count=80,
    )
    conversation = _planned_conversation(depot, plan)
    for client, url in (
        (depot_organiser, _report_url(conversation)),
        (Client(), _public(conversation, "report")),
    ):
        page = read_report(client.get(url).content.decode())
        # Only the split table names these statements: its figures are all there is.
        assert page.figures == {
            "Split on cameras": {"A": (100, 0, 20), "B": (25, 75, 20)},
            "Split, B unsure on breaks": {"A": (100, 0, 20), "B": (40, None, 20)},
        }
        for text, truth in _tables(plan).items():
            shown = shown_on_page(page, text, truth, ["A", "B", "rest"])
            assert pinned_small_counts(truth, shown, [20, 20, 0], THRESHOLD) == [], text


def test_a_page_that_shows_every_figure_fails_the_check() -> None:
    # The checker itself: the old report's figures on "Split on breaks" are caught.
    truth = _tables(scenario())["Split on breaks"]
    everything = Shown(
        rows=[{"votes": sum(r), "agree": r[0], "disagree": r[1]} for r in truth[:2]] + [{}],
        columns={"votes": 29, "agree": 16, "disagree": 12},
    )
    found = pinned_small_counts(truth, everything, [12, 12, 7], THRESHOLD)
    assert "row 0 agree = 1" in found  # group A's 8 %
    assert {"row 2 agree = 3", "row 2 disagree = 1", "row 2 pass = 1"} <= set(found)


def test_statement_figures_leave_no_small_count_on_random_tables() -> None:
    """Random conversations (shown groups, groups too small to show, people outside
    the groups): every figure `statement_figures` allows, shown at once, fixes no small
    count."""
    rng = random.Random(20240611)
    tables = 0
    for _case in range(60):
        threshold = rng.choice([3, 5, 10])
        shown_sizes = [rng.randint(threshold, 3 * threshold) for _ in range(rng.randint(1, 3))]
        hidden_sizes = [rng.randint(1, threshold - 1) for _ in range(rng.randint(0, 2))]
        outside = rng.randint(0, 4)
        sizes = shown_sizes + hidden_sizes
        statements = list(range(1, 5))
        counts: dict[int, list[Counts]] = {}
        for pk in statements:
            rows = []
            for n in [*sizes, outside]:
                voters = rng.randint(0, n) if rng.random() < 0.5 else n
                lean = rng.random()
                a = sum(rng.random() < lean for _ in range(voters))
                p = sum(rng.random() < 0.15 for _ in range(voters - a))
                rows.append((a, voters - a - p, p))
            counts[pk] = rows
        k = len(sizes)
        view = selectors.MapView(
            computed_at=None,
            vote_count=0,
            groups=[
                selectors.Group(number=g, label=selectors.group_label(g), size=n, centre=(0, 0))
                for g, n in enumerate(shown_sizes)
            ],
            hidden_groups=len(hidden_sizes),
            statement_index={pk: i for i, pk in enumerate(statements)},
            agree=[[counts[pk][g][0] for pk in statements] for g in range(k)],
            disagree=[[counts[pk][g][1] for pk in statements] for g in range(k)],
            seen=[[sum(counts[pk][g]) for pk in statements] for g in range(k)],
            data={
                "over_time": [[TODAY, 0, sum(sizes) + outside]],
                "tallies": {
                    str(pk): [
                        sum(r[0] for r in counts[pk]),
                        sum(r[1] for r in counts[pk]),
                        sum(sum(r) for r in counts[pk]),
                    ]
                    for pk in statements
                },
            },
            threshold=threshold,
        )
        for pk in statements:
            rows = counts[pk]
            truth = [*rows[: len(shown_sizes)], _summed(rows[len(shown_sizes) :])]
            figures = view.figures(pk)
            shown = shown_from_figures(truth, figures, range(len(shown_sizes)))
            caps = [*shown_sizes, sum(hidden_sizes) + outside]
            assert pinned_small_counts(truth, shown, caps, threshold) == [], (rows, figures)
            tables += 1
    assert tables == 240


def test_the_planted_report_hides_small_passes_and_keeps_the_rest(
    depot: Community, depot_organiser: Client
) -> None:
    # Two blocs of 10 with one or two passes each on statements 0 to 6, all agreeing on
    # statement 7 (factories.planted).
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    result = services.compute_now(conversation=conversation)
    html = depot_organiser.get(_report_url(conversation)).content.decode()
    page = read_report(html)
    view = selectors.map_view(result, THRESHOLD)
    assert view is not None
    labels = [g.label for g in view.groups]
    for statement in Statement.objects.filter(conversation=conversation):
        truth = [view.counts(g.number, statement.pk) for g in view.groups] + [(0, 0, 0)]
        shown = shown_on_page(page, statement.text, truth, [*labels, "rest"])
        assert pinned_small_counts(truth, shown, [10, 10, 0], THRESHOLD) == []
    last = Statement.objects.get(conversation=conversation, number=7)
    # Everyone agreeing is shown: 100 % of everyone and of each group.
    assert page.figures[last.text] == {"": (100, 0, 20)}
    assert all(f == selectors.Figures(100, 0, 10) for f in view.figures(last.pk).groups.values())


def test_the_group_informed_score_is_hidden_while_a_group_is_too_small_to_show(
    depot: Community, depot_organiser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = scenario()
    conversation = _planned_conversation(depot, plan)
    page = read_report(depot_organiser.get(_report_url(conversation)).content.decode())
    # Group C (3 people) voted on all three: with groups A's and B's figures shown, the
    # score's last factor would be (C's agrees + 1) / (C's votes + 2).
    # (The two "Split on" statements, which one group rejects, are not common ground.)
    assert page.scores == {"Common ground on rotas": "hidden"}

    # Without group C (its 3 people outside the groups instead), scores whose factors
    # are all shown are shown. (Every statement listed, split ones too: this checks
    # when a score is shown, not which statements are common ground.)
    monkeypatch.setattr(selectors, "_every_group_leans_to_agree", lambda view, pk: True)
    plan.sizes = [12, 12]
    plan.votes = {text: [rows[0], rows[1], _summed(rows[2:])] for text, rows in plan.votes.items()}
    write_map(conversation, plan)
    page = read_report(depot_organiser.get(_report_url(conversation)).content.decode())
    view = selectors.map_view(selectors.stored_map(conversation), THRESHOLD)
    assert view is not None
    shown_scores = {text: score for text, score in page.scores.items() if score != "hidden"}
    assert shown_scores  # the test can see a score
    for text, score in page.scores.items():
        pk = Statement.objects.get(conversation=conversation, text=text).pk
        groups = view.figures(pk).groups.values()
        factors_shown = all(f.agree is not None and f.votes is not None for f in groups)
        assert (score != "hidden") == factors_shown, text


def _set_repness(conversation: Conversation, group: int, entries: list[dict[str, object]]) -> None:
    """Change which statements set `group` apart in the stored map, and in which direction."""
    result = OpinionMapResult.objects.get(conversation=conversation)
    result.data["repness"][str(group)] = entries
    result.save(update_fields=["data"])


def test_a_row_is_cited_when_its_votes_and_its_key_share_are_shown(depot: Community) -> None:
    """A row is evidence for one share: "most people agree" for the agree share, "most
    people disagree" for the disagree share, a group's row for the way the statement
    sets the group apart. With that share and the votes shown it is cited, and the
    other share is kept as the report shows it: None when hidden, never its true value.
    With the key share or the votes hidden it is refused and nothing is created."""
    plan = scenario()
    conversation = _planned_conversation(depot, plan)
    statements = {s.text: s for s in Statement.objects.filter(conversation=conversation)}
    view = selectors.map_view(selectors.stored_map(conversation), THRESHOLD)
    assert view is not None

    def cite(text: str, kind: str, group: int | None = None) -> tuple[Citation, bool]:
        return services.cite_from_report(
            conversation=conversation,
            statement_id=statements[text].pk,
            kind=kind,
            group=group,
            actor=None,
        )

    def refused(text: str, kind: str, group: int | None = None) -> None:
        before = Citation.objects.count()
        with pytest.raises(ServiceError, match="cannot be cited"):
            cite(text, kind, group)
        assert Citation.objects.count() == before

    def figures(citation: Citation) -> tuple[object, object, object]:
        frozen = citation.snapshot
        return (frozen["agree_percent"], frozen["disagree_percent"], frozen["votes"])

    breaks, cameras = statements["Split on breaks"].pk, statements["Split on cameras"].pk
    # Group A on breaks (listed for agreeing): 1 of 12 agree, hidden, and its pair.
    assert view.figures(breaks).groups[0] == selectors.Figures(None, None, 12)
    refused("Split on breaks", "group", 0)
    # Group A on cameras: even its votes are hidden.
    assert view.figures(cameras).groups[0].votes is None
    refused("Split on cameras", "group", 0)
    # Under "most people agree" with its agree share hidden (0 % disagree shown).
    rotas = statements["Common ground on rotas"].pk
    assert view.figures(rotas).overall == selectors.Figures(None, 0, 29)
    refused("Common ground on rotas", "consensus")
    refused("Common ground on rotas", "group", 1)
    assert Citation.objects.count() == 0

    # Everyone on breaks, under "most people agree": 55 % agree of 29 is shown; 12 of 29
    # disagreed (41 %), hidden on the report beside "1 of group A agrees".
    assert view.figures(breaks).overall == selectors.Figures(55, None, 29)
    agreed, created = cite("Split on breaks", "consensus")
    assert created
    assert figures(agreed) == (55, None, 29)
    # Everyone on cameras, under "most people disagree": 56 % disagree of 27.
    disagreed, created = cite("Split on cameras", "consensus")
    assert created
    assert figures(disagreed) == (None, 56, 27)
    # Group B on cameras, listed for agreeing: 0 % agree shown, disagree hidden.
    group_b, created = cite("Split on cameras", "group", 1)
    assert created
    assert figures(group_b) == (0, None, 12)
    # Nothing hidden at all.
    overtime, created = cite("Even on overtime", "group", 0)
    assert created
    assert figures(overtime) == (50, 50, 12)

    # Every kept figure is one the report shows; every one it hides is None.
    for citation in (agreed, disagreed, group_b, overtime):
        shown = view.figures(citation.source_id)
        row = (
            shown.overall
            if citation.snapshot["kind"] == "consensus"
            else shown.groups[{"A": 0, "B": 1}[citation.snapshot["group"]]]
        )
        assert figures(citation) == (row.agree, row.disagree, row.votes)

    # The same figures again, a hidden one among them: listed once, not twice.
    assert cite("Split on breaks", "consensus") == (agreed, False)
    assert cite("Split on cameras", "group", 1) == (group_b, False)
    # Were group B's row on cameras listed for disagreeing, its key share is hidden.
    _set_repness(conversation, 1, [{"statement": cameras, "direction": "disagree"}])
    refused("Split on cameras", "group", 1)
    # Not listed for group B at all, either shown share will do.
    _set_repness(conversation, 1, [])
    assert cite("Split on cameras", "group", 1) == (group_b, False)
    assert Citation.objects.count() == 4


# --- leak 3: the participant's page -----------------------------------------------------


def _you(client: Client, conversation: Conversation) -> str:
    html = client.get(_public(conversation, "you")).content.decode()
    table = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert table is not None, html
    return table.group(1)


def test_the_you_page_compares_only_figures_the_report_shows(
    depot: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One statement compared per group here: shown, for this test, though the page
    # normally waits for views.MIN_COMPARED.
    monkeypatch.setattr(views, "MIN_COMPARED", 1)
    plan = scenario()
    conversation = ConversationFactory.create(community=depot)
    statements = write_map(conversation, plan)
    client = Client()
    for statement in statements.values():
        client.post(
            _public(conversation, "participate"), {"statement": token(statement), "vote": "agree"}
        )
    participant = Participant.objects.get(conversation=conversation)
    assert Vote.objects.filter(participant=participant).count() == 5
    plan.members = {participant.pk: 0}
    write_map(conversation, plan)  # the votes queued recomputes: the planned map again

    def flip(text: str) -> None:
        Vote.objects.filter(participant=participant, statement=statements[text]).update(value=-1)

    before = _you(client, conversation)
    assert "your group" in before
    # Only one of group B voted on lockers: the old page compared with that one vote,
    # so voting the other way and reading the page again told how they had voted.
    flip("Few in B on lockers")
    assert _you(client, conversation) == before
    # A statement whose group figures the report shows does count (the test can fail).
    flip("Even on overtime")
    assert _you(client, conversation) != before


def test_relation_counts_only_statements_with_shown_group_figures(depot: Community) -> None:
    plan = scenario()
    conversation = ConversationFactory.create(community=depot)
    statements = write_map(conversation, plan)
    participant = ParticipantFactory.create(conversation=conversation, number=0)
    Vote.objects.bulk_create(
        Vote(participant=participant, statement=s, value=1, created_on=dt.date.today())
        for s in statements.values()
    )
    view = selectors.map_view(selectors.stored_map(conversation), THRESHOLD)
    assert view is not None
    relations, _own_hidden = selectors.relation(view, participant, 0)
    for relation, group in zip(relations, view.groups, strict=True):
        expected = [
            s.text
            for s in statements.values()
            if (f := view.figures(s.pk).groups[group.number]).agree is not None
            and f.disagree is not None
            and view.counts(group.number, s.pk)[0] != view.counts(group.number, s.pk)[1]
        ]
        assert relation.compared == len(expected), (group.label, expected)
    # Group B: breaks, cameras and overtime are shown; lockers (1 voter) is not.
    assert relations[1].compared < 5
