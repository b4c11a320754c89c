"""Statement statistics given groups: repness, consensus, group-informed consensus, priority.

Formulas follow Polis (`math/repness.clj`, `math/stats.clj`, `conversation.clj`) as written
up in research/polis-math.md sections 1.10-1.13. Everything is vectorised over statements;
only the selection of representative statements walks a list, because Polis's
"best agree" rule depends on the previous best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .model import (
    Consensus,
    ConsensusStatement,
    Direction,
    FloatArray,
    IntArray,
    RepStatement,
)

Z_90 = 1.2816


def prop_test(successes: ArrayLike, trials: ArrayLike) -> FloatArray:
    """One-proportion z-like score with Laplace smoothing (Polis `prop-test`)."""
    s = np.asarray(successes, dtype=np.float64) + 1.0
    n = np.asarray(trials, dtype=np.float64) + 1.0
    return np.asarray(2.0 * np.sqrt(n) * (s / n - 0.5), dtype=np.float64)


def two_prop_test(
    successes_in: ArrayLike, successes_out: ArrayLike, trials_in: ArrayLike, trials_out: ArrayLike
) -> FloatArray:
    """Two-proportion z score, each count plus one (Polis `two-prop-test`); 0 when p-hat is 1."""
    s1 = np.asarray(successes_in, dtype=np.float64) + 1.0
    s2 = np.asarray(successes_out, dtype=np.float64) + 1.0
    n1 = np.asarray(trials_in, dtype=np.float64) + 1.0
    n2 = np.asarray(trials_out, dtype=np.float64) + 1.0
    pooled = (s1 + s2) / (n1 + n2)
    spread = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (s1 / n1 - s2 / n2) / spread
    return np.asarray(np.where(pooled >= 1.0, 0.0, z), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class GroupStatementStats:
    """Polis's per-(group, statement) statistics, one entry per statement."""

    na: IntArray
    nd: IntArray
    ns: IntArray
    pa: FloatArray
    pd: FloatArray
    pat: FloatArray
    pdt: FloatArray
    ra: FloatArray
    rd: FloatArray
    rat: FloatArray
    rdt: FloatArray


def group_statement_stats(
    agree: IntArray, disagree: IntArray, seen: IntArray, group: int
) -> GroupStatementStats:
    """Stats of `group` against all other groups; inputs are groups x statements tallies."""
    return all_group_statement_stats(agree, disagree, seen)[group]


def all_group_statement_stats(
    agree: IntArray, disagree: IntArray, seen: IntArray
) -> tuple[GroupStatementStats, ...]:
    """group_statement_stats for every group, computed on the groups x statements arrays
    at once (one pass of ~40 small numpy calls instead of one per group; every value is
    elementwise, so each group's floats are the same as computed alone)."""
    na, nd, ns = agree, disagree, seen
    # Integer tallies: the sums are exact in any order.
    rest_a = agree.sum(axis=0) - na
    rest_d = disagree.sum(axis=0) - nd
    rest_s = seen.sum(axis=0) - ns
    pa = (na + 1.0) / (ns + 2.0)
    pd = (nd + 1.0) / (ns + 2.0)
    pat = prop_test(na, ns)
    pdt = prop_test(nd, ns)
    ra = pa / ((1.0 + rest_a) / (2.0 + rest_s))
    rd = pd / ((1.0 + rest_d) / (2.0 + rest_s))
    rat = two_prop_test(na, rest_a, ns, rest_s)
    rdt = two_prop_test(nd, rest_d, ns, rest_s)
    return tuple(
        GroupStatementStats(
            na=na[g],
            nd=nd[g],
            ns=ns[g],
            pa=pa[g],
            pd=pd[g],
            pat=pat[g],
            pdt=pdt[g],
            ra=ra[g],
            rd=rd[g],
            rat=rat[g],
            rdt=rdt[g],
        )
        for g in range(len(agree))
    )


def _rep_statement(
    stats: GroupStatementStats, j: int, statement: int, *, best_agree: bool = False
) -> RepStatement:
    # Polis labels each chosen statement by whichever direction is more representative,
    # even the "best agree" one (finalize-cmt-stats).
    agree = bool(stats.rat[j] > stats.rdt[j])
    direction: Direction = "agree" if agree else "disagree"
    return RepStatement(
        statement=statement,
        direction=direction,
        n_success=int(stats.na[j] if agree else stats.nd[j]),
        n_trials=int(stats.ns[j]),
        p_success=float(stats.pa[j] if agree else stats.pd[j]),
        p_test=float(stats.pat[j] if agree else stats.pdt[j]),
        repness=float(stats.ra[j] if agree else stats.rd[j]),
        repness_test=float(stats.rat[j] if agree else stats.rdt[j]),
        best_agree=best_agree,
    )


def select_repness(
    stats: GroupStatementStats,
    statement_ids: Sequence[int] | IntArray,
    eligible: Sequence[bool] | np.ndarray,
    *,
    pick: int = 5,
    z: float = Z_90,
) -> tuple[RepStatement, ...]:
    """Representative statements of one group (Polis `select-rep-comments`).

    `eligible` is False for moderated-out and meta statements.
    Differs from red-dwarf 0.4 in one place: when there is no best-agree statement the
    significant ones are still returned (red-dwarf then returns none), as Polis does.
    """
    ids = np.asarray(statement_ids, dtype=np.int64)
    usable = np.flatnonzero(np.asarray(eligible, dtype=bool))
    significant_mask = ((stats.rat > z) & (stats.pat > z)) | ((stats.rdt > z) & (stats.pdt > z))

    # Best agree: a sequential scan, because the comparison depends on the current best.
    best: int | None = None
    ra, rat, pa, pat = stats.ra.tolist(), stats.rat.tolist(), stats.pa.tolist(), stats.pat.tolist()
    voted = ((stats.na + stats.nd) > 0).tolist()
    for j in usable.tolist():
        if not voted[j]:
            continue
        if best is None:
            if pat[j] > z or (ra[j] > 1.0 and pa[j] > 0.5):
                best = j
        elif ra[best] > 1.0:
            if ra[j] * rat[j] * pa[j] * pat[j] > ra[best] * rat[best] * pa[best] * pat[best]:
                best = j
        elif pa[j] * pat[j] > pa[best] * pat[best]:
            best = j

    significant = usable[significant_mask[usable]]
    head: list[RepStatement] = []
    if best is not None:
        head = [_rep_statement(stats, best, int(ids[best]), best_agree=True)]
    elif len(significant) == 0 and len(usable) > 0:
        # Nothing qualifies: show the statement that best tells the group apart.
        strength = np.maximum(stats.rat[usable], stats.rdt[usable])
        fallback = int(usable[int(np.argmax(strength))])
        head = [_rep_statement(stats, fallback, int(ids[fallback]))]

    if best is not None:
        significant = significant[significant != best]
    # Each statement counts in the direction it represents (as _rep_statement labels it);
    # multiplied in the same order as RepStatement's fields, so the floats are the same.
    agree = stats.rat[significant] > stats.rdt[significant]
    metric = np.where(
        agree,
        stats.ra[significant] * stats.rat[significant] * stats.pa[significant],
        stats.rd[significant] * stats.rdt[significant] * stats.pd[significant],
    ) * np.where(agree, stats.pat[significant], stats.pdt[significant])
    # Stable sort keeps statement order among equal metrics, so results are reproducible;
    # only the statements that can make the list become records.
    top = significant[np.argsort(-metric, kind="stable")[: max(pick - len(head), 0)]]
    ranked = [_rep_statement(stats, j, int(ids[j])) for j in top.tolist()]
    chosen = (head + ranked)[:pick]
    chosen.sort(key=lambda r: r.direction != "agree")
    return tuple(chosen)


def select_consensus(
    agree: IntArray,
    disagree: IntArray,
    seen: IntArray,
    statement_ids: Sequence[int] | IntArray,
    eligible: Sequence[bool] | np.ndarray,
    *,
    pick: int = 5,
    z: float = Z_90,
) -> Consensus:
    """Statements most participants agree or disagree with, over everyone (Polis "majority")."""
    ids = np.asarray(statement_ids, dtype=np.int64)
    mask = np.asarray(eligible, dtype=bool)
    pa = (agree + 1.0) / (seen + 2.0)
    pd = (disagree + 1.0) / (seen + 2.0)
    pat, pdt = prop_test(agree, seen), prop_test(disagree, seen)

    def pick_direction(
        direction: Direction, count: IntArray, p: FloatArray, pt: FloatArray
    ) -> tuple[ConsensusStatement, ...]:
        candidates = np.flatnonzero(mask & (p > 0.5) & (pt > z))
        order = candidates[np.argsort(-(p[candidates] * pt[candidates]), kind="stable")][:pick]
        return tuple(
            ConsensusStatement(
                statement=int(ids[j]),
                direction=direction,
                n_success=int(count[j]),
                n_trials=int(seen[j]),
                p_success=float(p[j]),
                p_test=float(pt[j]),
            )
            for j in order.tolist()
        )

    return Consensus(
        agree=pick_direction("agree", agree, pa, pat),
        disagree=pick_direction("disagree", disagree, pd, pdt),
    )


def group_informed_consensus(agree: IntArray, seen: IntArray) -> FloatArray:
    """Product over groups of each group's smoothed agree rate; inputs groups x statements."""
    rates = (agree + 1.0) / (seen + 2.0)
    return np.asarray(np.prod(rates, axis=0), dtype=np.float64)


def priority(
    agree: IntArray,
    disagree: IntArray,
    seen: IntArray,
    extremity: FloatArray,
    is_meta: np.ndarray,
    is_moderated_out: np.ndarray,
    *,
    meta_priority: float = 7.0,
) -> FloatArray:
    """Comment routing weight (Polis `priority-metric`), from the current counts.

    Two fixes over Polis: counts are this computation's, not the previous update's (Q2),
    and only real meta statements get the meta weight (Polis's 2025-26 "0 is truthy"
    bug gave it to all of them, flattening every priority to 49). Moderated-out
    statements get 0: they are never shown, so they must never be drawn.
    """
    passes = seen - agree - disagree
    importance = (
        (1.0 - (passes + 1.0) / (seen + 2.0)) * (extremity + 1.0) * (agree + 1.0) / (seen + 2.0)
    )
    novelty = 1.0 + 8.0 * np.exp2(-seen / 5.0)
    weight = (importance * novelty) ** 2
    weight = np.where(np.asarray(is_meta, dtype=bool), meta_priority**2, weight)
    return np.asarray(
        np.where(np.asarray(is_moderated_out, dtype=bool), 0.0, weight), dtype=np.float64
    )
