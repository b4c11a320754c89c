"""SPSS .sav files of any length in constant memory, written with pyreadstat's help.

pyreadstat (ReadStat) writes a .sav file only from one whole DataFrame, so a table of
100,000 rows would sit in memory at once. An uncompressed .sav file is simple after
its dictionary, though, so the work is split:

1. A first pass over the chunks learns what the dictionary depends on: each column's
   kind and, for text, its widest value in UTF-8 bytes (pyreadstat sizes a string
   variable by its longest value, at least 1 byte).
2. pyreadstat writes the file from a one-row frame of the same columns and types whose
   text values are exactly that wide, with every other option (labels, value labels,
   missing values, formats) as given. Its dictionary is then the one it would write
   for the whole table, except the number of cases in the header.
3. That row is cut off, and the real rows are appended a chunk at a time in the layout
   pyreadstat uses for uncompressed data; finally the header's case count is set.

The uncompressed layout (as ReadStat writes it, checked byte for byte against
pyreadstat's own output by sayso/surveys/tests/test_sav_stream.py):

- The file header is 176 bytes; at offset 64 an int32 layout code (2: the machine's
  own byte order, in which every number below is written), at 68 the number of 8-byte
  slots in one case, at 72 the compression flag (0 here), at 80 the number of cases
  as an int32. Bytes 92-108 hold the creation date and time.
- The dictionary ends with the extended case count (record 7, subtype 16: int32s 7,
  16, 8, 2, then int64 1 and the number of cases as an int64), then the end record
  (int32 999, int32 0). The cases follow directly, one after another, each the same
  number of 8-byte slots, nothing after.
- A number takes one slot, an IEEE double; a missing number is SPSS's system-missing
  value, -DBL_MAX (bytes ff ff ff ff ff ff ef ff in little-endian order). Dates are
  numbers: seconds since 14 October 1582.
- A string of width w <= 255 takes w rounded up to 8 bytes, padded with spaces; a
  missing string is all spaces. ReadStat copies a value up to its first NUL byte.
- A "very long" string (w > 255) is split into ceil(w / 252) segments, which SPSS
  shows as one variable: every segment but the last is 256 bytes holding the next 255
  bytes of the value and one space; the last holds what is left, in
  w - 252 * (segments - 1) bytes rounded up to 8. Spaces pad every segment.

Anything else (compressed files, other column types) is refused rather than guessed.
This module knows nothing of Django: it turns DataFrames into a file.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HEADER_SIZE = 176
LAYOUT_OFFSET = 64
CASE_SIZE_OFFSET = 68
COMPRESSION_OFFSET = 72
CASES_OFFSET = 80
# The creation date (9 bytes) and time (8 bytes): the only bytes that depend on when
# the file was written.
TIMESTAMP = slice(92, 109)
# The extended case count record (7.16) just before its int64 count, then the count,
# then the end of the dictionary: the cases start after this.
CASE_COUNT_RECORD = struct.pack("=iiiiq", 7, 16, 8, 2, 1)
END_OF_DICTIONARY = struct.pack("=ii", 999, 0)
DICTIONARY_TAIL = len(CASE_COUNT_RECORD) + 8 + len(END_OF_DICTIONARY)
SYSMIS = -sys.float_info.max
SEGMENT = 255  # bytes of a very long string held by each full segment
SEGMENT_STORAGE = 256
SEGMENT_WIDTH = 252  # width one segment stands for when SPSS counts them
MAX_CASES = 2**31 - 1
# SPSS dates count seconds from the Gregorian calendar's first day, 1582-10-14, which
# is 141,428 days before 1970-01-01 (pyreadstat's offset, to the same double).
SPSS_EPOCH_DAYS = 141428.0
UNIX_EPOCH = dt.date(1970, 1, 1)

NUMBER, TEXT, DATE = "number", "text", "date"


class SavStreamError(ValueError):
    """The data cannot be written as asked."""


class SavDataChanged(SavStreamError):  # noqa: N818 (reads as the outcome)
    """The second pass met data the first did not measure: write the file again."""


@dataclass
class _Column:
    name: str
    kind: str | None = None  # None while only missing values were seen
    width: int = 1  # bytes, for text
    dtype: Any = None  # numpy/pandas dtype of a number column

    def slots(self) -> list[int]:
        """Bytes taken by each stored piece of this variable in one case."""
        if self.kind != TEXT:
            return [8]
        if self.width <= SEGMENT:
            return [_round8(self.width)]
        segments = math.ceil(self.width / SEGMENT_WIDTH)
        last = self.width - SEGMENT_WIDTH * (segments - 1)
        return [SEGMENT_STORAGE] * (segments - 1) + [_round8(last)]


def _round8(n: int) -> int:
    return (n + 7) // 8 * 8


def _is_text_dtype(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)


def _kind_of(values: pd.Series) -> str | None:
    """The kind of an object or string column from its values: text or date, or None
    when all are missing. Mixed or other types are refused (pyreadstat would write
    them as their str(), which no caller here wants)."""
    present = values[values.notna()]
    if present.empty:
        return None
    types = set(map(type, present))
    if types == {str}:
        return TEXT
    if types == {dt.date}:
        return DATE
    raise SavStreamError(
        f"column {values.name!r}: values must all be text or all be dates, not "
        + ", ".join(sorted(t.__name__ for t in types))
    )


def _survey(frames: Iterable[pd.DataFrame]) -> tuple[list[_Column], int, pd.DataFrame]:
    """First pass: the columns (kind, width), the number of rows and the first frame."""
    columns: list[_Column] | None = None
    first: pd.DataFrame | None = None
    rows = 0
    for frame in frames:
        if columns is None:
            first = frame
            columns = [_Column(str(name)) for name in frame.columns]
        elif list(frame.columns) != [c.name for c in columns]:
            raise SavStreamError("every chunk must have the same columns in the same order")
        rows += len(frame)
        for column in columns:
            values = frame[column.name]
            if not _is_text_dtype(values.dtype):
                if not (pd.api.types.is_numeric_dtype(values.dtype)):
                    raise SavStreamError(f"column {column.name!r}: unsupported type {values.dtype}")
                if column.kind not in (None, NUMBER) or (
                    column.dtype is not None and column.dtype != values.dtype
                ):
                    raise SavStreamError(f"column {column.name!r} changes type between chunks")
                column.kind, column.dtype = NUMBER, values.dtype
                continue
            kind = _kind_of(values)
            if kind is None:
                continue
            if column.kind not in (None, kind):
                raise SavStreamError(f"column {column.name!r} changes type between chunks")
            column.kind = kind
            if kind == TEXT:
                widest = max(len(v.encode("utf-8")) for v in values[values.notna()])
                column.width = max(column.width, widest)
    if columns is None or first is None:
        raise SavStreamError("no chunk at all: give at least one (possibly empty) frame")
    for column in columns:
        if column.kind is None and column.dtype is None:
            # An object column that is missing throughout: pyreadstat writes it as text
            # of width 1 (and so does this module).
            column.kind = TEXT
    return columns, rows, first


def _template(columns: list[_Column], first: pd.DataFrame) -> pd.DataFrame:
    """One row whose dictionary is the whole table's: text exactly as wide as the
    widest value, dates as a date, numbers of the same dtype."""
    data: dict[str, Any] = {}
    for column in columns:
        if column.kind == NUMBER:
            data[column.name] = pd.Series([0], dtype=column.dtype)
        elif column.kind == DATE:
            data[column.name] = pd.Series([UNIX_EPOCH], dtype=object)
        else:
            data[column.name] = pd.Series(["x" * column.width], dtype=object)
    return pd.DataFrame(data)


def _numbers(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(array), SYSMIS, array)


def _dates(values: pd.Series) -> np.ndarray:
    days = np.array(
        [np.nan if pd.isna(v) else float((v - UNIX_EPOCH).days) for v in values],
        dtype=np.float64,
    )
    return np.where(np.isnan(days), SYSMIS, (days + SPSS_EPOCH_DAYS) * 86400.0)


def _text(values: pd.Series, column: _Column) -> bytes:
    """The column's bytes for every row, each value in its segments, space-padded."""
    slots = column.slots()
    storage = sum(slots)
    pieces: list[bytes] = []
    append = pieces.append
    for value in values:
        raw = b"" if value is None or value is pd.NA or value != value else value.encode("utf-8")
        if len(raw) > column.width:
            raise SavDataChanged(
                f"column {column.name!r}: a value grew longer than the first pass measured"
                " (the data changed while it was written)"
            )
        raw = raw.split(b"\0", 1)[0]  # ReadStat copies a C string
        if len(slots) == 1:
            append(raw.ljust(storage, b" "))
            continue
        for i, size in enumerate(slots):
            append(raw[SEGMENT * i : SEGMENT * i + min(size, SEGMENT)].ljust(size, b" "))
    return b"".join(pieces)


def _cases(frame: pd.DataFrame, columns: list[_Column], case_bytes: int) -> bytes:
    n = len(frame)
    table = np.empty((n, case_bytes), dtype=np.uint8)
    offset = 0
    for column in columns:
        width = sum(column.slots())
        values = frame[column.name]
        if column.kind == NUMBER:
            numbers = _numbers(values)
        elif column.kind == DATE:
            if _kind_of(values) not in (None, DATE):
                raise SavDataChanged(f"column {column.name!r} changes type between passes")
            numbers = _dates(values)
        else:
            if _kind_of(values) not in (None, TEXT):
                raise SavDataChanged(f"column {column.name!r} changes type between passes")
            block = np.frombuffer(_text(values, column), dtype=np.uint8)
            table[:, offset : offset + width] = block.reshape(n, width)
            offset += width
            continue
        table[:, offset : offset + 8] = numbers.astype("=f8").view(np.uint8).reshape(n, 8)
        offset += 8
    return table.tobytes()


def write_sav(
    path: str | os.PathLike[str],
    chunks: Callable[[], Iterable[pd.DataFrame]],
    **options: Any,
) -> int:
    """Write the rows of `chunks()` to an uncompressed .sav file at `path`.

    `chunks` is called twice (a first pass measures, the second writes), and must give
    the same rows both times: at least one frame (which may be empty), all with the same
    columns; numbers as numeric dtypes (NaN missing), text as str (None or NaN missing),
    dates as datetime.date (None missing). `options` are pyreadstat.write_sav's (labels,
    value labels, missing ranges, formats...). Returns the number of rows written. The
    file is the one pyreadstat.write_sav would write from all the rows in one frame,
    byte for byte but for the creation time."""
    import pyreadstat

    if options.get("compress") or options.get("row_compress"):
        raise SavStreamError("only uncompressed files can be written a chunk at a time")
    columns, expected, first = _survey(chunks())
    if expected == 0:
        # Nothing to stream: pyreadstat writes the (empty) table itself.
        pyreadstat.write_sav(first, path, **options)
        return 0
    pyreadstat.write_sav(_template(columns, first), path, **options)
    with Path(path).open("r+b") as out:
        header = out.read(HEADER_SIZE)
        layout, case_slots, compression = struct.unpack_from("=iii", header, LAYOUT_OFFSET)
        case_bytes = case_slots * 8
        if layout != 2 or compression != 0:
            raise SavStreamError("pyreadstat wrote a layout this module does not know")
        if case_bytes != sum(sum(c.slots()) for c in columns):
            raise SavStreamError("pyreadstat laid the variables out differently than expected")
        dictionary = out.seek(0, os.SEEK_END) - case_bytes  # the template's one case
        out.seek(dictionary - DICTIONARY_TAIL)
        tail = out.read(DICTIONARY_TAIL)
        if (
            tail[: len(CASE_COUNT_RECORD)] != CASE_COUNT_RECORD
            or tail[-len(END_OF_DICTIONARY) :] != END_OF_DICTIONARY
        ):
            raise SavStreamError("the dictionary does not end as expected")
        out.truncate(dictionary)
        out.seek(dictionary)
        written = 0
        for frame in chunks():
            if written + len(frame) > MAX_CASES:
                raise SavStreamError("a .sav file holds at most 2,147,483,647 cases")
            if len(frame):
                out.write(_cases(frame, columns, case_bytes))
                written += len(frame)
        out.seek(CASES_OFFSET)
        out.write(struct.pack("=i", written))
        out.seek(dictionary - len(END_OF_DICTIONARY) - 8)
        out.write(struct.pack("=q", written))
    return written
