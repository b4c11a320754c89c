"""Joint protection: a hidden figure cannot be worked out from other figures shown.

Protecting each table on its own let a hidden cell come back by subtraction: "Q = a"
was 7 unfiltered and 5 for the day shift, so the hidden figure for the night shift
was 2. disclosure.protect_joint suppresses the unfiltered counts, every filter's
counts and every breakdown as slices of one table. These tests pin the example, the
rules, and check on small random tables, by linear programming, that no hidden figure
is pinned down by the figures shown (each hidden count can take more than one value
with every shown count and total unchanged and no count negative).
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from scipy.optimize import linprog

from sayso.analysis import disclosure as dc

# Answers a, b, c (axis 0) by shift: day, night (axis 1).
EXAMPLE = {(0, 0): 5, (0, 1): 2, (1, 0): 20, (1, 1): 15, (2, 0): 9, (2, 1): 11}


def lines(table: dc.JointTable, released: list[tuple[int, ...]]) -> list[list[tuple[int, ...]]]:
    """Every line of every released table: the cells along one axis, margin last."""
    out = []
    for split_axes in released:
        axes = (0, *split_axes)
        for axis in axes:
            others = [a for a in axes if a != axis]
            for fixed in itertools.product(*(range(table.sizes[a] + 1) for a in others)):
                line = []
                for i in range(table.sizes[axis] + 1):
                    key = list(table.sizes)
                    key[axis] = i
                    for a, v in zip(others, fixed, strict=True):
                        key[a] = v
                    line.append(tuple(key))
                out.append(line)
    return out


def ranges(table: dc.JointTable, released: list[tuple[int, ...]]) -> dict[tuple[int, ...], float]:
    """For each hidden figure, how far it can move (max - min) by linear programming
    with every shown figure fixed, every line adding up, and no count negative."""
    hidden = sorted(k for k in table.status if table.is_hidden(k))
    index = {k: i for i, k in enumerate(hidden)}
    rows, rhs = [], []
    for line in lines(table, released):
        row = np.zeros(len(hidden))
        constant = 0.0
        for position, key in enumerate(line):
            sign = -1.0 if position == len(line) - 1 else 1.0  # body - margin = 0
            if key in index:
                row[index[key]] += sign
            else:
                constant -= sign * table.counts[key]
        if row.any():
            rows.append(row)
            rhs.append(constant)
    out = {}
    for key, i in index.items():
        goal = np.zeros(len(hidden))
        goal[i] = 1.0
        low = linprog(goal, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
        high = linprog(-goal, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
        assert low.status == 0  # the real counts are a solution
        assert high.status == 0
        assert low.fun is not None
        assert high.fun is not None
        out[key] = -high.fun - low.fun
    return out


def test_the_hidden_night_figure_cannot_be_had_from_the_unfiltered_and_day_figures() -> None:
    table = dc.protect_joint(EXAMPLE, (3, 2), threshold=5)
    night_a, day_a, everyone_a = (0, 1), (0, 0), (0, 2)
    assert table.status[night_a] is dc.CellStatus.TOO_FEW
    # Before, 7 unfiltered and 5 for the day shift were both shown: 7 - 5 = 2.
    assert table.is_hidden(day_a) or table.is_hidden(everyone_a)
    # The cheapest partner is the day shift's 5, and its answer line needs one more.
    assert table.status[day_a] is dc.CellStatus.COMPLEMENTARY
    assert table.visible(everyone_a) == 7
    # Within the day shift, the next smallest answer (c: 9) is hidden with it, and so
    # is the night shift's c, so that neither column gives the other back.
    assert table.status[(2, 0)] is dc.CellStatus.COMPLEMENTARY
    assert table.status[(2, 1)] is dc.CellStatus.COMPLEMENTARY
    shown = {k for k, s in table.status.items() if not s.hidden}
    assert shown == {(0, 2), (1, 0), (1, 1), (1, 2), (2, 2), (3, 0), (3, 1), (3, 2)}
    assert all(width > 0 for width in ranges(table, [(1,)]).values())


def test_group_sizes_and_the_grand_total_stay_shown() -> None:
    table = dc.protect_joint(EXAMPLE, (3, 2), threshold=5)
    assert [table.visible((3, g)) for g in range(3)] == [34, 28, 62]


def test_the_same_counts_always_get_the_same_cells_hidden() -> None:
    first = dc.protect_joint(EXAMPLE, (3, 2), threshold=5)
    shuffled = dict(reversed(list(EXAMPLE.items())))
    assert dc.protect_joint(shuffled, (3, 2), threshold=5).status == first.status


def test_a_one_dimensional_table_is_the_old_frequency_rule() -> None:
    # a=2 hidden, and the cheapest other answer (c: 6) so that the total keeps it.
    table = dc.protect_joint({(0,): 2, (1,): 30, (2,): 6}, (3,), threshold=5)
    assert [table.status[(i,)] for i in range(4)] == [
        dc.CellStatus.TOO_FEW,
        dc.CellStatus.SHOWN,
        dc.CellStatus.COMPLEMENTARY,
        dc.CellStatus.SHOWN,
    ]
    old = dc.frequency_table_from_counts({"a": 2, "b": 30, "c": 6}, threshold=5)
    assert [r.status for r in old.rows] == [table.status[(i,)] for i in range(3)]


def test_hidden_figures_never_add_up_to_a_small_group() -> None:
    # The night shift: 15 answered "a", 1 "b", nobody "c". Hiding the 1 and a zero
    # beside it left "15 of 16 night workers said a": exactly one of them did not.
    cells = {(0, 0): 10, (1, 0): 9, (2, 0): 8, (0, 1): 15, (1, 1): 1}
    table = dc.protect_joint(cells, (3, 2), threshold=5)
    night = [table.visible((a, 1)) for a in range(3)]
    assert table.visible((3, 1)) == 16  # the group's size stays shown
    assert night[1] is None
    assert night[0] is None  # the 15 goes with the 1
    before = dc.frequency_table_from_counts({"a": 15, "b": 1, "c": 0}, threshold=5)
    assert before.rows[0].count is None


def test_a_whole_group_giving_one_answer_is_hidden_with_a_zero_beside_it() -> None:
    # Everyone on nights answered "b": showing 12 of 12 says what each of them said.
    cells = {(0, 0): 10, (1, 0): 8, (1, 1): 12}
    table = dc.protect_joint(cells, (2, 2), threshold=5)
    assert table.status[(1, 1)] is dc.CellStatus.EVERYONE_SAME
    assert table.is_hidden((0, 1))  # the zero: "a" for nights could be more than 0
    assert all(width > 0 for width in ranges(table, [(1,)]).values())


def test_a_three_way_table_is_protected_along_every_axis() -> None:
    # answers (3) x shift (2) x depot (2): one figure of 3 for night shift at depot 2.
    cells = {}
    rng = random.Random(4)
    for key in itertools.product(range(3), range(2), range(2)):
        cells[key] = rng.randint(6, 20)
    cells[(0, 1, 1)] = 3
    released: list[tuple[int, ...]] = [(1,), (2,), (1, 2)]
    table = dc.protect_joint(cells, (3, 2, 2), threshold=5, tables=released)
    assert table.status[(0, 1, 1)] is dc.CellStatus.TOO_FEW
    for line in lines(table, released):
        assert sum(table.is_hidden(k) for k in line) != 1
    assert all(width > 0 for width in ranges(table, released).values())


def test_multiple_choice_options_are_yes_no_tables() -> None:
    # Ticked / not ticked by shift: 3 day workers did not tick it.
    cells = {(0, 0): 17, (1, 0): 3, (0, 1): 9, (1, 1): 8}
    table = dc.protect_joint(cells, (2, 2), threshold=5)
    assert table.status[(1, 0)] is dc.CellStatus.TOO_FEW
    assert table.is_hidden((0, 0))  # ticked = 20 - not ticked
    assert table.is_hidden((0, 2)) or table.is_hidden((0, 1))  # else 26 - 17 = 9 gives it
    assert all(width > 0 for width in ranges(table, [(1,)]).values())


def test_too_few_people_or_a_small_group_size_is_refused() -> None:
    with pytest.raises(dc.DisclosureRefused) as few:
        dc.protect_joint({(0,): 2, (1,): 1}, (2,), threshold=5)
    assert few.value.refusal.code is dc.RefusalCode.TOO_FEW
    with pytest.raises(dc.DisclosureRefused) as group:
        dc.protect_joint({(0, 0): 2, (1, 0): 1, (0, 1): 20}, (2, 2), threshold=5)
    assert "fewer than 5 people" in group.value.refusal.reason


def test_bad_input_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        dc.protect_joint({(0,): -1, (1,): 9}, (2,), threshold=5)
    with pytest.raises(ValueError, match="outside"):
        dc.protect_joint({(2,): 9}, (2,), threshold=5)
    with pytest.raises(ValueError, match="split axes"):
        dc.protect_joint({(0, 0): 9}, (1, 1), threshold=5, tables=[(0,)])


def random_table(rng: random.Random, sizes: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    # Mostly big counts, some small ones and some zeros, as real answers look.
    values = [0, 0, 1, 2, 3, 4, 6, 8, 12, 20, 35]
    cells = {k: rng.choice(values) for k in itertools.product(*(range(s) for s in sizes))}
    # Groups of people (the answers summed) pass the partition rule first: 0 or >= 5.
    for group in itertools.product(*(range(s) for s in sizes[1:])):
        size = sum(cells[(a, *group)] for a in range(sizes[0]))
        if 0 < size < 5:
            cells[(0, *group)] += 5
    return cells


SEEDS = range(80)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_hidden_figure_is_pinned_down_on_random_tables(seed: int) -> None:
    """Brute force over small random tables, two- and three-way, whose groups pass the
    partition rule: every line has no lone hidden cell, and linear programming
    over everything shown finds room for every hidden figure to move."""
    rng = random.Random(seed)
    sizes: tuple[int, ...] = tuple(rng.randint(2, 4) for _ in range(rng.choice([2, 3])))
    released: list[tuple[int, ...]] = [(1,)] if len(sizes) == 2 else [(1,), (2,), (1, 2)]
    cells = random_table(rng, sizes)
    table = dc.protect_joint(cells, sizes, threshold=5, tables=released)
    for line in lines(table, released):
        assert sum(table.is_hidden(k) for k in line) != 1, line
        *body, total = line
        if not table.is_hidden(total):
            # What the shown cells leave of a shown total is a group anyone can count.
            left = table.counts[total] - sum(table.visible(k) or 0 for k in body)
            assert left == 0 or left >= 5, line
    for key, width in ranges(table, released).items():
        assert width > 0, (key, table.counts[key])


def two_audiences(seed: int, *, floor: bool) -> tuple[dc.JointTable, dc.JointTable]:
    """A random table protected for members (5) and for publication (10), the second
    from the first's hidden cells when `floor`."""
    rng = random.Random(seed)
    sizes: tuple[int, ...] = tuple(rng.randint(2, 4) for _ in range(rng.choice([2, 3])))
    released: list[tuple[int, ...]] = [(1,)] if len(sizes) == 2 else [(1,), (2,), (1, 2)]
    cells = random_table(rng, sizes)
    for group in itertools.product(*(range(s) for s in sizes[1:])):
        size = sum(cells[(a, *group)] for a in range(sizes[0]))
        if 0 < size < 10:  # groups pass the partition rule at both thresholds
            cells[(0, *group)] += 10
    members = dc.protect_family(cells, sizes, threshold=5, tables=released)
    published = dc.protect_family(
        cells, sizes, threshold=10, tables=released, floor=members if floor else None
    )
    return members, published


def hidden_keys(table: dc.JointTable) -> set[tuple[int, ...]]:
    return {k for k, s in table.status.items() if s.hidden}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_published_figures_show_nothing_the_members_figures_hide(seed: int) -> None:
    """Members read both protections of the same counts. Every figure the published
    one shows is shown to members too, so together they tell no more than the members'
    figures, which are protected; and the published figures alone stay protected at
    their own threshold."""
    members, published = two_audiences(seed, floor=True)
    assert set(published.status) <= set(members.status)  # no table members lack
    assert hidden_keys(members) <= hidden_keys(published)
    assert {k for k, v in published.counts.items() if 0 < v < 10} <= hidden_keys(published)
    released = [(1,)] if len(published.sizes) == 2 else [(1,), (2,), (1, 2)]
    released = [t for t in released if published.cell(0, dict.fromkeys(t, 0)) in published.status]
    for line in lines(published, released):
        assert sum(published.is_hidden(k) for k in line) != 1, line
        *body, total = line
        if not published.is_hidden(total):
            left = published.counts[total] - sum(published.visible(k) or 0 for k in body)
            assert left == 0 or left >= 10, line


def test_protected_each_on_its_own_the_two_audiences_hid_different_cells() -> None:
    """Without the floor, some of the same random tables get a cell hidden from
    members and shown in the published figures: the check above fails."""
    differing = [
        seed
        for seed in SEEDS
        if not hidden_keys(two_audiences(seed, floor=False)[0])
        <= hidden_keys(two_audiences(seed, floor=False)[1])
    ]
    assert differing


def test_a_floor_of_another_table_is_refused() -> None:
    members = dc.protect_family({(0, 0): 9, (1, 1): 9}, (2, 2), threshold=5, tables=[(1,)])
    with pytest.raises(ValueError, match="same table"):
        dc.protect_family({(0, 0): 9}, (3, 2), threshold=10, tables=[(1,)], floor=members)
