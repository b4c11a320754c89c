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
* **Hidden cells add up to a group too.** In a line whose total is shown, the hidden
  cells' sum is the total less the shown cells: "15 of 16 agree, the rest hidden" says
  exactly one person did not agree. So that sum must be 0 or at least the threshold,
  like any shown count; the smallest shown cells of a line short of it are hidden too.
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
* **Not answering is a group too.** Beside a group's size (shown), "5 people answered"
  says how many of the group did not; that number must be 0 or at least the threshold
  in every group of the view, or the question's figures are not shown
  (:func:`check_unanswered`).
* **Joint protection.** Whole groups being big is not enough for single cells: "a"
  shown as 7 for everyone and 5 for the day shift gives the night shift's hidden 2.
  :func:`protect_joint` suppresses a question's unfiltered counts, every filter's
  counts and every breakdown as slices of one table with all its margins, so a figure
  is hidden in every view or in none and no view's figures give back a hidden one.

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
    "JointTable",
    "ProtectedTable",
    "Refusal",
    "RefusalCode",
    "Thresholds",
    "check_breakdown",
    "check_combined_partition",
    "check_filter",
    "check_filters",
    "check_partition",
    "check_unanswered",
    "frequency_table",
    "frequency_table_from_counts",
    "protect_family",
    "protect_joint",
    "protect_table",
    "threshold_for",
    "weighted_columns_safe",
    "weighting_cells_safe",
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


# Refusals never say how many people a group has: a refused group is one whose size is
# hidden, and "narrows the results to 3 people" would give back a cell hidden elsewhere
# (and, by subtraction, the cells hidden to protect it). Only the threshold is named.


def _group_too_small(threshold: int) -> Refusal:
    return Refusal(
        RefusalCode.TOO_FEW,
        f"The group has fewer than {threshold} people, the smallest group these "
        "results may show, so its answers could identify people.",
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
        return _group_too_small(threshold)
    if selected < threshold:
        return Refusal(
            RefusalCode.TOO_FEW,
            f"This filter narrows the results to fewer than {threshold} people, the "
            "smallest group these results may show, so their answers could be identified.",
        )
    left_out = parent - selected
    if left_out == 0:
        return Refusal(
            RefusalCode.EVERYONE_MATCHES,
            "Everyone in the group matches this filter, so showing it would reveal that "
            "each of them fits it.",
        )
    if left_out < threshold:
        return Refusal(
            RefusalCode.COMPLEMENT_TOO_FEW,
            f"This filter leaves out fewer than {threshold} people of the group, the "
            "smallest group these results may show, so comparing it with the unfiltered "
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
        return _group_too_small(threshold)
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
        return _group_too_small(threshold)
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
                f"Fewer than {threshold} people of the group are outside '{label}', so "
                f"comparing '{label}' with the overall results would reveal their answers.",
            )
    return None


NO_ANSWER = "did not answer"


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
        return _group_too_small(threshold)
    by = f"'{question}'" if question else "this question"
    # The reason names no answer and does not say which of the two cases it is: the
    # tables hide the small or all-in-one cells, and naming them beside the hidden
    # total could give one exactly (two hidden cells holding 6, one of them named as
    # under 5: then it is 1). Both cases read alike for the same reason.
    reason = (
        f"Fewer than {threshold} people, or everyone, gave one of the answers to {by} (or "
        "did not answer it). Results for the other answers could then be subtracted from "
        f"the overall results to give people's answers, so results cannot be filtered or "
        f"broken down by {by}."
    )
    if any(0 < n < threshold for n in groups.values()):
        return Refusal(RefusalCode.TOO_FEW, reason)
    if any(n == parent for n in groups.values()):
        return Refusal(RefusalCode.EVERYONE_MATCHES, reason)
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
        return _group_too_small(threshold)
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
    if any(0 < n < threshold for n in cells.values()):
        return Refusal(
            RefusalCode.TOO_FEW,
            f"Fewer than {threshold} people gave one of the combinations of answers to these "
            "questions, so comparing these results with others could give their answers "
            "away; the filter and the breakdown cannot be combined.",
        )
    return None


def check_unanswered(
    people: Mapping[Any, int], answered: Mapping[Any, int], *, threshold: int
) -> Refusal | None:
    """Whether how many answered one question may be shown for every group of a view.

    ``people`` is each group's size (one group, everyone, for unfiltered results; for
    a filter or breakdown, every group of its questions' partition, as
    :func:`check_combined_partition` takes them) and ``answered`` how many of each group
    answered the question (missing: none). A group's size is shown ("8 responses"), so
    beside "5 people answered" the people who did not answer are a figure too (8 - 5 =
    3 in department B skipped it): like any count, it must be 0 or at least
    ``threshold``. Checking every group, not only the one shown, means that no
    difference between views (everyone's count less one group's) gives a small number
    either: each is a sum of whole groups. When it fails, the question's counts (and
    the percentages, averages and intervals worked out from them) are not shown.
    """
    _check_threshold(threshold)
    if any(n < 0 for n in people.values()) or any(n < 0 for n in answered.values()):
        raise ValueError("group sizes cannot be negative")
    if any(n > 0 and group not in people for group, n in answered.items()):
        raise ValueError("more people answered than are in the group")
    for group, size in people.items():
        skipped = size - answered.get(group, 0)
        if skipped < 0:
            raise ValueError("more people answered than are in the group")
        if 0 < skipped < threshold:
            return Refusal(
                RefusalCode.TOO_FEW,
                f"Fewer than {threshold} people did not answer this question, so its "
                "results are not shown: the number who answered would tell how many did "
                "not, and with so few they could be picked out.",
            )
    return None


# --------------------------------------------------------------------------- weighting
#
# Weighting gives each weighting cell (the people with one answer, or one combination
# of answers, to the weighting questions) a share of the results. A cell given a large
# share makes the weighted figures about that cell alone: with three weekend workers
# weighted to most of the population, the effective sample size is 3 and each weighted
# share is theirs. And one weighted share set beside the unweighted one is a second
# equation over the cells: with two cells the two together give each cell's answers,
# that is the breakdown by the weighting question. So weighted figures are shown only
# where that breakdown would show every count: every cell has 0 or at least the
# threshold people, and each question's answers within each cell pass the rules of its
# own table (weighted_columns_safe).


def weighting_cells_safe(sizes: Iterable[int], *, threshold: int) -> bool:
    """Whether results may be weighted over cells of these sizes (respondents each).

    Every cell must be empty or have at least ``threshold`` people. Pass the cells of
    every group a view can be compared with (for a filter, the cells within each group
    of the filter question's partition), not only the selection's.
    """
    _check_threshold(threshold)
    return all(n == 0 or n >= threshold for n in sizes)


def weighted_columns_safe(
    counts: Sequence[Sequence[int]],
    *,
    threshold: int,
    respondents: Sequence[int] | None = None,
) -> tuple[bool, ...]:
    """For each answer (column), whether its weighted share may be shown.

    ``counts`` has a row per weighting cell (stack the rows of every group the view
    can be compared with) and a column per answer: the people in that cell who gave
    it. A weighted share is a sum of the cells' shares, so it is shown only when the
    counts it is made from would be shown in a breakdown by the cells.

    Single choice (``respondents`` is ``None``; each row adds up to the cell's
    respondents): every count must be 0 or at least ``threshold``, and none may hold
    its whole row (a cell that all gave one answer), when there is more than one
    answer. The answers' shares add up to 1, so one answer withheld could be worked
    out from the others: all are shown or none.

    Multiple choice (``respondents`` gives each row's respondents to the question):
    each option is its own yes/no question, so it is shown when, in every cell with
    respondents, both the people who ticked it and those who did not number at least
    ``threshold`` (none ticking it, or all, would say what each of them did).
    """
    _check_threshold(threshold)
    rows = [list(row) for row in counts]
    width = len(rows[0]) if rows else 0
    if any(len(row) != width for row in rows):
        raise ValueError("every row needs one count per answer")
    if any(n < 0 for row in rows for n in row):
        raise ValueError("counts cannot be negative")
    if respondents is None:
        safe = all(
            all(n == 0 or n >= threshold for n in row)
            and not (width > 1 and sum(row) > 0 and max(row) == sum(row))
            for row in rows
        )
        return (safe,) * width
    if len(respondents) != len(rows):
        raise ValueError("give the respondents of every row")
    if any(n > total for row, total in zip(rows, respondents, strict=True) for n in row):
        raise ValueError("an option cannot be ticked by more people than answered")
    return tuple(
        all(
            total == 0 or threshold <= row[j] <= total - threshold
            for row, total in zip(rows, respondents, strict=True)
        )
        for j in range(width)
    )


# --------------------------------------------------------------------------- cell status


class CellStatus(StrEnum):
    SHOWN = "shown"
    TOO_FEW = "too_few"  # primary: 1 to threshold-1 people
    EVERYONE_SAME = "everyone_same"  # primary: a whole group gave this one answer
    COMPLEMENTARY = "complementary"  # hidden so that another hidden cell stays hidden

    @property
    def hidden(self) -> bool:
        return self is not CellStatus.SHOWN


def too_few_refusal(threshold: int) -> Refusal:
    """Too few people answered one question for any of its figures to be shown. The
    same sentence wherever that happens, never the number who did answer."""
    return Refusal(
        RefusalCode.TOO_FEW,
        f"Fewer than {threshold} people answered this question, so its results are not "
        "shown: with so few, someone's answers could be picked out.",
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
    every respondent chose (with ``zeros_disclosive``). The hidden counts add up to
    the total less the shown ones, so while that sum is 1 to threshold-1 the smallest
    shown count is hidden too. If exactly one hidden count is left (a whole group's
    answer), the total would give it away, so the smallest other count is hidden too. Multiple choice: each option is its own yes/no question against the total, so
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
        raise DisclosureRefused(too_few_refusal(threshold))

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
        # The hidden counts add up to the total less the shown ones, so together they
        # are a group anyone can count: "15 of 16 agree" says one person did not. That
        # group must be empty or at least the threshold too, like any shown count, so
        # the smallest shown counts join it until it is.
        while 0 < sum(v for v, s in zip(values, status, strict=True) if s.hidden) < threshold:
            shown = [i for i, s in enumerate(status) if not s.hidden and values[i] > 0]
            if not shown:  # pragma: no cover - the total is at least the threshold
                raise DisclosureRefused(_cannot_protect())
            cheapest = min(shown, key=lambda i: (values[i], i))
            status[cheapest] = CellStatus.COMPLEMENTARY
        hidden = [i for i, s in enumerate(status) if s.hidden]
        if len(hidden) == 1:
            # Only a whole group's one answer is left alone here. Hiding any other
            # cell, even a zero, leaves the pair's split unknown: the hidden count can
            # move down while the other moves up.
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
    cycle through it (see the module docstring). Last, in every line whose total is
    shown, the hidden cells must add up to 0 or at least the threshold (their sum is
    the total less the shown cells); the smallest shown cell of a line short of it is
    hidden, and protected in turn, until none is. Raises :class:`DisclosureRefused` if
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
        raise DisclosureRefused(too_few_refusal(threshold))

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

    def protect(i: int, j: int) -> None:
        path = _cheapest_cycle(grid, hidden, i, j)
        if path is None:
            raise DisclosureRefused(_cannot_protect())
        for a, b in path:
            if not hidden[a, b]:
                hidden[a, b] = True
                status[a, b] = CellStatus.COMPLEMENTARY

    for i, j in zip(*np.nonzero(hidden.copy()), strict=True):
        protect(int(i), int(j))
    # The hidden cells of a line whose total is shown add up to the total less the
    # shown cells: together they are a group anyone can count, so it must be empty or
    # at least the threshold, like a shown cell ("15 of 16 agree" says one did not).
    while (thin := _thin_line(grid, hidden, threshold)) is not None:
        candidates = [c for c in thin if not hidden[c] and grid[c] > 0]
        if not candidates:  # pragma: no cover - a shown total is 0 or >= threshold
            raise DisclosureRefused(_cannot_protect())
        cell = min(candidates, key=lambda c: (int(grid[c]), c))
        hidden[cell] = True
        status[cell] = CellStatus.COMPLEMENTARY
        protect(*cell)

    return ProtectedTable(
        counts=tuple(tuple(int(v) for v in row) for row in grid),
        status=tuple(tuple(CellStatus(s) for s in row) for row in status),
        threshold=threshold,
    )


def _thin_line(
    grid: npt.NDArray[np.int64], hidden: npt.NDArray[np.bool_], threshold: int
) -> list[tuple[int, int]] | None:
    """The body cells of the first line (row or column, margins included) whose total
    is shown and whose hidden cells add up to 1 to ``threshold - 1``; ``None`` if none."""
    n_r, n_c = grid.shape
    lines = [[(i, j) for j in range(n_c)] for i in range(n_r)]
    lines += [[(i, j) for i in range(n_r)] for j in range(n_c)]
    for line in lines:
        *cells, total = line
        if hidden[total]:
            continue
        hidden_sum = sum(int(grid[c]) for c in cells if hidden[c])
        if 0 < hidden_sum < threshold:
            return cells
    return None


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


# --------------------------------------------------------------------------- joint tables


@dataclass(frozen=True)
class JointTable:
    """Cells of one or more tables cut from the same people, suppressed together.

    A cell is named by a key with one position per axis: the answer axis (axis 0)
    first, then each split (a filter or breakdown question). A position holds the
    index of an answer or group, or the axis's size for the margin (that axis summed
    over). So ``(2, 4, 1)`` with sizes ``(3, 4, 2)`` is "third answer, everyone in
    split 1, second group of split 2". The same key names the same figure in every
    table it appears in (the unfiltered count of an answer is ``(a, n1, n2, ...)`` in
    all of them), so a figure is hidden everywhere or nowhere.
    """

    sizes: tuple[int, ...]
    counts: Mapping[tuple[int, ...], int]
    status: Mapping[tuple[int, ...], CellStatus]
    threshold: int

    @property
    def margin(self) -> tuple[int, ...]:
        """The key of the grand total."""
        return self.sizes

    def cell(self, answer: int, splits: Mapping[int, int] | None = None) -> tuple[int, ...]:
        """The key of ``answer`` (an index, or ``sizes[0]`` for everyone who answered)
        with the given split axes fixed (axis number -> group index) and the others
        summed over."""
        key = list(self.sizes)
        key[0] = answer
        for axis, group in (splits or {}).items():
            key[axis] = group
        return tuple(key)

    def is_hidden(self, key: tuple[int, ...]) -> bool:
        return self.status[key].hidden

    def visible(self, key: tuple[int, ...]) -> int | None:
        return None if self.status[key].hidden else self.counts[key]

    @property
    def any_hidden(self) -> bool:
        return any(s.hidden for s in self.status.values())


_STATUSES = (
    CellStatus.SHOWN,
    CellStatus.TOO_FEW,
    CellStatus.EVERYONE_SAME,
    CellStatus.COMPLEMENTARY,
)


def protect_joint(
    cells: Mapping[Any, int],
    sizes: Sequence[int],
    *,
    threshold: int,
    tables: Iterable[Sequence[int]] | None = None,
    group_sizes_shown: bool = True,
    zeros_disclosive: bool = True,
    shown: Collection[Sequence[int]] = (),
    hidden_already: Collection[Sequence[int]] = (),
) -> JointTable:
    """Suppress a family of tables cut from the same people as one table.

    ``cells`` is the body of an n-dimensional count table, sparse: a key per
    combination (answer index on axis 0, then one group index per split axis) mapping
    to the number of people; missing keys are zero. ``sizes`` gives each axis's number
    of answers or groups (a split's "did not answer" is one of its groups).

    ``tables`` says which tables can be shown, each as the split axes it is cut by
    (axis 0, the answers, is in every table): ``[(1,), (2,), (1, 2)]`` releases the
    answers by split 1, by split 2 and by both. Every margin of a released table is
    released with it (the answers alone, each split's group sizes), so the unfiltered
    counts are in every table and the results filtered by split 1 are the slice of
    ``(1,)`` or of ``(1, 2)`` at that group. By default one table with every axis.

    Why one table: protecting each view on its own let a hidden cell be recovered by
    subtracting views that could all be seen (7 unfiltered minus 5 for "day" gives the
    2 hidden for "night"). Here each figure has one status wherever it appears, and in
    every line of every released table (the cells along one axis with the others
    fixed, the margin included) no hidden cell is left alone, so no line's total gives
    one back.

    The rules, in order:

    * **Primary.** A count from 1 to ``threshold - 1`` is hidden (``TOO_FEW``). With
      ``zeros_disclosive``, a cell holding a whole group's answers (equal to the total
      of its line along the answer axis, which has more than one answer) is hidden
      (``EVERYONE_SAME``): it says what each of them answered.
    * **Group sizes.** With ``group_sizes_shown`` the margins over the answer axis
      (how many people of each group answered) are never hidden: the partition rule
      (:func:`check_combined_partition`) has already made each of them 0 or at least
      the threshold, and the page shows them as "n people answered". The grand total
      is never hidden. If one of them is 1 to ``threshold - 1`` the family is refused.
    * **Shown elsewhere.** The keys in ``shown`` are figures the reader sees in other
      tables anyway, so hiding them would protect nothing: they are never hidden and
      count as known, like group sizes. A question that results are split by has its
      answers' counts there: each is the size of one of its groups, which the page
      gives as a filter's number of responses and as a breakdown's row totals. Keys
      that are in none of the released tables are ignored.
    * **Complementary.** Repeated until nothing changes: a line with exactly one
      hidden cell gets the cheapest other cell of the line hidden too. A line whose
      total is shown and whose hidden cells are all zero would pin them at zero
      (counts are never negative), so it gets a positive cell hidden. Cheapest is the
      smallest positive count (a hidden zero can only be thought bigger, so it
      protects in one direction only and is taken only when the line has no positive
      cell left), then a body cell before a margin (a margin is in more views: the
      unfiltered counts are in all of them), then the first cell met: the same
      counts always get the same cells hidden. A line whose total is shown and whose
      hidden cells add up to 1 to ``threshold - 1`` (anyone can subtract the shown
      cells from the total) gets its cheapest shown positive cell hidden, or failing
      that its total.
    * **Hidden already.** The keys in ``hidden_already`` start hidden (as
      complementary cells, unless a rule above hides them anyway), before any line is
      mended: the cells another protection of the same counts hides, which this one
      must hide too (see :func:`protect_family`'s ``floor``). Keys that are in none of
      the released tables, or that are never hidden (group sizes, ``shown``), are
      ignored.

    A hidden zero on a line whose shown total is zero is known to be zero; it stays
    hidden but no longer counts as protection, and the lines through it are checked
    again. Raises :class:`DisclosureRefused` when fewer than ``threshold`` people are
    in the table, or when a line cannot be protected (its only other cells are group
    sizes that must be shown).
    """
    _check_threshold(threshold)
    shape = tuple(int(s) for s in sizes)
    if not shape or any(s < 1 for s in shape):
        raise ValueError("every axis needs at least one answer or group")
    dims = len(shape)
    released = (
        [tuple(range(1, dims))] if tables is None else [tuple(sorted(set(t))) for t in tables]
    )
    for table in released:
        if any(not 1 <= a < dims for a in table):
            raise ValueError("a table's split axes must be between 1 and the number of axes - 1")
    if not released:
        released = [()]

    keys = np.array(list(cells), dtype=np.int64).reshape(-1, dims)
    values = np.array([int(cells[tuple(k)]) for k in cells], dtype=np.int64)
    if np.any(values < 0):
        raise ValueError("counts cannot be negative")
    if keys.size and (np.any(keys < 0) or np.any(keys >= np.array(shape))):
        raise ValueError("a cell's key is outside the table")

    # Each released table as a dense array with margins (index size = summed over).
    ids: dict[tuple[int, ...], int] = {}
    counts: list[int] = []
    lines: set[tuple[int, ...]] = set()
    for table in released:
        axes = (0, *table)
        dense = np.zeros(tuple(shape[a] + 1 for a in axes), dtype=np.int64)
        if keys.size:
            np.add.at(dense, tuple(keys[:, a] for a in axes), values)
        for d, a in enumerate(axes):
            index: list[Any] = [slice(None)] * len(axes)
            index[d] = shape[a]
            body: list[Any] = [slice(None)] * len(axes)
            body[d] = slice(0, shape[a])
            dense[tuple(index)] = dense[tuple(body)].sum(axis=d)
        table_ids = np.empty(dense.shape, dtype=np.int64)
        for position in np.ndindex(dense.shape):
            key = list(shape)
            for a, p in zip(axes, position, strict=True):
                key[a] = p
            found = ids.get(tuple(key))
            if found is None:
                found = ids[tuple(key)] = len(counts)
                counts.append(int(dense[position]))
            table_ids[position] = found
        for d in range(len(axes)):
            moved = np.moveaxis(table_ids, d, -1).reshape(-1, dense.shape[d])
            lines.update(tuple(int(i) for i in row) for row in moved)

    n = len(counts)
    grid = np.array([*counts, 0], dtype=np.int64)  # the last entry pads short lines
    key_of = sorted(ids, key=ids.__getitem__)
    margins = np.array([sum(k == s for k, s in zip(key, shape, strict=True)) for key in key_of])
    grand = ids[shape]
    if grid[grand] < threshold:
        raise DisclosureRefused(too_few_refusal(threshold))
    eligible = np.ones(n + 1, dtype=np.bool_)
    eligible[n] = eligible[grand] = False
    if group_sizes_shown:
        for cell_key, cell in ids.items():
            if cell_key[0] == shape[0]:
                eligible[cell] = False
    for figure in shown:
        # A figure the page shows in another table: hiding it here would hide nothing,
        # and counting it as unknown would let protection lean on it.
        at = ids.get(tuple(int(k) for k in figure))
        if at is not None:
            eligible[at] = False
    fixed_small = (~eligible[:n]) & (grid[:n] > 0) & (grid[:n] < threshold)
    if np.any(fixed_small):
        raise DisclosureRefused(
            Refusal(
                RefusalCode.TOO_FEW,
                f"A group here has fewer than {threshold} people, so these results cannot "
                "be split by it.",
            )
        )

    # Statuses as codes into _STATUSES (numpy would turn the enum members into str).
    status = np.zeros(n + 1, dtype=np.int8)
    small = eligible & (grid > 0) & (grid < threshold)
    status[small] = _STATUSES.index(CellStatus.TOO_FEW)
    # Lines as rows of cell ids, the margin last; short lines padded with the dummy n.
    ordered = sorted(lines)
    width = max(len(line) for line in ordered)
    padded = np.full((len(ordered), width), n, dtype=np.int64)
    last = np.empty(len(ordered), dtype=np.int64)
    along_answers = np.zeros(len(ordered), dtype=np.bool_)
    for r, line in enumerate(ordered):
        padded[r, : len(line)] = line
        last[r] = line[-1]
        # A line runs along the answer axis when its cells differ in position 0.
        along_answers[r] = key_of[line[0]][0] != key_of[line[-1]][0]
    if zeros_disclosive and shape[0] > 1:
        for r in (int(x) for x in np.nonzero(along_answers)[0]):
            total = grid[last[r]]
            if total <= 0:
                continue
            for member in padded[r]:
                whole = member not in (last[r], n) and grid[member] == total
                if whole and eligible[member] and status[member] == 0:
                    status[member] = _STATUSES.index(CellStatus.EVERYONE_SAME)

    for figure in hidden_already:
        at = ids.get(tuple(int(k) for k in figure))
        if at is not None and eligible[at] and status[at] == 0:
            status[at] = _STATUSES.index(CellStatus.COMPLEMENTARY)
    hidden = status != 0
    known = np.zeros(n + 1, dtype=np.bool_)  # hidden, but pinned at zero
    body_mask = padded != last[:, None]

    def cheapest(candidates: Iterable[int]) -> int | None:
        return min(candidates, key=lambda i: (grid[i], margins[i], i), default=None)

    while True:
        _mend_lines(
            grid, padded, last, body_mask, eligible, hidden, known, status, cheapest, threshold
        )
        # A hidden zero protects its partners only if it could be more than zero: one
        # linear programme finds the hidden zeros no allowed change can raise. Hiding
        # a positive cell on a line through one frees it; with none left, it is known
        # and the lines through it are mended again without it.
        stuck = _stuck_zeros(grid, padded, last, hidden & ~known)
        if stuck.size:
            zero = int(stuck[0])
            freeing = _nearest_shown(zero, padded, eligible & ~hidden, hidden & ~known, cheapest)
            if freeing is None:
                known[zero] = True
            else:
                hidden[freeing] = True
                status[freeing] = _STATUSES.index(CellStatus.COMPLEMENTARY)
            continue
        # Lines with two hidden cells each can still pin one down when the hidden cells
        # hang together through a single cell (a "bridge" between two closed groups):
        # solve the lines as equations and hide one more cell next to any figure they
        # determine, then mend the lines again.
        determined = _determined(grid, padded, last, hidden & ~known)
        if determined is None:
            break
        through = np.unique(padded[np.any(padded == determined, axis=1)])
        chosen = cheapest(int(i) for i in through if eligible[i] and not hidden[i])
        if chosen is None:
            raise DisclosureRefused(_cannot_protect())
        hidden[chosen] = True
        status[chosen] = _STATUSES.index(CellStatus.COMPLEMENTARY)

    # A hidden zero that the shown figures pin at zero hides nothing: show it.
    status[known] = 0
    return JointTable(
        sizes=shape,
        counts={key: int(grid[i]) for key, i in ids.items()},
        status={key: _STATUSES[status[i]] for key, i in ids.items()},
        threshold=threshold,
    )


def protect_family(
    cells: Mapping[Any, int],
    sizes: Sequence[int],
    *,
    threshold: int,
    tables: Sequence[Sequence[int]],
    shown: Collection[Sequence[int]] = (),
    zeros_disclosive: bool = True,
    floor: JointTable | None = None,
) -> JointTable:
    """:func:`protect_joint` over as many of ``tables`` as can be protected together.

    A family that cannot be protected as a whole (some line of a narrow table, such as
    the answers of one department's weekend workers by a third question, has nothing
    left to hide) used to refuse every view of the question, its plain counts included,
    which had no small number at all ("This table cannot be shown … try a broader
    breakdown" with no breakdown chosen). It is the narrow views that cannot be shown,
    so they are the ones left out: first every table cut by two splits; if that is not
    enough, the tables cut by one split are taken back one at a time, in order, each
    kept when it can still be protected with those kept before it. A table left out
    is never shown: its cells are missing from the result (:meth:`JointTable.cell`
    keys not in ``status``), and the views cut from it say they cannot be shown.

    ``floor`` is the same counts protected at a lower threshold for readers who may
    also read this protection's figures (members read the published figures as well as
    their own). Protected each on its own, the two picked different complementary
    cells, and a cell one hid and the other showed gave back a small count (a members'
    column hiding February and "other months", the published one showing February's
    13: the column's total less the shown months left the 3 of "other months"). So
    everything ``floor`` hides starts hidden here, and a table ``floor`` left out is
    left out here too: every figure shown here is then shown there, and reading both
    tells a reader nothing the lower threshold's figures do not.

    Deterministic like :func:`protect_joint`: the same counts always keep the same
    tables. Raises :class:`DisclosureRefused` only when the plain counts cannot be
    protected on their own (the same refusal :func:`protect_joint` gives them).
    """
    released = [tuple(t) for t in tables]
    hidden_already: list[tuple[int, ...]] = []
    if floor is not None:
        if floor.sizes != tuple(int(s) for s in sizes):
            raise ValueError("the floor must protect the same table")
        released = [t for t in released if _in_table(floor, t)]
        hidden_already = [key for key, status in floor.status.items() if status.hidden]

    def attempt(chosen: list[tuple[int, ...]]) -> JointTable:
        return protect_joint(
            cells,
            sizes,
            threshold=threshold,
            tables=chosen,
            shown=shown,
            zeros_disclosive=zeros_disclosive,
            hidden_already=hidden_already,
        )

    try:
        return attempt(released)
    except DisclosureRefused:
        pass
    singles = [t for t in released if len(t) <= 1]
    if len(singles) < len(released):
        try:
            return attempt(singles)
        except DisclosureRefused:
            pass
    kept: list[tuple[int, ...]] = []
    best = attempt([])  # the plain counts alone; their refusal is the question's
    for table in singles:
        if not table:
            continue
        try:
            best = attempt([*kept, table])
        except DisclosureRefused:
            continue
        kept.append(table)
    return best


def _in_table(joint: JointTable, table: Sequence[int]) -> bool:
    """Whether ``joint`` shows ``table`` (split axes): its first body cell has a status
    (a table left out has none of its cells; see :func:`protect_family`)."""
    return joint.cell(0, dict.fromkeys(table, 0)) in joint.status


def _mend_lines(
    grid: npt.NDArray[np.int64],
    padded: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64],
    body_mask: npt.NDArray[np.bool_],
    eligible: npt.NDArray[np.bool_],
    hidden: npt.NDArray[np.bool_],
    known: npt.NDArray[np.bool_],
    status: npt.NDArray[np.int8],
    cheapest: Any,
    threshold: int,
) -> None:
    """Hide cells until no line has a lone hidden cell, hidden zeros its shown total
    pins at zero, or hidden cells its shown total says add up to 1 to threshold - 1
    (see protect_joint); changes ``hidden``, ``known`` and ``status``."""
    dummy = len(grid) - 1
    while True:
        protecting = hidden & ~known
        in_line = protecting[padded]
        count = in_line.sum(axis=1)
        hidden_body = (grid[padded] * (in_line & body_mask)).sum(axis=1)
        unsafe = (count == 1) | ((count >= 1) & ~hidden[last] & (hidden_body < threshold))
        bad = np.nonzero(unsafe)[0]
        if bad.size == 0:
            return
        for r in bad:
            line = [int(i) for i in padded[r] if i != dummy]
            protecting = hidden & ~known
            members = [i for i in line if protecting[i]]
            body_sum = sum(int(grid[i]) for i in members if i != last[r])
            pinned = bool(members) and not hidden[last[r]] and body_sum == 0
            thin = bool(members) and not hidden[last[r]] and 0 < body_sum < threshold
            if len(members) != 1 and not pinned and not thin:
                continue  # an earlier choice in this pass mended it
            candidates = [i for i in line if eligible[i] and not hidden[i]]
            if thin:
                # The hidden cells add up to the shown total less the shown cells, a
                # group of fewer than the threshold: a positive cell joins them, or
                # the total (then their sum is unknown).
                total = [i for i in candidates if i == last[r]]
                candidates = [i for i in candidates if grid[i] > 0 and i != last[r]] or total
            elif pinned:
                # A positive cell, or else the line's total (which may then move).
                total = [i for i in candidates if i == last[r]]
                candidates = [i for i in candidates if grid[i] > 0] or total
                if not candidates:
                    # Nothing can make these zeros uncertain: they are known.
                    known[[i for i in members if i != last[r]]] = True
                    continue
            chosen = cheapest(candidates)
            if chosen is None:
                raise DisclosureRefused(_cannot_protect())
            hidden[chosen] = True
            status[chosen] = _STATUSES.index(CellStatus.COMPLEMENTARY)


def _nearest_shown(
    start: int,
    padded: npt.NDArray[np.int64],
    shown: npt.NDArray[np.bool_],
    unknown: npt.NDArray[np.bool_],
    cheapest: Any,
) -> int | None:
    """The cheapest shown cell on a line through `start`, or failing that on a line
    through a hidden cell reached from it along lines of hidden cells: hiding it gives
    a stuck zero room to move."""
    reached = {start}
    frontier = [start]
    while frontier:
        through = np.unique(padded[np.isin(padded, frontier).any(axis=1)])
        chosen = cheapest(int(i) for i in through if shown[i])
        if chosen is not None:
            return int(chosen)
        frontier = [int(i) for i in through if unknown[i] and int(i) not in reached]
        reached.update(frontier)
    return None


def _equations(
    padded: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64],
    columns: npt.NDArray[np.int64],
    size: int,
) -> npt.NDArray[np.float64]:
    """The lines as equations over the cells in `columns`: body cells minus margin."""
    position = np.full(size, -1, dtype=np.int64)
    position[columns] = np.arange(columns.size)
    rows = np.nonzero((position[padded] >= 0).any(axis=1))[0]
    matrix = np.zeros((rows.size, columns.size))
    for k, r in enumerate(rows):
        for i in padded[r]:
            if position[i] >= 0:
                matrix[k, position[i]] += -1.0 if i == last[r] else 1.0
    return matrix


def _stuck_zeros(
    grid: npt.NDArray[np.int64],
    padded: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64],
    unknown: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """The hidden zeros that no change to the hidden figures keeping every line's sum
    and every count non-negative can raise.

    Changes that keep the sums form a cone (zeros may only go up), and the sum of
    changes that raise different zeros raises them all, so one linear programme that
    maximises how many zeros rise (each counted up to 1) finds every zero that can."""
    columns = np.nonzero(unknown)[0]
    zeros = np.nonzero(grid[columns] == 0)[0]
    if zeros.size == 0:
        return np.zeros(0, dtype=np.int64)
    from scipy.optimize import linprog  # only tables with hidden zeros need it

    matrix = _equations(padded, last, columns, len(grid))
    n_d, n_s = columns.size, zeros.size
    # Variables: the change d per hidden cell, then s per hidden zero, s <= d, s <= 1.
    upper = np.zeros((n_s, n_d + n_s))
    upper[np.arange(n_s), zeros] = -1.0
    upper[np.arange(n_s), n_d + np.arange(n_s)] = 1.0
    # d is unbounded (only s is capped), so the sum of the rising changes, scaled up,
    # reaches s = 1 on every zero that can rise: no zero is traded for another.
    bounds: list[tuple[float | None, float | None]] = [(None, None)] * n_d + [(0.0, 1.0)] * n_s
    for z in zeros:
        bounds[z] = (0.0, None)
    found = linprog(
        np.concatenate([np.zeros(n_d), -np.ones(n_s)]),
        A_ub=upper,
        b_ub=np.zeros(n_s),
        A_eq=np.hstack([matrix, np.zeros((matrix.shape[0], n_s))]),
        b_eq=np.zeros(matrix.shape[0]),
        bounds=bounds,
        method="highs",
    )
    if found.status != 0:  # pragma: no cover - d = 0 is always a solution
        raise DisclosureRefused(_cannot_protect())
    rising = np.asarray(found.x)[n_d:] > 0.5
    stuck: npt.NDArray[np.int64] = columns[zeros[~rising]].astype(np.int64)
    return stuck


def _determined(
    grid: npt.NDArray[np.int64],
    padded: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64],
    unknown: npt.NDArray[np.bool_],
) -> int | None:
    """The first hidden cell that the lines, read as equations (body cells add up to
    the margin) with every shown figure known, fix to one value; ``None`` if none.

    A cell is free exactly when some change to the hidden figures that keeps every
    line's sum moves it: when its coordinate in the null space of the equations is
    not zero."""
    columns = np.nonzero(unknown)[0]
    if columns.size == 0:
        return None
    matrix = _equations(padded, last, columns, len(grid))
    _u, singular, vt = np.linalg.svd(matrix)
    tolerance = max(matrix.shape) * np.finfo(float).eps * (singular[0] if singular.size else 1)
    rank = int(np.sum(singular > tolerance))
    null = vt[rank:]
    free = np.abs(null).max(axis=0) > 1e-9 if null.size else np.zeros(columns.size, bool)
    fixed = np.nonzero(~free)[0]
    return None if fixed.size == 0 else int(columns[fixed[0]])
