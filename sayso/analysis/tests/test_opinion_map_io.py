"""Reading, validating and writing Polis export folders."""

import re
from pathlib import Path

import numpy as np
import pytest

from sayso.analysis.opinion_map import PolisImportError, read_polis_export, write_polis_export
from sayso.analysis.opinion_map.model import Votes
from sayso.analysis.opinion_map.polis_io import latest_votes

FIXTURE = Path(__file__).parent / "fixtures" / "polis" / "15-per-hour-seattle"

COMMENTS = (
    "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
    "1,d,0,0,2,1,1,First\n"
    '2,d,1,0,1,1,1,"Second, with a comma"\n'
    "3,d,2,1,0,0,-1,Removed\n"
)
VOTES = (
    "timestamp,datetime,comment-id,voter-id,vote\n"
    "10,d,0,0,1\n"
    "11,d,0,1,1\n"
    "12,d,0,2,-1\n"
    "13,d,1,0,-1\n"
    "14,d,1,1,1\n"
)


def make_export(
    tmp_path: Path, comments: str = COMMENTS, votes: str | None = VOTES, matrix: str | None = None
) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "comments.csv").write_text(comments)
    if votes is not None:
        (tmp_path / "votes.csv").write_text(votes)
    if matrix is not None:
        (tmp_path / "participants-votes.csv").write_text(matrix)
    return tmp_path


def test_reads_a_small_export(tmp_path):
    export = read_polis_export(make_export(tmp_path))
    assert export.moderated_out == frozenset({2})
    assert export.statements[1].body == "Second, with a comma"
    assert sorted(
        zip(
            export.votes.participant.tolist(),
            export.votes.statement.tolist(),
            export.votes.value.tolist(),
            strict=False,
        )
    ) == [(0, 0, 1), (0, 1, -1), (1, 0, 1), (1, 1, 1), (2, 0, -1)]


def test_wrong_votes_header_names_file_line_and_columns(tmp_path):
    folder = make_export(tmp_path, votes=VOTES.replace("voter-id", "voter"))
    with pytest.raises(PolisImportError) as error:
        read_polis_export(folder)
    message = str(error.value)
    assert "votes.csv, line 1: wrong header" in message
    assert "missing column(s) voter-id" in message
    assert "unknown column(s) 'voter'" in message


def test_wrong_comments_header(tmp_path):
    folder = make_export(tmp_path, comments=COMMENTS.replace("moderated", "status"))
    with pytest.raises(
        PolisImportError,
        match=r"comments\.csv, line 1: wrong header: missing column\(s\) moderated",
    ):
        read_polis_export(folder)


def test_unknown_vote_value_names_its_line(tmp_path):
    folder = make_export(tmp_path, votes=VOTES.replace("12,d,0,2,-1", "12,d,0,2,2"))
    with pytest.raises(PolisImportError) as error:
        read_polis_export(folder)
    assert error.value.line == 4
    assert str(error.value).endswith(
        "votes.csv, line 4: vote '2' is not 1 (agree), -1 (disagree) or 0 (pass)"
    )


def test_vote_for_unknown_statement(tmp_path):
    folder = make_export(tmp_path, votes=VOTES + "15,d,99,3,1\n")
    with pytest.raises(
        PolisImportError,
        match=r"votes\.csv, line 7: vote for statement 99, which is not in comments\.csv",
    ):
        read_polis_export(folder)


def test_non_integer_voter(tmp_path):
    folder = make_export(tmp_path, votes=VOTES.replace("11,d,0,1,1", "11,d,0,x,1"))
    with pytest.raises(PolisImportError, match=r"line 3: voter-id 'x' is not an integer"):
        read_polis_export(folder)


def test_ragged_row(tmp_path):
    folder = make_export(tmp_path, votes=VOTES + "15,d,1\n")
    with pytest.raises(
        PolisImportError, match=r"line 7: expected 5 fields as in the header, found 3"
    ):
        read_polis_export(folder)


def test_votes_in_polis_internal_sign_are_rejected(tmp_path):
    flipped = VOTES.replace(",1\n", ",X\n").replace(",-1\n", ",1\n").replace(",X\n", ",-1\n")
    folder = make_export(tmp_path, votes=flipped)
    with pytest.raises(PolisImportError) as error:
        read_polis_export(folder)
    assert "votes.csv" in str(error.value)
    assert "comments.csv and votes.csv disagree about which number means agree" in str(error.value)
    assert "export it again from the Polis report page" in str(error.value)


MATRIX = (
    "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,2\n"
    "0,0,2,2,1,1,1,-1,\n"
    "1,1,0,2,2,0,1,1,\n"
    "2,,0,1,0,1,-1,,\n"
)


def test_participants_votes_row_with_swapped_sign_is_rejected(tmp_path):
    bad = MATRIX.replace("1,1,0,2,2,0,1,1,", "1,1,0,2,2,0,-1,-1,")
    folder = make_export(tmp_path, votes=None, matrix=bad)
    with pytest.raises(PolisImportError) as error:
        read_polis_export(folder)
    assert error.value.line == 3
    assert (
        "participants-votes.csv, line 3: this row disagrees with itself about which number"
        " means agree" in str(error.value)
    )


def test_participants_votes_disagreeing_with_votes_csv(tmp_path):
    folder = make_export(tmp_path, matrix=MATRIX.replace("0,0,2,2,1,1,1,-1,", "0,0,2,2,1,0,1,0,"))
    with pytest.raises(
        PolisImportError, match=r"participants-votes\.csv.*disagrees with the latest votes"
    ):
        read_polis_export(folder)


def test_participants_votes_alone_supply_votes_and_polis_groups(tmp_path):
    export = read_polis_export(make_export(tmp_path, votes=None, matrix=MATRIX))
    assert export.polis_groups() == {0: 0, 1: 1}
    assert len(export.votes) == 5
    assert export.vote_events is None


def test_missing_votes_and_matrix(tmp_path):
    with pytest.raises(PolisImportError, match=r"votes\.csv, line 0: file not found"):
        read_polis_export(make_export(tmp_path, votes=None))


def test_duplicate_votes_keep_the_latest_by_time():
    # The re-vote at time 5 comes first in the file but is the latest.
    events = Votes.from_rows([(1, 7, 1, 5), (1, 7, -1, 3), (2, 7, 0, 1), (2, 7, 1, 1)])
    latest = latest_votes(events)
    pairs = sorted(
        zip(
            latest.participant.tolist(),
            latest.statement.tolist(),
            latest.value.tolist(),
            strict=False,
        )
    )
    # Equal times: the later row wins, as Polis overwrites in arrival order.
    assert pairs == [(1, 7, 1), (2, 7, 1)]


def test_fixture_round_trip_is_byte_identical(tmp_path):
    export = read_polis_export(FIXTURE)
    write_polis_export(tmp_path, export)
    for name in ("comments.csv", "votes.csv", "participants-votes.csv"):
        assert (tmp_path / name).read_bytes() == (FIXTURE / name).read_bytes(), name
    again = read_polis_export(tmp_path)
    assert again.statements == export.statements
    assert again.participants == export.participants
    assert again.vote_datetimes == export.vote_datetimes
    assert export.vote_events is not None
    assert again.vote_events is not None
    for field in ("participant", "statement", "value", "time"):
        assert np.array_equal(getattr(again.vote_events, field), getattr(export.vote_events, field))


def test_fixture_has_revotes_and_keeps_the_last(tmp_path):
    export = read_polis_export(FIXTURE)
    assert export.vote_events is not None
    assert len(export.vote_events) == 2995
    assert len(export.votes) == 2872  # the participants-votes matrix agrees (checked on read)


def _same_export(a, b):
    assert a.statements == b.statements
    assert a.participants == b.participants
    assert (a.vote_datetimes is None) == (b.vote_datetimes is None)
    if a.vote_datetimes is not None:
        assert list(a.vote_datetimes) == list(b.vote_datetimes)
    for x, y in ((a.votes, b.votes), (a.vote_events, b.vote_events)):
        assert (x is None) == (y is None)
        if x is not None:
            for field in ("participant", "statement", "value"):
                assert np.array_equal(getattr(x, field), getattr(y, field)), field


def test_fast_and_csv_paths_read_the_same(tmp_path, monkeypatch):
    from sayso.analysis.opinion_map import polis_io

    fast = read_polis_export(FIXTURE)
    # Both fast paths (votes.csv and participants-votes.csv) start from _fast_body.
    monkeypatch.setattr(polis_io, "_fast_body", lambda data: None)
    careful = read_polis_export(FIXTURE)
    _same_export(fast, careful)


def test_quoted_fields_take_the_csv_path_and_read_the_same(tmp_path):
    quoted = VOTES.replace("10,d,0,0,1", '10,"d, quoted",0,0,1')
    export = read_polis_export(make_export(tmp_path, votes=quoted))
    assert export.vote_datetimes is not None
    assert export.vote_datetimes[0] == "d, quoted"
    plain = read_polis_export(make_export(tmp_path / "plain", votes=VOTES))
    assert np.array_equal(export.votes.value, plain.votes.value)


def test_fast_path_falls_back_for_errors_in_participants_votes(tmp_path):
    # Each of these makes the numpy path decline; the csv path must name the line.
    cases = {
        "2,,0,1,0,1,-1,,": ("2,,0,1,0,1,+1,,", "vote '+1' for statement 0"),
        "1,1,0,2,2,0,1,1,": ("1,1,0,2,2,0,1,1,,", "expected 9 fields"),
    }
    for index, (original, (replacement, problem)) in enumerate(cases.items()):
        folder = make_export(
            tmp_path / str(index), votes=None, matrix=MATRIX.replace(original, replacement)
        )
        with pytest.raises(PolisImportError, match=re.escape(problem)):
            read_polis_export(folder)


def test_repeated_participant_in_matrix_names_both_lines(tmp_path):
    matrix = MATRIX + "1,1,0,2,2,0,1,1,\n"
    with pytest.raises(PolisImportError, match=r"line 5: participant 1 already given on line 3"):
        read_polis_export(make_export(tmp_path, votes=None, matrix=matrix))


def test_datetimes_decode_lazily_and_compare_as_a_sequence(tmp_path):
    export = read_polis_export(make_export(tmp_path))
    assert export.vote_datetimes == ("d",) * 5
    assert len(export.vote_datetimes) == 5
    assert export.vote_datetimes[1:3] == ("d", "d")


def _read_both_ways(folder, monkeypatch):
    """The export read by the numpy fast paths, then by the csv-module paths."""
    from sayso.analysis.opinion_map import polis_io

    fast = read_polis_export(folder)
    with monkeypatch.context() as patch:
        patch.setattr(polis_io, "_fast_body", lambda data: None)
        careful = read_polis_export(folder)
    return fast, careful


@pytest.mark.parametrize(
    "cell", ["11", "-", "-0", "2", "1-", "--1", "01", "x", "+1", " 1", "-1x", "-1 ", "100"]
)
@pytest.mark.parametrize("column", [0, 2])
def test_every_malformed_vote_cell_is_named_by_the_csv_path(tmp_path, cell, column):
    # The fast path decodes a cell from the bytes before its separator; whatever it
    # cannot prove to be "", "1", "-1" or "0" must reach the csv path, which names it.
    row = ["2", "", "0", "1", "0", "1", "-1", "", ""]
    row[6 + column] = cell
    matrix = MATRIX.replace("2,,0,1,0,1,-1,,", ",".join(row))
    folder = make_export(tmp_path, votes=None, matrix=matrix)
    with pytest.raises(PolisImportError) as error:
        read_polis_export(folder)
    assert error.value.line == 4
    assert f"vote {cell!r} for statement {column}" in str(error.value)


def test_long_leading_fields_read_the_same_on_both_paths(tmp_path, monkeypatch):
    # An xid longer than the window the fast path first looks in for the fixed columns.
    header, *rows = MATRIX.splitlines()
    header = header.replace("participant,", "participant,xid,")
    rows = [row.replace(",", f",{'x' * (40 * index)}{index},", 1) for index, row in enumerate(rows)]
    folder = make_export(tmp_path, votes=None, matrix="\n".join([header, *rows]) + "\n")
    fast, careful = _read_both_ways(folder, monkeypatch)
    _same_export(fast, careful)
    assert fast.participants is not None
    assert [p.xid for p in fast.participants] == ["0", "x" * 40 + "1", "x" * 80 + "2"]


def test_participant_rows_are_built_on_first_use_and_compare_as_a_tuple(tmp_path, monkeypatch):
    from sayso.analysis.opinion_map.polis_io import ParticipantRows, PolisParticipant

    fast, careful = _read_both_ways(make_export(tmp_path, votes=None, matrix=MATRIX), monkeypatch)
    assert isinstance(fast.participants, ParticipantRows)
    assert isinstance(careful.participants, tuple)
    assert fast.polis_groups() == careful.polis_groups() == {0: 0, 1: 1}
    assert fast.participants == careful.participants
    assert len(fast.participants) == 3
    assert fast.participants[2] == PolisParticipant(
        participant_id=2, group_id=None, n_comments=0, n_votes=1, n_agree=0, n_disagree=1
    )
    assert fast.participants != careful.participants[:2]


def test_integer_columns_of_every_width_read_the_same_on_both_paths(tmp_path, monkeypatch):
    # Timestamps of 1 to 18 digits, negative ones, ids of mixed widths: the fast path
    # parses all digit positions at once and must agree with int() on each.
    times = [7, 12, 10**12 + 5, 10**15 - 1, 10**15, 999_999_999_999_999_999, -3, -(10**16)]
    votes = "timestamp,datetime,comment-id,voter-id,vote\n" + "".join(
        f"{time},d,{index % 2},{10**index},{1 - 2 * (index % 2)}\n"
        for index, time in enumerate(times)
    )
    fast, careful = _read_both_ways(make_export(tmp_path, votes=votes), monkeypatch)
    _same_export(fast, careful)
    assert fast.vote_events is not None
    assert fast.vote_events.time is not None
    assert fast.vote_events.time.tolist() == times
    assert fast.vote_events.participant.tolist() == [10**i for i in range(len(times))]


def test_timestamps_of_ten_to_sixteen_digits_read_the_same_on_both_paths(tmp_path, monkeypatch):
    # Fields of 10 to 16 digits are parsed 8 digits per 64-bit word; the first field
    # ends within the body's first 16 bytes, so its word starts before the buffer.
    times = [10**9, 1502659005668, -(10**15) + 7, 10**16 - 1, 4_294_967_296, -1234567890]
    votes = "timestamp,datetime,comment-id,voter-id,vote\n" + "".join(
        f"{time},d,{index % 2},{index},1\n" for index, time in enumerate(times)
    )
    fast, careful = _read_both_ways(make_export(tmp_path, votes=votes), monkeypatch)
    _same_export(fast, careful)
    assert fast.vote_events is not None
    assert fast.vote_events.time is not None
    assert fast.vote_events.time.tolist() == times


@pytest.mark.parametrize("bad", [":", "/", "a", ".", "\x7f"])
@pytest.mark.parametrize("position", [0, 5, 12])
def test_a_non_digit_anywhere_in_a_long_timestamp_is_named(tmp_path, bad, position):
    stamp = list("1502659005668")
    stamp[position] = bad
    votes = VOTES.replace("13,d,1,0,-1", f"{''.join(stamp)},d,1,0,-1").replace(
        "10,d,", "1502659005600,d,"
    )
    with pytest.raises(PolisImportError) as error:
        read_polis_export(make_export(tmp_path, votes=votes))
    assert error.value.line == 5
    assert "timestamp" in str(error.value)


def test_fast_integer_parsing_agrees_with_int_on_random_fields():
    from sayso.analysis.opinion_map.polis_io import _fast_ints

    rng = np.random.default_rng(7)
    for _ in range(300):
        widths = rng.integers(1, 19, size=int(rng.integers(1, 30)))
        if rng.random() < 0.5:
            widths = np.maximum(widths, 10)  # all long: the word-wise parse
        fields = [
            ("-" if rng.random() < 0.2 else "") + "".join(rng.choice(list("0123456789"), w))
            for w in widths
        ]
        bad = rng.random() < 0.3
        if bad:
            at = int(rng.integers(len(fields)))
            cut = int(rng.integers(len(fields[at])))
            fields[at] = fields[at][:cut] + str(rng.choice(list(":/a x"))) + fields[at][cut + 1 :]
        body = ("x," + ",".join(fields) + "\n").encode()
        ends = np.cumsum([len(f) + 1 for f in fields]) + 1
        starts = ends - np.array([len(f) for f in fields])
        parsed = _fast_ints(np.frombuffer(body, dtype=np.uint8), starts, ends)
        try:
            expected = [int(f) for f in fields]
        except ValueError:
            expected = None
        if expected is None or any(
            not f.lstrip("-").isdigit() or f.startswith("--") for f in fields
        ):
            assert parsed is None, fields
        else:
            assert parsed is not None, fields
            assert parsed.tolist() == expected, fields


def test_latest_votes_matches_a_dictionary_replay():
    # Random re-votes in shuffled time order: the latest by time wins, ties go to the
    # later row (a replay of the file in time order, stable for equal times).
    rng = np.random.default_rng(3)
    n = 2000
    times = rng.integers(0, 500, n)
    events = Votes(
        participant=rng.integers(0, 40, n),
        statement=rng.integers(0, 30, n),
        value=rng.integers(-1, 2, n).astype(np.int8),
        time=times,
    )
    expected: dict[tuple[int, int], int] = {}
    for row in sorted(range(n), key=lambda i: int(times[i])):
        expected[(int(events.participant[row]), int(events.statement[row]))] = int(
            events.value[row]
        )
    latest = latest_votes(events)
    got = {
        (p, s): v
        for p, s, v in zip(
            latest.participant.tolist(),
            latest.statement.tolist(),
            latest.value.tolist(),
            strict=True,
        )
    }
    assert got == expected
    assert len(latest) == len(expected)


def test_latest_votes_returns_the_same_columns_without_revotes():
    events = Votes.from_rows([(1, 7, 1, 5), (1, 8, -1, 3), (2, 7, 0, 9)])
    assert latest_votes(events) is events


@pytest.mark.parametrize(
    ("line", "replacement", "problem"),
    [
        ("2,d,1,0,1,1,1,", "2,d,0,0,1,1,1,", "line 3: comment-id 0 already given on line 2"),
        ("3,d,2,1,0,0,-1,", "3,d,2,1,0,0,2,", "line 4: moderated 2 is not -1, 0 or 1"),
        ("1,d,0,0,2,1,1,", "1,d,0,zero,2,1,1,", "line 2: author-id 'zero' is not an integer"),
    ],
)
def test_comments_read_by_column_fall_back_to_name_the_line(tmp_path, line, replacement, problem):
    folder = make_export(tmp_path, comments=COMMENTS.replace(line, replacement))
    with pytest.raises(PolisImportError, match=re.escape(f"comments.csv, {problem}")):
        read_polis_export(folder)


@pytest.mark.parametrize(
    ("comments", "problem"),
    [
        (
            COMMENTS + '4,d,3,1,0,0,1,"Never closed\n',
            "comments.csv, line 5: not a valid comma-separated (CSV) file: a quoted value is "
            'never closed: a closing " is missing',
        ),
        (
            COMMENTS + '4,d,3,1,0,0,1,"Closed" then more\n',
            "comments.csv, line 5: not a valid comma-separated (CSV) file: there is text right "
            'after a closing ", where a comma should be',
        ),
    ],
)
def test_broken_csv_is_named_in_plain_words(tmp_path, comments, problem):
    with pytest.raises(PolisImportError) as error:
        read_polis_export(make_export(tmp_path, comments=comments))
    assert str(error.value).endswith(problem)
