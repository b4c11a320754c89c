from __future__ import annotations

import segno


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no inline styles, so the CSP holds)."""
    return str(segno.make(text, error="m").svg_inline(scale=4, border=2, omitsize=True))
