"""Exports decode each response's stored answers with orjson (exports._answers), which
must read every draft the respondent flow writes exactly as json does."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from sayso.surveys.exports import _answers

answers = st.dictionaries(
    st.text(min_size=1, max_size=12),
    st.none()
    | st.text()
    | st.lists(st.text(max_size=8), max_size=4)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False),
    max_size=30,
)


@given(answers)
def test_orjson_reads_what_the_respondent_flow_writes_as_json_does(
    draft: dict[str, object],
) -> None:
    stored = json.dumps(draft)
    assert _answers(stored) == json.loads(stored)


def test_what_orjson_refuses_is_read_by_json() -> None:
    # NaN and a lone surrogate: json writes both, orjson refuses them.
    stored = json.dumps({"age": float("nan"), "story": "\ud800 ok"})
    decoded = _answers(stored)
    assert decoded["story"] == "\ud800 ok"
    assert decoded["age"] != decoded["age"]  # NaN
