"""The opinion map as inline SVG: presentation attributes only (the CSP forbids inline
style), a <title> and <desc> for screen readers, and a table alternative in the page.

Each group is a link to its section of the report (`Group.anchor`), named "Group A, 12
people", so that Tab moves from group to group on the map and Enter opens what that
group thinks. The picture scales to the width it is given (sayso.css, `.opinion-map`):
on a 360 px phone about 330 px of 400, so the labels are drawn large enough to stay at
least 12 px there."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .selectors import MapView

WIDTH, HEIGHT = 400, 260
EDGE = 6  # clear space between the outermost circle or label and the edge of the map
CROSS_INSET = 10  # the origin cross stops this far from the edges
# The "n people" label: baseline below the circle, font size. 15 of 400 is 12 px or more
# once the map is 320 px wide (a 360 px phone, less the page's margins).
LABEL_GAP, LABEL_SIZE = 17, 15
# Fills with at least 3:1 contrast against white (WCAG non-text contrast).
PALETTE = ("#14505c", "#a4161a", "#1f6b3a", "#6b3fa0", "#8a5a00", "#4a4a55")


def _radius(size: int, largest: int) -> float:
    return 12 + 28 * math.sqrt(size / largest)


def _label_half_width(text: str) -> float:
    """Half the drawn width of a label, over-estimated (0.6 em a character: wider than
    the average glyph of common sans-serif fonts), since the browser measures it."""
    return 0.3 * LABEL_SIZE * len(text)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a point of the projection is drawn: one scale on both axes, shared by the
    groups and the cross through the projection's origin."""

    scale: float
    mid: tuple[float, float]  # the projection point drawn at `at`
    at: tuple[float, float]

    def place(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.at[0] + (x - self.mid[0]) * self.scale,
            self.at[1] + (y - self.mid[1]) * self.scale,
        )


def placement(
    centres: list[tuple[float, float]], radii: list[float], labels: list[str]
) -> Placement:
    """One scale for both axes, so that distances on the map are true to the data in
    every direction, with the groups centred and every circle and its label inside."""
    # How far any circle and its label reach from its centre: sideways, up and down
    # (down: the label's baseline, then room for descenders).
    side = max(max(r, _label_half_width(t)) for r, t in zip(radii, labels, strict=True))
    up = max(radii)
    down = max(radii) + LABEL_GAP + 0.3 * LABEL_SIZE
    left, right = EDGE + side, WIDTH - EDGE - side
    top, bottom = EDGE + up, HEIGHT - EDGE - down
    xs = [c[0] for c in centres]
    ys = [c[1] for c in centres]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    limits = [
        room / span
        for room, span in ((right - left, span_x), (bottom - top, span_y))
        if not math.isclose(span, 0, abs_tol=1e-9)
    ]
    scale = max(0.0, min(limits)) if limits else 0.0
    return Placement(
        scale=scale,
        mid=((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2),
        at=((left + right) / 2, (top + bottom) / 2),
    )


def layout(
    centres: list[tuple[float, float]], radii: list[float], labels: list[str]
) -> list[tuple[float, float]]:
    """Where each circle's centre goes (see `placement`)."""
    where = placement(centres, radii, labels)
    return [where.place(x, y) for x, y in centres]


def _origin_cross(where: Placement) -> SafeString:
    """Dashed lines through the projection's (0, 0), drawn at the groups' scale, so that
    a group's side of each line means the same as in the data. With a single place for
    every group there is no scale to put the origin at, and a line that would fall
    outside the picture is left out rather than drawn somewhere it is not."""
    if where.scale <= 0:
        return SafeString("")
    x, y = where.place(0.0, 0.0)
    lines: list[tuple[float | str, ...]] = []
    if CROSS_INSET <= x <= WIDTH - CROSS_INSET:
        lines.append((f"{x:.1f}", CROSS_INSET, f"{x:.1f}", HEIGHT - CROSS_INSET))
    if CROSS_INSET <= y <= HEIGHT - CROSS_INSET:
        lines.append((CROSS_INSET, f"{y:.1f}", WIDTH - CROSS_INSET, f"{y:.1f}"))
    return format_html_join(
        "",
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8a8a93" stroke-dasharray="4 4"/>',
        lines,
    )


def opinion_map_svg(view: MapView) -> SafeString:
    groups = view.groups
    if not groups:
        # A blank map would say nothing: the text alternative's message instead.
        return format_html("<p>{}</p>", _("No group is large enough to show yet."))
    description = " ".join(
        ngettext("Group %(label)s: %(n)s person.", "Group %(label)s: %(n)s people.", g.size)
        % {"label": g.label, "n": g.size}
        for g in groups
    )
    title = _("Opinion map: people who vote alike are drawn close together")
    largest = max(g.size for g in groups)
    radii = [_radius(g.size, largest) for g in groups]
    labels = [ngettext("%(n)s person", "%(n)s people", g.size) % {"n": g.size} for g in groups]
    where = placement([g.centre for g in groups], radii, labels)
    placed = [where.place(*g.centre) for g in groups]
    names = [
        ngettext("Group %(label)s, %(n)s person", "Group %(label)s, %(n)s people", g.size)
        % {"label": g.label, "n": g.size}
        for g in groups
    ]
    bubbles = format_html_join(
        "",
        '<a href="#{}" aria-label="{}" class="opinion-map__group">'
        '<circle cx="{}" cy="{}" r="{}" fill="{}" fill-opacity="0.85" stroke="#1d1d1f" stroke-width="1"/>'
        '<text x="{}" y="{}" text-anchor="middle" fill="#ffffff" font-weight="700" font-size="18">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" fill="#1d1d1f" font-size="{}">{}</text></a>',
        (
            (
                g.anchor,
                name,
                f"{x:.1f}",
                f"{y:.1f}",
                f"{r:.1f}",
                PALETTE[i % len(PALETTE)],
                f"{x:.1f}",
                f"{y + 6:.1f}",
                g.label,
                f"{x:.1f}",
                f"{y + r + LABEL_GAP:.1f}",
                LABEL_SIZE,
                label,
            )
            for i, (g, (x, y), r, label, name) in enumerate(
                zip(groups, placed, radii, labels, names, strict=True)
            )
        ),
    )
    return format_html(
        # A group of links, not role="img": an image's parts are hidden from screen
        # readers, and the links must be found and named.
        '<svg class="opinion-map" role="group" viewBox="0 0 {} {}" width="{}" height="{}" aria-labelledby="map-title" aria-describedby="map-desc">'
        '<title id="map-title">{}</title><desc id="map-desc">{}</desc>'
        '<rect x="0" y="0" width="{}" height="{}" fill="#f4f3ef"/>'
        "{}{}</svg>",
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        description,
        WIDTH,
        HEIGHT,
        _origin_cross(where),
        bubbles,
    )
