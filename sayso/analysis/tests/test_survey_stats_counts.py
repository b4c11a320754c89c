"""The frequency form (``counts=``) of the survey estimators, and the vectorised paths.

A frequency table (each row standing for ``counts[i]`` identical respondents) must give
exactly what the same respondents one row each give: that is its whole contract, and
what lets the results page weight 100,000 respondents from a few hundred cells.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sayso.analysis import survey_stats as ss

RNG_SEED = 11


def _table(seed: int = RNG_SEED) -> dict[str, Any]:
    """A small frequency table: answer, stratum, group, weight and count per row."""
    rng = np.random.default_rng(seed)
    rows = 40
    return {
        "answer": rng.choice(
            ["yes", "no", "unsure", None], rows, p=[0.4, 0.35, 0.2, 0.05]
        ).tolist(),
        "number": [None if rng.random() < 0.1 else float(v) for v in rng.normal(40, 9, rows)],
        "stratum": rng.choice(["east", "west"], rows).tolist(),
        "group": rng.choice(["day", "night"], rows).tolist(),
        "band": rng.choice(["young", "old"], rows).tolist(),
        "weight": rng.uniform(0.5, 4.0, rows).tolist(),
        "count": rng.integers(0, 9, rows).tolist(),
    }


def _repeat(values: list[Any], counts: list[int]) -> list[Any]:
    return [v for v, c in zip(values, counts, strict=True) for _ in range(c)]


def _same(a: object, b: object) -> None:
    """Two results agree to floating-point rounding, field by field."""
    for name in a.__dataclass_fields__:  # type: ignore[attr-defined]
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float):
            assert x == pytest.approx(y, rel=1e-10, abs=1e-13), name
        else:
            assert x == y, name


def test_proportions_from_counts_equal_the_repeated_rows() -> None:
    t = _table()
    by_row = ss.proportions(t["answer"], weights=t["weight"], counts=t["count"])
    repeated = ss.proportions(
        _repeat(t["answer"], t["count"]), weights=_repeat(t["weight"], t["count"])
    )
    assert len(by_row) == 3
    for a, b in zip(by_row, repeated, strict=True):
        _same(a, b)
    # Counts, not rows: the denominators are respondents.
    assert by_row[0].n == sum(c for a, c in zip(t["answer"], t["count"], strict=True) if a)


def test_stratified_estimates_from_counts_equal_the_repeated_rows() -> None:
    t = _table(5)
    fpc = {"east": 900, "west": 1500}
    design: dict[str, Any] = {"weights": t["weight"], "strata": t["stratum"], "fpc": fpc}
    repeated: dict[str, Any] = {
        "weights": _repeat(t["weight"], t["count"]),
        "strata": _repeat(t["stratum"], t["count"]),
        "fpc": fpc,
    }
    _same(
        ss.mean(t["number"], counts=t["count"], **design),
        ss.mean(_repeat(t["number"], t["count"]), **repeated),
    )
    _same(
        ss.total(t["number"], counts=t["count"], **design),
        ss.total(_repeat(t["number"], t["count"]), **repeated),
    )
    for a, b in zip(
        ss.proportions(
            t["answer"], counts=t["count"], categories=["no", "yes", "unsure"], **design
        ),
        ss.proportions(
            _repeat(t["answer"], t["count"]), categories=["no", "yes", "unsure"], **repeated
        ),
        strict=True,
    ):
        _same(a, b)


@pytest.mark.parametrize("trim_upper", [None, 1.3])
def test_post_stratify_from_counts_equals_the_repeated_rows(trim_upper: float | None) -> None:
    t = _table(7)
    population = {"day": 600.0, "night": 400.0}
    cells = ss.post_stratify(
        t["weight"], t["group"], population, counts=t["count"], trim_upper=trim_upper
    )
    people = ss.post_stratify(
        _repeat(t["weight"], t["count"]),
        _repeat(t["group"], t["count"]),
        population,
        trim_upper=trim_upper,
    )
    assert np.allclose(_repeat(list(cells.weights), t["count"]), people.weights, rtol=1e-12)
    assert cells.n_eff == pytest.approx(people.n_eff, rel=1e-12)
    assert cells.deff == pytest.approx(people.deff, rel=1e-12)
    assert (cells.trimmed, cells.converged) == (people.trimmed, people.converged)
    if trim_upper is not None:
        assert cells.trimmed > 0  # the bound was reached, so trimming was exercised
    # The reweighting carries its counts, so estimates from it need not repeat them,
    # and the calibration still narrows the standard errors in the same way.
    for a, b in zip(
        ss.proportions(t["answer"], weights=cells),
        ss.proportions(_repeat(t["answer"], t["count"]), weights=people),
        strict=True,
    ):
        _same(a, b)


def test_rake_from_counts_equals_the_repeated_rows() -> None:
    t = _table(9)
    margins = [({"day": 550.0, "night": 450.0}), ({"young": 300.0, "old": 700.0})]
    cells = ss.rake(
        t["weight"],
        [(t["group"], margins[0]), (t["band"], margins[1])],
        counts=t["count"],
        trim_upper=2.5,
    )
    people = ss.rake(
        _repeat(t["weight"], t["count"]),
        [
            (_repeat(t["group"], t["count"]), margins[0]),
            (_repeat(t["band"], t["count"]), margins[1]),
        ],
        trim_upper=2.5,
    )
    assert np.allclose(_repeat(list(cells.weights), t["count"]), people.weights, rtol=1e-10)
    assert (cells.iterations, cells.converged, cells.trimmed) == (
        people.iterations,
        people.converged,
        people.trimmed,
    )
    _same(
        ss.mean(t["number"], weights=cells),
        ss.mean(_repeat(t["number"], t["count"]), weights=people),
    )


def test_kish_and_trimming_with_counts() -> None:
    w, c = [1.0, 2.0, 5.0], [3, 2, 1]
    assert ss.kish_effective_size(w, counts=c) == pytest.approx(
        ss.kish_effective_size(_repeat(w, c))
    )
    assert ss.kish_deff(w, counts=c) == pytest.approx(ss.kish_deff(_repeat(w, c)))
    trimmed = ss.trim_weights(w, upper=3.0, counts=c)
    assert _repeat(list(trimmed), c) == pytest.approx(
        list(ss.trim_weights(_repeat(w, c), upper=3.0))
    )
    assert float(np.dot(trimmed, c)) == pytest.approx(float(np.dot(w, c)))


def test_bad_counts_are_refused() -> None:
    answers, weights = ["a", "b", "a"], [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="whole numbers"):
        ss.proportions(answers, weights=weights, counts=np.array([1, 2.5, 1]))
    with pytest.raises(ValueError, match="whole numbers"):
        ss.mean([1.0, 2.0, 3.0], weights=weights, counts=[1, -1, 1])
    with pytest.raises(ValueError, match="one entry per row"):
        ss.total([1.0, 2.0, 3.0], weights=weights, counts=[1, 2])
    with pytest.raises(ValueError, match="cannot be combined with clusters"):
        ss.mean([1.0, 2.0, 3.0], weights=weights, clusters=[1, 1, 2], counts=[1, 2, 1])
    cells = ss.post_stratify([1.0, 1.0], ["x", "y"], {"x": 5.0, "y": 5.0}, counts=[2, 3])
    with pytest.raises(ValueError, match="frequency table the weights were made for"):
        ss.proportions(["a", "b"], weights=cells, counts=[3, 2])


def test_answers_coded_once_give_the_same_proportions_on_every_input_form() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(1, 4, 200)
    weights = rng.uniform(1, 3, 200)
    as_ints = ss.proportions(codes, weights=weights)
    as_list = ss.proportions(codes.tolist(), weights=weights)
    as_floats = ss.proportions(codes.astype(float), weights=weights, categories=[1, 2, 3, 4])
    assert [e.category for e in as_ints] == [1, 2, 3]
    for a, b, c in zip(as_ints, as_list, as_floats, strict=False):
        _same(a, b)
        assert a.value == pytest.approx(c.value)
        assert a.count == c.count
    assert as_floats[-1].count == 0
    assert as_floats[-1].value == 0.0
    # NaN in a float array is a missing answer, as None is in a list.
    with_gaps = codes.astype(float)
    with_gaps[:10] = np.nan
    listed = [None] * 10 + codes[10:].tolist()
    for a, b in zip(
        ss.proportions(with_gaps, weights=weights),
        ss.proportions(listed, weights=weights),
        strict=True,
    ):
        _same(a, b)
        assert a.n == 190


def test_mixed_answers_keep_their_order_and_equality() -> None:
    # Sorted by type name, then value; 1 and 1.0 are the same answer, as == says.
    found = ss.proportions([2, "b", 1, "a", 1.0, None], weights=[1.0] * 6)
    assert [e.category for e in found] == [1, 2, "a", "b"]
    assert [e.count for e in found] == [2, 1, 1, 1]
    assert math.isclose(sum(e.value for e in found), 1.0)
    with pytest.raises(ValueError, match=r"answers not among the categories: \['c'\]"):
        ss.proportions(["a", "c", None], weights=[1.0] * 3, categories=["a", "b"])


def test_missing_design_labels_are_named_by_position() -> None:
    with pytest.raises(ValueError, match="strata has a missing value at position 2"):
        ss.mean([1.0, 2.0, 3.0, 4.0], weights=[1.0] * 4, strata=["a", "b", None, "a"])
    with pytest.raises(ValueError, match="clusters has a missing value at position 1"):
        ss.mean([1.0, 2.0, 3.0], weights=[1.0] * 3, clusters=np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="strata has 2 entries but y has 3"):
        ss.mean([1.0, 2.0, 3.0], weights=[1.0] * 3, strata=np.array([1, 2]))


def test_a_category_everyone_chose_is_a_share_of_exactly_one() -> None:
    # With these weights the weighted sum of ones divided by the sum of the weights is
    # 1.0000000000000002 in floating point (a filter on the question itself gives this);
    # it used to fail the interval with "p must be between 0 and 1".
    weights = np.random.default_rng(13).uniform(0.1, 10, 50)
    assert float(weights @ np.ones(50)) / float(weights.sum()) > 1.0
    (everyone,) = ss.proportions(["yes"] * 50, weights=weights)
    assert everyone.value == 1.0
    assert everyone.ci_high == 1.0
    assert 0.0 < everyone.ci_low < 1.0
