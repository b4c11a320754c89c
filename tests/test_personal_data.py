# mypy: disable-error-code="no-untyped-call,arg-type,misc,attr-defined"
"""A person's own data download holds what each capability links to them, and nothing
that anonymity keeps apart from them."""

from __future__ import annotations

import json

import pytest

from sayso.accounts import services as accounts
from sayso.accounts.tests.factories import UserFactory
from sayso.core.tests.factories import CommunityFactory, MembershipFactory
from sayso.deliberation import services as deliberation
from sayso.deliberation.models import Conversation, Vote
from sayso.deliberation.tests.factories import ConversationFactory, StatementFactory
from sayso.surveys import services as surveys
from sayso.surveys.models import Survey
from sayso.surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db


def test_the_download_holds_named_votes_and_only_the_fact_of_anonymous_taking_part() -> None:
    community = CommunityFactory(name="Depot workers")
    sam = MembershipFactory(community=community).user
    named = ConversationFactory(
        community=community,
        topic="Who may see the scanner data?",
        anonymous=False,
        state=Conversation.State.OPEN,
    )
    seed = StatementFactory(conversation=named, text="Only our own managers")
    participant = deliberation.join(conversation=named, user=sam)
    deliberation.cast_vote(
        conversation=named, participant=participant, statement_id=seed.pk, value=-1
    )
    deliberation.add_statement_as(
        conversation=named, participant_id=participant.pk, user=sam, text="Nobody outside the depot"
    )
    hidden = ConversationFactory(
        community=community,
        topic="Should the scanners stay?",
        anonymous=True,
        access=Conversation.Access.MEMBERS,
        state=Conversation.State.OPEN,
    )
    secret = StatementFactory(conversation=hidden, text="Switch them off at night")
    anonymous = deliberation.join(conversation=hidden, user=sam)
    deliberation.cast_vote(
        conversation=hidden, participant=anonymous, statement_id=secret.pk, value=1
    )
    survey = make_survey(
        community,
        status=Survey.Status.OPEN,
        distribution=Survey.Distribution.MEMBERS,
        one_response_per_member=True,
    )
    response, _raw = surveys.start_response(survey=survey, language="en", user=sam)
    surveys.save_page(response=response, answers={"shift": "night", "disciplined": "yes"}, page=1)
    assert surveys.submit_response(response=response, user=sam) == {}
    # Someone else's data never comes with it.
    other = UserFactory(email="other@example.org")
    MembershipFactory(community=community, user=other)
    deliberation.join(conversation=named, user=other)

    data = accounts.personal_data(sam)

    assert data["deliberation"][0] == {
        "conversation": "Who may see the scanner data?",
        "community": "Depot workers",
        "joined_on": participant.joined_on.isoformat(),
        "votes": [{"statement": "Only our own managers", "vote": "Disagree"}],
        "statements_written": ["Nobody outside the depot"],
    }
    assert data["deliberation"][1]["conversation"] == "Should the scanners stay?"
    assert "votes" not in data["deliberation"][1]
    assert len(data["deliberation"]) == 2
    assert [s["survey"] for s in data["surveys"]] == ["Scanner survey"]
    written = json.dumps(data)
    # What anonymity keeps apart from Sam stays apart: the anonymous vote's statement
    # and every answer they gave.
    assert "Switch them off at night" not in written
    assert "night" not in written.replace("Switch them off at night", "")
    assert "other@example.org" not in written
    assert Vote.objects.filter(participant=anonymous).count() == 1  # it exists, unlinked


def test_the_download_lists_the_actions_recorded_under_their_name() -> None:
    sam = UserFactory(email="sam@example.org")
    accounts.export_personal_data(user=sam)
    data = accounts.personal_data(sam)
    assert [(a["action"], a["summary"]) for a in data["actions_recorded"]] == [
        ("export", "sam@example.org exported their own data.")
    ]
    assert data["deliberation"] == []
    assert data["surveys"] == []
