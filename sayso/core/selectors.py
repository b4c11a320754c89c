from __future__ import annotations

import segno


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no inline styles, so the CSP holds).

    Always a full QR code: for short texts such as invitation codes segno would choose a
    Micro QR code, which many phone cameras cannot read."""
    return str(segno.make_qr(text, error="m").svg_inline(scale=4, border=2, omitsize=True))
