"""The opinion map as inline SVG: presentation attributes only (the CSP forbids inline
style), a <title> and <desc> for screen readers, and a table alternative in the page."""

from __future__ import annotations

import math

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .selectors import MapView

WIDTH, HEIGHT = 400, 260
EDGE = 6  # clear space between the outermost circle or label and the edge of the map
LABEL_GAP, LABEL_SIZE = 16, 13  # the "n people" label: baseline below the circle, font size
# Fills with at least 3:1 contrast against white (WCAG non-text contrast).
PALETTE = ("#14505c", "#a4161a", "#1f6b3a", "#6b3fa0", "#8a5a00", "#4a4a55")


def _radius(size: int, largest: int) -> float:
    return 12 + 28 * math.sqrt(size / largest)


def _label_half_width(text: str) -> float:
    """Half the drawn width of a label, over-estimated (0.6 em a character: wider than
    the average glyph of common sans-serif fonts), since the browser measures it."""
    return 0.3 * LABEL_SIZE * len(text)


def layout(
    centres: list[tuple[float, float]], radii: list[float], labels: list[str]
) -> list[tuple[float, float]]:
    """Where each circle's centre goes: one scale for both axes, so that distances on
    the map are true to the data in every direction, with the groups centred and every
    circle and its label inside the map."""
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
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    at_x, at_y = (left + right) / 2, (top + bottom) / 2
    return [(at_x + (x - mid_x) * scale, at_y + (y - mid_y) * scale) for x, y in centres]


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
    placed = layout([g.centre for g in groups], radii, labels)
    bubbles = format_html_join(
        "",
        '<g><circle cx="{}" cy="{}" r="{}" fill="{}" fill-opacity="0.85" stroke="#1d1d1f" stroke-width="1"/>'
        '<text x="{}" y="{}" text-anchor="middle" fill="#ffffff" font-weight="700" font-size="16">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" fill="#1d1d1f" font-size="{}">{}</text></g>',
        (
            (
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
            for i, (g, (x, y), r, label) in enumerate(
                zip(groups, placed, radii, labels, strict=True)
            )
        ),
    )
    return format_html(
        '<svg class="opinion-map" role="img" viewBox="0 0 {} {}" width="{}" height="{}" aria-labelledby="map-title map-desc">'
        '<title id="map-title">{}</title><desc id="map-desc">{}</desc>'
        '<rect x="0" y="0" width="{}" height="{}" fill="#f4f3ef"/>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8a8a93" stroke-dasharray="4 4"/>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8a8a93" stroke-dasharray="4 4"/>'
        "{}</svg>",
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        description,
        WIDTH,
        HEIGHT,
        WIDTH / 2,
        10,
        WIDTH / 2,
        HEIGHT - 10,
        10,
        HEIGHT / 2,
        WIDTH - 10,
        HEIGHT / 2,
        bubbles,
    )
