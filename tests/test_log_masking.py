"""Keys in addresses never reach a log (sayso/log_masking.py).

A survey response's private link opens and changes an unsent draft; an invitation link
joins a community; a password reset link sets a password. gunicorn's access log (as
`sayso serve` and `sayso run` start it), gunicorn's error log, Django's "Not Found:"
warnings and the development server's request lines all show addresses: each must
show which page was asked for, never the key in it."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from django.conf import settings as django_settings
from django.test import Client
from gunicorn.config import Config

from sayso import cli
from sayso.log_masking import (
    HIDDEN,
    AccessLogger,
    HideSecrets,
    mask,
    mask_access_atoms,
    mask_query,
)

TOKEN = "UrgKpWwW3xQ9-secret_Token"  # as secrets.token_urlsafe makes them


# --- the masking function (no Django, no gunicorn) ------------------------------------


@pytest.mark.parametrize(
    ("logged", "shown"),
    [
        (
            f"POST /surveys/r/{TOKEN}/p/0/ HTTP/1.1",
            "POST /surveys/r/[hidden]/p/0/ HTTP/1.1",
        ),
        (f"/surveys/r/{TOKEN}/check/?lang=cy", "/surveys/r/[hidden]/check/?lang=cy"),
        (f"Not Found: /surveys/r/{TOKEN}/saved/", "Not Found: /surveys/r/[hidden]/saved/"),
        (f"/invitations/{TOKEN}/", "/invitations/[hidden]/"),
        (f"/accounts/confirm-email/Mjk:1v{TOKEN}/", "/accounts/confirm-email/[hidden]/"),
        (f"/accounts/password/reset/key/4-{TOKEN}/", "/accounts/password/reset/key/[hidden]/"),
        (
            f"https://sayso.example/surveys/r/{TOKEN}/p/2/",  # a referrer: a whole URL
            "https://sayso.example/surveys/r/[hidden]/p/2/",
        ),
        # An address given as a parameter, encoded or not.
        (
            f"GET /accounts/login/?next=%2Finvitations%2F{TOKEN}%2F HTTP/1.1",
            "GET /accounts/login/?next=/invitations/[hidden]/ HTTP/1.1",
        ),
        (
            f"/accounts/login/?next=/invitations/{TOKEN}/",
            "/accounts/login/?next=/invitations/[hidden]/",
        ),
        # Parameters that are secrets themselves, whatever the page.
        ("/surveys/abc/code/?code=ABCDE-FGHIJ&lang=pl", "/surveys/abc/code/?code=[hidden]&lang=pl"),
        (f"/anything/?token={TOKEN}", "/anything/?token=[hidden]"),
        (
            f"/c/depot/codes/sheet/?sheet={TOKEN}&batch=3",
            "/c/depot/codes/sheet/?sheet=[hidden]&batch=3",
        ),
        (f"/conversations/pub/?JOIN={TOKEN}", "/conversations/pub/?JOIN=[hidden]"),
    ],
)
def test_keys_are_hidden_and_the_page_still_named(logged: str, shown: str) -> None:
    assert mask(logged) == shown
    assert TOKEN not in mask(logged)


@pytest.mark.parametrize(
    "logged",
    [
        'POST /conversations/Ab12Cd34/ HTTP/1.1" 200',  # a conversation's link is shared openly
        "GET /surveys/Ab12Cd34/thanks/?lang=cy HTTP/1.1",  # so is a survey's
        "GET /c/depot/surveys/3/results/?only=shift%3Dday HTTP/1.1",
        "GET /accounts/password/reset/key/done/ HTTP/1.1",  # a page, not a key
        "GET /accounts/confirm-email/ HTTP/1.1",
        "GET /surveys/r/ HTTP/1.1",
        "Internal Server Error: /c/depot/",
        "",
    ],
)
def test_addresses_without_keys_are_left_as_they_were(logged: str) -> None:
    assert mask(logged) == logged


def test_a_query_string_alone() -> None:
    # gunicorn's %(q)s: no "?", and empty when there is none.
    assert mask_query(f"lang=cy&code={TOKEN}&next=%2Fsurveys%2Fr%2F{TOKEN}%2F") == (
        "lang=cy&code=[hidden]&next=/surveys/r/[hidden]/"
    )
    assert mask_query("") == ""
    assert mask_query("flag&code=") == "flag&code="  # nothing to hide


def test_the_access_atoms_hide_keys_and_leave_out_the_client() -> None:
    atoms: dict[str, Any] = {
        "h": "203.0.113.7",
        "a": "Mozilla/5.0 (Linux; Android 14)",
        "r": f"GET /surveys/r/{TOKEN}/p/1/?lang=cy HTTP/1.1",
        "U": f"/surveys/r/{TOKEN}/p/1/",
        "q": f"lang=cy&token={TOKEN}",
        "f": f"https://sayso.example/invitations/{TOKEN}/",
        "s": "200",
        "{referer}i": f"https://sayso.example/surveys/r/{TOKEN}/p/0/",
        "{cookie}i": f"sessionid={TOKEN}",
        "{x-forwarded-for}i": "203.0.113.7",
        "{location}o": f"/surveys/r/{TOKEN}/p/0/",
        "{raw_uri}e": f"/surveys/r/{TOKEN}/p/1/?lang=cy",
        "{query_string}e": f"code={TOKEN}",
        "{remote_addr}e": "203.0.113.7",
        "{http_cookie}e": f"sessionid={TOKEN}",
    }
    masked = mask_access_atoms(dict(atoms))
    assert masked == {
        "h": "-",
        "a": "-",
        "r": "GET /surveys/r/[hidden]/p/1/?lang=cy HTTP/1.1",
        "U": "/surveys/r/[hidden]/p/1/",
        "q": "lang=cy&token=[hidden]",
        "f": "https://sayso.example/invitations/[hidden]/",
        "s": "200",
        "{referer}i": "https://sayso.example/surveys/r/[hidden]/p/0/",
        "{cookie}i": HIDDEN,
        "{x-forwarded-for}i": "-",
        "{location}o": "/surveys/r/[hidden]/p/0/",
        "{raw_uri}e": "/surveys/r/[hidden]/p/1/?lang=cy",
        "{query_string}e": "code=[hidden]",
        "{remote_addr}e": "-",
        "{http_cookie}e": HIDDEN,
    }


# --- gunicorn, as `sayso serve` starts it ---------------------------------------------


def served_config(tmp_path: Path) -> Config:
    """gunicorn's configuration parsed by gunicorn from the command `sayso serve` runs,
    with the access log written to a file instead of standard output."""
    command = cli._serve_command("127.0.0.1:8000", workers=2)
    assert command[1:3] == ["-m", "gunicorn"]
    cfg = Config()
    parsed = cfg.parser().parse_args(command[3:])
    for name, value in vars(parsed).items():
        if value is not None and name != "args":
            cfg.set(name.lower(), value)
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    return cfg


def test_sayso_serve_names_the_masking_logger() -> None:
    command = cli._serve_command("127.0.0.1:8000", workers=2)
    assert command[command.index("--logger-class") + 1] == "sayso.log_masking.AccessLogger"


def request(path: str, query: str, **headers: str) -> tuple[Any, Any, dict[str, Any]]:
    """A request and its response as gunicorn's workers hand them to the logger."""
    raw_uri = f"{path}?{query}" if query else path
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": raw_uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    }
    req = SimpleNamespace(headers=[(name.upper(), value) for name, value in headers.items()])
    resp = SimpleNamespace(
        status="302 Found", sent=0, headers=[("Location", f"/surveys/r/{TOKEN}/p/1/")]
    )
    return resp, req, environ


def test_the_access_log_of_sayso_serve_shows_the_page_not_the_key(tmp_path: Path) -> None:
    cfg = served_config(tmp_path)
    assert cfg.logger_class is AccessLogger
    logger = cfg.logger_class(cfg)
    try:
        resp, req, environ = request(
            f"/surveys/r/{TOKEN}/p/0/",
            "lang=cy",
            referer=f"https://sayso.example/surveys/r/{TOKEN}/p/0/",
            cookie=f"sessionid={TOKEN}",
        )
        logger.access(resp, req, environ, dt.timedelta(milliseconds=12))
        # Even a format that asks for the client, the referrer and the cookies.
        cfg.set(
            "access_log_format",
            '%(h)s "%(r)s" %(U)s %(q)s %(f)s %({cookie}i)s %({location}o)s %({raw_uri}e)s',
        )
        logger.access(resp, req, environ, dt.timedelta(milliseconds=12))
    finally:
        logger.close_on_exec()
        for handler in logger.access_log.handlers + logger.error_log.handlers:
            handler.close()
    written = (tmp_path / "access.log").read_text()
    default, custom = written.splitlines()
    assert default.endswith('"POST /surveys/r/[hidden]/p/0/?lang=cy HTTP/1.1" 302 0 12ms')
    assert custom == (
        '- "POST /surveys/r/[hidden]/p/0/?lang=cy HTTP/1.1" /surveys/r/[hidden]/p/0/ lang=cy '
        "https://sayso.example/surveys/r/[hidden]/p/0/ [hidden] /surveys/r/[hidden]/p/1/ "
        "/surveys/r/[hidden]/p/0/?lang=cy"
    )
    assert TOKEN not in written
    assert "203.0.113.7" not in written


def test_gunicorns_error_log_hides_keys_and_addresses(tmp_path: Path) -> None:
    cfg = served_config(tmp_path)
    logger = cfg.logger_class(cfg)
    try:
        # As gunicorn's workers write them (gunicorn/workers/base.py handle_error).
        try:
            raise ValueError(f"no draft at /surveys/r/{TOKEN}/check/")
        except ValueError:
            logger.exception("Error handling request %s", f"/surveys/r/{TOKEN}/check/")
        logger.warning("Invalid request from ip=203.0.113.7: Invalid HTTP Version 'x'")
        logger.warning("Invalid request from ip=2001:db8::7: Invalid HTTP Version 'x'")
    finally:
        for handler in logger.access_log.handlers + logger.error_log.handlers:
            handler.close()
    written = (tmp_path / "error.log").read_text()
    assert "Error handling request /surveys/r/[hidden]/check/" in written
    assert "ValueError: no draft at /surveys/r/[hidden]/check/" in written  # the traceback
    assert written.count("Invalid request from ip=[hidden]: Invalid HTTP Version 'x'") == 2
    assert TOKEN not in written
    assert "203.0.113.7" not in written
    assert "2001:db8" not in written


# --- Django's loggers (config/settings.py LOGGING) -------------------------------------


@pytest.fixture
def django_output() -> Iterator[dict[str, io.StringIO]]:
    """What each of the handlers set in LOGGING writes, by handler name."""
    handlers = {
        handler.get_name(): handler
        for name in ("", "django", "django.server")
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler)
        and handler.get_name() in {"console", "django.console", "django.server"}
    }
    assert set(handlers) == {"console", "django.console", "django.server"}
    streams = {name: io.StringIO() for name in handlers}
    before = {name: handler.setStream(streams[name]) for name, handler in handlers.items()}
    try:
        yield streams
    finally:
        for name, handler in handlers.items():
            handler.setStream(before[name])


def test_every_handler_hides_secrets() -> None:
    # A handler added to LOGGING without the filter would write keys again.
    configured = set(cast("dict[str, Any]", django_settings.LOGGING["handlers"]))
    found = {
        handler.get_name(): handler
        for name in ("", "django", "django.server")
        for handler in logging.getLogger(name).handlers
        if handler.get_name() in configured
    }
    assert set(found) == configured
    for handler in found.values():
        assert any(isinstance(f, HideSecrets) for f in handler.filters), handler


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_sent_private_link_is_logged_without_its_key(
    django_output: dict[str, io.StringIO], settings: Any, debug: bool
) -> None:
    # A private link whose answers were sent answers 404 ("link ended"): Django warns
    # "Not Found: <path>" on the root console, and on Django's own while DEBUG is on.
    settings.DEBUG = debug
    assert Client().get(f"/surveys/r/{TOKEN}/check/").status_code == 404
    warned = "Not Found: /surveys/r/[hidden]/check/\n"
    assert django_output["console"].getvalue() == warned
    assert django_output["django.console"].getvalue() == (warned if debug else "")


def test_the_development_servers_request_lines_hide_keys(
    django_output: dict[str, io.StringIO],
) -> None:
    # As django.core.servers.basehttp.WSGIRequestHandler.log_message logs a request.
    logging.getLogger("django.server").info(
        '"%s" %s %s',
        f"GET /invitations/{TOKEN}/?next=/surveys/r/{TOKEN}/ HTTP/1.1",
        "200",
        "512",
        extra={"status_code": 200, "server_time": "01/Dec/2026 10:00:00"},
    )
    written = django_output["django.server"].getvalue()
    assert written.endswith(
        '"GET /invitations/[hidden]/?next=/surveys/r/[hidden]/ HTTP/1.1" 200 512\n'
    )
    assert TOKEN not in written
