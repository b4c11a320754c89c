"""Statement statistics pinned against small cases worked out by hand."""

import math

import numpy as np
import pytest

from sayso.analysis.opinion_map import stats
from sayso.analysis.opinion_map.model import RepStatement

SQRT5 = math.sqrt(5.0)


def test_prop_test_matches_hand_formula():
    # 2 * sqrt(n + 1) * ((s + 1) / (n + 1) - 0.5) with s = 3, n = 4.
    assert stats.prop_test(3, 4) == pytest.approx(2 * SQRT5 * (4 / 5 - 0.5), rel=1e-15)
    assert stats.prop_test(0, 0) == 1.0  # 2 * 1 * (1/1 - 0.5)


def test_two_prop_test_matches_hand_formula():
    # Counts plus one: 4/5 against 2/5, pooled 6/10.
    expected = (0.8 - 0.4) / math.sqrt(0.6 * 0.4 * (1 / 5 + 1 / 5))
    assert stats.two_prop_test(3, 1, 4, 4) == pytest.approx(expected, rel=1e-14)


def test_two_prop_test_is_zero_when_pooled_proportion_is_one():
    assert stats.two_prop_test(4, 6, 4, 6) == 0.0


AGREE = np.array([[4, 0, 2], [0, 4, 2]])
DISAGREE = np.array([[0, 4, 0], [4, 0, 0]])
SEEN = np.array([[4, 4, 4], [4, 4, 4]])


def test_group_statement_stats_by_hand():
    s = stats.group_statement_stats(AGREE, DISAGREE, SEEN, 0)
    assert s.pa.tolist() == pytest.approx([5 / 6, 1 / 6, 3 / 6])
    assert s.pat[0] == pytest.approx(SQRT5)  # 2*sqrt(5)*(5/5 - 0.5)
    assert s.ra[0] == pytest.approx((5 / 6) / (1 / 6))  # rest: 0 agree of 4 seen
    assert s.rd[1] == pytest.approx((5 / 6) / (1 / 6))
    assert s.rat[0] == pytest.approx(0.8 / math.sqrt(0.096))
    assert s.rat[2] == pytest.approx(0.0)  # same rate inside and outside


def test_select_repness_by_hand():
    s = stats.group_statement_stats(AGREE, DISAGREE, SEEN, 0)
    chosen = stats.select_repness(s, [10, 11, 12], [True, True, True])
    z = 0.8 / math.sqrt(0.096)
    expected = (
        RepStatement(10, "agree", 4, 4, 5 / 6, SQRT5, 5.0, z, best_agree=True),
        RepStatement(11, "disagree", 4, 4, 5 / 6, SQRT5, 5.0, z),
    )
    assert len(chosen) == len(expected)
    for got, want in zip(chosen, expected, strict=True):
        assert (got.statement, got.direction, got.best_agree) == (
            want.statement,
            want.direction,
            want.best_agree,
        )
        numbers = ("n_success", "n_trials", "p_success", "p_test", "repness", "repness_test")
        assert [getattr(got, f) for f in numbers] == pytest.approx(
            [getattr(want, f) for f in numbers], rel=1e-14
        )


def test_select_repness_skips_moderated_out_statements():
    s = stats.group_statement_stats(AGREE, DISAGREE, SEEN, 0)
    chosen = stats.select_repness(s, [10, 11, 12], [False, True, True])
    assert [(r.statement, r.direction, r.best_agree) for r in chosen] == [(11, "disagree", False)]


def test_select_repness_keeps_at_most_pick_and_puts_agrees_first():
    # Six statements that group 0 rejects and the rest accepts, one it accepts.
    agree = np.array([[0] * 6 + [9], [9] * 6 + [0]])
    disagree = np.array([[9] * 6 + [0], [0] * 6 + [9]])
    seen = np.full((2, 7), 9)
    s = stats.group_statement_stats(agree, disagree, seen, 0)
    chosen = stats.select_repness(s, list(range(7)), [True] * 7, pick=5)
    assert len(chosen) == 5
    assert chosen[0].statement == 6
    assert chosen[0].best_agree
    assert [r.direction for r in chosen] == ["agree"] + ["disagree"] * 4


def test_select_consensus_by_hand():
    agree = np.array([9, 1, 5, 9])
    disagree = np.array([0, 8, 0, 0])
    seen = np.array([10, 10, 10, 10])
    result = stats.select_consensus(agree, disagree, seen, [1, 2, 3, 4], [True, True, True, False])
    sqrt11 = math.sqrt(11.0)
    assert [(c.statement, c.direction, c.n_success, c.n_trials) for c in result.agree] == [
        (1, "agree", 9, 10)
    ]
    assert result.agree[0].p_success == pytest.approx(10 / 12)
    assert result.agree[0].p_test == pytest.approx(2 * sqrt11 * (10 / 11 - 0.5))
    assert [(c.statement, c.direction) for c in result.disagree] == [(2, "disagree")]
    assert result.disagree[0].p_success == pytest.approx(9 / 12)
    assert result.disagree[0].p_test == pytest.approx(2 * sqrt11 * (9 / 11 - 0.5))


def test_group_informed_consensus_by_hand():
    agree = np.array([[3, 0], [1, 2]])
    seen = np.array([[4, 2], [2, 2]])
    assert stats.group_informed_consensus(agree, seen).tolist() == pytest.approx(
        [(4 / 6) * (2 / 4), (1 / 4) * (3 / 4)]
    )


def test_priority_by_hand():
    agree = np.array([0, 6, 6, 6, 6])
    disagree = np.array([0, 2, 2, 2, 2])
    seen = np.array([0, 10, 10, 10, 10])
    extremity = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    meta = np.array([False, False, True, False, True])
    out = np.array([False, False, False, True, True])
    result = stats.priority(agree, disagree, seen, extremity, meta, out)
    # Unvoted: (1 - 1/2) * 1 * 1/2 = 0.25, novelty 9. Voted: 0.75 * 2 * 7/12, novelty 3.
    assert result.tolist() == pytest.approx([(0.25 * 9) ** 2, (0.875 * 3) ** 2, 49.0, 0.0, 0.0])


def test_priorities_are_not_stuck_at_one_value():
    # Polis's "0 is truthy" bug gave every statement the meta weight 49.
    seen = np.arange(0, 50, 5)
    result = stats.priority(
        seen // 2, seen // 4, seen, np.linspace(0, 2, 10), np.zeros(10), np.zeros(10)
    )
    assert len(set(result.round(12).tolist())) == 10
    assert 49.0 not in result.tolist()


def test_select_repness_ranks_like_sorting_every_significant_statement():
    # The selection ranks a metric array and builds records only for the top few; it
    # must pick what building and sorting a record for every statement picks.
    rng = np.random.default_rng(8)
    for _ in range(20):
        groups, n = 3, 60
        seen = rng.integers(0, 40, (groups, n))
        agree = (seen * rng.random((groups, n))).astype(np.int64)
        disagree = ((seen - agree) * rng.random((groups, n))).astype(np.int64)
        group_stats = stats.group_statement_stats(agree, disagree, seen, 0)
        eligible = rng.random(n) > 0.1
        ids = np.arange(100, 100 + n)
        chosen = stats.select_repness(group_stats, ids, eligible, pick=5)
        # Reference: every significant statement as a record, stable-sorted by metric.
        z = stats.Z_90
        significant = [
            j
            for j in np.flatnonzero(eligible).tolist()
            if (group_stats.rat[j] > z and group_stats.pat[j] > z)
            or (group_stats.rdt[j] > z and group_stats.pdt[j] > z)
        ]
        best = [r.statement - 100 for r in chosen if r.best_agree]
        records = [
            stats._rep_statement(group_stats, j, int(ids[j])) for j in significant if j not in best
        ]
        records.sort(key=lambda r: -(r.repness * r.repness_test * r.p_success * r.p_test))
        head = [r for r in chosen if r.best_agree]
        expected = (head + records)[:5] if head or records else list(chosen)
        expected.sort(key=lambda r: r.direction != "agree")
        assert list(chosen) == expected
