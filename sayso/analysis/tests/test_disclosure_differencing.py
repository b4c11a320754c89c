"""The partition rule: no sum or difference of shown results singles out a small group.

A reviewer found that "only night" and "only day" each passed the filter-against-its-
complement check while "break down by shift" was refused, and that everyone minus night
minus day gave the three weekend workers' answers exactly. These tests pin the rule that
replaced it (disclosure.check_partition and check_combined_partition) with the
reviewer's numbers, and check by brute force, over every combination of shown groups
with coefficients -1, 0 and 1, that what the rule lets through cannot be subtracted down
to fewer than the threshold, and that what it refuses could be.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from typing import Any

import pytest

from sayso.analysis import disclosure as dc

SHIFTS = {"day": 23, "night": 17, "weekend": 3}


def test_the_reviewers_numbers_are_refused_for_a_filter_as_for_a_breakdown() -> None:
    # The old check passes each filter on its own...
    for shift in ("day", "night"):
        assert dc.check_filter(selected=SHIFTS[shift], parent=43, threshold=5) is None
    # ...yet subtracting them from everyone leaves the weekend workers.
    assert 43 - SHIFTS["night"] - SHIFTS["day"] == 3
    refusal = dc.check_partition({**SHIFTS, None: 0}, threshold=5, question="Shift")
    assert refusal is not None
    assert refusal.code is dc.RefusalCode.TOO_FEW
    assert refusal.reason == (
        "Fewer than 5 people, or everyone, gave one of the answers to 'Shift' (or did not "
        "answer it). Results for the other answers could then be subtracted from the "
        "overall results to give people's answers, so results cannot be filtered or "
        "broken down by 'Shift'."
    )
    assert "weekend" not in refusal.reason  # the small group is not named
    # The breakdown is refused for the same reason, by the same rule.
    assert dc.check_breakdown(SHIFTS, parent=43, threshold=5) is not None


def test_people_who_did_not_answer_are_a_group_too() -> None:
    # Everyone minus day minus night is the two who skipped the question.
    groups: dict[Hashable, int] = {"day": 23, "night": 17, None: 2}
    refusal = dc.check_partition(groups, threshold=5)
    assert refusal is not None
    assert refusal.code is dc.RefusalCode.TOO_FEW
    assert "this question" in refusal.reason
    assert dc.check_partition({"day": 23, "night": 17, None: 5}, threshold=5) is None
    assert dc.check_partition({"day": 23, "night": 17, None: 0}, threshold=5) is None


def test_empty_groups_pass_but_one_group_holding_everyone_does_not() -> None:
    assert dc.check_partition({"day": 23, "night": 17, "weekend": 0}, threshold=5) is None
    refusal = dc.check_partition({"day": 40, "night": 0, None: 0}, threshold=5)
    assert refusal is not None
    assert refusal.code is dc.RefusalCode.EVERYONE_MATCHES
    # Worded as the small-group case and naming no answer: the table hides "all day".
    small = dc.check_partition({"day": 37, "night": 3, None: 0}, threshold=5)
    assert small is not None
    assert refusal.reason == small.reason
    assert "day" not in refusal.reason


def test_a_group_below_the_threshold_as_a_whole() -> None:
    refusal = dc.check_partition({"day": 2, "night": 2}, threshold=5)
    assert refusal is not None
    assert refusal.reason.startswith("The group has fewer than 5 people")
    with pytest.raises(ValueError, match="negative"):
        dc.check_partition({"day": -1, "night": 9}, threshold=5)


def test_multiple_choice_combinations_are_the_groups() -> None:
    # Each combination of ticked options is a group: ticking only "sharing" is 3 people.
    groups: dict[Hashable, int] = {("rates",): 20, ("cameras",): 20, ("sharing",): 3, None: 0}
    refusal = dc.check_partition(groups, threshold=5)
    assert refusal is not None
    assert refusal.code is dc.RefusalCode.TOO_FEW
    assert "sharing" not in refusal.reason
    both = {("rates", "cameras"): 6, ("rates",): 20, ("cameras",): 20, None: 5}
    assert dc.check_partition(both, threshold=5) is None
    assert dc.check_partition({**both, ("rates", "cameras"): 1}, threshold=5) is not None


def test_a_filter_with_a_breakdown_needs_every_combination_big_enough() -> None:
    # Shift and depot each pass alone; night workers at depot B are 2 people.
    cells: dict[tuple[Hashable, ...], int] = {
        ("day", "A"): 10,
        ("day", "B"): 13,
        ("night", "A"): 15,
        ("night", "B"): 2,
        ("weekend", "A"): 6,
        ("weekend", "B"): 6,
    }
    shift = {"day": 23, "night": 17, "weekend": 12}
    depot = {"A": 31, "B": 21}
    assert dc.check_partition(shift, threshold=5) is None
    assert dc.check_partition(depot, threshold=5) is None
    refusal = dc.check_combined_partition(cells, threshold=5, questions=["Shift", "Depot"])
    assert refusal is not None
    assert "night" not in refusal.reason  # the small combination is not named
    assert "cannot be combined" in refusal.reason
    # A margin that fails is named by its question.
    small_shift = {**cells, ("weekend", "A"): 1, ("weekend", "B"): 1}
    refusal = dc.check_combined_partition(small_shift, threshold=5, questions=["Shift", "Depot"])
    assert refusal is not None
    assert "'Shift'" in refusal.reason
    fixed = {**cells, ("night", "B"): 5}
    assert dc.check_combined_partition(fixed, threshold=5) is None
    with pytest.raises(ValueError, match="one answer per question"):
        dc.check_combined_partition({("a",): 5, ("a", "b"): 5}, threshold=5)
    assert dc.check_combined_partition({}, threshold=5) is not None


# --------------------------------------------------------------------------- brute force


def shown_groups(
    cells: Mapping[tuple[Any, ...], int],
) -> list[frozenset[tuple[Hashable, ...]]]:
    """Every group of people a table can be shown for, when filters and breakdowns by
    these questions are allowed, one or two at a time: everyone, each answer to each
    question (a filter, or a row of a breakdown), and each combination of answers to
    two questions (a filter with a breakdown). Groups are sets of cells."""
    keys = list(cells)
    width = len(keys[0])
    out = {frozenset(keys)}
    for i in range(width):
        for value in {k[i] for k in keys}:
            out.add(frozenset(k for k in keys if k[i] == value))
        for j in range(i + 1, width):
            for a, b in {(k[i], k[j]) for k in keys}:
                out.add(frozenset(k for k in keys if (k[i], k[j]) == (a, b)))
    return sorted(out, key=lambda group: sorted(map(repr, group)))


def smallest_isolated_group(cells: Mapping[tuple[Any, ...], int], threshold: int) -> int:
    """The fewest people (at least 1) whose results some sum or difference of shown
    tables, with coefficients -1, 0 or 1, gives exactly; or 0 if none is below the
    threshold. A combination gives a group exactly when it counts each cell 0 or 1 times."""
    keys = list(cells)
    groups = shown_groups(cells)
    smallest = 0
    for coefficients in itertools.product((-1, 0, 1), repeat=len(groups)):
        weight = dict.fromkeys(keys, 0)
        for c, group in zip(coefficients, groups, strict=True):
            if c:
                for k in group:
                    weight[k] += c
        if all(w in (0, 1) for w in weight.values()):
            people = sum(cells[k] for k in keys if weight[k] == 1)
            if 0 < people < threshold and (smallest == 0 or people < smallest):
                smallest = people
    return smallest


def test_what_the_rule_allows_cannot_be_subtracted_down_to_a_small_group() -> None:
    allowed = {("day", "A"): 9, ("day", "B"): 5, ("night", "A"): 6, ("night", None): 7}
    assert dc.check_combined_partition(allowed, threshold=5) is None
    assert smallest_isolated_group(allowed, 5) == 0


def test_what_the_rule_refuses_could_be_subtracted_down_to_a_small_group() -> None:
    # The reviewer's shifts, one question: everyone - night - day = weekend.
    reviewer = {("day",): 23, ("night",): 17, ("weekend",): 3}
    assert dc.check_combined_partition(reviewer, threshold=5) is not None
    assert smallest_isolated_group(reviewer, 5) == 3
    # Two questions whose answers each pass alone but not together.
    combined = {("day", "A"): 9, ("day", "B"): 5, ("night", "A"): 6, ("night", "B"): 2}
    assert dc.check_combined_partition(combined, threshold=5) is not None
    assert smallest_isolated_group(combined, 5) == 2
