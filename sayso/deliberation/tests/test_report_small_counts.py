"""The report as a reader sees it: "Common ground across groups" lists only statements
that votes support (not ones scored from the prior alone), and no figure on the report,
the public report or the "you" page gives away a count below the small-group threshold,
the headline figures included."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community
from sayso.deliberation import selectors, services
from sayso.deliberation.models import Conversation, Participant, Statement, Vote

from .factories import ConversationFactory, ParticipantFactory, StatementFactory, planted
from .helpers import token

pytestmark = pytest.mark.django_db


def _report_url(conversation: Conversation) -> str:
    return reverse("deliberation:report", kwargs={"slug": "depot", "conversation": conversation.pk})


def _public_url(conversation: Conversation, name: str) -> str:
    return reverse(
        f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
    )


def _vote(conversation: Conversation, statement: Statement, numbers: range | list[int]) -> None:
    Vote.objects.bulk_create(
        Vote(
            participant=Participant.objects.get(conversation=conversation, number=n),
            statement=statement,
            value=1,
            created_on=dt.date.today(),
        )
        for n in numbers
    )


def _common_ground(html: str) -> list[tuple[str, str]]:
    """(statement, score) rows of the "Common ground across groups" table; the score is
    a number or "hidden"."""
    section = html.split("Common ground across groups", 1)[1].split("Where the groups split")[0]
    return re.findall(r'<th scope="row">(.*?)</th><td class="numeric">(\d+|hidden)</td>', section)


def test_common_ground_lists_only_statements_most_of_every_group_agrees_with(
    depot: Community, depot_organiser: Client
) -> None:
    # Two blocs of 10 (participants 0-9 and 10-19; factories.planted). Hand-computed
    # scores, the product over the groups of (agrees + 1) / (votes + 2):
    #   statement 7, all 20 agree:                     (11/12)(11/12)  = 0.840 -> 84
    #   statements 3-6, one bloc agrees (9 of 10, one pass), the other disagrees:
    #                                                  (10/12)(1/12)   = 0.069 -> 7
    #   statements 0-2, the same with two passes:       (9/12)(1/12)   = 0.063 -> 6
    # and four added statements that the old list ranked above statements 0 to 6:
    #   "no votes":                                     (1/2)(1/2)     = 0.25  -> 25
    #   "one vote", participant 0 agrees:               (2/3)(1/2)     = 0.333 -> 33
    #   "two votes", participants 0 and 10 agree:       (2/3)(2/3)     = 0.444 -> 44
    #   "one group", participants 0-4 agree:            (6/7)(1/2)     = 0.429 -> 43
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    added = {
        name: StatementFactory.create(conversation=conversation, number=number, text=name)
        for number, name in enumerate(["no votes", "one vote", "two votes", "one group"], 8)
    }
    _vote(conversation, added["one vote"], [0])
    _vote(conversation, added["two votes"], [0, 10])
    _vote(conversation, added["one group"], range(5))
    result = services.compute_now(conversation=conversation)
    # The scores themselves are Polis's, unchanged: the prior alone gives 25.
    scores = {
        Statement.objects.get(pk=int(pk)).text: round(100 * v)
        for pk, v in result.data["group_informed_consensus"].items()
    }
    assert {name: scores[name] for name in added} == {
        "no votes": 25,
        "one vote": 33,
        "two votes": 44,
        "one group": 43,
    }

    html = depot_organiser.get(_report_url(conversation)).content.decode()
    texts = {s.number: s.text for s in Statement.objects.filter(conversation=conversation)}
    # Statements 0 to 6 split the blocs (score 6 or 7): one bloc agrees, the other
    # disagrees, so they are not common ground, however few statements there are.
    listed = [(texts[7], "84")]
    view = selectors.map_view(result, threshold=5)
    assert view is not None
    by_text = {s.text: s.pk for s in Statement.objects.filter(conversation=conversation)}
    # A score is shown where every group's agree share and votes are (a group's single
    # pass hides one of them on some statements: test_report_disclosure.py).
    expected = [
        (text, score)
        if all(
            f.agree is not None and f.votes is not None
            for f in view.figures(by_text[text]).groups.values()
        )
        else (text, "hidden")
        for text, score in listed
    ]
    assert _common_ground(html) == expected
    assert expected[0] == (texts[7], "84")
    context = selectors.report(conversation, threshold=5)
    assert all(row["shown"] for row in context["group_informed"])


def test_common_ground_is_empty_while_no_statement_has_enough_votes(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    depot.small_group_threshold = 21  # more than anyone could have voted
    depot.save(update_fields=["small_group_threshold"])
    html = depot_organiser.get(_report_url(conversation)).content.decode()
    section = html.split("Common ground across groups", 1)[1].split("Where the groups split")[0]
    assert "No statement yet that most of every group agrees with." in section
    assert _common_ground(html) == []


def _figures(html: str) -> dict[str, str]:
    block = re.search(r'<dl class="figures">(.*?)</dl>', html, re.S)
    assert block is not None
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block.group(1)))


def test_a_conversation_of_three_shows_fewer_than_5_participants_everywhere(
    depot: Community, depot_organiser: Client
) -> None:
    # The reviewer's case: 3 people, 7 statements each, 21 votes, on one day. Two voted
    # earlier; the third votes now through the page, then reads the results.
    conversation = ConversationFactory.create(community=depot)
    statements = [StatementFactory.create(conversation=conversation, number=n) for n in range(7)]
    earlier = [ParticipantFactory.create(conversation=conversation, number=n) for n in range(2)]
    Vote.objects.bulk_create(
        Vote(participant=p, statement=s, value=(1, -1)[(i + j) % 2], created_on=dt.date.today())
        for i, p in enumerate(earlier)
        for j, s in enumerate(statements)
    )
    third = Client()
    for statement in statements:
        third.post(
            _public_url(conversation, "participate"),
            {"statement": token(statement), "vote": "agree"},
        )
    assert Vote.objects.filter(participant__conversation=conversation).count() == 21
    services.compute_now(conversation=conversation)

    pages = {
        "report": depot_organiser.get(_report_url(conversation)).content.decode(),
        "public report": third.get(_public_url(conversation, "report")).content.decode(),
    }
    for name, html in pages.items():
        assert _figures(html) == {
            "people who joined": "fewer than 5",
            "votes": "21",
            "opinion groups shown": "0",
        }, name
        # The participation table agrees with the header: one row for all days.
        table = html.split("Participation over time", 1)[1]
        rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', table)
        assert rows == [
            ("All days", '<td class="numeric">21</td><td class="numeric">fewer than 5</td>')
        ], name
        # No 3 anywhere a count is shown: not as a figure, a cell or a group size.
        assert not re.search(r">\s*3\s*<", html), name
        assert "3 people" not in html, name
        assert "3 participants" not in html, name

    # The third person's "you" page: their group is too small to show, and says so
    # without its size.
    html = third.get(_public_url(conversation, "you")).content.decode()
    assert "How your view relates to the groups" in html
    assert "No group is large enough to show yet." in html
    assert not re.search(r">\s*3\s*<", html)
    assert "3 people" not in html


def test_the_header_shows_exact_figures_from_the_threshold_up(
    depot: Community, depot_organiser: Client
) -> None:
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    services.compute_now(conversation=conversation)
    html = depot_organiser.get(_report_url(conversation)).content.decode()
    assert _figures(html) == {
        "people who joined": "20",
        "votes": "160",
        "opinion groups shown": "2",
    }


def test_few_votes_are_not_shown_exactly_either(depot: Community, depot_organiser: Client) -> None:
    conversation = ConversationFactory.create(community=depot)
    statement = StatementFactory.create(conversation=conversation, number=0)
    ParticipantFactory.create(conversation=conversation, number=0)
    _vote(conversation, statement, [0])
    services.compute_now(conversation=conversation)
    html = depot_organiser.get(_report_url(conversation)).content.decode()
    assert _figures(html)["votes"] == "fewer than 5"
    assert _figures(html)["people who joined"] == "fewer than 5"


def test_planted_blocs_are_what_the_hand_computation_assumes(depot: Community) -> None:
    # Guards the first test's arithmetic: the map finds the two planted blocs.
    conversation = ConversationFactory.create(community=depot)
    planted(conversation, groups=2, size=10, statements=8)
    result = services.compute_now(conversation=conversation)
    assert sorted(result.data["group_sizes"].values()) == [10, 10]
