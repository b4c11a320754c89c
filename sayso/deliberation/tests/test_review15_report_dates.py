"""Review 15, finding 5: a conversation imported from files that give every vote the same
date (our anonymous export does) showed "Participation over time" as if everyone had
taken part that day. The report now says the dates are not known."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Vote

from .factories import ConversationFactory, planted
from .helpers import DATES_UNKNOWN, SEATTLE, community_url, imported, over_time_section

pytestmark = pytest.mark.django_db


def _imported(community: Community, **upload: object) -> Conversation:
    """Through the import page's path: a job the worker runs, then the map it queues."""
    conversation = imported(community, **upload)
    services.compute_now(conversation=conversation)
    return conversation


def test_a_re_imported_anonymous_export_does_not_show_false_dates(
    depot: Community, depot_organiser: Client
) -> None:
    original = ConversationFactory.create(community=depot)
    planted(original, groups=2, size=10, statements=8)
    # People took part over three days.
    today = dt.date.today()
    for days, number in ((1, range(0, 7)), (2, range(7, 14))):
        Vote.objects.filter(
            participant__conversation=original, participant__number__in=list(number)
        ).update(created_on=today - dt.timedelta(days=days))
    services.compute_now(conversation=original)
    page = depot_organiser.get(community_url(original, "report")).content.decode()
    assert DATES_UNKNOWN not in page
    assert 'id="over-time-caption"' in page  # a native conversation keeps its days

    archive = services.export_polis(conversation=original, actor=None)
    conversation = _imported(depot, archive=io.BytesIO(archive))
    # Every vote carries one day (the anonymous export's), as if all took part then.
    assert (
        Vote.objects.filter(participant__conversation=conversation)
        .values("created_on")
        .distinct()
        .count()
        == 1
    )
    page = depot_organiser.get(community_url(conversation, "report")).content.decode()
    section = over_time_section(page)
    assert DATES_UNKNOWN in section
    assert 'id="over-time-caption"' not in page
    assert "All days" not in section
    # The headline figures stay: they are counts, not dates.
    assert "people who joined" in page


def test_an_import_with_real_dates_keeps_its_days(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = _imported(
        depot, files={n: (SEATTLE / n).open("rb") for n in ("comments.csv", "votes.csv")}
    )
    days = Vote.objects.filter(participant__conversation=conversation).values("created_on")
    assert days.distinct().count() > 1
    page = depot_organiser.get(community_url(conversation, "report")).content.decode()
    assert DATES_UNKNOWN not in page
    assert 'id="over-time-caption"' in page
