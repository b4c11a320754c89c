"""The `sayso` command line: what the web server is told matters for privacy and load, and
`sayso opinion-map` for a Polis export folder."""

import json
import math
import shutil
import socket
from pathlib import Path

import pytest

from sayso import cli
from sayso.analysis.opinion_map import run_polis_export


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_access_log_keeps_no_client_address_or_agent() -> None:
    log_format = _option(cli._serve_command("127.0.0.1:8000", workers=2), "--access-logformat")
    # gunicorn's atoms for the remote address, the forwarded address and the user agent.
    for atom in ("%(h)s", "%({x-forwarded-for}i)s", "%(a)s", "%({x-real-ip}i)s"):
        assert atom not in log_format
    assert "%(r)s" in log_format  # the request line is still logged


def test_each_worker_listens_on_its_own_socket() -> None:
    command = cli._serve_command("0.0.0.0:9000", workers=3)
    assert "--reuse-port" in command
    assert _option(command, "--workers") == "3"
    assert _option(command, "--bind") == "0.0.0.0:9000"


def test_a_busy_port_is_refused_before_gunicorn_could_share_it() -> None:
    # SO_REUSEPORT would let a second server bind the port and take half the requests.
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert cli.port_in_use(f"127.0.0.1:{port}")
        with pytest.raises(SystemExit) as refused:
            cli._refuse_busy_port(f"127.0.0.1:{port}")
        assert "already using that address" in str(refused.value)
    assert not cli.port_in_use(f"127.0.0.1:{port}")


def test_a_port_just_left_by_a_stopped_server_is_free_again() -> None:
    # A server that stopped with a client connected leaves that connection in
    # TIME_WAIT; a restart must not be refused for it.
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _address = server.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    assert not cli.port_in_use(f"127.0.0.1:{port}")
    assert not cli.port_in_use("unix:/run/sayso.sock")  # not TCP: left to gunicorn


# `sayso opinion-map PATH [--json]`: the opinion map of a Polis export folder.
POLIS_EXPORT = (
    Path(__file__).resolve().parents[2] / "analysis" / "tests" / "fixtures" / "polis"
) / "15-per-hour-seattle"


def _refuse_nan(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_opinion_map_prints_the_map_as_json_with_each_participants_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["opinion-map", str(POLIS_EXPORT), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out, parse_constant=_refuse_nan)
    # The same map as the maths gives for the folder (keys become strings in JSON).
    expected = run_polis_export(POLIS_EXPORT)
    assert printed["groups"] == {str(p): g for p, g in expected["groups"].items()}
    assert printed["k"] == expected["k"] == 2
    assert len(printed["groups"]) == printed["n_in_conversation"] == 138
    assert {"repness", "consensus", "group_informed_consensus", "priority"} <= set(printed)
    assert {"load", "pca", "clustering"} <= set(printed["timings"])


def test_opinion_map_without_json_says_it_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["opinion-map", str(POLIS_EXPORT)]) == 0
    out = capsys.readouterr().out
    assert "339 participants, 54 statements; 138 voted on enough" in out
    assert "2 opinion groups: group 0 has 97, group 1 has 41" in out


def test_a_malformed_export_is_refused_with_file_line_and_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(POLIS_EXPORT / "comments.csv", tmp_path / "comments.csv")
    rows = (POLIS_EXPORT / "votes.csv").read_text().splitlines()
    rows[3] = rows[3].rsplit(",", 1)[0] + ",7"  # a vote of 7: not agree, disagree or pass
    (tmp_path / "votes.csv").write_text("\n".join(rows) + "\n")
    assert cli.main(["opinion-map", str(tmp_path), "--json"]) == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert "votes.csv, line 4:" in said.err


def test_a_path_that_is_not_a_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["opinion-map", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_numbers_json_cannot_hold_become_null() -> None:
    assert cli._finite({"a": [1.0, math.nan], "b": (math.inf, "x")}) == {
        "a": [1.0, None],
        "b": [None, "x"],
    }
