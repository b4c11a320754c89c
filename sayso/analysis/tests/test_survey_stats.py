"""Survey estimates against known answers from R's ``survey`` package on the api data.

Published values are asserted to exactly the digits R printed (formatting our result to
the same number of places and comparing strings). Sources:

* R survey tutorials and the r-survey "example-summary" page: the stratified and
  one-stage cluster designs (apistrat, apiclus1), values, SEs and DEff.
* Survey.jl's documentation quoting R: the simple random sample (apisrs) with DEff.
* A survey-methods lecture (Coursera): post-stratified total enrolment SE "about 406,000".
* Newcombe (1998) Stat Med 17:857, and R's ``binom`` output: Wilson intervals.

R's own printout of the post-stratified mean and the raked estimates was not found;
those tests pin the agreement of independent implementations (svy 0.35, ipfn, the
research note's numpy) and say so.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sayso.analysis import survey_stats as ss

FIXTURES = Path(__file__).parent / "fixtures" / "survey_api"
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


def _load(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _num(rows: list[dict[str, str]], col: str) -> np.ndarray:
    return np.array([float(r[col]) for r in rows])


def _lab(rows: list[dict[str, str]], col: str) -> list[str]:
    return [r[col] for r in rows]


def printed(x: float, places: int) -> str:
    """Format as R printed it: a fixed number of decimal places."""
    return f"{x:.{places}f}"


@pytest.fixture(scope="module")
def apistrat() -> list[dict[str, str]]:
    return _load("apistrat.csv")


@pytest.fixture(scope="module")
def apiclus1() -> list[dict[str, str]]:
    return _load("apiclus1.csv")


@pytest.fixture(scope="module")
def apisrs() -> list[dict[str, str]]:
    return _load("apisrs.csv")


def _strat(rows: list[dict[str, str]]) -> dict[str, object]:
    return {"weights": _num(rows, "pw"), "strata": _lab(rows, "stype"), "fpc": _num(rows, "fpc")}


def _clus1(rows: list[dict[str, str]]) -> dict[str, object]:
    return {"weights": _num(rows, "pw"), "clusters": _lab(rows, "dnum"), "fpc": _num(rows, "fpc")}


def test_fixtures_are_the_published_api_files() -> None:
    # Row counts of R's data(api): a changed fixture would silently change every number.
    assert [len(_load(f)) for f in ("apistrat.csv", "apiclus1.csv", "apisrs.csv")] == [
        200,
        183,
        200,
    ]
    assert (FIXTURES / "LICENSE").read_text().startswith("MIT License")


# --------------------------------------------------------------------------- published values


def test_stratified_mean_matches_r(apistrat: list[dict[str, str]]) -> None:
    # svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc); svymean(~api00): 662.29 9.4089
    est = ss.mean(_num(apistrat, "api00"), **_strat(apistrat))  # type: ignore[arg-type]
    assert (printed(est.value, 2), printed(est.se, 4)) == ("662.29", "9.4089")
    assert est.n == 200


def test_stratified_total_matches_r(apistrat: list[dict[str, str]]) -> None:
    # svytotal(~enroll): 3687178 SE 114642
    est = ss.total(_num(apistrat, "enroll"), **_strat(apistrat))  # type: ignore[arg-type]
    assert (printed(est.value, 0), printed(est.se, 0)) == ("3687178", "114642")


def test_cluster_mean_matches_r_with_deff(apiclus1: list[dict[str, str]]) -> None:
    # dclus1 <- svydesign(id=~dnum, weights=~pw, fpc=~fpc); svymean(~api00, deff=TRUE)
    est = ss.mean(_num(apiclus1, "api00"), **_clus1(apiclus1))  # type: ignore[arg-type]
    assert (printed(est.value, 2), printed(est.se, 3), printed(est.deff, 4)) == (
        "644.17",
        "23.542",
        "9.3459",
    )


def test_cluster_total_matches_r(apiclus1: list[dict[str, str]]) -> None:
    # svytotal(~enroll, dclus1): 3404940.13 SE 932235.03
    est = ss.total(_num(apiclus1, "enroll"), **_clus1(apiclus1))  # type: ignore[arg-type]
    assert (printed(est.value, 2), printed(est.se, 2)) == ("3404940.13", "932235.03")


def test_cluster_proportions_match_r(apiclus1: list[dict[str, str]]) -> None:
    # svymean(~stype, dclus1): E 0.786885 (0.0463), H 0.076503 (0.0268), M 0.136612 (0.0296)
    res = ss.proportions(_lab(apiclus1, "stype"), **_clus1(apiclus1))  # type: ignore[arg-type]
    assert [(r.category, printed(r.value, 6), printed(r.se, 4)) for r in res] == [
        ("E", "0.786885", "0.0463"),
        ("H", "0.076503", "0.0268"),
        ("M", "0.136612", "0.0296"),
    ]
    assert [(r.n, r.count) for r in res] == [(183, 144), (183, 14), (183, 25)]


def test_simple_random_sample_matches_r_with_deff(apisrs: list[dict[str, str]]) -> None:
    # svydesign(id=~1, weights=~pw, data=apisrs); svymean(~api00, deff=TRUE)
    est = ss.mean(_num(apisrs, "api00"), weights=_num(apisrs, "pw"))
    assert (printed(est.value, 3), printed(est.se, 4), printed(est.deff, 4)) == (
        "656.585",
        "9.4028",
        "1.0334",
    )


def test_post_stratified_total_se_matches_lecture(apiclus1: list[dict[str, str]]) -> None:
    # postStratify(dclus1, ~stype, pop.types): total enrolment SE "about 406,000",
    # down from 932,000 without post-stratification.
    rw = ss.post_stratify(_num(apiclus1, "pw"), _lab(apiclus1, "stype"), POP_TYPES)
    d = _clus1(apiclus1) | {"weights": rw}
    est = ss.total(_num(apiclus1, "enroll"), **d)  # type: ignore[arg-type]
    assert round(est.se, -3) == 406_000


# --------------------------------------------------------------------------- cross-implementation


def test_post_stratified_estimates_agree_with_svy(apiclus1: list[dict[str, str]]) -> None:
    # Not R's printout: svy 0.35 and the research note's numpy agree on these digits.
    rw = ss.post_stratify(_num(apiclus1, "pw"), _lab(apiclus1, "stype"), POP_TYPES)
    d = _clus1(apiclus1) | {"weights": rw}
    m = ss.mean(_num(apiclus1, "api00"), **d)  # type: ignore[arg-type]
    t = ss.total(_num(apiclus1, "enroll"), **d)  # type: ignore[arg-type]
    assert (printed(m.value, 4), printed(m.se, 4)) == ("642.3108", "23.9205")
    assert (printed(t.value, 2), printed(t.se, 2)) == ("3680892.95", "406292.64")
    groups = np.array(_lab(apiclus1, "stype"))
    assert {g: round(float(rw.weights[groups == g].sum()), 9) for g in POP_TYPES} == POP_TYPES


def test_post_stratification_without_calibration_info_gives_the_naive_se(
    apiclus1: list[dict[str, str]],
) -> None:
    # Passing only the array of new weights ignores the calibration, and the SE is the
    # much larger naive one; this is why Reweighting is passed whole.
    rw = ss.post_stratify(_num(apiclus1, "pw"), _lab(apiclus1, "stype"), POP_TYPES)
    d = _clus1(apiclus1) | {"weights": np.array(rw.weights)}
    t = ss.total(_num(apiclus1, "enroll"), **d)  # type: ignore[arg-type]
    assert round(t.se, -3) > 900_000


def test_raked_mean_agrees_with_svy_and_ipfn(apiclus1: list[dict[str, str]]) -> None:
    # rake(dclus1, list(~stype, ~sch.wide), ...): svy 0.35 gives 641.2303 (Taylor SE
    # 23.7036); ipfn 1.4.4 gives the same weights.
    rw = ss.rake(
        _num(apiclus1, "pw"),
        [(_lab(apiclus1, "stype"), POP_TYPES), (_lab(apiclus1, "sch.wide"), POP_SCHWIDE)],
        tolerance=1e-12,
    )
    assert rw.converged
    assert rw.trimmed == 0
    d = _clus1(apiclus1) | {"weights": rw}
    m = ss.mean(_num(apiclus1, "api00"), **d)  # type: ignore[arg-type]
    assert (printed(m.value, 5), printed(m.se, 4)) == ("641.23032", "23.7036")
    sw = np.array(_lab(apiclus1, "sch.wide"))
    assert {g: round(float(rw.weights[sw == g].sum()), 6) for g in POP_SCHWIDE} == POP_SCHWIDE


@pytest.mark.parametrize(
    ("name", "expected"),
    [("apistrat.csv", "1.18637"), ("apiclus2.csv", "2.81403"), ("apiclus1.csv", "1.00000")],
)
def test_kish_deff_of_api_weights(name: str, expected: str) -> None:
    assert printed(ss.kish_deff(_num(_load(name), "pw")), 5) == expected


def test_kish_effective_size_of_unequal_weights() -> None:
    # (1+1+2)^2 / (1+1+4) = 16/6
    assert ss.kish_effective_size([1.0, 1.0, 2.0]) == pytest.approx(16 / 6, rel=1e-15)
    assert ss.kish_effective_size([3.0] * 7) == pytest.approx(7.0, rel=1e-15)


# --------------------------------------------------------------------------- Wilson intervals


@pytest.mark.parametrize(
    ("x", "n", "low", "high", "places"),
    [
        # Newcombe (1998), table I, Wilson score method without continuity correction.
        (81, 263, "0.2553", "0.3662", 4),
        (15, 148, "0.0624", "0.1605", 4),
        (0, 20, "0.0000", "0.1611", 4),
        (1, 29, "0.0061", "0.1718", 4),
        # R binom::binom.confint(3, 312, methods="wilson")
        (3, 312, "0.0033", "0.028", None),
    ],
)
def test_wilson_matches_published(x: int, n: int, low: str, high: str, places: int | None) -> None:
    lo, hi = ss.wilson_interval(x / n, n)
    if places is None:
        assert (printed(lo, 4), f"{hi:.3f}") == (low, high)
    else:
        assert (printed(lo, places), printed(hi, places)) == (low, high)


def test_unweighted_proportion_interval_is_wilson_on_the_counts() -> None:
    # With equal weights the effective sample size is n, so the interval is Newcombe's.
    answers = ["yes"] * 81 + ["no"] * 182
    res = ss.proportions(answers, weights=[1.0] * 263, categories=["yes", "no", "unsure"])
    yes, no, unsure = res
    assert (printed(yes.ci_low, 4), printed(yes.ci_high, 4)) == ("0.2553", "0.3662")
    assert yes.n_eff == pytest.approx(263.0, rel=1e-12)
    assert yes.deff == pytest.approx(1.0, rel=1e-12)
    assert (no.count, unsure.count, unsure.value, unsure.ci_low) == (182, 0, 0.0, 0.0)
    # Nobody chose "unsure": Kish's n_eff (263) gives the 0-of-263 Wilson upper bound.
    assert unsure.ci_high == pytest.approx(ss.wilson_interval(0.0, 263)[1], rel=1e-12)


def test_wilson_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="p must be"):
        ss.wilson_interval(1.5, 10)
    with pytest.raises(ValueError, match="n_eff"):
        ss.wilson_interval(0.5, 0)


# --------------------------------------------------------------------------- design handling


def test_fpc_forms_are_equivalent(apistrat: list[dict[str, str]]) -> None:
    y = _num(apistrat, "api00")
    strata = _lab(apistrat, "stype")
    sizes = ss.mean(y, weights=_num(apistrat, "pw"), strata=strata, fpc=_num(apistrat, "fpc"))
    by_stratum = ss.mean(y, weights=_num(apistrat, "pw"), strata=strata, fpc=POP_TYPES)
    sampled = {"E": 100, "H": 50, "M": 50}
    fractions = ss.mean(
        y,
        weights=_num(apistrat, "pw"),
        strata=strata,
        fpc=[sampled[s] / POP_TYPES[s] for s in strata],
    )
    assert sizes.se == pytest.approx(by_stratum.se, rel=1e-14)
    assert sizes.se == pytest.approx(fractions.se, rel=1e-14)
    without = ss.mean(y, weights=_num(apistrat, "pw"), strata=strata)
    assert without.se > sizes.se  # the finite population correction only shrinks


def test_missing_answers_are_a_domain(apiclus1: list[dict[str, str]]) -> None:
    y = _num(apiclus1, "api00")
    y_missing: list[float | None] = [None if i % 3 == 0 else v for i, v in enumerate(y)]
    est = ss.mean(y_missing, **_clus1(apiclus1))  # type: ignore[arg-type]
    keep = np.array([i % 3 != 0 for i in range(y.size)])
    w = _num(apiclus1, "pw")
    assert est.value == pytest.approx(float(w[keep] @ y[keep] / w[keep].sum()), rel=1e-14)
    assert est.n == int(keep.sum()) == 122


def test_a_lonely_psu_is_refused() -> None:
    with pytest.raises(ValueError, match="single sampling unit"):
        ss.mean([1.0, 2.0, 3.0], weights=[1.0, 1.0, 1.0], strata=["a", "a", "b"])


def test_a_census_stratum_has_no_variance() -> None:
    # fpc equal to the sample size: the stratum is fully observed.
    est = ss.mean([1.0, 5.0], weights=[1.0, 1.0], fpc=2)
    assert (est.value, est.se) == (3.0, 0.0)


def test_bad_designs_are_refused() -> None:
    with pytest.raises(ValueError, match="smaller than the 3 sampled"):
        ss.mean([1.0, 2.0, 3.0], weights=[1.0, 1.0, 1.0], fpc=2)
    with pytest.raises(ValueError, match="non-negative"):
        ss.mean([1.0, 2.0], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="one entry per respondent"):
        ss.mean([1.0, 2.0], weights=[1.0])
    with pytest.raises(ValueError, match="constant within each stratum"):
        ss.mean([1.0, 2.0, 3.0], weights=[1.0] * 3, fpc=[10, 10, 20])
    with pytest.raises(ValueError, match="not among the categories"):
        ss.proportions(["a", "b"], weights=[1.0, 1.0], categories=["a"])


def test_results_are_frozen() -> None:
    est = ss.mean([1.0, 2.0, 4.0], weights=[1.0, 1.0, 1.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.value = 0.0  # type: ignore[misc]
    rw = ss.post_stratify([1.0, 1.0], ["a", "b"], {"a": 3, "b": 5})
    with pytest.raises(ValueError, match="read-only"):
        rw.weights[0] = 9.0


def test_unweighted_mean_has_textbook_se() -> None:
    y = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    est = ss.mean(y, weights=[1.0] * 8)
    assert est.value == 5.0
    # sample sd = sqrt(32/7); SE = sd / sqrt(8); deff 1 against sampling with replacement
    assert est.se == pytest.approx(math.sqrt(32 / 7 / 8), rel=1e-14)
    assert est.deff == pytest.approx(1.0, rel=1e-14)


# --------------------------------------------------------------------------- reweighting


def test_trim_weights_keeps_the_total() -> None:
    out = ss.trim_weights([1.0, 1.0, 1.0, 1.0, 16.0], upper=5.0)
    assert out.tolist() == [3.75, 3.75, 3.75, 3.75, 5.0]
    # Redistribution pushes 3.75 above a bound of 3.5, so it repeats until all fit.
    out = ss.trim_weights([1.0, 1.0, 1.0, 1.0, 16.0], upper=4.0)
    assert out.tolist() == [4.0, 4.0, 4.0, 4.0, 4.0]
    with pytest.raises(ValueError, match="cannot hold"):
        ss.trim_weights([1.0, 1.0, 10.0], upper=3.0)


def test_post_stratify_reports_kish_n_eff() -> None:
    rw = ss.post_stratify([1.0, 1.0, 1.0, 1.0], ["a", "a", "a", "b"], {"a": 30, "b": 30})
    assert rw.weights.tolist() == [10.0, 10.0, 10.0, 30.0]
    assert rw.n_eff == pytest.approx(3600 / 1200, rel=1e-15)
    assert rw.deff == pytest.approx(4 / 3, rel=1e-15)
    assert rw.converged
    with pytest.raises(ValueError, match="no respondents in"):
        ss.post_stratify([1.0, 1.0], ["a", "a"], {"a": 30, "b": 30})
    with pytest.raises(ValueError, match="no population figure"):
        ss.post_stratify([1.0, 1.0], ["a", "c"], {"a": 30})


def test_rake_with_trimming_respects_the_cap() -> None:
    # One woman among eight respondents stands for half the population: raking alone
    # gives her a weight of 50 against about 7 for each man.
    sex = ["f"] + ["m"] * 7
    age = ["old", "young", "old", "young", "old", "young", "old", "old"]
    margins = [(sex, {"f": 50.0, "m": 50.0}), (age, {"young": 40.0, "old": 60.0})]
    plain = ss.rake([1.0] * 8, margins)
    assert plain.converged
    assert plain.trimmed == 0
    assert max(plain.weights) == pytest.approx(50.0, rel=1e-6)
    trimmed = ss.rake([1.0] * 8, margins, trim_upper=2.0, max_iter=50)
    # The cap (twice the mean weight of 12.5) wins over the margins, and says so.
    assert max(trimmed.weights) == pytest.approx(25.0, rel=1e-9)
    assert (trimmed.trimmed, trimmed.converged, trimmed.iterations) == (1, False, 50)
    assert trimmed.n_eff > plain.n_eff
    assert sum(trimmed.weights) == pytest.approx(100.0, rel=1e-12)


def test_rake_refuses_inconsistent_margins() -> None:
    with pytest.raises(ValueError, match="disagree"):
        ss.rake([1.0, 1.0], [(["a", "b"], {"a": 1, "b": 1}), (["x", "y"], {"x": 5, "y": 5})])


# --------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)
positive = st.floats(min_value=0.1, max_value=100.0)


@st.composite
def samples(draw: st.DrawFn) -> tuple[list[float], list[float], list[int]]:
    n = draw(st.integers(min_value=4, max_value=40))
    y = draw(st.lists(finite, min_size=n, max_size=n))
    w = draw(st.lists(positive, min_size=n, max_size=n))
    clusters = [i // 2 for i in range(n)]
    return y, w, clusters


@settings(max_examples=100, deadline=None)
@given(samples(), st.floats(min_value=0.01, max_value=100.0))
def test_mean_and_se_do_not_depend_on_weight_scale(
    sample: tuple[list[float], list[float], list[int]], scale: float
) -> None:
    y, w, clusters = sample
    a = ss.mean(y, weights=w, clusters=clusters)
    b = ss.mean(y, weights=[v * scale for v in w], clusters=clusters)
    assert b.value == pytest.approx(a.value, rel=1e-9, abs=1e-9)
    assert b.se == pytest.approx(a.se, rel=1e-7, abs=1e-9)
    t = ss.total(y, weights=[v * scale for v in w], clusters=clusters)
    assert t.value == pytest.approx(scale * ss.total(y, weights=w).value, rel=1e-9, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from("abc"), min_size=4, max_size=40).flatmap(
        lambda ys: st.tuples(st.just(ys), st.lists(positive, min_size=len(ys), max_size=len(ys)))
    )
)
def test_proportions_sum_to_one_and_intervals_hold_them(
    sample: tuple[list[str], list[float]],
) -> None:
    ys, w = sample
    res = ss.proportions(ys, weights=w, categories=["a", "b", "c"])
    assert sum(r.value for r in res) == pytest.approx(1.0, rel=1e-12)
    assert sum(r.count for r in res) == len(ys)
    for r in res:
        assert 0.0 <= r.ci_low <= r.value <= r.ci_high <= 1.0
        assert r.n_eff > 0


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=1.0, max_value=1e5))
def test_wilson_narrows_with_more_information(p: float, n: float) -> None:
    lo1, hi1 = ss.wilson_interval(p, n)
    lo2, hi2 = ss.wilson_interval(p, n * 4)
    assert 0.0 <= lo1 <= p <= hi1 <= 1.0
    assert hi2 - lo2 < hi1 - lo1
