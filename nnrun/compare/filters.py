"""`--filter` expressions: which runs to keep.

One expression is clauses joined by `or` and `and` (`and` binds tighter); repeated
`--filter` options must all hold. A clause is one of:

    optimizer.name=adam            equal (numbers compare as numbers: 1e-3 = 0.001)
    name=breast*                   equal, with * ? [..] as a glob
    optimizer.name!=sgd            not equal
    test.accuracy>0.9              > >= < <= on numbers (or on text, e.g. started>=2025-01-02)
    optimizer.name in (adam,sgd)   one of;  `not in (...)` none of
    0.001<=optimizer.learning_rate<=0.1    a range (< or <= on both sides, or > / >=)

A run that has no value for a key never matches a clause on it. A list value (e.g.
`metrics`) matches `=` if the value is one of its items.
"""

from __future__ import annotations

import fnmatch
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nnrun.errors import NnrunError

SYNTAX = (
    "expected KEY=VALUE, KEY!=VALUE, KEY>VALUE (>=, <, <=), KEY in (A,B), KEY not in (A,B) "
    "or LOW<=KEY<=HIGH, joined by 'or' / 'and'"
)
_IN = re.compile(r"^\s*(?P<key>[^\s=<>!()]+)\s+(?P<neg>not\s+)?in\s*\((?P<values>.*)\)\s*$", re.IGNORECASE)
_RANGE = re.compile(
    r"^\s*(?P<lo>[^<>=!]+?)\s*(?P<op1><=|<|>=|>)\s*(?P<key>[^<>=!\s]+)\s*(?P<op2><=|<|>=|>)\s*(?P<hi>[^<>=!]+?)\s*$"
)
_CMP = re.compile(r"^\s*(?P<key>[^<>=!\s]+)\s*(?P<op>==|!=|>=|<=|=|>|<)\s*(?P<value>.*?)\s*$")
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def parse_value(raw: str) -> Any:
    """A value typed by the user: a number, true/false, null, or text (quotes optional)."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def equal(actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    if isinstance(actual, list):
        return any(equal(a, expected) for a in actual) or equal(_text(actual), expected)
    if _is_number(actual) and _is_number(expected):
        return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=0.0)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or _text(actual) == _text(expected)
    if isinstance(expected, str) and any(c in expected for c in "*?["):
        return fnmatch.fnmatchcase(_text(actual), expected)
    return _text(actual) == _text(expected)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    return str(v)


def _ordered(op: str, actual: Any, bound: Any) -> bool:
    if _is_number(actual) and _is_number(bound):
        return not (isinstance(actual, float) and math.isnan(actual)) and _ORDER[op](float(actual), float(bound))
    if isinstance(actual, str) and isinstance(bound, str):
        return _ORDER[op](actual, bound)
    return False


@dataclass(frozen=True)
class Clause:
    key: str
    op: str  # = != > >= < <= in notin range
    values: tuple[Any, ...]

    def matches(self, get: Callable[[str], Any]) -> bool:
        actual = get(self.key)
        if actual is None:
            return False
        if self.op == "=":
            return equal(actual, self.values[0])
        if self.op == "!=":
            return not equal(actual, self.values[0])
        if self.op == "in":
            return any(equal(actual, v) for v in self.values)
        if self.op == "notin":
            return not any(equal(actual, v) for v in self.values)
        if self.op == "range":
            (op1, lo), (op2, hi) = self.values
            return _ordered(op1, actual, lo) and _ordered(op2, actual, hi)
        return _ordered(self.op, actual, self.values[0])


@dataclass(frozen=True)
class Filter:
    """One `--filter` option: a disjunction of conjunctions of clauses."""

    text: str
    any_of: tuple[tuple[Clause, ...], ...]

    @property
    def keys(self) -> list[str]:
        return [c.key for group in self.any_of for c in group]

    def matches(self, get: Callable[[str], Any]) -> bool:
        return any(all(c.matches(get) for c in group) for group in self.any_of)


def _split(text: str, word: str) -> list[str]:
    """Split on a whole word outside parentheses and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    pattern = re.compile(rf"\s+{word}\s+", re.IGNORECASE)
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0:
            m = pattern.match(text, i)
            if m:
                parts.append(text[start:i])
                start = i = m.end()
                continue
        i += 1
    parts.append(text[start:])
    return parts


def _clause(text: str, whole: str) -> Clause:
    def fail(why: str = "") -> NnrunError:
        return NnrunError(f"cannot read --filter {whole!r}{': ' + why if why else ''}; {SYNTAX}")

    if not text.strip():
        raise fail("an empty condition")
    m = _IN.match(text)
    if m:
        values = tuple(parse_value(v) for v in m["values"].split(",") if v.strip())
        if not values:
            raise fail("'in' needs at least one value")
        return Clause(m["key"], "notin" if m["neg"] else "in", values)
    m = _RANGE.match(text)
    if m:
        op1, op2 = m["op1"], m["op2"]
        if (op1[0] == "<") != (op2[0] == "<"):
            raise fail("a range goes one way: LOW<=KEY<=HIGH or HIGH>=KEY>=LOW")
        # LOW <= KEY  is  KEY >= LOW
        return Clause(m["key"], "range", ((_FLIP[op1], parse_value(m["lo"])), (op2, parse_value(m["hi"]))))
    m = _CMP.match(text)
    if m:
        op = "=" if m["op"] == "==" else m["op"]
        if not m["value"]:
            raise fail(f"no value after {m['op']!r}")
        value = parse_value(m["value"])
        if op in _ORDER and not (_is_number(value) or isinstance(value, str)):
            raise fail(f"{op} needs a number or text")
        return Clause(m["key"], op, (value,))
    raise fail()


def parse_filter(text: str) -> Filter:
    """Parse one `--filter` expression; raises NnrunError with the syntax on a typo."""
    groups = tuple(tuple(_clause(part, text) for part in _split(alt, "and")) for alt in _split(text, "or"))
    return Filter(text, groups)


def parse_filters(texts: Iterable[str]) -> list[Filter]:
    return [parse_filter(t) for t in texts]
