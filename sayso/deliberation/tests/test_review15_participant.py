"""Review 15, participant side: a long statement is refused with its words kept, not cut
off by the browser; the import form asks for the question at once with CSV files and
says one thing about an empty file; a statement held for a phone number says so; a
statement sent after the conversation closed comes back to copy; and a card sent alone
(htmx) does not warn that it has no CSRF token."""

from __future__ import annotations

import html
import re
import warnings
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community
from sayso.deliberation import services, views
from sayso.deliberation.forms import (
    ImportForm,
    SeedStatementForm,
    StatementEditForm,
    StatementForm,
)
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .factories import ConversationFactory, StatementFactory
from .helpers import SEATTLE, field_error, import_counts, public, signed_in, token

pytestmark = pytest.mark.django_db

IMPORT_URL = "/c/depot/conversations/import/"

# 307 characters: a browser keeping 280 of them cut "...at least three days ahead" short.
LONG = (
    "Scanner data should only ever be used to plan the work of the depot, never to judge"
    " one person, and any use of it in a disciplinary meeting should need the agreement"
    " of the union rep beforehand, with the worker told in writing what was looked at,"
    " by whom, and why, at least three days ahead of that meeting."
)


def _textarea(page: str) -> str:
    found = re.search(r'<textarea name="text"[^>]*>', page)
    assert found is not None, page
    return found.group(0)


# --- 1. a long statement is refused, not cut off -------------------------------------


def test_the_statement_boxes_carry_no_maxlength_and_show_the_limit() -> None:
    """maxlength="280" made the browser cut a pasted statement at 280 characters,
    mid-word, without a word to the writer."""
    for form in (StatementForm(), SeedStatementForm(), StatementEditForm()):
        box = str(form["text"])
        assert "maxlength" not in box, (type(form).__name__, box)
        assert "Up to 280 characters." in str(form["text"].help_text)


def test_the_participant_page_shows_the_limit_next_to_a_box_without_maxlength(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(community=community)
    client = Client()
    client.get(public(conversation))
    page = client.get(public(conversation, "statement")).content.decode()
    box = _textarea(page)
    assert "maxlength" not in box
    assert 'aria-describedby="id_text_helptext"' in box
    helptext = re.search(r'id="id_text_helptext">(.*?)</div>', page)
    assert helptext is not None
    assert "Up to 280 characters." in helptext.group(1)


def test_a_307_character_statement_is_refused_with_its_words_kept(community: Community) -> None:
    assert len(LONG) == 307
    conversation = ConversationFactory.create(community=community)
    client = Client()
    client.get(public(conversation))
    before = Statement.objects.count(), Participant.objects.count()
    response = client.post(public(conversation, "statement"), {"text": LONG})
    page = response.content.decode()
    assert response.status_code == 200
    assert field_error(page, "text") == (
        "Keep it to 280 characters so it reads well on a phone. It has 307."
    )
    # The whole text comes back in the box, to shorten, not 280 characters of it.
    assert f">\n{html.escape(LONG)}</textarea>" in page
    assert (Statement.objects.count(), Participant.objects.count()) == before


def test_the_length_is_counted_as_the_statement_is_kept(community: Community) -> None:
    """New lines and characters that show nothing are not kept (services), so they do
    not count: 280 visible characters over several lines are taken."""
    conversation = ConversationFactory.create(community=community)
    client = Client()
    client.get(public(conversation))
    start = LONG[:273]  # "... at least"
    typed = start + "\r\n\r\n\u200b" + "ahead."  # 284 sent, 280 kept
    assert len(typed) > 280
    assert len(start + " ahead.") == 280
    response = client.post(public(conversation, "statement"), {"text": typed})
    assert response.status_code == 302, field_error(response.content.decode(), "text")
    assert Statement.objects.get(conversation=conversation).text == start + " ahead."


def test_the_organisers_forms_refuse_a_long_statement_the_same_way(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    client = signed_in(organiser)
    url = reverse(
        "deliberation:statement-add",
        kwargs={"slug": community.slug, "conversation": conversation.pk},
    )
    assert "maxlength" not in _textarea(client.get(url).content.decode())
    page = client.post(url, {"text": LONG}).content.decode()
    assert field_error(page, "text") == (
        "Keep it to 280 characters so it reads well on a phone. It has 307."
    )
    assert not Statement.objects.filter(conversation=conversation).exists()


# --- 2. CSV files one by one need the question, said at once --------------------------


def _csv(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, (SEATTLE / name).read_bytes() if content is None else content, "text/csv"
    )


def test_csv_files_without_a_question_are_refused_at_once_next_to_it(
    depot_organiser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_read(**_: Any) -> None:
        raise AssertionError("the files were read")

    monkeypatch.setattr(services, "start_polis_import", must_not_read)
    response = depot_organiser.post(
        IMPORT_URL,
        {
            "topic": "   ",
            "comments": _csv("comments.csv"),
            "votes": _csv("votes.csv"),
            "participants_votes": _csv("participants-votes.csv"),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert field_error(page, "topic") == html.escape(
        "Write the question people were asked: separate files do not include it."
    )
    assert "summary.csv" not in page  # a file this form does not take
    assert import_counts() == (0, 0, 0, 0, 0)


def test_a_zip_without_a_question_is_not_refused_by_the_form(depot: Community) -> None:
    """A .zip file may carry the question (its summary.csv): the service looks."""
    archive = SimpleUploadedFile("export.zip", b"PK\x03\x04rest", "application/zip")
    form = ImportForm({"topic": "", "moderation": "pre"}, {"archive": archive}, community=depot)
    assert form.is_valid(), form.errors


def test_the_question_help_text_is_true_for_csv_files_too(depot_organiser: Client) -> None:
    page = depot_organiser.get(IMPORT_URL).content.decode()
    helptext = re.search(r'id="id_topic_helptext">(.*?)</div>', page, re.S)
    assert helptext is not None
    said = html.unescape(helptext.group(1))
    assert "With separate CSV files, write it here: they do not include it." in said
    assert "With a .zip file, you can leave it empty" in said


# --- 3. an empty file gets one message ------------------------------------------------

EMPTY = "The submitted file is empty."


def _errors(page: str, field: str) -> list[str]:
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


@pytest.mark.parametrize(
    ("files", "field"),
    [
        ({"comments": "", "votes": None}, "comments"),
        ({"comments": None, "votes": ""}, "votes"),
        ({"comments": None, "participants_votes": ""}, "participants_votes"),
        ({"comments": ""}, "comments"),
        ({"archive": ""}, "archive"),
    ],
    ids=["empty comments", "empty votes", "empty participants-votes", "only file", "zip"],
)
def test_an_empty_file_is_told_once(
    depot_organiser: Client, files: dict[str, str | None], field: str
) -> None:
    names = {**ImportForm.CSV_FIELDS, "archive": "export.zip"}
    posted: dict[str, Any] = {"topic": "Should scanner data be used in discipline?"}
    for name, content in files.items():
        posted[name] = (
            SimpleUploadedFile(names[name], b"")
            if content == ""
            else _csv(ImportForm.CSV_FIELDS[name])
        )
    page = depot_organiser.post(IMPORT_URL, posted).content.decode()
    assert _errors(page, field) == [EMPTY]
    # Nothing elsewhere says to choose a file that was chosen.
    assert "Choose the comments.csv file" not in page
    assert "Add votes.csv" not in page
    assert "Choose the .zip file of the export" not in page
    assert import_counts() == (0, 0, 0, 0, 0)


def test_a_missing_comments_file_is_still_asked_for(depot_organiser: Client) -> None:
    page = depot_organiser.post(
        IMPORT_URL, {"topic": "Scanner data?", "votes": _csv("votes.csv")}
    ).content.decode()
    assert _errors(page, "comments") == ["Choose the comments.csv file from the export."]
    assert import_counts() == (0, 0, 0, 0, 0)


# --- 4. a phone number is a personal detail, not a name -------------------------------


def test_a_statement_held_for_a_phone_number_says_personal_details(
    community: Community,
) -> None:
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.POST
    )
    client = Client()
    client.get(public(conversation))
    page = client.get(public(conversation, "statement")).content.decode()
    assert "unless it may contain personal details, such as a name or a phone number" in page
    response = client.post(
        public(conversation, "statement"),
        {"text": "Call 07700 900123 if the scanner data is used against you"},
        follow=True,
    )
    said = response.content.decode()
    assert Statement.objects.get(conversation=conversation).state == Statement.State.HELD
    assert (
        "Thank you. Your statement may contain personal details, such as a name or a phone"
        " number, so an organiser will check it before it appears."
    ) in said
    assert "may name a person" not in said


# --- 5. a statement sent after closing comes back ------------------------------------


def test_a_statement_sent_after_the_conversation_closed_comes_back_to_copy(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    StatementFactory.create(conversation=conversation)
    client = Client()
    client.get(public(conversation))
    assert 'name="text"' in client.get(public(conversation, "statement")).content.decode()
    services.set_state(conversation=conversation, open=False, actor=organiser)
    typed = 'Breaks <should> be paid & "counted" as work'
    before = Statement.objects.count()
    response = client.post(public(conversation, "statement"), {"text": typed})
    page = response.content.decode()
    assert response.status_code == 200
    assert "This conversation has closed" in page
    kept = re.search(r'<textarea id="kept-text"([^>]*)>(.*?)</textarea>', page, re.S)
    assert kept is not None
    assert "readonly" in kept.group(1)
    assert 'name="' not in kept.group(1)  # shown to copy, never sent again
    assert html.unescape(kept.group(2)).strip() == typed
    assert 'for="kept-text"' in page
    assert Statement.objects.count() == before


def test_nothing_is_shown_back_on_a_closed_conversation_before_anything_is_sent(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    services.set_state(conversation=conversation, open=False, actor=organiser)
    page = Client().get(public(conversation, "statement")).content.decode()
    assert "This conversation has closed" in page
    assert "kept-text" not in page


def test_a_statement_sent_before_joining_comes_back_too(community: Community) -> None:
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS
    )
    response = Client().post(public(conversation, "statement"), {"text": "Breaks should be paid"})
    page = response.content.decode()
    assert re.search(r'<textarea id="kept-text"[^>]*>\s*Breaks should be paid</textarea>', page)
    assert not Statement.objects.filter(conversation=conversation).exists()


# --- 6. a card sent alone does not warn about its missing CSRF token --------------------


def _csrf_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "csrf_token" in str(w.message)]


def test_cards_sent_alone_do_not_warn_about_a_csrf_token(
    community: Community, settings: Any
) -> None:
    settings.DEBUG = True  # Django warns only then
    views._skeletons.clear()  # the first card of each language and address is rendered
    conversation = ConversationFactory.create(community=community)
    first, *_others = StatementFactory.create_batch(3, conversation=conversation)
    client = Client()
    htmx = {"HX-Request": "true"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        voted = client.post(
            public(conversation), {"statement": token(first), "vote": "agree"}, headers=htmx
        )
        refused = client.post(
            public(conversation), {"statement": "99", "vote": "agree"}, headers=htmx
        )
        changing = client.get(
            f"{public(conversation)}?change={token(first)}",
            headers={**htmx, "HX-Target": "card-region"},
        )
    assert _csrf_warnings(caught) == []
    for response in (voted, refused, changing):
        assert response.status_code == 200
        card = response.content.decode()
        assert "<html" not in card
        assert "csrfmiddlewaretoken" not in card  # htmx sends the page's token
    assert "Vote recorded. 1 of 3 done." in voted.content.decode()
    assert "notification--error" in refused.content.decode()
    assert "You voted “Agree” on this statement." in changing.content.decode()
    assert Vote.objects.count() == 1
    # The page without JavaScript still has its own token in the form.
    page = client.get(public(conversation)).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
