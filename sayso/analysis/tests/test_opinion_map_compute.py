"""The pipeline: matrix, in-conversation rule, PCA and projection, groups, end to end."""

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from sayso.analysis.opinion_map import (
    Options,
    Votes,
    compute_opinion_map,
    read_polis_export,
    run_polis_export,
)
from sayso.analysis.opinion_map.compute import build_matrix, in_conversation
from sayso.analysis.opinion_map.synthetic import planted_groups

FIXTURE = Path(__file__).parent / "fixtures" / "polis" / "15-per-hour-seattle"


def test_matrix_is_sparse_and_keeps_passes():
    votes = Votes.from_rows([(5, 1, 0), (5, 2, 1), (9, 2, -1)])
    matrix = build_matrix(votes)
    assert isinstance(matrix.votes, sp.sparray)
    assert matrix.votes.nnz == 3  # the pass is a stored vote, not a missing one
    assert matrix.participant_ids.tolist() == [5, 9]
    assert matrix.votes.toarray().tolist() == [[0.0, 1.0], [0.0, -1.0]]


def test_in_conversation_threshold_greedy_fill_and_monotone():
    counts = np.array([7, 6, 1, 9, 2] + [0] * 0)
    options = Options(min_votes=7, min_in_conversation=3)
    # 7+ votes: participants 0 and 3; the greedy rule adds the next most active (1).
    assert in_conversation(counts, 50, options).tolist() == [True, True, False, True, False]
    # With only 2 statements the threshold becomes 2.
    options = Options(min_votes=7, min_in_conversation=0)
    assert in_conversation(counts, 2, options).tolist() == [True, True, False, True, True]
    # Once in, always in.
    already = np.array([False, False, True, False, False])
    assert in_conversation(counts, 50, options, already).tolist() == [
        True,
        False,
        True,
        True,
        False,
    ]


def dense_reference(rows, mod_out):
    """Polis's projection written the slow, dense way, straight from the spec."""
    n_p = max(r[0] for r in rows) + 1
    n_s = max(r[1] for r in rows) + 1
    raw = np.full((n_p, n_s), np.nan)
    for p, s, v in rows:
        raw[p, s] = v
    rating = raw.copy()
    rating[:, mod_out] = 0.0  # moderated-out columns are zero for everyone, nils included
    mean = np.nanmean(rating, axis=0)
    filled = np.where(np.isnan(rating), mean, rating)
    centred = filled - mean
    _values, vectors = np.linalg.eigh(centred.T @ centred)
    comps = vectors[:, ::-1][:, :2].T
    n_votes = (~np.isnan(rating)).sum(axis=1)
    scale = np.sqrt(n_s / np.maximum(n_votes, 1))
    centred_votes = np.where(np.isnan(rating), 0.0, rating - mean)
    return comps, (centred_votes @ comps.T) * scale[:, None], mean


def test_projection_matches_dense_reference_up_to_sign():
    rng = np.random.default_rng(3)
    rows = [
        (p, s, int(rng.choice([-1, 0, 1])))
        for p in range(40)
        for s in range(12)
        if rng.random() < 0.6 or s == 0
    ]
    result = compute_opinion_map(Votes.from_rows(rows), moderated_out=[3])
    comps, projection, mean = dense_reference(rows, [3])
    for i in range(2):
        sign = np.sign(comps[i] @ result.components[i])
        assert result.components[i] == pytest.approx(sign * comps[i], abs=1e-8)
        assert result.participant_projection[:, i] == pytest.approx(
            sign * projection[:, i], abs=1e-8
        )
    assert result.center == pytest.approx(mean, abs=1e-12)
    # Statement projection: an agree-only participant, scaled by sqrt(N_c).
    expected = np.sqrt(12) * (1 - result.center)[:, None] * result.components.T
    assert result.statement_projection == pytest.approx(expected)
    assert result.extremity[3] == 0.0


def test_fixture_groups_agree_with_polis():
    export = read_polis_export(FIXTURE)
    result = compute_opinion_map(
        export.votes, moderated_out=export.moderated_out, statements=export.statement_ids
    )
    polis, ours = export.polis_groups(), result.groups()
    common = sorted(set(polis) & set(ours))
    assert len(common) >= 130
    ari = adjusted_rand_score([polis[p] for p in common], [ours[p] for p in common])
    assert ari >= 0.85
    assert result.k == 2


def test_same_seed_same_map_whatever_the_global_random_state():
    conversation = planted_groups(3000, 200, 3, seed=5)
    np.random.seed(1)
    first = compute_opinion_map(conversation.votes, options=Options(seed=7))
    np.random.seed(2)
    second = compute_opinion_map(conversation.votes, options=Options(seed=7))
    assert np.array_equal(first.group, second.group)
    assert np.array_equal(first.participant_projection, second.participant_projection)
    assert first.repness == second.repness
    assert np.array_equal(first.priority, second.priority)


def test_planted_groups_are_found():
    conversation = planted_groups(4000, 300, 3, seed=11)
    result = compute_opinion_map(conversation.votes)
    member = result.in_conversation
    truth = conversation.truth[result.participant_ids[member]]
    assert result.k == 3
    assert adjusted_rand_score(truth, result.group[member]) >= 0.7


def test_memory_stays_sparse():
    # A dense float64 participants x statements array here would be 20,000 x 2,000 x 8
    # bytes = 320 MB; the whole computation must stay far below that.
    conversation = planted_groups(20_000, 2_000, 3, seed=2)
    tracemalloc.start()
    try:
        compute_opinion_map(conversation.votes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80 * 2**20


def test_warm_start_keeps_groups_stable():
    conversation = planted_groups(3000, 200, 3, seed=9)
    before = compute_opinion_map(conversation.votes)
    newcomer = Votes(
        participant=np.full(20, 10_000, dtype=np.int64),
        statement=np.arange(20, dtype=np.int64),
        value=np.ones(20, dtype=np.int8),
        time=np.full(20, 10**9, dtype=np.int64),
    )
    assert conversation.votes.time is not None
    assert newcomer.time is not None
    votes = Votes(
        *(
            np.concatenate([getattr(conversation.votes, f), getattr(newcomer, f)])
            for f in ("participant", "statement", "value", "time")
        )
    )
    after = compute_opinion_map(votes, previous=before)
    old = before.groups()
    new = after.groups()
    same = sum(old[p] == new[p] for p in old)
    assert same / len(old) >= 0.99  # same ids, not just the same partition
    assert (
        after.in_conversation[: len(before.participant_ids)].sum() >= before.in_conversation.sum()
    )


def test_moderation_meta_and_priorities():
    rows = [(p, s, 1 if (p + s) % 3 else -1) for p in range(30) for s in range(10)]
    result = compute_opinion_map(
        Votes.from_rows(rows), moderated_out=[2], meta=[4], statements=[10]
    )
    priority = dict(zip(result.statement_ids.tolist(), result.priority.tolist(), strict=True))
    assert priority[2] == 0.0
    assert priority[4] == 49.0
    assert priority[10] == pytest.approx((0.25 * 9) ** 2)  # unvoted, never seen
    assert len({round(v, 9) for v in priority.values()}) > 3
    shown = {r.statement for reps in result.repness.values() for r in reps}
    shown |= {c.statement for c in result.consensus.agree + result.consensus.disagree}
    assert not shown & {2, 4}


def test_run_polis_export_is_json_ready():
    out = run_polis_export(FIXTURE)
    text = json.dumps(out)
    assert json.loads(text)["k"] == out["k"] == 2
    assert set(out["groups"].values()) == {0, 1}
    assert all(isinstance(p, int) for p in out["groups"])
    assert len(out["groups"]) == out["n_in_conversation"]
    assert {"load", "matrix", "pca", "clustering", "statistics"} <= set(out["timings"])


def test_votes_in_row_order_and_shuffled_give_the_same_matrix_and_map():
    # Votes read from participants-votes.csv arrive sorted by participant then statement
    # and become the CSR arrays directly; any other order goes through scipy's COO path.
    conversation = planted_groups(600, 80, 3, seed=4)
    votes = conversation.votes
    order = np.lexsort((votes.statement, votes.participant))
    in_order = Votes(votes.participant[order], votes.statement[order], votes.value[order])
    shuffled = np.random.default_rng(0).permutation(len(votes))
    mixed = Votes(votes.participant[shuffled], votes.statement[shuffled], votes.value[shuffled])
    a, b = build_matrix(in_order), build_matrix(mixed)
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(a.votes, part), getattr(b.votes, part)), part
    assert a.votes.nnz == b.votes.nnz == len(votes)  # passes stay stored entries
    assert np.array_equal(a.statement_ids, b.statement_ids)
    first, second = compute_opinion_map(in_order), compute_opinion_map(mixed)
    assert np.array_equal(first.group, second.group)
    assert first.repness == second.repness


def test_group_tallies_count_each_members_votes():
    conversation = planted_groups(500, 60, 3, seed=9)
    result = compute_opinion_map(conversation.votes)
    row = {p: i for i, p in enumerate(result.participant_ids.tolist())}
    column = {s: j for j, s in enumerate(result.statement_ids.tolist())}
    agree = np.zeros((result.k, len(column)), dtype=np.int64)
    disagree, seen = agree.copy(), agree.copy()
    votes = conversation.votes
    for p, s, v in zip(
        votes.participant.tolist(), votes.statement.tolist(), votes.value.tolist(), strict=True
    ):
        g = int(result.group[row[p]])
        if g < 0:
            continue
        seen[g, column[s]] += 1
        agree[g, column[s]] += v == 1
        disagree[g, column[s]] += v == -1
    assert np.array_equal(result.group_stats.agree, agree)
    assert np.array_equal(result.group_stats.disagree, disagree)
    assert np.array_equal(result.group_stats.seen, seen)
    assert (
        result.group_stats.members.tolist()
        == np.bincount(result.group[result.group >= 0], minlength=result.k).tolist()
    )


def test_polis_start_is_kept_unless_a_restart_is_clearly_better():
    from sayso.analysis.opinion_map.compute import _better

    polis, kmeans = Options(), Options(group_start="kmeans++")
    assert polis.group_start == "polis"
    # Within restart_gain (1 %) the earlier start, Polis's own, stays...
    assert not _better(99.5, 100.0, polis)
    # ...a restart that is clearly better (a stuck deterministic start) replaces it.
    assert _better(98.0, 100.0, polis)
    # With "kmeans++" the lowest inertia wins; exact ties keep the earlier start.
    assert _better(99.5, 100.0, kmeans)
    assert not _better(100.0, 100.0, kmeans)


@pytest.mark.parametrize("group_start", ["polis", "kmeans++"])
def test_both_group_starts_find_planted_groups(group_start):
    conversation = planted_groups(3000, 200, 3, seed=6)
    result = compute_opinion_map(conversation.votes, options=Options(group_start=group_start))
    member = result.in_conversation
    assert result.k == 3
    truth = conversation.truth[result.participant_ids[member]]
    assert adjusted_rand_score(truth, result.group[member]) >= 0.7


def test_batched_kmeans_plus_plus_draws_as_one_k_at_a_time():
    from sayso.analysis.opinion_map.compute import _kmeans_plus_plus, _kmeans_plus_plus_for

    rng = np.random.default_rng(5)
    points = rng.standard_normal((60, 2))
    weights = rng.integers(1, 9, 60).astype(np.float64)
    together = _kmeans_plus_plus_for(points, weights, [2, 3, 5], 4, np.random.default_rng(1))
    one_rng = np.random.default_rng(1)
    apart = [_kmeans_plus_plus(points, weights, k, 4, one_rng) for k in (2, 3, 5)]
    assert together.shape == (12, 5, 2)
    for i, starts in enumerate(apart):
        k = starts.shape[1]
        assert np.array_equal(together[4 * i : 4 * i + 4, :k], starts)
        assert np.isnan(together[4 * i : 4 * i + 4, k:]).all()


def test_silhouette_with_precomputed_distances_is_the_same():
    from sayso.analysis.opinion_map.compute import silhouette

    rng = np.random.default_rng(2)
    points = rng.standard_normal((40, 2))
    labels = rng.integers(0, 3, 40)
    sizes = rng.integers(1, 20, 40).astype(np.float64)
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    assert silhouette(points, labels, sizes, distances=distances) == silhouette(
        points, labels, sizes
    )


def test_batched_lloyd_matches_one_start_at_a_time():
    # Runs of k = 2, 3 and 5 share one padded batch (NaN rows are absent centres); each
    # must end where _lloyd alone ends from the same start. k = 2 labels by comparison,
    # larger k by argmin in either layout; all must agree with the plain loop.
    from sayso.analysis.opinion_map.compute import _lloyd, _lloyd_batch

    rng = np.random.default_rng(11)
    for n_points in (30, 400):
        points = rng.standard_normal((n_points, 2)) + rng.integers(0, 3, (n_points, 1)) * 2.0
        weights = rng.integers(1, 6, n_points).astype(np.float64)
        ks = [2, 3, 5, 2, 5]
        starts = np.full((len(ks), 5, 2), np.nan)
        for run, k in enumerate(ks):
            starts[run, :k] = points[rng.choice(n_points, k, replace=False)]
        labels, centers, present = _lloyd_batch(points, starts.copy(), weights, 100)
        for run, k in enumerate(ks):
            alone_labels, alone_centers = _lloyd(points, starts[run, :k], weights, 100)
            remap = np.cumsum(present[run]) - 1
            assert np.array_equal(remap[labels[run]], alone_labels)
            np.testing.assert_allclose(centers[run][present[run]], alone_centers, atol=1e-12)
            assert not present[run, k:].any()


def test_batched_lloyd_breaks_exact_ties_like_argmin():
    # Points on the y axis are exactly as far from (1, 0) as from (-1, 0); argmin gives
    # them to the first of the two. The batch (3 runs x 101 points, large enough for its
    # minimum-and-compare path) must fall back to the same choice.
    from sayso.analysis.opinion_map.compute import _lloyd, _lloyd_batch

    side = np.linspace(0.5, 3.0, 25)
    heights = np.linspace(-2.0, 2.0, 25)
    points = np.concatenate(
        [
            np.column_stack([side, heights]),
            np.column_stack([-side, heights]),
            np.column_stack([np.zeros(51), np.linspace(-3.0, 3.0, 51)]),
        ]
    )
    weights = np.ones(len(points))
    start = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 10.0]])
    starts = np.stack([start, start[[1, 0, 2]], start])
    labels, centers, present = _lloyd_batch(points, starts.copy(), weights, 100)
    for run in range(3):
        alone_labels, alone_centers = _lloyd(points, starts[run], weights, 100)
        remap = np.cumsum(present[run]) - 1  # _lloyd drops the centre that lost its members
        assert np.array_equal(remap[labels[run]], alone_labels)
        np.testing.assert_allclose(centers[run][present[run]], alone_centers, atol=1e-12)
    # The tie went to the first centre: the two mirrored starts end mirrored.
    assert not np.array_equal(labels[0], labels[1])


def test_silhouettes_of_several_labelings_are_each_alone():
    from sayso.analysis.opinion_map.compute import _silhouettes, silhouette

    rng = np.random.default_rng(4)
    points = rng.standard_normal((60, 2))
    sizes = rng.integers(1, 20, 60).astype(np.float64)
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    labelings = [rng.integers(0, k, 60) for k in (2, 3, 5)]
    for weights in (sizes, None):
        together = _silhouettes(distances, labelings, weights)
        alone = [silhouette(points, labels, weights) for labels in labelings]
        # Equal to the last bit or two: OpenBLAS picks its kernel by the product's width,
        # so one labeling's columns alone may be summed in another order (numpy 2.5).
        np.testing.assert_allclose(together, alone, rtol=1e-13, atol=0)
        assert together != [0.0, 0.0, 0.0]


def test_marked_statements_are_np_isin():
    from sayso.analysis.opinion_map.compute import _marked

    rng = np.random.default_rng(8)
    for _ in range(20):
        ids = np.unique(rng.integers(-5, 200, rng.integers(0, 40)))
        members = set(rng.integers(-10, 210, rng.integers(0, 8)).tolist())
        expected = np.isin(ids, np.fromiter(members, dtype=np.int64))
        assert np.array_equal(_marked(ids, members), expected)


def test_squared_distances_are_the_broadcast_norms_exactly():
    from sayso.analysis.opinion_map.compute import _squared_distances, _squared_norms

    rng = np.random.default_rng(3)
    points, others = rng.standard_normal((50, 3)), rng.standard_normal((7, 3))
    assert np.array_equal(
        _squared_distances(points, others),
        _squared_norms(points[None, :, :] - others[:, None, :]),
    )


@pytest.mark.parametrize("size", [1, 2, 9, 40])
def test_tridiagonal_solver_is_scipys_exactly(size):
    from scipy.linalg import eigh_tridiagonal

    from sayso.analysis.opinion_map.compute import _tridiagonal_eigh

    rng = np.random.default_rng(size)
    diagonal, off = rng.standard_normal(size), rng.standard_normal(size - 1)
    values, vectors = _tridiagonal_eigh(diagonal, off)
    expected_values, expected_vectors = eigh_tridiagonal(diagonal, off)
    assert np.array_equal(values, expected_values)
    assert np.array_equal(vectors, expected_vectors)
