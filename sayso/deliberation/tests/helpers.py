"""Small helpers the deliberation tests share."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Any

from django.urls import reverse

from sayso.core.models import Community
from sayso.core.tests.factories import signed_in as signed_in
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, PolisImport, Statement, Vote
from sayso.deliberation.selectors import statement_token


def token(statement: Statement) -> int:
    """What a vote form posts for `statement`: its token, never its key."""
    return statement_token(statement.pk)


def import_counts() -> tuple[int, ...]:
    """Every kind of row an import writes, counted: equal before and after means a
    refused import created nothing."""
    return (
        PolisImport.objects.count(),
        Conversation.objects.count(),
        Participant.objects.count(),
        Statement.objects.count(),
        Vote.objects.count(),
    )


def field_error(page: str, field: str) -> str:
    """The message shown next to a form field (empty when there is none)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>(.*?)</li>', page)
    return found.group(1) if found else ""


def public(conversation: Conversation, name: str = "participate") -> str:
    """A participant page's address (deliberation_public:<name>)."""
    return reverse(
        f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
    )


def community_url(conversation: Conversation, name: str) -> str:
    """An organiser page's address (deliberation:<name>)."""
    return reverse(
        f"deliberation:{name}",
        kwargs={"slug": conversation.community.slug, "conversation": conversation.pk},
    )


# The openData export the import tests read (comments.csv, votes.csv, participants-votes.csv
# and summary.csv of Polis's own "$15/hour" conversation).
SEATTLE = Path(__file__).resolve().parents[2] / "analysis/tests/fixtures/polis/15-per-hour-seattle"

# What the report says in place of its table of days for an import whose votes all carry
# one day (services._dates_unknown).
DATES_UNKNOWN = "Dates not known: this conversation was imported from files that give every vote"


def imported(community: Community, **upload: Any) -> Conversation:
    """An upload imported as the import page does it (services.start_polis_import, then
    the worker's run_polis_import), which must succeed: its new conversation. `upload`:
    `archive=` a zip, or `files=` the CSV files by name."""
    job = services.start_polis_import(community=community, actor=None, topic="Again", **upload)
    services.run_polis_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.DONE, job.error
    assert job.conversation is not None
    return job.conversation


def export_csv(archive: bytes, name: str) -> list[dict[str, str]]:
    """One file of an export zip (services.export_polis) as rows by column name."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return list(csv.DictReader(io.StringIO(opened.read(name).decode())))


def over_time_section(page: str) -> str:
    """The report's "Participation over time" section."""
    return page.split("Participation over time", 1)[1].split("</section>", 1)[0]


def group_rows(page: str, label: str) -> list[tuple[str, str]]:
    """(statement, its cells) of each row of a group's section on the report."""
    section = page.split(f'<section aria-labelledby="group-{label}">', 1)[1]
    return re.findall(
        r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', section.split("</section>")[0], re.S
    )
