"""QR codes on printed sheets must scan with an ordinary phone camera."""

from __future__ import annotations

import re

import pytest
import segno

from sayso.core import services
from sayso.core.selectors import qr_svg
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory

pytestmark = pytest.mark.django_db


def _modules(svg: str, scale: int, border: int) -> int:
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))  # type: ignore[union-attr]
    return size // scale - 2 * border


def test_an_invitation_code_is_drawn_as_a_full_qr_code_not_a_micro_one() -> None:
    community = CommunityFactory.create()
    _batch, codes = services.create_code_batch(
        community=community,
        actor=OrganiserFactory.create(community=community).user,
        label="Sheet",
        size=3,
    )
    for code in codes:
        # What segno picks by itself for a text this short: a Micro QR code, which many
        # phone cameras do not read. Ours is a full QR code (21 modules or more a side).
        assert segno.make(code, error="m").is_micro
        assert _modules(qr_svg(code), scale=4, border=2) >= 21
