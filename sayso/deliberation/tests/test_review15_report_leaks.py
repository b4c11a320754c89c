"""A privacy audit of review 15's report changes found two ways the report told more than
its figures.

1. Which statements "What group X thinks" lists went beyond the stored top picks
   whenever a picked row had a hidden key figure, choosing more from the raw counts
   (pass votes, other groups' hidden cells, the votes of groups too small to show): one
   vote in a hidden group changed which statement was listed. The list is now the stored
   one, only put in order by what the page shows.

2. "Dates not known" was decided from every vote's day, live ones too: one person voting
   on the day of the import, after the organiser opened the conversation again, turned
   the note off and the table of days on, telling that somebody took part that day
   (which pooling hides). It is now decided once, from the imported votes only."""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import io
import re

import numpy as np
import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone

from sayso.analysis.opinion_map.stats import select_all_repness
from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import (
    Conversation,
    OpinionMapResult,
    Participant,
    PolisImport,
    Statement,
    Vote,
)

from .factories import ConversationFactory, planted
from .helpers import DATES_UNKNOWN, community_url, group_rows, imported, over_time_section
from .test_report_disclosure import TODAY, Counts, Planned, write_map

pytestmark = pytest.mark.django_db


# --- 1. a group's list ---------------------------------------------------------------------

# The auditor's counterexample: groups A (11), B (14) and C (3, too small to show); per
# statement the (agree, disagree, pass) of A, B, C and of the people in no group.
SIZES = [11, 14, 3]
AGREED: dict[str, list[Counts]] = {
    "Statement 100": [(7, 1, 0), (3, 6, 4), (0, 1, 1), (1, 1, 0)],
    "Statement 101": [(8, 1, 0), (3, 8, 1), (1, 1, 1), (0, 0, 0)],
    "Statement 102": [(3, 0, 6), (13, 0, 0), (0, 0, 0), (1, 0, 0)],
    "Statement 103": [(1, 8, 1), (0, 12, 0), (0, 0, 1), (1, 0, 1)],
    "Statement 104": [(3, 2, 4), (1, 10, 0), (3, 0, 0), (0, 0, 0)],
    "Statement 105": [(4, 1, 3), (5, 5, 1), (0, 3, 0), (0, 0, 0)],
    "Statement 106": [(1, 4, 3), (4, 2, 5), (0, 0, 0), (0, 0, 2)],
    "Statement 107": [(9, 1, 0), (0, 14, 0), (0, 3, 0), (0, 1, 0)],
    # The one member of C who voted other than pass agreed...
    "Statement 108": [(0, 8, 0), (0, 12, 0), (1, 0, 1), (1, 1, 0)],
    "Statement 109": [(0, 6, 4), (1, 12, 0), (0, 0, 0), (1, 0, 0)],
}
# ... or disagreed: every figure the report shows is the same.
DISAGREED = copy.deepcopy(AGREED)
DISAGREED["Statement 108"][2] = (0, 1, 1)


def _stored_repness(votes: dict[str, list[Counts]]) -> dict[int, list[tuple[str, str]]]:
    """The top picks the maths stores (as compute_opinion_map does: at most five)."""
    texts = list(votes)
    k = len(SIZES)
    agree, disagree, seen = (
        np.array([[column(votes[t][g]) for t in texts] for g in range(k)])
        for column in (lambda c: c[0], lambda c: c[1], sum)
    )
    ids = list(range(len(texts)))
    chosen = select_all_repness(agree, disagree, seen, ids, [True] * len(ids), pick=5)
    return {
        g: [(texts[int(r.statement)], str(r.direction)) for r in rows] for g, rows in chosen.items()
    }


def _report_with(
    conversation: Conversation, client: Client, votes: dict[str, list[Counts]]
) -> tuple[str, dict[int, list[tuple[str, str]]]]:
    repness = _stored_repness(votes)
    statements = write_map(
        conversation,
        Planned(
            sizes=SIZES,
            votes=votes,
            repness={},
            consensus_agree=[],
            consensus_disagree=[],
            gic={},
            over_time=[[TODAY, 1000, sum(SIZES) + 3]],
            vote_count=1000,
        ),
    )
    result = OpinionMapResult.objects.get(conversation=conversation)
    result.data["repness"] = {
        str(g): [{"statement": statements[t].pk, "direction": d} for t, d in rows]
        for g, rows in repness.items()
    }
    result.save(update_fields=["data"])
    html = client.get(community_url(conversation, "report")).content.decode()
    # Each form's token is new on every page.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html), repness


def test_one_vote_in_a_hidden_group_does_not_change_a_groups_list(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    agreed, agreed_picks = _report_with(conversation, depot_organiser, AGREED)
    disagreed, disagreed_picks = _report_with(conversation, depot_organiser, DISAGREED)
    # What the report works from that a reader could know is the same: the stored picks...
    assert agreed_picks == disagreed_picks
    # ... and the two groups shown, C being too small.
    assert "group-A" in agreed
    assert "group-B" in agreed
    assert "group-C" not in agreed
    b_agreed = group_rows(agreed, "B")
    assert b_agreed == group_rows(disagreed, "B")
    assert group_rows(agreed, "A") == group_rows(disagreed, "A")
    # Nothing on the page differs.
    assert agreed == disagreed
    # Only the stored picks are listed, never another statement that sets B apart.
    assert {text for text, _cells in b_agreed} == {t for t, _d in agreed_picks[1]}


# --- 2. "Dates not known" -------------------------------------------------------------------


def _imported_anonymous_exports(community: Community, times: int) -> list[Conversation]:
    """Our anonymous export of a conversation started ten days ago, imported today
    `times` times: every vote carries the day it started."""
    original = ConversationFactory.create(community=community)
    planted(original, groups=2, size=10, statements=8)
    started = timezone.now() - dt.timedelta(days=10)
    Conversation.objects.filter(pk=original.pk).update(created_at=started)
    original.refresh_from_db()
    services.compute_now(conversation=original)
    archive = services.export_polis(conversation=original, actor=None)
    return [imported(community, archive=io.BytesIO(archive)) for _time in range(times)]


def _opened_again(conversation: Conversation, days: list[dt.date]) -> list[list[object]]:
    """6 more people take part after the import, casting 30 votes: the first, with one
    vote, on days[0], the others on days[1]. The map is then worked out (and published:
    the first since the import) and its participation rows returned."""
    statements = list(Statement.objects.filter(conversation=conversation).order_by("number"))
    last = Participant.objects.filter(conversation=conversation).order_by("-number")[0].number
    first, *others = [
        Participant.objects.create(conversation=conversation, number=last + 1 + i, joined_on=day)
        for i, day in enumerate([days[0]] + [days[1]] * 5)
    ]
    live = [Vote(participant=first, statement=statements[0], value=1, created_on=days[0])]
    live += [
        Vote(participant=p, statement=s, value=-1, created_on=days[1])
        for p in others
        for s in statements[:6]
    ][:29]
    Vote.objects.bulk_create(live)
    over_time: list[list[object]] = services.compute_now(conversation=conversation).data[
        "over_time"
    ]
    return over_time


def _headline(html: str) -> list[tuple[str, str]]:
    """The report's headline figures (people who joined, votes)."""
    return re.findall(r"<div><dt>(people who joined|votes)</dt><dd>(.*?)</dd></div>", html)


def test_a_vote_on_the_import_day_does_not_turn_the_dates_back_on(
    depot: Community, depot_organiser: Client
) -> None:
    later, same_day = _imported_anonymous_exports(depot, 2)
    today = timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)
    # The organiser opens it again and 6 more people take part: all of them the day after
    # the import...
    assert _opened_again(later, [tomorrow, tomorrow])[1:] == [[tomorrow.isoformat(), 30, 6]]
    # ... or one of them, with their one vote, on the day of the import itself.
    assert _opened_again(same_day, [today, tomorrow])[1:] == [
        [today.isoformat(), 1, 1],
        [tomorrow.isoformat(), 29, 5],
    ]
    pages = [
        depot_organiser.get(community_url(c, "report")).content.decode() for c in (later, same_day)
    ]
    # Both say the dates are not known and show no day; nothing tells them apart.
    for html in pages:
        assert DATES_UNKNOWN in over_time_section(html)
        assert 'id="over-time-caption"' not in html
        assert "All days" not in html
        assert "Other days" not in html
    assert over_time_section(pages[0]) == over_time_section(pages[1])
    assert (
        _headline(pages[0])
        == _headline(pages[1])
        == [
            ("people who joined", "26"),
            ("votes", "190"),
        ]
    )


def test_the_import_records_whether_its_votes_carried_one_day(depot: Community) -> None:
    (conversation,) = _imported_anonymous_exports(depot, 1)
    assert PolisImport.objects.get(conversation=conversation).dates_unknown is True


def test_imports_done_before_the_flag_get_it_from_their_imported_days(
    depot: Community,
) -> None:
    """The migration's answer for imports done earlier: votes on or after the day the
    import finished (live ones, if the conversation was opened again) do not count."""
    record = importlib.import_module(
        "sayso.deliberation.migrations.0011_polis_import_dates_unknown"
    ).record_dates_unknown
    anonymous, dated = _imported_anonymous_exports(depot, 2)
    # A live vote on the day of the import, and one on a day a real-dated import held.
    _opened_again(anonymous, [timezone.localdate()] * 2)
    Vote.objects.filter(participant__conversation=dated).filter(
        participant__number__in=range(10)
    ).update(created_on=timezone.localdate() - dt.timedelta(days=3))
    PolisImport.objects.update(dates_unknown=False)
    record(django_apps, None)
    assert dict(PolisImport.objects.values_list("conversation", "dates_unknown")) == {
        anonymous.pk: True,
        dated.pk: False,
    }
