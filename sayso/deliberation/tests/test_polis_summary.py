"""summary.csv: Sayso's export writes the question and background in Polis's shape, and
the import takes them back when the organiser leaves them empty (what they type wins).

A summary.csv that cannot be read never blocks good votes: it is ignored with a notice,
unless the question was to come from it; then the upload is refused next to the question,
naming the file and line, and nothing is created. The import form also asks for the
moderation and the data practice, defaulting as the creation form does."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from sayso.analysis.opinion_map.polis_io import PolisImportError, read_summary
from sayso.core.models import Community
from sayso.core.services import ServiceError
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Statement
from sayso.organisations.tests.factories import DataPracticeFactory

from .factories import (
    ConversationFactory,
    ParticipantFactory,
    StatementFactory,
    VoteFactory,
    planted,
)
from .helpers import field_error as _field_error
from .helpers import import_counts as _counts

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[2] / "analysis/tests/fixtures/polis/15-per-hour-seattle"
IMPORT_URL = "/c/depot/conversations/import/"
SEATTLE_DESCRIPTION = (
    "How do you think the new minimum wage law will affect Seattle? Will it be for the"
    " better or for the worse? Why?"
)
CHOOSE_AGAIN = (
    "Choose the file again: a browser does not keep a chosen file when the page comes back"
    " with a problem."
)


def _seattle_zip(summary: bytes | None = None) -> SimpleUploadedFile:
    """The openData export zipped in its folder, with its own summary.csv or another."""
    files = {n: (FIXTURE / n).read_bytes() for n in ("comments.csv", "votes.csv")}
    if summary is not None:
        files["summary.csv"] = summary
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"15-per-hour-seattle/{name}", data)
    return SimpleUploadedFile("export.zip", packed.getvalue(), "application/zip")


def _import(client: Client, archive: SimpleUploadedFile, **fields: Any) -> Any:
    return client.post(
        IMPORT_URL, {"topic": "", "description": "", "archive": archive, **fields}, follow=True
    )


def _summary(archive: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return list(csv.reader(io.StringIO(opened.read("summary.csv").decode())))


def _export(client: Client, conversation: Conversation) -> bytes:
    response = client.get(
        reverse("deliberation:export", kwargs={"slug": "depot", "conversation": conversation.pk})
    )
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(cast("Iterator[bytes]", response.streaming_content))


# --- export ------------------------------------------------------------------------------


@pytest.mark.parametrize("anonymous", [False, True])
def test_the_export_writes_a_polis_summary_without_the_link(
    depot: Community, depot_organiser: Client, anonymous: bool
) -> None:
    conversation = ConversationFactory.create(
        community=depot,
        anonymous=anonymous,
        topic="Scanner data, yes or no?",
        description='Since May, "for safety".\nAsk us anything.',
    )
    people = [ParticipantFactory.create(conversation=conversation, number=n) for n in range(4)]
    seed = StatementFactory.create(conversation=conversation, number=0)
    StatementFactory.create(
        conversation=conversation, number=1, kind=Statement.Kind.PARTICIPANT, author=people[0]
    )
    StatementFactory.create(
        conversation=conversation, number=2, kind=Statement.Kind.PARTICIPANT, author=people[0]
    )
    for person in people[:3]:
        VoteFactory.create(participant=person, statement=seed)
    services.compute_now(conversation=conversation)  # the export holds published votes
    archive = _export(depot_organiser, conversation)
    # Polis's key,value rows, in its order: four people joined, three of them voted
    # (three rows of participants-votes.csv), and the map placed those three in one group.
    expected = [
        ["topic", "Scanner data, yes or no?"],
        ["url", ""],
        ["voters", "3"],
        ["voters-in-conv", "3"],
        *([] if anonymous else [["commenters", "1"]]),
        ["comments", "3"],
        ["groups", "1"],
        ["conversation-description", 'Since May, "for safety".\nAsk us anything.'],
    ]
    assert _summary(archive) == expected
    # The link to take part (its token) is in none of the files.
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name in opened.namelist():
            assert conversation.public_token.encode() not in opened.read(name), name


def test_the_summary_counts_the_groups_of_the_map(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    rows = dict(_summary(_export(depot_organiser, conversation)))
    assert rows["voters"] == "20"
    assert rows["groups"] == "2"
    assert rows["voters-in-conv"] == "20"


# --- import ------------------------------------------------------------------------------


def test_a_polis_summary_gives_the_question_and_background(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _import(depot_organiser, _seattle_zip((FIXTURE / "summary.csv").read_bytes()))
    assert response.status_code == 200
    conversation = Conversation.objects.get()
    assert (conversation.topic, conversation.description) == ("$15/hour", SEATTLE_DESCRIPTION)
    # The creation form's defaults for what the form did not say.
    assert conversation.moderation == Conversation.Moderation.PRE
    assert conversation.data_practice is None
    assert (conversation.anonymous, conversation.access) == (True, Conversation.Access.LINK)


def test_what_the_organiser_types_wins(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _import(
            depot_organiser,
            _seattle_zip((FIXTURE / "summary.csv").read_bytes()),
            topic="  Minimum   wage in Seattle ",
            description="Our own words.",
        )
    conversation = Conversation.objects.get()
    assert (conversation.topic, conversation.description) == (
        "Minimum wage in Seattle",
        "Our own words.",
    )


def test_a_typed_question_with_the_background_left_empty_takes_the_summarys(
    depot_organiser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _import(
            depot_organiser,
            _seattle_zip((FIXTURE / "summary.csv").read_bytes()),
            topic="Minimum wage",
        )
    conversation = Conversation.objects.get()
    assert (conversation.topic, conversation.description) == ("Minimum wage", SEATTLE_DESCRIPTION)


BAD_SUMMARIES = [
    (
        b"topic,$15/hour,extra\n",
        "summary.csv, line 1: expected 2 fields (a name and its value), found 3",
    ),
    (
        b"topic,$15/hour\nurl,\ntopic,Other\n",
        "summary.csv, line 3: topic is given twice (first on line 1)",
    ),
    (
        b'topic,$15/hour\nconversation-description,"never closed\n',
        "summary.csv, line 2: not a valid comma-separated (CSV) file: a quoted value is never"
        ' closed: a closing " is missing',
    ),
    ("topic,Caf\u00e9\n".encode("cp1252"), "summary.csv could not be read as text (UTF-8)"),
]


@pytest.mark.parametrize(("summary", "problem"), BAD_SUMMARIES)
def test_a_bad_summary_is_ignored_with_a_notice_when_the_question_is_typed(
    depot_organiser: Client,
    django_capture_on_commit_callbacks: Any,
    summary: bytes,
    problem: str,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _import(depot_organiser, _seattle_zip(summary), topic="Minimum wage")
    conversation = Conversation.objects.get()
    assert (conversation.topic, conversation.description) == ("Minimum wage", "")
    assert conversation.statements.count() == 54
    notice = (
        f"The export's summary.csv was left out, as it could not be read ({problem})."
        " Everything else was checked and is being imported."
    )
    assert [str(m) for m in response.context["messages"]][:1] == [notice]
    assert html.escape(notice) in response.content.decode()


@pytest.mark.parametrize(("summary", "problem"), BAD_SUMMARIES)
def test_a_bad_summary_that_was_to_give_the_question_is_refused_next_to_it(
    depot_organiser: Client, summary: bytes, problem: str
) -> None:
    response = _import(depot_organiser, _seattle_zip(summary))
    page = response.content.decode()
    expected = (
        "Write the question the conversation asked. It could not be taken from the export:"
        f" {problem}."
    )
    assert _field_error(page, "topic") == html.escape(expected)
    assert _counts() == (0, 0, 0, 0, 0)
    # The browser forgot the chosen file: said next to its field.
    assert CHOOSE_AGAIN in page


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        (
            None,
            "Write the question the conversation asked: the export does not say it (it has no"
            " summary.csv with a topic).",
        ),
        (
            b"url,\nvoters,3\n",
            "Write the question the conversation asked: the export does not say it (it has no"
            " summary.csv with a topic).",
        ),
        (
            b"topic," + b"q" * 201 + b"\n",
            "The question in the export's summary.csv is longer than 200 characters. Write"
            " a shorter one here.",
        ),
    ],
    ids=["no summary", "no topic in it", "topic too long"],
)
def test_without_a_question_from_anywhere_nothing_is_created(
    depot_organiser: Client, summary: bytes | None, message: str
) -> None:
    response = _import(depot_organiser, _seattle_zip(summary))
    assert _field_error(response.content.decode(), "topic") == html.escape(message)
    assert _counts() == (0, 0, 0, 0, 0)


def test_csv_files_without_a_typed_question_are_refused(depot_organiser: Client) -> None:
    response = depot_organiser.post(
        IMPORT_URL,
        {
            "topic": "",
            "comments": SimpleUploadedFile("comments.csv", (FIXTURE / "comments.csv").read_bytes()),
            "votes": SimpleUploadedFile("votes.csv", (FIXTURE / "votes.csv").read_bytes()),
        },
    )
    page = response.content.decode()
    assert _field_error(page, "topic") == html.escape(
        "Write the question people were asked: separate files do not include it."
    )
    assert _counts() == (0, 0, 0, 0, 0)
    # Both chosen files must be chosen again; the one left empty says nothing of it.
    assert page.count(CHOOSE_AGAIN) == 2
    helptext = re.search(r'id="id_participants_votes_helptext">(.*?)</div>', page)
    assert helptext is not None
    assert CHOOSE_AGAIN not in helptext.group(1)


def test_the_form_untouched_does_not_ask_to_choose_again(depot_organiser: Client) -> None:
    assert CHOOSE_AGAIN not in depot_organiser.get(IMPORT_URL).content.decode()


def test_the_import_form_defaults_as_the_creation_form_does(
    depot: Community, depot_organiser: Client
) -> None:
    DataPracticeFactory.create(organisation__community=depot, title="Scanner rates")
    DataPracticeFactory.create(title="Someone else's practice")

    def checked_and_selected(url: str) -> tuple[list[str], list[str], list[str]]:
        page = depot_organiser.get(url).content.decode()
        checked = re.findall(
            r'<input type="radio" name="moderation" value="(\w+)"[^>]*checked', page
        )
        select = re.search(r'<select name="data_practice".*?</select>', page, re.DOTALL)
        assert select is not None
        options = re.findall(r"<option[^>]*>(.*?)</option>", select.group(0))
        selected = re.findall(r'<option value="([^"]*)" selected>', select.group(0))
        return checked, options, selected

    created = checked_and_selected("/c/depot/conversations/new/")
    imported = checked_and_selected(IMPORT_URL)
    assert imported == created
    assert imported[0] == ["pre"]
    assert imported[1][0] == "Not about one data practice"
    assert not any("Someone else" in option for option in imported[1])


def test_another_communitys_data_practice_is_refused(
    depot: Community, depot_organiser: Client
) -> None:
    theirs = DataPracticeFactory.create()
    response = _import(
        depot_organiser,
        _seattle_zip((FIXTURE / "summary.csv").read_bytes()),
        data_practice=theirs.pk,
    )
    assert _field_error(response.content.decode(), "data_practice").startswith(
        "Select a valid choice."
    )
    assert _counts() == (0, 0, 0, 0, 0)
    with pytest.raises(ServiceError, match=r"That data practice belongs to another community\."):
        services.start_polis_import(
            community=depot,
            actor=None,
            archive=_seattle_zip((FIXTURE / "summary.csv").read_bytes()),
            data_practice=theirs,
        )
    assert _counts() == (0, 0, 0, 0, 0)


def test_a_data_practice_deleted_before_the_worker_runs_is_left_out(
    depot: Community, django_capture_on_commit_callbacks: Any
) -> None:
    practice = DataPracticeFactory.create(organisation__community=depot)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_polis_import(
            community=depot,
            actor=None,
            archive=_seattle_zip((FIXTURE / "summary.csv").read_bytes()),
            moderation="post",
            data_practice=practice,
        )
    practice.delete()
    services.run_polis_import(job_id=job.pk)
    conversation = Conversation.objects.get()
    assert (conversation.moderation, conversation.data_practice) == ("post", None)


# --- reading summary.csv -----------------------------------------------------------------


def test_every_key_of_a_real_summary_is_read(tmp_path: Path) -> None:
    summary = read_summary(FIXTURE / "summary.csv")
    assert summary.topic == "$15/hour"
    assert summary.description == SEATTLE_DESCRIPTION
    assert list(summary.values) == [
        "topic",
        "url",
        "views",
        "voters",
        "voters-in-conv",
        "commenters",
        "comments",
        "groups",
        "conversation-description",
    ]
    # A byte-order mark and blank lines are fine; a description may run over lines.
    path = tmp_path / "summary.csv"
    path.write_bytes(b'\xef\xbb\xbftopic,Q?\n\nconversation-description,"a\nb"\nvoters,1\n')
    again = read_summary(path)
    assert (again.topic, again.description, again.values["voters"]) == ("Q?", "a\nb", "1")


def test_an_over_large_summary_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_bytes(b"topic,x\n" + b"a," + b"b" * (1024 * 1024) + b"\n")
    with pytest.raises(PolisImportError, match="larger than 1 MB"):
        read_summary(path)
