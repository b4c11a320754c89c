"""The organiser's Polis export never tells more than the published results do.

The defect (browser review): the export read the live votes. With results hidden until
the conversation closes it worked while the report showed nothing; exporting, letting
one person vote and exporting again gave that person's row, whatever the random
numbering; comments.csv gave exact counts the report hid; and after closing it held the
last few votes that the report leaves out.

Now: refused while results are hidden; otherwise the votes of the published results
only (the copy kept with the published version), comments.csv counted from the same
votes. Someone in the published results voting again changes nothing in the export
until the next version: test_export_published_copy.py.

Also here: the close page's wording, a code used in another browser, the report's note on
hidden figures, and the report's Cite buttons' names.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from sayso.analysis.opinion_map import read_polis_export
from sayso.core.models import AuditEvent, Community, Role
from sayso.core.services import create_code_batch
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.deliberation import selectors, services
from sayso.deliberation.models import Conversation, OpinionMapResult, Participant, Statement, Vote

from .factories import ConversationFactory, StatementFactory, planted
from .helpers import community_url, public

pytestmark = pytest.mark.django_db

STEP = 5  # the community's small-group threshold here
EXPORT_LINK = "Export (Polis files, .zip)"


@pytest.fixture
def community(db: None) -> Community:
    found: Community = CommunityFactory.create(slug="depot", small_group_threshold=STEP)
    return found


@pytest.fixture
def organiser(community: Community) -> Any:
    return MembershipFactory.create(community=community, role=Role.ORGANISER).user


@pytest.fixture
def client(organiser: Any) -> Client:
    return signed_in(organiser)


def _conversation(community: Community, **options: Any) -> tuple[Conversation, list[Statement]]:
    """20 people in two blocs, 8 statements, 160 votes, and the map worked out (published
    unless results are hidden while open)."""
    conversation = ConversationFactory.create(community=community, **options)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    return conversation, list(
        Statement.objects.filter(conversation=conversation).order_by("number")
    )


def _newcomer(conversation: Conversation, votes: dict[Statement, str]) -> Client:
    """Someone new who votes through the participant's page (joining on the first vote)."""
    person = Client()
    for statement, value in votes.items():
        response = person.post(
            public(conversation),
            {"statement": selectors.statement_token(statement.pk), "vote": value},
        )
        assert response.status_code == 303
    return person


def _export(conversation: Conversation) -> bytes:
    return services.export_polis(conversation=conversation, actor=None)


def _csv(archive: bytes, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return list(csv.DictReader(io.StringIO(opened.read(name).decode())))


def _rows(archive: bytes) -> Counter[tuple[str, ...]]:
    """Each row of votes in participants-votes.csv, whoever it is numbered (an anonymous
    export numbers people at random): the rows with at least one vote, as a multiset."""
    rows = _csv(archive, "participants-votes.csv")
    fixed = {"participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"}
    return Counter(
        tuple(value for key, value in row.items() if key not in fixed)
        for row in rows
        if row["n-votes"] != "0"
    )


def _counts(archive: bytes) -> dict[str, tuple[int, int]]:
    return {
        row["comment-id"]: (int(row["agrees"]), int(row["disagrees"]))
        for row in _csv(archive, "comments.csv")
    }


def _published_counts(conversation: Conversation) -> dict[str, tuple[int, int]]:
    """comment-id -> (agree, disagree) as the published results count them."""
    tallies = OpinionMapResult.objects.get(conversation=conversation).data["tallies"]
    return {
        str(number): (tallies.get(str(pk), (0, 0, 0))[0], tallies.get(str(pk), (0, 0, 0))[1])
        for pk, number in Statement.objects.filter(conversation=conversation).values_list(
            "pk", "number"
        )
    }


def _summary(archive: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return dict(csv.reader(io.StringIO(opened.read("summary.csv").decode())))


def _exports_logged() -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()


def _refused(conversation: Conversation, reason: str) -> None:
    """The service refuses before a byte or an audit record: nothing is exported."""
    logged = _exports_logged()
    with pytest.raises(services.ExportRefused, match=reason):
        services.stream_polis_export(conversation=conversation, actor=None)
    assert _exports_logged() == logged


# --- 1. results hidden until the conversation closes ---------------------------------


@pytest.mark.parametrize("anonymous", [True, False])
def test_while_results_are_hidden_the_export_is_refused_and_the_page_says_why(
    community: Community, client: Client, anonymous: bool
) -> None:
    conversation, _statements = _conversation(
        community, results_hidden_until_closed=True, anonymous=anonymous
    )
    _refused(conversation, "until the conversation closes")

    # Through the page: no file, back to the conversation with the reason; the button
    # itself is replaced by the explanation.
    response = client.get(community_url(conversation, "export"), follow=True)
    assert response.redirect_chain == [(community_url(conversation, "detail"), 302)]
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "You chose to hide the results until the conversation closes" in page
    assert EXPORT_LINK not in page
    assert _exports_logged() == 0

    # Closed: the results are published with every vote, and so is the export.
    services.set_state(conversation=conversation, open=False, actor=None)
    services.compute_now(conversation=conversation)  # the recompute closing queues
    archive = _export(conversation)
    assert sum(_rows(archive).values()) == 20
    assert sum(n for pair in _counts(archive).values() for n in pair) > 0
    assert _counts(archive) == _published_counts(conversation)
    assert len(_csv(archive, "votes.csv")) == 160
    assert EXPORT_LINK in client.get(community_url(conversation, "detail")).content.decode()


# --- 1. only the published votes ------------------------------------------------------


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_new_voter_is_not_in_the_export_until_the_results_are_updated(
    community: Community, anonymous: bool
) -> None:
    conversation, statements = _conversation(community, anonymous=anonymous)
    before = _export(conversation)
    assert sum(_rows(before).values()) == 20

    # The reviewer's steps: export, let one person vote, export again.
    _newcomer(conversation, {statements[0]: "disagree", statements[7]: "agree"})
    services.compute_now(conversation=conversation)  # below the step: not published
    after = _export(conversation)
    assert _rows(after) == _rows(before)
    assert len(_csv(after, "votes.csv")) == len(_csv(before, "votes.csv")) == 160
    assert _counts(after) == _counts(before) == _published_counts(conversation)
    assert _summary(after)["voters"] == "20"

    # Up to one fewer than the step of people: still the same votes.
    for _ in range(STEP - 2):
        _newcomer(conversation, {statements[1]: "agree", statements[2]: "pass"})
        services.compute_now(conversation=conversation)
        assert _rows(_export(conversation)) == _rows(before)

    # The step reached: the results are updated, and the export with them.
    _newcomer(conversation, {statements[1]: "agree", statements[2]: "pass"})
    services.compute_now(conversation=conversation)
    updated = _export(conversation)
    assert sum(_rows(updated).values()) == 20 + STEP
    assert len(_csv(updated, "votes.csv")) == 160 + 2 * STEP
    assert _counts(updated) == _published_counts(conversation) != _counts(before)


def test_comments_counts_are_the_published_counts_not_the_live_ones(
    community: Community,
) -> None:
    conversation, statements = _conversation(community)
    published = _published_counts(conversation)
    _newcomer(conversation, {statements[3]: "agree"})  # a count the report would hide
    services.compute_now(conversation=conversation)
    live = Vote.objects.filter(statement=statements[3], value=1).count()
    archive = _export(conversation)
    assert _counts(archive) == published
    assert _counts(archive)["3"][0] == live - 1


def test_closing_leaves_the_last_few_votes_out_of_the_export(community: Community) -> None:
    conversation, statements = _conversation(community)
    before = _export(conversation)
    late = _newcomer(conversation, {statements[5]: "agree"})  # one vote only
    assert late.cookies
    services.set_state(conversation=conversation, open=False, actor=None)
    services.compute_now(conversation=conversation)
    assert OpinionMapResult.objects.get(conversation=conversation).held_back
    after = _export(conversation)
    assert _rows(after) == _rows(before)
    assert len(_csv(after, "votes.csv")) == 160
    assert _counts(after) == _published_counts(conversation)
    # A row for everyone with a vote in the results, as Polis writes it: not the late
    # one, whose one vote the results leave out (no empty row telling someone joined).
    rows = _csv(after, "participants-votes.csv")
    assert Participant.objects.filter(conversation=conversation).count() == 21
    assert len(rows) == 20
    assert all(row["n-votes"] != "0" for row in rows)


def test_before_the_results_are_worked_out_the_export_waits(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)  # no recompute yet
    _refused(conversation, "still being worked out")


def test_a_conversation_with_no_votes_exports_its_statements(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    StatementFactory.create(conversation=conversation, number=0)
    archive = _export(conversation)
    assert len(_csv(archive, "comments.csv")) == 1
    assert _csv(archive, "votes.csv") == []


def test_an_imported_conversation_exports_everything_once_its_map_is_worked_out(
    community: Community, tmp_path: Path
) -> None:
    fixture = Path(__file__).resolve().parents[2] / (
        "analysis/tests/fixtures/polis/15-per-hour-seattle"
    )
    files = {n: io.BytesIO((fixture / n).read_bytes()) for n in ("comments.csv", "votes.csv")}
    conversation = services.import_polis(
        community=community,
        actor=None,
        export=services.read_polis_upload(files),
        topic="$15/hour",
    )
    _refused(conversation, "still being worked out")
    services.compute_now(conversation=conversation)  # the recompute the import queues
    archive = _export(conversation)
    zipfile.ZipFile(io.BytesIO(archive)).extractall(tmp_path)
    again = read_polis_export(tmp_path)
    assert len(again.votes) == Vote.objects.filter(participant__conversation=conversation).count()
    assert _counts(archive) == _published_counts(conversation)


# --- 2. closing: the last few votes, said before closing ------------------------------


def test_the_close_page_names_the_number_and_says_how_to_get_the_last_votes_counted(
    community: Community, client: Client
) -> None:
    conversation, _statements = _conversation(community)
    page = client.get(community_url(conversation, "state")).content.decode()
    assert "small-group threshold" not in page
    assert f"fewer than {STEP} people" in page
    assert "stay out of the final results" in page
    assert f"until at least {STEP} more people have voted" in page


def test_closing_hidden_results_for_the_first_time_counts_every_vote(
    community: Community, client: Client
) -> None:
    conversation, _statements = _conversation(community, results_hidden_until_closed=True)
    page = client.get(community_url(conversation, "state")).content.decode()
    assert "Every vote cast so far is counted in the final results" in page
    assert "stay out of the final results" not in page


# --- 3. a code used in another browser -----------------------------------------------


def test_a_used_code_refusal_helps_someone_who_used_it_on_another_device(
    community: Community, organiser: Any
) -> None:
    batch, codes = create_code_batch(community=community, actor=organiser, label="Night", size=2)
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.CODES, code_batch=batch
    )
    StatementFactory.create(conversation=conversation, number=0)
    assert Client().post(public(conversation), {"code": codes[0]}).status_code == 302
    used = Client().post(public(conversation), {"code": codes[0]}).content.decode()
    unknown = Client().post(public(conversation), {"code": "AAAAA-AAAAA"}).content.decode()
    carry_on = "If you used it already on another phone or computer, carry on there"

    def message(page: str) -> str:
        found = re.search(r'id="id_code_error"><li>(.*?)</li>', page)
        assert found
        return found.group(1)

    assert carry_on in message(used)
    # A guesser still cannot tell a used code from one that does not exist.
    assert message(used) == message(unknown)
    assert "each code works in one browser only" in message(used)


# --- 4. the note on hidden figures says the rule ------------------------------------


def _blocs(community: Community) -> Conversation:
    """Two groups of 10 voting as one each (no passes; each person leaves out one
    statement, so that nobody is an exact copy), so every group figure is 0% or 100%
    and shown, and the rows can be cited."""
    conversation = ConversationFactory.create(community=community)
    statements = [StatementFactory.create(conversation=conversation, number=i) for i in range(8)]
    votes = []
    for number in range(20):
        person = Participant.objects.create(
            conversation=conversation, number=number, joined_on=dt.date.today()
        )
        for i, statement in enumerate(statements):
            if i == number % 5:
                continue
            agree = i == 7 or (i % 2 == 0) == (number < 10)
            votes.append(
                Vote(
                    participant=person,
                    statement=statement,
                    value=1 if agree else -1,
                    created_on=dt.date.today(),
                )
            )
    Vote.objects.bulk_create(votes)
    services.compute_now(conversation=conversation)
    return conversation


def test_the_hidden_figures_note_says_zero_and_everyone_are_shown(
    community: Community, client: Client
) -> None:
    conversation = _blocs(community)
    html = client.get(community_url(conversation, "report")).content.decode()
    note = re.search(r'<p id="hidden-note">(.*?)</p>', html, re.S)
    assert note
    assert f"at least 1 but fewer than {STEP} people voted that way" in note.group(1)
    assert "0% and 100% are shown" in note.group(1)
    # The rule the note describes: a group all voting one way shows 0% and 100%.
    assert ">100%<" in html
    assert ">0%<" in html


# --- 5. each Cite button names its statement ----------------------------------------


def test_every_cite_button_has_its_own_name_with_the_statement(
    community: Community, client: Client
) -> None:
    conversation = _blocs(community)
    html = client.get(community_url(conversation, "report")).content.decode()
    buttons = re.findall(r"<button[^>]*>(Cite.*?)</button>", html, re.S)
    assert len(buttons) > 2
    names = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", b)).strip() for b in buttons]
    assert len(set(names)) == len(names), names
    assert not re.search(r"<button[^>]*aria-label=\"Cite", html)
    texts = set(Statement.objects.filter(conversation=conversation).values_list("text", flat=True))
    for name in names:
        assert name.startswith("Cite ")
        assert any(text[:20] in name for text in texts), name
