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
from scipy.linalg import eigh, eigh_tridiagonal
from scipy.linalg.lapack import dstevd
from scipy.sparse.linalg import LinearOperator, eigsh
from threadpoolctl import ThreadpoolController

from . import stats
from .model import (
    FloatArray,
    IntArray,
    OpinionMap,
    Options,
    RepStatement,
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


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True, slots=True)
class _Matrix:
    """The vote matrix in CSR form plus what the later stages need from it."""

    participant_ids: IntArray
    statement_ids: IntArray
    votes: sp.csr_array  # participants x statements, values +1/-1/0, every vote stored
    active: NDArray[np.bool_]  # statement neither moderated out nor meta
    n_columns: int  # statements with at least one vote (Polis's N_c)
    n_inactive_columns: int  # moderated-out or meta statements with at least one vote


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
        position = np.cumsum(present, dtype=np.int64) - 1
        return np.flatnonzero(present).astype(np.int64), position[ids]
    unique, inverse = np.unique(ids, return_inverse=True)
    return unique.astype(np.int64), inverse.astype(np.int64)


def _marked(sorted_ids: IntArray, members: Iterable[int]) -> NDArray[np.bool_]:
    """np.isin(sorted_ids, members) for sorted distinct ids: a binary search per member
    (usually none to a handful) instead of np.isin's sort of both, ~20 numpy calls."""
    out = np.zeros(len(sorted_ids), dtype=bool)
    wanted = np.fromiter(members, dtype=np.int64)
    if len(wanted) and len(sorted_ids):
        at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
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

    coded: sp.csr_array
    key = participant_code * shape[1] + statement_code
    if len(key) and bool(np.all(key[1:] > key[:-1])):
        # Already in row order without repeats (votes read from a participants x
        # statements file are): the CSR arrays are the votes themselves.
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(participant_code, minlength=shape[0]), out=indptr[1:])
        coded = sp.csr_array((votes.value.astype(np.float64), statement_code, indptr), shape=shape)
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

    active = ~_marked(statement_ids, {*moderated_out, *meta})
    has_votes = np.bincount(coded.indices, minlength=shape[1]) > 0
    return _Matrix(
        participant_ids=participant_ids,
        statement_ids=statement_ids,
        votes=coded,
        active=active,
        n_columns=int(has_votes.sum()),
        n_inactive_columns=int((has_votes & ~active).sum()),
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
    shortfall = options.min_in_conversation - int(members.sum())
    if shortfall > 0:
        # Most votes first; stable so ties go to the earlier participant.
        candidates = np.flatnonzero(~members)
        ranked = candidates[np.argsort(-vote_counts[candidates], kind="stable")]
        members[ranked[:shortfall]] = True
    return members


def _fix_sign(components: FloatArray, reference: FloatArray | None) -> FloatArray:
    """Components have arbitrary sign; pin it so maps do not flip between runs."""
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
    centred: sp.csr_array, n_components: int, seed: int, start: FloatArray | None = None
) -> FloatArray:
    """Top eigenvectors of XᵀX for the sparse, exactly centred X, as rows.

    Lanczos on the operator v -> Xᵀ(Xv) (see _lanczos; ARPACK if that does not converge):
    the same fixed point as Polis's power iteration, reached in far fewer products, and
    XᵀX is never formed, except for a small dense X (up to DENSE_EIGH statements),
    where eigh on XᵀX is quicker than the Lanczos steps.
    """
    n_statements = centred.shape[1]
    components = np.zeros((n_components, n_statements))
    used = np.flatnonzero(np.bincount(centred.indices, minlength=n_statements) > 0)
    if len(used) == 0:
        return components
    x: sp.csr_array | FloatArray
    xt: sp.csr_array | FloatArray
    if centred.shape[0] * len(used) <= DENSE_PCA:
        # Small matrices: a dense product is a single BLAS call, where each sparse one
        # costs ~10 µs of scipy dispatch; a 340 x 60 conversation makes ~30 of them.
        dense = centred.toarray()
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
        _, vectors = eigh(gram, subset_by_index=[size - k, size - 1], driver="evr")
        components[:k, used] = vectors[:, ::-1].T
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
    one matrix product of the points with a 1 appended (`lifted`, reusable across Lloyd
    steps) and the centres' -2c with ||c||² appended. Blocks of 2,048 points keep the
    points x centres scratch array in cache (base clustering has 100 centres).
    """
    if lifted is None:
        lifted = _lifted(points)
    dims = centers.shape[1]
    # Written in place rather than stacked: np.vstack is several calls of Python.
    shift = np.empty((dims + 1, len(centers)))
    np.multiply(centers.T, -2.0, out=shift[:dims])
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
    along, across = points.T, others.T[:, :, None]  # coordinate-major views
    total: FloatArray = np.subtract(along[0], across[0])
    total *= total
    for d in range(1, points.shape[1]):
        step = np.subtract(along[d], across[d])
        step *= step
        total += step
    return total


def _lifted(points: FloatArray) -> FloatArray:
    return np.column_stack([points, np.ones(len(points))])


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
        converged = bool(np.maximum.reduce(np.abs(moved - centers), axis=None) < 0.01)
        centers = moved
        if converged:
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
    reason each step below is as few array operations as possible, and on large batches
    none of them works along a short axis (argmin over 5 centres, or a comparison
    broadcast against an int64 range, cost more per element than the products).
    """
    runs, k, dims = starts.shape
    n = len(points)
    missing = np.isnan(starts)
    centers = np.where(missing, 0.0, starts)  # np.nan_to_num, without its Python overhead
    active = ~missing[:, :, 0]
    # Columns: weight, then weight x each coordinate; one matmul gives mass and sums.
    stacked = np.column_stack([weights, weights[:, None] * points])
    lifted_t = np.ascontiguousarray(_lifted(points).T)
    # Up to one block of OpenBLAS's inner dimension (256) a product sums each entry in
    # point order whatever the shape of the call, so every run's one-hot rows can go in
    # one 2-D product instead of one product per run: the same floats (checked on every
    # openData conversation and 2,000 random shapes); longer sums are blocked, and keep
    # the per-run form.
    flat_totals = n <= 256
    slots = np.arange(k, dtype=np.int8)[None, :, None]  # compared with int8 labels
    wide_slots = np.arange(k)[None, :, None]  # with argmin's int64 ones

    def distances(centers: FloatArray, absent: FloatArray | None) -> FloatArray:
        # Rows are (run, slot) pairs, centres run-major (live·k x dims). As in _nearest,
        # -2 p·c + ||c||² in one product, absent centres infinitely far. The squared
        # norm is summed in _squared_norms's order, so the floats match; a product of
        # three terms per entry is the same whether the runs go in one 2-D call or one
        # call per run, and one call is cheaper.
        shift = np.empty((len(centers), dims + 1))
        np.multiply(centers, -2.0, out=shift[:, :dims])
        squares = centers * centers
        norms = shift[:, dims]
        if dims == 2:
            np.add(squares[:, 0], squares[:, 1], out=norms)
        else:
            np.copyto(norms, squares[:, 0])
            for d in range(1, dims):
                norms += squares[:, d]
        if absent is not None:
            norms += absent
        return (shift @ lifted_t).reshape(-1, k, n)

    def nearest(distance: FloatArray) -> NDArray[np.integer]:
        if k == 2:
            # argmin over an axis of 2 runs one tiny loop per point; a comparison does
            # the same (ties to the first centre) in one pass.
            return (distance[:, 1] < distance[:, 0]).view(np.int8)
        return distance.argmin(axis=1)

    def onehot(distance: FloatArray) -> FloatArray:
        # runs x k x points: 1.0 where the point's nearest centre is that slot.
        if k == 2:
            member: FloatArray = (nearest(distance)[:, None, :] == slots).astype(np.float64)
            return member
        if len(distance) * n <= 256:
            closest = nearest(distance)[:, None, :] == wide_slots
        else:
            # Equal to the minimum over the slots is the nearest centre unless two slots
            # tie exactly; argmin then picks the first, so a tie (rare) takes that path.
            # argmin walks the short slot axis slowly: 3 times slower on 36 x 5 x 100.
            closest = distance == np.minimum.reduce(distance, axis=1)[:, None, :]
            if np.count_nonzero(closest) != len(closest) * n:
                closest = nearest(distance)[:, None, :] == wide_slots
        member = closest.astype(np.float64)
        return member

    def absent_of(present: NDArray[np.bool_]) -> FloatArray | None:
        return _ABSENT_OFFSET[present.view(np.int8)] if not present.all() else None

    # Only runs still moving are iterated: starts converge after 3 to 30 steps, and
    # carrying finished runs along made every step cost as much as the slowest run's.
    # The state is kept flat, one row per (run, slot).
    live = np.arange(runs)
    moving, moving_active = centers.reshape(-1, dims), active.reshape(-1)
    absent = absent_of(moving_active)
    n_present = int(np.count_nonzero(moving_active))
    for _ in range(iterations):
        member = onehot(distances(moving, absent))
        if flat_totals:
            totals = member.reshape(-1, n) @ stacked
        else:
            totals = (member @ stacked).reshape(-1, dims + 1)
        mass = totals[:, 0]
        keep = mass > 0
        # A slot that lost its members keeps its old place but leaves the run (as in
        # Polis, the run goes on without it); absent slots never gain members.
        moved = np.divide(totals[:, 1:], mass[:, None], out=moving.copy(), where=keep[:, None])
        change = np.abs(moved - moving)
        # Polis's convergence test: every centre moved less than 0.01.
        finished = np.maximum.reduce(change.reshape(len(live), -1), axis=1) < 0.01
        moving = moved
        if np.count_nonzero(keep) != n_present:
            # Some slot lost its members (rare): that run is not finished.
            finished &= ~np.logical_or.reduce((moving_active > keep).reshape(len(live), k), axis=1)
            absent = absent_of(keep)
            n_present = int(np.count_nonzero(keep))
        moving_active = keep
        if finished.any():
            done = live[finished]
            centers[done] = moving.reshape(-1, k, dims)[finished]
            active[done] = keep.reshape(-1, k)[finished]
            still = np.repeat(~finished, k)
            live = live[~finished]
            if len(live) == 0:
                break
            moving, moving_active = moving[still], moving_active[still]
            absent = absent[still] if absent is not None else None
            n_present = int(np.count_nonzero(moving_active))
    if len(live):  # runs stopped by the iteration limit
        centers[live] = moving.reshape(-1, k, dims)
        active[live] = moving_active.reshape(-1, k)
    final = distances(centers.reshape(-1, dims), absent_of(active.reshape(-1)))
    return np.asarray(nearest(final), dtype=np.int64), centers, active


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
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    return np.sort(order[new])


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
    offsets = np.cumsum([0, *counts[:-1]])
    codes = np.stack(labelings) + offsets[:, None]  # labelings x points, column indices
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
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = (b - a) / np.maximum(a, b)
    scores = np.where((own <= 1.0) | ~np.isfinite(scores), 0.0, scores)
    total = w.sum()
    return [float(row.sum() / total) for row in scores * w]


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
) -> FloatArray:
    """`count` seeded k-means++ starts for each k of `ks` in turn (len(ks)·count x
    max(ks) x dims; NaN rows for the centres a start does not have).

    Drawn together, but from the same random numbers, in the same order, as `count`
    one-at-a-time starts per k using `rng.choice(n, p=...)` (one uniform per pick,
    inverted through the normalised cumulative sum).
    """
    highest = max(ks)
    runs = count * len(ks)
    uniforms = np.zeros((highest, runs))  # pick step x run: each step reads one row
    for i, k in enumerate(ks):
        uniforms[:k, i * count : (i + 1) * count] = rng.random(count * k).reshape(count, k).T
    wanted = np.repeat(np.asarray(ks), count)
    starts = np.full((runs, highest, points.shape[1]), np.nan)

    def pick(mass: FloatArray, total: FloatArray, u: FloatArray) -> IntArray:
        # mass: one row per run, or a single row shared by every run; total: its row
        # sums (as mass.sum(axis=1), computed once for the liveness test too). The
        # count of cdf <= u is a sum of booleans in one reduction (count_nonzero with an
        # axis is several numpy calls).
        cdf = np.cumsum(mass / total[:, None], axis=1)
        cdf /= cdf[:, -1:]
        picked: IntArray = np.add.reduce(cdf <= u[:, None], axis=1, dtype=np.int64)
        return picked

    # The first pick weighs every run alike: one row of arithmetic, the same floats.
    first = weights[None, :]
    chosen = pick(first, np.add.reduce(first, axis=1), uniforms[0])
    starts[:, 0] = points[chosen]
    nearest = _squared_distances(points, points[chosen])
    alive = np.ones(runs, dtype=bool)
    for step in range(1, highest):
        mass = nearest * weights
        total = np.add.reduce(mass, axis=1)
        alive &= total > 0
        picking = alive & (wanted > step)
        if not np.logical_or.reduce(picking):
            break
        if not np.logical_and.reduce(alive):
            # Runs whose points ran out pick from a dummy row; their picks are dropped.
            mass = np.where(alive[:, None], mass, 1.0)
            total = np.add.reduce(mass, axis=1)
        chosen = pick(mass, total, uniforms[step])
        starts[picking, step] = points[chosen[picking]]
        np.minimum(nearest, _squared_distances(points, points[chosen]), out=nearest)
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
    plus = _kmeans_plus_plus_for(centers, sizes, ks, count, np.random.default_rng(options.seed))
    if options.group_start == "polis":
        # Polis's cold start (init-clusters, research/polis-math.md 1.7-1.8): the first k
        # distinct points, here base centres in base-cluster order, ahead of the restarts.
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
    nearest_center = fitted[np.arange(runs)[:, None], labels]
    inertia = (sizes * _squared_norms(centers[None, :, :] - nearest_center)).sum(axis=1)
    # Pairwise distances between base centres, shared by every k's silhouette.
    distances = np.sqrt(_squared_distances(centers, centers))
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
        # Renumber the centres that kept members 0..j-1.
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
    rng = np.random.default_rng(options.seed)
    # Starts are compared on a seeded sample of at most 20,000 participants (enough to
    # rank local optima); only the winner is run on everyone.
    sample = points
    if len(points) > 20_000:
        sample = points[rng.choice(len(points), 20_000, replace=False)]
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
    complete = present.all(axis=1) & (labels_of.max(axis=1) == k - 1)
    # Each run's sum over its own contiguous row, as a sum of that run's array alone.
    misfit = (sample[None, :, :] - centers_of[np.arange(runs)[:, None], labels_of]) ** 2
    inertias = misfit.reshape(runs, -1).sum(axis=1).tolist()
    best: tuple[float, FloatArray] | None = None
    for run in np.flatnonzero(complete).tolist():
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
        raw = matrix.votes
        n_participants, n_statements = raw.shape
        vote_counts = np.diff(raw.indptr).astype(np.int64)
        column_active = matrix.active[raw.indices]
        voted_active = np.bincount(raw.indices, minlength=n_statements).astype(np.float64)
        sums = np.bincount(raw.indices, weights=raw.data, minlength=n_statements)
        center = np.where(
            matrix.active & (voted_active > 0), sums / np.maximum(voted_active, 1.0), 0.0
        )
        # Centred votes; inactive statements are all zero in Polis's rating matrix, so after
        # centring they contribute nothing and are dropped from the structure.
        centred_data = np.where(column_active, raw.data - center[raw.indices], 0.0)
        # Copies of the index arrays: eliminate_zeros works in place and must not touch raw.
        centred = sp.csr_array(
            (centred_data, raw.indices.copy(), raw.indptr.copy()), shape=raw.shape
        )
        centred.eliminate_zeros()

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
        components = principal_components(centred, options.n_components, options.seed, start)
        components = _fix_sign(components, start)
        # Polis counts zeroed moderated-out cells as votes when scaling (section 1.6).
        # Every participant row holds at least one vote, so reduceat never sees an empty row.
        active_votes = (
            np.add.reduceat(column_active.astype(np.int64), raw.indptr[:-1])
            if raw.nnz
            else np.zeros(n_participants, dtype=np.int64)
        )
        n_scaled = active_votes + matrix.n_inactive_columns
        scale = np.sqrt(matrix.n_columns / np.maximum(n_scaled, 1.0))
        projection = np.asarray(centred @ components.T) * scale[:, None]
        statement_projection = np.sqrt(matrix.n_columns) * (1.0 - center)[:, None] * components.T
        extremity = np.sqrt((statement_projection**2).sum(axis=1))

    with watch.stage("clustering"):
        member_index = np.flatnonzero(members)
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
        is_agree = raw.data == 1.0
        is_disagree = raw.data == -1.0
        # Group x statement tallies as counts of (group, statement) codes: three sparse
        # products cost more in scipy's dispatch than the counting itself.
        row_group = np.full(n_participants, -1, dtype=np.int64)
        row_group[member_index] = group_members
        vote_group = np.repeat(row_group, vote_counts)
        counted = vote_group >= 0
        cell = (vote_group * n_statements + raw.indices)[counted]
        agree_g, disagree_g, seen_g = (
            np.bincount(
                cell[flags[counted]] if flags is not None else cell, minlength=k * n_statements
            )
            .astype(np.int64)
            .reshape(k, n_statements)
            for flags in (is_agree, is_disagree, None)
        )
        agree_all = np.bincount(raw.indices[is_agree], minlength=n_statements).astype(np.int64)
        disagree_all = np.bincount(raw.indices[is_disagree], minlength=n_statements).astype(
            np.int64
        )
        seen_all = np.bincount(raw.indices, minlength=n_statements).astype(np.int64)

        eligible = matrix.active
        repness: dict[int, tuple[RepStatement, ...]] = {}
        for g, group_stats in enumerate(
            stats.all_group_statement_stats(agree_g, disagree_g, seen_g)
        ):
            repness[g] = stats.select_repness(
                group_stats,
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
            tally = (agree_g.sum(axis=0), disagree_g.sum(axis=0), seen_g.sum(axis=0))
        else:
            # No groups yet: the whole conversation is the only group.
            gac = stats.group_informed_consensus(agree_all[None, :], seen_all[None, :])
            tally = (agree_all, disagree_all, seen_all)
        is_meta = _marked(matrix.statement_ids, meta)
        is_out = _marked(matrix.statement_ids, moderated_out)
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
