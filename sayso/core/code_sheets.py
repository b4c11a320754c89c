"""Keeping a sheet of invitation codes just made, so that it can be a page of its own.

Making codes redirects to their sheet (post/redirect/get): reloading the sheet shows
the same codes again instead of making more. Only the codes' digests are stored with
the batch, so the sheet waits in the organiser's session encrypted (Fernet), with the
key in a cookie of their browser alone: the database holds nothing that opens it, and a
database leak still reveals no code (docs/decisions/0004). Signing out ends the session;
only the newest few sheets are kept, and a day-old one no longer opens.

These write the session and the response, so they live here rather than in selectors.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, QueryDict

from .selectors import SHEET_MAX_AGE, sheet_codes, sheet_token

SHEETS_KEPT = 3
_SHEETS_SESSION_KEY = "sayso_code_sheets"
SHEET_KEY_COOKIE = "sayso_sheet_key"


def asked_sheet(request: HttpRequest) -> tuple[QueryDict, str] | None:
    """What a code sheet request asks for: the parameters (for its page number) and the
    signed sheet token (for selectors.sheet_codes). A POST carries the token from the
    sheet's own page; a GET names the batch (?batch=) of a sheet kept here. None for a
    GET that names no batch (the sheet's address on its own)."""
    if request.method == "POST":
        return request.POST, request.POST.get("sheet", "")
    wanted = request.GET.get("batch", "")
    if not wanted.isdigit():
        return None
    return request.GET, kept_sheet(request, batch_id=int(wanted))


def keep_sheet(
    request: HttpRequest, response: HttpResponse, *, batch_id: int, codes: list[str]
) -> None:
    """Keeps the sheet of `codes` (batch `batch_id`'s, just made) for kept_sheet: in the
    organiser's session, encrypted with a key that `response` gives their browser alone.
    Sheets older than a day, or under another key, are dropped, and all but the newest."""
    key = request.COOKIES.get(SHEET_KEY_COOKIE, "")
    kept = _live_sheets(request, key)
    if not _usable(key):
        key, kept = Fernet.generate_key().decode(), {}
    token = sheet_token(batch_id=batch_id, user_id=request.user.pk, codes=codes)
    kept[str(batch_id)] = Fernet(key).encrypt(token.encode()).decode()
    request.session[_SHEETS_SESSION_KEY] = dict(list(kept.items())[-SHEETS_KEPT:])
    response.set_cookie(
        SHEET_KEY_COOKIE,
        key,
        max_age=SHEET_MAX_AGE,
        path="/c/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def kept_sheet(request: HttpRequest, *, batch_id: int) -> str:
    """The token (for sheet_codes) of the sheet of batch `batch_id` that this organiser
    made in the last day in this browser, as keep_sheet kept it; "" when there is none."""
    key = request.COOKIES.get(SHEET_KEY_COOKIE, "")
    kept = _live_sheets(request, key)
    if kept != request.session.get(_SHEETS_SESSION_KEY, {}):
        request.session[_SHEETS_SESSION_KEY] = kept
    sealed = kept.get(str(batch_id))
    return Fernet(key).decrypt(sealed).decode() if sealed else ""


def _usable(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return True


def _live_sheets(request: HttpRequest, key: str) -> dict[str, str]:
    """The session's kept sheets (still encrypted) that `key` opens, that are less than
    a day old and that this organiser made, oldest first."""
    if not _usable(key):
        return {}
    live = {}
    for batch, sealed in dict(request.session.get(_SHEETS_SESSION_KEY) or {}).items():
        try:
            token = Fernet(key).decrypt(str(sealed), ttl=SHEET_MAX_AGE).decode()
            sheet_codes(token, batch_id=int(batch), user_id=request.user.pk)
        except (InvalidToken, signing.BadSignature, KeyError, TypeError, ValueError):
            continue
        live[str(batch)] = str(sealed)
    return live
