"""Strict parsing of math constructions (docs/math.md#parsing-and-validity) — the authoritative check.

Runs in the verifier's process, for JSON actions and for program results alike. Non-finite numbers
and unrepresentable integers are kept as markers so the message can name the index; every check is
written as "accept iff the condition holds" so that NaN can never slip through.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 4
_INT_DIGITS_MAX = 400  # float64 integers need at most 309 digits
_SPECIAL = re.compile(r'[\[\]{}"\\]')
_SHOW = 40  # at most this many characters of submitted text go into a message


def _clip(text: str) -> str:
    return text if len(text) <= _SHOW else text[:_SHOW] + "…"


class ParseError(Exception):
    """Malformed or invalid construction; the message is shown to the user as is."""


class _Bad:
    """A number that is not a finite float64 (NaN, inf, 1e400, an unrepresentable integer)."""

    __slots__ = ("text", "why")

    def __init__(self, text: str, why: str) -> None:
        self.text, self.why = text, why


def _parse_float(s: str) -> float | _Bad:
    x = float(s)
    return x if math.isfinite(x) else _Bad(s, "non-finite")


def _parse_int(s: str) -> float | _Bad:
    digits = s.lstrip("-")
    if len(digits) > _INT_DIGITS_MAX:
        return _Bad(
            s[:20] + "…",
            f"an integer literal with {len(digits)} digits is too long and not exactly representable in float64",
        )
    i = int(s)
    try:
        f = float(i)
    except OverflowError:
        return _Bad(s[:20], "non-finite")
    if int(f) != i:
        return _Bad(s, f"the integer {_clip(s)} is not exactly representable in float64")
    return f


def _parse_constant(s: str) -> _Bad:
    return _Bad(s, "non-finite")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ParseError(f"duplicate key {_clip(k)!r} in a JSON object")
        d[k] = v
    return d


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Reject nesting deeper than `max_depth` before json sees it. One pass over the characters
    that matter (brackets, quotes, backslashes) with a small state machine: linear in the input,
    whatever the submitter puts inside strings."""
    depth = 0
    in_string = False
    escaped_at = -1  # index of the character a backslash escapes
    for m in _SPECIAL.finditer(text):
        c, pos = m.group(), m.start()
        if in_string:
            if pos == escaped_at:
                continue
            if c == "\\":
                escaped_at = pos + 1
            elif c == '"':
                in_string = False
            continue
        if c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > max_depth:
                raise ParseError(f"nesting too deep: JSON arrays/objects nested more than {max_depth} levels")
        elif c in "]}":
            depth -= 1


def loads_strict(text: str, cap_bytes: int, what: str = "construction") -> Any:
    """Parse JSON strictly: size cap, depth limit, no duplicate keys, no trailing data, numbers as
    finite float64 or markers."""
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > cap_bytes else len(text)
    if size > cap_bytes:
        raise ParseError(f"the {what} is {size:,} bytes, larger than the {_human(cap_bytes)} cap")
    check_depth(text)
    try:
        return json.loads(
            text,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_parse_constant,
            object_pairs_hook=_pairs,
        )
    except ParseError:
        raise
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":
            raise ParseError(f"trailing data after the JSON document (line {e.lineno}, column {e.colno})") from None
        raise ParseError(f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ParseError(f"invalid JSON: {type(e).__name__}: {str(e)[:200]}") from None


def _human(n: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _element(x: Any, where: str) -> float:
    """One number of a construction, or ParseError naming `where`."""
    t = type(x)
    if t is float:
        return 0.0 if x == 0.0 else x  # canonical form: -0.0 -> 0.0
    if isinstance(x, _Bad):
        if x.why == "non-finite":
            raise ParseError(f"{where} is a non-finite value ({_clip(x.text)}); every value must be a finite number")
        raise ParseError(f"{where}: {x.why}")
    if t is bool:
        raise ParseError(f"{where} is {'true' if x else 'false'}; booleans are not numbers")
    if x is None:
        raise ParseError(f"{where} is null; expected a number")
    if t is str:
        raise ParseError(f"{where} is a string ({x[:20]!r}); expected a number")
    if t is dict:
        raise ParseError(f"{where} is an object; expected a number")
    if t is list:
        raise ParseError(f"{where} is an array; expected a number")
    raise ParseError(f"{where} has unsupported type {t.__name__}")


def unwrap(doc: Any, problem_id: str) -> Any:
    """A bare array, or an object with "construction" (and optionally a matching "problem")."""
    if type(doc) is dict:
        if "problem" in doc and doc["problem"] != problem_id:
            shown = _clip(doc["problem"]) if isinstance(doc["problem"], str) else _kind(doc["problem"])
            raise ParseError(f"this construction is for problem {shown!r}, not {problem_id!r}")
        if "construction" not in doc:
            raise ParseError(
                'the JSON object has no "construction" key; give the construction as an array '
                'or as {"construction": [...]}'
            )
        return doc["construction"]
    return doc


def sequence(doc: Any, n_max: int, name: str) -> list[float]:
    """A flat list of 1..n_max finite floats."""
    if type(doc) is not list:
        raise ParseError(f"expected a flat list of numbers, got {_kind(doc)}")
    if len(doc) < 1:
        raise ParseError("the construction is empty; n must be ≥ 1")
    if len(doc) > n_max:
        raise ParseError(f"n = {len(doc):,} values; the limit is n ≤ {n_max:,}")
    out = []
    for i, x in enumerate(doc):
        if type(x) is list:
            raise ParseError(f"{name}[{i}] is an array; expected a flat list of numbers")
        out.append(_element(x, f"{name}[{i}]"))
    return out


def triples(doc: Any, n: int) -> list[tuple[float, float, float]]:
    """Exactly n circles, each [x, y, r] of finite floats."""
    if type(doc) is not list:
        raise ParseError(f"expected a list of {n} [x, y, r] triples, got {_kind(doc)}")
    if len(doc) != n:
        raise ParseError(f"got {len(doc)} circles; this problem needs exactly n = {n}")
    out = []
    for i, c in enumerate(doc):
        if type(c) is not list:
            raise ParseError(f"circle {i} is {_kind(c)}; each circle needs exactly 3 numbers [x, y, r]")
        if len(c) != 3:
            raise ParseError(f"circle {i} has {len(c)} numbers; each circle needs exactly 3 numbers [x, y, r]")
        x, y, r = (_element(v, f"circle {i} {'xyr'[j]}") for j, v in enumerate(c))
        out.append((x, y, r))
    return out


def _kind(x: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
        float: "a number",
    }.get(type(x), type(x).__name__)


def precheck_count(text: str, n_max: int, per_item: int = 1) -> None:
    """Cheap guard before parsing: far too many commas means far too many elements."""
    if text.count(",") > (n_max + 16) * per_item + 1024:
        raise ParseError(f"the construction has more than {n_max:,} elements; the limit is n ≤ {n_max:,}")


def canonical_json(construction: Any) -> str:
    """Shortest round-trip floats, -0.0 written as 0.0, no spaces: the dedup/hash form."""
    return json.dumps(construction, separators=(",", ":"), allow_nan=False)
