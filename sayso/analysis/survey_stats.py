"""Design-based survey estimates: weighted means, totals and proportions with
Taylor-linearised standard errors, design effects, Wilson intervals, and
post-stratification and raking of weights.

The conventions follow R's ``survey`` package (Lumley), so that results can be checked
against its published output on the ``api`` data:

* A design is given per respondent: ``weights`` (inverse inclusion probabilities),
  optional ``strata`` labels, optional ``clusters`` labels (primary sampling units, PSUs;
  without them every respondent is its own PSU) and optional ``fpc``.
* ``fpc`` is the population size of the respondent's stratum, counted in PSUs (schools
  for an element sample, districts for a cluster sample), exactly like R's ``fpc=~fpc``.
  Values that are all at most 1 are read as sampling fractions, as R does. It may be a
  per-respondent sequence, a mapping from stratum label to size, or one number.
* Variances are "ultimate cluster" (first-stage) linearisation estimates, with the finite
  population correction applied per stratum. A stratum with a single PSU has no
  variance estimate; we refuse rather than guess (R's default ``lonely.psu = "fail"``).
* Missing answers (``None`` or NaN in ``y``) are treated as a domain, as R does with
  ``na.rm=TRUE``: they drop out of the estimate but their PSUs still count in the
  variance, which keeps standard errors honest for questions that some people skipped.
* ``deff`` compares the design variance with simple random sampling without
  replacement of the same number of respondents from a population of ``sum(weights)``
  (R's ``deff=TRUE``). When the weights sum to no more than the number of respondents
  (unweighted data, or weights normalised to mean 1) there is no population size to
  speak of, and the comparison is with sampling with replacement.

Community surveys are mostly convenience samples: an interval here is only approximate,
assuming the weighted sample is representative. Callers should always show the
unweighted ``n`` next to it, and must pass everything through disclosure control
(:mod:`sayso.analysis.disclosure`) before it is shown.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "Calibration",
    "Estimate",
    "ProportionEstimate",
    "Reweighting",
    "kish_deff",
    "kish_effective_size",
    "mean",
    "post_stratify",
    "proportions",
    "rake",
    "total",
    "trim_weights",
    "wilson_interval",
]

FloatArray = npt.NDArray[np.float64]
Labels = Sequence[Hashable] | npt.NDArray[np.generic]
# Mapping keys are typed Any: Mapping is invariant in its key, so Mapping[Hashable, ...]
# would reject a plain dict[str, int] from callers.
FpcInput = Sequence[float] | npt.NDArray[np.floating] | Mapping[Any, float] | float


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Estimate:
    """A weighted estimate with its linearised standard error.

    ``n`` is the unweighted number of respondents who answered, which must be shown
    with the estimate and is what disclosure thresholds apply to.
    """

    value: float
    se: float
    deff: float
    n: int


@dataclass(frozen=True)
class ProportionEstimate:
    """The weighted share of answers in one category, with a Wilson interval.

    ``n`` counts the respondents who answered the question (the denominator) and
    ``count`` those who chose ``category``; both are unweighted. ``n_eff`` is the
    effective sample size the interval was computed on (see :func:`proportions`).
    """

    category: Hashable
    value: float
    se: float
    deff: float
    n: int
    count: int
    n_eff: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Calibration:
    """How weights were calibrated, kept so variances can allow for it.

    Calibrating to known population counts removes the part of the variance that the
    calibration variables explain; ignoring it overstates standard errors (for the api
    cluster sample's total enrolment, 932,000 instead of 406,000).
    """

    kind: Literal["post-stratification", "raking"]
    # One array of group codes (0..k-1) per calibration variable.
    margins: tuple[npt.NDArray[np.intp], ...]


@dataclass(frozen=True)
class Reweighting:
    """New weights from post-stratification or raking.

    Pass the whole object as ``weights`` to :func:`mean`, :func:`total` or
    :func:`proportions` so the standard errors account for the calibration.
    """

    weights: FloatArray = field(repr=False)
    n_eff: float
    deff: float
    iterations: int
    converged: bool
    trimmed: int
    calibration: Calibration = field(repr=False)


# --------------------------------------------------------------------------- helpers


def _readonly(a: FloatArray) -> FloatArray:
    # Results are frozen dataclasses; make the arrays inside them immutable too.
    a.setflags(write=False)
    return a


def _codes(labels: Labels, n: int, what: str) -> npt.NDArray[np.intp]:
    """Map arbitrary hashable labels to integer codes 0..k-1 (in first-seen order)."""
    seq = list(labels)
    if len(seq) != n:
        raise ValueError(f"{what} has {len(seq)} entries but y has {n}")
    index: dict[Hashable, int] = {}
    out = np.empty(n, dtype=np.intp)
    for i, label in enumerate(seq):
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise ValueError(f"{what} has a missing value at position {i}")
        out[i] = index.setdefault(label, len(index))
    return out


def _as_weights(weights: Sequence[float] | npt.NDArray[np.floating], n: int) -> FloatArray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have one entry per respondent ({n}), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return w


def _as_values(y: Sequence[float | None] | npt.NDArray[np.floating]) -> FloatArray:
    # None becomes NaN so that skipped answers are handled as a domain (see module doc).
    return np.array([np.nan if v is None else v for v in y], dtype=np.float64)


@dataclass(frozen=True)
class _Design:
    weights: FloatArray
    strata: npt.NDArray[np.intp]
    psu: npt.NDArray[np.intp]  # PSU codes, unique across strata
    fpc_fraction: FloatArray  # sampling fraction of PSUs, per stratum
    n_psu: npt.NDArray[np.intp]  # PSUs sampled, per stratum
    calibration: Calibration | None


def _design(
    n: int,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None,
    clusters: Labels | None,
    fpc: FpcInput | None,
) -> _Design:
    calibration = None
    if isinstance(weights, Reweighting):
        calibration = weights.calibration
        w = _as_weights(weights.weights, n)
    else:
        w = _as_weights(weights, n)
    s = np.zeros(n, dtype=np.intp) if strata is None else _codes(strata, n, "strata")
    n_strata = int(s.max()) + 1 if n else 0
    if clusters is None:
        psu = np.arange(n, dtype=np.intp)
    else:
        # Cluster labels are taken as nested within strata (R's nest=TRUE), so the same
        # label in two strata is two PSUs; this is the safe reading for survey exports.
        c = _codes(clusters, n, "clusters")
        psu = _codes(list(zip(s.tolist(), c.tolist(), strict=True)), n, "clusters")
    n_psu = np.zeros(n_strata, dtype=np.intp)
    for h in range(n_strata):
        n_psu[h] = np.unique(psu[s == h]).size
    fraction = np.zeros(n_strata, dtype=np.float64)
    if fpc is not None:
        fraction = _fpc_fraction(fpc, n, s, strata, n_psu)
    return _Design(w, s, psu, fraction, n_psu, calibration)


def _fpc_fraction(
    fpc: FpcInput,
    n: int,
    s: npt.NDArray[np.intp],
    strata: Labels | None,
    n_psu: npt.NDArray[np.intp],
) -> FloatArray:
    n_strata = n_psu.size
    if isinstance(fpc, Mapping):
        if strata is None:
            raise ValueError("fpc given per stratum but no strata were given")
        labels = list(strata)
        per_row = np.array([float(fpc[labels[i]]) for i in range(n)], dtype=np.float64)
    elif isinstance(fpc, int | float):
        per_row = np.full(n, float(fpc), dtype=np.float64)
    else:
        per_row = np.asarray(fpc, dtype=np.float64)
        if per_row.shape != (n,):
            raise ValueError(f"fpc must have one entry per respondent ({n})")
    if not np.all(np.isfinite(per_row)) or np.any(per_row <= 0):
        raise ValueError("fpc must be positive population sizes or sampling fractions")
    as_fraction = bool(np.all(per_row <= 1))
    out = np.empty(n_strata, dtype=np.float64)
    for h in range(n_strata):
        values = np.unique(per_row[s == h])
        if values.size != 1:
            raise ValueError("fpc must be constant within each stratum")
        if as_fraction:
            out[h] = values[0]
        else:
            if values[0] < n_psu[h]:
                raise ValueError(
                    f"fpc {values[0]:g} is smaller than the {n_psu[h]} sampled units in its stratum"
                )
            out[h] = n_psu[h] / values[0]
    return out


def _residualise(z: FloatArray, design: _Design) -> FloatArray:
    """Remove from influence values the part explained by calibration variables.

    After calibration the estimated group totals are fixed, so only within-group
    variation contributes to the variance. As in R's ``survey`` (``svyrecvar``), ``z/w``
    is centred on its plain (unweighted) mean within each group and multiplied back by
    ``w``. With several raking margins the centring is repeated over the margins until
    it settles (alternating projections onto all margins together).
    """
    cal = design.calibration
    if cal is None:
        return z
    w = design.weights
    positive = w > 0
    safe_w = np.where(positive, w, 1.0)
    rounds = 1 if cal.kind == "post-stratification" else 500
    for _ in range(rounds):
        before = z
        for g in cal.margins:
            ratio = np.where(positive, z / safe_w, 0.0)
            group_sum = np.bincount(g, weights=ratio)
            group_n = np.bincount(g, weights=positive.astype(np.float64))
            centre = np.divide(group_sum, group_n, out=np.zeros_like(group_sum), where=group_n > 0)
            z = z - w * centre[g]
        scale = max(1e-300, float(np.max(np.abs(z), initial=0.0)))
        if float(np.max(np.abs(z - before), initial=0.0)) <= 1e-14 * scale:
            break
    return z


def _variance(z: FloatArray, design: _Design) -> float:
    """Ultimate-cluster variance of the estimated total of influence values ``z``."""
    z = _residualise(z, design)
    psu_total = np.bincount(design.psu, weights=z)
    psu_stratum = np.zeros(psu_total.size, dtype=np.intp)
    psu_stratum[design.psu] = design.strata
    var = 0.0
    for h in range(design.n_psu.size):
        totals = psu_total[psu_stratum == h]
        n_h = totals.size
        f_h = design.fpc_fraction[h]
        if f_h >= 1.0:
            continue  # a census of this stratum: no sampling variance
        if n_h < 2:
            raise ValueError(
                "a stratum has a single sampling unit, so its variance cannot be "
                "estimated; merge it with a similar stratum"
            )
        dev = totals - totals.mean()
        var += (1.0 - f_h) * n_h / (n_h - 1) * float(dev @ dev)
    return var


def _srs_variance_of_mean(y: FloatArray, w: FloatArray, ybar: float) -> float:
    """Variance of a mean under simple random sampling without replacement, for deff."""
    n_obs = int(np.count_nonzero(w))
    pop = float(w.sum())
    if n_obs < 2:
        return math.nan
    s2 = float(w @ (y - ybar) ** 2) / pop * n_obs / (n_obs - 1)
    if pop <= n_obs:
        # Weights that do not scale up to a population (all 1, or normalised to mean 1)
        # say nothing about its size, and R's without-replacement formula would divide
        # by zero; compare with sampling with replacement instead.
        return s2 / n_obs
    return s2 / n_obs * (pop - n_obs) / pop


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else math.nan


def _mean_parts(y: FloatArray, design: _Design) -> tuple[float, float, float, int]:
    answered = ~np.isnan(y)
    w = np.where(answered, design.weights, 0.0)
    yy = np.where(answered, y, 0.0)
    wsum = float(w.sum())
    if wsum <= 0:
        raise ValueError("no respondent with a positive weight answered")
    value = float(w @ yy) / wsum
    z = w * (yy - value) / wsum
    var = _variance(z, design)
    vsrs = _srs_variance_of_mean(yy[answered], w[answered], value)
    return value, math.sqrt(var), _ratio(var, vsrs), int(np.count_nonzero(answered))


# --------------------------------------------------------------------------- estimators


def mean(
    y: Sequence[float | None] | npt.NDArray[np.floating],
    *,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None = None,
    clusters: Labels | None = None,
    fpc: FpcInput | None = None,
) -> Estimate:
    """Weighted mean of ``y`` (R: ``svymean``), with linearised SE and design effect.

    >>> mean([1.0, 2.0, 3.0, 4.0], weights=[1, 1, 1, 1]).value
    2.5
    """
    values = _as_values(y)
    design = _design(values.size, weights, strata, clusters, fpc)
    value, se, deff, n = _mean_parts(values, design)
    return Estimate(value=value, se=se, deff=deff, n=n)


def total(
    y: Sequence[float | None] | npt.NDArray[np.floating],
    *,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None = None,
    clusters: Labels | None = None,
    fpc: FpcInput | None = None,
) -> Estimate:
    """Weighted total of ``y`` (R: ``svytotal``), with linearised SE and design effect."""
    values = _as_values(y)
    design = _design(values.size, weights, strata, clusters, fpc)
    answered = ~np.isnan(values)
    w = np.where(answered, design.weights, 0.0)
    yy = np.where(answered, values, 0.0)
    value = float(w @ yy)
    var = _variance(w * yy, design)
    # R compares with SRS of the answered respondents from a population of sum(weights).
    pop = float(w.sum())
    ybar = value / pop if pop > 0 else 0.0
    vsrs = _srs_variance_of_mean(yy[answered], w[answered], ybar) * pop**2
    return Estimate(
        value=value, se=math.sqrt(var), deff=_ratio(var, vsrs), n=int(np.count_nonzero(answered))
    )


def proportions(
    y: Sequence[Hashable | None] | npt.NDArray[np.generic],
    *,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None = None,
    clusters: Labels | None = None,
    fpc: FpcInput | None = None,
    categories: Sequence[Hashable] | None = None,
    confidence: float = 0.95,
) -> tuple[ProportionEstimate, ...]:
    """Weighted share of each category of ``y`` (R: ``svymean`` of a factor).

    Returns one result per category, in the order of ``categories`` if given (so options
    nobody chose still appear, with a zero share), else in sorted order. Missing answers
    (``None``/NaN) are left out of the denominator but kept in the design.

    The Wilson interval is computed on the effective sample size: the number of
    simple-random-sample respondents that would give the same precision, ``n`` divided
    by the design effect against sampling with replacement, i.e.
    ``p(1-p) * n/(n-1) / se**2`` (in the spirit of Korn and Graubard 1998). It reflects
    the clustering and weighting of this particular estimate, and equals ``n`` for an
    unweighted simple sample, where the interval is the textbook Wilson interval on the
    counts. When the share is 0 or 1 the SE is 0 and the formula breaks down, so Kish's
    ``(sum w)**2 / sum w**2`` over those who answered is used instead.
    """
    raw = list(y)
    n = len(raw)
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in raw]
    present = [v for v, m in zip(raw, missing, strict=True) if not m]
    if categories is None:
        cats: list[Hashable] = sorted(set(present), key=lambda v: (str(type(v)), v))
    else:
        cats = list(categories)
        unknown = set(present) - set(cats)
        if unknown:
            raise ValueError(f"answers not among the categories: {sorted(map(str, unknown))}")
    design = _design(n, weights, strata, clusters, fpc)
    answered = ~np.array(missing, dtype=bool)
    kish = kish_effective_size(design.weights[answered])
    out = []
    for cat in cats:
        indicator = np.array(
            [np.nan if m else float(v == cat) for v, m in zip(raw, missing, strict=True)],
            dtype=np.float64,
        )
        value, se, deff, n_ans = _mean_parts(indicator, design)
        if se > 0 and 0 < value < 1 and n_ans > 1:
            n_eff = value * (1.0 - value) * n_ans / (n_ans - 1) / se**2
        else:
            n_eff = kish
        low, high = wilson_interval(value, n_eff, confidence=confidence)
        count = int(np.nansum(indicator))
        out.append(
            ProportionEstimate(
                category=cat,
                value=value,
                se=se,
                deff=deff,
                n=n_ans,
                count=count,
                n_eff=n_eff,
                ci_low=low,
                ci_high=high,
            )
        )
    return tuple(out)


def wilson_interval(p: float, n_eff: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on ``n_eff`` respondents.

    Unlike the Wald interval it stays inside [0, 1] and is sensible for shares near 0 or
    1 and for small groups, which is where community surveys live. ``n_eff`` may be
    fractional (an effective sample size).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must be between 0 and 1")
    if not n_eff > 0:
        raise ValueError("n_eff must be positive")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    z2n = z * z / n_eff
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n_eff + z2n / (4.0 * n_eff))
    # At p=0 (or 1) the bound is exactly 0 (or 1); floating point leaves crumbs like
    # 5e-17 there, which would put the estimate outside its own interval.
    low = 0.0 if p == 0.0 else max(0.0, min(p, centre - half))
    high = 1.0 if p == 1.0 else min(1.0, max(p, centre + half))
    return low, high


# --------------------------------------------------------------------------- weights


def kish_effective_size(weights: Sequence[float] | npt.NDArray[np.floating]) -> float:
    """Kish's effective sample size ``(sum w)**2 / sum w**2``: how many equally weighted
    respondents carry the same information as these unequally weighted ones."""
    w = np.asarray(weights, dtype=np.float64)
    sq = float(w @ w)
    return float(w.sum()) ** 2 / sq if sq > 0 else 0.0


def kish_deff(weights: Sequence[float] | npt.NDArray[np.floating]) -> float:
    """Kish's design effect from unequal weighting, ``n * sum w**2 / (sum w)**2``."""
    w = np.asarray(weights, dtype=np.float64)
    n_eff = kish_effective_size(w)
    return w.size / n_eff if n_eff > 0 else math.nan


def trim_weights(
    weights: Sequence[float] | npt.NDArray[np.floating],
    *,
    lower: float | None = None,
    upper: float | None = None,
    max_iter: int = 100,
) -> FloatArray:
    """Clip weights to ``[lower, upper]`` and share what was cut among the others.

    A handful of very large weights lets a few respondents dominate a result and
    inflates its variance; trimming trades a little bias for stability. The total of the
    weights is kept, so estimated totals stay on the population scale. Redistribution can
    push other weights over a bound, so it repeats until none are (R's ``strict=TRUE``).
    """
    return _trim(np.asarray(weights, dtype=np.float64), lower, upper, max_iter)[0]


def _trim(
    w: FloatArray, lower: float | None, upper: float | None, max_iter: int = 100
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """:func:`trim_weights`, also saying which weights were held at a bound."""
    w = w.copy()
    lo = -math.inf if lower is None else lower
    hi = math.inf if upper is None else upper
    if lo > hi:
        raise ValueError("lower bound is above upper bound")
    target = float(w.sum())
    if (lower is not None and lo * w.size > target) or (upper is not None and hi * w.size < target):
        raise ValueError("the bounds cannot hold the total of the weights")
    fixed = np.zeros(w.size, dtype=bool)
    for _ in range(max_iter):
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        w = np.clip(w, lo, hi)
        fixed |= outside
        free = ~fixed
        free_sum = float(w[free].sum())
        if free_sum <= 0:
            break
        w[free] *= (target - float(w[fixed].sum())) / free_sum
    return w, fixed


def _calibration_codes(
    groups: Labels, n: int, population: Mapping[Any, float], what: str
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    labels = list(groups)
    if len(labels) != n:
        raise ValueError(f"{what} has {len(labels)} entries but there are {n} weights")
    keys = list(population)
    index = {k: i for i, k in enumerate(keys)}
    unknown = {str(v) for v in labels if v not in index}
    if unknown:
        raise ValueError(f"{what}: groups with no population figure: {sorted(unknown)}")
    codes = np.array([index[v] for v in labels], dtype=np.intp)
    targets = np.array([float(population[k]) for k in keys], dtype=np.float64)
    present = np.bincount(codes, minlength=len(keys)) > 0
    empty = [str(k) for k, p in zip(keys, present, strict=True) if not p and population[k] > 0]
    if empty:
        raise ValueError(f"{what}: no respondents in {sorted(empty)}, so it cannot be weighted")
    return codes, targets


def _scale_to(
    w: FloatArray, codes: npt.NDArray[np.intp], targets: FloatArray
) -> tuple[FloatArray, float]:
    current = np.bincount(codes, weights=w, minlength=targets.size)
    factor = np.divide(targets, current, out=np.ones_like(targets), where=current > 0)
    change = float(np.max(np.abs(current - targets) / np.maximum(targets, 1e-300)))
    return w * factor[codes], change


def _relative_bounds(
    w: FloatArray, trim_lower: float | None, trim_upper: float | None
) -> tuple[float | None, float | None]:
    m = float(w.mean())
    return (
        None if trim_lower is None else m * trim_lower,
        None if trim_upper is None else m * trim_upper,
    )


def post_stratify(
    weights: Sequence[float] | npt.NDArray[np.floating],
    groups: Labels,
    population: Mapping[Any, float],
    *,
    trim_lower: float | None = None,
    trim_upper: float | None = None,
) -> Reweighting:
    """Scale weights so each group's weighted count equals its known population count.

    ``population`` maps every group label to its size (R: ``postStratify``). Optional
    trimming bounds are multiples of the mean weight (e.g. ``trim_upper=5``: nobody
    counts for more than five average respondents); after trimming the group totals
    hold only approximately, which ``converged`` reports.
    """
    w0 = _as_weights(weights, len(list(groups)))
    codes, targets = _calibration_codes(groups, w0.size, population, "groups")
    w, _ = _scale_to(w0, codes, targets)
    trimmed = 0
    if trim_lower is not None or trim_upper is not None:
        lo, hi = _relative_bounds(w, trim_lower, trim_upper)
        w, clipped = _trim(w, lo, hi)
        trimmed = int(np.count_nonzero(clipped))
    _, change = _scale_to(w, codes, targets)
    cal = Calibration(kind="post-stratification", margins=(codes,))
    return Reweighting(
        weights=_readonly(w),
        n_eff=kish_effective_size(w),
        deff=kish_deff(w),
        iterations=1,
        converged=change <= 1e-9,
        trimmed=trimmed,
        calibration=cal,
    )


def rake(
    weights: Sequence[float] | npt.NDArray[np.floating],
    margins: Sequence[tuple[Labels, Mapping[Any, float]]],
    *,
    trim_lower: float | None = None,
    trim_upper: float | None = None,
    tolerance: float = 1e-7,
    max_iter: int = 100,
) -> Reweighting:
    """Rake weights to several known margins by iterative proportional fitting.

    ``margins`` is a list of ``(groups, population)`` pairs, one per variable (R:
    ``rake(design, list(~stype, ~sch.wide), ...)``). Each sweep scales the weights to
    match every margin in turn; sweeps stop when no margin is off by more than
    ``tolerance`` (relative). Optional trimming (multiples of the mean weight) is applied
    after each sweep, so the result matches the margins as well as the bounds allow;
    ``converged`` says whether both held at the end.
    """
    if not margins:
        raise ValueError("raking needs at least one margin")
    n = len(list(margins[0][0]))
    w = _as_weights(weights, n).copy()
    coded = [_calibration_codes(g, n, pop, f"margin {i + 1}") for i, (g, pop) in enumerate(margins)]
    totals = {float(t.sum()) for _, t in coded}
    if max(totals) - min(totals) > 1e-6 * max(totals):
        raise ValueError("the margins' population totals disagree, so raking cannot converge")
    trimming = trim_lower is not None or trim_upper is not None
    converged = False
    trimmed = np.zeros(n, dtype=bool)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        for codes, targets in coded:
            w, _ = _scale_to(w, codes, targets)
        if trimming:
            lo, hi = _relative_bounds(w, trim_lower, trim_upper)
            w, clipped = _trim(w, lo, hi)
            trimmed |= clipped
        worst = max(_scale_to(w, codes, targets)[1] for codes, targets in coded)
        if worst <= tolerance:
            converged = True
            break
    cal = Calibration(kind="raking", margins=tuple(codes for codes, _ in coded))
    return Reweighting(
        weights=_readonly(w),
        n_eff=kish_effective_size(w),
        deff=kish_deff(w),
        iterations=iterations,
        converged=converged,
        trimmed=int(np.count_nonzero(trimmed)),
        calibration=cal,
    )
