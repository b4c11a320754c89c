"""What a browser reviewer found in statements, the Polis import and the organiser's
tools (issue 3, session 12): blank and emoji-only statements published and voted on,
a half-flipped votes.csv imported, names in small letters or before "from aisle 12" shown
at once, no "select all" in moderation, a tiny opinion map on a phone that no key could
reach, a citation confirmed out of view, and an import page that said "a minute or two"
for an hour."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sayso.analysis.opinion_map import PolisImportError, read_polis_export
from sayso.core.models import Community
from sayso.core.services import ServiceError
from sayso.deliberation import services
from sayso.deliberation.forms import ConversationForm
from sayso.deliberation.models import Conversation, PolisImport, Statement, Vote
from sayso.deliberation.personal_details import NAME, personal_details
from sayso.deliberation.selectors import Group, MapView, moderation_queue, published_counts
from sayso.deliberation.statement_text import visible_text
from sayso.deliberation.svg import LABEL_SIZE, WIDTH, opinion_map_svg

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, planted
from .helpers import community_url, import_counts, signed_in

FIXTURE = Path(__file__).resolve().parents[2] / "analysis/tests/fixtures/polis/15-per-hour-seattle"
NEEDS_WORDS = (
    "Write your statement in words: use at least 3 letters or numbers. Emoji, symbols and"
    " spaces alone cannot be voted on."
)

# What the reviewer typed: each was published as a card people voted on, or (the
# emoji) accepted with an empty normalised text.
NO_WORDS = {
    "zero-width spaces": "\u200b" * 30,
    "fillers": "\u3164\u3164\u3164\u3164\u3164 \u2800\u2800\u2800\u2800",
    "other fillers": "\u115f\u1160\uffa0" * 5,
    "emoji": "👍" * 10,
    "spaces of every kind": "     \u200b\u200b\u200b     \u00a0\u00a0   \u2028\u3000",
    "word joiners and marks": "\u2060\ufeff\u200e\u200f\u00ad" * 4,
    "two letters hidden in blanks": "\u200ba\u3164\u200bb\u2800",
    "dots": "..........",
}


def _statements(conversation: Conversation) -> list[tuple[str, str]]:
    return list(
        Statement.objects.filter(conversation=conversation)
        .order_by("number")
        .values_list("text", "state")
    )


# --- 1. statements need words people can see --------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("text", NO_WORDS.values(), ids=NO_WORDS.keys())
def test_a_statement_without_words_is_refused_and_nothing_is_created(text: str) -> None:
    conversation = ConversationFactory.create()
    participant = ParticipantFactory.create(conversation=conversation)
    with pytest.raises(ServiceError) as refused:
        services.add_participant_statement(
            conversation=conversation, participant=participant, text=text
        )
    assert str(refused.value) == NEEDS_WORDS
    with pytest.raises(ServiceError, match=r"^Write your statement in words"):
        services.add_seed_statement(conversation=conversation, text=text, actor=None)
    assert _statements(conversation) == []


@pytest.mark.django_db
def test_the_reviewers_blank_statement_is_refused_on_the_page(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    client = Client()
    page = client.post(
        reverse(
            "deliberation_public:statement", kwargs={"public_token": conversation.public_token}
        ),
        {"text": "\u200b" * 30},
    )
    assert page.status_code == 200
    assert NEEDS_WORDS in page.content.decode()
    assert _statements(conversation) == []


@pytest.mark.django_db
def test_invisible_characters_are_taken_out_of_a_statement_with_words() -> None:
    conversation = ConversationFactory.create()
    participant = ParticipantFactory.create(conversation=conversation)
    added = services.add_participant_statement(
        conversation=conversation,
        participant=participant,
        text="\u200bDelete\u200b scanner\u3164data\u2800after 30\u00a0days\ufeff",
    )
    assert added.text == "Delete scanner data after 30 days"
    assert added.normalised == "delete scanner data after 30 days"


def test_joiners_and_direction_marks_that_writing_needs_are_kept() -> None:
    # Persian spelling needs the zero-width non-joiner, emoji sequences the joiner, and
    # right-to-left text its marks; a joiner beside a space joins nothing.
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want"
    assert visible_text(persian) == persian
    assert visible_text("we need 👩\u200d💻 staff") == "we need 👩\u200d💻 staff"
    assert (
        visible_text("\u05e9\u05dc\u05d5\u05dd 123\u200f") == "\u05e9\u05dc\u05d5\u05dd 123\u200f"
    )
    assert visible_text("\u200d data \u200c") == "data"
    assert visible_text("a\u202eb\u2066c") == "abc"  # direction overrides go
    assert visible_text("ok\x01\x7f ok") == "ok ok"  # control characters go


@pytest.mark.django_db
def test_short_statements_in_other_scripts_have_enough_words() -> None:
    conversation = ConversationFactory.create()
    participant = ParticipantFactory.create(conversation=conversation)
    added = services.add_participant_statement(
        conversation=conversation, participant=participant, text="不公平"
    )
    assert added.text == "不公平"


@pytest.mark.django_db
def test_an_empty_normalised_text_is_nobodys_duplicate() -> None:
    """Before statements needed words, ten emoji were accepted with an empty normalised
    text, and every later emoji-only statement was answered "Thank you" as its
    duplicate, and marked as one in moderation."""
    conversation = ConversationFactory.create()
    first = StatementFactory.create(conversation=conversation, text="👍" * 10, normalised="")
    second = StatementFactory.create(
        conversation=conversation,
        text="🎉" * 5,
        normalised="",
        state=Statement.State.PENDING,
    )
    assert services.same_words(conversation, "") is None
    queue = moderation_queue(
        conversation, Statement.State.PENDING, published_counts(conversation, 5, None)
    )
    assert [item.statement for item in queue] == [second]
    assert not any("Same words as statement" in hint for hint in queue[0].hints)
    assert first.pk != second.pk


@pytest.mark.django_db
def test_an_organisers_edit_needs_words_too() -> None:
    conversation = ConversationFactory.create(moderation=Conversation.Moderation.PRE)
    waiting = StatementFactory.create(conversation=conversation, state=Statement.State.PENDING)
    before = (waiting.text, waiting.normalised)
    with pytest.raises(ServiceError, match=r"^Write your statement in words"):
        services.edit_pending_statement(
            conversation=conversation, statement_id=waiting.pk, text="\u3164" * 20, actor=None
        )
    waiting.refresh_from_db()
    assert (waiting.text, waiting.normalised) == before


@pytest.mark.django_db
def test_seed_lines_without_words_are_named_and_blank_looking_ones_skipped(
    depot: Community,
) -> None:
    form = ConversationForm(
        data={
            "topic": "Scanner data",
            "moderation": "post",
            "access": "link",
            "anonymous": "on",
            "participants_can_add": "on",
            "seed_statements": "Delete after 30 days\n\u200b\u200b\u200b\n👍👍👍👍\n",
        },
        community=depot,
    )
    assert not form.is_valid()
    assert form.errors["seed_statements"] == [
        "Line 3 needs words to vote on: at least 3 letters or numbers."
    ]
    # The service skips a line of nothing visible as it skips a blank one.
    conversation = services.create_conversation(
        conversation=Conversation(topic="Scanner data"),
        community=depot,
        actor=None,
        seed_statements=["Delete after 30 days", "\u200b" * 30],
    )
    assert _statements(conversation) == [("Delete after 30 days", "accepted")]


def _comments(*rows: tuple[int, int, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"])
    for statement_id, moderated, body in rows:
        writer.writerow([statement_id, -1, 1, 0, moderated, body])
    return out.getvalue().encode()


def _votes(statement_ids: list[int]) -> bytes:
    rows = [f"{1000 + i},{i},{i},1" for i in statement_ids]
    return ("timestamp,comment-id,voter-id,vote\n" + "\n".join(rows) + "\n").encode()


def _start(community: Community, comments: bytes, votes: bytes) -> PolisImport:
    return services.start_polis_import(
        community=community,
        actor=None,
        files={"comments.csv": io.BytesIO(comments), "votes.csv": io.BytesIO(votes)},
        topic="Imported",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("moderated", "body", "problem"),
    [
        (
            1,
            "\u200b" * 30,
            "statement 1 is shown to people (moderated 1) but has fewer than 3 letters or"
            " numbers: only emoji, symbols, spaces or invisible characters. Write it in"
            " words, or mark it moderated out (-1).",
        ),
        (
            1,
            "👍" * 10,
            "statement 1 is shown to people (moderated 1) but has fewer than 3 letters or"
            " numbers: only emoji, symbols, spaces or invisible characters. Write it in"
            " words, or mark it moderated out (-1).",
        ),
        (
            0,
            "\u3164\u2800 \u200b",
            "statement 1 is blank: it holds only spaces or invisible characters. Write it"
            " in words, or mark it moderated out (-1).",
        ),
    ],
    ids=["shown zero-width", "shown emoji", "waiting blank"],
)
def test_an_import_with_a_blank_statement_is_refused_naming_its_line(
    depot: Community, moderated: int, body: str, problem: str
) -> None:
    before = import_counts()
    comments = _comments((0, 1, "A statement with words\nover two lines"), (1, moderated, body))
    with pytest.raises(services.ImportRefused) as refused:
        _start(depot, comments, _votes([0, 1]))
    # Line 4: the header, then statement 0 over lines 2 and 3.
    assert str(refused.value) == f"comments.csv, line 4: {problem}"
    assert refused.value.file == "comments.csv"
    assert import_counts() == before


@pytest.mark.django_db
def test_an_import_keeps_what_real_polis_exports_hold(
    depot: Community, django_capture_on_commit_callbacks: Any
) -> None:
    """Real openData exports hold moderated-out rows such as "?" (the fixture's
    statement 16) and waiting ones such as "ok" or "?" (football-concussions,
    march-on): they import as they are, never shown unless accepted."""
    comments = _comments(
        (0, 1, "A statement with words"), (1, 0, "ok"), (2, 0, "?"), (3, -1, "\u200b")
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = _start(depot, comments, _votes([0, 1, 2, 3]))
    job.refresh_from_db()
    assert job.state == PolisImport.State.DONE
    assert _statements(job.conversation) == [  # type: ignore[arg-type]
        ("A statement with words", "accepted"),
        ("ok", "pending"),
        ("?", "pending"),
        ("\u200b", "rejected"),
    ]


@pytest.mark.django_db
def test_a_header_only_export_is_refused_plainly(depot: Community) -> None:
    before = import_counts()
    with pytest.raises(services.ImportRefused) as refused:
        _start(depot, _comments(), b"timestamp,comment-id,voter-id,vote\n")
    assert str(refused.value) == (
        "comments.csv holds no statements, so there is nothing to import. Check that you"
        " chose the right file: a Polis export lists its statements under the header line."
    )
    assert refused.value.file == "comments.csv"
    assert import_counts() == before


# --- 2. a votes.csv with part of its signs flipped ----------------------------------------


def _half_flipped(folder: Path) -> Path:
    """The fixture with the sign of the second half of votes.csv flipped, as the
    reviewer did: as a whole it still fits comments.csv better unflipped."""
    folder.mkdir(exist_ok=True)
    (folder / "comments.csv").write_bytes((FIXTURE / "comments.csv").read_bytes())
    head, *rows = (FIXTURE / "votes.csv").read_text().splitlines()
    half = len(rows) // 2

    def flip(row: str) -> str:
        *rest, vote = row.split(",")
        return ",".join([*rest, {"1": "-1", "-1": "1"}.get(vote, vote)])

    (folder / "votes.csv").write_text(
        "\n".join([head, *rows[:half], *map(flip, rows[half:])]) + "\n"
    )
    return folder


def test_a_statement_whose_votes_look_swapped_is_refused(tmp_path: Path) -> None:
    folder = _half_flipped(tmp_path / "export")
    with pytest.raises(PolisImportError) as refused:
        read_polis_export(folder)
    rows = (folder / "votes.csv").read_text().splitlines()
    first = next(i for i, row in enumerate(rows) if row.split(",")[2] == "45")
    assert refused.value.line == first + 1
    assert str(refused.value) == (
        f"{folder / 'votes.csv'}, line {first + 1}: agree and disagree look swapped for"
        " statement 45: comments.csv counts 55 agrees and 12 disagrees, but votes.csv has"
        " 12 votes of 1 (agree) and 54 of -1 (disagree). Part of votes.csv may use the"
        " opposite numbers. The export may come from Polis's internal tables: export it"
        " again from the Polis report page."
    )


def test_the_real_export_with_polis_own_small_mismatches_still_reads() -> None:
    # comments.csv and votes.csv differ by 56 votes in all (openData issue #6), by up
    # to 9 on one statement: within the tolerance.
    export = read_polis_export(FIXTURE)
    assert len(export.statements) == 54


def test_one_swapped_vote_on_a_small_statement_is_within_the_tolerance(tmp_path: Path) -> None:
    (tmp_path / "comments.csv").write_text(
        "comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        "0,-1,1,0,1,First\n"
        "1,-1,5,1,1,Second\n"
    )
    (tmp_path / "votes.csv").write_text(
        "timestamp,comment-id,voter-id,vote\n"
        "1,0,0,-1\n"  # swapped: 1 agree counted, a -1 given
        + "".join(f"{2 + p},1,{p},1\n" for p in range(5))
        + "9,1,5,-1\n"
    )
    assert len(read_polis_export(tmp_path).votes) == 7


@pytest.mark.django_db
def test_the_organiser_sees_the_swapped_statement_and_nothing_is_imported(
    depot: Community, tmp_path: Path
) -> None:
    folder = _half_flipped(tmp_path / "export")
    before = import_counts()
    with pytest.raises(services.ImportRefused) as refused:
        _start(depot, (folder / "comments.csv").read_bytes(), (folder / "votes.csv").read_bytes())
    assert re.fullmatch(
        r"votes\.csv, line \d+: agree and disagree look swapped for statement 45: .*",
        str(refused.value),
    )
    assert refused.value.file == "votes.csv"
    assert import_counts() == before


# --- 3. names the hint missed ----------------------------------------------------------


REVIEWER_NAMES = [
    "Mohammed from aisle 12 was disciplined because of scanner data.",
    "Our shift manager priya patel watches the idle-time screen all day.",
]


@pytest.mark.parametrize(
    "text",
    [
        *REVIEWER_NAMES,
        "Mohammed, from aisle 12, was disciplined.",
        "We all know Priya from team B got sacked",
        "Sam from the night shift got a warning",
        "Tom on nights keeps reporting people.",
        "Karen in HR leaked the data",
        "Lee at bay 4 is always flagged",
        "my manager dave reads every alert",
        "the supervisor karen checks our breaks",
        "my team leader james smith shouts",
        "Shift manager dave watches us",
        "mr patel checks the logs",
        "Ask dr jones about the health data",
    ],
)
def test_names_in_small_letters_or_before_a_place_are_flagged(text: str) -> None:
    assert personal_details(text) == (NAME,)


@pytest.mark.parametrize(
    "text",
    [
        "My manager said no",
        "Our manager never listens to us.",
        "Our manager, however, disagrees",
        "My boss watches everything.",
        "My line manager doesnt care.",
        "Our supervisor role should be changed.",
        "the team leader decides the rota",
        "My manager wants to see the data",
        "Our supervisor always checks the screen",
        "the manager's dashboard shows everything",
        "Scientists should lead federal agencies like EPA.",
        "Noise in the warehouse is too loud.",
        "Data from the depot should be deleted.",
        "Feedback from the night shift was ignored.",
        "Breaks on nights are too short.",
        "Work on nights is harder.",
        "Overtime on weekends should be paid more.",
        "Training on nights is rare.",
        "Cameras in aisle 12 should be removed.",
        "Targets in zone 3 are too high.",
        "Pressure from management is too high.",
        "Agency workers from the night shift are watched more",
        "Staff in HR can read the data.",
        "Everyone on the night shift agrees.",
        "Idle time at dock 3 is measured.",
        "ms teams is used for rotas",
    ],
)
def test_ordinary_statements_about_roles_and_places_are_not_flagged(text: str) -> None:
    assert personal_details(text) == ()


def test_the_fixture_comments_are_held_no_more_often_than_before() -> None:
    """The held rate on real statements (measured for the report: the demo's seeds 0 of
    14 before and after, test_the_demo_statements_are_not_flagged; this fixture 1 of 54
    before and after, the same one)."""
    with (FIXTURE / "comments.csv").open(encoding="utf-8") as handle:
        bodies = [row["comment-body"] for row in csv.DictReader(handle)]
    assert len(bodies) == 54
    # The one flagged names a person indeed.
    assert [b[:12] for b in bodies if personal_details(b)] == ["Edward Tufte"]


@pytest.mark.django_db
@pytest.mark.parametrize("text", REVIEWER_NAMES)
def test_the_reviewers_statements_wait_for_an_organiser(text: str) -> None:
    conversation = ConversationFactory.create(moderation=Conversation.Moderation.POST)
    participant = ParticipantFactory.create(conversation=conversation)
    added = services.add_participant_statement(
        conversation=conversation, participant=participant, text=text
    )
    assert added.state == Statement.State.HELD


# --- 4. select all in moderation ----------------------------------------------------------


def _boxes(page: str) -> dict[str, bool]:
    return {
        value: " checked" in tag
        for tag, value in (
            (m.group(0), m.group(1))
            for m in re.finditer(
                r'<input type="checkbox" name="statements" value="(\d+)"[^>]*>', page
            )
        )
    }


@pytest.mark.django_db
def test_select_all_ticks_every_box_and_changes_nothing(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    waiting = [
        StatementFactory.create(conversation=conversation, state=Statement.State.PENDING)
        for _ in range(3)
    ]
    client = signed_in(organiser)
    url = community_url(conversation, "moderate") + "?show=pending"
    page = client.get(url).content.decode()
    assert _boxes(page) == {str(s.pk): False for s in waiting}
    assert (
        f'<button type="submit" name="select" value="all" class="button button--secondary"'
        f' formaction="{url}#selection-status">Select all on this page</button>' in page
    )

    page = client.post(url, {"select": "all"}).content.decode()
    assert _boxes(page) == {str(s.pk): True for s in waiting}
    assert (
        '<p id="selection-status" tabindex="-1">All 3 statements on this page are ticked.'
        " Untick any you want to leave out, then accept or reject.</p>" in page
    )
    assert "errorlist" not in page
    assert set(Statement.objects.values_list("state", flat=True)) == {"pending"}

    cleared = client.post(url, {"select": "none", "statements": [s.pk for s in waiting]})
    assert _boxes(cleared.content.decode()) == {str(s.pk): False for s in waiting}
    assert set(Statement.objects.values_list("state", flat=True)) == {"pending"}

    # Then Accept works on what is ticked, as before.
    done = client.post(url, {"action": "accept", "statements": [s.pk for s in waiting]})
    assert done.status_code == 302
    assert set(Statement.objects.values_list("state", flat=True)) == {"accepted"}


@pytest.mark.django_db
def test_a_refused_action_keeps_the_boxes_ticked(community: Community, organiser: Any) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    a, b = (
        StatementFactory.create(conversation=conversation, state=Statement.State.PENDING)
        for _ in range(2)
    )
    url = community_url(conversation, "moderate") + "?show=pending"
    page = signed_in(organiser).post(url, {"statements": [a.pk]}).content.decode()  # no action
    assert _boxes(page) == {str(a.pk): True, str(b.pk): False}
    assert set(Statement.objects.values_list("state", flat=True)) == {"pending"}


# --- 5. the opinion map on a phone and from the keyboard -----------------------------


def _map(*sizes: int) -> str:
    groups = [
        Group(number=i, label="ABCDEF"[i], size=size, centre=(float(i), float(i % 2)))
        for i, size in enumerate(sizes)
    ]
    view = MapView(
        computed_at=None,
        vote_count=0,
        groups=groups,
        hidden_groups=0,
        statement_index={},
        agree=[],
        disagree=[],
        seen=[],
        data={},
        threshold=5,
    )
    return str(opinion_map_svg(view))


def test_each_group_on_the_map_is_a_named_link_to_its_section() -> None:
    svg = _map(12, 1, 30)
    assert re.findall(r'<a href="(#[^"]+)" aria-label="([^"]+)"', svg) == [
        ("#group-A", "Group A, 12 people"),
        ("#group-B", "Group B, 1 person"),
        ("#group-C", "Group C, 30 people"),
    ]
    # Not role="img", whose parts screen readers never reach.
    assert svg.startswith('<svg class="opinion-map" role="group" ')
    assert 'aria-labelledby="map-title" aria-describedby="map-desc"' in svg


def test_labels_stay_at_least_12_px_on_a_360_px_phone() -> None:
    # The map's width there: 360 px less the page's 16 px margins on each side, and
    # no figure margins (sayso.css).
    drawn_width = 360 - 2 * 16
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', _map(12, 30))]
    assert min(sizes) == LABEL_SIZE
    assert LABEL_SIZE * drawn_width / WIDTH >= 12
    css = (Path(__file__).resolve().parents[2] / "static/css/sayso.css").read_text()
    assert ".map-figure { margin: 0 0 var(--space);" in css
    assert ".opinion-map { display: block; width: 100%;" in css


# --- 6. a citation confirmed where the page goes -----------------------------------------


@pytest.mark.django_db
def test_the_citation_is_confirmed_beside_the_citations(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    last = Statement.objects.get(conversation=conversation, number=7)
    client = signed_in(organiser)
    done = client.post(
        community_url(conversation, "cite"), {"statement": last.pk, "kind": "consensus"}
    )
    page = client.get(done["Location"]).content.decode()
    heading = page.index('<h2 id="citations" tabindex="-1">Cited as evidence</h2>')
    confirmation = page.index(
        f'Cited as evidence: “{last.text}” <a href="/c/{conversation.community.slug}/evidence/">'
        "See all your community's evidence</a></p>"
    )
    assert heading < confirmation < page.index(f"<li>“{last.text}” —")
    assert 'class="messages"' not in page  # not also at the top, out of view
    # Without ?cited= (a later visit) there is no confirmation.
    plain = client.get(community_url(conversation, "report")).content.decode()
    assert f"Cited as evidence: “{last.text}”" not in plain


# --- 7. the import page -------------------------------------------------------------------


def _import_url() -> str:
    return reverse("deliberation:import", kwargs={"slug": "depot"})


@pytest.mark.django_db
def test_the_import_page_says_what_an_anonymous_import_drops(depot_organiser: Client) -> None:
    page = depot_organiser.get(_import_url()).content.decode()
    assert (
        "An imported conversation is anonymous. So if you export it from Sayso later, that"
        " export does not say who wrote each statement or when each vote was cast" in page
    )
    # Nor does an import keep Polis's groups or its counts: said before importing.
    assert (
        "Sayso works out the opinion groups again from the votes, so they may differ from"
        " the groups Polis showed, and it counts each person's latest vote" in page
    )


def _queued(depot_organiser: Client, capture: Any) -> PolisImport:
    with capture(execute=False):  # the worker never takes it
        depot_organiser.post(
            _import_url(),
            {
                "topic": "$15/hour",
                "comments": SimpleUploadedFile(
                    "comments.csv", (FIXTURE / "comments.csv").read_bytes()
                ),
                "votes": SimpleUploadedFile("votes.csv", (FIXTURE / "votes.csv").read_bytes()),
            },
        )
    return PolisImport.objects.get()


@pytest.mark.django_db
def test_a_late_import_says_so_and_can_be_stopped_and_started_again(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    job = _queued(depot_organiser, django_capture_on_commit_callbacks)
    status = f"{_import_url()}?job={job.pk}"
    page = depot_organiser.get(status).content.decode()
    assert "A large export takes a minute or two." in page
    assert "taking longer than expected" not in page

    PolisImport.objects.filter(pk=job.pk).update(
        state=PolisImport.State.RUNNING,
        created_at=dt.datetime.now(dt.UTC) - services.POLIS_IMPORT_LATE - dt.timedelta(seconds=5),
    )
    page = depot_organiser.get(status).content.decode()
    assert "This is taking longer than expected" in page
    assert "Nothing has been imported yet." in page
    assert f'<button type="submit" name="cancel" value="{job.pk}" class="button">' in page

    stopped = depot_organiser.post(_import_url(), {"cancel": str(job.pk)})
    assert stopped["Location"] == status
    job.refresh_from_db()
    assert job.state == PolisImport.State.FAILED
    assert bytes(job.files) == b""
    page = depot_organiser.get(status).content.decode()
    assert "You stopped this import, so nothing was imported." in page
    assert 'name="comments"' in page  # the form, to start again
    assert 'name="topic" value="$15/hour"' in page  # with the question typed before
    assert Conversation.objects.count() == 0


@pytest.mark.django_db
def test_a_stopped_import_never_adds_a_conversation_even_mid_run(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    """The organiser presses "Stop and start again" once the worker has read the files
    and before it has written them all (from another connection, so committed before
    the worker's last step): the worker's transaction is undone."""
    job = _queued(depot_organiser, django_capture_on_commit_callbacks)
    real_read = services._read_folder

    def stopped_meanwhile(folder: Path) -> Any:
        export = real_read(folder)
        assert services.cancel_polis_import(community=job.community, job_id=job.pk)
        return export

    monkeypatch.setattr(services, "_read_folder", stopped_meanwhile)
    assert services.run_polis_import(job_id=job.pk) is not None
    job.refresh_from_db()
    assert job.state == PolisImport.State.FAILED
    assert job.error == "You stopped this import, so nothing was imported."
    assert (Conversation.objects.count(), Statement.objects.count(), Vote.objects.count()) == (
        0,
        0,
        0,
    )


@pytest.mark.django_db
def test_a_finished_import_cannot_be_stopped(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    job = _queued(depot_organiser, django_capture_on_commit_callbacks)
    services.run_polis_import(job_id=job.pk)
    assert not services.cancel_polis_import(community=job.community, job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.DONE
    assert Conversation.objects.count() == 1


@pytest.mark.django_db
def test_another_communitys_import_cannot_be_stopped(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    job = _queued(depot_organiser, django_capture_on_commit_callbacks)
    from sayso.core.tests.factories import CommunityFactory

    other = CommunityFactory.create()
    assert not services.cancel_polis_import(community=other, job_id=job.pk)
    job.refresh_from_db()
    assert job.state == PolisImport.State.QUEUED
    assert bytes(job.files)
