"""Rows of counts in which rows holding a small count share one "other" row.

Used for participation over time (votes and new participants per day): a day on which
one or two people joined is not given a row of its own. Hiding that one count instead
("fewer than 5") is not enough when the total is shown elsewhere: total minus the shown
days gives it back, and hiding one more day (complementary suppression) still gives it
back whenever the second hidden count is known to be the smallest shown one. Pooling
adds small rows together, and adds the smallest further rows to the pool until every
count of the pool is 0 or at least the threshold, so that every number shown is a sum
of whole rows no smaller than the threshold, and any total minus the shown rows is the
pool's own count, which is shown anyway.

Pure and deterministic: the same rows always pool the same way.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["Pooled", "pool_small_rows"]


@dataclass(frozen=True, slots=True)
class Pooled[K: Hashable]:
    """The rows shown on their own (in the order given) and the pooled row.

    `other` is None when no row was pooled. A pooled count is None (to be shown as
    "fewer than the threshold") only when it is the whole column's total and that total
    is itself below the threshold; then every row is in the pool. `pooled` names the
    rows in the pool (for tests; not to be listed beside the counts)."""

    rows: tuple[tuple[K, tuple[int, ...]], ...]
    other: tuple[int | None, ...] | None
    pooled: tuple[K, ...]

    @property
    def everything_pooled(self) -> bool:
        return not self.rows and self.other is not None


def pool_small_rows[K: Hashable](
    rows: Sequence[tuple[K, Sequence[int]]], *, threshold: int
) -> Pooled[K]:
    """Pool every row with a count from 1 to threshold - 1, then, while a column of the
    pool adds up to such a count, add the row with the smallest count in that column
    (the earliest, on a tie; rows with no count there last) until the pool's count
    reaches the threshold. A column whose whole total is below the threshold therefore
    pools every row: a conversation of four people gets no breakdown by day."""
    if threshold < 1:
        raise ValueError("the threshold must be at least 1")
    width = len(rows[0][1]) if rows else 0
    if any(len(counts) != width for _key, counts in rows):
        raise ValueError("every row needs the same number of counts")
    if any(c < 0 for _key, counts in rows for c in counts):
        raise ValueError("counts cannot be negative")

    def small(n: int) -> bool:
        return 0 < n < threshold

    in_pool = [any(small(c) for c in counts) for _key, counts in rows]
    while True:
        sums = [sum(rows[i][1][c] for i in range(len(rows)) if in_pool[i]) for c in range(width)]
        added = False
        for column in range(width):
            if not small(sums[column]):
                continue
            # Rows with a count here first, smallest first; then rows with none, so
            # that a row left out cannot show by its 0 that the pool holds them all.
            candidates = [
                (rows[i][1][column] == 0, rows[i][1][column], i)
                for i in range(len(rows))
                if not in_pool[i]
            ]
            if candidates:
                in_pool[min(candidates)[2]] = True
                added = True
                break  # sums changed: look at every column again
        if not added:
            break

    shown = tuple(
        (key, tuple(counts))
        for (key, counts), pooled in zip(rows, in_pool, strict=True)
        if not pooled
    )
    pooled_keys = tuple(key for (key, _c), pooled in zip(rows, in_pool, strict=True) if pooled)
    if not pooled_keys:
        return Pooled(rows=shown, other=None, pooled=())
    other = tuple(None if small(n) else n for n in sums)
    return Pooled(rows=shown, other=other, pooled=pooled_keys)
