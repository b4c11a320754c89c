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
    difference = s1 / n1 - s2 / n2
    # Divided only where the result is kept (pooled < 1, so spread > 0): no 0/0 to
    # silence, which cost more than the division.
    z = np.divide(difference, spread, out=np.zeros_like(difference), where=~(pooled >= 1.0))
    return np.asarray(z, dtype=np.float64)


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
    na, nd, ns, pa, pd, pat, pdt, ra, rd, rat, rdt = _statement_arrays(agree, disagree, seen)
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


def _statement_arrays(
    agree: IntArray, disagree: IntArray, seen: IntArray
) -> tuple[
    IntArray,
    IntArray,
    IntArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray,
]:
    """GroupStatementStats's fields (na, nd, ns, pa, pd, pat, pdt, ra, rd, rat, rdt) as
    groups x statements arrays. Agree and disagree go through each formula together,
    stacked (2 x groups x statements): half the numpy calls, the same elementwise floats.
    """
    counts = np.array([agree, disagree])
    # Integer tallies: the sums are exact in any order.
    rest = np.add.reduce(counts, axis=1, keepdims=True) - counts
    rest_s = np.add.reduce(seen, axis=0) - seen
    p = (counts + 1.0) / (seen + 2.0)
    # prop_test(counts, seen) and two_prop_test(counts, rest, seen, rest_s) written out,
    # the same operations on the same values, sharing the terms they have in common.
    s1, n1 = counts + 1.0, seen + 1.0
    share = s1 / n1
    pt = 2.0 * np.sqrt(n1) * (share - 0.5)
    r = p / ((1.0 + rest) / (2.0 + rest_s))
    s2, n2 = rest + 1.0, rest_s + 1.0
    pooled = (s1 + s2) / (n1 + n2)
    spread = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    difference = share - s2 / n2
    rt = np.divide(difference, spread, out=np.zeros_like(difference), where=~(pooled >= 1.0))
    return counts[0], counts[1], seen, p[0], p[1], pt[0], pt[1], r[0], r[1], rt[0], rt[1]


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


def select_all_repness(
    agree: IntArray,
    disagree: IntArray,
    seen: IntArray,
    statement_ids: Sequence[int] | IntArray,
    eligible: Sequence[bool] | np.ndarray,
    *,
    pick: int = 5,
    z: float = Z_90,
) -> dict[int, tuple[RepStatement, ...]]:
    """select_repness(group_statement_stats(agree, disagree, seen, g), ...) for every
    group g (inputs are groups x statements tallies): the same statements and floats.

    Called per group, select_repness's ~30 numpy calls and its record building were
    most of the statistics stage on small conversations. Here each step is one call for
    all groups (every value elementwise, so the same floats; the products compared are
    multiplied in the same order, and numpy's float64 product rounds as Python's does),
    and the records are built from plain lists.
    """
    k = len(agree)
    if k == 0:
        return {}
    na, nd, ns, pa, pd, pat, pdt, ra, rd, rat, rdt = _statement_arrays(agree, disagree, seen)
    usable_mask = np.asarray(eligible, dtype=bool)
    usable = usable_mask.nonzero()[0]
    # Best agree: select_repness's sequential scan, over precomputed terms: the first
    # statement that opens, then whichever beats the best on ra·rat·pa·pat (while the
    # best has ra > 1) or on pa·pat.
    scanned = ((na + nd) > 0) & usable_mask
    opening = scanned & ((pat > z) | ((ra > 1.0) & (pa > 0.5)))
    opens = opening.any(axis=1).tolist()
    first = opening.argmax(axis=1).tolist() if opening.shape[1] else [0] * k
    strong = (ra > 1.0).tolist()
    full, plain = (ra * rat * pa * pat).tolist(), (pa * pat).tolist()
    bests: list[int | None] = []
    for g in range(k):
        if not opens[g]:
            bests.append(None)
            continue
        strong_g, full_g, plain_g = strong[g], full[g], plain[g]
        best = first[g]  # the first statement that opens; then the scan goes on after it
        best_strong, best_full, best_plain = strong_g[best], full_g[best], plain_g[best]
        candidates = scanned[g].nonzero()[0].tolist()
        for j in candidates[candidates.index(best) + 1 :]:
            if full_g[j] > best_full if best_strong else plain_g[j] > best_plain:
                best = j
                best_strong, best_full, best_plain = strong_g[j], full_g[j], plain_g[j]
        bests.append(best)
    significant = (((rat > z) & (pat > z)) | ((rdt > z) & (pdt > z))) & usable_mask
    with_best = [g for g in range(k) if bests[g] is not None]
    significant[with_best, [bests[g] for g in with_best]] = False  # already the head
    any_significant = significant.any(axis=1).tolist()
    # Each statement ranked in the direction it represents (as _rep_statement labels
    # it), multiplied in the same order as RepStatement's fields. Sorted by group, then
    # metric; lexsort is stable, so equal metrics keep statement order (as select_repness).
    agrees = rat > rdt
    metric = np.where(agrees, ra * rat * pa, rd * rdt * pd) * np.where(agrees, pat, pdt)
    rows, columns = np.nonzero(significant)
    order = np.lexsort((-metric[rows, columns], rows))
    ranked = columns[order].tolist()
    ends = np.bincount(rows, minlength=k).cumsum().tolist()
    chosen: list[tuple[int, int, bool]] = []  # group, statement index, best agree
    for g in range(k):
        best = bests[g]
        head = 0
        if best is not None:
            chosen.append((g, best, True))
            head = 1
        elif not any_significant[g] and len(usable) > 0:
            # Nothing qualifies: show the statement that best tells the group apart.
            strength = np.maximum(rat[g, usable], rdt[g, usable])
            chosen.append((g, int(usable[int(np.argmax(strength))]), False))
            head = 1
        start = ends[g - 1] if g else 0
        chosen += [
            (g, j, False) for j in ranked[start : start + max(min(pick - head, ends[g] - start), 0)]
        ]
    # _rep_statement's fields for every chosen statement, gathered at once.
    groups = [c[0] for c in chosen]
    at = [c[1] for c in chosen]
    ids = np.asarray(statement_ids, dtype=np.int64)[at].tolist()
    direction = agrees[groups, at].tolist()
    ints = np.array([na, nd, ns])[:, groups, at].tolist()
    floats = np.array([pa, pd, pat, pdt, ra, rd, rat, rdt])[:, groups, at].tolist()
    lists: dict[int, list[RepStatement]] = {g: [] for g in range(k)}
    for i, (g, _, best_agree) in enumerate(chosen):
        d = 0 if direction[i] else 1  # agree fields, or disagree fields
        lists[g].append(
            RepStatement(
                ids[i],
                "agree" if direction[i] else "disagree",
                ints[d][i],
                ints[2][i],
                floats[d][i],
                floats[2 + d][i],
                floats[4 + d][i],
                floats[6 + d][i],
                best_agree,
            )
        )
    out: dict[int, tuple[RepStatement, ...]] = {}
    for g, records in lists.items():
        records = records[:pick]
        records.sort(key=lambda r: r.direction != "agree")
        out[g] = tuple(records)
    return out


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
    """Statements most participants agree or disagree with, over everyone (Polis "majority").

    Agree and disagree go through each formula together, stacked (2 x statements):
    half the numpy calls, the same elementwise floats.
    """
    ids = np.asarray(statement_ids, dtype=np.int64)
    mask = np.asarray(eligible, dtype=bool)
    counts = np.array([agree, disagree])
    trials = np.asarray(seen)
    p = (counts + 1.0) / (trials + 2.0)
    n = trials + 1.0
    pt = 2.0 * np.sqrt(n) * ((counts + 1.0) / n - 0.5)  # prop_test(counts, trials)
    candidate = mask & (p > 0.5) & (pt > z)
    strength = p * pt

    def pick_direction(row: int, direction: Direction) -> tuple[ConsensusStatement, ...]:
        candidates = candidate[row].nonzero()[0]
        order = candidates[(-strength[row, candidates]).argsort(kind="stable")][:pick]
        return tuple(
            map(
                ConsensusStatement,
                ids[order].tolist(),
                [direction] * len(order),
                counts[row, order].tolist(),
                trials[order].tolist(),
                p[row, order].tolist(),
                pt[row, order].tolist(),
            )
        )

    return Consensus(agree=pick_direction(0, "agree"), disagree=pick_direction(1, "disagree"))


def group_informed_consensus(agree: IntArray, seen: IntArray) -> FloatArray:
    """Product over groups of each group's smoothed agree rate; inputs groups x statements."""
    rates = (agree + 1.0) / (seen + 2.0)
    return np.asarray(np.multiply.reduce(rates, axis=0), dtype=np.float64)  # as np.prod


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
