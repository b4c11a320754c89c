from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import segno
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import models

from .models import Community, InvitationCodeBatch, InvitationCodeBatchQuerySet, InvitationCodeUse


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


@dataclass(frozen=True)
class ActivityUses:
    """How many codes of a batch were used for one survey or conversation. `name` and
    `url` are None for one since deleted (all such in a batch counted together)."""

    name: str | None
    url: str | None
    count: int


def uses_by_activity(*, community: Community) -> dict[int, list[ActivityUses]]:
    """For each batch of the community's codes that has been used, how many of its
    codes were used for each activity (a code works once in each), most used first.

    Counts only: which code went where is not shown. An activity is named only if it
    belongs to the community (a survey or conversation has a `community`)."""
    counts = (
        InvitationCodeUse.objects.filter(code__batch__community=community)
        .values_list("code__batch_id", "activity_type_id", "activity_id")
        .annotate(n=models.Count("pk"))
        .order_by()
    )
    rows = list(counts)
    wanted: dict[int, set[int]] = defaultdict(set)
    for _batch_id, type_id, activity_id, _n in rows:
        wanted[type_id].add(activity_id)
    found: dict[tuple[int, int], models.Model] = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None or "community" not in {f.name for f in model._meta.get_fields()}:
            continue  # not a survey or conversation of a community: not named
        for activity in model._base_manager.filter(pk__in=ids, community=community):
            activity.community = community  # type: ignore[attr-defined]  # for its URL, no query
            found[type_id, activity.pk] = activity
    named: dict[int, list[ActivityUses]] = defaultdict(list)
    gone: dict[int, int] = defaultdict(int)
    for batch_id, type_id, activity_id, n in rows:
        shown = found.get((type_id, activity_id))
        if shown is None:
            gone[batch_id] += n
            continue
        url = shown.get_absolute_url() if hasattr(shown, "get_absolute_url") else None
        named[batch_id].append(ActivityUses(name=str(shown), url=url, count=n))
    result: dict[int, list[ActivityUses]] = {}
    for batch_id in named.keys() | gone.keys():
        uses = sorted(named.get(batch_id, []), key=lambda u: (-u.count, u.name or ""))
        if gone.get(batch_id):
            uses.append(ActivityUses(name=None, url=None, count=gone[batch_id]))
        result[batch_id] = uses
    return result


# --------------------------------------------------------------------------- code sheets
# A batch may have 2,000 codes. Drawing a QR code takes a few milliseconds, so the whole
# batch on one page took 5 to 11 seconds; the printable sheet is shown in pages of
# SHEET_PAGE codes instead (120: ten printed A4 pages of twelve cards), each its own
# request. Only the codes' digests are stored with the batch, so the codes themselves
# travel with the organiser's page, signed so that only the codes of that batch are
# ever shown, for that organiser, and for a day. They are the codes the page already
# showed: nothing new leaves the server.
#
# A sheet just made is also kept for a day so that it can be a page of its own
# (sayso/core/code_sheets.py).
SHEET_PAGE = 120
SHEET_MAX_AGE = 24 * 60 * 60
_SHEET_SALT = "sayso.core.code-sheet"


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
