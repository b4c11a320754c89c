"""The first vote from a page joins once: a double click or double submit of it (no
participant cookie yet) leaves one participant and one vote, not one per request."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Vote

from .factories import ConversationFactory, StatementFactory
from .helpers import token as vote_token

SUBMITS = 6


def _public(conversation: Conversation) -> str:
    return reverse(
        "deliberation_public:participate", kwargs={"public_token": conversation.public_token}
    )


def _join_token(html: str) -> str:
    found = re.search(r'<input type="hidden" name="join" value="([^"]+)">', html)
    assert found is not None, "the page for someone who has not joined carries a join token"
    return found.group(1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("htmx", [True, False])
def test_concurrent_first_votes_from_one_page_join_once(htmx: bool) -> None:
    # Real threads through the whole view: on SQLite (a file, real locking) and on
    # PostgreSQL when DATABASE_URL names one.
    conversation = ConversationFactory.create()
    statement, _other = StatementFactory.create_batch(2, conversation=conversation)
    url = _public(conversation)
    token = _join_token(Client().get(url).content.decode())
    headers = {"HX-Request": "true"} if htmx else {}
    barrier = threading.Barrier(SUBMITS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait()
            response = Client().post(
                url,
                {"statement": vote_token(statement), "vote": "agree", "join": token},
                headers=headers,
            )
            statuses.append(response.status_code)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(SUBMITS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert statuses == [200 if htmx else 303] * SUBMITS
    assert Participant.objects.count() == 1
    assert Vote.objects.count() == 1
    participant = Participant.objects.get()
    assert participant.join_digest == Participant.digest_of(token.split(":")[0])
    assert token.split(":")[0] not in participant.join_digest  # only the digest is kept


@pytest.mark.django_db
def test_a_token_joins_once_and_another_page_joins_a_new_participant() -> None:
    conversation = ConversationFactory.create()
    statement = StatementFactory.create(conversation=conversation)
    url = _public(conversation)
    first = _join_token(Client().get(url).content.decode())
    second = _join_token(Client().get(url).content.decode())
    assert first != second
    for token in (first, first, second):
        Client().post(url, {"statement": vote_token(statement), "vote": "agree", "join": token})
    assert Participant.objects.count() == 2
    assert Vote.objects.count() == 2


@pytest.mark.django_db
def test_a_forged_or_missing_token_joins_afresh_as_before() -> None:
    conversation = ConversationFactory.create()
    statement = StatementFactory.create(conversation=conversation)
    url = _public(conversation)
    for extra in ({"join": "made-up:token"}, {"join": "made-up:token"}, {}, {}):
        Client().post(url, {"statement": vote_token(statement), "vote": "agree", **extra})
    assert Participant.objects.count() == 4
    assert set(Participant.objects.values_list("join_digest", flat=True)) == {""}


@pytest.mark.django_db
def test_an_expired_token_joins_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    from sayso.deliberation import views

    conversation = ConversationFactory.create()
    statement = StatementFactory.create(conversation=conversation)
    url = _public(conversation)
    token = _join_token(Client().get(url).content.decode())
    monkeypatch.setattr(views, "JOIN_TOKEN_SECONDS", -1)
    for _ in range(2):
        Client().post(url, {"statement": vote_token(statement), "vote": "agree", "join": token})
    assert Participant.objects.count() == 2


@pytest.mark.django_db
def test_a_known_participant_gets_no_join_token_and_join_is_idempotent_per_token() -> None:
    conversation = ConversationFactory.create()
    statement, _other = StatementFactory.create_batch(2, conversation=conversation)
    client = Client()
    url = _public(conversation)
    token = _join_token(client.get(url).content.decode())
    client.post(url, {"statement": vote_token(statement), "vote": "agree", "join": token})
    assert 'name="join"' not in client.get(url).content.decode()
    again = services.join(conversation=conversation, token="raw")
    assert services.join(conversation=conversation, token="raw") == again
    assert services.join(conversation=conversation) != again
    assert Participant.objects.count() == 3
