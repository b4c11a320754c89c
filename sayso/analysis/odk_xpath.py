"""A small evaluator for the subset of ODK XPath that survey logic uses.

XLSForm's ``relevant`` and ``constraint`` columns hold XPath 1.0 expressions with ODK
additions: ``${name}`` for another question's answer, ``.`` for the answer being
checked, and functions such as ``selected()`` and ``count-selected()``. Pages must
work without JavaScript, so the server evaluates them, over plain answers.

What is accepted (anything else is refused at parse time, naming what was found, so an
importer can reject a form instead of evaluating it wrongly):

* literals: numbers (``3``, ``2.5``) and strings (``'a'`` or ``"a"``);
* paths: ``${name}`` and ``.``;
* operators, loosest first: ``or``; ``and``; ``=`` ``!=``; ``<`` ``<=`` ``>`` ``>=``;
  ``+`` ``-``; ``*`` ``div`` ``mod``; unary ``-``;
* the functions in :data:`FUNCTIONS`.

Semantics follow XPath 1.0 as JavaRosa applies it: every answer is a string (an
unanswered question is the empty string, a multiple choice answer is its choices
separated by spaces); ``=`` compares as booleans if either side is a boolean, else as
numbers if either side is a number, else as strings; ``<`` and friends compare as
numbers, except that two dates (``YYYY-MM-DD``) compare as dates. An empty string is
NaN as a number, and NaN compares false with everything.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import re2

__all__ = [
    "FUNCTIONS",
    "Answer",
    "Expression",
    "XPathError",
    "XPathEvaluationError",
    "XPathSyntaxError",
    "evaluate",
    "is_true",
    "parse",
]

Value = str | float | bool
# An answer as stored: text, a number, a date, several choices, or nothing.
Answer = str | int | float | bool | dt.date | Sequence[str] | None

_EPOCH = dt.date(1970, 1, 1)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class XPathError(ValueError):
    """The expression cannot be used; the message is written for a form author."""


class XPathSyntaxError(XPathError):
    """`reason` says what is wrong and where; `example`, when given, is a rule of the
    same shape written correctly, with ANSWER_HOLE where an answer goes, so that a
    caller can fill in what fits its field (``.`` for this answer, ``${age}``)."""

    def __init__(self, message: str, position: int | None = None, example: str = "") -> None:
        where = f" (at character {position + 1})" if position is not None else ""
        self.reason = message + where
        self.position = position
        self.example = example
        super().__init__(self.reason + (f". For example: {self.example_with()}" if example else ""))

    def example_with(self, answer: str = "${age}") -> str:
        """The example with `answer` where an answer goes ("" when there is none)."""
        return self.example.replace(ANSWER_HOLE, answer)


# Where an example rule in a message takes an answer: see XPathSyntaxError.
ANSWER_HOLE = "{answer}"
# Operators people join two rules with, as against those that compare two values.
_JOINING = frozenset({"and", "or"})


def _example(op: str) -> str:
    """A correct rule using the operator `op`, for a message about a misplaced one."""
    if op in _JOINING:
        return f"{ANSWER_HOLE} >= 16 {op} {ANSWER_HOLE} <= 80"
    return f"{ANSWER_HOLE} {op} 16"


class XPathEvaluationError(XPathError):
    pass


# --------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][\w.\-]*)\})
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<dot>\.(?![\w.]))
  | (?P<name>[A-Za-z_][\w\-]*(?::[A-Za-z_][\w\-]*)?)
    """,
    re.VERBOSE,
)
_WORD_OPERATORS = frozenset({"and", "or", "div", "mod"})


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, ref, op, dot, name, end
    text: str
    position: int


def _shown(token: _Token) -> str:
    """A token as a message quotes it: as it was written."""
    if token.kind == "string":
        return token.text
    if token.kind == "ref":
        return f"'${{{token.text}}}'"
    return f"'{token.text}'"


def _tokenise(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            snippet = source[position : position + 10]
            if source[position] in "'\"":
                raise XPathSyntaxError(
                    "A text in quotes has no closing quote", position, "${shift} = 'night'"
                )
            if source.startswith("${", position):
                raise XPathSyntaxError(
                    "A question's short name must be written in ${ and }, with only"
                    " letters, numbers and _ between them",
                    position,
                    "${shift} = 'night'",
                )
            if source[position] in "&|":
                raise XPathSyntaxError(
                    f"Join two rules with the word 'and' or 'or', not '{snippet.split()[0]}'",
                    position,
                    _example("and"),
                )
            raise XPathSyntaxError(
                f"'{snippet.strip()}' is not understood: refer to a question as ${{name}},"
                " and compare with =, !=, <, <=, > or >=",
                position,
                "${shift} = 'night'",
            )
        kind = match.lastgroup or ""
        if kind == "refname":  # pragma: no cover - the outer group wins
            kind = "ref"
        if match.group("ref"):
            tokens.append(_Token("ref", match.group("refname"), position))
        elif kind != "space":
            text = match.group(kind)
            if kind == "name" and text in _WORD_OPERATORS:
                kind = "op"
            tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class _Literal:
    value: Value


@dataclass(frozen=True)
class _Ref:
    name: str  # "" for "." (the current answer)


@dataclass(frozen=True)
class _Unary:
    operand: _Node


@dataclass(frozen=True)
class _Binary:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[_Node, ...]


_Node = _Literal | _Ref | _Unary | _Binary | _Call

# Binding power of each binary operator (higher binds tighter).
_BINDING = {
    "or": 10,
    "and": 20,
    "=": 30,
    "!=": 30,
    "<": 40,
    "<=": 40,
    ">": 40,
    ">=": 40,
    "+": 50,
    "-": 50,
    "*": 60,
    "div": 60,
    "mod": 60,
}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenise(source)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != text:
            # Only ")" is ever expected: a bracket was opened and not closed.
            where = f"before {_shown(token)}" if token.text else "at the end"
            raise XPathSyntaxError(f"A bracket is not closed: add '{text}' {where}", token.position)

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise XPathSyntaxError("The expression is empty")
        node = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            if token.text == ")":
                raise XPathSyntaxError(
                    "There is a ')' with no '(' before it to close", token.position
                )
            # A whole rule is followed by more: most often two rules not joined.
            raise XPathSyntaxError(
                f"{_shown(token)} does not fit here: is 'and' or 'or' missing before it?",
                token.position,
                _example("and"),
            )
        return node

    def expression(self, min_binding: int) -> _Node:
        left = self.prefix()
        while True:
            token = self.peek()
            binding = _BINDING.get(token.text) if token.kind == "op" else None
            if binding is None or binding <= min_binding:
                return left
            self.take()
            right = self.expression(binding)
            left = _Binary(token.text, left, right)

    def prefix(self) -> _Node:
        token = self.take()
        if token.kind == "number":
            return _Literal(float(token.text))
        if token.kind == "string":
            return _Literal(token.text[1:-1])
        if token.kind == "ref":
            return _Ref(token.text)
        if token.kind == "dot":
            return _Ref("")
        if token.kind == "op" and token.text == "-":
            return _Unary(self.expression(_BINDING["*"]))
        if token.kind == "op" and token.text == "(":
            inner = self.expression(0)
            self.expect(")")
            return inner
        if token.kind == "name":
            if self.peek().text != "(":
                raise XPathSyntaxError(
                    f"'{token.text}' is not understood: refer to a question as "
                    f"${{{token.text}}}, or put text in quotes",
                    token.position,
                )
            if token.text not in FUNCTIONS:
                raise XPathSyntaxError(
                    f"The function {token.text}() is not supported", token.position
                )
            self.take()
            args: list[_Node] = []
            if self.peek().text != ")":
                args.append(self.expression(0))
                while self.peek().text == ",":
                    self.take()
                    args.append(self.expression(0))
            self.expect(")")
            low, high = FUNCTIONS[token.text].arity
            if not low <= len(args) <= (high if high >= 0 else len(args)):
                expected = (
                    str(low)
                    if low == high
                    else f"{low} to {high}"
                    if high >= 0
                    else f"{low} or more"
                )
                values = "value" if expected == "1" else "values, separated by commas,"
                raise XPathSyntaxError(
                    f"{token.text}() needs {expected} {values} between its brackets,"
                    f" not {len(args)}",
                    token.position,
                    "selected(${worries}, 'cameras')" if token.text == "selected" else "",
                )
            if token.text == "regex" and isinstance(args[1], _Literal):
                # A pattern written into the rule is checked now, when the rule is saved
                # or imported, rather than when someone answers.
                try:
                    _pattern(_string(args[1].value))
                except XPathEvaluationError as refused:
                    raise XPathSyntaxError(str(refused)) from None
            return _Call(token.text, tuple(args))
        # A value was wanted here: something is missing before what was found.
        before = self.tokens[self.index - 2] if self.index >= 2 else None
        if token.kind == "end":
            after = f", after '{before.text}'" if before is not None and before.text else ""
            raise XPathSyntaxError(
                f"Something is missing at the end{after}",
                None,
                _example(before.text) if before is not None and before.kind == "op" else "",
            )
        if token.text == "=" and before is not None and before.text == "=":
            raise XPathSyntaxError(
                "Compare with a single '=', not '=='", before.position, "${shift} = 'night'"
            )
        raise XPathSyntaxError(
            f"Something is missing before {_shown(token)}",
            token.position,
            _example(token.text) if token.text in _BINDING else "",
        )


# --------------------------------------------------------------------------- values


def _number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    text = value.strip()
    if _DATE.match(text):
        try:
            return float((dt.date.fromisoformat(text) - _EPOCH).days)
        except ValueError:
            return math.nan
    try:
        return float(text) if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", text) else math.nan
    except ValueError:  # pragma: no cover - the pattern guarantees a number
        return math.nan


def _string(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return _positional(value)
    return value


def _positional(value: float) -> str:
    """A number as text the way ODK writes it: digits only, never an exponent (Python's
    repr gives "1e-07", which _number would read back as NaN, refusing 0.0000001 by
    every number rule). The shortest digits that give the float back, so 0.1 is "0.1"."""
    if value == 0:
        return "0"
    written = format(Decimal(repr(value)), "f")
    if "." in written:
        written = written.rstrip("0").rstrip(".")
    return written


def _boolean(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    return value != ""


def _answer_value(answer: Answer) -> Value:
    if answer is None:
        return ""
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, int | float):
        return _string(float(answer))
    if isinstance(answer, dt.date):
        return answer.isoformat()
    if isinstance(answer, str):
        return answer
    return " ".join(str(a) for a in answer)


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = _boolean(left) == _boolean(right)
        elif isinstance(left, float) or isinstance(right, float):
            equal = _number(left) == _number(right)
        else:
            equal = left == right
        return equal if op == "=" else not equal
    a, b = _number(left), _number(right)
    if math.isnan(a) or math.isnan(b):
        return False
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _arith(op: str, left: Value, right: Value) -> float:
    a, b = _number(left), _number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        if b == 0:
            return (
                math.nan
                if a == 0 or math.isnan(a)
                else math.copysign(math.inf, a) * (1 if b >= 0 else -1)
            )
        return a / b
    if b == 0 or math.isnan(a) or math.isnan(b):
        return math.nan
    return math.fmod(a, b)


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class _Function:
    arity: tuple[int, int]  # (min, max); max -1 means any number
    call: Callable[[list[Value]], Value]


def _selected(args: list[Value]) -> Value:
    return _string(args[1]).strip() in _string(args[0]).split()


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the author, not logged


@functools.lru_cache(maxsize=256)
def _pattern(source: str) -> Any:
    """The compiled pattern, by RE2: matching takes time linear in the answer, where
    Python's backtracking `re` takes exponential time on patterns like '(a+)+$' (a
    respondent typing 40 letters would tie up a server thread for days). RE2 has no
    look-around and no back-references; such patterns are refused with the reason."""
    try:
        return re2.compile(source, _RE2_OPTIONS)
    except re2.error as error:
        found = error.args[0] if error.args else ""
        reason = found.decode("utf-8", "replace") if isinstance(found, bytes) else str(found)
        raise XPathEvaluationError(
            f"The pattern in regex() can't be used: {_plain_pattern_problem(reason)}"
        ) from None


# RE2's reasons, as a form author would put them (the first match wins).
_PATTERN_PROBLEMS = (
    ("invalid perl operator", "look-ahead and look-behind, like (?=...), are not supported"),
    ("invalid escape sequence: \\1", "back-references, like \\1, are not supported"),
    ("invalid escape sequence", "it has a backslash sequence that is not supported"),
    ("missing ]", "a '[' is not closed with ']'"),
    ("missing )", "a '(' is not closed with ')'"),
    ("unexpected )", "there is a ')' with no '(' before it"),
    ("invalid repetition size", "a repeat count like {n} is too large: at most 1000"),
    ("no argument for repetition operator", "'*', '+' or '?' has nothing before it"),
    ("missing argument to repetition operator", "'*', '+' or '?' has nothing before it"),
    ("bad repetition operator", "two repeat signs follow each other, like '**'"),
)


def _plain_pattern_problem(reason: str) -> str:
    for start, plain in _PATTERN_PROBLEMS:
        if reason.startswith(start):
            return plain
    return f"it is not a valid pattern ({reason})"


def _regex(args: list[Value]) -> Value:
    return _pattern(_string(args[1])).search(_string(args[0])) is not None


def _round(args: list[Value]) -> Value:
    x = _number(args[0])
    places = int(_number(args[1])) if len(args) > 1 else 0
    if math.isnan(x) or math.isinf(x):
        return x
    factor = 10.0**places
    return math.floor(x * factor + 0.5) / factor


def _int(args: list[Value]) -> Value:
    x = _number(args[0])
    return x if math.isnan(x) or math.isinf(x) else float(math.trunc(x))


def _substr(args: list[Value]) -> Value:
    text = _string(args[0])
    start = int(_number(args[1]))
    if len(args) > 2:
        return text[start : start + int(_number(args[2]))]
    return text[start:]


def _date(args: list[Value]) -> Value:
    value = args[0]
    if isinstance(value, str) and _DATE.match(value.strip()):
        return value.strip()
    days = _number(value)
    if math.isnan(days):
        return ""
    return (_EPOCH + dt.timedelta(days=int(days))).isoformat()


def _if(args: list[Value]) -> Value:
    return args[1] if _boolean(args[0]) else args[2]


def _coalesce(args: list[Value]) -> Value:
    first = _string(args[0])
    return args[0] if first != "" else args[1]


FUNCTIONS: dict[str, _Function] = {
    "selected": _Function((2, 2), _selected),
    "count-selected": _Function((1, 1), lambda a: float(len(_string(a[0]).split()))),
    "selected-at": _Function(
        (2, 2),
        lambda a: (lambda parts, i: parts[i] if 0 <= i < len(parts) else "")(
            _string(a[0]).split(), int(_number(a[1])) if not math.isnan(_number(a[1])) else -1
        ),
    ),
    "string-length": _Function((1, 1), lambda a: float(len(_string(a[0])))),
    "not": _Function((1, 1), lambda a: not _boolean(a[0])),
    "true": _Function((0, 0), lambda a: True),
    "false": _Function((0, 0), lambda a: False),
    "boolean": _Function((1, 1), lambda a: _boolean(a[0])),
    "boolean-from-string": _Function((1, 1), lambda a: _string(a[0]) in ("true", "1")),
    "number": _Function((1, 1), lambda a: _number(a[0])),
    "int": _Function((1, 1), _int),
    "string": _Function((1, 1), lambda a: _string(a[0])),
    "concat": _Function((0, -1), lambda a: "".join(_string(v) for v in a)),
    "contains": _Function((2, 2), lambda a: _string(a[1]) in _string(a[0])),
    "starts-with": _Function((2, 2), lambda a: _string(a[0]).startswith(_string(a[1]))),
    "ends-with": _Function((2, 2), lambda a: _string(a[0]).endswith(_string(a[1]))),
    "substr": _Function((2, 3), _substr),
    "normalize-space": _Function((1, 1), lambda a: " ".join(_string(a[0]).split())),
    "regex": _Function((2, 2), _regex),
    "round": _Function((1, 2), _round),
    "floor": _Function(
        (1, 1), lambda a: float(math.floor(x)) if math.isfinite(x := _number(a[0])) else x
    ),
    "ceiling": _Function(
        (1, 1), lambda a: float(math.ceil(x)) if math.isfinite(x := _number(a[0])) else x
    ),
    "abs": _Function((1, 1), lambda a: abs(_number(a[0]))),
    "if": _Function((3, 3), _if),
    "coalesce": _Function((2, 2), _coalesce),
    "today": _Function((0, 0), lambda a: dt.date.today().isoformat()),
    "date": _Function((1, 1), _date),
}


# --------------------------------------------------------------------------- public API


def _walk(node: _Node) -> list[_Node]:
    out: list[_Node] = [node]
    if isinstance(node, _Unary):
        out += _walk(node.operand)
    elif isinstance(node, _Binary):
        out += _walk(node.left) + _walk(node.right)
    elif isinstance(node, _Call):
        for arg in node.args:
            out += _walk(arg)
    return out


@dataclass(frozen=True)
class Expression:
    """A parsed expression: evaluate it many times, list what it refers to."""

    source: str
    _tree: _Node = field(repr=False)

    @property
    def references(self) -> frozenset[str]:
        """Names of the questions it refers to with ``${name}``."""
        return frozenset(n.name for n in _walk(self._tree) if isinstance(n, _Ref) and n.name)

    @property
    def uses_current(self) -> bool:
        """True when it refers to the answer being checked (``.``)."""
        return any(isinstance(n, _Ref) and not n.name for n in _walk(self._tree))

    @property
    def compared_texts(self) -> frozenset[tuple[str, str]]:
        """(name, text) for each ``${name} = 'text'`` or ``!=`` (either way round) and
        each ``selected(${name}, 'text')``: the texts the expression expects an answer to
        be or hold. The name is "" for ``.`` (the current answer)."""
        found: set[tuple[str, str]] = set()
        for node in _walk(self._tree):
            pairs: list[tuple[_Node, _Node]] = []
            if isinstance(node, _Binary) and node.op in ("=", "!="):
                pairs = [(node.left, node.right), (node.right, node.left)]
            elif isinstance(node, _Call) and node.name == "selected" and len(node.args) == 2:
                pairs = [(node.args[0], node.args[1])]
            for ref, text in pairs:
                if (
                    isinstance(ref, _Ref)
                    and isinstance(text, _Literal)
                    and isinstance(text.value, str)
                ):
                    found.add((ref.name, text.value))
        return frozenset(found)

    @property
    def functions(self) -> frozenset[str]:
        return frozenset(n.name for n in _walk(self._tree) if isinstance(n, _Call))

    def evaluate(self, answers: Mapping[str, Answer], current: Answer = None) -> Value:
        """The expression's value. ``answers`` maps question names to answers (a
        missing name is unanswered); ``current`` is the answer ``.`` stands for."""
        return _eval(self._tree, answers, _answer_value(current))

    def is_true(self, answers: Mapping[str, Answer], current: Answer = None) -> bool:
        return _boolean(self.evaluate(answers, current))


def _eval(node: _Node, answers: Mapping[str, Answer], current: Value) -> Value:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Ref):
        return current if not node.name else _answer_value(answers.get(node.name))
    if isinstance(node, _Unary):
        return -_number(_eval(node.operand, answers, current))
    if isinstance(node, _Binary):
        if node.op == "or":
            return _boolean(_eval(node.left, answers, current)) or _boolean(
                _eval(node.right, answers, current)
            )
        if node.op == "and":
            return _boolean(_eval(node.left, answers, current)) and _boolean(
                _eval(node.right, answers, current)
            )
        left = _eval(node.left, answers, current)
        right = _eval(node.right, answers, current)
        if node.op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(node.op, left, right)
        return _arith(node.op, left, right)
    if node.name == "if":  # evaluate only the branch taken
        chosen = node.args[1] if _boolean(_eval(node.args[0], answers, current)) else node.args[2]
        return _eval(chosen, answers, current)
    return FUNCTIONS[node.name].call([_eval(a, answers, current) for a in node.args])


def parse(source: str) -> Expression:
    """Parse an expression, raising :class:`XPathSyntaxError` with a plain reason."""
    return Expression(source=source, _tree=_Parser(source).parse())


def evaluate(source: str, answers: Mapping[str, Answer], current: Answer = None) -> Value:
    return parse(source).evaluate(answers, current)


def is_true(source: str, answers: Mapping[str, Answer], current: Answer = None) -> bool:
    return parse(source).is_true(answers, current)
