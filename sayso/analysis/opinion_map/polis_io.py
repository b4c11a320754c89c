"""Read and write Polis export folders (comments.csv, votes.csv, participants-votes.csv),
and read their optional summary.csv.

Everything is validated before anything is returned: a bad file raises PolisImportError
naming the file, the line and the problem, because a silently mis-read export (wrong
sign convention, votes on unknown statements) would produce a plausible but wrong map.

Sign convention: exports code +1 = agree, -1 = disagree, 0 = pass. Polis's database and
its vote API use the opposite sign; such a file is rejected rather than guessed.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, overload

import numpy as np
from numpy.typing import NDArray

from .model import IntArray, Votes, readonly

COMMENTS = "comments.csv"
VOTES = "votes.csv"
PARTICIPANTS_VOTES = "participants-votes.csv"

# Column sets of the two exporters seen in compdemocracy/openData. Columns may come in any
# order, but every required one must be there and nothing unknown may be.
COMMENTS_REQUIRED = ("comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body")
COMMENTS_OPTIONAL = ("timestamp", "datetime", "is-meta", "is-seed", "group-informed-consensus")
COMMENTS_HEADER_OLD = (
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
)
VOTES_REQUIRED = ("timestamp", "comment-id", "voter-id", "vote")
VOTES_HEADER = ("timestamp", "datetime", "comment-id", "voter-id", "vote")
PARTICIPANTS_FIXED = ("participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")

VOTE_TEXT = {"1": 1, "-1": -1, "0": 0}
BOOL_TEXT = {"true": True, "false": False}


# What to do about agree and disagree swapped: Polis's database and vote API count -1
# as agree, its exports 1 (see the module's docstring).
_INTERNAL_CODING = (
    "The export may come from Polis's internal tables: export it again from the Polis report page."
)


class PolisImportError(ValueError):
    """A Polis export file is malformed; the message says file, line and problem.

    `line` is None when the problem is the whole file rather than one of its lines."""

    def __init__(self, file: Path | str, line: int | None, problem: str) -> None:
        self.file = str(file)
        self.line = line
        self.problem = problem
        where = self.file if line is None else f"{self.file}, line {line}"
        super().__init__(f"{where}: {problem}")


# Python's csv module words its errors for programmers ("unexpected end of data"); the
# people importing a conversation are organisers, so say what is wrong in the file.
_CSV_ERRORS = (
    ("unexpected end of data", 'a quoted value is never closed: a closing " is missing'),
    ("expected after", 'there is text right after a closing ", where a comma should be'),
    ("field larger than field limit", "a value is far too long for a statement or vote"),
    ("nul", "the file holds a null character, so it may not be a text file"),
    (
        "new-line character seen in unquoted field",
        "a line break sits inside a value without quotes",
    ),
)


def _plain_csv_error(error: csv.Error) -> str:
    text = str(error).lower()
    for marker, plain in _CSV_ERRORS:
        if marker in text:
            return f"not a valid comma-separated (CSV) file: {plain}"
    return "not a valid comma-separated (CSV) file"


class PolisNotTextError(PolisImportError):
    """A file is not UTF-8 text at all (a spreadsheet saved in another encoding, a
    binary file): no line of it can be named, so callers say so in plain words."""

    def __init__(self, file: Path | str) -> None:
        super().__init__(file, None, "could not be read as text (UTF-8)")


@dataclass(frozen=True, slots=True)
class PolisStatement:
    """One row of comments.csv. None marks a column the file did not have."""

    statement_id: int
    author_id: int
    agrees: int
    disagrees: int
    moderated: int  # 1 accepted, 0 unmoderated, -1 moderated out
    body: str
    timestamp: int | None = None
    datetime: str | None = None
    is_meta: bool | None = None
    is_seed: bool | None = None
    # Kept as text: re-formatting a float could change its digits and break the round trip.
    group_informed_consensus: str | None = None


@dataclass(frozen=True, slots=True)
class PolisParticipant:
    """The fixed columns of one participants-votes.csv row."""

    participant_id: int
    group_id: int | None  # Polis's own group, None when not clustered
    n_comments: int
    n_votes: int
    n_agree: int
    n_disagree: int
    xid: str | None = None


@dataclass(frozen=True, slots=True)
class PolisExport:
    """A validated export folder.

    `votes` holds the latest vote per (participant, statement); `vote_events` every row
    of votes.csv (re-votes included) when that file exists.
    """

    # A tuple, or StatementRows, which builds the records only when first used.
    statements: Sequence[PolisStatement]
    comments_header: tuple[str, ...]
    votes: Votes
    vote_events: Votes | None = None
    # A tuple, or a TextColumn that decodes votes.csv's datetimes only when first used.
    vote_datetimes: Sequence[str] | None = None
    # A tuple, or ParticipantRows, which builds the records only when first used.
    participants: Sequence[PolisParticipant] | None = None
    participants_statement_columns: tuple[int, ...] | None = None
    participants_have_xid: bool = False

    @property
    def moderated_out(self) -> frozenset[int]:
        ids, moderated = _column(self.statements, "statement_id", "moderated")
        return frozenset(i for i, m in zip(ids, moderated, strict=True) if m == -1)

    @property
    def meta(self) -> frozenset[int]:
        ids, is_meta = _column(self.statements, "statement_id", "is_meta")
        return frozenset(i for i, m in zip(ids, is_meta, strict=True) if m)

    @property
    def statement_ids(self) -> tuple[int, ...]:
        (ids,) = _column(self.statements, "statement_id")
        return tuple(sorted(ids))

    def polis_groups(self) -> dict[int, int]:
        """Polis's own group per clustered participant (empty without participants-votes)."""
        if self.participants is None:
            return {}
        if isinstance(self.participants, ParticipantRows):
            return self.participants.groups()
        return {p.participant_id: p.group_id for p in self.participants if p.group_id is not None}


# ---------------------------------------------------------------------------------------
# Reading


def _text_of(path: Path) -> str:
    """The file as text (UTF-8, a byte-order mark dropped), or PolisNotTextError."""
    data = path.read_bytes()
    # A NUL byte never occurs in text; the csv module would read it as a character.
    if b"\x00" in data:
        raise PolisNotTextError(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PolisNotTextError(path) from None


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and the physical line each row starts on (bodies may span lines)."""
    text = _text_of(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise PolisImportError(path, 1, "file is empty (no header)") from None
        rows: list[list[str]] = []
        lines: list[int] = []
        start = reader.line_num + 1
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as error:
        raise PolisImportError(path, reader.line_num or None, _plain_csv_error(error)) from None
    width = len(header)
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise PolisImportError(
                path, line, f"expected {width} fields as in the header, found {len(row)}"
            )
    return header, rows, lines


# ---------------------------------------------------------------------------------------
# Fast path
#
# Python's csv module costs about a microsecond per field, which made loading dominate the
# whole opinion map (a 2,000 x 1,000 participants-votes.csv has two million fields). Export
# files almost never quote anything outside comments.csv, so a file without quotes, CR or
# NUL is split here with numpy on the raw bytes. The fast path only accepts what it can
# prove valid (plain integers, the exact vote codes, rectangular rows); on anything else it
# returns None and the file is read again by the csv-module path above, which either
# accepts it the same way or raises the precise error (file, line, problem). Both paths
# therefore give the same result and the same messages.


@dataclass(frozen=True, slots=True)
class _Table:
    """A rectangular CSV split into fields: byte offsets of each field's start and end."""

    header: list[str]
    body: bytes  # the rows, always ending in a newline
    buf: NDArray[np.uint8]  # body as bytes
    starts: IntArray  # rows x columns
    ends: IntArray  # rows x columns (exclusive)

    @property
    def n_rows(self) -> int:
        return int(self.starts.shape[0])


def _fast_body(data: bytes) -> tuple[list[str], bytes] | None:
    """Header fields and the rows of a file the fast path may split, or None."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b'"' in data or b"\r" in data or b"\x00" in data:
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    end = data.find(b"\n")
    if end <= 0:
        return None
    header = data[:end].decode("utf-8").split(",")
    body = data[end + 1 :]
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return header, body


def _fast_table(data: bytes) -> _Table | None:
    prepared = _fast_body(data)
    if prepared is None:
        return None
    header, body = prepared
    width = len(header)
    buf = np.frombuffer(body, dtype=np.uint8)
    # Few and in-place temporaries: arrays of the file's size are freed back to the
    # system between calls, and touching fresh pages cost more than the comparisons.
    is_separator = buf == ord(",")
    is_separator |= buf == ord("\n")
    separators = is_separator.nonzero()[0]
    del is_separator
    n_rows = len(separators) // width
    if len(separators) != n_rows * width:
        return None
    # Every row's last separator is a newline and there are no others: rectangular.
    # (Every newline is a separator, so they are counted among the separators, not
    # in another pass over the file.)
    newline = buf[separators] == ord("\n")
    if int(np.count_nonzero(newline)) != n_rows or not bool(newline[width - 1 :: width].all()):
        return None  # a ragged row: the csv path names its line
    starts = np.empty_like(separators)
    if n_rows:
        starts[0] = 0
        np.add(separators[:-1], 1, out=starts[1:])
    return _Table(
        header=header,
        body=body,
        buf=buf,
        starts=starts.reshape(n_rows, width),
        ends=separators.reshape(n_rows, width),
    )


def _fast_ints(buf: NDArray[np.uint8], starts: IntArray, ends: IntArray) -> IntArray | None:
    """Parse fields of the form -?[0-9]+ (up to 18 digits); None if any field is not."""
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    # Columns of the rows x columns offset tables are strided; contiguous copies make
    # every operation below one flat loop.
    starts, ends = np.ascontiguousarray(starts), np.ascontiguousarray(ends)
    negative = buf[starts] == ord("-")
    lengths = ends - starts - negative
    shortest, width = int(lengths.min()), int(lengths.max())
    if shortest < 1 or width > 18:
        return None
    if width >= 10 and width <= 16 and len(buf) >= 32:
        values = _fast_long_ints(buf, ends, lengths)
    else:
        values = _fast_short_ints(buf, ends, lengths, shortest, width)
    if values is None:
        return None
    return np.where(negative, -values, values) if negative.any() else values


def _fast_short_ints(
    buf: NDArray[np.uint8], ends: IntArray, lengths: IntArray, shortest: int, width: int
) -> IntArray | None:
    # Every field's last `width` bytes in one gather, right-aligned so that row j holds
    # the digit worth 10**(width - 1 - j); bytes before a short field are masked. Digit
    # positions run along the outer axis: with fields inner, numpy runs one long loop per
    # digit position instead of a loop of `width` elements per field.
    at = ends + np.arange(-width, 0)[:, None]
    if int(ends.min()) < width:
        np.maximum(at, 0, out=at)  # bytes before the buffer start are masked out below
    digits = buf[at]
    digits -= np.uint8(ord("0"))  # wraps below "0"
    if shortest < width:
        # Zeroed by a product with the mask of the digits kept: a masked assignment
        # first lists the masked positions, and was slower.
        digits *= np.arange(width)[:, None] >= (width - lengths)
    if int(digits.max()) > 9:
        return None
    if width <= 15:
        # Below 2**53 every product and partial sum is an exact integer in a float64, so
        # one vector-matrix product does all the digit positions at once.
        powers = 10.0 ** np.arange(width - 1, -1, -1)
        return np.asarray(powers @ digits).astype(np.int64)
    values: IntArray = digits[0].astype(np.int64)
    for j in range(1, width):
        values = values * 10 + digits[j]
    return values


# Masks for the last `length` of 16 bytes, as the two little-endian words of the 16, and
# the "0" characters that replace the bytes before the field.
_KEEP_BYTES = np.array(
    [[0] * (16 - length) + [0xFF] * length for length in range(17)], dtype=np.uint8
)
_FILL_BYTES = np.where(_KEEP_BYTES == 0, ord("0"), 0).astype(np.uint8)
_KEEP_WORDS = np.ascontiguousarray(_KEEP_BYTES.view("<u8").T)  # word (high, low) x length
_FILL_WORDS = np.ascontiguousarray(_FILL_BYTES.view("<u8").T)
# Pairs of digits, then of pairs, then of fours: (factor, shift, mask) per step.
_SWAR_STEPS = tuple(
    (np.uint64(factor), np.uint64(shift), np.uint64(mask))
    for factor, shift, mask in (
        (10, 8, 0x00FF00FF00FF00FF),
        (100, 16, 0x0000FFFF0000FFFF),
        (10_000, 32, 0x00000000FFFFFFFF),
    )
)


def _fast_long_ints(buf: NDArray[np.uint8], ends: IntArray, lengths: IntArray) -> IntArray | None:
    """Fields of 10 to 16 digits (timestamps), 8 digits per 64-bit word.

    The byte-per-digit gather of _fast_short_ints makes arrays of 13 x 8 bytes per
    timestamp, large enough that allocating them cost more than the arithmetic (a 7,000
    vote file: 0.7 ms). Here each field's last 16 bytes are read as two words through an
    unaligned view, checked to be digits and combined 8 digits at a time with shifts and
    multiplications (the classic SIMD-within-a-register parse). Both words of every
    field go through each step together (2 x fields), half the numpy calls.
    """
    words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    at = np.array([ends - 16, ends - 8])  # each field's two words
    if int(at[0].min()) >= 0:
        pair = words[at]
    else:
        # Fields ending in the first 16 bytes: read from a copy with "0"s in front.
        early = at[0] < 0
        pair = words[np.maximum(at, 0)]
        head = np.full(48, ord("0"), dtype=np.uint8)
        head[16:] = buf[:32]
        head_words = np.ndarray((41,), dtype="<u8", buffer=head, strides=(1,))
        pair[:, early] = head_words[at[:, early] + 16]
    low, high = int(lengths.min()), int(lengths.max())
    if low == high:  # one length (timestamps of one era): one mask for all
        pair &= _KEEP_WORDS[:, low : low + 1]
        pair |= _FILL_WORDS[:, low : low + 1]
    else:
        pair &= _KEEP_WORDS[:, lengths]
        pair |= _FILL_WORDS[:, lengths]
    # Every byte "0" to "9": its value minus "0", unsigned, is at most 9; those values
    # are then the digits themselves.
    digits = pair.view(np.uint8) - np.uint8(ord("0"))
    if int(digits.max()) > 9:
        return None
    word = digits.view("<u8")
    for factor, shift, mask in _SWAR_STEPS:
        word = (word * factor + (word >> shift)) & mask
    return np.asarray((word[0] * np.uint64(100_000_000) + word[1]).view(np.int64))


def _fast_votes(
    buf: NDArray[np.uint8], starts: IntArray, ends: IntArray
) -> NDArray[np.int8] | None:
    """Vote codes "1", "-1" and "0" as int8; None if any field is something else."""
    lengths = ends - starts
    first = buf[starts]
    one = (lengths == 1) & (first == ord("1"))
    zero = (lengths == 1) & (first == ord("0"))
    minus = (
        (lengths == 2)
        & (first == ord("-"))
        & (buf[np.minimum(starts + 1, len(buf) - 1)] == ord("1"))
    )
    if not (one | zero | minus).all():
        return None
    return np.asarray(one, dtype=np.int8) - np.asarray(minus, dtype=np.int8)


class _LazyTuple[T](Sequence[T]):
    """A read-only sequence whose items are built on first use, by `_decoded()`, and
    that compares equal to any sequence with the same items (as the tuple it stands
    for would)."""

    __slots__ = ()

    def _decoded(self) -> tuple[T, ...]:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == len(self) and self._decoded() == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._decoded()!r})"


class TextColumn(_LazyTuple[str]):
    """One text column of a CSV file, decoded to str only when first used.

    Making 50,000 Python strings costs more than parsing the rest of votes.csv, and the
    datetime column is only needed to write the file back out.
    """

    __slots__ = ("_body", "_ends", "_starts", "_values")

    def __init__(self, body: bytes, starts: IntArray, ends: IntArray) -> None:
        self._body = body
        self._starts = starts
        self._ends = ends
        self._values: tuple[str, ...] | None = None

    def _decoded(self) -> tuple[str, ...]:
        if self._values is None:
            body = self._body
            self._values = tuple(
                body[start:end].decode("utf-8")
                for start, end in zip(self._starts.tolist(), self._ends.tolist(), strict=True)
            )
        return self._values

    def __len__(self) -> int:
        return len(self._starts)


class ParticipantRows(_LazyTuple[PolisParticipant]):
    """The fixed columns of participants-votes.csv as arrays, made into PolisParticipant
    records only when first used: the opinion map needs none of them, and 2,000 frozen
    records cost more than decoding the whole vote matrix."""

    __slots__ = ("_columns", "_records", "_xids")

    def __init__(self, columns: tuple[IntArray, ...], xids: list[str | None] | None) -> None:
        # participant, group (-1: none), n-comments, n-votes, n-agree, n-disagree
        self._columns = columns
        self._xids = xids
        self._records: tuple[PolisParticipant, ...] | None = None

    def _decoded(self) -> tuple[PolisParticipant, ...]:
        if self._records is None:
            ids, groups, comments, votes, agree, disagree = (c.tolist() for c in self._columns)
            xids = self._xids if self._xids is not None else [None] * len(ids)
            self._records = tuple(
                PolisParticipant(
                    participant_id=p,
                    xid=x,
                    group_id=None if g < 0 else g,
                    n_comments=c,
                    n_votes=v,
                    n_agree=a,
                    n_disagree=d,
                )
                for p, x, g, c, v, a, d in zip(
                    ids, xids, groups, comments, votes, agree, disagree, strict=True
                )
            )
        return self._records

    def groups(self) -> dict[int, int]:
        """participant id -> Polis group id, for the participants Polis clustered."""
        ids, groups = self._columns[0], self._columns[1]
        clustered = groups >= 0
        return dict(zip(ids[clustered].tolist(), groups[clustered].tolist(), strict=True))

    def __len__(self) -> int:
        return len(self._columns[0])


_STATEMENT_FIELDS = (
    "statement_id",
    "author_id",
    "agrees",
    "disagrees",
    "moderated",
    "body",
    "timestamp",
    "datetime",
    "is_meta",
    "is_seed",
    "group_informed_consensus",
)


class StatementRows(_LazyTuple[PolisStatement]):
    """comments.csv's validated columns, made into PolisStatement records only when first
    used: the opinion map needs ids, moderation, meta flags and counts, and the frozen
    records (a microsecond each) cost more than reading the file."""

    __slots__ = ("_columns", "_records")

    def __init__(self, columns: tuple[Sequence[Any], ...]) -> None:
        self._columns = columns  # one per PolisStatement field, in field order
        self._records: tuple[PolisStatement, ...] | None = None

    def _decoded(self) -> tuple[PolisStatement, ...]:
        if self._records is None:
            self._records = tuple(map(PolisStatement, *self._columns))
        return self._records

    def column(self, name: str) -> Sequence[Any]:
        return self._columns[_STATEMENT_FIELDS.index(name)]

    def __len__(self) -> int:
        return len(self._columns[0])


def _column(statements: Sequence[PolisStatement], *names: str) -> list[Sequence[Any]]:
    """The named fields of every statement, each as a sequence."""
    if isinstance(statements, StatementRows):
        return [statements.column(name) for name in names]
    return [[getattr(s, name) for s in statements] for name in names]


def _check_header(
    path: Path, header: Sequence[str], required: Iterable[str], optional: Iterable[str]
) -> None:
    known = set(required) | set(optional)
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in known]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if unknown:
        problems.append("unknown column(s) " + ", ".join(repr(name) for name in unknown))
    if duplicated:
        problems.append("repeated column(s) " + ", ".join(duplicated))
    if problems:
        raise PolisImportError(path, 1, "wrong header: " + "; ".join(problems))


def _int_column(path: Path, column: str, values: Sequence[str], lines: Sequence[int]) -> IntArray:
    """Parse a column of integers at C speed, falling back to a loop to name the bad line."""
    try:
        return np.asarray(values, dtype=np.int64) if values else np.zeros(0, dtype=np.int64)
    except (ValueError, OverflowError):
        for value, line in zip(values, lines, strict=True):
            try:
                int(value)
            except ValueError:
                raise PolisImportError(
                    path, line, f"{column} {value!r} is not an integer"
                ) from None
        raise  # unreachable: numpy and int() agree on what an integer is


def _int(path: Path, column: str, value: str, line: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise PolisImportError(path, line, f"{column} {value!r} is not an integer") from None


def _optional_bool(path: Path, column: str, value: str, line: int) -> bool:
    try:
        return BOOL_TEXT[value.lower()]
    except KeyError:
        raise PolisImportError(path, line, f"{column} {value!r} is not true or false") from None


def _comment_columns(
    header: Sequence[str], rows: Sequence[Sequence[str]]
) -> tuple[Sequence[Any], ...] | None:
    """The PolisStatement fields of valid comments.csv rows, converted a column at a
    time (in field order); None when any value is invalid (read_comments then finds and
    names it row by row)."""
    at = {name: index for index, name in enumerate(header)}
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    absent = [None] * len(rows)

    def ints(name: str) -> list[int] | list[None]:
        return list(map(int, columns[at[name]])) if name in at else absent

    def bools(name: str) -> list[bool] | list[None]:
        return [BOOL_TEXT[value.lower()] for value in columns[at[name]]] if name in at else absent

    def texts(name: str) -> Sequence[str] | list[None]:
        return columns[at[name]] if name in at else absent

    try:
        ids, moderated = ints("comment-id"), ints("moderated")
        authors, agrees, disagrees = ints("author-id"), ints("agrees"), ints("disagrees")
        timestamps, is_meta, is_seed = ints("timestamp"), bools("is-meta"), bools("is-seed")
    except (ValueError, KeyError):
        return None
    if len(set(ids)) != len(ids) or not set(moderated) <= {-1, 0, 1}:
        return None
    return (
        ids,
        authors,
        agrees,
        disagrees,
        moderated,
        texts("comment-body"),
        timestamps,
        texts("datetime"),
        is_meta,
        is_seed,
        texts("group-informed-consensus"),
    )


def _read_statements(path: Path) -> tuple[Sequence[PolisStatement], tuple[str, ...]]:
    """read_comments, the records left to StatementRows. The rows are read without
    counting lines; any file this path does not accept (not valid CSV, ragged, a bad
    value) is read again by read_comments, which names the problem and its line."""
    data = path.read_bytes()
    if b"\x00" not in data:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            del data
            try:
                rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
            except csv.Error:
                rows = []
            if rows and len(set(map(len, rows))) == 1:
                header = rows[0]
                _check_header(path, header, COMMENTS_REQUIRED, COMMENTS_OPTIONAL)
                columns = _comment_columns(header, rows[1:])
                if columns is not None:
                    return StatementRows(columns), tuple(header)
    return read_comments(path)


def statement_line(path: Path | str, statement_id: int) -> int | None:
    """The line of comments.csv on which a statement's row starts (a body may span
    lines), or None when there is no such row: for a message about one statement of a
    file already read and validated."""
    header, rows, lines = _read_rows(Path(path))
    if "comment-id" not in header:
        return None
    at = header.index("comment-id")
    for row, line in zip(rows, lines, strict=True):
        try:
            if int(row[at]) == statement_id:
                return line
        except ValueError:
            continue
    return None


def read_comments(path: Path) -> tuple[tuple[PolisStatement, ...], tuple[str, ...]]:
    header, rows, lines = _read_rows(path)
    _check_header(path, header, COMMENTS_REQUIRED, COMMENTS_OPTIONAL)
    fast = _comment_columns(header, rows)
    if fast is not None:
        return tuple(map(PolisStatement, *fast)), tuple(header)
    at = {name: index for index, name in enumerate(header)}
    statements: list[PolisStatement] = []
    seen: dict[int, int] = {}
    for row, line in zip(rows, lines, strict=True):
        statement_id = _int(path, "comment-id", row[at["comment-id"]], line)
        if statement_id in seen:
            raise PolisImportError(
                path, line, f"comment-id {statement_id} already given on line {seen[statement_id]}"
            )
        seen[statement_id] = line
        moderated = _int(path, "moderated", row[at["moderated"]], line)
        if moderated not in (-1, 0, 1):
            raise PolisImportError(path, line, f"moderated {moderated} is not -1, 0 or 1")
        statements.append(
            PolisStatement(
                statement_id=statement_id,
                author_id=_int(path, "author-id", row[at["author-id"]], line),
                agrees=_int(path, "agrees", row[at["agrees"]], line),
                disagrees=_int(path, "disagrees", row[at["disagrees"]], line),
                moderated=moderated,
                body=row[at["comment-body"]],
                timestamp=(
                    _int(path, "timestamp", row[at["timestamp"]], line)
                    if "timestamp" in at
                    else None
                ),
                datetime=row[at["datetime"]] if "datetime" in at else None,
                is_meta=(
                    _optional_bool(path, "is-meta", row[at["is-meta"]], line)
                    if "is-meta" in at
                    else None
                ),
                is_seed=(
                    _optional_bool(path, "is-seed", row[at["is-seed"]], line)
                    if "is-seed" in at
                    else None
                ),
                group_informed_consensus=(
                    row[at["group-informed-consensus"]]
                    if "group-informed-consensus" in at
                    else None
                ),
            )
        )
    return tuple(statements), tuple(header)


def _vote_values(path: Path, values: Sequence[str], lines: Sequence[int]) -> np.ndarray:
    unknown = set(values) - VOTE_TEXT.keys()
    if unknown:
        for value, line in zip(values, lines, strict=True):
            if value in unknown:
                raise PolisImportError(
                    path, line, f"vote {value!r} is not 1 (agree), -1 (disagree) or 0 (pass)"
                )
    # "-1" is the only two-character code, so the first character and the length decide.
    text = np.asarray(values, dtype="<U2")
    return np.where(text == "1", 1, np.where(text == "-1", -1, 0)).astype(np.int8)


def _check_known_statements(
    path: Path, statement: IntArray, known: frozenset[int], lines: Sequence[int] | None
) -> None:
    known_array = np.fromiter(known, dtype=np.int64, count=len(known))
    if len(known_array) and len(statement) and int(known_array.min()) >= 0:
        # Polis ids are small non-negative ints: a lookup table instead of np.isin,
        # whose sorts cost more than the check on small files.
        size = max(int(known_array.max()), int(statement.max())) + 1
        if size <= 4 * (len(statement) + len(known_array)) + 1024:
            table = np.zeros(size, dtype=bool)
            table[known_array] = True
            unknown = (statement < 0) | ~table[np.maximum(statement, 0)]
        else:
            unknown = ~np.isin(statement, known_array)
    else:
        unknown = ~np.isin(statement, known_array)
    if unknown.any():
        index = int(np.flatnonzero(unknown)[0])
        line = lines[index] if lines is not None else index + 2
        raise PolisImportError(
            path, line, f"vote for statement {int(statement[index])}, which is not in {COMMENTS}"
        )


def read_votes(path: Path, known_statements: frozenset[int]) -> tuple[Votes, Sequence[str] | None]:
    """Every vote event of votes.csv, validated, in file order."""
    fast = _fast_read_votes(path, known_statements)
    if fast is not None:
        return fast
    header, rows, lines = _read_rows(path)
    _check_header(path, header, VOTES_REQUIRED, ("datetime",))
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    at = {name: index for index, name in enumerate(header)}
    events = Votes(
        participant=_int_column(path, "voter-id", columns[at["voter-id"]], lines),
        statement=_int_column(path, "comment-id", columns[at["comment-id"]], lines),
        value=_vote_values(path, columns[at["vote"]], lines),
        time=_int_column(path, "timestamp", columns[at["timestamp"]], lines),
    )
    _check_known_statements(path, events.statement, known_statements, lines)
    datetimes = tuple(columns[at["datetime"]]) if "datetime" in at else None
    return events, datetimes


def _fast_read_votes(
    path: Path, known_statements: frozenset[int]
) -> tuple[Votes, Sequence[str] | None] | None:
    """read_votes without the csv module, or None when the file needs the careful path."""
    table = _fast_table(path.read_bytes())
    if table is None:
        return None
    _check_header(path, table.header, VOTES_REQUIRED, ("datetime",))
    at = {name: index for index, name in enumerate(table.header)}
    buf, starts, ends = table.buf, table.starts, table.ends
    # Both id columns in one parse: each numpy step once rather than twice (ids are a
    # few digits each, so the wider of the two costs little).
    ids = [at["voter-id"], at["comment-id"]]
    both = _fast_ints(buf, starts.T[ids].reshape(-1), ends.T[ids].reshape(-1))
    value = _fast_votes(buf, starts[:, at["vote"]], ends[:, at["vote"]])
    when = _fast_ints(buf, starts[:, at["timestamp"]], ends[:, at["timestamp"]])
    if both is None or value is None or when is None:
        return None
    participant, statement = both.reshape(2, -1)
    events = Votes(participant=participant, statement=statement, value=value, time=when)
    # No field spans lines here, so row i is on line i + 2.
    _check_known_statements(path, events.statement, known_statements, None)
    datetimes = None
    if "datetime" in at:
        column = at["datetime"]
        datetimes = TextColumn(table.body, starts[:, column].copy(), ends[:, column].copy())
    return events, datetimes


def latest_votes(events: Votes) -> Votes:
    """Keep the latest vote per (participant, statement), as Polis does.

    Ties on time go to the later row, matching Polis's arrival-order overwrite.
    """
    n = len(events)
    if n == 0:
        return events
    # A key per (participant, statement) that sorts as the pair does, from the ids
    # themselves where they are small non-negative ints (statement ids always are), else
    # from each id's rank; counting keys stays cheap either way.
    s_low, s_high = int(events.statement.min()), int(events.statement.max())
    if s_low >= 0 and s_high < 4 * n + 1024:
        statement_code, n_statements = events.statement, s_high + 1
    else:
        statement_code, n_statements = _codes(events.statement)
    p_low, p_high = int(events.participant.min()), int(events.participant.max())
    if p_low >= 0 and (p_high + 1) * n_statements <= 4 * n + 4096:
        participant_code = events.participant
    else:
        participant_code, _ = _codes(events.participant)
    key = participant_code * n_statements + statement_code
    n_keys = int(key.max()) + 1
    if n_keys <= 8 * n + (1 << 20):
        # Count votes per pair; only rows of pairs voted more than once need sorting
        # (exports rarely hold re-votes, so usually nothing is sorted at all).
        repeated = np.bincount(key, minlength=n_keys)[key] > 1
        rows = np.flatnonzero(repeated)
        if len(rows) == 0:
            return events
    else:
        rows = np.arange(n)
        repeated = np.ones(n, dtype=bool)
    time = events.time
    sub_key = key[rows]
    if time is None:
        order = np.argsort(sub_key, kind="stable")  # within a pair, file order
    else:
        order = np.lexsort((time[rows], sub_key))  # stable: by pair, then time, then row
    sorted_key = sub_key[order]
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = sorted_key[1:] != sorted_key[:-1]
    if last.all():
        return events  # one vote per pair already
    keep = ~repeated
    keep[rows[order[last]]] = True  # back to file order, so output is as the file gave it
    return Votes(
        participant=events.participant[keep],
        statement=events.statement[keep],
        value=events.value[keep],
        time=None if events.time is None else events.time[keep],
    )


def _codes(ids: IntArray) -> tuple[IntArray, int]:
    """Each id's index among the sorted distinct ids, and how many there are.

    A lookup table is O(n) where np.unique sorts; Polis ids are small non-negative ints.
    """
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64), 0
    low, high = int(ids.min()), int(ids.max())
    if low >= 0 and high < 4 * len(ids) + 1024:
        present = np.zeros(high + 1, dtype=bool)
        present[ids] = True
        position = np.cumsum(present, dtype=np.int64) - 1
        return position[ids], int(position[-1]) + 1
    unique, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), len(unique)


def _participants_header(
    path: Path, header: Sequence[str], known_statements: frozenset[int]
) -> tuple[bool, int, list[int]]:
    """Whether there is an xid column, where the vote columns start, and their statements."""
    has_xid = len(header) > 1 and header[1] == "xid"
    fixed = (
        (PARTICIPANTS_FIXED[0], "xid", *PARTICIPANTS_FIXED[1:]) if has_xid else PARTICIPANTS_FIXED
    )
    if tuple(header[: len(fixed)]) != fixed:
        raise PolisImportError(
            path, 1, "wrong header: expected it to start with " + ",".join(PARTICIPANTS_FIXED)
        )
    offset = len(fixed)
    statement_columns: list[int] = []
    for name in header[offset:]:
        try:
            statement_columns.append(int(name))
        except ValueError:
            raise PolisImportError(
                path, 1, f"wrong header: column {name!r} is not a statement id"
            ) from None
    for statement_id in statement_columns:
        if statement_id not in known_statements:
            raise PolisImportError(
                path, 1, f"column for statement {statement_id}, which is not in {COMMENTS}"
            )
    return has_xid, offset, statement_columns


def _separator_codes(
    body: bytes,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.int8]]:
    """Where the separators and newlines of `body` are, and for each separator in order
    the participants-votes.csv cell it ends: 1, -1 or 0, -2 when empty, -3 when it is
    not a vote code; plus 8 when the separator is a newline.

    Cells are "", "1", "-1" or "0", so a cell is known from the three bytes before its
    separator: no field offsets are needed for the ~2 million cells of a large export,
    and every step is a byte-wide comparison numpy does in SIMD.
    """
    # Three leading newlines: looking three bytes back never leaves the buffer.
    raw = np.frombuffer(b"\n\n\n" + body, dtype=np.uint8)
    newline = raw == ord("\n")
    separator = newline | (raw == ord(","))
    last = raw[2:-1]  # the byte before each position
    one = last == ord("1")
    minus_one = one & (raw[1:-2] == ord("-")) & separator[:-3]
    empty = separator[2:-1]
    valid = empty | (((last == ord("0")) | one) & separator[1:-2]) | minus_one
    code = one.view(np.int8) - 2 * minus_one.view(np.int8) - 2 * empty.view(np.int8)
    code = np.where(valid, code, np.int8(-3))
    code += 8 * newline[3:].view(np.int8)
    return separator[3:], newline[3:], code[separator[3:]]


def _field_bounds(
    separator: NDArray[np.bool_], newline: NDArray[np.bool_], width: int, leading: int
) -> tuple[IntArray, IntArray]:
    """Start and end offsets of the first `leading` fields of every row (rows x leading)
    of a body already known to be rectangular, found in a short window after each row
    start rather than by locating all of its separators."""
    row_ends = np.flatnonzero(newline)
    n_rows = len(row_ends)
    row_starts = np.zeros(n_rows, dtype=np.int64)
    row_starts[1:] = row_ends[:-1] + 1
    # Ids and counts are short; a long leading field (an xid, say) needs a wider window,
    # and failing that every separator is located.
    ends = None
    for window in (8 * leading + 8, 40 * leading + 8):
        window = min(window, len(separator))
        at = np.minimum(row_starts[:, None] + np.arange(window), max(len(separator) - 1, 0))
        in_window = separator[at]
        rank = np.cumsum(in_window, axis=1, dtype=np.int32)
        if n_rows == 0 or int(rank[:, -1].min()) >= leading:
            rows, columns = np.nonzero(in_window & (rank <= leading))
            ends = (row_starts[rows] + columns).reshape(n_rows, leading)
            break
    if ends is None:
        ends = np.flatnonzero(separator).reshape(n_rows, width)[:, :leading]
    starts = np.empty_like(ends)
    starts[:, 0] = row_starts
    starts[:, 1:] = ends[:, :-1] + 1
    return starts, ends


def _fast_read_participants_votes(
    path: Path, known_statements: frozenset[int]
) -> tuple[Sequence[PolisParticipant], tuple[int, ...], Votes, bool] | None:
    """read_participants_votes without the csv module, or None when the file needs the
    careful path (which then names the problem's line)."""
    prepared = _fast_body(path.read_bytes())
    if prepared is None:
        return None
    header, body = prepared
    has_xid, offset, statement_columns = _participants_header(path, header, known_statements)
    width, n_columns = len(header), len(statement_columns)
    separator, newline, codes = _separator_codes(body)
    n_rows = len(codes) // width
    if len(codes) != n_rows * width:
        return None
    codes = codes.reshape(n_rows, width)
    ends_row = codes >= 4
    if int(np.count_nonzero(ends_row)) != n_rows or not ends_row[:, -1].all():
        return None  # a ragged row: the csv path names its line
    cell = codes[:, offset:].copy()
    if n_columns:
        cell[:, -1] -= 8  # the last cell of a row ends at its newline
    if n_rows and int(cell.min()) < -2:
        return None  # a cell other than "", "1", "-1" or "0"
    disagree = cell == -1
    agree = cell == 1
    voted = cell > -2
    starts, ends = _field_bounds(separator, newline, width, offset)
    buf = np.frombuffer(body, dtype=np.uint8)

    def column(index: int) -> IntArray | None:
        return _fast_ints(buf, starts[:, index], ends[:, index])

    participant_ids = column(0)
    counts = [column(offset - i) for i in (4, 3, 2, 1)]
    group_index = offset - 5
    group_empty = ends[:, group_index] == starts[:, group_index]
    group_ids = np.full(n_rows, -1, dtype=np.int64)
    if not group_empty.all():
        parsed = _fast_ints(buf, starts[~group_empty, group_index], ends[~group_empty, group_index])
        if parsed is None or (parsed < 0).any():
            return None
        group_ids[~group_empty] = parsed
    if participant_ids is None or any(c is None for c in counts):
        return None
    n_comments, n_votes, n_agree, n_disagree = (c for c in counts if c is not None)
    if len(np.unique(participant_ids)) != n_rows:
        return None  # a repeated participant
    if not (
        np.array_equal(n_agree, agree.sum(axis=1))
        and np.array_equal(n_disagree, disagree.sum(axis=1))
        and np.array_equal(n_votes, voted.sum(axis=1))
    ):
        return None
    xids: list[str | None] | None = None
    if has_xid:
        xids = [
            body[start:end].decode("utf-8")
            for start, end in zip(starts[:, 1].tolist(), ends[:, 1].tolist(), strict=True)
        ]
    participants = ParticipantRows(
        (participant_ids, group_ids, n_comments, n_votes, n_agree, n_disagree), xids
    )
    flat = np.flatnonzero(voted)  # row-major, as the csv path's np.nonzero
    votes = Votes(
        participant=participant_ids[flat // max(n_columns, 1)],
        statement=np.asarray(statement_columns, dtype=np.int64)[flat % max(n_columns, 1)],
        value=cell.ravel()[flat],
        time=None,
    )
    return participants, tuple(statement_columns), votes, has_xid


def read_participants_votes(
    path: Path, known_statements: frozenset[int]
) -> tuple[Sequence[PolisParticipant], tuple[int, ...], Votes, bool]:
    fast = _fast_read_participants_votes(path, known_statements)
    if fast is not None:
        return fast
    header, rows, lines = _read_rows(path)
    has_xid, offset, statement_columns = _participants_header(path, header, known_statements)
    n_rows, n_columns = len(rows), len(statement_columns)
    # Wide enough for the longest cell: a narrower string type would cut "-1x" to "-1".
    longest = max((len(cell) for row in rows for cell in row[offset:]), default=0)
    cells = np.asarray([row[offset:] for row in rows], dtype=f"<U{max(longest, 2)}").reshape(
        n_rows, n_columns
    )
    allowed = np.isin(cells, ["", "1", "-1", "0"])
    if not allowed.all():
        r, c = (int(i) for i in np.argwhere(~allowed)[0])
        raise PolisImportError(
            path,
            lines[r],
            f"vote {str(cells[r, c])!r} for statement {statement_columns[c]} is not 1 (agree), "
            "-1 (disagree), 0 (pass) or empty",
        )
    agree_cells = cells == "1"
    disagree_cells = cells == "-1"
    voted = cells != ""
    n_agree_cells = agree_cells.sum(axis=1)
    n_disagree_cells = disagree_cells.sum(axis=1)
    n_voted_cells = voted.sum(axis=1)

    participants: list[PolisParticipant] = []
    seen: dict[int, int] = {}
    for index, (row, line) in enumerate(zip(rows, lines, strict=True)):
        participant_id = _int(path, "participant", row[0], line)
        if participant_id in seen:
            raise PolisImportError(
                path,
                line,
                f"participant {participant_id} already given on line {seen[participant_id]}",
            )
        seen[participant_id] = line
        group_text = row[offset - 5]
        record = PolisParticipant(
            participant_id=participant_id,
            xid=row[1] if has_xid else None,
            group_id=None if group_text == "" else _int(path, "group-id", group_text, line),
            n_comments=_int(path, "n-comments", row[offset - 4], line),
            n_votes=_int(path, "n-votes", row[offset - 3], line),
            n_agree=_int(path, "n-agree", row[offset - 2], line),
            n_disagree=_int(path, "n-disagree", row[offset - 1], line),
        )
        counted = (int(n_agree_cells[index]), int(n_disagree_cells[index]))
        if (record.n_agree, record.n_disagree) != counted:
            if (record.n_disagree, record.n_agree) == counted:
                raise PolisImportError(
                    path,
                    line,
                    f"this row disagrees with itself about which number means agree "
                    f"(n-agree counts {record.n_agree} agrees, but the row has "
                    f"{counted[0]} votes of 1 and {counted[1]} of -1). {_INTERNAL_CODING}",
                )
            raise PolisImportError(
                path,
                line,
                f"n-agree/n-disagree {record.n_agree}/{record.n_disagree} do not match the "
                f"row's votes {counted[0]}/{counted[1]}",
            )
        if record.n_votes != int(n_voted_cells[index]):
            raise PolisImportError(
                path,
                line,
                f"n-votes {record.n_votes} does not match the row's {int(n_voted_cells[index])} votes",
            )
        participants.append(record)

    r_index, c_index = np.nonzero(voted)
    participant_ids = np.asarray([p.participant_id for p in participants], dtype=np.int64)
    values = np.where(
        agree_cells[r_index, c_index], 1, np.where(disagree_cells[r_index, c_index], -1, 0)
    )
    votes = Votes(
        participant=participant_ids[r_index] if n_rows else np.zeros(0, dtype=np.int64),
        statement=np.asarray(statement_columns, dtype=np.int64)[c_index],
        value=values.astype(np.int8),
        time=None,
    )
    return tuple(participants), tuple(statement_columns), votes, has_xid


# A statement whose votes fit comments.csv's counts this many votes better with agree
# and disagree swapped, and at least twice as well, is refused even when the file as a
# whole fits (_check_sign_against_comments). Polis's own counts are a few votes off
# (openData issue #6: up to 46 on a statement of 938 votes), but in every openData
# export each statement fits unswapped at least as well as swapped.
SWAP_MARGIN = 4


def _check_sign_against_comments(
    path: Path,
    votes: Votes,
    statements: Sequence[PolisStatement],
    comments_path: Path,
    events: Votes | None = None,
) -> None:
    """Reject a votes file whose agree/disagree are flipped relative to comments.csv.

    comments.csv counts are known to be slightly off (openData issue #6), so compare in
    aggregate first: flipped is when swapping the signs fits the counts clearly better.
    Then statement by statement, since a file with part of its votes flipped (two
    exports pasted together, one from Polis's internal tables) can still fit better
    unswapped as a whole: a statement that fits clearly better swapped (SWAP_MARGIN) is
    refused, naming it. `events`, votes.csv's rows in file order, gives the line of the
    statement's first vote; without it (participants-votes.csv) no line is named.
    """
    if len(votes) == 0:
        return
    id_list, agree_list, disagree_list = _column(statements, "statement_id", "agrees", "disagrees")
    ids = np.asarray(id_list, dtype=np.int64)
    # Every voted statement is in comments.csv (checked on reading). Ids are small
    # non-negative ints, so a lookup table replaces a binary search per vote.
    if int(ids.min()) >= 0 and int(ids.max()) < 4 * len(votes) + 1024:
        table = np.zeros(int(ids.max()) + 1, dtype=np.int64)
        table[ids] = np.arange(len(ids))
        position = table[votes.statement]
    else:
        order = np.argsort(ids)
        position = order[np.searchsorted(ids, votes.statement, sorter=order)]
    # Disagree, pass and agree votes per statement in one count of (statement, vote).
    tally = np.bincount(position * 3 + (votes.value + 1), minlength=3 * len(ids)).reshape(-1, 3)
    n_minus, n_plus = tally[:, 0], tally[:, 2]
    agrees = np.asarray(agree_list, dtype=np.float64)
    disagrees = np.asarray(disagree_list, dtype=np.float64)
    same = np.abs(agrees - n_plus).sum() + np.abs(disagrees - n_minus).sum()
    flipped = np.abs(agrees - n_minus).sum() + np.abs(disagrees - n_plus).sum()
    if flipped < same:
        worst = int(np.argmax(np.abs(agrees - n_plus)))
        raise PolisImportError(
            path,
            2 + int(np.flatnonzero(position == worst)[0]) if (position == worst).any() else 1,
            f"{comments_path.name} and {path.name} disagree about which number means agree "
            f"(statement {id_list[worst]}: {comments_path.name} counts "
            f"{int(agrees[worst])} agrees, but {path.name} has {int(n_plus[worst])} "
            f"{'vote' if int(n_plus[worst]) == 1 else 'votes'} of 1 and "
            f"{int(n_minus[worst])} of -1). {_INTERNAL_CODING}",
        )
    same_each = np.abs(agrees - n_plus) + np.abs(disagrees - n_minus)
    flipped_each = np.abs(agrees - n_minus) + np.abs(disagrees - n_plus)
    gain = same_each - flipped_each
    swapped = (gain >= SWAP_MARGIN) & (2 * flipped_each < same_each)
    if swapped.any():
        worst = int(np.argmax(np.where(swapped, gain, -1)))
        statement_id = int(id_list[worst])
        line = None
        if events is not None:
            first = np.flatnonzero(events.statement == statement_id)
            line = 2 + int(first[0]) if len(first) else None
        n_plus_w, n_minus_w = int(n_plus[worst]), int(n_minus[worst])
        raise PolisImportError(
            path,
            line,
            f"agree and disagree look swapped for statement {statement_id}: "
            f"{comments_path.name} counts {int(agrees[worst])} agrees and "
            f"{int(disagrees[worst])} disagrees, but {path.name} has {n_plus_w} "
            f"{'vote' if n_plus_w == 1 else 'votes'} of 1 (agree) and {n_minus_w} of -1 "
            f"(disagree). Part of {path.name} may use the opposite numbers. "
            f"{_INTERNAL_CODING}",
        )


def _same_vote_sets(a: Votes, b: Votes) -> bool:
    """Whether two vote lists (one vote per pair each) hold the same votes, in any order."""
    if len(a) != len(b):
        return False
    if len(a) == 0:
        return True

    order_a = np.lexsort((a.statement, a.participant))
    order_b = np.lexsort((b.statement, b.participant))
    return (
        np.array_equal(a.participant[order_a], b.participant[order_b])
        and np.array_equal(a.statement[order_a], b.statement[order_b])
        and np.array_equal(a.value[order_a], b.value[order_b])
    )


def _check_same_votes(path: Path, matrix_votes: Votes, latest: Votes) -> None:
    """participants-votes.csv must hold exactly the latest votes of votes.csv."""

    def as_map(v: Votes) -> dict[tuple[int, int], int]:
        return dict(
            zip(
                zip(v.participant.tolist(), v.statement.tolist(), strict=True),
                v.value.tolist(),
                strict=True,
            )
        )

    if _same_vote_sets(matrix_votes, latest):
        return
    from_matrix, from_events = as_map(matrix_votes), as_map(latest)
    if from_matrix == from_events:
        return
    differing = [key for key in from_events if from_matrix.get(key) != from_events[key]]
    differing += [key for key in from_matrix if key not in from_events]
    flipped = sum(
        1
        for key in differing
        if from_matrix.get(key) is not None and from_matrix[key] == -from_events.get(key, 0)
    )
    participant, statement = differing[0]
    detail = (
        f"{len(differing)} cell(s) differ, first participant {participant} statement "
        f"{statement} ({from_matrix.get((participant, statement))} vs "
        f"{from_events.get((participant, statement))})"
    )
    if flipped and flipped * 2 >= len(differing):
        raise PolisImportError(
            path,
            1,
            "votes.csv and participants-votes.csv disagree about which number means agree "
            f"({detail}). {_INTERNAL_CODING}",
        )
    raise PolisImportError(
        path, 1, f"participants-votes.csv disagrees with the latest votes in votes.csv: {detail}"
    )


def read_polis_export(folder: Path | str, *, with_participants: bool = True) -> PolisExport:
    """Read and validate a Polis export folder.

    Needs comments.csv and votes.csv, or participants-votes.csv when votes.csv is absent
    (some openData conversations only ship the final vote matrix). With
    `with_participants=False`, participants-votes.csv is read only when votes.csv is
    absent: it is the largest file and only adds Polis's own groups.
    """
    folder = Path(folder)
    comments_path = folder / COMMENTS
    if not comments_path.is_file():
        raise PolisImportError(comments_path, 0, "file not found")
    statements, comments_header = _read_statements(comments_path)
    (ids,) = _column(statements, "statement_id")
    known = frozenset(ids)

    votes_path, matrix_path = folder / VOTES, folder / PARTICIPANTS_VOTES
    events: Votes | None = None
    datetimes: Sequence[str] | None = None
    participants = None
    columns = None
    has_xid = False
    latest: Votes | None = None
    if votes_path.is_file():
        events, datetimes = read_votes(votes_path, known)
        latest = latest_votes(events)
        _check_sign_against_comments(votes_path, latest, statements, comments_path, events)
    if (with_participants or latest is None) and matrix_path.is_file():
        participants, columns, matrix_votes, has_xid = read_participants_votes(matrix_path, known)
        if latest is None:
            _check_sign_against_comments(matrix_path, matrix_votes, statements, comments_path)
            latest = matrix_votes
        else:
            _check_same_votes(matrix_path, matrix_votes, latest)
    if latest is None:
        raise PolisImportError(folder / VOTES, 0, f"file not found (nor {PARTICIPANTS_VOTES})")
    for array in (latest.participant, latest.statement, latest.value):
        readonly(array)
    return PolisExport(
        statements=statements,
        comments_header=comments_header,
        votes=latest,
        vote_events=events,
        vote_datetimes=datetimes,
        participants=participants,
        participants_statement_columns=columns,
        participants_have_xid=has_xid,
    )


# ---------------------------------------------------------------------------------------
# summary.csv: key,value rows about the conversation (no header), as Polis writes it:
# topic, url, views, voters, voters-in-conv, commenters, comments, groups,
# conversation-description. Optional: many exports lack it, and the votes do not depend
# on it, so callers decide what a bad one costs (the import ignores it with a notice).

SUMMARY = "summary.csv"
SUMMARY_TOPIC = "topic"
SUMMARY_DESCRIPTION = "conversation-description"
# A summary is a few short lines; a larger file is not one (and is not read into memory).
SUMMARY_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PolisSummary:
    """What summary.csv says, every key as written (values stripped of outer spaces)."""

    values: dict[str, str]

    @property
    def topic(self) -> str:
        return self.values.get(SUMMARY_TOPIC, "")

    @property
    def description(self) -> str:
        return self.values.get(SUMMARY_DESCRIPTION, "")


def read_summary(path: Path | str) -> PolisSummary:
    """Read summary.csv; raises PolisImportError naming the line and problem (a row that
    is not one key and one value, a key given twice) or PolisNotTextError. Blank lines
    are skipped; keys Polis may add later are kept as they are."""
    path = Path(path)
    if path.stat().st_size > SUMMARY_MAX_BYTES:
        raise PolisImportError(path, None, "larger than 1 MB, so not a summary")
    text = _text_of(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    values: dict[str, str] = {}
    first_line: dict[str, int] = {}
    line = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) != 2:
                    raise PolisImportError(
                        path, line, f"expected 2 fields (a name and its value), found {len(row)}"
                    )
                key, value = row[0].strip(), row[1].strip()
                if not key:
                    raise PolisImportError(path, line, "the name in the first field is empty")
                if key in values:
                    raise PolisImportError(
                        path, line, f"{key} is given twice (first on line {first_line[key]})"
                    )
                values[key] = value
                first_line[key] = line
            line = reader.line_num + 1
    except csv.Error as error:
        raise PolisImportError(path, line, _plain_csv_error(error)) from None
    return PolisSummary(values=values)


# ---------------------------------------------------------------------------------------
# Writing (same dialect as the Clojure exporter: minimal quoting, LF line ends)


def _writer(handle: TextIO) -> Any:
    # csv.writer's return type is private (_csv.Writer), hence Any.
    return csv.writer(handle, lineterminator="\n")


def _text(value: int | str | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_comments(
    path: Path | str,
    statements: Iterable[PolisStatement],
    header: Sequence[str] = COMMENTS_HEADER_OLD,
) -> None:
    field_of = {
        "timestamp": "timestamp",
        "datetime": "datetime",
        "comment-id": "statement_id",
        "author-id": "author_id",
        "agrees": "agrees",
        "disagrees": "disagrees",
        "moderated": "moderated",
        "is-meta": "is_meta",
        "is-seed": "is_seed",
        "group-informed-consensus": "group_informed_consensus",
        "comment-body": "body",
    }
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = _writer(handle)
        writer.writerow(header)
        for statement in statements:
            writer.writerow([_text(getattr(statement, field_of[name])) for name in header])


def write_votes(path: Path | str, votes: Votes, datetimes: Sequence[str] | None = None) -> None:
    """Write votes.csv; without datetimes the column is left empty (it is display-only)."""
    if votes.time is None:
        raise ValueError("votes.csv needs a timestamp per vote")
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = _writer(handle)
        writer.writerow(VOTES_HEADER)
        dates: Iterable[str] = datetimes if datetimes is not None else [""] * len(votes)
        writer.writerows(
            zip(
                votes.time.tolist(),
                dates,
                votes.statement.tolist(),
                votes.participant.tolist(),
                votes.value.tolist(),
                strict=True,
            )
        )


def write_participants_votes(
    path: Path | str,
    participants: Sequence[PolisParticipant],
    statement_columns: Sequence[int],
    votes: Votes,
    *,
    with_xid: bool = False,
) -> None:
    """Write participants-votes.csv; `votes` must be the latest vote per pair."""
    column_of = {statement_id: index for index, statement_id in enumerate(statement_columns)}
    cells: dict[int, list[str]] = {
        p.participant_id: [""] * len(statement_columns) for p in participants
    }
    for participant, statement, value in zip(
        votes.participant.tolist(), votes.statement.tolist(), votes.value.tolist(), strict=True
    ):
        cells[participant][column_of[statement]] = str(value)
    fixed = (
        ["participant", "xid", *PARTICIPANTS_FIXED[1:]] if with_xid else list(PARTICIPANTS_FIXED)
    )
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = _writer(handle)
        writer.writerow([*fixed, *(str(s) for s in statement_columns)])
        for p in participants:
            head = [p.participant_id, *([_text(p.xid)] if with_xid else [])]
            head += [_text(p.group_id), p.n_comments, p.n_votes, p.n_agree, p.n_disagree]
            writer.writerow([*head, *cells[p.participant_id]])


def write_polis_export(folder: Path | str, export: PolisExport) -> None:
    """Write every file the export came from, so that reading it back gives it back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_comments(folder / COMMENTS, export.statements, export.comments_header)
    if export.vote_events is not None:
        write_votes(folder / VOTES, export.vote_events, export.vote_datetimes)
    if export.participants is not None and export.participants_statement_columns is not None:
        write_participants_votes(
            folder / PARTICIPANTS_VOTES,
            export.participants,
            export.participants_statement_columns,
            export.votes,
            with_xid=export.participants_have_xid,
        )
