"""Members and the public never see a statement's stored number or key: their gaps
(1, 2, 4) would show that a statement was rejected or is waiting. The voting card names
a statement by a token (selectors.statement_token); the conversation page shows members
no number; organisers' pages, citations and the Polis export keep the stored ones."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, Role
from sayso.core.tests.factories import MembershipFactory, signed_in
from sayso.deliberation import selectors
from sayso.deliberation.forms import parse_vote
from sayso.deliberation.models import Conversation, Statement, Vote

from .factories import ConversationFactory, StatementFactory
from .helpers import token
from .test_report_disclosure import TODAY, Planned, write_map

pytestmark = pytest.mark.django_db


def test_a_token_turns_back_into_its_key_and_says_nothing_of_order() -> None:
    keys = [*range(1, 300), *random.Random(3).sample(range(1 << selectors.TOKEN_BITS), 300)]
    tokens = [selectors.statement_token(k) for k in keys]
    assert [selectors.statement_of_token(t) for t in tokens] == keys
    assert len(set(tokens)) == len(keys)
    # A whole number a vote form can carry (forms.parse_vote: up to 18 digits, not 0).
    assert all(parse_vote({"statement": str(t), "vote": "agree"}) == (t, 1) for t in tokens)
    # Consecutive keys give tokens in no order and with no common step.
    first = tokens[:50]
    assert first != sorted(first)
    assert len({b - a for a, b in itertools.pairwise(first)}) == 49
    assert selectors.statement_of_token(0) is None
    assert selectors.statement_of_token((1 << selectors.TOKEN_BITS) + 1) is None


def test_tokens_depend_on_the_secret_key(settings: Any) -> None:
    before = selectors.statement_token(42)
    settings.SECRET_KEY = "another secret key for this test only, long enough to count"
    assert selectors.statement_token(42) != before
    assert selectors.statement_of_token(selectors.statement_token(42)) == 42


# Keys no other figure on a page can equal by chance: a stored key is found by looking
# for it anywhere in the page.
BASE = 7_300_001


def _gappy(community: Community) -> tuple[Conversation, list[Statement]]:
    """Statements numbered 0 to 4 (organisers see 1 to 5): 2 rejected and 3 waiting,
    so members see 1, 2 and 5 of them; their keys have gaps too."""
    conversation = ConversationFactory.create(
        community=community, moderation=Conversation.Moderation.PRE
    )
    return conversation, [
        StatementFactory.create(
            pk=BASE + 2 * number,
            conversation=conversation,
            number=number,
            text=f"Shown or not, statement {number}",
            state=state,
        )
        for number, state in enumerate(("accepted", "accepted", "rejected", "pending", "accepted"))
    ]


def _keys_in(html: str, statements: list[Statement]) -> list[int]:
    return [s.pk for s in statements if str(s.pk) in html]


def test_member_and_public_pages_show_no_stored_number_or_key(community: Community) -> None:
    conversation, statements = _gappy(community)
    shown = [s for s in statements if s.state == "accepted"]
    member = signed_in(MembershipFactory.create(community=community, role=Role.MEMBER).user)
    detail = reverse(
        "deliberation:detail", kwargs={"slug": community.slug, "conversation": conversation.pk}
    )
    page = member.get(detail).content.decode()
    assert all(s.text in page for s in shown)
    # No number column: the rows are the statements alone.
    assert re.findall(r"<tr>(.*?)</tr>", page.split('id="statements-caption"')[1]) == [
        '<th scope="col">Statement</th>',
        *(f'<th scope="row">{s.text}</th>' for s in shown),
    ]
    assert _keys_in(page, statements) == []

    public = reverse(
        "deliberation_public:participate", kwargs={"public_token": conversation.public_token}
    )
    voter = Client()
    seen: set[int] = set()
    page = voter.get(public).content.decode()
    while "You have voted on every statement" not in page:
        assert _keys_in(page, statements) == []
        posted = re.search(r'name="statement" value="(\d+)"', page)
        assert posted is not None
        seen.add(int(posted.group(1)))
        response = voter.post(public, {"statement": posted.group(1), "vote": "agree"})
        page = voter.get(response["Location"]).content.decode()
        assert _keys_in(page, statements) == []  # the change link too
    assert seen == {token(s) for s in shown}
    assert set(Vote.objects.values_list("statement_id", flat=True)) == {s.pk for s in shown}
    change = re.search(r'href="([^"]*\?change=\d+)"', page)
    assert change is not None
    assert _keys_in(voter.get(change.group(1)).content.decode(), statements) == []
    statement_page = reverse(
        "deliberation_public:statement", kwargs={"public_token": conversation.public_token}
    )
    for name in ("you", "report"):
        url = reverse(
            f"deliberation_public:{name}", kwargs={"public_token": conversation.public_token}
        )
        assert _keys_in(voter.get(url).content.decode(), statements) == []
    assert _keys_in(voter.get(statement_page).content.decode(), statements) == []


def test_the_report_for_members_and_the_public_shows_no_stored_key(
    community: Community, organiser: Any
) -> None:
    conversation = ConversationFactory.create(community=community)
    texts = ["Split on cameras", "Split on breaks", "Both agree on rotas"]
    statements = [
        StatementFactory.create(pk=BASE + 2 * i, conversation=conversation, number=i, text=t)
        for i, t in enumerate(texts)
    ]
    write_map(
        conversation,
        Planned(
            sizes=[20, 20],
            votes={
                "Split on cameras": [(20, 0, 0), (5, 15, 0), (0, 0, 0)],
                # No figure hidden, so that this statement's row on the page shows
                # its figures (and would show a stored key, were one leaked).
                "Split on breaks": [(15, 5, 0), (5, 15, 0), (0, 0, 0)],
                "Both agree on rotas": [(20, 0, 0), (20, 0, 0), (0, 0, 0)],
            },
            repness={0: ["Split on cameras"], 1: ["Split on breaks"]},
            consensus_agree=["Both agree on rotas"],
            consensus_disagree=[],
            gic={"Both agree on rotas": 0.9},
            over_time=[[TODAY, 120, 40]],
            vote_count=120,
        ),
    )
    member = signed_in(MembershipFactory.create(community=community, role=Role.MEMBER).user)
    kwargs = {"slug": community.slug, "conversation": conversation.pk}
    public = {"public_token": conversation.public_token}
    for client, url in (
        (member, reverse("deliberation:report", kwargs=kwargs)),
        (Client(), reverse("deliberation_public:report", kwargs=public)),
    ):
        html = client.get(url).content.decode()
        assert all(t in html for t in texts)
        assert "Where the groups split" in html
        assert _keys_in(html, statements) == []
    # Organisers cite by key, as before.
    organiser_client = signed_in(organiser)
    html = organiser_client.get(reverse("deliberation:report", kwargs=kwargs)).content.decode()
    assert f'name="statement" value="{statements[2].pk}"' in html


def test_organisers_still_see_the_stored_numbers(community: Community, organiser: Any) -> None:
    conversation, _statements = _gappy(community)
    client = signed_in(organiser)
    page = client.get(
        reverse(
            "deliberation:detail",
            kwargs={"slug": community.slug, "conversation": conversation.pk},
        )
    ).content.decode()
    assert re.findall(r"<tr><td>(\d+)</td>", page) == ["1", "2", "3", "4", "5"]
