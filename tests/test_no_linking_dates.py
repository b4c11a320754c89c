"""Records kept apart from what they unlocked carry no date.

That a member answered a one-answer-each survey (surveys.MemberParticipation), that a
member joined an anonymous conversation (deliberation.MemberJoined) and that a code was
used (core.InvitationCodeUse) are kept apart from the response or participant, which
keeps the day it started or was sent. A date on the record beside it would link them:
on a day when one member answered, the participation's date named the member and the
response's date picked out their answers. So these records say what happened, never
when: no date or time in the model, in the table, or in any row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from sayso.core.models import InvitationCodeUse
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, OrganiserFactory
from sayso.deliberation import services as deliberation_services
from sayso.deliberation.models import Conversation, MemberJoined
from sayso.deliberation.tests.factories import ConversationFactory
from sayso.surveys import services as survey_services
from sayso.surveys.models import MemberParticipation, Response, Survey
from sayso.surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db

KEPT_APART = [MemberParticipation, MemberJoined, InvitationCodeUse]
TIMES = (models.DateField, models.DateTimeField, models.TimeField, models.DurationField)


def columns(model: type[models.Model]) -> dict[str, str]:
    """The table's columns as the database has them, with their types."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_table_description(cursor, model._meta.db_table)
    return {
        column.name: connection.introspection.get_field_type(column.type_code, column)
        for column in found
    }


def rows(model: type[models.Model]) -> list[tuple[object, ...]]:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (a model's table)
        return list(cursor.fetchall())


def looks_like_a_time(value: object) -> bool:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return True
    if isinstance(value, str):
        try:
            dt.date.fromisoformat(value[:10])
        except ValueError:
            return False
        return True
    return False


@pytest.mark.parametrize("model", KEPT_APART, ids=lambda model: model.__name__)
def test_the_model_and_its_table_have_no_date(model: type[models.Model]) -> None:
    assert [f.name for f in model._meta.concrete_fields if isinstance(f, TIMES)] == []
    kinds = columns(model)
    assert "id" in kinds  # the table was read
    assert [name for name, kind in kinds.items() if kind in {f.__name__ for f in TIMES}] == []


def test_a_member_answering_leaves_the_survey_and_their_name_and_nothing_else() -> None:
    community = CommunityFactory.create()
    survey = make_survey(community, status=Survey.Status.OPEN, one_response_per_member=True)
    member = MembershipFactory.create(community=community).user
    response, _raw = survey_services.start_response(survey=survey, language="en", user=member)
    survey_services.save_page(
        response=response, answers={"shift": "day", "disciplined": "no"}, page=1
    )
    assert survey_services.submit_response(response=response, user=member) == {}
    # The response keeps its day; the record that the member answered keeps none.
    assert Response.objects.get(pk=response.pk).submitted_on == timezone.localdate()
    assert sorted(columns(MemberParticipation)) == ["id", "survey_id", "user_id"]
    (row,) = rows(MemberParticipation)
    assert not any(looks_like_a_time(value) for value in row)
    assert MemberParticipation.objects.filter(survey=survey, user=member).count() == 1


def test_a_code_holder_and_a_member_joining_leave_no_date() -> None:
    community = CommunityFactory.create()
    organiser = OrganiserFactory.create(community=community).user
    survey = make_survey(community)
    _batch, codes = survey_services.create_codes(survey=survey, actor=organiser, size=2)
    survey_services.set_status(survey=survey, status=Survey.Status.OPEN, actor=organiser)
    survey_services.start_response(survey=survey, language="en", code=codes[0])
    conversation = ConversationFactory.create(
        community=community, access=Conversation.Access.MEMBERS, anonymous=True
    )
    member = MembershipFactory.create(community=community).user
    deliberation_services.join(conversation=conversation, user=member)
    assert sorted(columns(InvitationCodeUse)) == [
        "activity_id",
        "activity_type_id",
        "code_id",
        "id",
    ]
    for model in (InvitationCodeUse, MemberJoined):
        (row,) = rows(model)
        assert not any(looks_like_a_time(value) for value in row)


@pytest.mark.django_db(transaction=True)
def test_going_back_gives_participations_the_day_of_going_back() -> None:
    """The migration drops the dates for good: undone, it cannot invent the real ones,
    so every participation gets the day it was undone (and the column is NOT NULL)."""
    community = CommunityFactory.create()
    survey = make_survey(community, status=Survey.Status.OPEN, one_response_per_member=True)
    member = MembershipFactory.create(community=community).user
    response, _raw = survey_services.start_response(survey=survey, language="en", user=member)
    survey_services.save_page(
        response=response, answers={"shift": "day", "disciplined": "no"}, page=1
    )
    assert survey_services.submit_response(response=response, user=member) == {}
    table = connection.ops.quote_name(MemberParticipation._meta.db_table)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("surveys")
    try:
        first = timezone.localdate()
        MigrationExecutor(connection).migrate([("surveys", "0016_survey_link_token_capitals")])
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT answered_on FROM {table}")  # noqa: S608 (a model's table)
            ((value,),) = cursor.fetchall()
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        assert first <= day <= timezone.localdate()
        MigrationExecutor(connection).migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)  # whatever happened, as it was
    assert "answered_on" not in columns(MemberParticipation)
    assert MemberParticipation.objects.filter(survey=survey, user=member).count() == 1
