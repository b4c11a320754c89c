"""Statistical disclosure control for survey results shown outside raw-data access.

Every function here is pure and deterministic: the same table always gets the same
cells hidden, so refreshing a page or asking twice cannot be used to learn more.

The rules (DESIGN.md section 6 and the research note on disclosure control):

* **Threshold.** A community sets a small-group threshold; by default 5 for views seen
  by members and 10 for anything published or shown to an organisation (ONS and UK LLC
  practice). Thresholds apply to *unweighted* respondent counts, never to weighted
  estimates: weighting can make three people look like thirty.
* **Primary suppression.** A count from 1 to threshold-1 is hidden. A zero is shown,
  except where it gives away everyone's answer: when every respondent in a group
  (a table row) is in one cell, that cell is hidden.
* **Complementary suppression.** On a table with totals, one hidden cell in a row or
  column could be worked out by subtraction, so further cells are hidden, choosing the
  cheapest (smallest counts first). We go further than "two per line": each hidden cell
  must sit on a cycle of hidden cells along which counts can be shifted while staying
  non-negative, which is exactly the condition for it not to be pinned down by the
  visible cells and totals, even allowing for counts never being negative.
* **Filters and breakdowns.** Filtering by a question is allowed exactly when breaking
  down by it is: when every group of the question's partition of the parent group
  (each answer, or for multiple choice each combination of ticked options, plus the
  people who did not answer it) is empty or has at least the threshold, and no group
  holds everyone (:func:`check_partition`). Checking a filter only against its own
  complement is not enough: everyone minus "only night" minus "only day" gives the
  few weekend workers. A filter with a breakdown, or two filters, needs every
  combination of answers to be empty or at least the threshold too
  (:func:`check_combined_partition`). Then every table shown is a sum of whole groups
  of at least the threshold, and so is any difference between shown tables. The same
  check is made per question, over the people who answered that question.

Refusals carry a plain-English reason that can be shown to an organiser as it is.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "MEMBERS_THRESHOLD",
    "NO_ANSWER",
    "PUBLISHED_THRESHOLD",
    "CellStatus",
    "DisclosureRefused",
    "DisclosureRefusedError",
    "FrequencyRow",
    "FrequencyTable",
    "ProtectedTable",
    "Refusal",
    "RefusalCode",
    "Thresholds",
    "check_breakdown",
    "check_combined_partition",
    "check_filter",
    "check_filters",
    "check_partition",
    "frequency_table",
    "frequency_table_from_counts",
    "protect_table",
    "threshold_for",
]

MEMBERS_THRESHOLD = 5
PUBLISHED_THRESHOLD = 10

Audience = Literal["members", "published"]


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Thresholds:
    """A community's small-group thresholds.

    Published outputs reach more people, including the organisation the community is
    pressing, so their threshold may never be lower than the members' one.
    """

    members: int = MEMBERS_THRESHOLD
    published: int = PUBLISHED_THRESHOLD

    def __post_init__(self) -> None:
        _check_threshold(self.members)
        _check_threshold(self.published)
        if self.published < self.members:
            raise ValueError("the published threshold cannot be lower than the members' one")


def threshold_for(audience: Audience, thresholds: Thresholds | None = None) -> int:
    """The threshold for an audience: ``"members"`` or ``"published"``."""
    t = thresholds or Thresholds()
    return t.members if audience == "members" else t.published


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError("a threshold must be a whole number of people, at least 1")


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


# --------------------------------------------------------------------------- refusals


class RefusalCode(StrEnum):
    TOO_FEW = "too_few"
    COMPLEMENT_TOO_FEW = "complement_too_few"
    EVERYONE_MATCHES = "everyone_matches"
    CANNOT_PROTECT = "cannot_protect"


@dataclass(frozen=True)
class Refusal:
    """Why a result cannot be shown; ``reason`` is written for an organiser."""

    code: RefusalCode
    reason: str


class DisclosureRefusedError(ValueError):
    """Raised when a whole table cannot be shown; carries the :class:`Refusal`."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


# The conventional short name reads better at call sites (`except DisclosureRefused`).
DisclosureRefused = DisclosureRefusedError


def _group_too_small(n: int, threshold: int) -> Refusal:
    return Refusal(
        RefusalCode.TOO_FEW,
        f"The group has only {_people(n)}, fewer than the minimum of {threshold} this "
        "community has set, so its answers could identify people.",
    )


def check_filter(*, selected: int, parent: int, threshold: int) -> Refusal | None:
    """Check a filter that narrows ``parent`` respondents to ``selected`` of them.

    Returns ``None`` when the filtered result may be shown, else a :class:`Refusal`.
    Both the filtered group and the people it leaves out must number at least the
    threshold: a small leftover can be recovered by comparing the filtered and the
    unfiltered results. Nobody left out also refuses, because it reveals that every
    person in the group matches the filter (which may itself be an answer).

    This is necessary but not enough when a question has more than two answers: two
    filters that each pass can be subtracted from the whole to leave a small group.
    Results filtered by a question's answer must also pass :func:`check_partition`.
    """
    _check_threshold(threshold)
    if not 0 <= selected <= parent:
        raise ValueError("a filter cannot select more people than its parent group has")
    if parent < threshold:
        return _group_too_small(parent, threshold)
    if selected < threshold:
        return Refusal(
            RefusalCode.TOO_FEW,
            f"This filter narrows the results to {_people(selected)}, fewer than the "
            f"minimum of {threshold} this community has set, so their answers could be "
            "identified.",
        )
    left_out = parent - selected
    if left_out == 0:
        return Refusal(
            RefusalCode.EVERYONE_MATCHES,
            f"Everyone in the group ({_people(parent)}) matches this filter, so showing it "
            "would reveal that each of them fits it.",
        )
    if left_out < threshold:
        return Refusal(
            RefusalCode.COMPLEMENT_TOO_FEW,
            f"This filter leaves out only {_people(left_out)} of the {parent} in the group, "
            f"fewer than the minimum of {threshold}, so comparing it with the unfiltered "
            "results would reveal their answers.",
        )
    return None


def check_filters(counts: Sequence[int], *, threshold: int) -> Refusal | None:
    """Check a chain of filters applied one after another.

    ``counts[0]`` is the whole group and each next entry the count after one more
    filter. Every step must pass :func:`check_filter` against the step before it, since
    each intermediate view can be requested on its own and differenced with the next.
    """
    if not counts:
        raise ValueError("counts must start with the size of the whole group")
    _check_threshold(threshold)
    if counts[0] < threshold:
        return _group_too_small(counts[0], threshold)
    for parent, selected in pairwise(counts):
        refusal = check_filter(selected=selected, parent=parent, threshold=threshold)
        if refusal is not None:
            return refusal
    return None


def check_breakdown(groups: Mapping[Any, int], *, parent: int, threshold: int) -> Refusal | None:
    """Check a breakdown of ``parent`` respondents into ``groups`` (label -> count).

    Each non-empty group must have at least ``threshold`` people, and so must the rest
    of the parent group outside it (people with no value for the breakdown count as the
    rest). Empty groups are fine: there is nobody in them to identify.
    """
    _check_threshold(threshold)
    if any(n < 0 for n in groups.values()) or sum(groups.values()) > parent:
        raise ValueError("breakdown groups must be non-negative and fit in the parent group")
    if parent < threshold:
        return _group_too_small(parent, threshold)
    small = [str(k) for k, n in groups.items() if 0 < n < threshold]
    if small:
        return Refusal(
            RefusalCode.TOO_FEW,
            f"This breakdown has groups with fewer than {threshold} people "
            f"({', '.join(small)}), so their answers could be identified.",
        )
    for label, n in groups.items():
        rest = parent - n
        if n > 0 and rest == 0:
            return Refusal(
                RefusalCode.EVERYONE_MATCHES,
                f"Everyone in the group is in '{label}', so this breakdown would reveal "
                "each person's place in it.",
            )
        if n > 0 and rest < threshold:
            return Refusal(
                RefusalCode.COMPLEMENT_TOO_FEW,
                f"Only {_people(rest)} of the {parent} are outside '{label}', fewer than "
                f"{threshold}, so comparing '{label}' with the overall results would reveal "
                "their answers.",
            )
    return None


NO_ANSWER = "did not answer"


def _label(group: Hashable) -> str:
    if group is None:
        return NO_ANSWER
    if isinstance(group, (tuple, list)):
        return " and ".join(_label(g) for g in group) if group else NO_ANSWER
    return str(group)


def check_partition(
    groups: Mapping[Any, int], *, threshold: int, question: str = ""
) -> Refusal | None:
    """Whether results may be filtered or broken down by one question.

    ``groups`` is the question's whole partition of the parent group: the number of
    people for each answer (for multiple choice, each combination of ticked options),
    **plus those who did not answer it** (key ``None``), adding up to the parent group.

    The rule: filtering by a question is allowed exactly when breaking down by it is,
    and that is when every non-empty group of its partition has at least
    ``threshold`` people and no single group holds everyone. Checking a filter only
    against its own complement is not enough: with day 23, night 17 and weekend 3 at a
    threshold of 5, "only night" (17, leaving out 26) and "only day" (23, leaving out
    20) each pass, yet everyone minus night minus day gives the 3 weekend workers'
    answers exactly. Under this rule every table shown with this question as filter or
    breakdown is a sum of whole groups of at least ``threshold`` people, so no
    difference or sum of such tables (and the unfiltered one) can single out fewer.
    Empty groups are fine: there is nobody in them to identify. ``question`` names the
    question in the reason.
    """
    _check_threshold(threshold)
    if any(n < 0 for n in groups.values()):
        raise ValueError("group sizes cannot be negative")
    parent = sum(groups.values())
    if parent < threshold:
        return _group_too_small(parent, threshold)
    by = f"'{question}'" if question else "this question"
    small = [_label(k) for k, n in groups.items() if 0 < n < threshold]
    if small:
        return Refusal(
            RefusalCode.TOO_FEW,
            f"Fewer than {threshold} people are in {_quoted(small)}. Showing results for "
            "the other answers would let their answers be worked out by subtraction from "
            f"the overall results, so results cannot be filtered or broken down by {by}.",
        )
    everyone = [_label(k) for k, n in groups.items() if n == parent]
    if everyone:
        return Refusal(
            RefusalCode.EVERYONE_MATCHES,
            f"Everyone ({_people(parent)}) is in {_quoted(everyone)}, so filtering or "
            f"breaking down by {by} would reveal each person's answer to it.",
        )
    return None


def check_combined_partition(
    cells: Mapping[tuple[Any, ...], int],
    *,
    threshold: int,
    questions: Sequence[str] = (),
) -> Refusal | None:
    """Whether results may be filtered or broken down by several questions at once.

    ``cells`` maps each combination of answers (one per question, ``None`` for no
    answer, as for :func:`check_partition`) to its number of people; together they
    make up the parent group. This is how a filter with a breakdown, or two filters,
    is checked: each question on its own must pass :func:`check_partition`, and so
    must their combination, because the tables for "night, by depot" and "day, by
    depot" taken from "everyone, by depot" leave the other shifts in each depot. When
    every non-empty combination has ``threshold`` people or more, any sum or
    difference of such tables is made of whole combinations, so none singles out fewer.
    ``questions`` names the questions, in the order of the keys, for the reason.
    """
    _check_threshold(threshold)
    if not cells:
        return _group_too_small(0, threshold)
    width = {len(k) for k in cells}
    if len(width) != 1:
        raise ValueError("every combination must have one answer per question")
    for i in range(width.pop()):
        margin: Counter[Hashable] = Counter()
        for key, n in cells.items():
            margin[key[i]] += n
        name = questions[i] if i < len(questions) else ""
        refusal = check_partition(margin, threshold=threshold, question=name)
        if refusal is not None:
            return refusal
    small = [_label(k) for k, n in cells.items() if 0 < n < threshold]
    if small:
        return Refusal(
            RefusalCode.TOO_FEW,
            f"Fewer than {threshold} people gave the combination of answers {_quoted(small)}, "
            "so comparing these results with others would reveal their answers; the "
            "filter and the breakdown cannot be combined.",
        )
    return None


def _quoted(labels: Sequence[str]) -> str:
    shown = [f"'{label}'" for label in labels]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


# --------------------------------------------------------------------------- cell status


class CellStatus(StrEnum):
    SHOWN = "shown"
    TOO_FEW = "too_few"  # primary: 1 to threshold-1 people
    EVERYONE_SAME = "everyone_same"  # primary: a whole group gave this one answer
    COMPLEMENTARY = "complementary"  # hidden so that another hidden cell stays hidden

    @property
    def hidden(self) -> bool:
        return self is not CellStatus.SHOWN


def _too_few_refusal(total: int, threshold: int) -> Refusal:
    return Refusal(
        RefusalCode.TOO_FEW,
        f"Only {_people(total)} answered, fewer than the minimum of {threshold} this "
        "community has set; results appear once enough people have answered, so that "
        "nobody's answer can be picked out.",
    )


# --------------------------------------------------------------------------- frequency tables


@dataclass(frozen=True)
class FrequencyRow:
    """One option of a question: its count and share, or ``None`` when hidden."""

    option: Hashable
    count: int | None
    share: float | None
    status: CellStatus


@dataclass(frozen=True)
class FrequencyTable:
    """Counts per option for one question, with hidden cells already removed.

    ``total`` is the number of people who answered (always shown; a table whose total
    is below the threshold is refused instead). For multiple-choice questions the
    counts can add up to more than the total.
    """

    rows: tuple[FrequencyRow, ...]
    total: int
    threshold: int
    multiple: bool

    @property
    def any_hidden(self) -> bool:
        return any(r.status.hidden for r in self.rows)


def frequency_table(
    answers: Iterable[Hashable | Collection[Hashable] | None],
    options: Sequence[Hashable],
    *,
    threshold: int,
    multiple: bool = False,
    zeros_disclosive: bool = True,
) -> FrequencyTable:
    """Count each respondent's answer to one question and protect the counts.

    For a single-choice question each answer is an option (``None`` = skipped, not
    counted). With ``multiple=True`` each answer is a collection of options (empty =
    answered but ticked none; ``None`` = skipped). Raises :class:`DisclosureRefused`
    when fewer than ``threshold`` people answered.
    """
    counts: Counter[Hashable] = Counter()
    respondents = 0
    known = set(options)
    for answer in answers:
        if answer is None:
            continue
        respondents += 1
        chosen: Collection[Hashable]
        if multiple:
            if isinstance(answer, str) or not isinstance(answer, Collection):
                raise ValueError("with multiple=True each answer must be a collection")
            chosen = set(answer)
        else:
            chosen = [cast(Hashable, answer)]
        for option in chosen:
            if option not in known:
                raise ValueError(f"answer {option!r} is not one of the options")
            counts[option] += 1
    return frequency_table_from_counts(
        {o: counts[o] for o in options},
        respondents=respondents,
        threshold=threshold,
        multiple=multiple,
        zeros_disclosive=zeros_disclosive,
    )


def frequency_table_from_counts(
    counts: Mapping[Any, int],
    *,
    threshold: int,
    respondents: int | None = None,
    multiple: bool = False,
    zeros_disclosive: bool = True,
) -> FrequencyTable:
    """Protect ready-made counts per option (in the mapping's order).

    ``respondents`` is the number who answered; for single choice it defaults to, and
    must equal, the sum of the counts.

    Single choice: counts below the threshold are hidden, and so is an option that
    every respondent chose (with ``zeros_disclosive``). If that leaves exactly one
    hidden count, the total would give it away, so the smallest other count is hidden
    too. Multiple choice: each option is its own yes/no question against the total, so
    an option is hidden when the people who ticked it, or who did not, number from 1 to
    threshold-1, or (with ``zeros_disclosive``) when all or none ticked it.
    """
    _check_threshold(threshold)
    options = list(counts)
    values = [int(counts[o]) for o in options]
    if any(v < 0 for v in values):
        raise ValueError("counts cannot be negative")
    total = sum(values) if respondents is None else respondents
    if not multiple and total != sum(values):
        raise ValueError("for a single-choice question the counts must add up to respondents")
    if multiple and any(v > total for v in values):
        raise ValueError("an option cannot be ticked by more people than answered")
    if total < threshold:
        raise DisclosureRefused(_too_few_refusal(total, threshold))

    status = [CellStatus.SHOWN] * len(values)
    if multiple:
        for i, v in enumerate(values):
            rest = total - v
            if 0 < v < threshold or 0 < rest < threshold:
                status[i] = CellStatus.TOO_FEW
            elif zeros_disclosive and (v == 0 or rest == 0):
                status[i] = CellStatus.EVERYONE_SAME
    else:
        for i, v in enumerate(values):
            if 0 < v < threshold:
                status[i] = CellStatus.TOO_FEW
            elif zeros_disclosive and len(values) > 1 and v == total:
                status[i] = CellStatus.EVERYONE_SAME
        hidden = [i for i, s in enumerate(status) if s.hidden]
        if len(hidden) == 1:
            # Hiding any other cell, even a zero, leaves the pair's split unknown: the
            # hidden positive count can move down while the other moves up.
            shown = [i for i, s in enumerate(status) if not s.hidden]
            if not shown:
                raise DisclosureRefused(_cannot_protect())
            cheapest = min(shown, key=lambda i: (values[i], i))
            status[cheapest] = CellStatus.COMPLEMENTARY

    rows = tuple(
        FrequencyRow(
            option=o,
            count=None if s.hidden else v,
            share=None if s.hidden else v / total,
            status=s,
        )
        for o, v, s in zip(options, values, status, strict=True)
    )
    return FrequencyTable(rows=rows, total=total, threshold=threshold, multiple=multiple)


def _cannot_protect() -> Refusal:
    return Refusal(
        RefusalCode.CANNOT_PROTECT,
        "This table cannot be shown without some hidden numbers being worked out from "
        "the totals; try a broader breakdown.",
    )


# --------------------------------------------------------------------------- two-way tables


@dataclass(frozen=True)
class ProtectedTable:
    """A two-way table of respondent counts with margins, and which cells to hide.

    ``counts`` and ``status`` are ``(rows + 1) x (columns + 1)`` grids: the last column
    holds row totals, the last row column totals, the corner the grand total (always
    shown). Rows are groups of people (a breakdown), columns are answers. Apply
    :meth:`mask` to any figures derived from the same cells (percentages, weighted
    estimates) before showing them.
    """

    counts: tuple[tuple[int, ...], ...]
    status: tuple[tuple[CellStatus, ...], ...]
    threshold: int

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the body of the table, without margins."""
        return len(self.counts) - 1, len(self.counts[0]) - 1

    def is_hidden(self, row: int, column: int) -> bool:
        return self.status[row][column].hidden

    def mask(self) -> npt.NDArray[np.bool_]:
        """``True`` where hidden, over the table with margins."""
        return np.array([[s.hidden for s in row] for row in self.status], dtype=np.bool_)

    def visible_counts(self) -> tuple[tuple[int | None, ...], ...]:
        return tuple(
            tuple(None if s.hidden else v for v, s in zip(vr, sr, strict=True))
            for vr, sr in zip(self.counts, self.status, strict=True)
        )


def protect_table(
    counts: Sequence[Sequence[int]] | npt.NDArray[np.integer],
    *,
    threshold: int,
    zeros_disclosive: bool = True,
) -> ProtectedTable:
    """Hide the cells of a groups-by-answers count table that could identify people.

    ``counts`` is the body of the table (unweighted respondent counts); margins are
    added here. Primary suppression hides counts (body or margins) from 1 to
    threshold-1 and, with ``zeros_disclosive``, a cell holding a whole row (a group
    that all gave one answer; the column-totals row counts as a group too). Then each
    hidden cell is protected by hiding the cheapest set of further cells that closes a
    cycle through it (see the module docstring). Raises :class:`DisclosureRefused` if
    fewer than ``threshold`` people are in the table.
    """
    _check_threshold(threshold)
    body = np.asarray(counts, dtype=np.int64)
    if body.ndim != 2 or body.shape[0] == 0 or body.shape[1] == 0:
        raise ValueError("counts must be a non-empty two-dimensional table")
    if np.any(body < 0):
        raise ValueError("counts cannot be negative")
    n_rows, n_cols = body.shape
    grid = np.zeros((n_rows + 1, n_cols + 1), dtype=np.int64)
    grid[:n_rows, :n_cols] = body
    grid[:n_rows, n_cols] = body.sum(axis=1)
    grid[n_rows, :n_cols] = body.sum(axis=0)
    grid[n_rows, n_cols] = body.sum()
    grand = int(grid[n_rows, n_cols])
    if grand < threshold:
        raise DisclosureRefused(_too_few_refusal(grand, threshold))

    status = np.full(grid.shape, CellStatus.SHOWN, dtype=object)
    small = (grid > 0) & (grid < threshold)
    status[small] = CellStatus.TOO_FEW
    if zeros_disclosive and n_cols > 1:
        # Every row, the column-totals row included, is a group of people; one cell
        # holding the whole row says what each of them answered.
        for i in range(n_rows + 1):
            row_total = grid[i, n_cols]
            if row_total <= 0:
                continue
            for j in range(n_cols):
                if grid[i, j] == row_total and status[i, j] == CellStatus.SHOWN:
                    status[i, j] = CellStatus.EVERYONE_SAME

    hidden = status != CellStatus.SHOWN
    for i, j in zip(*np.nonzero(hidden.copy()), strict=True):
        path = _cheapest_cycle(grid, hidden, int(i), int(j))
        if path is None:
            raise DisclosureRefused(_cannot_protect())
        for a, b in path:
            if not hidden[a, b]:
                hidden[a, b] = True
                status[a, b] = CellStatus.COMPLEMENTARY

    return ProtectedTable(
        counts=tuple(tuple(int(v) for v in row) for row in grid),
        status=tuple(tuple(CellStatus(s) for s in row) for row in status),
        threshold=threshold,
    )


def _cheapest_cycle(
    grid: npt.NDArray[np.int64], hidden: npt.NDArray[np.bool_], r: int, c: int
) -> list[tuple[int, int]] | None:
    """The cheapest set of cells closing a safe cycle through hidden cell ``(r, c)``.

    The table with margins is a bipartite graph: each row and each column is a node
    (its cells sum to its total, with the margin cell counted negatively), and each
    cell an edge. Adding ``t`` to cells at even positions of a cycle and subtracting it
    at odd ones keeps every row and column sum, so visible totals cannot tell the
    shifted table from the real one. The shift is possible with counts staying
    non-negative when all the cycle's zero cells sit at positions of one parity (they
    all go up). Dijkstra over (node, parity) states finds the cycle whose newly hidden
    cells have the smallest total count, then the fewest cells. The grand total is
    never hidden. Returns the cells of the cycle, or ``None`` if there is none.
    """
    n_r, n_c = grid.shape
    corner = (n_r - 1, n_c - 1)
    best: tuple[tuple[int, int], list[tuple[int, int]]] | None = None
    for zero_parity in (0, 1):
        if grid[r, c] == 0 and zero_parity != 0:
            continue  # the start cell itself sits at position 0
        found = _search(grid, hidden, r, c, zero_parity, corner)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    return None if best is None else best[1]


def _search(
    grid: npt.NDArray[np.int64],
    hidden: npt.NDArray[np.bool_],
    r: int,
    c: int,
    zero_parity: int,
    corner: tuple[int, int],
) -> tuple[tuple[int, int], list[tuple[int, int]]] | None:
    n_r, n_c = grid.shape
    # Nodes: rows are 0..n_r-1, columns n_r..n_r+n_c-1. A state is (node, k % 2) where
    # k is the position the next edge will take in the cycle; the start cell is k=0.
    start = (n_r + c, 1)
    goal_node = r
    dist: dict[tuple[int, int], tuple[int, int]] = {start: (0, 0)}
    prev: dict[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]] = {}
    queue: list[tuple[int, int, int, int]] = [(0, 0, start[0], start[1])]
    while queue:
        cost, cells, node, parity = heapq.heappop(queue)
        state = (node, parity)
        if dist.get(state, (cost + 1, 0)) < (cost, cells):
            continue
        if node == goal_node:
            path: list[tuple[int, int]] = []
            while state != start:
                state, cell = prev[state]
                path.append(cell)
            return (cost, cells), path
        if node < n_r:
            neighbours = [((node, j), n_r + j) for j in range(n_c)]
        else:
            j = node - n_r
            neighbours = [((i, j), i) for i in range(n_r)]
        for cell, nxt in neighbours:
            if cell == (r, c) or cell == corner:
                continue
            value = int(grid[cell])
            if value == 0 and parity != zero_parity:
                continue
            step = (0, 0) if hidden[cell] else (value, 1)
            new = (cost + step[0], cells + step[1])
            nstate = (nxt, 1 - parity)
            if new < dist.get(nstate, (np.iinfo(np.int64).max, 0)):
                dist[nstate] = new
                prev[nstate] = (state, cell)
                heapq.heappush(queue, (new[0], new[1], nxt, 1 - parity))
    return None
