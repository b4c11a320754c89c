"""Disclosure control: thresholds, primary and complementary suppression, filter rules.

Fixed cases pin exactly which cells are hidden; properties check, on random tables,
that nothing hidden can be worked out from what is shown. The strongest check solves
two linear programmes per hidden cell (smallest and largest value consistent with every
visible cell and total, counts non-negative): if they agree, the cell is disclosed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from sayso.analysis import disclosure as dc
from sayso.analysis.disclosure import CellStatus as S

SHOWN, FEW, SAME, COMP = S.SHOWN, S.TOO_FEW, S.EVERYONE_SAME, S.COMPLEMENTARY


# --------------------------------------------------------------------------- thresholds


def test_default_thresholds() -> None:
    assert (dc.threshold_for("members"), dc.threshold_for("published")) == (5, 10)
    custom = dc.Thresholds(members=3, published=12)
    assert (dc.threshold_for("members", custom), dc.threshold_for("published", custom)) == (3, 12)


def test_published_threshold_cannot_be_weaker() -> None:
    with pytest.raises(ValueError, match="cannot be lower"):
        dc.Thresholds(members=10, published=5)
    with pytest.raises(ValueError, match="at least 1"):
        dc.Thresholds(members=0)


# --------------------------------------------------------------------------- filters


def test_filter_that_narrows_below_threshold_is_refused() -> None:
    refusal = dc.check_filter(selected=3, parent=40, threshold=5)
    assert refusal == dc.Refusal(
        dc.RefusalCode.TOO_FEW,
        "This filter narrows the results to fewer than 5 people, the smallest group "
        "these results may show, so their answers could be identified.",
    )


def test_filter_whose_complement_is_small_is_refused() -> None:
    refusal = dc.check_filter(selected=38, parent=40, threshold=5)
    assert refusal == dc.Refusal(
        dc.RefusalCode.COMPLEMENT_TOO_FEW,
        "This filter leaves out fewer than 5 people of the group, the smallest group "
        "these results may show, so comparing it with the unfiltered results would "
        "reveal their answers.",
    )


def test_filter_matching_everyone_is_refused() -> None:
    refusal = dc.check_filter(selected=40, parent=40, threshold=5)
    assert refusal is not None
    assert refusal.code is dc.RefusalCode.EVERYONE_MATCHES


@pytest.mark.parametrize(
    ("selected", "parent", "threshold", "code"),
    [
        (5, 10, 5, None),
        (4, 10, 5, dc.RefusalCode.TOO_FEW),
        (6, 10, 5, dc.RefusalCode.COMPLEMENT_TOO_FEW),
        (0, 10, 5, dc.RefusalCode.TOO_FEW),
        (3, 4, 5, dc.RefusalCode.TOO_FEW),  # the parent group is already too small
        (10, 20, 10, None),
        (11, 20, 10, dc.RefusalCode.COMPLEMENT_TOO_FEW),
    ],
)
def test_filter_boundaries(
    selected: int, parent: int, threshold: int, code: dc.RefusalCode | None
) -> None:
    refusal = dc.check_filter(selected=selected, parent=parent, threshold=threshold)
    assert (None if refusal is None else refusal.code) == code


def test_filter_chain_checks_every_step() -> None:
    # "night shift" (30 of 100) then "not in depot A" (27 of them): the last step leaves
    # out 3 night-shift workers, whom the two views together would expose.
    refusal = dc.check_filters([100, 30, 27], threshold=5)
    assert refusal is not None
    assert refusal.code is dc.RefusalCode.COMPLEMENT_TOO_FEW
    assert "leaves out fewer than 5 people of the group" in refusal.reason
    assert dc.check_filters([100, 30, 20], threshold=5) is None
    assert dc.check_filters([4], threshold=5) is not None
    with pytest.raises(ValueError, match="more people"):
        dc.check_filter(selected=5, parent=4, threshold=3)


def test_breakdown_rules() -> None:
    assert dc.check_breakdown({"A": 10, "B": 12, "C": 0}, parent=22, threshold=5) is None
    small = dc.check_breakdown({"A": 10, "B": 3, "C": 4}, parent=17, threshold=5)
    assert small is not None
    assert small.code is dc.RefusalCode.TOO_FEW
    assert "(B, C)" in small.reason
    # Two people have no depot recorded: "A" is everyone else, so A versus all reveals them.
    rest = dc.check_breakdown({"A": 20}, parent=22, threshold=5)
    assert rest is not None
    assert rest.code is dc.RefusalCode.COMPLEMENT_TOO_FEW
    everyone = dc.check_breakdown({"A": 22, "B": 0}, parent=22, threshold=5)
    assert everyone is not None
    assert everyone.code is dc.RefusalCode.EVERYONE_MATCHES


def _refused(call: object) -> dc.Refusal:
    """The refusal a check returns, or the one a table function raises."""
    try:
        found = call() if callable(call) else call
    except dc.DisclosureRefused as refused:
        return refused.refusal
    assert isinstance(found, dc.Refusal)
    return found


# Every way a result is refused, with counts none of whose digits is the threshold (7):
# a refusal names the threshold and never a group's size, since a refused group's size
# is itself hidden (the reviewer's "narrows the results to 3 people" gave back a hidden
# weekend cell, and with it the day cell hidden to protect it).
REFUSALS = {
    "filter too few": lambda: dc.check_filter(selected=3, parent=40, threshold=7),
    "filter leaves out few": lambda: dc.check_filter(selected=38, parent=40, threshold=7),
    "filter matches everyone": lambda: dc.check_filter(selected=40, parent=40, threshold=7),
    "filter in a small group": lambda: dc.check_filter(selected=2, parent=4, threshold=7),
    "filter chain": lambda: dc.check_filters([100, 30, 26], threshold=7),
    "filter chain small start": lambda: dc.check_filters([4], threshold=7),
    "breakdown small group": lambda: dc.check_breakdown({"A": 30, "B": 3}, parent=33, threshold=7),
    "breakdown small rest": lambda: dc.check_breakdown({"A": 30}, parent=33, threshold=7),
    "breakdown everyone": lambda: dc.check_breakdown({"A": 33}, parent=33, threshold=7),
    "breakdown small parent": lambda: dc.check_breakdown({"A": 3}, parent=4, threshold=7),
    "partition small": lambda: dc.check_partition({"a": 30, "b": 3, None: 0}, threshold=7),
    "partition everyone": lambda: dc.check_partition({"a": 33, None: 0}, threshold=7),
    "partition small parent": lambda: dc.check_partition({"a": 2, "b": 2}, threshold=7),
    "combined small": lambda: dc.check_combined_partition(
        {("a", "x"): 20, ("a", "y"): 10, ("b", "x"): 12, ("b", "y"): 3}, threshold=7
    ),
    "combined empty": lambda: dc.check_combined_partition({}, threshold=7),
    "frequency table": lambda: dc.frequency_table_from_counts({"a": 3, "b": 2}, threshold=7),
    "two-way table": lambda: dc.protect_table([[3, 2]], threshold=7),
    "joint table": lambda: dc.protect_joint({(0, 0): 3, (1, 0): 2}, (2, 1), threshold=7),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_no_refusal_states_a_count_other_than_the_threshold(name: str) -> None:
    refusal = _refused(REFUSALS[name])
    assert re.findall(r"\d+", refusal.reason) in ([], ["7"], ["7", "7"]), refusal.reason


# --------------------------------------------------------------------------- weighting


def test_weighting_cells_must_be_empty_or_at_least_the_threshold() -> None:
    assert dc.weighting_cells_safe([10, 10, 5], threshold=5)
    assert dc.weighting_cells_safe([10, 0, 5], threshold=5)
    assert not dc.weighting_cells_safe([10, 10, 3], threshold=5)
    assert dc.weighting_cells_safe([], threshold=5)


def test_single_choice_weighted_shares_are_all_shown_or_none() -> None:
    # Day 5 yes 5 no, weekend 1 yes 4 no: the 1 would be the weighted share's.
    assert dc.weighted_columns_safe([[5, 5], [1, 4]], threshold=5) == (False, False)
    assert dc.weighted_columns_safe([[5, 5], [5, 6]], threshold=5) == (True, True)
    # A zero is shown, unless its row's people all gave one answer.
    assert dc.weighted_columns_safe([[5, 0, 6], [7, 0, 5]], threshold=5) == (True,) * 3
    assert dc.weighted_columns_safe([[10, 0], [5, 6]], threshold=5) == (False, False)
    assert dc.weighted_columns_safe([[10], [6]], threshold=5) == (True,)


def test_multiple_choice_weighted_shares_are_judged_option_by_option() -> None:
    # Two cells of 12 and 10 who answered; ticks per option.
    safe = dc.weighted_columns_safe(
        [[12, 5, 7, 0], [10, 5, 5, 2]], threshold=5, respondents=[12, 10]
    )
    # All ticked / some cell's ticks or non-ticks fewer than 5 / none ticked: not shown.
    assert safe == (False, True, True, False)
    with pytest.raises(ValueError, match="more people than answered"):
        dc.weighted_columns_safe([[13]], threshold=5, respondents=[12])


# --------------------------------------------------------------------------- frequency tables


def _statuses(table: dc.FrequencyTable) -> list[tuple[object, int | None, S]]:
    return [(r.option, r.count, r.status) for r in table.rows]


def test_frequency_table_counts_answers() -> None:
    answers = ["yes"] * 9 + ["no"] * 6 + [None, None]
    table = dc.frequency_table(answers, ["yes", "no", "unsure"], threshold=5)
    assert table.total == 15  # skipped answers are not respondents to this question
    assert _statuses(table) == [("yes", 9, SHOWN), ("no", 6, SHOWN), ("unsure", 0, SHOWN)]
    assert [r.share for r in table.rows] == [0.6, 0.4, 0.0]
    assert not table.any_hidden


def test_one_small_cell_takes_the_smallest_other_with_it() -> None:
    table = dc.frequency_table_from_counts({"a": 6, "b": 4, "c": 7}, threshold=5)
    assert _statuses(table) == [("a", None, COMP), ("b", None, FEW), ("c", 7, SHOWN)]
    # A zero is no complement for a small count: hiding it with the 4 would still
    # show that 4 people did not choose "a". The 6 goes instead, and the zero stays.
    table = dc.frequency_table_from_counts({"a": 6, "b": 4, "c": 0}, threshold=5)
    assert _statuses(table) == [("a", None, COMP), ("b", None, FEW), ("c", 0, SHOWN)]


def test_hidden_counts_never_add_up_to_a_small_group() -> None:
    # "15 of 16 agree" with the rest hidden says exactly one person did not agree.
    table = dc.frequency_table_from_counts(
        {"agree": 15, "disagree": 1, "pass": 0}, threshold=5, zeros_disclosive=False
    )
    assert _statuses(table) == [
        ("agree", None, COMP),
        ("disagree", None, FEW),
        ("pass", 0, SHOWN),
    ]
    # Two small counts adding up to 3 take the smallest shown count with them, and
    # no more once the hidden ones reach the threshold.
    table = dc.frequency_table_from_counts({"a": 2, "b": 1, "c": 6, "d": 20}, threshold=5)
    assert _statuses(table) == [
        ("a", None, FEW),
        ("b", None, FEW),
        ("c", None, COMP),
        ("d", 20, SHOWN),
    ]
    # Small counts that already add up to the threshold protect each other.
    table = dc.frequency_table_from_counts({"a": 3, "b": 2, "c": 20}, threshold=5)
    assert _statuses(table) == [("a", None, FEW), ("b", None, FEW), ("c", 20, SHOWN)]


def test_a_table_row_whose_hidden_cells_add_up_to_few_hides_more() -> None:
    # Row 0 agrees 15 to 1: before, the 1 and a zero beside it were hidden and the 15
    # shown, so the row's total 16 said exactly one person in it did not agree.
    body = [[15, 1, 0], [10, 12, 9], [11, 8, 7]]
    table = dc.protect_table(body, threshold=5, zeros_disclosive=False)
    visible = table.visible_counts()
    assert visible[0][0] is None
    assert visible[0][3] == 16
    for row in visible:
        total = row[-1]
        if total is not None:
            hidden_sum = total - sum(v for v in row[:-1] if v is not None)
            assert hidden_sum == 0 or hidden_sum >= 5


def test_two_small_cells_protect_each_other() -> None:
    table = dc.frequency_table_from_counts({"a": 12, "b": 3, "c": 2}, threshold=5)
    assert _statuses(table) == [("a", 12, SHOWN), ("b", None, FEW), ("c", None, FEW)]


def test_everyone_giving_one_answer_is_hidden() -> None:
    table = dc.frequency_table_from_counts({"a": 12, "b": 0, "c": 0}, threshold=5)
    assert _statuses(table) == [("a", None, SAME), ("b", None, COMP), ("c", 0, SHOWN)]
    relaxed = dc.frequency_table_from_counts(
        {"a": 12, "b": 0, "c": 0}, threshold=5, zeros_disclosive=False
    )
    assert not relaxed.any_hidden


def test_too_few_respondents_refuses_the_table() -> None:
    with pytest.raises(dc.DisclosureRefused) as info:
        dc.frequency_table(["yes", "no", "yes", None], ["yes", "no"], threshold=5)
    assert info.value.refusal.code is dc.RefusalCode.TOO_FEW
    assert str(info.value) == (
        "Fewer than 5 people answered this question, so its results are not shown: with so "
        "few, someone's answers could be picked out."
    )


def test_multiple_choice_treats_each_option_as_yes_or_no() -> None:
    answers: list[list[str] | None] = (
        [["a", "c"]] * 27 + [["a", "d"]] * 3 + [None] * 4  # 30 answered, 4 skipped
    )
    table = dc.frequency_table(answers, ["a", "b", "c", "d"], threshold=5, multiple=True)
    assert table.total == 30
    assert _statuses(table) == [
        ("a", None, SAME),  # all 30 ticked it
        ("b", None, SAME),  # nobody ticked it
        ("c", None, FEW),  # the 3 who did not tick it are too few
        ("d", None, FEW),
    ]
    table = dc.frequency_table(
        [["a"]] * 10 + [["b"]] * 8 + [[]] * 2, ["a", "b"], threshold=5, multiple=True
    )
    assert _statuses(table) == [("a", 10, SHOWN), ("b", 8, SHOWN)]


def test_unknown_answers_are_rejected() -> None:
    with pytest.raises(ValueError, match="not one of the options"):
        dc.frequency_table(["maybe"] * 6, ["yes", "no"], threshold=5)
    with pytest.raises(ValueError, match="add up"):
        dc.frequency_table_from_counts({"a": 5}, respondents=9, threshold=5)


# --------------------------------------------------------------------------- two-way tables


def test_three_by_three_with_margins() -> None:
    table = dc.protect_table([[20, 3, 15], [12, 8, 9], [30, 14, 2]], threshold=5)
    # The 3 and the 2 are primary; the cheapest cycle through both hides 15 and 14
    # (29 people), cheaper than going through the middle row (8 + 9 + 15 = 32).
    assert table.status == (
        (SHOWN, FEW, COMP, SHOWN),
        (SHOWN, SHOWN, SHOWN, SHOWN),
        (SHOWN, COMP, FEW, SHOWN),
        (SHOWN, SHOWN, SHOWN, SHOWN),
    )
    assert table.visible_counts() == (
        (20, None, None, 38),
        (12, 8, 9, 29),
        (30, None, None, 46),
        (62, 25, 26, 113),
    )
    assert table.shape == (3, 3)
    assert table.mask().sum() == 4


def test_group_all_in_one_cell_is_protected_with_a_zero() -> None:
    table = dc.protect_table([[12, 0, 0], [6, 7, 8], [9, 9, 9]], threshold=5)
    assert table.status == (
        (SAME, COMP, SHOWN, SHOWN),
        (COMP, COMP, SHOWN, SHOWN),
        (SHOWN, SHOWN, SHOWN, SHOWN),
        (SHOWN, SHOWN, SHOWN, SHOWN),
    )


def test_single_row_table_hides_column_totals_too() -> None:
    # Column totals of a one-row table repeat its cells, so they go as well.
    table = dc.protect_table([[3, 10]], threshold=5)
    assert table.visible_counts() == ((None, None, 13), (None, None, 13))


def test_small_table_is_refused() -> None:
    with pytest.raises(dc.DisclosureRefused) as info:
        dc.protect_table([[1, 2], [0, 1]], threshold=5)
    assert info.value.refusal.code is dc.RefusalCode.TOO_FEW


def test_table_with_everyone_in_one_cell_cannot_be_protected() -> None:
    with pytest.raises(dc.DisclosureRefused) as info:
        dc.protect_table([[10, 0], [0, 0]], threshold=5)
    assert info.value.refusal.code is dc.RefusalCode.CANNOT_PROTECT


def test_small_group_total_is_hidden() -> None:
    table = dc.protect_table([[2, 2], [10, 12], [8, 9]], threshold=5)
    assert table.status[0] == (FEW, FEW, FEW)
    assert not table.is_hidden(3, 2)


# --------------------------------------------------------------------------- properties


def _lines(n_rows: int, n_cols: int) -> list[list[tuple[tuple[int, int], int]]]:
    """Each row and column of the table with margins, as (cell, sign) with sum zero."""
    lines = []
    for i in range(n_rows + 1):
        lines.append([((i, j), 1) for j in range(n_cols)] + [((i, n_cols), -1)])
    for j in range(n_cols + 1):
        lines.append([((i, j), 1) for i in range(n_rows)] + [((n_rows, j), -1)])
    return lines


def _ranges(table: dc.ProtectedTable) -> dict[tuple[int, int], tuple[float, float]]:
    """Smallest and largest value each hidden cell could take given what is shown."""
    counts = np.array(table.counts)
    hidden = table.mask()
    cells = [(int(c[0]), int(c[1])) for c in np.argwhere(hidden)]
    index = {c: k for k, c in enumerate(cells)}
    n_rows, n_cols = table.shape
    a_eq, b_eq = [], []
    for line in _lines(n_rows, n_cols):
        row = np.zeros(len(cells))
        rhs = 0.0
        for cell, sign in line:
            if cell in index:
                row[index[cell]] += sign
            else:
                rhs -= sign * counts[cell]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    out = {}
    for cell, k in index.items():
        c = np.zeros(len(cells))
        c[k] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert lo.status == 0
        assert hi.status == 0
        assert lo.fun is not None
        assert hi.fun is not None
        out[cell] = (float(lo.fun), -float(hi.fun))
    return out


tables = st.integers(min_value=1, max_value=4).flatmap(
    lambda r: st.integers(min_value=1, max_value=4).flatmap(
        lambda c: st.lists(
            st.lists(st.one_of(st.integers(0, 12), st.integers(0, 60)), min_size=c, max_size=c),
            min_size=r,
            max_size=r,
        )
    )
)


def _protect(body: list[list[int]], threshold: int) -> dc.ProtectedTable | None:
    try:
        return dc.protect_table(body, threshold=threshold)
    except dc.DisclosureRefused as refused:
        code = refused.refusal.code
    # Refusing is always safe, but only for the right stated reason.
    too_few = sum(map(sum, body)) < threshold
    assert code is (dc.RefusalCode.TOO_FEW if too_few else dc.RefusalCode.CANNOT_PROTECT)
    return None


@settings(max_examples=300, deadline=None)
@given(tables, st.integers(min_value=2, max_value=10))
def test_no_line_has_exactly_one_hidden_cell(body: list[list[int]], threshold: int) -> None:
    table = _protect(body, threshold)
    assume(table is not None)
    assert table is not None
    n_rows, n_cols = table.shape
    visible = table.visible_counts()
    for line in _lines(n_rows, n_cols):
        assert sum(table.is_hidden(*cell) for cell, _ in line) != 1
        *cells, (total, _sign) = line
        if visible[total[0]][total[1]] is not None:
            # What the shown cells leave of a shown total is a group anyone can count.
            left = table.counts[total[0]][total[1]] - sum(visible[i][j] or 0 for (i, j), _ in cells)
            assert left == 0 or left >= threshold


@settings(max_examples=300, deadline=None)
@given(tables, st.integers(min_value=2, max_value=10))
def test_primary_cells_hidden_and_shown_cells_true(body: list[list[int]], threshold: int) -> None:
    table = _protect(body, threshold)
    assume(table is not None)
    assert table is not None
    counts = np.array(table.counts)
    assert np.array_equal(counts[:-1, :-1], np.array(body))
    assert not table.is_hidden(*table.shape)  # the grand total is always shown
    for (i, j), v in np.ndenumerate(counts):
        if 0 < v < threshold:
            assert table.status[i][j] is S.TOO_FEW
        shown = table.visible_counts()[i][j]
        assert shown is None or shown == v
    # Deterministic: the same table always gets the same cells hidden.
    assert dc.protect_table(body, threshold=threshold) == table


@settings(max_examples=150, deadline=None)
@given(tables, st.integers(min_value=2, max_value=10))
def test_no_hidden_cell_can_be_worked_out(body: list[list[int]], threshold: int) -> None:
    table = _protect(body, threshold)
    assume(table is not None)
    assert table is not None
    counts = np.array(table.counts)
    for cell, (lo, hi) in _ranges(table).items():
        assert lo <= counts[cell] + 1e-6
        assert hi >= counts[cell] - 1e-6
        # Integer shifts of 1 along a cycle are always possible, so the range is >= 1.
        assert hi - lo >= 1 - 1e-6, cell


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=6),
    st.integers(min_value=2, max_value=10),
)
def test_frequency_table_never_leaves_one_hidden_cell(counts: list[int], threshold: int) -> None:
    options = {f"o{i}": v for i, v in enumerate(counts)}
    try:
        table = dc.frequency_table_from_counts(options, threshold=threshold)
    except dc.DisclosureRefused:
        assert sum(counts) < threshold
        return
    hidden = [r for r in table.rows if r.count is None]
    hidden_sum = table.total - sum(r.count for r in table.rows if r.count is not None)
    assert hidden_sum == 0 or hidden_sum >= threshold
    assert len(hidden) != 1
    for r, v in zip(table.rows, counts, strict=True):
        if 0 < v < threshold:
            assert r.count is None
    # With two or more hidden, a hidden positive count can swap with another hidden one.
    if hidden:
        assert any(counts[int(str(r.option)[1:])] > 0 for r in hidden)
