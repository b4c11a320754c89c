"""The `sayso serve` command line: what the web server is told matters for privacy and load."""

import socket

import pytest

from sayso import cli


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
