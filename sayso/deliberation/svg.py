"""The opinion map as inline SVG: presentation attributes only (the CSP forbids inline
style), a <title> and <desc> for screen readers, and a table alternative in the page."""

from __future__ import annotations

import math

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .selectors import MapView

WIDTH, HEIGHT, MARGIN = 400, 260, 50
# Fills with at least 3:1 contrast against white (WCAG non-text contrast).
PALETTE = ("#14505c", "#a4161a", "#1f6b3a", "#6b3fa0", "#8a5a00", "#4a4a55")


def _scale(values: list[float], low: float, high: float) -> list[float]:
    lo, hi = min(values), max(values)
    if math.isclose(lo, hi):
        return [(low + high) / 2 for _ in values]
    return [low + (v - lo) * (high - low) / (hi - lo) for v in values]


def opinion_map_svg(view: MapView) -> SafeString:
    groups = view.groups
    description = " ".join(
        ngettext("Group %(label)s: %(n)s person.", "Group %(label)s: %(n)s people.", g.size)
        % {"label": g.label, "n": g.size}
        for g in groups
    ) or _("No group is large enough to show yet.")
    title = _("Opinion map: people who vote alike are drawn close together")
    if not groups:
        return format_html(
            '<svg class="opinion-map" role="img" viewBox="0 0 {} {}" aria-labelledby="map-title map-desc">'
            '<title id="map-title">{}</title><desc id="map-desc">{}</desc></svg>',
            WIDTH,
            HEIGHT,
            title,
            description,
        )
    xs = _scale([g.centre[0] for g in groups], MARGIN + 20, WIDTH - MARGIN - 20)
    ys = _scale([g.centre[1] for g in groups], MARGIN, HEIGHT - MARGIN)
    largest = max(g.size for g in groups)
    bubbles = format_html_join(
        "",
        '<g><circle cx="{}" cy="{}" r="{}" fill="{}" fill-opacity="0.85" stroke="#1d1d1f" stroke-width="1"/>'
        '<text x="{}" y="{}" text-anchor="middle" fill="#ffffff" font-weight="700" font-size="16">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" fill="#1d1d1f" font-size="13">{}</text></g>',
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
                f"{y + r + 16:.1f}",
                ngettext("%(n)s person", "%(n)s people", g.size) % {"n": g.size},
            )
            for i, (g, x, y) in enumerate(zip(groups, xs, ys, strict=True))
            for r in [12 + 28 * math.sqrt(g.size / largest)]
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
