"""Statements much like an earlier one (alike.py): a moderator's hint."""

from __future__ import annotations

import pytest

from sayso.deliberation.alike import content_words, most_alike_earlier, share
from sayso.deliberation.models import normalise_text


def n(text: str) -> str:
    return normalise_text(text)


def test_content_words_leave_filler_and_plural_s_out() -> None:
    assert content_words(n("Supervisors should not time the toilet breaks!!")) == {
        "supervisor",
        "not",
        "time",
        "toilet",
        "break",
    }
    assert content_words(n("Access to the process")) == {"access", "process"}  # "ss" kept


def test_share_is_the_words_in_common_over_all_words() -> None:
    assert share(frozenset("abc"), frozenset("abcd")) == pytest.approx(3 / 4)
    assert share(frozenset(), frozenset()) == 0.0


def test_the_reviewers_pair_is_alike_and_points_at_the_earlier_one() -> None:
    found = most_alike_earlier(
        [
            (3, n("Supervisors should not time toilet breaks!!")),
            (7, n("Supervisors should not time toilet breaks (member)")),
            (5, n("Pay rises should follow the cost of living")),
        ]
    )
    assert found == {7: 3}


def test_statements_sharing_only_a_word_or_two_are_not_alike() -> None:
    found = most_alike_earlier(
        [
            (0, n("Scanner data should never be used on its own to discipline anyone")),
            (1, n("Scanner data should be deleted after thirty days")),
            (2, n("Cameras in the canteen")),
            (3, n("No cameras in the canteen")),  # too few words to say
        ]
    )
    assert found == {}


def test_the_most_alike_earlier_statement_is_chosen() -> None:
    found = most_alike_earlier(
        [
            (0, n("Rotas must be published two weeks ahead for every shift")),
            (1, n("Rotas must be published two weeks ahead")),
            (2, n("Rotas published two weeks ahead for each shift")),
        ]
    )
    assert found[1] == 0
    assert found[2] == 0  # 6 of 8 words in common with 0, 5 of 7 with 1
