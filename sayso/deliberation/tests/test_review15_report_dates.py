"""Review 15, finding 5: a conversation imported from files that give every vote the same
date (our anonymous export does) showed "Participation over time" as if everyone had
taken part that day. The report now says the dates are not known."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.test import Client

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, PolisImport, Vote

from .factories import ConversationFactory, planted
from .helpers import community_url

pytestmark = pytest.mark.django_db
SEATTLE = Path(__file__).resolve().parents[2] / "analysis/tests/fixtures/polis/15-per-hour-seattle"
UNKNOWN = "Dates not known: this conversation was imported from files that give every vote"


def _imported(community: Community, **files: object) -> Conversation:
    """Through the import page's path: a job the worker runs, then the map it queues."""
    job = services.start_polis_import(community=community, actor=None, topic="Again", **files)  # type: ignore[arg-type]
    services.run_polis_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.DONE, job.error
    assert job.conversation is not None
    services.compute_now(conversation=job.conversation)
    return job.conversation


def _over_time(html: str) -> str:
    return html.split("Participation over time", 1)[1].split("</section>", 1)[0]


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
    assert UNKNOWN not in page
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
    section = _over_time(page)
    assert UNKNOWN in section
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
    assert UNKNOWN not in page
    assert 'id="over-time-caption"' in page
