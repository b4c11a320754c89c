# mypy: disable-error-code="no-untyped-call,arg-type"
"""A code works once in each survey and each conversation, not once anywhere.

An organiser prints one code per worker (on pay-slip envelopes) and gives the batch to
a survey and to a conversation: a worker who answered the survey can still join the
conversation, and neither lets them in twice, even from two browsers at once. Here, as
core may not import surveys or conversations (import rule 4)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sayso.core.models import Community, InvitationCode, InvitationCodeBatch, InvitationCodeUse
from sayso.core.services import ServiceError, create_code_batch, redeem_code
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.deliberation import services as deliberation
from sayso.deliberation.models import Conversation, Participant
from sayso.deliberation.tests.factories import ConversationFactory
from sayso.surveys import services as surveys
from sayso.surveys.models import Response, Survey
from sayso.surveys.tests.factories import make_survey, start_with_code_at_once

pytestmark = pytest.mark.django_db

ALREADY_USED = "already been used"


def titled(community: Community, title: str) -> Survey:
    survey = make_survey(community)
    survey.title = title
    survey.save(update_fields=["title"])
    return survey


def envelopes(size: int = 3) -> tuple[Survey, Conversation, list[str]]:
    """An open survey with codes, and an open conversation that takes the same codes."""
    community = CommunityFactory(name="Depot Workers", slug="depot")
    organiser = OrganiserFactory(community=community).user
    survey = titled(community, "Night shift survey")
    batch, codes = surveys.create_codes(survey=survey, actor=organiser, size=size)
    surveys.set_status(survey=survey, status=Survey.Status.OPEN, actor=organiser)
    conversation = ConversationFactory.create(
        community=community,
        topic="Scanner rules",
        access=Conversation.Access.CODES,
        anonymous=True,
        code_batch=batch,
    )
    return survey, conversation, codes


def uses() -> list[tuple[str, str, int]]:
    """Every use: the code's digest, the activity's kind and id (a use keeps no date)."""
    return sorted(
        InvitationCodeUse.objects.values_list("code__digest", "activity_type__model", "activity_id")
    )


def survey_code_page(survey: Survey) -> str:
    return reverse("surveys_public:code", kwargs={"link": survey.link_token})


def conversation_page(conversation: Conversation) -> str:
    return reverse(
        "deliberation_public:participate", kwargs={"public_token": conversation.public_token}
    )


def organiser(community: Community) -> Client:
    return signed_in(OrganiserFactory(community=community).user)


# --- one code, once in each ---------------------------------------------------------------


def test_one_code_answers_the_survey_and_joins_the_conversation_once_each() -> None:
    survey, conversation, codes = envelopes()
    surveys.start_response(survey=survey, language="en", code=codes[0])
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[0]) is not None
    digest = InvitationCode.digest_of(codes[0])
    assert uses() == sorted(
        [(digest, "survey", survey.pk), (digest, "conversation", conversation.pk)]
    )
    # A second time in either is refused, and nothing changes.
    with pytest.raises(ServiceError, match=ALREADY_USED):
        surveys.start_response(survey=survey, language="en", code=codes[0])
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[0]) is None
    assert Response.objects.filter(survey=survey).count() == 1
    assert Participant.objects.filter(conversation=conversation).count() == 1
    assert len(uses()) == 2


def test_in_the_browser_the_card_opens_each_once() -> None:
    survey, conversation, codes = envelopes()
    worker = codes[1].lower()  # typed off the envelope
    assert Client().post(survey_code_page(survey), {"code": worker}).status_code == 302
    assert Client().post(conversation_page(conversation), {"code": worker}).status_code == 302
    again = Client().post(survey_code_page(survey), {"code": worker})
    assert ALREADY_USED in again.content.decode()
    again = Client().post(conversation_page(conversation), {"code": worker})
    assert ALREADY_USED in again.content.decode()
    assert Response.objects.filter(survey=survey).count() == 1
    assert Participant.objects.filter(conversation=conversation).count() == 1
    assert len(uses()) == 2


def test_a_code_from_another_batch_opens_neither() -> None:
    survey, conversation, _codes = envelopes()
    _other, theirs = create_code_batch(
        community=survey.community, actor=None, label="Canteen", size=1
    )
    with pytest.raises(ServiceError, match=ALREADY_USED):
        surveys.start_response(survey=survey, language="en", code=theirs[0])
    assert deliberation.join_with_code(conversation=conversation, raw_code=theirs[0]) is None
    assert uses() == []
    assert not Response.objects.exists()
    assert not Participant.objects.exists()


# --- at the same moment ---------------------------------------------------------------------


def join_with_code_at_once(conversation: Conversation, code: str, attempts: int) -> list[str]:
    """`attempts` browsers joining the conversation with one code at the same moment:
    what each was told, "ok" or "refused" (or the unexpected error)."""
    outcomes: list[str] = []
    barrier = threading.Barrier(attempts)

    def attempt() -> None:
        try:
            barrier.wait()
            joined = deliberation.join_with_code(
                conversation=Conversation.objects.get(pk=conversation.pk), raw_code=code
            )
            outcomes.append("ok" if joined is not None else "refused")
        except Exception as error:
            outcomes.append(f"error {error}")
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_one_code_sent_at_once_to_one_conversation_joins_once() -> None:
    _survey, conversation, codes = envelopes(size=1)
    outcomes = join_with_code_at_once(conversation, codes[0], attempts=6)
    assert sorted(outcomes) == ["ok"] + ["refused"] * 5, outcomes
    assert Participant.objects.filter(conversation=conversation).count() == 1
    assert len(uses()) == 1


@pytest.mark.django_db(transaction=True)
def test_one_code_sent_at_once_to_the_survey_and_the_conversation_opens_each_once() -> None:
    survey, conversation, codes = envelopes(size=1)
    in_survey: list[str] = []
    in_conversation: list[str] = []
    both = [
        threading.Thread(
            target=lambda: in_survey.extend(start_with_code_at_once(survey, codes[0]))
        ),
        threading.Thread(
            target=lambda: in_conversation.extend(
                join_with_code_at_once(conversation, codes[0], attempts=4)
            )
        ),
    ]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert sorted(in_survey) == ["ok"] + ["refused"] * 3, in_survey
    assert sorted(in_conversation) == ["ok"] + ["refused"] * 3, in_conversation
    assert Response.objects.filter(survey=survey).count() == 1
    assert Participant.objects.filter(conversation=conversation).count() == 1
    assert [(kind, pk) for _digest, kind, pk in uses()] == sorted(
        [("survey", survey.pk), ("conversation", conversation.pk)]
    )


# --- what organisers are shown ----------------------------------------------------------------


def used_cells(html: str) -> dict[str, str]:
    """The community's codes page: each set's "Used" cell as text, by its label."""
    rows = re.findall(r"<tr><td>([^<]*)</td>.*?</td>.*?</td><td>(.*?)</td></tr>", html, re.S)
    return {label: re.sub(r"<[^>]+>", "", cell) for label, cell in rows}


def test_the_community_codes_page_counts_uses_for_each_activity() -> None:
    survey, conversation, codes = envelopes(size=5)
    for code in codes[:3]:
        surveys.start_response(survey=survey, language="en", code=code)
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[2])
    canteen, _codes = create_code_batch(
        community=survey.community, actor=None, label="Canteen", size=2
    )
    page = organiser(survey.community).get(reverse("core:codes", kwargs={"slug": "depot"}))
    html = page.content.decode()
    assert used_cells(html) == {
        "Survey: Night shift survey": "3 codes for “Night shift survey”1 code for “Scanner rules”",
        "Canteen": "Not used yet",
    }
    assert f'<a href="{survey.get_absolute_url()}">3 codes for “Night shift survey”</a>' in html
    assert f'<a href="{conversation.get_absolute_url()}">1 code for “Scanner rules”</a>' in html
    assert canteen.label in html
    # A name is shown as typed, never as markup.
    Conversation.objects.filter(pk=conversation.pk).update(topic="<b>Rules</b> & you")
    html = (
        organiser(survey.community)
        .get(reverse("core:codes", kwargs={"slug": "depot"}))
        .content.decode()
    )
    assert "1 code for “&lt;b&gt;Rules&lt;/b&gt; &amp; you”</a>" in html


def test_uses_for_an_activity_since_deleted_or_of_another_community_are_not_named() -> None:
    survey, conversation, codes = envelopes(size=4)
    surveys.start_response(survey=survey, language="en", code=codes[0])
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[0])
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[1])
    # Cannot happen through the pages (a community's activities take only its codes);
    # if it did, the other community's survey would not be named.
    elsewhere = titled(CommunityFactory(), "Their private survey")
    assert redeem_code(batch=survey.code_batch, raw_code=codes[3], activity=elsewhere)
    conversation.delete()
    html = (
        organiser(survey.community)
        .get(reverse("core:codes", kwargs={"slug": "depot"}))
        .content.decode()
    )
    assert used_cells(html) == {
        "Survey: Night shift survey": "1 code for “Night shift survey”"
        "3 codes for a survey or conversation since deleted"
    }
    assert "Their private survey" not in html


def test_the_community_codes_page_takes_the_same_queries_however_many_uses() -> None:
    survey, conversation, codes = envelopes(size=2)
    surveys.start_response(survey=survey, language="en", code=codes[0])
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[1])
    client = organiser(survey.community)
    url = reverse("core:codes", kwargs={"slug": "depot"})

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    few = queries()  # one survey and one conversation named
    for n in range(3):
        more = titled(survey.community, f"Survey {n}")
        more_batch, more_codes = surveys.create_codes(survey=more, actor=None, size=2)
        surveys.set_status(survey=more, status=Survey.Status.OPEN, actor=None)
        surveys.start_response(survey=more, language="en", code=more_codes[0])
        other = ConversationFactory.create(community=survey.community, code_batch=more_batch)
        assert redeem_code(batch=more_batch, raw_code=more_codes[1], activity=other)
    assert queries() == few  # four of each


def test_a_surveys_codes_page_counts_only_its_own_uses() -> None:
    survey, conversation, codes = envelopes(size=4)
    surveys.start_response(survey=survey, language="en", code=codes[0])
    for code in codes[:3]:
        assert deliberation.join_with_code(conversation=conversation, raw_code=code)
    url = reverse("surveys:codes", kwargs={"slug": "depot", "pk": survey.pk})
    html = organiser(survey.community).get(url).content.decode()
    assert "Used for this survey" in html
    cells = re.findall(r'<td class="numeric">([^<]*)</td>', html)
    assert cells == ["4", "1"]  # four codes, one used for the survey (three elsewhere)


# --- the migration from one use anywhere ---------------------------------------------------

BEFORE = [("core", "0006_audit_statement_edited")]


def set_used_on(code: str, on: dt.date | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {InvitationCode._meta.db_table} SET used_on = %s WHERE digest = %s",  # noqa: S608 (the model's table)
            [on, InvitationCode.digest_of(code)],
        )


def used_on(codes: list[str]) -> list[dt.date | None]:
    table = InvitationCode._meta.db_table
    found = []
    with connection.cursor() as cursor:
        for code in codes:
            cursor.execute(
                f"SELECT used_on FROM {table} WHERE digest = %s",  # noqa: S608 (the model's table)
                [InvitationCode.digest_of(code)],
            )
            value = cursor.fetchone()[0]
            found.append(dt.date.fromisoformat(value) if isinstance(value, str) else value)
    return found


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_used_code_used_where_it_could_have_been_used() -> None:
    survey, conversation, codes = envelopes(size=4)  # made for the survey, taken by both
    community = survey.community
    plain, loose = create_code_batch(community=community, actor=None, label="Loose", size=2)
    named = ConversationFactory.create(community=community, topic="Canteen", code_batch=plain)
    unclaimed, spare = create_code_batch(community=community, actor=None, label="Old", size=1)
    assert redeem_code(batch=survey.code_batch, raw_code=codes[0], activity=conversation)
    assert redeem_code(batch=survey.code_batch, raw_code=codes[0], activity=survey)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("core")
    try:
        first = timezone.localdate()
        MigrationExecutor(connection).migrate(BEFORE)
        # Going back: uses keep no date (0009), so a used code's one date is the day of
        # going back; the codes never used have none.
        found = used_on(codes)
        assert found[0] is not None
        assert first <= found[0] <= timezone.localdate()
        assert found[1:] == [None, None, None]
        # As the database was: codes used once, anywhere.
        set_used_on(codes[1], dt.date(2026, 4, 1))
        set_used_on(loose[0], dt.date(2026, 4, 2))
        set_used_on(spare[0], dt.date(2026, 4, 3))
        MigrationExecutor(connection).migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)  # whatever happened, as it was
    digest = InvitationCode.digest_of
    assert uses() == sorted(
        [
            # The survey's batch: used for the survey it was made for and for the
            # conversation that takes it, as nobody knows which it was.
            (digest(codes[0]), "survey", survey.pk),
            (digest(codes[0]), "conversation", conversation.pk),
            (digest(codes[1]), "survey", survey.pk),
            (digest(codes[1]), "conversation", conversation.pk),
            # A batch made on the community's page: used for the conversation naming it.
            (digest(loose[0]), "conversation", named.pk),
            # A batch nothing takes any more keeps no use (spare[0]).
        ]
    )
    assert InvitationCodeBatch.objects.filter(pk=unclaimed.pk).exists()
    assert {f.name for f in InvitationCode._meta.get_fields()} == {"id", "batch", "digest", "uses"}
    # And codes work as they should after it.
    with pytest.raises(ServiceError, match=ALREADY_USED):
        surveys.start_response(survey=survey, language="en", code=codes[1])
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[1]) is None
    assert deliberation.join_with_code(conversation=conversation, raw_code=codes[2]) is not None
    surveys.start_response(survey=survey, language="en", code=codes[2])
