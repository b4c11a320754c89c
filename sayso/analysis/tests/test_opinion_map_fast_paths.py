"""The opinion map's quicker code paths give exactly what the plain ones give.

Each fast path in compute.py, stats.py and polis_io.py claims the same floats, labels and
records as a simpler formulation; these tests pin that claim on random inputs."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import eigh

import sayso.analysis.opinion_map.compute as compute_module
from sayso.analysis.opinion_map import (
    PolisImportError,
    Votes,
    compute_opinion_map,
    read_polis_export,
    stats,
)
from sayso.analysis.opinion_map.compute import (
    _kmeans_plus_plus_for,
    _lloyd_batch,
    _seeded,
    _squared_distances,
    _top_eigenvectors,
    build_matrix,
)
from sayso.analysis.opinion_map.polis_io import latest_votes, read_comments, read_votes
from sayso.analysis.opinion_map.synthetic import planted_groups


def assert_same_centres(batched, alone):
    assert np.array_equal(np.isnan(batched), np.isnan(alone))
    assert np.allclose(batched, alone, rtol=1e-15, atol=1e-15, equal_nan=True)


@pytest.mark.parametrize("n_points", [60, 300])
def test_batched_lloyd_gives_each_start_what_it_gives_alone(n_points):
    # Runs of k = 2 to 5 padded into one batch, converging at different steps (so some
    # are carried finished, some dropped): every run ends exactly as in a batch of its own.
    rng = np.random.default_rng(7)
    points = rng.standard_normal((n_points, 2)) + rng.integers(0, 4, (n_points, 1)) * 1.5
    weights = rng.integers(1, 6, n_points).astype(np.float64)
    ks = [2, 3, 4, 5] * 4
    starts = np.full((len(ks), 5, 2), np.nan)
    for run, k in enumerate(ks):
        starts[run, :k] = points[rng.choice(n_points, k, replace=False)]
    labels, centers, present = _lloyd_batch(points, starts.copy(), weights, 100)
    for run in range(len(ks)):
        alone = _lloyd_batch(points, starts[run : run + 1].copy(), weights, 100)
        assert np.array_equal(labels[run], alone[0][0])
        # The same centres to the last bit or so: which order a product sums its rows in
        # depends on the OpenBLAS build (numpy 2.5.5's, 0.3.34, sums some 5-centre batches 1 ulp
        # apart), never by more than rounding.
        assert_same_centres(centers[run], alone[1][0])
        assert np.array_equal(present[run], alone[2][0])
    assert labels.dtype == np.int64
    assert not present[0, 2:].any()  # padded slots stay absent


def test_batched_lloyd_stops_at_the_iteration_limit():
    rng = np.random.default_rng(3)
    points = rng.standard_normal((80, 2))
    starts = points[rng.choice(80, 12, replace=False)].reshape(4, 3, 2)
    one = _lloyd_batch(points, starts.copy(), np.ones(80), 1)
    many = _lloyd_batch(points, starts.copy(), np.ones(80), 100)
    # One step moves the centres to their members' means, not to convergence.
    assert not np.array_equal(one[1], many[1])
    first = _lloyd_batch(points, starts[:1].copy(), np.ones(80), 1)
    assert_same_centres(one[1][0], first[1][0])


def test_repness_for_all_groups_is_repness_group_by_group():
    rng = np.random.default_rng(11)
    for trial in range(300):
        k, n = int(rng.integers(1, 6)), int(rng.integers(0, 40))
        seen = rng.integers(0, [3, 10, 100][trial % 3], (k, n))
        agree = (seen * rng.random((k, n))).astype(np.int64)
        disagree = ((seen - agree) * rng.random((k, n))).astype(np.int64)
        if trial % 4 == 0:  # statements nobody in a group voted on
            seen[:, : n // 3] = agree[:, : n // 3] = disagree[:, : n // 3] = 0
        if trial % 4 == 1 and n > 1:  # repeated tallies: exact ties, first one wins
            copies = rng.integers(0, n, n // 2)
            at = rng.integers(0, n, n // 2)
            for tally in (seen, agree, disagree):
                tally[:, at] = tally[:, copies]
        ids = rng.permutation(500)[:n]
        eligible = rng.random(n) < [0.0, 0.5, 1.0][trial % 3]
        pick = int(rng.integers(0, 7))
        together = stats.select_all_repness(agree, disagree, seen, ids, eligible, pick=pick)
        apart = {
            g: stats.select_repness(group, ids, eligible, pick=pick)
            for g, group in enumerate(stats.all_group_statement_stats(agree, disagree, seen))
        }
        assert together == apart


def test_top_eigenvectors_are_eighs():
    rng = np.random.default_rng(5)
    for size in (1, 2, 7, 39, 54, 128):
        x = rng.standard_normal((size * 3, size)).round(1)
        gram = x.T @ x
        for k in {1, min(2, size)}:
            expected = eigh(gram, subset_by_index=[size - k, size - 1], driver="evr")[1]
            assert np.array_equal(_top_eigenvectors(gram, k), expected)


def test_seeded_generator_is_default_rng():
    for seed in (0, 1, 2**40):
        a, b = _seeded(seed), np.random.default_rng(seed)
        assert np.array_equal(a.random(50), b.random(50))
        assert np.array_equal(
            _seeded(seed).choice(30, 10, replace=False),
            np.random.default_rng(seed).choice(30, 10, replace=False),
        )


@pytest.mark.parametrize(
    ("n_participants", "n_statements", "mean_votes", "path"),
    [
        (40, 30, 40.0, "sorted"),  # up to 4,096 votes: sorted by key
        (300, 40, 30.0, "table"),  # more votes, at least a quarter of the cells: a table
        (3000, 400, 5.0, "scipy"),  # more votes over many more cells: scipy's COO
    ],
)
def test_shuffled_votes_make_the_matrix_of_sorted_ones(
    n_participants, n_statements, mean_votes, path
):
    votes = planted_groups(n_participants, n_statements, 2, mean_votes=mean_votes, seed=1).votes
    cells = n_participants * n_statements
    assert {
        "sorted": len(votes) <= 4096,
        "table": len(votes) > 4096 and cells <= 4 * len(votes),
        "scipy": len(votes) > 4096 and cells > 4 * len(votes),
    }[path]
    order = np.lexsort((votes.statement, votes.participant))
    in_order = Votes(votes.participant[order], votes.statement[order], votes.value[order])
    mixed = np.random.default_rng(0).permutation(len(votes))
    shuffled = Votes(votes.participant[mixed], votes.statement[mixed], votes.value[mixed])
    a, b = build_matrix(in_order), build_matrix(shuffled)
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(a, part), getattr(b, part)), part
    # Against scipy's own conversion of the same votes.
    _, rows = np.unique(votes.participant, return_inverse=True)
    _, columns = np.unique(votes.statement, return_inverse=True)
    expected = sp.csr_array((votes.value.astype(np.float64), (rows, columns)), shape=a.shape)
    assert np.array_equal(b.votes.toarray(), expected.toarray())
    assert b.votes.nnz == len(votes)  # passes stay stored entries
    # A re-vote among them: the later one counts, whichever path found the repeat.
    first = int(mixed[0])
    again = Votes(
        np.append(shuffled.participant, votes.participant[first]),
        np.append(shuffled.statement, votes.statement[first]),
        np.append(shuffled.value, np.int8(-1 if votes.value[first] == 1 else 1)),
        np.arange(len(votes) + 1),
    )
    revoted = build_matrix(again)
    latest = build_matrix(latest_votes(again))
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(revoted, part), getattr(latest, part)), part
    assert len(revoted.data) == len(votes)


def test_few_votes_with_a_revote_keep_the_later_one():
    revote = Votes.from_rows([(1, 5, 1, 10), (2, 5, -1, 11), (1, 5, -1, 12), (2, 6, 0, 13)])
    matrix = build_matrix(revote)
    assert matrix.votes.toarray().tolist() == [[-1.0, 0.0], [-1.0, 0.0]]
    assert matrix.votes.nnz == 3


def test_kmeans_plus_plus_from_pairwise_rows_is_the_same():
    # group_clusters hands the k-means++ starts the base centres' pairwise squared
    # distances; the picks read rows of it instead of computing them: the same starts.
    rng = np.random.default_rng(4)
    for trial in range(60):
        n = int(rng.integers(3, 120))
        points = rng.standard_normal((n, 2)).round(trial % 3)  # rounding makes repeats
        weights = rng.integers(1, 9, n).astype(np.float64)
        ks = list(range(2, int(rng.integers(3, 7))))
        pairwise = _squared_distances(points, points)
        alone = _kmeans_plus_plus_for(points, weights, ks, 8, _seeded(trial))
        rows = _kmeans_plus_plus_for(points, weights, ks, 8, _seeded(trial), pairwise)
        assert np.array_equal(alone, rows, equal_nan=True)


def test_counted_and_sparse_projections_are_the_same(monkeypatch):
    votes = planted_groups(150, 40, 3, seed=2).votes
    monkeypatch.setattr(compute_module, "COUNTED_PRODUCT", 10**9)
    counted = compute_opinion_map(votes)
    monkeypatch.setattr(compute_module, "COUNTED_PRODUCT", 0)
    sparse = compute_opinion_map(votes)
    assert np.array_equal(counted.participant_projection, sparse.participant_projection)
    assert np.array_equal(counted.group, sparse.group)


COMMENTS = (
    "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,is-meta,comment-body\n"
    "1,d,0,0,2,0,1,false,First\n"
    '2,d,1,0,0,1,-1,false,"Second, with a comma"\n'
    "3,d,2,1,0,0,1,true,Meta\n"
)


def test_statements_are_read_lazily_and_equal_to_records(tmp_path):
    (tmp_path / "comments.csv").write_text(COMMENTS)
    (tmp_path / "votes.csv").write_text(
        "timestamp,datetime,comment-id,voter-id,vote\n10,d,0,0,1\n11,d,0,1,1\n12,d,1,0,-1\n"
    )
    export = read_polis_export(tmp_path)
    assert export.moderated_out == frozenset({1})
    assert export.meta == frozenset({2})
    assert export.statement_ids == (0, 1, 2)
    records, header = read_comments(tmp_path / "comments.csv")
    assert export.statements == records
    assert tuple(export.statements) == records
    assert export.statements[1].body == "Second, with a comma"
    assert export.comments_header == header


def test_timestamps_of_any_length_and_long_ids_parse(tmp_path):
    # Timestamps of 10 to 16 digits (8 digits per word, masked per length), the first
    # one ending within the file's first 16 bytes; a 12-digit voter id sends both id
    # columns through the long parse.
    times = [1403054214, 14030542141, 140305421419, 1403054214196, 14030542141961, 10**15 + 7]
    rows = [f"{t},d,{i % 3},{123456789012 if i == 2 else i},1" for i, t in enumerate(times)]
    path = tmp_path / "votes.csv"
    path.write_text("timestamp,datetime,comment-id,voter-id,vote\n" + "\n".join(rows) + "\n")
    events, _ = read_votes(path, frozenset({0, 1, 2}))
    assert events.time is not None
    assert events.time.tolist() == times
    assert events.participant.tolist() == [0, 1, 123456789012, 3, 4, 5]
    assert events.statement.tolist() == [0, 1, 2, 0, 1, 2]
    # One wrong character in a timestamp: the careful path names its line.
    path.write_text(
        "timestamp,datetime,comment-id,voter-id,vote\n"
        + "\n".join(rows).replace("14030542141961", "140305421x1961")
        + "\n"
    )
    with pytest.raises(PolisImportError) as error:
        read_votes(path, frozenset({0, 1, 2}))
    assert error.value.line == 6
