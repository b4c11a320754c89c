"""Pooling small rows: known answers, and an attacker who knows the rule, the column
totals and which rows were pooled still cannot pin down a small count."""

from __future__ import annotations

import itertools
import random
from collections.abc import Hashable, Iterator, Sequence

import pytest

from sayso.analysis.pooling import Pooled, pool_small_rows


def _pool(*rows: tuple[str, tuple[int, ...]], threshold: int = 5) -> Pooled[str]:
    return pool_small_rows(list(rows), threshold=threshold)


def test_nothing_small_pools_nothing() -> None:
    pooled = _pool(("mon", (12, 5)), ("tue", (7, 0)))
    assert pooled.rows == (("mon", (12, 5)), ("tue", (7, 0)))
    assert (pooled.other, pooled.pooled, pooled.everything_pooled) == (None, (), False)


def test_the_reviewers_case_one_small_day_between_two_days_of_five() -> None:
    # 5 joined on Monday, 1 on Tuesday, 5 on Wednesday; the report shows 11 in all.
    # Hiding Tuesday and, as its complement, the smallest shown day (a 5) let anyone
    # who knows that rule work back: the hidden pair adds up to 6, the complement is at
    # least 5 and at most the other shown 5, so Tuesday was 1. Pooled, the two days are
    # one row of 6, and Tuesday could be anything from 1 to 5.
    pooled = _pool(("mon", (5,)), ("tue", (1,)), ("wed", (5,)))
    assert pooled.rows == (("wed", (5,)),)
    assert pooled.other == (6,)
    assert pooled.pooled == ("mon", "tue")
    rows = [("mon", (5,)), ("tue", (1,)), ("wed", (5,))]
    assert {g["tue"][0] for g in _consistent(rows, pooled, 5)} == {1, 2, 3, 4, 5}


def test_the_smallest_rows_join_the_pool_until_it_reaches_the_threshold() -> None:
    pooled = _pool(("a", (2, 9)), ("b", (30, 7)), ("c", (1, 8)), ("d", (6, 5)))
    # a and c are small in the first column (3 together), so d (6, the smallest) joins.
    assert pooled.pooled == ("a", "c", "d")
    assert pooled.rows == (("b", (30, 7)),)
    assert pooled.other == (9, 22)


def test_a_column_whose_total_is_small_pools_every_row() -> None:
    # Three people joined, all on Monday; Tuesday's 0 would say so if Tuesday stood apart.
    pooled = _pool(("mon", (10, 3)), ("tue", (8, 0)))
    assert pooled.everything_pooled
    assert pooled.other == (18, None)
    assert pooled.pooled == ("mon", "tue")


def test_every_shown_count_is_zero_or_at_least_the_threshold() -> None:
    rng = random.Random(3)
    for _ in range(500):
        threshold = rng.choice((2, 3, 5, 10))
        rows = [
            (i, tuple(rng.choice((0, 0, 1, 2, 4, 5, 6, 12)) for _ in range(2)))
            for i in range(rng.randrange(1, 7))
        ]
        pooled = pool_small_rows(rows, threshold=threshold)
        for _key, counts in pooled.rows:
            assert all(c == 0 or c >= threshold for c in counts)
        if pooled.other is not None:
            assert all(c is None or c == 0 or c >= threshold for c in pooled.other)
        assert sorted(pooled.pooled + tuple(k for k, _c in pooled.rows)) == [k for k, _c in rows]


def _splits(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    """Every way to write `total` as `parts` non-negative counts."""
    for cuts in itertools.combinations(range(total + parts - 1), parts - 1):
        bounds = (-1, *cuts, total + parts - 1)
        yield tuple(b - a - 1 for a, b in itertools.pairwise(bounds))


def _consistent[K: Hashable](
    rows: Sequence[tuple[K, tuple[int, ...]]], pooled: Pooled[K], threshold: int
) -> list[dict[K, tuple[int, ...]]]:
    """Every table the attacker cannot tell from the real one: same shown rows, same
    pooled rows (each with some activity, or it would not be a row), same column
    totals, and the same result under the rule."""
    width = len(rows[0][1])
    totals = [sum(counts[c] for _k, counts in rows) for c in range(width)]
    shown = dict(pooled.rows)
    keys = pooled.pooled
    per_column = [
        list(_splits(totals[c] - sum(counts[c] for counts in shown.values()), len(keys)))
        for c in range(width)
    ]
    found = []
    for columns in itertools.product(*per_column):
        guess = {k: tuple(columns[c][j] for c in range(width)) for j, k in enumerate(keys)}
        if any(not any(v) for v in guess.values()):
            continue
        table = [(k, shown[k] if k in shown else guess[k]) for k, _c in rows]
        if pool_small_rows(table, threshold=threshold) == pooled:
            found.append(guess)
    return found


def test_an_attacker_who_knows_the_rule_cannot_pin_down_a_small_count() -> None:
    rng = random.Random(11)
    checked = 0
    for _ in range(250):
        threshold = rng.choice((3, 5))
        rows = [
            (i, tuple(rng.choice((0, 1, 2, 3, 5)) for _ in range(2)))
            for i in range(rng.randrange(2, 4))
        ]
        rows = [(k, c) for k, c in rows if any(c)]
        if len(rows) < 2:
            continue
        pooled = pool_small_rows(rows, threshold=threshold)
        if not pooled.pooled:
            continue
        alternatives = _consistent(rows, pooled, threshold)
        truth = dict(rows)
        assert {k: truth[k] for k in pooled.pooled} in alternatives
        totals = [sum(c[column] for _k, c in rows) for column in range(2)]
        for key in pooled.pooled:
            for column, value in enumerate(truth[key]):
                # A column whose total is below the threshold is given away by the
                # total itself (the report's header); the table then shows no day.
                if 0 < value < threshold <= totals[column]:
                    possible = {guess[key][column] for guess in alternatives}
                    assert len(possible) > 1, (rows, threshold, key, column)
                    checked += 1
    assert checked > 25


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([("a", (1, 2)), ("b", (1,))], "same number of counts"),
        ([("a", (-1,))], "negative"),
    ],
)
def test_bad_input_is_refused(rows: list[tuple[str, tuple[int, ...]]], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        pool_small_rows(rows, threshold=5)
    with pytest.raises(ValueError, match="at least 1"):
        pool_small_rows([], threshold=0)
