"""The streamed .sav file is pyreadstat's own file, byte for byte but for the time.

Each case writes the same rows twice: once with pyreadstat.write_sav from one frame,
once with sav_stream.write_sav from chunks of it. The files must be identical apart
from the creation date and time in the header, and read back equal."""

from __future__ import annotations

import datetime as dt
import random
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from sayso.surveys import sav_stream
from sayso.surveys.sav_stream import SavStreamError

AWKWARD_TEXT = [
    "",
    "ab",
    "x" * 8,  # exactly one slot
    "é" * 4,  # 8 bytes in UTF-8
    "z" * 255,  # the widest ordinary string
    "q" * 256,  # the narrowest very long one
    "ł" * 600,  # 1,200 bytes of two-byte characters
    "w" * 1000,
    "ü" * 1001,
    None,
    "a\u00e9\u4e2d\U0001f600",  # one-, two-, three- and four-byte characters
    "trailing spaces   ",
]


def awkward(n: int, seed: int = 1) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame(
        {
            "response_id": np.arange(1, n + 1, dtype=np.int64),
            "age": np.array([np.nan if i % 3 == 0 else i * 1.5 for i in range(n)]),
            "shift": np.array([np.nan if i % 4 == 0 else float(i % 3 + 1) for i in range(n)]),
            "story": pd.Series([rng.choice(AWKWARD_TEXT) for _ in range(n)], dtype=object),
            "short": pd.Series([rng.choice(["", "a", "bb"]) for _ in range(n)], dtype=object),
            "worries": pd.Series(
                [rng.choice(["", "rates cameras", "rates", "cameras other"]) for _ in range(n)],
                dtype=object,
            ),
            "started": pd.Series(
                [None if i % 5 == 0 else dt.date(2020, 2, 28) + dt.timedelta(i) for i in range(n)],
                dtype=object,
            ),
            "never": pd.Series([None] * n, dtype=object),
            "submitted_on": np.array(
                [np.nan if i % 7 == 0 else (150_000.0 + i) * 86400 for i in range(n)]
            ),
            "flag": np.array([i % 2 == 0 for i in range(n)]),
        }
    )


OPTIONS: dict[str, Any] = {
    "file_label": "Tést survey",
    "column_labels": {"age": "Äge in years", "story": "What happened?", "shift": "Shift"},
    "variable_value_labels": {"shift": {1.0: "Day", 2.0: "Night", 3.0: "Nüght"}},
    "missing_ranges": {"age": [99.0, {"lo": 200.0, "hi": 300.0}]},
    "variable_format": {"submitted_on": "DATE11"},
    "variable_measure": {"shift": "nominal"},
    "note": ["First note", "Zweite Notiz"],
}


def chunked(frame: pd.DataFrame, size: int) -> Callable[[], Iterator[pd.DataFrame]]:
    def chunks() -> Iterator[pd.DataFrame]:
        yield frame.iloc[:0]  # an empty chunk first, as when nothing is left
        for start in range(0, len(frame), size):
            yield frame.iloc[start : start + size]

    return chunks


def both(frame: pd.DataFrame, folder: Path, size: int, **options: Any) -> tuple[bytes, bytes]:
    whole, streamed = folder / "whole.sav", folder / "streamed.sav"
    pyreadstat.write_sav(frame, str(whole), **options)
    rows = sav_stream.write_sav(streamed, chunked(frame, size), **options)
    assert rows == len(frame)
    return whole.read_bytes(), streamed.read_bytes()


def without_time(data: bytes) -> bytes:
    masked = bytearray(data)
    masked[sav_stream.TIMESTAMP] = b"\0" * 17
    return bytes(masked)


def assert_same_file(whole: bytes, streamed: bytes, folder: Path) -> None:
    assert len(whole) == len(streamed)
    assert without_time(whole) == without_time(streamed)
    (folder / "a.sav").write_bytes(whole)
    (folder / "b.sav").write_bytes(streamed)
    frame_a, meta_a = pyreadstat.read_sav(str(folder / "a.sav"))
    frame_b, meta_b = pyreadstat.read_sav(str(folder / "b.sav"))
    pd.testing.assert_frame_equal(frame_a, frame_b)
    assert meta_a.variable_value_labels == meta_b.variable_value_labels
    assert meta_a.original_variable_types == meta_b.original_variable_types
    assert meta_a.number_rows == meta_b.number_rows


@pytest.mark.parametrize("size", [1, 7, 50, 1000])
def test_awkward_data_streams_to_the_same_bytes(tmp_path: Path, size: int) -> None:
    frame = awkward(137)
    whole, streamed = both(frame, tmp_path, size, **OPTIONS)
    assert_same_file(whole, streamed, tmp_path)
    # And the data really went through: read back, it is the frame written.
    back, meta = pyreadstat.read_sav(str(tmp_path / "b.sav"))
    assert meta.number_rows == 137
    assert meta.original_variable_types["story"] == "A2002"  # "ü" * 1001: 2,002 bytes
    story = frame["story"].map(lambda v: "" if v is None else v.rstrip(" "))
    assert back["story"].tolist() == story.tolist()
    assert back["started"].tolist()[1] == dt.date(2020, 2, 29)
    assert meta.original_variable_types["started"] == "DATE11"
    assert np.isnan(back["age"][0])
    assert back["age"][1] == 1.5


def test_string_widths_around_every_segment_boundary(tmp_path: Path) -> None:
    """Very long strings are split in 255-byte segments whose count and last width
    follow SPSS's rule (a segment stands for 252 bytes): every width to 300, those
    around the second, third and fourth segment, and some wider, each full and short."""
    widths = [*range(1, 301), *range(500, 520), *range(750, 770), *range(1000, 1030)]
    for width in [*widths, 1531, 2000, 4095, 32767]:
        frame = pd.DataFrame(
            {
                "before": [1.0, np.nan, 3.0],
                "s": pd.Series(["é" * (width // 2) + "x" * (width % 2), "", "y"], dtype=object),
                "after": [np.nan, 2.0, 4.0],
            }
        )
        whole, streamed = both(frame, tmp_path, 2)
        assert without_time(whole) == without_time(streamed), width


def test_nul_bytes_end_a_value_as_readstat_copies_it(tmp_path: Path) -> None:
    frame = pd.DataFrame({"s": pd.Series(["ab\0cd", "e", "\0"], dtype=object)})
    whole, streamed = both(frame, tmp_path, 1)
    assert_same_file(whole, streamed, tmp_path)


def test_pandas_string_dtype_and_nullable_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "s": pd.Series(["a", None, "ccc"], dtype="str"),
            "n": pd.Series([1, None, 3], dtype="Int64"),
        }
    )
    whole, streamed = both(frame, tmp_path, 2)
    assert_same_file(whole, streamed, tmp_path)


def test_no_rows_is_pyreadstats_empty_file(tmp_path: Path) -> None:
    frame = awkward(0)
    whole, streamed = both(frame, tmp_path, 10, **OPTIONS)
    assert_same_file(whole, streamed, tmp_path)


def test_case_counts_in_the_header_are_the_rows_written(tmp_path: Path) -> None:
    frame = awkward(40)
    _whole, streamed = both(frame, tmp_path, 9)
    assert struct.unpack_from("=i", streamed, sav_stream.CASES_OFFSET) == (40,)


def test_refusals(tmp_path: Path) -> None:
    frame = awkward(5)
    target = tmp_path / "x.sav"
    with pytest.raises(SavStreamError, match="uncompressed"):
        sav_stream.write_sav(target, chunked(frame, 2), row_compress=True)
    with pytest.raises(SavStreamError, match="no chunk"):
        sav_stream.write_sav(target, lambda: iter([]))
    mixed = pd.DataFrame({"m": pd.Series(["a", 1.5], dtype=object)})
    with pytest.raises(SavStreamError, match="all be text or all be dates"):
        sav_stream.write_sav(target, lambda: iter([mixed]))
    with pytest.raises(SavStreamError, match="same columns"):
        sav_stream.write_sav(target, lambda: iter([frame[["age"]], frame[["shift"]]]))


def test_data_that_grows_between_the_passes_is_refused(tmp_path: Path) -> None:
    """A value longer on the second pass than on the first would not fit its width."""
    calls = []

    def chunks() -> Iterator[pd.DataFrame]:
        calls.append(1)
        text = "short" if len(calls) == 1 else "much longer now"
        yield pd.DataFrame({"s": pd.Series([text], dtype=object)})

    with pytest.raises(SavStreamError, match="changed"):
        sav_stream.write_sav(tmp_path / "x.sav", chunks)
