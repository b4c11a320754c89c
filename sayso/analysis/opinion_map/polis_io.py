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
import itertools
from array import array
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

# What one export may hold. Far beyond the largest real Polis conversations (openData's
# largest: 2,168 statements, 62,000 votes; the largest anywhere hold a few million
# votes), and low enough that reading a file made to look like an export never holds
# more than a few hundred megabytes. Every file is read a line or a few megabytes at a
# time, its rows checked as they come, so a bad file is refused at its first bad line.
MAX_STATEMENTS = 50_000
MAX_COMMENTS_BYTES = 20 * 1024 * 1024  # comments.csv is read whole: 50,000 long statements
MAX_VOTES = 5_000_000  # rows of votes.csv; votes in participants-votes.csv
MAX_PARTICIPANTS = 500_000  # rows of participants-votes.csv
MAX_LINE_BYTES = 1_000_000  # a row of 50,000 statements' votes is at most 150,000
# The fast paths read a file in pieces of about this many bytes, each of whole lines;
# the careful paths parse this many rows at a time, or fewer when rows are wide.
PIECE_BYTES = 4 * 1024 * 1024
BATCH_ROWS = 4096
BATCH_FIELDS = 1_000_000


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


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines as text (UTF-8, a byte-order mark dropped), each with its line
    break (\n, \r\n or \r, as the csv module wants them), decoded a megabyte at a time.
    Raises PolisNotTextError for bytes that are not UTF-8 text, and PolisImportError
    naming a line longer than MAX_LINE_BYTES, before it is held whole."""
    encoding, lines, rest = "utf-8-sig", 0, b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(1 << 20)
            data = rest + block if rest else block
            if not data:
                return
            if block:
                # Cut after the last line break that is surely whole: a \n, or else a \r
                # with something after it (a \r at the end may be half of a \r\n).
                cut = data.rfind(b"\n") + 1 or data.rfind(b"\r", 0, len(data) - 1) + 1
                if not cut:
                    if len(data) > MAX_LINE_BYTES:
                        raise PolisImportError(
                            path,
                            lines + 1,
                            "the line is longer than a million characters, far longer than"
                            " any line of a Polis export",
                        )
                    rest = data
                    continue
                piece, rest = data[:cut], data[cut:]
            else:
                piece, rest = data, b""
            # A NUL byte never occurs in text; the csv module would read it as a character.
            if b"\x00" in piece:
                raise PolisNotTextError(path)
            try:
                text = piece.decode(encoding)  # whole characters: cut at a line break
            except UnicodeDecodeError:
                raise PolisNotTextError(path) from None
            encoding = "utf-8"
            lines += text.count("\n") + text.count("\r") - text.count("\r\n")
            yield from io.StringIO(text, newline="")
            if not block:
                return


def _row_batches(path: Path) -> Iterator[tuple[list[list[str]], list[int]]]:
    """The header alone, then the rows in batches of some thousand rows or a million
    fields, each row with the physical line it starts on (bodies may span lines). A row
    that is not valid CSV, or not as wide as the header, raises PolisImportError once
    the rows before it are given."""
    reader = csv.reader(_text_lines(path), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise PolisImportError(path, 1, "file is empty (no header)") from None
    except csv.Error as error:
        raise PolisImportError(path, reader.line_num or None, _plain_csv_error(error)) from None
    yield [header], [1]
    width = len(header)
    size = max(1, min(BATCH_ROWS, BATCH_FIELDS // max(width, 1)))
    start = reader.line_num + 1
    while True:
        rows: list[list[str]] = []
        lines: list[int] = []
        problem: PolisImportError | None = None
        try:
            for row in reader:
                rows.append(row)
                lines.append(start)
                start = reader.line_num + 1
                if len(rows) == size:
                    break
        except csv.Error as error:
            problem = PolisImportError(path, reader.line_num or None, _plain_csv_error(error))
        except PolisImportError as error:  # not text, or a line too long
            problem = error
        complete = len(rows) == size
        if rows and (len(rows[0]) != width or len(set(map(len, rows))) > 1):
            bad = next(index for index, row in enumerate(rows) if len(row) != width)
            problem = PolisImportError(
                path,
                lines[bad],
                f"expected {width} fields as in the header, found {len(rows[bad])}",
            )
            del rows[bad:], lines[bad:]
        if rows:
            yield rows, lines
        if problem is not None:
            raise problem
        if not complete:
            return


def _iter_rows(path: Path) -> Iterator[tuple[list[str], int]]:
    """The header, then each row with the physical line it starts on, as _row_batches
    gives them."""
    batches = _row_batches(path)
    (header,), _ = next(batches)
    yield header, 1
    for rows, lines in batches:
        yield from zip(rows, lines, strict=True)


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and the physical line each row starts on."""
    rows_of = _iter_rows(path)
    header, _ = next(rows_of)
    rows: list[list[str]] = []
    lines: list[int] = []
    for row, line in rows_of:
        rows.append(row)
        lines.append(line)
    return header, rows, lines


def _too_many_statements() -> str:
    return (
        f"more than {MAX_STATEMENTS:,} statements: Sayso imports conversations of up to"
        f" {MAX_STATEMENTS:,} statements"
    )


def _too_many_votes() -> str:
    return (
        f"more than {MAX_VOTES:,} votes: Sayso imports conversations of up to {MAX_VOTES:,} votes"
    )


def _too_many_participants() -> str:
    return (
        f"more than {MAX_PARTICIPANTS:,} participants: Sayso imports conversations of up to"
        f" {MAX_PARTICIPANTS:,} participants"
    )


def _pieces(path: Path) -> Iterator[bytes]:
    """The file in pieces of about PIECE_BYTES, each ending at the end of a line but for
    the file's last. Raises _LongLine for a line longer than a few pieces (the careful
    path then names it)."""
    with path.open("rb") as handle:
        rest = b""
        while block := handle.read(PIECE_BYTES):
            if rest:
                block = rest + block
            end = block.rfind(b"\n")
            if end < 0:
                if len(block) > 4 * PIECE_BYTES:
                    raise _LongLine
                rest = block
                continue
            rest = block[end + 1 :]
            yield block[: end + 1] if rest else block
        if rest:
            yield rest


class _LongLine(Exception):  # noqa: N818 (reads as what was found)
    """A line longer than the fast path reads at once."""


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


def _fast_clean(data: bytes) -> bool:
    """Whether the fast path may split these bytes: no quotes, CR or NUL, and UTF-8."""
    if b'"' in data or b"\r" in data or b"\x00" in data:
        return False
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _fast_body(data: bytes) -> tuple[list[str], bytes] | None:
    """Header fields and the rows of a file's first piece the fast path may split, or
    None."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not _fast_clean(data):
        return None
    end = data.find(b"\n")
    if end <= 0:
        return None
    header = data[:end].decode("utf-8").split(",")
    body = data[end + 1 :]
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return header, body


def _fast_rest(data: bytes) -> bytes | None:
    """A later piece of a file (whole lines) as the fast path splits it, or None."""
    if not _fast_clean(data):
        return None
    return data if data.endswith(b"\n") else data + b"\n"


def _fast_bodies(path: Path) -> Iterator[tuple[list[str], bytes] | None]:
    """The header and each piece's rows for the fast path, a piece at a time; None (and
    nothing after it) when a piece is not for the fast path."""
    header: list[str] | None = None
    try:
        for piece in _pieces(path):
            if header is None:
                prepared = _fast_body(piece)
                if prepared is None:
                    yield None
                    return
                header, body = prepared
            else:
                rest = _fast_rest(piece)
                if rest is None:
                    yield None
                    return
                body = rest
            yield header, body
    except _LongLine:
        yield None
        return
    if header is None:
        yield None  # an empty file: the careful path says so


def _fast_split(header: list[str], body: bytes) -> _Table | None:
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

    def __init__(self, body: bytes | bytearray, starts: IntArray, ends: IntArray) -> None:
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
    value, too many rows) is read again by read_comments, which names the problem and
    its line."""
    _check_comments_size(path)
    data = path.read_bytes()
    if b"\x00" not in data:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            del data
            rows: list[list[str]] = []
            try:
                for row in csv.reader(io.StringIO(text, newline=""), strict=True):
                    rows.append(row)
                    if len(rows) > MAX_STATEMENTS + 1:  # and a header
                        rows = []
                        break
            except csv.Error:
                rows = []
            if rows and len(set(map(len, rows))) == 1:
                header = rows[0]
                _check_header(path, header, COMMENTS_REQUIRED, COMMENTS_OPTIONAL)
                columns = _comment_columns(header, rows[1:])
                if columns is not None:
                    return StatementRows(columns), tuple(header)
    return read_comments(path)


def _check_comments_size(path: Path) -> None:
    if path.stat().st_size > MAX_COMMENTS_BYTES:
        raise PolisImportError(
            path,
            None,
            f"larger than {MAX_COMMENTS_BYTES // (1024 * 1024)} MB, far more than the"
            " statements of any conversation",
        )


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
    _check_comments_size(path)
    rows_of = _iter_rows(path)
    header, _ = next(rows_of)
    _check_header(path, header, COMMENTS_REQUIRED, COMMENTS_OPTIONAL)
    rows: list[list[str]] = []
    lines: list[int] = []
    for row, line in rows_of:
        if len(rows) == MAX_STATEMENTS:
            raise PolisImportError(path, line, _too_many_statements())
        rows.append(row)
        lines.append(line)
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


def _check_known_statements(
    path: Path,
    statement: IntArray,
    known: frozenset[int],
    lines: Sequence[int] | None,
    first_line: int = 2,
) -> None:
    """Every vote is for a statement of comments.csv. Without `lines`, row i is on line
    `first_line` + i."""
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
        line = lines[index] if lines is not None else first_line + index
        raise PolisImportError(
            path, line, f"vote for statement {int(statement[index])}, which is not in {COMMENTS}"
        )


def read_votes(path: Path, known_statements: frozenset[int]) -> tuple[Votes, Sequence[str] | None]:
    """Every vote event of votes.csv, validated, in file order."""
    fast = _fast_read_votes(path, known_statements)
    if fast is not None:
        return fast
    return _careful_read_votes(path, known_statements)


_INT64 = (-(2**63), 2**63 - 1)


def _int64(path: Path, column: str, value: str, line: int) -> int:
    number = _int(path, column, value, line)
    if not _INT64[0] <= number <= _INT64[1]:
        raise PolisImportError(path, line, f"{column} {value!r} is too large a number")
    return number


def _careful_read_votes(
    path: Path, known_statements: frozenset[int], first: int | None = None
) -> tuple[Votes, Sequence[str] | None]:
    """read_votes with the csv module, some thousand rows at a time: each batch is
    checked as it is read (the first bad row named before the rest is read), and its
    votes kept as packed numbers rather than Python strings. With `first`, only the
    first rows."""
    batches = _row_batches(path)
    (header,), _ = next(batches)
    _check_header(path, header, VOTES_REQUIRED, ("datetime",))
    at = {name: index for index, name in enumerate(header)}
    voter, comment, vote, stamp = (
        at[name] for name in ("voter-id", "comment-id", "vote", "timestamp")
    )
    text_at = at.get("datetime")
    participant, statement, time, value = array("q"), array("q"), array("q"), array("b")
    texts = bytearray()
    text_bounds = array("q", [0])

    def add(rows: list[list[str]], lines: list[int]) -> None:
        # A column at a time, at C speed; a batch with a bad value is gone through again
        # a row at a time, to name the first bad row and field.
        columns = list(zip(*rows, strict=True))
        try:
            new_participant = array("q", map(int, columns[voter]))
            new_statement = array("q", map(int, columns[comment]))
            new_time = array("q", map(int, columns[stamp]))
            new_value = array("b", map(VOTE_TEXT.__getitem__, columns[vote]))
            valid = known_statements.issuperset(new_statement)
        except (ValueError, OverflowError, KeyError):
            valid = False
        if not valid:
            for row, line in zip(rows, lines, strict=True):
                _check_vote_row(path, row, line, at, known_statements)
            raise AssertionError("a bad row not found")  # _check_vote_row names it
        participant.extend(new_participant)
        statement.extend(new_statement)
        time.extend(new_time)
        value.extend(new_value)
        if text_at is not None:
            encoded = [text.encode("utf-8") for text in columns[text_at]]
            bounds = itertools.accumulate(map(len, encoded), initial=len(texts))
            next(bounds)  # the initial one, already there
            text_bounds.extend(bounds)
            texts.extend(b"".join(encoded))

    for rows, lines in batches:
        if first is not None and len(value) + len(rows) >= first:
            add(rows[: first - len(value)], lines[: first - len(value)])
            break
        room = MAX_VOTES - len(value)
        if len(rows) > room:
            add(rows[:room], lines[:room])
            raise PolisImportError(path, lines[room], _too_many_votes())
        add(rows, lines)
    events = Votes(
        participant=_packed(participant, np.int64),
        statement=_packed(statement, np.int64),
        value=_packed(value, np.int8),
        time=_packed(time, np.int64),
    )
    datetimes = None
    if text_at is not None:
        bounds = _packed(text_bounds, np.int64)
        datetimes = TextColumn(texts, bounds[:-1], bounds[1:])
    return events, datetimes


def _check_vote_row(
    path: Path, row: Sequence[str], line: int, at: dict[str, int], known: frozenset[int]
) -> None:
    """Raise for the first field of a votes.csv row that is not as it must be."""
    for column in ("voter-id", "comment-id"):
        _int64(path, column, row[at[column]], line)
    if row[at["vote"]] not in VOTE_TEXT:
        raise PolisImportError(
            path, line, f"vote {row[at['vote']]!r} is not 1 (agree), -1 (disagree) or 0 (pass)"
        )
    _int64(path, "timestamp", row[at["timestamp"]], line)
    statement = int(row[at["comment-id"]])
    if statement not in known:
        raise PolisImportError(
            path, line, f"vote for statement {statement}, which is not in {COMMENTS}"
        )


def _packed(values: array[int], dtype: type[np.generic]) -> NDArray[Any]:
    """An array module's array as a numpy array of the same memory (no copy)."""
    if not values:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(values, dtype=dtype)


def _fast_read_votes(
    path: Path, known_statements: frozenset[int]
) -> tuple[Votes, Sequence[str] | None] | None:
    """read_votes without the csv module, a piece of the file at a time, or None when
    the file needs the careful path. A file of one piece is kept as numpy split it;
    the pieces of a larger one are appended to packed arrays, the datetimes without the
    rest of their piece, so that memory holds the votes and not the file."""
    first: tuple[_VotePart, _TextPart | None] | None = None
    packed = _PackedVotes()
    count = 0
    at: dict[str, int] = {}
    for prepared in _fast_bodies(path):
        if prepared is None:
            return None
        header, body = prepared
        if not at:
            _check_header(path, header, VOTES_REQUIRED, ("datetime",))
            at = {name: index for index, name in enumerate(header)}
        table = _fast_split(header, body)
        if table is None:
            return None
        part = _fast_votes_of(table, at)
        if part is None:
            return None
        # No field spans lines here, so row i of this piece is on line count + i + 2.
        allowed = MAX_VOTES - count
        _check_known_statements(path, part[1][:allowed], known_statements, None, count + 2)
        if table.n_rows > allowed:
            raise PolisImportError(path, MAX_VOTES + 2, _too_many_votes())
        text: _TextPart | None = None
        if "datetime" in at:
            column = at["datetime"]
            text = (table.body, table.starts[:, column], table.ends[:, column])
        if count == 0 and first is None:
            first = (part, text)
        else:
            if first is not None:
                packed.add(*first)
                first = None
            packed.add(part, text)
        count += table.n_rows
    if first is not None:
        (participant, statement, value, when), text = first
        events = Votes(participant=participant, statement=statement, value=value, time=when)
        if text is None:
            return events, None
        body, starts, ends = text
        return events, TextColumn(body, starts.copy(), ends.copy())
    return packed.result("datetime" in at)


_VotePart = tuple[IntArray, IntArray, NDArray[np.int8], IntArray]
_TextPart = tuple[bytes, IntArray, IntArray]


class _PackedVotes:
    """votes.csv's columns a piece at a time, in packed arrays (no copy at the end)."""

    def __init__(self) -> None:
        self.columns = (array("q"), array("q"), array("b"), array("q"))
        self.texts = bytearray()
        self.text_bounds = array("q", [0])

    def add(self, part: _VotePart, text: _TextPart | None) -> None:
        for packed, column in zip(self.columns, part, strict=True):
            packed.frombytes(np.ascontiguousarray(column).view(np.uint8))
        if text is not None:
            column_bytes, lengths = _only_text(*text)
            bounds = np.cumsum(lengths) + len(self.texts)
            self.text_bounds.frombytes(bounds.view(np.uint8))
            self.texts += column_bytes

    def result(self, with_text: bool) -> tuple[Votes, Sequence[str] | None]:
        participant, statement, value, time = self.columns
        events = Votes(
            participant=_packed(participant, np.int64),
            statement=_packed(statement, np.int64),
            value=_packed(value, np.int8),
            time=_packed(time, np.int64),
        )
        if not with_text:
            return events, None
        bounds = _packed(self.text_bounds, np.int64)
        return events, TextColumn(self.texts, bounds[:-1], bounds[1:])


def _fast_votes_of(
    table: _Table, at: dict[str, int]
) -> tuple[IntArray, IntArray, NDArray[np.int8], IntArray] | None:
    """Participant, statement, vote and time of each row of a piece of votes.csv."""
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
    return participant, statement, value, when


def _only_text(body: bytes, starts: IntArray, ends: IntArray) -> tuple[bytes, IntArray]:
    """One text column of a piece, its values one after the other, and their lengths."""
    # A byte is in the column when more of its fields have started than ended before it.
    inside = np.zeros(len(body) + 1, dtype=np.int8)
    inside[starts] += 1
    inside[ends] -= 1
    keep = np.cumsum(inside[:-1], dtype=np.int8).view(np.bool_)
    return np.frombuffer(body, dtype=np.uint8)[keep].tobytes(), ends - starts


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
    """read_participants_votes without the csv module, a piece of the file at a time, or
    None when the file needs the careful path (which then names the problem's line)."""
    parts: list[_MatrixPiece] = []
    statement_columns: list[int] = []
    has_xid, offset = False, 0
    n_rows = n_votes = 0
    for prepared in _fast_bodies(path):
        if prepared is None:
            return None
        header, body = prepared
        if not parts:
            has_xid, offset, statement_columns = _participants_header(
                path, header, known_statements
            )
        part = _fast_matrix_piece(body, len(header), offset, has_xid)
        if part is None:
            return None
        # No field spans lines here, so row i of this piece is on line n_rows + i + 2.
        too_many = None
        if n_rows + len(part.ids) > MAX_PARTICIPANTS:
            too_many = (MAX_PARTICIPANTS + 2, _too_many_participants())
        if n_votes + len(part.flat) > MAX_VOTES:
            row = int(part.flat[MAX_VOTES - n_votes]) // max(len(statement_columns), 1)
            if too_many is None or n_rows + row + 2 < too_many[0]:
                too_many = (n_rows + row + 2, _too_many_votes())
        if too_many is not None:
            ids = np.concatenate([p.ids for p in (*parts, part)])
            if len(np.unique(ids)) != len(ids):
                return None  # a repeated participant, perhaps before: the csv path says
            raise PolisImportError(path, *too_many)
        n_rows += len(part.ids)
        n_votes += len(part.flat)
        parts.append(part)
    if not parts:
        return None

    def joined(name: str) -> Any:
        columns = [getattr(part, name) for part in parts]
        return columns[0] if len(columns) == 1 else np.concatenate(columns)

    participant_ids = joined("ids")
    if len(np.unique(participant_ids)) != n_rows:
        return None  # a repeated participant
    n_columns = max(len(statement_columns), 1)
    cell_row = np.concatenate(
        [
            part.flat // n_columns + sum(len(p.ids) for p in parts[:i])
            for i, part in enumerate(parts)
        ]
    )
    xids: list[str | None] | None = None
    if has_xid:
        xids = [xid for part in parts for xid in part.xids or ()]
    participants = ParticipantRows(
        (
            participant_ids,
            joined("groups"),
            joined("n_comments"),
            joined("n_votes"),
            joined("n_agree"),
            joined("n_disagree"),
        ),
        xids,
    )
    votes = Votes(
        participant=participant_ids[cell_row],
        statement=np.asarray(statement_columns, dtype=np.int64)[
            np.concatenate([part.flat % n_columns for part in parts])
        ],
        value=joined("values"),
        time=None,
    )
    return participants, tuple(statement_columns), votes, has_xid


@dataclass(frozen=True, slots=True)
class _MatrixPiece:
    """The rows of one piece of participants-votes.csv, checked."""

    ids: IntArray
    groups: IntArray  # -1: none
    n_comments: IntArray
    n_votes: IntArray
    n_agree: IntArray
    n_disagree: IntArray
    xids: list[str | None] | None
    flat: IntArray  # the voted cells, row-major over the piece's vote columns
    values: NDArray[np.int8]


def _fast_matrix_piece(body: bytes, width: int, offset: int, has_xid: bool) -> _MatrixPiece | None:
    n_columns = width - offset
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
    flat = np.flatnonzero(voted)  # row-major, as the csv path's order
    return _MatrixPiece(
        ids=participant_ids,
        groups=group_ids,
        n_comments=n_comments,
        n_votes=n_votes,
        n_agree=n_agree,
        n_disagree=n_disagree,
        xids=xids,
        flat=flat,
        values=cell.ravel()[flat],
    )


def read_participants_votes(
    path: Path, known_statements: frozenset[int]
) -> tuple[Sequence[PolisParticipant], tuple[int, ...], Votes, bool]:
    fast = _fast_read_participants_votes(path, known_statements)
    if fast is not None:
        return fast
    return _careful_read_participants_votes(path, known_statements)


_CELLS = frozenset(("", "1", "-1", "0"))


def _careful_read_participants_votes(
    path: Path, known_statements: frozenset[int], first: int | None = None
) -> tuple[Sequence[PolisParticipant], tuple[int, ...], Votes, bool]:
    """read_participants_votes with the csv module, a row at a time: each row is
    checked as it is read, and its votes kept as packed numbers. With `first`, only the
    first rows."""
    rows = _iter_rows(path)
    header, _ = next(rows)
    has_xid, offset, statement_columns = _participants_header(path, header, known_statements)
    n_columns = len(statement_columns)
    participants: list[PolisParticipant] = []
    seen: dict[int, int] = {}
    vote_participant, vote_column, vote_value = array("q"), array("q"), array("b")
    for count, (row, line) in enumerate(rows):
        if count == MAX_PARTICIPANTS:
            raise PolisImportError(path, line, _too_many_participants())
        if count == first:
            break
        cells = row[offset:]
        counted = (cells.count("1"), cells.count("-1"))
        n_voted = n_columns - cells.count("")
        if counted[0] + counted[1] + cells.count("0") != n_voted:
            at = next(index for index, cell in enumerate(cells) if cell not in _CELLS)
            raise PolisImportError(
                path,
                line,
                f"vote {cells[at]!r} for statement {statement_columns[at]} is not 1 (agree), "
                "-1 (disagree), 0 (pass) or empty",
            )
        participant_id = _int64(path, "participant", row[0], line)
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
        if record.n_votes != n_voted:
            raise PolisImportError(
                path,
                line,
                f"n-votes {record.n_votes} does not match the row's {n_voted} votes",
            )
        if len(vote_value) + n_voted > MAX_VOTES:
            raise PolisImportError(path, line, _too_many_votes())
        for index, cell in enumerate(cells):
            if cell:
                vote_column.append(index)
                vote_value.append(VOTE_TEXT[cell])
        vote_participant.extend([participant_id] * n_voted)
        participants.append(record)

    votes = Votes(
        participant=_packed(vote_participant, np.int64),
        statement=np.asarray(statement_columns, dtype=np.int64)[_packed(vote_column, np.int64)],
        value=_packed(vote_value, np.int8),
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
    if _same_vote_sets(matrix_votes, latest):
        return
    # Each (participant, statement) as one number, then each vote of either list found
    # in the other by a binary search: a few arrays, however many votes there are.
    n_latest = len(latest)
    participant, _ = _codes(np.concatenate([latest.participant, matrix_votes.participant]))
    statement, n_statements = _codes(np.concatenate([latest.statement, matrix_votes.statement]))
    key = participant * max(n_statements, 1) + statement
    key_latest, key_matrix = key[:n_latest], key[n_latest:]

    def found_in(keys: IntArray, other: IntArray) -> tuple[NDArray[np.bool_], IntArray]:
        """Whether each key is among `other`, and where (the last such, as a dict would)."""
        order = np.argsort(other, kind="stable")
        ordered = other[order]
        at = np.searchsorted(ordered, keys, side="right") - 1
        at_clipped = np.maximum(at, 0)
        found = (
            (at >= 0) & (ordered[at_clipped] == keys) if len(other) else np.zeros(len(keys), bool)
        )
        return found, order[at_clipped] if len(other) else np.zeros(len(keys), np.int64)

    in_matrix, where = found_in(key_latest, key_matrix)
    matrix_value = np.where(in_matrix, matrix_votes.value[where] if len(key_matrix) else 0, 0)
    differ = ~in_matrix | (matrix_value != latest.value)
    in_latest, _ = found_in(key_matrix, key_latest)
    only_matrix = ~in_latest
    n_differ = int(np.count_nonzero(differ)) + int(np.count_nonzero(only_matrix))
    if n_differ == 0:
        return
    # A cell counts as flipped when the matrix holds the opposite of the latest vote (a
    # vote only the matrix has, as the opposite of none: a pass).
    flipped = int(np.count_nonzero(differ & in_matrix & (matrix_value == -latest.value)))
    flipped += int(np.count_nonzero(only_matrix & (matrix_votes.value == 0)))
    if differ.any():
        first = int(np.flatnonzero(differ)[0])
        participant_id, statement_id = int(latest.participant[first]), int(latest.statement[first])
        in_file = int(matrix_value[first]) if in_matrix[first] else None
        from_events: int | None = int(latest.value[first])
    else:
        first = int(np.flatnonzero(only_matrix)[0])
        participant_id = int(matrix_votes.participant[first])
        statement_id = int(matrix_votes.statement[first])
        in_file, from_events = int(matrix_votes.value[first]), None
    detail = (
        f"{n_differ} cell(s) differ, first participant {participant_id} statement "
        f"{statement_id} ({in_file} vs {from_events})"
    )
    if flipped and flipped * 2 >= n_differ:
        raise PolisImportError(
            path,
            1,
            "votes.csv and participants-votes.csv disagree about which number means agree "
            f"({detail}). {_INTERNAL_CODING}",
        )
    raise PolisImportError(
        path, 1, f"participants-votes.csv disagrees with the latest votes in votes.csv: {detail}"
    )


def _comments_of(
    folder: Path,
) -> tuple[Sequence[PolisStatement], tuple[str, ...], frozenset[int]]:
    """comments.csv's statements, its header, and the statement ids votes may name."""
    comments_path = folder / COMMENTS
    if not comments_path.is_file():
        raise PolisImportError(comments_path, 0, "file not found")
    statements, comments_header = _read_statements(comments_path)
    (ids,) = _column(statements, "statement_id")
    return statements, comments_header, frozenset(ids)


def read_polis_export(folder: Path | str, *, with_participants: bool = True) -> PolisExport:
    """Read and validate a Polis export folder.

    Needs comments.csv and votes.csv, or participants-votes.csv when votes.csv is absent
    (some openData conversations only ship the final vote matrix). With
    `with_participants=False`, participants-votes.csv is read only when votes.csv is
    absent: it is the largest file and only adds Polis's own groups.
    """
    folder = Path(folder)
    statements, comments_header, known = _comments_of(folder)

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
        _check_sign_against_comments(votes_path, latest, statements, folder / COMMENTS, events)
    if (with_participants or latest is None) and matrix_path.is_file():
        participants, columns, matrix_votes, has_xid = read_participants_votes(matrix_path, known)
        if latest is None:
            _check_sign_against_comments(matrix_path, matrix_votes, statements, folder / COMMENTS)
            latest = matrix_votes
        else:
            _check_same_votes(matrix_path, matrix_votes, latest)
    if latest is None:
        raise PolisImportError(folder / VOTES, 0, f"file not found (nor {PARTICIPANTS_VOTES})")
    for column in (latest.participant, latest.statement, latest.value):
        readonly(column)
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


def check_export_start(
    folder: Path | str, rows: int = 1000
) -> tuple[Sequence[PolisStatement], tuple[str, ...]]:
    """What of an export folder can be checked quickly, however large its files:
    comments.csv in full (MAX_COMMENTS_BYTES at most), and the header and first `rows`
    rows of votes.csv and participants-votes.csv, and that neither holds more lines
    than it may. Raises PolisImportError as read_polis_export would for a problem found
    there; read_polis_export checks the rest. Returns comments.csv's statements and
    header."""
    folder = Path(folder)
    statements, comments_header, known = _comments_of(folder)
    votes_path, matrix_path = folder / VOTES, folder / PARTICIPANTS_VOTES
    if not votes_path.is_file() and not matrix_path.is_file():
        raise PolisImportError(folder / VOTES, 0, f"file not found (nor {PARTICIPANTS_VOTES})")
    if votes_path.is_file():
        _careful_read_votes(votes_path, known, first=rows)
        if _more_lines_than(votes_path, MAX_VOTES + 1):
            raise PolisImportError(votes_path, None, _too_many_votes())
    if matrix_path.is_file():
        _careful_read_participants_votes(matrix_path, known, first=rows)
        if _more_lines_than(matrix_path, MAX_PARTICIPANTS + 1):
            raise PolisImportError(matrix_path, None, _too_many_participants())
    return statements, comments_header


def _more_lines_than(path: Path, limit: int) -> bool:
    """Whether the file has more than `limit` lines (one a row in these files), counted
    a megabyte at a time."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
            if lines > limit:
                return True
    return lines + (last != b"\n") > limit


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
