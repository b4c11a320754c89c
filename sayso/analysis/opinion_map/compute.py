"""The opinion map pipeline: votes -> sparse matrix -> PCA -> two-level k-means -> stats.

Follows the Polis math (research/polis-math.md section 1) with these deliberate choices:

* one batch computation from the final votes, exact PCA at every size (no mini-batch),
  every random step seeded, so the same input always gives the same map;
* the vote matrix stays sparse end to end. Polis fills a missing vote with its column
  mean and then subtracts the mean, so the centred matrix is exactly zero wherever no
  vote was cast: centring never has to be materialised;
* optional warm start from a previous map keeps in-conversation membership monotone,
  component signs and group ids stable between updates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.linalg import eigh, eigh_tridiagonal, get_lapack_funcs
from scipy.linalg.lapack import dstevd
from scipy.sparse.linalg import LinearOperator, eigsh
from threadpoolctl import ThreadpoolController

from . import stats
from .model import (
    FloatArray,
    IntArray,
    OpinionMap,
    Options,
    StatementStats,
    Votes,
    readonly,
)
from .polis_io import latest_votes

# Below this many in-conversation participants numpy's Lloyd loop beats scikit-learn's
# per-call overhead; above it scikit-learn's threaded Cython wins by far.
SMALL_KMEANS = 20_000
# Vote matrices up to this many cells (participants x voted statements, 0.8 MB) are
# made dense for the PCA products.
DENSE_PCA = 100_000
# Up to this many statements, the top components come from eigh on XᵀX (dense).
DENSE_EIGH = 128
# Up to this many stored votes (and a dense PCA) the centred matrix is written dense
# directly and the projection summed with bincount; beyond, scipy's sparse matrix and
# product are quicker. Both give the same floats.
COUNTED_PRODUCT = 4096


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._name = ""
        self._start = 0.0

    def stage(self, name: str) -> _Stopwatch:
        # The watch is its own context manager (stages do not nest): a generator-based
        # one cost a few µs per stage.
        self._name = name
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        elapsed = time.perf_counter() - self._start
        self.timings[self._name] = self.timings.get(self._name, 0.0) + elapsed


# CSR index arrays: int64 from here, int32 or int64 from scipy.
type _Index = NDArray[np.int32] | NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Matrix:
    """The vote matrix in CSR form plus what the later stages need from it.

    The CSR arrays are kept as plain arrays: scipy's constructor checks them in ~30 µs
    of Python, and only large matrices are handed to scipy at all (see _compute).
    """

    participant_ids: IntArray
    statement_ids: IntArray
    # Participants x statements in CSR form, values +1/-1/0, every vote stored; each
    # row's columns ascending.
    data: FloatArray
    indices: _Index
    indptr: _Index
    active: NDArray[np.bool_]  # statement neither moderated out nor meta
    is_meta: NDArray[np.bool_]
    is_out: NDArray[np.bool_]  # moderated out
    n_columns: int  # statements with at least one vote (Polis's N_c)
    n_inactive_columns: int  # moderated-out or meta statements with at least one vote

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.participant_ids), len(self.statement_ids)

    @property
    def votes(self) -> sp.csr_array:
        """The matrix as a scipy CSR array."""
        return sp.csr_array((self.data, self.indices, self.indptr), shape=self.shape)


def _dense_codes(ids: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted unique ids and each entry's index among them.

    A lookup table is O(n) where np.unique sorts; Polis ids are small non-negative ints.
    """
    if len(ids) == 0:
        return ids.copy(), ids.copy()
    low, high = int(ids.min()), int(ids.max())
    if low >= 0 and high < 4 * len(ids) + 1024:
        present = np.zeros(high + 1, dtype=bool)
        present[ids] = True
        position = present.cumsum(dtype=np.int64) - 1
        return present.nonzero()[0], position[ids]
    unique, inverse = np.unique(ids, return_inverse=True)
    return unique.astype(np.int64), inverse.astype(np.int64)


def _marked(sorted_ids: IntArray, members: Iterable[int]) -> NDArray[np.bool_]:
    """np.isin(sorted_ids, members) for sorted distinct ids: a binary search per member
    (usually none to a handful) instead of np.isin's sort of both, ~20 numpy calls."""
    out = np.zeros(len(sorted_ids), dtype=bool)
    wanted = np.fromiter(members, dtype=np.int64)
    if len(wanted) and len(sorted_ids):
        at = np.minimum(sorted_ids.searchsorted(wanted), len(sorted_ids) - 1)
        out[at[sorted_ids[at] == wanted]] = True
    return out


def build_matrix(
    votes: Votes,
    moderated_out: Iterable[int] = (),
    meta: Iterable[int] = (),
    statements: Iterable[int] | None = None,
) -> _Matrix:
    """Sparse participants x statements matrix of the latest votes."""
    extra = np.fromiter(statements, dtype=np.int64) if statements is not None else None
    statement_keys = votes.statement if extra is None else np.concatenate([votes.statement, extra])
    statement_ids, statement_code = _dense_codes(statement_keys)
    statement_code = statement_code[: len(votes)]
    participant_ids, participant_code = _dense_codes(votes.participant)
    shape = (len(participant_ids), len(statement_ids))

    key = participant_code * shape[1] + statement_code
    order: IntArray | None = None  # of the votes, into CSR order
    indices: _Index
    indptr: _Index | None = None
    if len(key) and bool((key[1:] > key[:-1]).all()):
        # Already in row order without repeats (votes read from a participants x
        # statements file are): the CSR arrays are the votes themselves.
        data, indices = votes.value.astype(np.float64), statement_code
    elif len(key) <= 4096:
        # Few votes in any order: sorted by key here (a repeat shows up as two equal
        # keys; only then pay for the sort in latest_votes). On 3,000 votes the sort
        # took ~20 µs, scipy's COO path below ~90.
        order = key.argsort(kind="stable")
        ordered = key[order]
        if bool((ordered[1:] == ordered[:-1]).any()):
            order = order[:0]  # a repeat: see below
    elif shape[0] * shape[1] <= 4 * len(key):
        # More votes, but the cells are few next to them (a dense conversation): each
        # vote's place is found by a table over the cells, a counting sort, quicker than
        # scipy's COO path or a sort there (5,000 to 15,000 votes: 2 to 4 times). A
        # repeat leaves fewer filled cells than votes.
        cell = np.full(shape[0] * shape[1], -1, dtype=np.int64)
        cell[key] = np.arange(len(key))
        order = cell[cell >= 0]
    else:
        # Store value + 2 so that a pass (0) is a stored entry and a duplicate shows up as
        # a lost entry after scipy sums duplicates; only then pay for the sort in
        # latest_votes.
        coded = sp.csr_array(
            ((votes.value + 2).astype(np.float64), (participant_code, statement_code)),
            shape=shape,
        )
        if coded.nnz != len(votes):
            return build_matrix(latest_votes(votes), moderated_out, meta, statement_ids)
        coded.sort_indices()
        coded.data -= 2.0
        data, indices, indptr = coded.data, coded.indices, coded.indptr
    if order is not None:
        if len(order) != len(key):  # a repeated (participant, statement) pair
            return build_matrix(latest_votes(votes), moderated_out, meta, statement_ids)
        # Votes are -1, 0 and 1: as floats exactly what scipy's path stores.
        data, indices = votes.value[order].astype(np.float64), statement_code[order]
    if indptr is None:  # rows ascend: each row's count of votes
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(participant_code, minlength=shape[0]), out=indptr[1:])

    is_meta, is_out = _marked(statement_ids, meta), _marked(statement_ids, moderated_out)
    active = ~(is_meta | is_out)
    has_votes = np.bincount(indices, minlength=shape[1]) > 0
    return _Matrix(
        participant_ids=participant_ids,
        statement_ids=statement_ids,
        data=data,
        indices=indices,
        indptr=indptr,
        active=active,
        is_meta=is_meta,
        is_out=is_out,
        n_columns=int(np.count_nonzero(has_votes)),
        n_inactive_columns=int(np.count_nonzero(has_votes & ~active)),
    )


def in_conversation(
    vote_counts: IntArray,
    n_columns: int,
    options: Options,
    already_in: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """Who gets clustered: min(7, N_c) votes, greedy fill to 15, and once in, always in."""
    members = vote_counts >= min(options.min_votes, n_columns)
    if already_in is not None:
        members |= already_in
    shortfall = options.min_in_conversation - int(np.count_nonzero(members))
    if shortfall > 0:
        # Most votes first; stable so ties go to the earlier participant.
        candidates = np.flatnonzero(~members)
        ranked = candidates[np.argsort(-vote_counts[candidates], kind="stable")]
        members[ranked[:shortfall]] = True
    return members


def _fix_sign(components: FloatArray, reference: FloatArray | None) -> FloatArray:
    """Components have arbitrary sign; pin it so maps do not flip between runs."""
    if reference is None:
        # Each component's largest entry (the first of equal ones) made positive.
        top = np.abs(components).argmax(axis=1)
        flips = components[np.arange(len(components)), top] < 0
        components[flips] = -components[flips]
        return components
    for i in range(components.shape[0]):
        if reference is not None and i < reference.shape[0] and np.any(reference[i]):
            flip = float(components[i] @ reference[i]) < 0
        else:
            largest = int(np.argmax(np.abs(components[i])))
            flip = components[i, largest] < 0
        if flip:
            components[i] = -components[i]
    return components


def principal_components(
    centred: sp.csr_array | FloatArray,
    n_components: int,
    seed: int,
    start: FloatArray | None = None,
    used: IntArray | None = None,
) -> FloatArray:
    """Top eigenvectors of XᵀX for the sparse, exactly centred X, as rows. X may also
    come dense (small matrices, see _compute), with `used` its columns that are not all
    zero.

    Lanczos on the operator v -> Xᵀ(Xv) (see _lanczos; ARPACK if that does not converge):
    the same fixed point as Polis's power iteration, reached in far fewer products, and
    XᵀX is never formed, except for a small dense X (up to DENSE_EIGH statements),
    where eigh on XᵀX is quicker than the Lanczos steps.
    """
    n_statements = centred.shape[1]
    components = np.zeros((n_components, n_statements))
    if used is None:
        if isinstance(centred, np.ndarray):
            used = np.flatnonzero(np.any(centred != 0.0, axis=0))
        else:
            used = np.flatnonzero(np.bincount(centred.indices, minlength=n_statements) > 0)
    if len(used) == 0:
        return components
    x: sp.csr_array | FloatArray
    xt: sp.csr_array | FloatArray
    if isinstance(centred, np.ndarray) or centred.shape[0] * len(used) <= DENSE_PCA:
        # Small matrices: a dense product is a single BLAS call, where each sparse one
        # costs ~10 µs of scipy dispatch; a 340 x 60 conversation makes ~30 of them.
        dense = centred if isinstance(centred, np.ndarray) else centred.toarray()
        x = dense[:, used] if len(used) < n_statements else dense
        xt = x.T
    else:
        x = sp.csr_array(centred[:, used] if len(used) < n_statements else centred)
        xt = x.T.tocsr()  # a CSR copy makes Xᵀy a fast row-wise product
    size = len(used)
    k = min(n_components, size)
    if size <= DENSE_EIGH and isinstance(x, np.ndarray):
        # Few statements: XᵀX is at most 128 x 128, and LAPACK's eigh on it (single
        # BLAS thread, see _one_blas_thread) took 0.1 to 0.2 ms where Lanczos's dozens of
        # small steps took 0.3 to 0.7. The same vectors to within 1e-10 (Lanczos's own
        # tolerance); the sign is pinned afterwards either way (_fix_sign).
        gram = xt @ x
        components[:k, used] = _top_eigenvectors(gram, k)[:, ::-1].T
        return components
    if start is not None and np.any(start[:, used]):
        v0 = start[:, used].sum(axis=0) + 1e-3
    else:
        v0 = np.random.default_rng(seed).standard_normal(size)
    top = _lanczos(x, xt, k, v0, tol=1e-10)
    if top is None:  # not converged within the step budget: let ARPACK restart
        operator = LinearOperator((size, size), matvec=lambda v: xt @ (x @ v), dtype=np.float64)
        _, vectors = eigsh(operator, k=k, which="LA", v0=v0, tol=1e-10)
        top = vectors[:, ::-1].T
    components[:k, used] = top
    return components


def _nearest(points: FloatArray, centers: FloatArray, lifted: FloatArray | None = None) -> IntArray:
    """Index of the nearest centre per point.

    ||p||² is the same for every centre, so argmin needs only -2 p·c + ||c||², which is
    one matrix product of the points' -2p with a 1 appended (`lifted`, reusable across
    Lloyd steps) and the centres with ||c||² appended: (-2p)·c is exactly p·(-2c), a
    power of two, so the floats are those of scaling the centres, without doing so at
    every step. Blocks of 2,048 points keep the points x centres scratch array in
    cache (base clustering has 100 centres).
    """
    if lifted is None:
        lifted = _lifted(points)
    dims = centers.shape[1]
    # Written in place rather than stacked: np.vstack is several calls of Python.
    shift = np.empty((dims + 1, len(centers)))
    shift[:dims] = centers.T
    if dims == 2:
        squares = centers * centers  # summed as (centers**2).sum(axis=1) sums 2 terms
        np.add(squares[:, 0], squares[:, 1], out=shift[dims])
    else:
        np.add.reduce(centers**2, axis=1, out=shift[dims])  # as (centers**2).sum(axis=1)
    if len(points) <= 2048:
        return (lifted @ shift).argmin(axis=1)
    out = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), 2048):
        out[start : start + 2048] = (lifted[start : start + 2048] @ shift).argmin(axis=1)
    return out


def _squared_norms(vectors: FloatArray) -> FloatArray:
    """(vectors**2).sum(axis=-1), for the few coordinates of a projection.

    numpy reduces a 2-long last axis as slowly as a long one, per row: on the
    runs x points arrays of the k-means starts that was most of their cost. Summed one
    coordinate at a time, in the same order as numpy's reduction, so the floats match.
    """
    total = vectors[..., 0] ** 2
    for d in range(1, vectors.shape[-1]):
        total += vectors[..., d] ** 2
    return total


def _squared_distances(points: FloatArray, others: FloatArray) -> FloatArray:
    """_squared_norms(points[None, :, :] - others[:, None, :]): others x points.

    A coordinate at a time, so each operation runs along the points: broadcasting over
    the 2-long coordinate axis ran numpy's inner loop 2 elements at a time. The same
    differences, squares and order of summation, so the floats match.
    """
    # Coordinate-major: the points' coordinates copied to contiguous rows (a strided
    # operand made each operation slower than the copy), the others' as columns.
    along, across = np.ascontiguousarray(points.T), others.T[:, :, None]
    total: FloatArray = np.subtract(along[0], across[0])
    total *= total
    for d in range(1, points.shape[1]):
        step = np.subtract(along[d], across[d])
        step *= step
        total += step
    return total


def _lifted(points: FloatArray) -> FloatArray:
    """The points scaled by -2, with a 1 appended (see _nearest)."""
    lifted = np.empty((len(points), points.shape[1] + 1))
    np.multiply(points, -2.0, out=lifted[:, :-1])
    lifted[:, -1] = 1.0
    return lifted


def _lloyd(
    points: FloatArray, centers: FloatArray, weights: FloatArray, iterations: int
) -> tuple[IntArray, FloatArray]:
    """Weighted Lloyd iterations; empty clusters are dropped as in Polis."""
    weighted = [weights * points[:, d] for d in range(points.shape[1])]
    lifted = _lifted(points)
    for _ in range(iterations):
        labels = _nearest(points, centers, lifted)
        mass = np.bincount(labels, weights=weights, minlength=len(centers))
        moved = np.empty((len(centers), len(weighted)))
        for d, w in enumerate(weighted):
            moved[:, d] = np.bincount(labels, weights=w, minlength=len(centers))
        if np.count_nonzero(mass) < len(mass):
            keep = mass > 0
            centers = moved[keep] / mass[keep, None]
            continue
        moved /= mass[:, None]
        # Polis's convergence test: every centre moved less than 0.01 (the largest
        # coordinate change of all centres, which is the same test).
        largest = float(np.maximum.reduce(np.abs(moved - centers), axis=None))
        if largest == 0.0:
            # Nothing moved (the usual last step): the nearest centres are the labels
            # just found, without computing them again.
            return labels, moved
        centers = moved
        if largest < 0.01:
            break
    return _nearest(points, centers, lifted), centers


def _lloyd_batch(
    points: FloatArray, starts: FloatArray, weights: FloatArray, iterations: int
) -> tuple[IntArray, FloatArray, NDArray[np.bool_]]:
    """`_lloyd` from each of several starts at once (starts: runs x k x dims; rows of NaN
    are absent centres, so runs with different k share the arrays): labels (runs x
    points, indices into each run's k slots), centres (runs x k x dims) and which slots
    are still present (runs x k).

    Restarts of the group-level k-means are tiny; run one by one, numpy's per-call
    overhead was most of the opinion map's time on small conversations. For the same
    reason each step below is as few array operations as possible, each on contiguous
    memory (a ufunc on a strided 2-D view cost 4 times as much as on a contiguous one),
    and none works along a short axis (argmin over 5 centres, or a minimum over the slots
    of each run, cost more per element than the products).

    Layout: a (run, slot) pair is a column, slot-major (slot s of run r is column
    s·runs + r), so the minimum over slots is an elementwise minimum of whole blocks;
    the state is coordinate-major, so every update of it runs along contiguous rows:
    one row per coordinate, the squared norm, and the absent offset (0, or 1e200 for
    a slot without members).
    """
    runs, k, dims = starts.shape
    n = len(points)
    if runs == 0:
        return np.zeros((0, n), dtype=np.int64), starts.copy(), np.zeros((0, k), dtype=bool)
    # Up to one block of OpenBLAS's inner dimension (256) a product with 3 columns (the
    # weight and two coordinates) sums each entry in point order whatever its number of
    # rows or their order, so every run's one-hot rows can go in one 2-D product instead
    # of one product per run: the same floats (checked on every openData conversation
    # and 2,000 random shapes with the OpenBLAS numpy shipped in 2026-11; numpy 2.5.5's,
    # OpenBLAS 0.3.34, sums a few 5-centre batches 1 ulp apart, tests/test_opinion_map_fast_paths.py);
    # longer sums are blocked, and keep the per-run form.
    # Kernels for other widths do not sum in point order (see drop_at below); padding to
    # 4 columns was 30 % quicker but changed the last bit of some sums.
    flat_totals = n <= 256
    # Columns: weight, then weight x each coordinate; one matmul gives mass and sums.
    stacked = np.empty((n, dims + 1))
    stacked[:, 0] = weights
    np.multiply(weights[:, None], points, out=stacked[:, 1:])
    # As in _nearest, distances are -2 p·c + ||c||² in one product, here of the state
    # columns (centre, ||c||²) with the points' -2p and a 1: c·(-2p) is exactly (-2c)·p
    # (a power of two), so the floats are the same and no scaled copy of the centres is
    # made at each step.
    lifted_t = np.empty((dims + 1, n))
    np.multiply(points.T, -2.0, out=lifted_t[:dims])
    lifted_t[dims] = 1.0
    norm, offset = dims, dims + 1  # state rows

    def add_norms(state: FloatArray, absent: bool) -> None:
        # The squared norm summed in _squared_norms's order, so the floats match;
        # absent centres are put (finitely, see _ABSENT_OFFSET) infinitely far.
        squares = np.square(state[:dims])
        if dims == 2:
            np.add(squares[0], squares[1], out=state[norm])
        else:
            np.copyto(state[norm], squares[0])
            for d in range(1, dims):
                state[norm] += squares[d]
        if absent:
            state[norm] += state[offset]

    def nearest(distance: FloatArray) -> IntArray:
        # distance: k x runs x points; the slot of the nearest centre, ties to the first.
        labels: IntArray
        if k == 2:
            labels = (distance[1] < distance[0]).astype(np.int64)
            return labels
        # As in the loop below; the slot numbers of the one-hot rows summed in one
        # product (exact small integers) instead of argmin along the short slot axis.
        closest = distance == np.minimum.reduce(distance, axis=0)
        if np.count_nonzero(closest) != distance.shape[1] * n:
            labels = distance.argmin(axis=0)
            return labels
        slot = np.arange(k, dtype=np.float64) @ closest.reshape(k, -1).astype(np.float64)
        labels = slot.reshape(-1, n).astype(np.int64)
        return labels

    coordinates = starts.T  # dims x k x runs; NaN rows become 0, as np.nan_to_num
    missing = np.isnan(coordinates)
    present = ~missing[0].reshape(-1)  # a row of NaN is an absent centre
    n_present = int(np.count_nonzero(present))
    absent = n_present < len(present)
    state = np.empty((dims + 2, k * runs))
    state[:dims] = np.where(missing, 0.0, coordinates).reshape(dims, -1)
    state[offset] = _ABSENT_OFFSET[present.view(np.int8)]
    add_norms(state, absent)
    # The runs still in the arrays are `ids` (`carried` of them), of which `alive` have
    # not finished. A finished run's state columns are kept aside at once, but the run
    # stays in the arrays, still iterated (each run's arithmetic is its own, so the
    # others' floats do not change), until dropping it pays: a drop is ~6 numpy calls,
    # carrying costs its k x points share of each step. Dropping at every step was a
    # third of the loop's time on small conversations.
    drop_at = max(1, 1024 // (k * n))
    if dims != 2 or k == 1:
        # Only a product with 3 columns sums each entry in point order whatever its
        # number of rows (OpenBLAS's kernels for 2 or 4+ columns do not), and a single
        # row is a matrix-vector product: there, finished runs leave at once, so that
        # every product has the rows (and their order) of one run at a time.
        drop_at = 1
    ids = np.arange(runs)
    alive = np.ones(runs, dtype=bool)
    n_alive = carried = runs
    kept: list[FloatArray] = []  # finished runs' state columns (dims + 2 x k x some)
    kept_ids: list[IntArray] = []
    for _ in range(iterations):
        distance = (state[: norm + 1].T @ lifted_t).reshape(k, carried, n)
        member: FloatArray
        if k == 2:
            # Written straight as floats: slot 1 where it is strictly nearer (ties to the
            # first centre, as argmin), slot 0 the rest.
            member = np.empty(distance.shape)
            np.less(distance[1], distance[0], out=member[1])
            np.subtract(1.0, member[1], out=member[0])
        else:
            # Equal to the minimum over the slots is the nearest centre unless two slots
            # tie exactly; argmin then picks the first, so a tie (rare) takes that path.
            closest = distance == np.minimum.reduce(distance, axis=0)
            if np.count_nonzero(closest) != carried * n:
                closest = distance.argmin(axis=0) == np.arange(k)[:, None, None]
            member = closest.astype(np.float64)
        if flat_totals and dims == 2:
            totals = member.reshape(-1, n) @ stacked
        else:
            # Run-major rows, as one product per run (k x points) or, flat, of all runs
            # at once; then back to slot-major.
            by_run = member.transpose(1, 0, 2)
            if flat_totals:
                by_run = np.ascontiguousarray(by_run).reshape(-1, n)
            totals = (by_run @ stacked).reshape(carried, k, dims + 1).transpose(1, 0, 2)
            totals = totals.reshape(-1, dims + 1)
        mass = totals[:, 0]
        # Absent slots never gain members; a slot that lost its members (rare) keeps its
        # old place but leaves the run (as in Polis, the run goes on without it).
        lost = np.count_nonzero(mass) != n_present
        keep = mass > 0 if lost else present
        moved = state.copy()
        if absent or lost:
            np.divide(totals[:, 1:].T, mass, out=moved[:dims], where=keep)
        else:  # every slot keeps members: no mask to walk
            np.divide(totals[:, 1:].T, mass, out=moved[:dims])
        # Polis's convergence test: every centre moved less than 0.01.
        change = np.subtract(moved[:dims], state[:dims])
        np.abs(change, out=change)
        finished = np.maximum.reduce(change.reshape(dims * k, carried), axis=0) < 0.01
        if lost:  # that run is not finished
            finished &= ~np.logical_or.reduce((present > keep).reshape(k, carried), axis=0)
            moved[offset] = _ABSENT_OFFSET[keep.view(np.int8)]
            n_present, present, absent = int(np.count_nonzero(keep)), keep, True
        if dims == 2:  # add_norms, inline: a call per step less
            squares = np.square(moved[:2])
            np.add(squares[0], squares[1], out=moved[norm])
            if absent:
                moved[norm] += moved[offset]
        else:
            add_norms(moved, absent)
        state = moved
        if n_alive < carried:
            finished &= alive  # a finished run stays as it was kept
        if finished.any():
            done = finished.nonzero()[0]
            kept.append(state.reshape(dims + 2, k, carried).take(done, axis=2))
            kept_ids.append(ids.take(done))
            n_alive -= len(done)
            if n_alive == 0:
                break
            alive[done] = False
            if carried - n_alive >= drop_at:
                still = alive.nonzero()[0]
                ids, carried, alive = ids.take(still), n_alive, np.ones(n_alive, dtype=bool)
                state = state.reshape(dims + 2, k, -1).take(still, axis=2).reshape(dims + 2, -1)
                present = state[offset] == 0.0
                n_present = int(np.count_nonzero(present))
    if n_alive:  # runs stopped by the iteration limit
        still = alive.nonzero()[0]
        kept.append(state.reshape(dims + 2, k, carried).take(still, axis=2))
        kept_ids.append(ids.take(still))
    final = np.empty((dims + 2, k, runs))
    final[:, :, np.concatenate(kept_ids)] = np.concatenate(kept, axis=2)
    labels = nearest((final[: norm + 1].reshape(norm + 1, -1).T @ lifted_t).reshape(k, runs, n))
    centers = np.ascontiguousarray(final[:dims].transpose(2, 1, 0))
    return labels, centers, final[offset].T == 0.0


# Added to a centre's squared norm: infinity for an absent slot (False), 0 for a present one.
# Added to an absent centre's squared norm so that no point is ever nearest to it. Finite
# rather than infinite: OpenBLAS multiplies infinities by the zero padding of its packed
# blocks, which leaves the product right but raises numpy's "invalid value" warning
# (numpy 2.5 reports floating-point flags from matmul). Squared distances between
# projections are far below 1e200, so the order of centres is unchanged.
_ABSENT_OFFSET = np.array([1e200, 0.0])


def _lanczos(
    x: sp.csr_array | FloatArray,
    xt: sp.csr_array | FloatArray,
    k: int,
    v0: FloatArray,
    tol: float,
    max_steps: int = 300,
) -> FloatArray | None:
    """Top-k eigenvectors of XᵀX (rows, largest first) by Lanczos with full
    re-orthogonalisation, or None if `max_steps` steps do not converge.

    The same Krylov method as ARPACK's eigsh and the same stopping rule (residual
    ||XᵀX v - θ v|| <= tol·θ per vector), without its restarts: the statements axis is
    at most a few thousand long, so keeping every Lanczos vector is cheap. Small
    problems end exactly when the Krylov space is exhausted. Written out because
    ARPACK's final step and dense eigh run threaded LAPACK that, on a loaded 2-core
    machine, cost tens of milliseconds even on 50 x 50 problems.
    """
    size = len(v0)
    steps = min(size, max_steps)
    basis = np.zeros((steps + 1, size))
    alpha = np.zeros(steps)
    beta = np.zeros(steps)
    basis[0] = v0 / np.linalg.norm(v0)
    scale = 0.0
    for j in range(steps):
        w = xt @ (x @ basis[j])
        alpha[j] = float(w @ basis[j])
        previous = basis[: j + 1]
        # Twice is enough to keep the basis orthogonal to working precision.
        w -= previous.T @ (previous @ w)
        w -= previous.T @ (previous @ w)
        beta[j] = math.sqrt(float(w @ w))  # np.linalg.norm's own formula, without its checks
        m = j + 1
        exhausted = beta[j] <= 1e-12 * max(scale, 1.0)
        if m >= k and (m % 4 == 0 or exhausted or m == steps):
            # LAPACK's tridiagonal solver: np.linalg.eigh on a dense matrix goes through
            # threaded BLAS and stalled for 60 ms on a 50 x 50 problem on a busy machine.
            theta, s = _tridiagonal_eigh(alpha[:m], beta[: m - 1])
            scale = max(scale, abs(float(theta[-1])))
            top = s[:, ::-1][:, :k]
            residual = beta[j] * np.abs(top[-1])
            if exhausted or bool(np.all(residual <= tol * max(scale, 1e-300))):
                vectors = top.T @ basis[:m]
                return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        if exhausted:
            return None
        basis[j + 1] = w / beta[j]
    return None


_SYEVR_WORK: dict[int, tuple[int, int]] = {}  # matrix size -> LAPACK workspace sizes


def _top_eigenvectors(gram: FloatArray, k: int) -> FloatArray:
    """eigh(gram, subset_by_index=[n - k, n - 1], driver="evr")[1]: the LAPACK routine
    it runs (syevr) called directly, with the same arguments and the same workspace
    sizes (queried once per size), so the same vectors. eigh's checks and wrappers took
    25 µs of a 0.1 ms PCA; on anything unusual (a value that is not finite, a LAPACK
    error) eigh runs instead, and raises as it would."""
    n = len(gram)
    if n == 0 or not (0 < k <= n) or not np.isfinite(gram).all():
        return np.asarray(eigh(gram, subset_by_index=[n - k, n - 1], driver="evr")[1])
    syevr, syevr_lwork = get_lapack_funcs(("syevr", "syevr_lwork"), (gram,))
    work = _SYEVR_WORK.get(n)
    if work is None:
        lwork, liwork, info = syevr_lwork(n=n, lower=True)
        if info != 0:
            return np.asarray(eigh(gram, subset_by_index=[n - k, n - 1], driver="evr")[1])
        work = _SYEVR_WORK[n] = (int(lwork.real), int(liwork))
    _, vectors, found, _, info = syevr(
        a=gram,
        overwrite_a=False,
        range="I",
        il=n - k + 1,
        iu=n,
        lower=True,
        compute_v=1,
        lwork=work[0],
        liwork=work[1],
    )
    if info != 0:
        return np.asarray(eigh(gram, subset_by_index=[n - k, n - 1], driver="evr")[1])
    return np.asarray(vectors[:, :found])


def _tridiagonal_eigh(diagonal: FloatArray, off: FloatArray) -> tuple[FloatArray, FloatArray]:
    """eigh_tridiagonal(diagonal, off): the LAPACK routine it picks (stevd) called
    directly. With its argument checks a call on the small problems here took 45 µs,
    directly 17 µs; on any failure the scipy function runs and reports it."""
    if len(diagonal) > 1:
        values, vectors, info = dstevd(diagonal, off, compute_v=1)
        if info == 0:
            return values, vectors
    values, vectors = eigh_tridiagonal(diagonal, off)
    return values, vectors


def _first_rows(points: FloatArray) -> IntArray:
    """Index of the first occurrence of each distinct row, in order of appearance."""
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(points.T[::-1])  # stable: equal rows keep their order
    ordered = points[order]
    new = np.ones(len(points), dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    first = order[new]
    first.sort()
    return first


def base_clusters(
    points: FloatArray,
    options: Options,
    previous_labels: IntArray | None = None,
) -> tuple[IntArray, FloatArray]:
    """Up to base_k fine clusters of the in-conversation projections."""
    first = _first_rows(points)
    k = min(options.base_k, len(first))
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, points.shape[1]))
    if previous_labels is not None and np.any(previous_labels >= 0):
        centers = _warm_centers(points, previous_labels, k)
    else:
        centers = points[first[:k]]  # Polis's deterministic start: first k distinct rows
    if len(points) <= SMALL_KMEANS:
        return _lloyd(points, centers, np.ones(len(points)), options.base_iterations)
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # One thread: on the 2-core machine shared with other work, scikit-learn's OpenMP
    # threads made this 1.5 to 3.5 times slower (50,000 participants: 1.6 s against
    # 0.45 s at load average 3), and a single thread sums in a fixed order, so the
    # centres no longer depend on the machine's core count.
    with threadpool_limits(limits=1):
        model = KMeans(
            n_clusters=len(centers),
            init=centers,
            n_init=1,
            max_iter=options.base_iterations,
            tol=1e-6,
        ).fit(points)
    labels = model.labels_.astype(np.int64)
    used = np.unique(labels)
    remap = np.full(len(centers), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return remap[labels], np.asarray(model.cluster_centers_[used], dtype=np.float64)


def _warm_centers(points: FloatArray, previous_labels: IntArray, k: int) -> FloatArray:
    """Polis's clean start: old clusters re-centred on their current members, then the
    most distal points split off until there are k clusters."""
    known = previous_labels >= 0
    labels = np.unique(previous_labels[known])
    centers = (
        np.stack([points[previous_labels == label].mean(axis=0) for label in labels.tolist()])
        if len(labels)
        else np.zeros((0, points.shape[1]))
    )
    centers = np.unique(centers, axis=0)[:k] if len(centers) else centers
    if len(centers) == 0:
        centers = points[:1]
    nearest = ((points - centers[0]) ** 2).sum(axis=1)
    for center in centers[1:]:
        nearest = np.minimum(nearest, ((points - center) ** 2).sum(axis=1))
    while len(centers) < k:
        far = int(np.argmax(nearest))
        if nearest[far] == 0:
            break
        centers = np.vstack([centers, points[far]])
        nearest = np.minimum(nearest, ((points - points[far]) ** 2).sum(axis=1))
    return np.asarray(centers, dtype=np.float64)


def silhouette(
    points: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    *,
    distances: FloatArray | None = None,
) -> float:
    """Mean silhouette of clustered points; a point alone in its cluster scores 0.

    With `weights`, each point stands for that many participants at the same place (a
    base cluster), so the score approximates the participant-level silhouette at
    O(base_k²) cost. Polis's own version is the unweighted one (weights=None); on the
    openData conversations the unweighted score over-rates splitting small fringe base
    clusters off (vtaiwan picks 4 groups), the weighted one does not.
    """
    if distances is None:
        distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    return _silhouettes(distances, [labels], weights)[0]


def _silhouettes(
    distances: FloatArray, labelings: Sequence[IntArray], weights: FloatArray | None
) -> list[float]:
    """silhouette() of several labelings of the same points at once (the candidate k of
    group_clusters): their one-hot columns side by side, so each step below is one numpy
    call for all of them. Every value is the same elementwise arithmetic, the products
    sum each entry over the same points, and each score is summed on its own row (BLAS
    may still sum a wider product in another order: equal to within a bit or two)."""
    n = len(distances)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    counts = [int(labels.max()) + 1 for labels in labelings]
    offsets = np.array([0, *counts[:-1]]).cumsum()
    codes = np.array(labelings) + offsets[:, None]  # labelings x points, column indices
    rows = np.arange(n)
    onehot = np.zeros((n, sum(counts)))
    onehot[rows, codes] = 1.0
    sizes = w @ onehot  # participants per cluster
    sums = distances @ (onehot * w[:, None])  # point x cluster weighted total distance
    own = sizes[codes]
    # A base cluster's own members sit at distance 0 from it, so only (own - 1) count.
    a = sums[rows, codes] / np.maximum(own - 1.0, 1e-12)
    other = np.where(onehot > 0, np.inf, sums / np.maximum(sizes, 1e-12))
    other[:, sizes == 0] = np.inf
    b = np.minimum.reduceat(other, offsets, axis=1).T  # nearest other cluster
    # (b - a) / max(a, b), 0 where that is 0/0 or inf/inf (a point with no other
    # cluster): divided only where the denominator is positive and finite, so there is
    # nothing to silence (np.errstate cost more than the division).
    larger = np.maximum(a, b)
    scores = np.divide(
        b - a, larger, out=np.zeros_like(larger), where=(larger > 0.0) & (larger < np.inf)
    )
    scores = np.where(own <= 1.0, 0.0, scores)
    total = w.sum()
    # Each row summed alone, as row.sum() would (pairwise, along the contiguous row).
    means: list[float] = (np.add.reduce(scores * w, axis=1) / total).tolist()
    return means


def _kmeans_plus_plus(
    points: FloatArray, weights: FloatArray, k: int, count: int, rng: np.random.Generator
) -> FloatArray:
    """`count` seeded k-means++ starts (count x k x dims; NaN rows when points run out)."""
    return _kmeans_plus_plus_for(points, weights, [k], count, rng)


def _kmeans_plus_plus_for(
    points: FloatArray,
    weights: FloatArray,
    ks: Sequence[int],
    count: int,
    rng: np.random.Generator,
    pairwise: FloatArray | None = None,
) -> FloatArray:
    """`count` seeded k-means++ starts for each k of `ks` in turn (len(ks)·count x
    max(ks) x dims; NaN rows for the centres a start does not have).

    Drawn together, but from the same random numbers, in the same order, as `count`
    one-at-a-time starts per k using `rng.choice(n, p=...)` (one uniform per pick,
    inverted through the normalised cumulative sum). `pairwise`, when given, is
    _squared_distances(points, points): the picks' distances are then its rows (the
    same floats) instead of being computed at every pick.
    """
    highest = max(ks)
    runs = count * len(ks)
    uniforms = np.zeros((highest, runs))  # pick step x run: each step reads one row
    for i, k in enumerate(ks):
        uniforms[:k, i * count : (i + 1) * count] = rng.random(count * k).reshape(count, k).T
    wanted = np.repeat(np.asarray(ks), count)
    starts = np.full((runs, highest, points.shape[1]), np.nan)
    coordinates = np.ascontiguousarray(points.T)  # contiguous rows for the broadcasts

    def squared_distances(picked: FloatArray) -> FloatArray:
        # _squared_distances(points, picked.T) (picked x points) for picked coordinates
        # (dims x picked), the same arithmetic on contiguous coordinate rows.
        total: FloatArray = np.subtract(coordinates[0], picked[0][:, None])
        total *= total
        for d in range(1, len(coordinates)):
            step = np.subtract(coordinates[d], picked[d][:, None])
            step *= step
            total += step
        return total

    # The first pick weighs every run alike: one cumulative sum, the same floats. The
    # count of cdf <= u is the insertion point after equal values (cdf never decreases).
    total = np.add.reduce(weights)  # as weights[None, :].sum(axis=1), in the same order
    cdf = (weights / total).cumsum()
    cdf /= cdf[-1]
    chosen = cdf.searchsorted(uniforms[0], side="right")
    picked = coordinates[:, chosen]
    starts[:, 0] = picked.T
    # Later picks only for the runs that still want one and whose points have not run
    # out (weighted distance left): a run's arithmetic is its own, so leaving the others
    # out changes no float, and the nearest distance never grows, so a run that ran out
    # stays out. `rows` are those runs, `wanted` and `draws` their k and uniforms.
    rows = np.arange(runs)
    draws = uniforms
    nearest = squared_distances(picked) if pairwise is None else pairwise[chosen]
    for step in range(1, highest):
        mass = nearest * weights
        total = np.add.reduce(mass, axis=1)
        picking = (total > 0) & (wanted > step)
        if not picking.all():
            rows, wanted, draws = rows[picking], wanted[picking], draws[:, picking]
            mass, total, nearest = mass[picking], total[picking], nearest[picking]
            if len(rows) == 0:
                break
        # The count of cdf <= u is a sum of booleans in one reduction (count_nonzero
        # with an axis is several numpy calls).
        cdf = (mass / total[:, None]).cumsum(axis=1)
        cdf /= cdf[:, -1:]
        chosen = np.add.reduce(cdf <= draws[step][:, None], axis=1, dtype=np.int64)
        picked = coordinates[:, chosen]
        starts[rows, step] = picked.T
        if step + 1 < highest:
            farther = squared_distances(picked) if pairwise is None else pairwise[chosen]
            np.minimum(nearest, farther, out=nearest)
    return starts


def group_clusters(
    centers: FloatArray,
    sizes: FloatArray,
    options: Options,
    warm: dict[int, FloatArray] | None = None,
) -> tuple[IntArray, int, dict[int, float]]:
    """Groups of base clusters, k in 2..min(max_k, 2 + n_base // 12) chosen by silhouette."""
    n_base = len(centers)
    if n_base == 0:
        return np.zeros(0, dtype=np.int64), 0, {}
    if n_base < 3:
        # Too few base clusters to compare clusterings: one group.
        return np.zeros(n_base, dtype=np.int64), 1, {}
    highest = min(options.max_k, 2 + n_base // 12, n_base - 1)
    ks = list(range(2, highest + 1))
    count = options.group_restarts
    # Squared distances between base centres: the k-means++ picks' distances are its
    # rows, and the silhouettes take their square roots.
    distances = _squared_distances(centers, centers)
    plus = _kmeans_plus_plus_for(centers, sizes, ks, count, _seeded(options.seed), distances)
    if options.group_start == "polis":
        # Polis's cold start (init-clusters, research/polis-math.md 1.7-1.8): the first k
        # distinct points, here base centres in base-cluster order, ahead of the restarts.
        head = centers[:highest]
        if np.count_nonzero((head[:, None, :] != head[None, :, :]).any(axis=2)) == highest * (
            highest - 1
        ):
            # The first rows are distinct (base centres nearly always are): they are the
            # first distinct ones, without sorting every row.
            first = np.arange(highest)
        else:
            first = _first_rows(centers)
        polis = np.full((len(ks), 1, highest, centers.shape[1]), np.nan)
        for i, k in enumerate(ks):
            polis[i, 0, : min(k, len(first))] = centers[first[:k]]
        plus = np.concatenate([polis, plus.reshape(len(ks), count, highest, -1)], axis=1)
        plus = plus.reshape(-1, highest, centers.shape[1])
        count += 1
    # Every (k, start) pair runs in one batch, padded to the largest k with absent centres;
    # for each k its warm start (if any) comes first, so it wins ties.
    batch: list[FloatArray] = []
    owner: list[int] = []
    for i, k in enumerate(ks):
        if warm is not None and k in warm:
            batch.append(_padded(warm[k][None], highest))
            owner.append(k)
        batch.append(plus[i * count : (i + 1) * count])
        owner += [k] * count
    labels, fitted, present = _lloyd_batch(
        centers, np.concatenate(batch), sizes, options.group_iterations
    )
    runs = len(owner)
    # Each run's squared distances of the base centres to their own group centre, as
    # _squared_norms(centers - fitted[run, labels]) but a coordinate at a time on
    # contiguous runs x points arrays (the same differences, squares and order).
    slot = labels + (np.arange(runs) * highest)[:, None]
    coordinates = centers.T
    misfit = np.subtract(coordinates[0], fitted[:, :, 0].ravel().take(slot))
    misfit *= misfit
    for d in range(1, centers.shape[1]):
        step = np.subtract(coordinates[d], fitted[:, :, d].ravel().take(slot))
        step *= step
        misfit += step
    inertia = np.add.reduce(sizes * misfit, axis=1)  # as .sum(axis=1)
    # Pairwise distances between base centres, shared by every k's silhouette.
    np.sqrt(distances, out=distances)
    weights = sizes if options.weighted_silhouette else None
    best: tuple[float, int, IntArray] | None = None
    scores: dict[int, float] = {}
    inertias = inertia.tolist()  # Python floats: the same values, cheaper to compare
    runs_of: dict[int, list[int]] = {k: [] for k in ks}
    for run, k in enumerate(owner):
        runs_of[k].append(run)
    candidates: list[tuple[int, IntArray]] = []
    for k in ks:
        chosen = runs_of[k][0]
        for run in runs_of[k][1:]:
            if _better(inertias[run], inertias[chosen], options):
                chosen = run
        # Renumber the centres that kept members 0..j-1 (nothing to do when all k did).
        if present[chosen, :k].all():
            k_labels = labels[chosen]
        else:
            k_labels = (np.cumsum(present[chosen]) - 1)[labels[chosen]]
        if k_labels.max() + 1 >= 2:
            candidates.append((k, k_labels))
    labelings = [k_labels for _, k_labels in candidates]
    silhouettes = _silhouettes(distances, labelings, weights) if candidates else []
    for (k, k_labels), score in zip(candidates, silhouettes, strict=True):
        scores[k] = score
        if best is None or score > best[0] + 1e-12:
            best = (score, k, k_labels)
    if best is None:
        return np.zeros(n_base, dtype=np.int64), 1, scores
    return best[2], int(best[2].max()) + 1, scores


_SEEDS: dict[int, np.random.SeedSequence] = {}


def _seeded(seed: int) -> np.random.Generator:
    """np.random.default_rng(seed): the same generator in the same state, from a
    SeedSequence kept per seed (building it was most of default_rng's 6 µs)."""
    sequence = _SEEDS.get(seed)
    if sequence is None:
        sequence = np.random.SeedSequence(seed)
        if len(_SEEDS) < 64:  # one seed in practice; bounded all the same
            _SEEDS[seed] = sequence
    return np.random.Generator(np.random.PCG64(sequence))


def _better(inertia: float, incumbent: float, options: Options, tie: float = 0.0) -> bool:
    """Whether a later k-means start replaces the incumbent (an earlier one: warm, then
    Polis's own start or the two-level solution, then k-means++ restarts).

    With group_start="polis" a restart must lower the inertia by more than
    options.restart_gain: solutions that close fit equally well, and the earlier start
    is the one Polis itself would reach. The restarts are still needed: a deterministic
    start can stick in a clearly worse optimum (1,000,000 planted participants: twice
    the inertia at k = 3, which then wrongly chose k = 4). With "kmeans++" the lowest
    inertia wins, earlier starts only keeping exact ties (`tie`, relative; absolute
    1e-12 when 0).
    """
    if options.group_start == "polis":
        return inertia < incumbent * (1.0 - options.restart_gain)
    if tie:
        return inertia < incumbent * (1.0 - tie)
    return inertia < incumbent - 1e-12


def _padded(starts: FloatArray, k: int) -> FloatArray:
    """Starts (runs x j x dims) padded with absent (NaN) centres to runs x k x dims."""
    out = np.full((starts.shape[0], k, starts.shape[2]), np.nan)
    out[:, : starts.shape[1]] = starts
    return out


def refine_groups(
    points: FloatArray,
    labels: IntArray,
    k: int,
    options: Options,
    warm: dict[int, FloatArray] | None = None,
) -> IntArray:
    """Settle the k groups on the participants themselves.

    Base clusters make choosing k cheap, but a group boundary drawn between base
    centres can cut through a dense region. Lloyd on the participants, started from the
    warm start, the two-level solution and seeded k-means++ starts, keeps the best (see
    _better); on the openData conversations this is what brings agreement with Polis up
    to red-dwarf's level (docs/benchmarks.md).
    """
    rng = _seeded(options.seed)
    # Starts are compared on a seeded sample of at most 20,000 participants (enough to
    # rank local optima); only the winner is run on everyone.
    sample = points
    if len(points) > 20_000:
        sample = points[rng.choice(len(points), 20_000, replace=False)]
    counts = np.bincount(labels, minlength=k)
    if len(counts) == k and counts.all():
        # Each group's mean, summed in point order as np.mean along axis 0 does.
        means = np.empty((k, points.shape[1]))
        for d in range(points.shape[1]):
            means[:, d] = np.bincount(labels, weights=points[:, d], minlength=k) / counts
        starts = [means[None]]
    else:
        starts = [np.stack([points[labels == g].mean(axis=0) for g in range(k)])[None]]
    if warm is not None and k in warm:
        starts.insert(0, warm[k][None])
    ones = np.ones(len(sample))
    starts.append(_kmeans_plus_plus(sample, ones, k, options.group_restarts, rng))
    labels_of, centers_of, present = _lloyd_batch(
        sample, np.concatenate(starts), ones, options.group_iterations
    )
    runs = len(centers_of)
    # A start that lost a group answers a different question: all k centres must remain,
    # and the last one must keep members in the final assignment.
    complete = np.logical_and.reduce(present, axis=1) & (
        np.maximum.reduce(labels_of, axis=1) == k - 1
    )
    # Each run's sum over its own contiguous row, as a sum of that run's array alone.
    slot = labels_of + (np.arange(runs) * k)[:, None]
    misfit = (sample[None, :, :] - centers_of.reshape(-1, sample.shape[1]).take(slot, axis=0)) ** 2
    inertias = np.add.reduce(misfit.reshape(runs, -1), axis=1).tolist()  # as .sum(axis=1)
    best: tuple[float, FloatArray] | None = None
    for run in complete.nonzero()[0].tolist():
        # Earlier starts (warm, then two-level) win ties, for stability (see _better).
        if best is None or _better(inertias[run], best[0], options, tie=1e-9):
            best = (inertias[run], centers_of[run])
    if best is None:
        return labels
    found, _ = _lloyd(points, best[1], np.ones(len(points)), options.group_iterations)
    if int(found.max()) + 1 < k:
        return labels
    return found


def _canonical_labels(labels: IntArray, weights: FloatArray) -> IntArray:
    """Renumber groups largest first (ties: first appearance), so ids do not depend on
    the k-means start."""
    n = int(labels.max()) + 1
    mass = np.bincount(labels, weights=weights, minlength=n)
    first = np.full(n, len(labels))
    np.minimum.at(first, labels, np.arange(len(labels)))
    order = np.lexsort((first, -mass))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank[labels]


def _match_previous(labels: IntArray, previous: IntArray, k: int) -> IntArray:
    """Renumber groups to overlap most with the previous map's ids (stable display)."""
    from scipy.optimize import linear_sum_assignment

    both = (labels >= 0) & (previous >= 0)
    if not both.any():
        return labels
    size = max(k, int(previous.max()) + 1)
    overlap = np.zeros((k, size))
    np.add.at(overlap, (labels[both], previous[both]), 1.0)
    rows, cols = linear_sum_assignment(-overlap)
    mapping = np.arange(k)
    taken = set(cols.tolist())
    spare = iter(j for j in range(size + k) if j not in taken)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        mapping[r] = c
    for r in range(k):
        if r not in rows:
            mapping[r] = next(spare)
    # Keep ids compact (0..k-1) when the previous map had more groups.
    order = np.argsort(mapping, kind="stable")
    compact = np.empty(k, dtype=np.int64)
    compact[order] = np.arange(k)
    result = labels.copy()
    result[labels >= 0] = compact[labels[labels >= 0]]
    return result


def _aligned(previous: OpinionMap, ids: IntArray, values: NDArray[np.int64], fill: int) -> IntArray:
    """Previous per-participant values re-indexed onto the current participant ids."""
    out = np.full(len(ids), fill, dtype=np.int64)
    position = np.searchsorted(previous.participant_ids, ids)
    position = np.minimum(position, len(previous.participant_ids) - 1)
    found = (
        previous.participant_ids[position] == ids
        if len(previous.participant_ids)
        else np.zeros(len(ids), bool)
    )
    out[found] = values[position[found]]
    return out


def compute_opinion_map(
    votes: Votes,
    *,
    moderated_out: Iterable[int] = (),
    meta: Iterable[int] = (),
    statements: Iterable[int] | None = None,
    options: Options | None = None,
    previous: OpinionMap | None = None,
) -> OpinionMap:
    """Compute the opinion map of a conversation from its votes.

    `votes` may hold re-votes (latest by time wins). `statements` lists statements that
    have no votes yet, so that they get a priority. `previous` warm-starts from an earlier
    map of the same conversation for stable groups; the result is still deterministic.
    """
    with _one_blas_thread():
        return _compute(
            votes,
            moderated_out=frozenset(int(s) for s in moderated_out),
            meta=frozenset(int(s) for s in meta),
            statements=statements,
            options=options or Options(),
            previous=previous,
        )


_blas: ThreadpoolController | None = None


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run BLAS single-threaded.

    Every BLAS call here is small (vectors of a few thousand, 2-D points), too small
    for threads to pay off; on a loaded 2-core machine OpenBLAS threads waiting for a
    core stalled such calls for tens of milliseconds, and a web server runs one process
    per core anyway. The controller is built once (it scans the loaded libraries, 2 ms);
    limiting through it then costs microseconds.
    """
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        yield


def _compute(
    votes: Votes,
    *,
    moderated_out: frozenset[int],
    meta: frozenset[int],
    statements: Iterable[int] | None,
    options: Options,
    previous: OpinionMap | None,
) -> OpinionMap:
    watch = _Stopwatch()

    with watch.stage("matrix"):
        matrix = build_matrix(votes, moderated_out, meta, statements)
        raw = matrix  # its CSR arrays
        n_participants, n_statements = raw.shape
        vote_counts = (raw.indptr[1:] - raw.indptr[:-1]).astype(np.int64)
        column_active = matrix.active[raw.indices]
        voted_active = np.bincount(raw.indices, minlength=n_statements).astype(np.float64)
        sums = np.bincount(raw.indices, weights=raw.data, minlength=n_statements)
        center = np.where(
            matrix.active & (voted_active > 0), sums / np.maximum(voted_active, 1.0), 0.0
        )
        # Centred votes; inactive statements are all zero in Polis's rating matrix, so after
        # centring they contribute nothing and are dropped from the structure.
        centred_data = np.where(column_active, raw.data - center[raw.indices], 0.0)
        stored = centred_data != 0.0
        n_stored = int(np.count_nonzero(stored))
        used = (np.bincount(raw.indices[stored], minlength=n_statements) > 0).nonzero()[0]
        centred: sp.csr_array | FloatArray
        sparse: sp.csr_array | None = None  # the eliminated CSR matrix, when built
        if n_participants * len(used) <= DENSE_PCA and n_stored <= COUNTED_PRODUCT:
            # Small, few votes: the dense matrix for the PCA (see principal_components) is
            # written directly and the projection summed below, with no scipy matrix
            # (building one, dropping its zeros and its product were ~40 µs of dispatch).
            owner = np.arange(n_participants).repeat(vote_counts)[stored]
            stored_data, stored_columns = centred_data[stored], raw.indices[stored]
            centred = np.zeros(raw.shape)
            centred.ravel()[owner * n_statements + stored_columns] = stored_data  # flat: 2x quicker
        else:
            # Copies of the index arrays: eliminate_zeros works in place and must not
            # touch raw.
            sparse = sp.csr_array(
                (centred_data, raw.indices.copy(), raw.indptr.copy()), shape=raw.shape
            )
            sparse.eliminate_zeros()
            centred = sparse.toarray() if n_participants * len(used) <= DENSE_PCA else sparse

    with watch.stage("in_conversation"):
        already = None
        if previous is not None:
            already = (
                _aligned(
                    previous, matrix.participant_ids, previous.in_conversation.astype(np.int64), 0
                )
                > 0
            )
        members = in_conversation(vote_counts, matrix.n_columns, options, already)

    with watch.stage("pca"):
        start = None
        if previous is not None:
            start = _previous_components(previous, matrix.statement_ids, options.n_components)
        components = principal_components(centred, options.n_components, options.seed, start, used)
        components = _fix_sign(components, start)
        # Polis counts zeroed moderated-out cells as votes when scaling (section 1.6).
        # Every participant row holds at least one vote, so reduceat never sees an empty row.
        if matrix.n_inactive_columns == 0:
            active_votes = vote_counts  # every vote is on an active statement
        elif len(raw.data):
            active_votes = np.add.reduceat(column_active, raw.indptr[:-1], dtype=np.int64)
        else:
            active_votes = np.zeros(n_participants, dtype=np.int64)
        n_scaled = active_votes + matrix.n_inactive_columns
        scale = np.sqrt(matrix.n_columns / np.maximum(n_scaled, 1.0))
        if sparse is None:
            # centred @ components.T as scipy's sparse product sums it: each row's stored
            # entries in column order, from 0 (bincount adds in the same order; the same
            # floats on every openData conversation and random matrices).
            product = np.empty((n_participants, len(components)))
            for d, component in enumerate(components):
                product[:, d] = np.bincount(
                    owner, weights=stored_data * component[stored_columns], minlength=n_participants
                )
        else:
            product = np.asarray(sparse @ components.T)
        projection = product * scale[:, None]
        statement_projection = np.sqrt(matrix.n_columns) * (1.0 - center)[:, None] * components.T
        extremity = np.sqrt(np.add.reduce(statement_projection**2, axis=1))  # as .sum(axis=1)

    with watch.stage("clustering"):
        member_index = members.nonzero()[0]
        points = projection[member_index]
        previous_base = None
        warm_groups = None
        previous_group = None
        if previous is not None:
            previous_base = _aligned(previous, matrix.participant_ids, previous.base_label, -1)[
                member_index
            ]
            previous_group = _aligned(previous, matrix.participant_ids, previous.group, -1)[
                member_index
            ]
        base_label_members, base_centers = base_clusters(points, options, previous_base)
        base_sizes = np.bincount(base_label_members, minlength=len(base_centers)).astype(np.float64)
        if previous_group is not None and np.any(previous_group >= 0) and previous is not None:
            warm_groups = _warm_group_centers(points, previous_group, previous.k)
        group_of_base, k, silhouettes = group_clusters(
            base_centers, base_sizes, options, warm_groups
        )
        group_members = (
            group_of_base[base_label_members] if len(base_label_members) else base_label_members
        )
        if k > 1:
            group_members = refine_groups(points, group_members, k, options, warm_groups)
        if k > 0:
            group_members = _canonical_labels(group_members, np.ones(len(group_members)))
            if previous_group is not None:
                group_members = _match_previous(group_members, previous_group, k)
        base_label = np.full(n_participants, -1, dtype=np.int64)
        base_label[member_index] = base_label_members
        group = np.full(n_participants, -1, dtype=np.int64)
        group[member_index] = group_members

    with watch.stage("statistics"):
        # Each vote's kind: 0 disagree, 2 agree, 1 anything else (a pass).
        kind = (raw.data == 1.0).astype(np.int64)
        kind -= raw.data == -1.0
        kind += 1
        # Kind x group x statement tallies as counts of one code per vote: sparse products
        # cost more in scipy's dispatch than the counting itself, and one count of
        # (kind, ...) codes fewer calls than one count per kind.
        row_group = np.full(n_participants, -1, dtype=np.int64)
        row_group[member_index] = group_members
        vote_group = row_group.repeat(vote_counts)
        counted = vote_group >= 0
        cell = (kind * (k * n_statements) + vote_group * n_statements + raw.indices)[counted]
        by_kind = np.bincount(cell, minlength=3 * k * n_statements).reshape(3, k, n_statements)
        disagree_g, agree_g = by_kind[0], by_kind[2]
        seen_g = np.add.reduce(by_kind, axis=0)
        everyone = np.bincount(
            kind * n_statements + raw.indices, minlength=3 * n_statements
        ).reshape(3, n_statements)
        disagree_all, agree_all = everyone[0], everyone[2]
        seen_all = np.add.reduce(everyone, axis=0)

        eligible = matrix.active
        repness = stats.select_all_repness(
            agree_g,
            disagree_g,
            seen_g,
            matrix.statement_ids,
            eligible,
            pick=options.pick_repness,
            z=options.z_threshold,
        )
        consensus = stats.select_consensus(
            agree_all,
            disagree_all,
            seen_all,
            matrix.statement_ids,
            eligible,
            pick=options.pick_consensus,
            z=options.z_threshold,
        )
        if k > 0:
            gac = stats.group_informed_consensus(agree_g, seen_g)
            tally = (
                np.add.reduce(agree_g, axis=0),
                np.add.reduce(disagree_g, axis=0),
                np.add.reduce(seen_g, axis=0),
            )
        else:
            # No groups yet: the whole conversation is the only group.
            gac = stats.group_informed_consensus(agree_all[None, :], seen_all[None, :])
            tally = (agree_all, disagree_all, seen_all)
        is_meta, is_out = matrix.is_meta, matrix.is_out
        priorities = stats.priority(
            *tally, extremity, is_meta, is_out, meta_priority=options.meta_priority
        )

    return OpinionMap(
        participant_ids=readonly(matrix.participant_ids),
        statement_ids=readonly(matrix.statement_ids),
        center=readonly(center),
        components=readonly(components),
        participant_projection=readonly(projection),
        statement_projection=readonly(statement_projection),
        extremity=readonly(extremity),
        in_conversation=readonly(members),
        base_label=readonly(base_label),
        base_centers=readonly(base_centers),
        group=readonly(group),
        k=k,
        silhouette=silhouettes,
        group_stats=StatementStats(
            agree=readonly(agree_g),
            disagree=readonly(disagree_g),
            seen=readonly(seen_g),
            members=readonly(np.bincount(group_members, minlength=k).astype(np.int64)),
        ),
        repness=repness,
        consensus=consensus,
        group_informed_consensus=readonly(gac),
        priority=readonly(priorities),
        moderated_out=moderated_out,
        meta=meta,
        timings=watch.timings,
    )


def _previous_components(previous: OpinionMap, statement_ids: IntArray, n: int) -> FloatArray:
    start = np.zeros((n, len(statement_ids)))
    common, here, there = np.intersect1d(statement_ids, previous.statement_ids, return_indices=True)
    rows = min(n, previous.components.shape[0])
    if len(common):
        start[:rows, here] = previous.components[:rows, there]
    return start


def _warm_group_centers(
    points: FloatArray, previous_group: IntArray, k: int
) -> dict[int, FloatArray]:
    labels = [g for g in range(k) if np.any(previous_group == g)]
    if len(labels) < 2:
        return {}
    centers = np.stack([points[previous_group == g].mean(axis=0) for g in labels])
    return {len(labels): centers}
