"""Charts as SVG (Vega-Lite through vl-convert) and QR codes (segno), made on the server.

A chart is its own image URL (surveys:chart), not inlined in the results page: one
vl-convert render costs 30 to 120 ms here, so 30 inline charts alone took the page
past two seconds. Rendered charts are cached by the digest of their spec, and the
spec holds only whole percentages (the data table beside each chart carries the
exact figures), so a chart is rendered again only when what it draws changes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import segno
import vl_convert
from django.core.cache import cache
from django.utils.html import escape

CHART_CACHE_SECONDS = 60 * 60 * 24 * 30


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def bar_chart_spec(rows: Any) -> dict[str, Any]:
    """A horizontal bar chart of the shown shares; hidden options appear as empty bars."""
    values = [{"option": row.label, "percent": round((row.share or 0) * 100)} for row in rows]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 260,
        "data": {"values": values},
        "mark": {"type": "bar", "color": "#1d5f8a"},
        "encoding": {
            "y": {"field": "option", "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": "percent",
                "type": "quantitative",
                "title": "%",
                "scale": {"domain": [0, 100]},
            },
        },
    }


def bar_chart_svg(rows: Any) -> str:
    spec = bar_chart_spec(rows)
    key = "surveys:chart:" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = vl_convert.vegalite_to_svg(spec)
        cache.set(key, svg, CHART_CACHE_SECONDS)
    return str(svg)


def note_svg(text: str) -> str:
    """An image that says `text` instead of drawing figures (one short line)."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="420" height="40" role="img">'
        f"<title>{escape(text)}</title>"
        f'<text x="8" y="24" font-family="sans-serif" font-size="14">{escape(text)}</text>'
        "</svg>"
    )


def qr_svg(text: str) -> str:
    out = io.BytesIO()
    # make_qr: never a Micro QR code, which many phone cameras cannot read.
    segno.make_qr(text, error="m").save(out, kind="svg", scale=3, xmldecl=False)
    return _data_uri(out.getvalue().decode())
