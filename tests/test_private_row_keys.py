"""Records kept apart from what they unlocked carry no order.

A member who joined an anonymous conversation (deliberation.MemberJoined), a member who
answered a one-answer-each survey (surveys.MemberParticipation) and a code's use
(core.InvitationCodeUse) are written in the same transaction as the participant or
response they must not be linked to. Keys counting up, or SQLite's hidden row number
(kept for any table whose key is not exactly INTEGER PRIMARY KEY), would line them up
with the participants' numbers or the responses' keys. So each key is drawn at random
and, on SQLite, is the row number itself."""

from __future__ import annotations

import pytest
from django.db import connection, models

from sayso.core.models import InvitationCodeUse
from sayso.core.tests.factories import CommunityFactory, MembershipFactory
from sayso.deliberation import services as deliberation_services
from sayso.deliberation.models import Conversation, MemberJoined
from sayso.deliberation.tests.factories import ConversationFactory
from sayso.surveys.models import MemberParticipation, Survey
from sayso.surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db

N = 12  # sorted by chance: one in 12! (about 2e-9)


def keys_in_row_order(model: type[models.Model]) -> list[int]:
    """The keys in the order the rows sit in the table: SQLite's row numbers, and
    PostgreSQL's physical order (insertion order until a vacuum moves rows)."""
    table = connection.ops.quote_name(model._meta.db_table)
    order = "rowid" if connection.vendor == "sqlite" else "ctid"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} ORDER BY {order}")  # noqa: S608 (a model's table)
        return [row[0] for row in cursor.fetchall()]


def assert_no_order(model: type[models.Model], made_in_order: list[int]) -> None:
    assert len(made_in_order) == N
    assert made_in_order != sorted(made_in_order)  # random keys, not counting up
    if connection.vendor == "sqlite":
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE rowid != id")  # noqa: S608
            assert cursor.fetchone() == (0,)  # the key is the row number itself
        # So reading the rows in the table's own order gives the keys' order, not the
        # order they were made in.
        assert keys_in_row_order(model) == sorted(made_in_order)


def test_members_joining_an_anonymous_conversation_leave_no_order() -> None:
    community = CommunityFactory.create()
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS
    )
    made = []
    for _ in range(N):
        member = MembershipFactory.create(community=community).user
        deliberation_services.join(conversation=conversation, user=member)
        made.append(MemberJoined.objects.get(user=member).pk)
    assert_no_order(MemberJoined, made)


def test_members_answering_a_survey_leave_no_order() -> None:
    from sayso.surveys import services as survey_services

    community = CommunityFactory.create()
    survey = make_survey(community, status=Survey.Status.OPEN, one_response_per_member=True)
    made = []
    for _ in range(N):
        member = MembershipFactory.create(community=community).user
        response, _raw = survey_services.start_response(survey=survey, language="en", user=member)
        survey_services.save_page(
            response=response, answers={"shift": "day", "disciplined": "no"}, page=1
        )
        assert survey_services.submit_response(response=response, user=member) == {}
        made.append(MemberParticipation.objects.get(user=member).pk)
    assert_no_order(MemberParticipation, made)


def test_code_uses_leave_no_order() -> None:
    from sayso.core import services as core_services
    from sayso.core.models import InvitationCode

    community = CommunityFactory.create()
    survey = make_survey(community, status=Survey.Status.OPEN)
    batch, codes = core_services.create_code_batch(
        community=community, actor=None, label="x", size=N
    )
    made = []
    for code in codes:
        assert core_services.redeem_code(batch=batch, raw_code=code, activity=survey)
        made.append(InvitationCodeUse.objects.get(code__digest=InvitationCode.digest_of(code)).pk)
    assert_no_order(InvitationCodeUse, made)
