from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import segno
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import models
from django.urls import NoReverseMatch, reverse
from django_stubs_ext import StrOrPromise

from .models import (
    Citation,
    CitationQuerySet,
    Community,
    InvitationCodeBatch,
    InvitationCodeBatchQuerySet,
    InvitationCodeUse,
)
from .permissions import Access
from .registry import Module, registry


def cited_sources(
    citations: Sequence[Citation], model: type[models.Model], *related: str
) -> Iterator[tuple[Citation, Any]]:
    """Each of `citations` whose source is a `model` row, with that row (its `related`
    rows read in the same query); citations of other kinds, or whose source is gone,
    are skipped. One query, for a module's Module.evidence_links."""
    source_type = ContentType.objects.get_for_model(model)
    ours = [c for c in citations if c.source_type_id == source_type.pk]
    found = model._default_manager.filter(pk__in={c.source_id for c in ours}).select_related(
        *related
    )
    by_pk = {source.pk: source for source in found}
    for citation in ours:
        source = by_pk.get(citation.source_id)
        if source is not None:
            yield citation, source


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


# --------------------------------------------------------------------------- evidence
# The community's Evidence page lists every citation, whichever module it came from.
# Core knows citations only as rows with a snapshot: each module says, through the
# registry, where its citations came from, how their snapshots read and which of them
# someone who is not an organiser may see.


def evidence_kinds() -> list[tuple[str, StrOrPromise]]:
    """The kinds of evidence to filter by: each citable module's key and name."""
    return [(module.key, module.label) for module in registry.evidence_modules()]


def evidence_sources(community: Community) -> list[tuple[StrOrPromise, str]]:
    """Where evidence is cited from (each citable module's page), for the empty page."""
    found = []
    for module in registry.evidence_modules():
        try:
            url = reverse(module.nav_url_name, kwargs={"slug": community.slug})
        except NoReverseMatch:
            continue  # as in the navigation (context_processors.navigation)
        found.append((module.label, url))
    return found


def evidence(*, community: Community, access: Access, kind: str = "") -> CitationQuerySet:
    """The community's citations this reader may see, newest first; `kind`, a module's
    key, narrows them to that module's (any other value is ignored).

    Organisers see every one. Members and advisors see only those whose source shows
    its figures to them now (`Module.evidence_shown`): an open survey's results, say,
    reach only organisers, and a citation of them is those results."""
    found = Citation.objects.listed().filter(community=community)
    modules = registry.evidence_modules()
    chosen = next((m for m in modules if m.key == kind), None)
    if chosen is not None:
        found = found.filter(evidence_type__in=chosen.evidence_types)
    if not access.can_organise:
        shown = [m.evidence_shown(community) for m in modules if m.evidence_shown]
        found = found.filter(reduce(operator.or_, shown)) if shown else found.none()
    return found.select_related("cited_by")


@dataclass(frozen=True)
class EvidenceItem:
    """One citation as the Evidence page shows it. `source` is (words, URL) of the
    living source, None once it is gone; `template` shows the snapshot in words ("" for
    a kind no module describes: the snapshot's title is shown)."""

    citation: Citation
    kind: StrOrPromise
    source: tuple[str, str] | None
    template: str


def evidence_items(citations: Sequence[Citation]) -> list[EvidenceItem]:
    """A page of citations with where each came from: each module is asked once about
    all of its citations on the page (Module.evidence_links)."""
    owners = registry.evidence_types()
    modules = {module.key: module for module in registry.evidence_modules()}
    links: dict[int, tuple[str, str]] = {}
    for key, module in modules.items():
        mine = [c for c in citations if owners.get(c.evidence_type) == key]
        if mine and module.evidence_links is not None:
            links.update(module.evidence_links(mine))
    items = []
    for citation in citations:
        owner: Module | None = modules.get(owners.get(citation.evidence_type, ""))
        items.append(
            EvidenceItem(
                citation=citation,
                kind=owner.label if owner else "",
                source=links.get(citation.pk),
                template=owner.evidence_template if owner else "",
            )
        )
    return items
