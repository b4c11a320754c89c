from __future__ import annotations

from dataclasses import dataclass

import segno
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import models
from django.http import HttpRequest, HttpResponse

from .models import InvitationCodeBatch, InvitationCodeBatchQuerySet


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no inline styles, so the CSP holds).

    Always a full QR code: for short texts such as invitation codes segno would choose a
    Micro QR code, which many phone cameras cannot read."""
    return str(segno.make_qr(text, error="m").svg_inline(scale=4, border=2, omitsize=True))


def batches_for(purpose: models.Model) -> InvitationCodeBatchQuerySet:
    """Every batch of codes made for `purpose` (a survey, say), newest first. Each
    batch's codes stay valid: a batch made later adds codes, it replaces none."""
    return InvitationCodeBatch.objects.filter(
        purpose_type=ContentType.objects.get_for_model(purpose), purpose_id=purpose.pk
    )


# --------------------------------------------------------------------------- code sheets
# A batch may have 2,000 codes. Drawing a QR code takes a few milliseconds, so the whole
# batch on one page took 5 to 11 seconds; the printable sheet is shown in pages of
# SHEET_PAGE codes instead (120: ten printed A4 pages of twelve cards), each its own
# request. Only the codes' digests are stored with the batch, so the codes themselves
# travel with the organiser's page, signed so that only the codes of that batch are
# ever shown, for that organiser, and for a day. They are the codes the page already
# showed: nothing new leaves the server.
#
# A sheet just made is also kept for a day (keep_sheet), so that it can be a page of
# its own (post/redirect/get): reloading it shows the same codes again instead of making
# more. It waits in the organiser's session encrypted, with the key in a cookie of
# their browser's alone: the database holds nothing that opens it, so a database leak
# still reveals no code (docs/decisions/0004). Signing out ends the session; only the
# newest few sheets are kept, and a day-old one no longer opens.
SHEET_PAGE = 120
SHEET_MAX_AGE = 24 * 60 * 60
SHEETS_KEPT = 3
_SHEET_SALT = "sayso.core.code-sheet"
_SHEETS_SESSION_KEY = "sayso_code_sheets"
SHEET_KEY_COOKIE = "sayso_sheet_key"


@dataclass(frozen=True)
class SheetPage:
    """One page of a printable code sheet: its codes with their QR codes (`svg` is
    None where every code shares one QR code, drawn by the caller)."""

    cards: list[tuple[str, str | None]]
    number: int
    pages: int
    first: int  # the position of the first code shown, from 1
    last: int
    total: int
    token: str  # to post back for another page

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def sheet_token(*, batch_id: int, user_id: int | None, codes: list[str]) -> str:
    return signing.dumps({"b": batch_id, "u": user_id, "c": codes}, salt=_SHEET_SALT, compress=True)


def sheet_codes(
    token: str, *, batch_id: int | None = None, user_id: int | None
) -> tuple[int, list[str]]:
    """The batch and codes a sheet token holds. Raises signing.BadSignature (or its
    SignatureExpired) when it was altered, is older than a day, or is someone else's,
    or another batch's when `batch_id` is given."""
    data = signing.loads(token, salt=_SHEET_SALT, max_age=SHEET_MAX_AGE)
    if data["u"] != user_id or (batch_id is not None and data["b"] != batch_id):
        raise signing.BadSignature("not this organiser's or this batch's sheet")
    return int(data["b"]), [str(code) for code in data["c"]]


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


def sheet_page(
    *, batch_id: int, user_id: int | None, codes: list[str], page: int, draw: bool = True
) -> SheetPage:
    """Page `page` (from 1; out of range is the nearest) of the sheet of `codes`; with
    `draw`, each code's own QR code (only this page's are drawn)."""
    pages = max(1, -(-len(codes) // SHEET_PAGE))
    number = min(max(page, 1), pages)
    start = (number - 1) * SHEET_PAGE
    shown = codes[start : start + SHEET_PAGE]
    return SheetPage(
        cards=[(code, qr_svg(code) if draw else None) for code in shown],
        number=number,
        pages=pages,
        first=start + 1,
        last=start + len(shown),
        total=len(codes),
        token=sheet_token(batch_id=batch_id, user_id=user_id, codes=codes),
    )
