"""Read and write Polis export folders (comments.csv, votes.csv, participants-votes.csv).

Everything is validated before anything is returned: a bad file raises PolisImportError
naming the file, the line and the problem, because a silently mis-read export (wrong
sign convention, votes on unknown statements) would produce a plausible but wrong map.

Sign convention: exports code +1 = agree, -1 = disagree, 0 = pass. Polis's database and
its vote API use the opposite sign; such a file is rejected rather than guessed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

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


class PolisImportError(ValueError):
    """A Polis export file is malformed; the message says file, line and problem."""

    def __init__(self, file: Path | str, line: int, problem: str) -> None:
        self.file = str(file)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.file}, line {line}: {problem}")


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

    statements: tuple[PolisStatement, ...]
    comments_header: tuple[str, ...]
    votes: Votes
    vote_events: Votes | None = None
    vote_datetimes: tuple[str, ...] | None = None
    participants: tuple[PolisParticipant, ...] | None = None
    participants_statement_columns: tuple[int, ...] | None = None
    participants_have_xid: bool = False

    @property
    def moderated_out(self) -> frozenset[int]:
        return frozenset(s.statement_id for s in self.statements if s.moderated == -1)

    @property
    def meta(self) -> frozenset[int]:
        return frozenset(s.statement_id for s in self.statements if s.is_meta)

    @property
    def statement_ids(self) -> tuple[int, ...]:
        return tuple(sorted(s.statement_id for s in self.statements))

    def polis_groups(self) -> dict[int, int]:
        """Polis's own group per clustered participant (empty without participants-votes)."""
        if self.participants is None:
            return {}
        return {p.participant_id: p.group_id for p in self.participants if p.group_id is not None}


# ---------------------------------------------------------------------------------------
# Reading


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and the physical line each row starts on (bodies may span lines)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
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
    except UnicodeDecodeError as error:
        raise PolisImportError(path, 0, f"not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise PolisImportError(path, 0, f"not valid CSV ({error})") from None
    width = len(header)
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise PolisImportError(
                path, line, f"expected {width} fields as in the header, found {len(row)}"
            )
    return header, rows, lines


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


def read_comments(path: Path) -> tuple[tuple[PolisStatement, ...], tuple[str, ...]]:
    header, rows, lines = _read_rows(path)
    _check_header(path, header, COMMENTS_REQUIRED, COMMENTS_OPTIONAL)
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
    unknown = ~np.isin(statement, known_array)
    if unknown.any():
        index = int(np.flatnonzero(unknown)[0])
        line = lines[index] if lines is not None else index + 2
        raise PolisImportError(
            path, line, f"vote for statement {int(statement[index])}, which is not in {COMMENTS}"
        )


def read_votes(
    path: Path, known_statements: frozenset[int]
) -> tuple[Votes, tuple[str, ...] | None]:
    """Every vote event of votes.csv, validated, in file order."""
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


def latest_votes(events: Votes) -> Votes:
    """Keep the latest vote per (participant, statement), as Polis does.

    Ties on time go to the later row, matching Polis's arrival-order overwrite.
    """
    n = len(events)
    if n == 0:
        return events
    participant_code = np.unique(events.participant, return_inverse=True)[1]
    statement_code, n_statements = _codes(events.statement)
    key = participant_code.astype(np.int64) * n_statements + statement_code
    # lexsort is stable and sorts by the last key first: by pair, then time, then row.
    rows = np.arange(n, dtype=np.int64)
    time = events.time if events.time is not None else rows
    order = np.lexsort((rows, time, key))
    sorted_key = key[order]
    last = np.ones(n, dtype=bool)
    last[:-1] = sorted_key[1:] != sorted_key[:-1]
    keep = np.sort(order[last])  # back to file order, so output is as the file gave it
    return Votes(
        participant=events.participant[keep],
        statement=events.statement[keep],
        value=events.value[keep],
        time=None if events.time is None else events.time[keep],
    )


def _codes(ids: IntArray) -> tuple[IntArray, int]:
    unique, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64), len(unique)


def read_participants_votes(
    path: Path, known_statements: frozenset[int]
) -> tuple[tuple[PolisParticipant, ...], tuple[int, ...], Votes, bool]:
    header, rows, lines = _read_rows(path)
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
    n_rows, n_columns = len(rows), len(statement_columns)
    cells = np.asarray([row[offset:] for row in rows], dtype="<U2").reshape(n_rows, n_columns)
    allowed = np.isin(cells, ["", "1", "-1", "0"])
    if not allowed.all():
        r, c = (int(i) for i in np.argwhere(~allowed)[0])
        raise PolisImportError(
            path,
            lines[r],
            f"vote {cells[r, c]!r} for statement {statement_columns[c]} is not 1 (agree), "
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
                    f"mixed sign conventions: n-agree {record.n_agree} and n-disagree "
                    f"{record.n_disagree} match the row's -1 and 1 cells swapped; this row "
                    "uses Polis's internal coding (-1 = agree)",
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


def _check_sign_against_comments(
    path: Path, votes: Votes, statements: Sequence[PolisStatement], comments_path: Path
) -> None:
    """Reject a votes file whose agree/disagree are flipped relative to comments.csv.

    comments.csv counts are known to be slightly off (openData issue #6), so compare in
    aggregate: flipped is when swapping the signs fits the counts clearly better.
    """
    if len(votes) == 0:
        return
    ids = np.asarray([s.statement_id for s in statements], dtype=np.int64)
    order = np.argsort(ids)
    position = order[np.searchsorted(ids, votes.statement, sorter=order)]
    n_plus = np.bincount(position, weights=votes.value == 1, minlength=len(ids))
    n_minus = np.bincount(position, weights=votes.value == -1, minlength=len(ids))
    agrees = np.asarray([s.agrees for s in statements], dtype=np.float64)
    disagrees = np.asarray([s.disagrees for s in statements], dtype=np.float64)
    same = np.abs(agrees - n_plus).sum() + np.abs(disagrees - n_minus).sum()
    flipped = np.abs(agrees - n_minus).sum() + np.abs(disagrees - n_plus).sum()
    if flipped < same:
        worst = int(np.argmax(np.abs(agrees - n_plus)))
        raise PolisImportError(
            path,
            2 + int(np.flatnonzero(position == worst)[0]) if (position == worst).any() else 1,
            f"mixed sign conventions: the votes here count 1 as agree but {comments_path.name} "
            f"agrees/disagrees match them with signs swapped (statement "
            f"{statements[worst].statement_id}: agrees {int(agrees[worst])}, "
            f"1-votes {int(n_plus[worst])}, -1-votes {int(n_minus[worst])}); "
            "the file looks like Polis's internal coding (-1 = agree)",
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
    kind = (
        "mixed sign conventions between votes.csv and participants-votes.csv"
        if flipped and flipped * 2 >= len(differing)
        else "participants-votes.csv disagrees with the latest votes in votes.csv"
    )
    raise PolisImportError(
        path,
        1,
        f"{kind}: {len(differing)} cell(s) differ, first participant {participant} statement "
        f"{statement} ({from_matrix.get((participant, statement))} vs "
        f"{from_events.get((participant, statement))})",
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
    statements, comments_header = read_comments(comments_path)
    known = frozenset(s.statement_id for s in statements)

    votes_path, matrix_path = folder / VOTES, folder / PARTICIPANTS_VOTES
    events: Votes | None = None
    datetimes: tuple[str, ...] | None = None
    participants = None
    columns = None
    has_xid = False
    latest: Votes | None = None
    if votes_path.is_file():
        events, datetimes = read_votes(votes_path, known)
        latest = latest_votes(events)
        _check_sign_against_comments(votes_path, latest, statements, comments_path)
    if matrix_path.is_file() and (with_participants or latest is None):
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
