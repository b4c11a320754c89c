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
from django.utils.translation import gettext as _

CHART_CACHE_SECONDS = 60 * 60 * 24 * 30


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _hidden(row: Any) -> bool:
    return bool(row.hidden) or row.share is None


def bar_chart_spec(rows: Any) -> dict[str, Any]:
    """A horizontal bar chart of the shown shares, each bar labelled with its per cent.

    A hidden figure gets no bar and no number, not even a zero: in their place the
    words "hidden (small group)" (a reader must not quote "0%" from a chart), and
    every mark's accessible name (the `description` channel, which Vega writes as its
    aria-label) says the same. Hidden rows carry only their option and those words.
    """
    hidden_words = _("hidden (small group)")
    values: list[dict[str, Any]] = []
    for row in rows:
        if _hidden(row):
            values.append({"option": row.label, "text": hidden_words, "at": 0, "hidden": True})
        else:
            percent = round(row.share * 100)
            values.append(
                {"option": row.label, "percent": percent, "text": f"{percent}%", "at": percent}
            )
    for value in values:
        value["description"] = f"{value['option']}: {value['text']}"
    summary = " ".join(
        [_("Bar chart, per cent of people."), *(f"{v['description']}." for v in values)]
    )
    # Contrast against white: bars 6.9:1, text 16.5:1 and 8.4:1 (hidden), axis lines 4.5:1.
    ink, muted = "#1f1f1f", "#4d4d4d"
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": summary,
        "width": 260,
        "data": {"values": values},
        "config": {
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 12,
                "labelColor": ink,
                "titleColor": ink,
                "domainColor": "#767676",
                "tickColor": "#767676",
            },
            "view": {"stroke": None},
        },
        "encoding": {
            "y": {
                "field": "option",
                "type": "nominal",
                "title": None,
                # The layers draw different rows (no bar for a hidden one): the options'
                # order is given, not left to the union of the layers' domains.
                "scale": {"domain": list(dict.fromkeys(v["option"] for v in values))},
            },
            "description": {"field": "description"},
        },
        "layer": [
            {
                "transform": [{"filter": "!datum.hidden"}],
                "mark": {"type": "bar", "color": "#1d5f8a"},
                "encoding": {
                    "x": {
                        "field": "percent",
                        "type": "quantitative",
                        "title": "%",
                        "scale": {"domain": [0, 100]},
                    }
                },
            },
            {
                "transform": [{"filter": "!datum.hidden"}],
                "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 12, "color": ink},
                "encoding": {
                    "x": {"field": "at", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
            {
                "transform": [{"filter": "datum.hidden"}],
                "mark": {
                    "type": "text",
                    "align": "left",
                    "dx": 4,
                    "fontSize": 12,
                    "fontStyle": "italic",
                    "color": muted,
                },
                "encoding": {
                    "x": {"field": "at", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
        ],
    }


def bar_chart_svg(rows: Any) -> str:
    """The chart of `rows` (selectors.Row); a short note instead when no figure is shown."""
    rows = list(rows)
    if not rows:
        return note_svg(_("No figures to show."))
    if all(_hidden(row) for row in rows):
        return note_svg(_("All figures hidden: the groups are too small."))
    spec = bar_chart_spec(rows)
    key = "surveys:chart:" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = vl_convert.vegalite_to_svg(spec)
        # Vega names each mark; the drawing as a whole is named by its <title>, read
        # when the chart is opened on its own (the page's <img> has its own alt text).
        opening = svg.index(">") + 1
        svg = svg[:opening] + f"<title>{escape(spec['description'])}</title>" + svg[opening:]
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
