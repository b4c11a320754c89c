"""Secrets kept out of the logs: the access log, gunicorn's error log and Django's.

Some addresses are keys. A survey response's private link (`/surveys/r/<token>/...`)
opens and changes an unsent draft; an invitation link joins a community; an email
confirmation link signs its owner in; a password reset link sets a new password. A log
line such as `POST /surveys/r/UrgKpWwW.../p/0/` hands all of that to anyone who can
read the server's logs. So every address that reaches a log goes through `mask` first,
which keeps the address readable (which page, which status) and hides the key.

Also hidden: the values of query parameters that carry a secret (`?code=`, `?token=`,
a code sheet's `sheet`, a conversation's `join` key...), keys inside addresses passed
as parameters (`?next=/invitations/<token>/`, URL-encoded or not), and in the access
log the client's address, user agent and cookies whatever the log format asks for: a
line with an address next to a vote's time would undo anonymous participation.

`mask` and `mask_access_atoms` import neither Django nor gunicorn; `HideSecrets` is a
logging filter (config/settings.py LOGGING); `AccessLogger` is the gunicorn logger that
`sayso serve` and `sayso run` name with `--logger-class` (sayso/cli.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote_plus

from gunicorn import glogging

HIDDEN = "[hidden]"

# Addresses whose next part is a key, as config/urls.py and allauth's urls name them.
SECRET_PATHS = (
    "/surveys/r/",  # a response's private link: save and continue, check, forget
    "/invitations/",  # joining a community
    "/accounts/confirm-email/",  # confirms the address and signs in
    "/accounts/password/reset/key/",  # sets a new password ("done/" is no key)
)
# Query parameters whose value is a secret wherever they are sent.
SECRET_PARAMETERS = frozenset(
    {"code", "token", "key", "secret", "password", "sheet", "sheet_token", "join"}
)

_SECRET_PATH = re.compile(
    "(" + "|".join(re.escape(path) for path in SECRET_PATHS) + r")(?!done/)[^/?#&\s\"'<>]+"
)
# Where an address starts in free text (a log message): a slash, up to a space or quote.
_ADDRESS = re.compile(r"/[^\s\"'<>]*")
# Cheap test first: most request lines (votes, pages) hold nothing to hide.
_MAYBE = re.compile(r"/surveys/r/|/invitations/|/accounts/|=|%2f", re.IGNORECASE)
# gunicorn's "Invalid request from ip=203.0.113.7: ..." (an IPv6 address has colons too).
_GUNICORN_IP = re.compile(r"(from ip=)\S+?(?=: |$)")


def _mask_path(path: str) -> str:
    return _SECRET_PATH.sub(lambda found: found.group(1) + HIDDEN, path)


def mask_query(query: str) -> str:
    """A query string (without its "?") with secret values hidden: those of secret
    parameters, and keys inside addresses given as values (`next=/invitations/...`)."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and value:
            if unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
                value = HIDDEN
            else:
                plain = unquote_plus(value)
                masked = _mask_path(plain)
                if masked != plain:
                    value = quote(masked, safe="/:[]")
        parts.append(name + equals + value)
    return "&".join(parts)


def mask_address(address: str) -> str:
    """One address (a path with its query string, or a whole URL) with its keys hidden."""
    path, question, query = address.partition("?")
    return _mask_path(path) + question + mask_query(query)


def mask(text: str) -> str:
    """Any text that may hold addresses (a request line, a referrer, a log message) with
    the keys in them hidden; text with nothing to hide comes back as it was."""
    if not text or not _MAYBE.search(text):
        return text
    return _ADDRESS.sub(lambda found: mask_address(found.group()), text)


# gunicorn's atoms (gunicorn.glogging.Logger.atoms): the request line, path, query
# string and referrer; request headers as "{name}i", the WSGI environ as "{name}e".
_ADDRESS_ATOMS = frozenset(
    {
        "r",
        "U",
        "f",
        "{referer}i",
        "{raw_uri}e",
        "{path_info}e",
        "{request_uri}e",
        "{http_referer}e",
        "{location}o",  # a redirect to a response's private link
    }
)
_QUERY_ATOMS = frozenset({"q", "{query_string}e"})
_SECRET_ATOMS = frozenset(
    {
        "{cookie}i",
        "{authorization}i",
        "{x-csrftoken}i",
        "{set-cookie}o",
        "{http_cookie}e",
        "{http_authorization}e",
        "{http_x_csrftoken}e",
    }
)
# Who sent the request: never logged, even if a log format asks for it.
_CLIENT_ATOMS = frozenset(
    {
        "h",
        "a",
        "{x-forwarded-for}i",
        "{x-real-ip}i",
        "{forwarded}i",
        "{user-agent}i",
        "{remote_addr}e",
        "{remote_port}e",
        "{http_x_forwarded_for}e",
        "{http_x_real_ip}e",
        "{http_forwarded}e",
        "{http_user_agent}e",
    }
)


def mask_access_atoms(atoms: dict[str, Any]) -> dict[str, Any]:
    """gunicorn's access log atoms with keys hidden and the client left out (in place,
    and returned)."""
    for name in _ADDRESS_ATOMS & atoms.keys():
        if isinstance(atoms[name], str):
            atoms[name] = mask(atoms[name])
    for name in _QUERY_ATOMS & atoms.keys():
        if isinstance(atoms[name], str):
            atoms[name] = mask_query(atoms[name])
    for name in _SECRET_ATOMS & atoms.keys():
        atoms[name] = HIDDEN
    for name in _CLIENT_ATOMS & atoms.keys():
        atoms[name] = "-"
    return atoms


_TRACEBACKS = logging.Formatter()


class HideSecrets(logging.Filter):
    """Hides the keys in a log record's message (Django's "Not Found: /surveys/r/...",
    the development server's request lines, gunicorn's "Error handling request ...")
    and the client's address in gunicorn's "Invalid request from ip=...". The record
    is changed in place, so every handler after this filter sees it masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken record: logging reports it as it would have
        masked = _GUNICORN_IP.sub(r"\1" + HIDDEN, mask(message))
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # The traceback, written once here as a formatter would: an exception's
            # message can name the address too. Formatters print exc_text when it is set.
            record.exc_text = mask(_TRACEBACKS.formatException(record.exc_info))
        return True


class AccessLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's logger with keys hidden in the access log (mask_access_atoms) and in
    its error log (HideSecrets)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, HideSecrets) for f in self.error_log.filters):
            self.error_log.addFilter(HideSecrets())

    def atoms(
        self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any
    ) -> dict[str, Any]:
        return mask_access_atoms(super().atoms(resp, req, environ, request_time))
