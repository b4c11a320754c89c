"""Disclosure control for follow-up questions: those shown only to some people.

A question shown only to people who gave one answer to an earlier question (skip
logic: "show only if ${disciplined} = 'yes'") is answered by that group alone, all of
it when the question is required. So its "7 people answered", and any count or list of
answers beside it, says how many gave that answer. Where the earlier question's tables
hide that count (too few, or hidden so that a too-few count beside it cannot be worked
out), the follow-up's figures gave it back, and with the total the figures it protected:
32 people, 23 "no" shown, "yes" and "unsure" hidden; the follow-up's 7 gives 2 "unsure".

The rule: a follow-up's results are shown only when they cannot split the hidden
answers of any line of the earlier question's tables, in any view a user can ask for
(unfiltered, each filter, each breakdown group). A follow-up asked after answers that
are all shown, or after every hidden answer of a line together (their sum is the line's
total less the shown answers, known anyway), adds nothing. Where that cannot be told
answer by answer (a condition on several questions, on a multiple-choice question, on a
date), any hidden figure of a question the condition names hides the follow-up; so does
a named question that is itself withheld or refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext as _

from sayso.analysis import disclosure, odk_xpath

from . import logic
from .models import Choice, Question

# Types whose results are tables of counts per answer, which a follow-up's counts could
# split. Numbers show an average and texts a list: nothing of theirs is hidden per answer.
COUNTED = frozenset(
    {
        Question.Type.SINGLE,
        Question.Type.RATING,
        Question.Type.MULTIPLE,
        Question.Type.RANKING,
        Question.Type.CONSENT,
        Question.Type.DATE,
    }
)
ONE_ANSWER = frozenset({Question.Type.SINGLE, Question.Type.RATING})


def condition(question: Question) -> odk_xpath.Expression | None:
    """The question's display condition, or None when it is shown to everyone (or its
    old condition no longer parses, so it is shown to everyone)."""
    if not question.relevant:
        return None
    try:
        return logic.parsed(question.relevant)
    except odk_xpath.XPathError:
        return None


def shown_for(
    expression: odk_xpath.Expression, earlier: Question, choices: Sequence[Choice]
) -> frozenset[int] | None:
    """The positions of `earlier`'s answers that show the follow-up, when its condition
    names `earlier` alone and `earlier` takes one answer; None when that cannot be told
    answer by answer."""
    if expression.references != {earlier.name} or earlier.type not in ONE_ANSWER:
        return None
    try:
        return frozenset(
            i for i, c in enumerate(choices) if expression.is_true({earlier.name: c.name})
        )
    except odk_xpath.XPathError:
        return None


def hidden_lines(tables: Iterable[disclosure.JointTable]) -> list[frozenset[int]]:
    """For each line along the answers of each table (one group of people in one view),
    the positions of its hidden answers."""
    lines: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    for number, table in enumerate(tables):
        for key, status in table.status.items():
            if key[0] < table.sizes[0] and status.hidden:
                lines[(number, *key[1:])].add(key[0])
    return [frozenset(line) for line in lines.values()]


def splits_hidden(shown: frozenset[int] | None, lines: Iterable[frozenset[int]]) -> bool:
    """Whether counting the people shown a follow-up could split a line's hidden answers:
    it counts some of them and not others. With `shown` None (not known answer by
    answer), any hidden answer counts as split."""
    for hidden in lines:
        if hidden and (shown is None or (hidden & shown and not hidden <= shown)):
            return True
    return False


def refusal_reason(earlier: Sequence[Question], language: str) -> str:
    """Why a follow-up's figures are withheld, naming every question its rule depends
    on (`earlier`, in the survey's order): any of them may be the one whose hidden
    figures it could give away, and which one is not said."""
    if len(earlier) == 1:
        return _(
            "This question was asked only of people who gave certain answers to "
            "“%(question)s”. Some of that question's figures are hidden to protect people, "
            "and this question's figures could give them away, so they are hidden too."
        ) % {"question": earlier[0].text(language)}
    named = [f"“{q.text(language)}”" for q in earlier]
    return _(
        "This question was asked only of people whose answers to %(questions)s met a "
        "condition. Some of those questions' figures are hidden to protect people, and "
        "this question's figures could give them away, so they are hidden too."
    ) % {"questions": ", ".join(named[:-1]) + _(" and ") + named[-1]}
