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
* Every estimator also takes ``counts``: a frequency table, each row standing for that
  many respondents with the same answer, weight and stratum, each their own PSU. The
  results are those of the rows repeated ``counts`` times, at the cost of the rows: a
  results page can weight 100,000 respondents from a few hundred cells counted by the
  database. Clusters cannot be given with it (a row's respondents would have to share a
  PSU, which a count cannot say).
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
CountsInput = Sequence[int] | npt.NDArray[np.integer] | npt.NDArray[np.floating]


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
    trimmed: int  # respondents held at a trimming bound
    calibration: Calibration = field(repr=False)
    # The frequency table the weights are for (one weight per row), if one was given.
    counts: FloatArray | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- helpers


def _readonly(a: FloatArray) -> FloatArray:
    # Results are frozen dataclasses; make the arrays inside them immutable too.
    a.setflags(write=False)
    return a


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _first_seen(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """Codes 0..k-1 of a numeric array's values in first-seen order, and the values.

    np.unique numbers them in sorted order; renumbering by first position keeps the
    codes the dictionary-based numbering gave, so results do not depend on the path."""
    uniques, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size, dtype=np.intp)
    return rank[inverse.reshape(-1)], uniques[order]


def _factorise(labels: Labels, n: int, what: str) -> tuple[npt.NDArray[np.intp], list[Hashable]]:
    """Integer codes 0..k-1 for arbitrary hashable labels (in first-seen order), and the
    distinct labels in code order. Numeric arrays are coded by numpy; other labels by a
    dictionary over the distinct values, with one C-level lookup per element."""
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "biuf":
        if labels.shape != (n,):
            raise ValueError(f"{what} has {labels.size} entries but y has {n}")
        if labels.dtype.kind == "f":
            nan = np.flatnonzero(np.isnan(labels))
            if nan.size:
                raise ValueError(f"{what} has a missing value at position {nan[0]}")
        codes, uniques = _first_seen(labels)
        return codes, uniques.tolist()
    seq = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
    if len(seq) != n:
        raise ValueError(f"{what} has {len(seq)} entries but y has {n}")
    # dict.fromkeys keeps the first of equal labels, exactly as numbering them one by
    # one would; only the distinct labels are looked at in Python.
    index = {label: i for i, label in enumerate(dict.fromkeys(seq))}
    if any(_is_missing(label) for label in index):
        position = next(i for i, label in enumerate(seq) if _is_missing(label))
        raise ValueError(f"{what} has a missing value at position {position}")
    codes = np.fromiter(map(index.__getitem__, seq), dtype=np.intp, count=n)
    return codes, list(index)


def _codes(labels: Labels, n: int, what: str) -> npt.NDArray[np.intp]:
    """Map arbitrary hashable labels to integer codes 0..k-1 (in first-seen order)."""
    return _factorise(labels, n, what)[0]


def _as_weights(weights: Sequence[float] | npt.NDArray[np.floating], n: int) -> FloatArray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have one entry per respondent ({n}), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return w


def _as_values(y: Sequence[float | None] | npt.NDArray[np.floating]) -> FloatArray:
    # numpy turns None into NaN when converting to float, so skipped answers are
    # handled as a domain (see module doc).
    values = np.array(y, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError("y must be a one-dimensional sequence of values")
    return values


def _as_counts(counts: CountsInput | None, n: int) -> FloatArray | None:
    if counts is None:
        return None
    m = np.asarray(counts, dtype=np.float64)
    if m.shape != (n,):
        raise ValueError(f"counts must have one entry per row ({n}), got {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(m < 0) or np.any(m != np.floor(m)):
        raise ValueError("counts must be whole numbers of respondents, zero or more")
    return m


def _msum(x: FloatArray, m: FloatArray | None) -> float:
    """Sum over respondents of a per-row quantity: each row counted ``m`` times."""
    return float(x.sum()) if m is None else float(x @ m)


@dataclass(frozen=True)
class _Design:
    weights: FloatArray
    strata: npt.NDArray[np.intp]
    psu: npt.NDArray[np.intp]  # PSU codes, unique across strata
    fpc_fraction: FloatArray  # sampling fraction of PSUs, per stratum
    n_psu: npt.NDArray[np.intp]  # PSUs sampled, per stratum
    calibration: Calibration | None
    # Respondents per row (a frequency table), or None for one respondent per row.
    counts: FloatArray | None = None


def _design(
    n: int,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None,
    clusters: Labels | None,
    fpc: FpcInput | None,
    counts: CountsInput | None = None,
) -> _Design:
    calibration = None
    m = _as_counts(counts, n)
    if isinstance(weights, Reweighting):
        calibration = weights.calibration
        w = _as_weights(weights.weights, n)
        if weights.counts is not None:
            if m is None:
                m = weights.counts
            elif not np.array_equal(m, weights.counts):
                raise ValueError("counts must be the frequency table the weights were made for")
    else:
        w = _as_weights(weights, n)
    if m is not None and clusters is not None:
        raise ValueError(
            "counts cannot be combined with clusters: give one row per respondent instead"
        )
    if strata is None:
        s = np.zeros(n, dtype=np.intp)
        stratum_labels: list[Hashable] = []
    else:
        s, stratum_labels = _factorise(strata, n, "strata")
    n_strata = int(s.max()) + 1 if n else 0
    if clusters is None:
        psu = np.arange(n, dtype=np.intp)
    else:
        # Cluster labels are taken as nested within strata (R's nest=TRUE), so the same
        # label in two strata is two PSUs; this is the safe reading for survey exports.
        c = _codes(clusters, n, "clusters")
        psu, _pairs = _first_seen(s * (int(c.max(initial=0)) + 1) + c)
    psu_stratum = np.zeros(int(psu.max()) + 1 if n else 0, dtype=np.intp)
    psu_stratum[psu] = s
    if m is None:
        n_psu = np.bincount(psu_stratum, minlength=n_strata).astype(np.intp)
    else:
        # Without clusters every respondent is a PSU: a row holds `count` of them.
        n_psu = np.rint(np.bincount(s, weights=m, minlength=n_strata)).astype(np.intp)
    fraction = np.zeros(n_strata, dtype=np.float64)
    if fpc is not None:
        fraction = _fpc_fraction(fpc, n, s, stratum_labels if strata is not None else None, n_psu)
    return _Design(w, s, psu, fraction, n_psu, calibration, m)


def _fpc_fraction(
    fpc: FpcInput,
    n: int,
    s: npt.NDArray[np.intp],
    stratum_labels: list[Hashable] | None,
    n_psu: npt.NDArray[np.intp],
) -> FloatArray:
    n_strata = n_psu.size
    if isinstance(fpc, Mapping):
        if stratum_labels is None:
            raise ValueError("fpc given per stratum but no strata were given")
        per_stratum = np.array([float(fpc[label]) for label in stratum_labels], dtype=np.float64)
        per_row = per_stratum[s]
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
    m = design.counts
    positive = w > 0
    safe_w = np.where(positive, w, 1.0)
    # Respondents per row with a positive weight: the group means are over respondents.
    members = positive.astype(np.float64) if m is None else np.where(positive, m, 0.0)
    rounds = 1 if cal.kind == "post-stratification" else 500
    for _ in range(rounds):
        before = z
        for g in cal.margins:
            ratio = np.where(positive, z / safe_w, 0.0)
            group_sum = np.bincount(g, weights=ratio if m is None else ratio * m)
            group_n = np.bincount(g, weights=members)
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
    m = design.counts  # without clusters, so a row's PSUs are its respondents
    var = 0.0
    for h in range(design.n_psu.size):
        in_h = psu_stratum == h
        totals = psu_total[in_h]
        n_h = int(design.n_psu[h])
        f_h = design.fpc_fraction[h]
        if f_h >= 1.0:
            continue  # a census of this stratum: no sampling variance
        if n_h < 2:
            raise ValueError(
                "a stratum has a single sampling unit, so its variance cannot be "
                "estimated; merge it with a similar stratum"
            )
        if m is None:
            dev = totals - totals.mean()
            sum_sq = float(dev @ dev)
        else:
            mult = m[in_h]
            dev = totals - float(totals @ mult) / n_h
            sum_sq = float(mult @ (dev * dev))
        var += (1.0 - f_h) * n_h / (n_h - 1) * sum_sq
    return var


def _srs_variance_of_mean(
    y: FloatArray, w: FloatArray, ybar: float, m: FloatArray | None = None
) -> float:
    """Variance of a mean under simple random sampling without replacement, for deff."""
    n_obs = _people(w > 0, m)
    wm = w if m is None else w * m
    pop = float(wm.sum())
    if n_obs < 2:
        return math.nan
    s2 = float(wm @ (y - ybar) ** 2) / pop * n_obs / (n_obs - 1)
    if pop <= n_obs:
        # Weights that do not scale up to a population (all 1, or normalised to mean 1)
        # say nothing about its size, and R's without-replacement formula would divide
        # by zero; compare with sampling with replacement instead.
        return s2 / n_obs
    return s2 / n_obs * (pop - n_obs) / pop


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else math.nan


def _people(flags: npt.NDArray[np.bool_], m: FloatArray | None) -> int:
    """How many respondents the flagged rows stand for."""
    return int(np.count_nonzero(flags)) if m is None else round(float(m[flags].sum()))


def _mean_parts(y: FloatArray, design: _Design) -> tuple[float, float, float, int]:
    answered = ~np.isnan(y)
    m = design.counts
    w = np.where(answered, design.weights, 0.0)
    yy = np.where(answered, y, 0.0)
    wm = w if m is None else w * m
    wsum = float(wm.sum())
    if wsum <= 0:
        raise ValueError("no respondent with a positive weight answered")
    value = float(wm @ yy) / wsum
    z = w * (yy - value) / wsum
    var = _variance(z, design)
    vsrs = _srs_variance_of_mean(
        yy[answered], w[answered], value, None if m is None else m[answered]
    )
    return value, math.sqrt(var), _ratio(var, vsrs), _people(answered, m)


# --------------------------------------------------------------------------- estimators


def mean(
    y: Sequence[float | None] | npt.NDArray[np.floating],
    *,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None = None,
    clusters: Labels | None = None,
    fpc: FpcInput | None = None,
    counts: CountsInput | None = None,
) -> Estimate:
    """Weighted mean of ``y`` (R: ``svymean``), with linearised SE and design effect.

    With ``counts``, row ``i`` stands for ``counts[i]`` respondents (see module doc).

    >>> mean([1.0, 2.0, 3.0, 4.0], weights=[1, 1, 1, 1]).value
    2.5
    >>> mean([1.0, 3.0], weights=[1, 1], counts=[3, 1]).value
    1.5
    """
    values = _as_values(y)
    design = _design(values.size, weights, strata, clusters, fpc, counts)
    value, se, deff, n = _mean_parts(values, design)
    return Estimate(value=value, se=se, deff=deff, n=n)


def total(
    y: Sequence[float | None] | npt.NDArray[np.floating],
    *,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None = None,
    clusters: Labels | None = None,
    fpc: FpcInput | None = None,
    counts: CountsInput | None = None,
) -> Estimate:
    """Weighted total of ``y`` (R: ``svytotal``), with linearised SE and design effect.

    With ``counts``, row ``i`` stands for ``counts[i]`` respondents (see module doc)."""
    values = _as_values(y)
    design = _design(values.size, weights, strata, clusters, fpc, counts)
    m = design.counts
    answered = ~np.isnan(values)
    w = np.where(answered, design.weights, 0.0)
    yy = np.where(answered, values, 0.0)
    wm = w if m is None else w * m
    value = float(wm @ yy)
    var = _variance(w * yy, design)
    # R compares with SRS of the answered respondents from a population of sum(weights).
    pop = float(wm.sum())
    ybar = value / pop if pop > 0 else 0.0
    vsrs = (
        _srs_variance_of_mean(yy[answered], w[answered], ybar, None if m is None else m[answered])
        * pop**2
    )
    return Estimate(
        value=value,
        se=math.sqrt(var),
        deff=_ratio(var, vsrs),
        n=_people(answered, m),
    )


def proportions(
    y: Sequence[Hashable | None] | npt.NDArray[np.generic],
    *,
    weights: Sequence[float] | npt.NDArray[np.floating] | Reweighting,
    strata: Labels | None = None,
    clusters: Labels | None = None,
    fpc: FpcInput | None = None,
    counts: CountsInput | None = None,
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

    With ``counts``, row ``i`` stands for ``counts[i]`` respondents who gave the same
    answer (see module doc); ``n`` and ``count`` then count respondents, not rows.
    """
    codes, distinct = _answer_codes(y)
    n = codes.size
    if categories is None:
        cats: list[Hashable] = sorted(set(distinct), key=lambda v: (str(type(v)), v))
    else:
        cats = list(categories)
        unknown = set(distinct) - set(cats)
        if unknown:
            raise ValueError(f"answers not among the categories: {sorted(map(str, unknown))}")
    design = _design(n, weights, strata, clusters, fpc, counts)
    m = design.counts
    missing = codes < 0
    answered = ~missing
    kish = kish_effective_size(design.weights[answered], counts=None if m is None else m[answered])
    out = []
    for cat in cats:
        # Compared with each distinct answer, as `answer == cat` (so 1 and 1.0 agree).
        hits = [i for i, value in enumerate(distinct) if value == cat]
        chose = np.isin(codes, hits)
        indicator = chose.astype(np.float64)
        indicator[missing] = np.nan
        value, se, deff, n_ans = _mean_parts(indicator, design)
        # A share of 0/1 indicators lies in [0, 1]; summing the weights in a different
        # order than their products can leave a crumb like 1.0000000000000002 when
        # everyone chose it (a filter on this very question), which is no share at all.
        value = min(1.0, max(0.0, value))
        if se > 0 and 0 < value < 1 and n_ans > 1:
            n_eff = value * (1.0 - value) * n_ans / (n_ans - 1) / se**2
        else:
            n_eff = kish
        low, high = wilson_interval(value, n_eff, confidence=confidence)
        count = _people(chose, m)
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


def _answer_codes(
    y: Sequence[Hashable | None] | npt.NDArray[np.generic],
) -> tuple[npt.NDArray[np.intp], list[Hashable]]:
    """Code each answer by its position among the distinct answers given (-1 when it
    is missing: None or NaN), once, so that each category's indicator is a comparison
    of integers rather than a pass over the answers in Python."""
    if isinstance(y, np.ndarray) and y.dtype.kind in "biuf":
        if y.ndim != 1:
            raise ValueError("y must be a one-dimensional sequence of answers")
        missing = np.isnan(y) if y.dtype.kind == "f" else np.zeros(y.shape, dtype=bool)
        uniques, inverse = np.unique(y[~missing], return_inverse=True)
        codes = np.full(y.shape, -1, dtype=np.intp)
        codes[~missing] = inverse.reshape(-1)
        return codes, uniques.tolist()
    raw = y.tolist() if isinstance(y, np.ndarray) else list(y)
    # The distinct answers (the first of equal ones, as a set would keep), then one
    # C-level dictionary lookup per answer.
    index: dict[Hashable, int] = {}
    distinct: list[Hashable] = []
    for value in dict.fromkeys(raw):
        if _is_missing(value):
            index[value] = -1
        else:
            index[value] = len(distinct)
            distinct.append(value)
    codes = np.fromiter(map(index.__getitem__, raw), dtype=np.intp, count=len(raw))
    return codes, distinct


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


def kish_effective_size(
    weights: Sequence[float] | npt.NDArray[np.floating], *, counts: CountsInput | None = None
) -> float:
    """Kish's effective sample size ``(sum w)**2 / sum w**2``: how many equally weighted
    respondents carry the same information as these unequally weighted ones. With
    ``counts``, weight ``i`` is that of ``counts[i]`` respondents."""
    w = np.asarray(weights, dtype=np.float64)
    m = _as_counts(counts, w.size)
    sq = float(w @ w) if m is None else float((w * w) @ m)
    return _msum(w, m) ** 2 / sq if sq > 0 else 0.0


def kish_deff(
    weights: Sequence[float] | npt.NDArray[np.floating], *, counts: CountsInput | None = None
) -> float:
    """Kish's design effect from unequal weighting, ``n * sum w**2 / (sum w)**2``."""
    w = np.asarray(weights, dtype=np.float64)
    m = _as_counts(counts, w.size)
    n_eff = kish_effective_size(w, counts=m)
    n = w.size if m is None else float(m.sum())
    return n / n_eff if n_eff > 0 else math.nan


def trim_weights(
    weights: Sequence[float] | npt.NDArray[np.floating],
    *,
    lower: float | None = None,
    upper: float | None = None,
    max_iter: int = 100,
    counts: CountsInput | None = None,
) -> FloatArray:
    """Clip weights to ``[lower, upper]`` and share what was cut among the others.

    A handful of very large weights lets a few respondents dominate a result and
    inflates its variance; trimming trades a little bias for stability. The total of the
    weights is kept, so estimated totals stay on the population scale. Redistribution can
    push other weights over a bound, so it repeats until none are (R's ``strict=TRUE``).
    With ``counts``, weight ``i`` is that of ``counts[i]`` respondents.
    """
    w = np.asarray(weights, dtype=np.float64)
    return _trim(w, lower, upper, max_iter, _as_counts(counts, w.size))[0]


def _trim(
    w: FloatArray,
    lower: float | None,
    upper: float | None,
    max_iter: int = 100,
    m: FloatArray | None = None,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """:func:`trim_weights`, also saying which weights were held at a bound."""
    w = w.copy()
    lo = -math.inf if lower is None else lower
    hi = math.inf if upper is None else upper
    if lo > hi:
        raise ValueError("lower bound is above upper bound")
    target = _msum(w, m)
    people = w.size if m is None else float(m.sum())
    if (lower is not None and lo * people > target) or (upper is not None and hi * people < target):
        raise ValueError("the bounds cannot hold the total of the weights")
    fixed = np.zeros(w.size, dtype=bool)
    for _ in range(max_iter):
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        w = np.clip(w, lo, hi)
        fixed |= outside
        free = ~fixed
        free_sum = _msum(w[free], None if m is None else m[free])
        if free_sum <= 0:
            break
        w[free] *= (target - _msum(w[fixed], None if m is None else m[fixed])) / free_sum
    return w, fixed


def _calibration_codes(
    groups: Labels,
    n: int,
    population: Mapping[Any, float],
    what: str,
    m: FloatArray | None = None,
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    labels = groups.tolist() if isinstance(groups, np.ndarray) else list(groups)
    if len(labels) != n:
        raise ValueError(f"{what} has {len(labels)} entries but there are {n} weights")
    keys = list(population)
    index = {k: i for i, k in enumerate(keys)}
    # Only the distinct labels are checked in Python; then one C-level lookup each.
    unknown = {str(v) for v in dict.fromkeys(labels) if v not in index}
    if unknown:
        raise ValueError(f"{what}: groups with no population figure: {sorted(unknown)}")
    codes = np.fromiter(map(index.__getitem__, labels), dtype=np.intp, count=n)
    targets = np.array([float(population[k]) for k in keys], dtype=np.float64)
    present = np.bincount(codes, weights=m, minlength=len(keys)) > 0
    empty = [str(k) for k, p in zip(keys, present, strict=True) if not p and population[k] > 0]
    if empty:
        raise ValueError(f"{what}: no respondents in {sorted(empty)}, so it cannot be weighted")
    return codes, targets


def _scale_to(
    w: FloatArray, codes: npt.NDArray[np.intp], targets: FloatArray, m: FloatArray | None = None
) -> tuple[FloatArray, float]:
    current = np.bincount(codes, weights=w if m is None else w * m, minlength=targets.size)
    factor = np.divide(targets, current, out=np.ones_like(targets), where=current > 0)
    change = float(np.max(np.abs(current - targets) / np.maximum(targets, 1e-300)))
    return w * factor[codes], change


def _relative_bounds(
    w: FloatArray, trim_lower: float | None, trim_upper: float | None, m: FloatArray | None = None
) -> tuple[float | None, float | None]:
    average = float(w.mean()) if m is None else float(w @ m) / float(m.sum())
    return (
        None if trim_lower is None else average * trim_lower,
        None if trim_upper is None else average * trim_upper,
    )


def post_stratify(
    weights: Sequence[float] | npt.NDArray[np.floating],
    groups: Labels,
    population: Mapping[Any, float],
    *,
    trim_lower: float | None = None,
    trim_upper: float | None = None,
    counts: CountsInput | None = None,
) -> Reweighting:
    """Scale weights so each group's weighted count equals its known population count.

    ``population`` maps every group label to its size (R: ``postStratify``). Optional
    trimming bounds are multiples of the mean weight (e.g. ``trim_upper=5``: nobody
    counts for more than five average respondents); after trimming the group totals
    hold only approximately, which ``converged`` reports. With ``counts``, row ``i``
    stands for ``counts[i]`` respondents (see module doc), and the result keeps them.
    """
    w0 = _as_weights(weights, len(groups))
    m = _as_counts(counts, w0.size)
    codes, targets = _calibration_codes(groups, w0.size, population, "groups", m)
    w, _ = _scale_to(w0, codes, targets, m)
    trimmed = 0
    if trim_lower is not None or trim_upper is not None:
        lo, hi = _relative_bounds(w, trim_lower, trim_upper, m)
        w, clipped = _trim(w, lo, hi, m=m)
        trimmed = _people(clipped, m)
    _, change = _scale_to(w, codes, targets, m)
    cal = Calibration(kind="post-stratification", margins=(codes,))
    return Reweighting(
        weights=_readonly(w),
        n_eff=kish_effective_size(w, counts=m),
        deff=kish_deff(w, counts=m),
        iterations=1,
        converged=change <= 1e-9,
        trimmed=trimmed,
        calibration=cal,
        counts=None if m is None else _readonly(m),
    )


def rake(
    weights: Sequence[float] | npt.NDArray[np.floating],
    margins: Sequence[tuple[Labels, Mapping[Any, float]]],
    *,
    trim_lower: float | None = None,
    trim_upper: float | None = None,
    tolerance: float = 1e-7,
    max_iter: int = 100,
    counts: CountsInput | None = None,
) -> Reweighting:
    """Rake weights to several known margins by iterative proportional fitting.

    ``margins`` is a list of ``(groups, population)`` pairs, one per variable (R:
    ``rake(design, list(~stype, ~sch.wide), ...)``). Each sweep scales the weights to
    match every margin in turn; sweeps stop when no margin is off by more than
    ``tolerance`` (relative). Optional trimming (multiples of the mean weight) is applied
    after each sweep, so the result matches the margins as well as the bounds allow;
    ``converged`` says whether both held at the end. With ``counts``, row ``i`` stands
    for ``counts[i]`` respondents (see module doc), and the result keeps them.
    """
    if not margins:
        raise ValueError("raking needs at least one margin")
    n = len(margins[0][0])
    w = _as_weights(weights, n).copy()
    m = _as_counts(counts, n)
    coded = [
        _calibration_codes(g, n, pop, f"margin {i + 1}", m) for i, (g, pop) in enumerate(margins)
    ]
    totals = {float(t.sum()) for _, t in coded}
    if max(totals) - min(totals) > 1e-6 * max(totals):
        raise ValueError("the margins' population totals disagree, so raking cannot converge")
    trimming = trim_lower is not None or trim_upper is not None
    converged = False
    trimmed = np.zeros(n, dtype=bool)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        for codes, targets in coded:
            w, _ = _scale_to(w, codes, targets, m)
        if trimming:
            lo, hi = _relative_bounds(w, trim_lower, trim_upper, m)
            w, clipped = _trim(w, lo, hi, m=m)
            trimmed |= clipped
        worst = max(_scale_to(w, codes, targets, m)[1] for codes, targets in coded)
        if worst <= tolerance:
            converged = True
            break
    cal = Calibration(kind="raking", margins=tuple(codes for codes, _ in coded))
    return Reweighting(
        weights=_readonly(w),
        n_eff=kish_effective_size(w, counts=m),
        deff=kish_deff(w, counts=m),
        iterations=iterations,
        converged=converged,
        trimmed=_people(trimmed, m),
        calibration=cal,
        counts=None if m is None else _readonly(m),
    )
