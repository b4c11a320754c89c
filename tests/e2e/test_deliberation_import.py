"""An organiser exports a conversation, imports the file it gave as a new conversation
and reads its report; a spreadsheet saved in the wrong encoding is refused next to its
field. Without JavaScript, as every page must work without it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import Community, Membership, Role
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, PolisImport, Statement, Vote

from .conftest import PASSWORD, BrowseFactory, sign_in

pytestmark = pytest.mark.e2e


def _conversation(community: Community) -> Conversation:
    """Eleven people over three days: five, then one, then five. Named (not anonymous):
    the export of an anonymous conversation shuffles participant numbers and gives every
    vote one day, which this round trip would not show."""
    conversation = services.create_conversation(
        conversation=Conversation(
            topic="What should the rules be for the scanner data?", anonymous=False
        ),
        community=community,
        actor=None,
        seed_statements=["Scanner data should never be used on its own.", "We want to know more."],
    )
    statements = list(Statement.objects.filter(conversation=conversation).order_by("number"))
    first = dt.date.today() - dt.timedelta(days=2)
    days = [first] * 5 + [first + dt.timedelta(days=1)] + [first + dt.timedelta(days=2)] * 5
    for number, day in enumerate(days):
        person = Participant.objects.create(conversation=conversation, number=number, joined_on=day)
        for statement in statements:
            Vote.objects.create(
                participant=person,
                statement=statement,
                value=1 if number % 3 else -1,
                created_on=day,
            )
    Statement.objects.filter(pk=statements[1].pk).update(state=Statement.State.REJECTED)
    # The recompute the votes would queue: the export holds the published votes, all of
    # them in the first version.
    services.compute_now(conversation=conversation)
    return conversation


def test_export_then_import_the_same_file_and_read_the_report(
    browse: BrowseFactory, settings: Any, tmp_path: Path
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.OWNER)
    original = _conversation(community)

    rep = browse("rep", javascript=False)
    sign_in(rep, user.email)
    page = rep.page
    rep.visit(f"/c/northgate-depot/conversations/{original.pk}/")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Export (Polis files, .zip)").click()
    exported = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(exported)
    assert exported.suffix == ".zip"

    # A Latin-1 votes.csv first: refused next to its field, nothing made.
    rep.visit("/c/northgate-depot/conversations/")
    rep.follow("Import a conversation")
    page.get_by_label("Question of the conversation:").fill("Scanner data, imported")
    latin = tmp_path / "votes.csv"
    latin.write_bytes(
        "timestamp,datetime,comment-id,voter-id,vote\n1,Café,0,0,1\n".encode("cp1252")
    )
    comments = tmp_path / "comments.csv"
    comments.write_text("comment-id,author-id,agrees,disagrees,moderated,comment-body\n")
    page.get_by_label("comments.csv:", exact=True).set_input_files(str(comments))
    page.get_by_label("votes.csv:", exact=True).set_input_files(str(latin))
    rep.submit("Check and import")
    message = "votes.csv could not be read as text (UTF-8). Save it as CSV UTF-8 and try again."
    assert page.locator("#id_votes_error").inner_text() == message
    # The message names its file already: the summary does not say "votes.csv: " again.
    assert page.locator("#error-summary").get_by_role("link").inner_text() == message
    # The browser emptied both file fields: each chosen file's field says to choose it again.
    again = "Choose the file again: a browser does not keep a chosen file when the page"
    assert again in page.locator("#id_votes_helptext").inner_text()
    assert again in page.locator("#id_comments_helptext").inner_text()
    assert (PolisImport.objects.count(), Conversation.objects.count()) == (0, 1)

    # Then the exported zip, as it came.
    page.get_by_label("Question of the conversation:").fill("Scanner data, imported")
    page.get_by_label("Export file (.zip):").set_input_files(str(exported))
    rep.submit("Check and import")  # checked, imported by the worker, then the conversation
    copy = Conversation.objects.exclude(pk=original.pk).get()
    assert page.get_by_role("heading", level=1).inner_text() == copy.topic

    def content(conversation: Conversation) -> tuple[set[Any], set[Any]]:
        return (
            set(
                Statement.objects.filter(conversation=conversation).values_list(
                    "number", "text", "state", "kind", "is_meta", "created_on"
                )
            ),
            set(
                Vote.objects.filter(participant__conversation=conversation).values_list(
                    "participant__number", "statement__number", "value", "created_on"
                )
            ),
        )

    assert content(copy) == content(original)
    assert len(content(copy)[1]) == 22

    rep.follow("Open the report")
    assert page.get_by_role("heading", name="Participation over time").count() == 1
    table = page.get_by_role("table", name="Votes and new participants per day")
    rows = [
        [cell.inner_text() for cell in row.locator("th, td").all()]
        for row in table.locator("tbody tr").all()
    ]
    third = dt.date.today()
    assert rows == [[f"{third.day} {third:%b %Y}", "10", "5"], ["Other days", "12", "6"]]
    assert "fewer than 5" not in table.inner_text()
