"""The ODK XPath subset: parsing, refusals and XPath 1.0 / JavaRosa semantics."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from sayso.analysis.odk_xpath import (
    FUNCTIONS,
    Answer,
    XPathEvaluationError,
    XPathSyntaxError,
    evaluate,
    is_true,
    parse,
)

ANSWERS: dict[str, Answer] = {
    "shift": "night",
    "age": 34,
    "worries": ["scanner", "cameras"],
    "none": None,
    "name": "Ana",
    "start": dt.date(2024, 3, 1),
    "flag": "false",
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("${shift} = 'night'", True),
        ("${shift} != 'night'", False),
        ('${shift} = "day"', False),
        ("${age} >= 18 and ${age} < 65", True),
        ("${age} > 40 or ${shift} = 'night'", True),
        ("not(${shift} = 'night')", False),
        ("selected(${worries}, 'scanner')", True),
        ("selected(${worries}, 'gps')", False),
        ("count-selected(${worries}) = 2", True),
        ("count-selected(${none}) = 0", True),
        ("string-length(${name}) = 3", True),
        ("${none} = ''", True),
        ("${none} > 3", False),  # empty is NaN: every comparison is false
        ("${none} < 3", False),
        ("${age} = 34", True),
        ("${age} = '34'", True),  # number on one side: compared as numbers
        ("${start} > '2024-01-31'", True),  # two dates compare as dates
        ("${start} < date('2024-02-01')", False),
        ("1 + 2 * 3 = 7", True),
        ("(1 + 2) * 3 = 9", True),
        ("7 mod 3 = 1", True),
        ("7 div 2 = 3.5", True),
        ("-${age} = -34", True),
        ("${flag}", True),  # the stored text "false" is a non-empty string: truthy
        ("boolean-from-string(${flag})", False),
        ("true() and not(false())", True),
        ("if(${age} > 30, 'old', 'young') = 'old'", True),
        ("coalesce(${none}, 'x') = 'x'", True),
        ("contains(${name}, 'n')", True),
        ("regex(${name}, '^[A-Z]')", True),
        ("round(2.5) = 3", True),
        ("int(-2.7) = -2", True),
        ("concat(${name}, '-', ${age}) = 'Ana-34'", True),
        ("${missing} = ''", True),
    ],
)
def test_evaluates_like_javarosa(expression: str, expected: bool) -> None:
    assert is_true(expression, ANSWERS) is expected


def test_current_answer_dot() -> None:
    expression = parse(". >= 0 and . <= 120")
    assert expression.uses_current
    assert expression.is_true({}, current=30)
    assert not expression.is_true({}, current=130)
    assert not expression.is_true({}, current=None)
    assert parse("string-length(.) <= 5").is_true({}, current="abc")
    assert parse("regex(., '^[0-9]{5}$')").is_true({}, current="12345")


def test_values_and_precedence() -> None:
    assert evaluate("1 + 2 * 3", {}) == 7.0
    assert evaluate("10 - 2 - 3", {}) == 5.0  # left associative
    assert evaluate("1 = 1 = 1", {}) is True  # (1 = 1) = 1: boolean vs number compares as booleans
    assert evaluate("'a' = 'a' or 1 div 0 > 0 and false()", {}) is True
    assert math.isnan(float(evaluate("number('abc')", {})))
    assert evaluate("count-selected(${w})", {"w": "a b  c"}) == 3.0
    assert evaluate("date(0)", {}) == "1970-01-01"


def test_compared_texts_are_the_answers_an_expression_expects() -> None:
    expression = parse(
        "${a} = 'x' and 'y' != ${b} or selected(${c}, 'z') or selected(., 'w')"
        " or ${d} = 3 or ${e} = ${f} or string-length(${g}) = 'v' or . = ''"
    )
    assert expression.compared_texts == {
        ("a", "x"),
        ("b", "y"),
        ("c", "z"),
        ("", "w"),
        ("", ""),
    }
    assert parse("${a} > 'x'").compared_texts == frozenset()


def test_references_and_functions_are_listed() -> None:
    expression = parse("selected(${a}, 'x') and ${b.c} > count-selected(${d-e})")
    assert expression.references == {"a", "b.c", "d-e"}
    assert expression.functions == {"selected", "count-selected"}
    assert not expression.uses_current


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "The expression is empty"),
        ("${a} = ", "Something is missing at the end, after '='. For example: ${age} = 16"),
        (
            "${a} = 'b",
            "A text in quotes has no closing quote (at character 8)."
            " For example: ${shift} = 'night'",
        ),
        (
            "${a = 'b'",
            "A question's short name must be written in ${ and }, with only letters, numbers"
            " and _ between them (at character 1). For example: ${shift} = 'night'",
        ),
        (
            "pulldata('x', 'y', 'z', 'w')",
            "The function pulldata() is not supported (at character 1)",
        ),
        ("a = 'b'", "'a' is not understood: refer to a question as ${a}, or put text in quotes"),
        (
            "selected(${a})",
            "selected() needs 2 values, separated by commas, between its brackets, not 1"
            " (at character 1). For example: selected(${worries}, 'cameras')",
        ),
        (
            "string-length()",
            "string-length() needs 1 value between its brackets, not 0 (at character 1)",
        ),
        ("(${a} = 1", "A bracket is not closed: add ')' at the end (at character 10)"),
        ("(${a} = 1 'x'", "A bracket is not closed: add ')' before 'x' (at character 11)"),
        ("${a} = 1)", "There is a ')' with no '(' before it to close (at character 9)"),
        (
            "${a} = 1 ${b} = 2",
            "'${b}' does not fit here: is 'and' or 'or' missing before it? (at character 10)."
            " For example: ${age} >= 16 and ${age} <= 80",
        ),
        (
            "/data/a = 1",
            "'/data/a =' is not understood: refer to a question as ${name}, and compare with"
            " =, !=, <, <=, > or >= (at character 1)",
        ),
        (
            "${a} && ${b}",
            "Join two rules with the word 'and' or 'or', not '&&' (at character 6)."
            " For example: ${age} >= 16 and ${age} <= 80",
        ),
        (
            "${a} == 1",
            "Compare with a single '=', not '==' (at character 6). For example: ${shift} = 'night'",
        ),
        (">= 16", "Something is missing before '>=' (at character 1). For example: ${age} >= 16"),
        (
            ". >= 16 and",
            "Something is missing at the end, after 'and'."
            " For example: ${age} >= 16 and ${age} <= 80",
        ),
        ("()", "Something is missing before ')' (at character 2)"),
    ],
)
def test_refusals_name_the_reason(expression: str, message: str) -> None:
    with pytest.raises(XPathSyntaxError) as raised:
        parse(expression)
    assert str(raised.value).startswith(message)


def test_about_25_functions_are_supported() -> None:
    assert {"selected", "count-selected", "string-length", "not", "regex", "if"} <= set(FUNCTIONS)
    assert 20 <= len(FUNCTIONS) <= 40


def test_if_evaluates_only_the_branch_taken() -> None:
    # A broken pattern from an answer would raise if evaluated.
    assert evaluate("if(true(), 1, regex('a', ${bad}))", {"bad": "["}) == 1.0


# --------------------------------------------------------------------------- regex()


def test_regex_takes_linear_time_on_a_pattern_that_backtracks() -> None:
    """'(a+)+$' against a run of letters ending in '!' takes Python's `re` 2^n steps:
    24 letters took 2.8 s in the reviewer's test, 40 would take days. RE2 answers at
    once; the count of steps is what the test pins, so it cannot pass by luck of timing:
    with `re`, 5,000 letters would not finish."""
    answer = "a" * 5_000 + "!"
    assert not is_true("regex(., '(a+)+$')", {}, current=answer)
    assert is_true("regex(., '(a+)+$')", {}, current="a" * 5_000)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?=a)b", "look-ahead and look-behind, like (?=...), are not supported"),
        ("(?<!a)b", "look-ahead and look-behind, like (?=...), are not supported"),
        ("(a)\\1", "back-references, like \\1, are not supported"),
        ("[a-", "a '[' is not closed with ']'"),
        ("(ab", "a '(' is not closed with ')'"),
        ("a{1001}", "a repeat count like {n} is too large: at most 1000"),
        ("*a", "'*', '+' or '?' has nothing before it"),
    ],
)
def test_a_pattern_regex_cannot_use_is_refused_when_the_rule_is_read(
    pattern: str, reason: str
) -> None:
    with pytest.raises(XPathSyntaxError) as raised:
        parse(f"regex(., '{pattern}')")
    # In the form author's words, not RE2's, and with no position that points nowhere.
    assert str(raised.value) == f"The pattern in regex() can't be used: {reason}"


def test_a_pattern_taken_from_an_answer_is_checked_when_evaluated() -> None:
    rule = parse("regex(., ${pattern})")  # nothing to check until someone answers
    assert rule.is_true({"pattern": "^[0-9]+$"}, current="123")
    with pytest.raises(XPathEvaluationError, match="can't be used"):
        rule.is_true({"pattern": "(?=1)"}, current="123")


def test_regex_matches_as_odk_does() -> None:
    # Anywhere in the answer unless anchored; \d and \w are ASCII, as in Java.
    assert is_true("regex(., 'b')", {}, current="abc")
    assert not is_true("regex(., '^b')", {}, current="abc")
    assert not is_true("regex(., '^\\d+$')", {}, current="١٢٣")  # Arabic-Indic digits
    assert is_true("regex(., '(?i)^ABC$')", {}, current="abc")
