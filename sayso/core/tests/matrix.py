"""Core's objects in the authorization matrix's world (tests/test_authorization_matrix.py):
a citation of the home community, for the Evidence page's remove confirmation."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType

from sayso.core.models import Citation, Community

PK_SOURCE = {"core:evidence-remove": "_citation"}


def build(world: Any) -> None:
    # Written directly: no module's evidence type is needed for the pages to answer,
    # and a kind no module describes is shown by its title.
    citation = Citation.objects.create(
        community=world.home,
        source_type=ContentType.objects.get_for_model(Community),
        source_id=world.home.pk,
        evidence_type="matrix.figure",
        snapshot={"title": "62% of 120 agree"},
        cited_by=None,
    )
    world.kwargs["_citation"] = citation.pk
