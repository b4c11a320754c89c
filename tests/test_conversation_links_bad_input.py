# mypy: disable-error-code="no-untyped-call,arg-type,misc,attr-defined"
"""A conversation's public link and its code box, fed what no one types: a null
character (which PostgreSQL refuses outright: a 500 before) and full-width letters."""

from __future__ import annotations

import pytest
from django.test import Client

from sayso.deliberation.forms import CodeForm
from sayso.deliberation.models import Conversation
from sayso.deliberation.tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("suffix", ["", "statements/new/", "report/", "you/", "forget/"])
def test_a_link_with_a_null_character_is_not_found(suffix: str) -> None:
    ConversationFactory(state=Conversation.State.OPEN)
    before = Conversation.objects.count()
    response = Client().get(f"/conversations/ABC%00DEF/{suffix}")
    assert response.status_code == 404
    assert Conversation.objects.count() == before


def test_the_code_box_reads_full_width_codes_and_refuses_a_null_plainly() -> None:
    # Each character shifted to its full-width form (U+FF01 to U+FF5E).
    typed = "".join(chr(ord(ch) + 0xFEE0) for ch in "ABCDE-FGH23")
    full_width = CodeForm({"code": typed})
    assert full_width.is_valid()
    assert full_width.cleaned_data["code"] == "ABCDE-FGH23"
    null = CodeForm({"code": "ABCDE\x00FGH23"})
    assert not null.is_valid()
    assert null.errors["code"] == [
        "This code is not valid or has already been used. Check it against your card."
        " If you used it already on another phone or computer, carry on there: each code"
        " works in one browser only."
    ]
