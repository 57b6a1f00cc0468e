"""Shared pieces of the AtCoder scorers (docs/atcoder.md#official-scorers).

The official testers are Rust programs (``tools/src/lib.rs`` + ``tools/src/bin/tester.rs``). What they
do with the output text, and what this module reproduces:

- the output file is decoded as UTF-8 first; invalid UTF-8 anywhere is WA ``not utf-8``
  (:func:`utf8_bytes`);
- tokens are split on Unicode ``White_Space`` (Rust ``split_whitespace``), *not* on Python's idea of
  whitespace: U+001C…U+001F are not separators, U+0085, U+00A0, U+1680, U+2000…U+200A, U+2028,
  U+2029, U+202F, U+205F and U+3000 are (:data:`WHITESPACE`, :func:`split_whitespace`, :func:`trim`);
- lines are Rust ``str::lines`` (split on ``\\n`` only, one trailing ``\\r`` dropped; :func:`rust_lines`);
- integers are parsed like Rust ``str::parse::<i32 | i64 | usize>``: one optional ``+`` (or ``-`` for
  signed types), then one or more ASCII digits, and the value must fit the type
  (:func:`parse_rust_int`); the helper :func:`read` mirrors the tester's ``read`` and its three messages
  ``Unexpected EOF`` / ``Parse error: {token}`` / ``Out of range: {value}``.

Everything here is total: no function raises on any output text, except :func:`read`, which raises
:class:`WrongAnswer` on purpose (the scorers catch it).
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import re
from collections.abc import Iterator
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "CaseScore",
    "WrongAnswer",
    "IntKind",
    "I32",
    "I64",
    "USIZE",
    "WHITESPACE",
    "WHITESPACE_CHARS",
    "split_whitespace",
    "iter_tokens",
    "trim",
    "rust_lines",
    "parse_rust_int",
    "read",
    "utf8_bytes",
    "normalize_whitespace_bytes",
    "ascii_ws_mask",
    "round_half_away_from_zero",
]


# ---------------------------------------------------------------------------------------------
# Result type
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CaseScore:
    """The official tester's result for one (input, output) pair.

    ``verdict`` is ``"AC"`` (tester exit 0, ``Score = N``) or ``"WA"`` (exit 1). ``score`` is the case
    score, 0 for WA. ``message`` is, for WA, exactly the tester's MESSAGE after ``wrong answer: ``
    (untrimmed: it may contain the offending token verbatim, control characters included, and may be
    long; callers that put it in a one-line Verdict trim it). For AC it is the empty string.
    """

    verdict: Literal["AC", "WA"]
    score: int
    message: str = ""

    @property
    def accepted(self) -> bool:
        return self.verdict == "AC"

    @classmethod
    def ac(cls, score: int) -> CaseScore:
        return cls("AC", int(score), "")

    @classmethod
    def wa(cls, message: str) -> CaseScore:
        return cls("WA", 0, message)


class WrongAnswer(Exception):
    """Raised inside the scorers with the tester's exact message; turned into ``CaseScore.wa``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------
# Unicode White_Space (Rust char::is_whitespace)
# ---------------------------------------------------------------------------------------------

#: The 25 code points with the Unicode ``White_Space`` property (what Rust's ``split_whitespace``
#: and ``trim`` use). Python's ``str.split()`` additionally splits on U+001C..U+001F: wrong here.
WHITESPACE: frozenset[str] = frozenset(
    [chr(c) for c in range(0x09, 0x0E)]
    + [" ", "\x85", "\xa0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)
assert len(WHITESPACE) == 25

#: The same set as one string, for ``str.strip(WHITESPACE_CHARS)`` (explicit chars: exactly these).
WHITESPACE_CHARS: str = "".join(sorted(WHITESPACE))

_WS_CLASS = "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_TOKEN_RE = re.compile(f"[^{_WS_CLASS}]+")

#: The multi-byte White_Space characters, UTF-8 encoded (the ASCII ones are single bytes).
_MULTIBYTE_WS: tuple[bytes, ...] = tuple(sorted(c.encode("utf-8") for c in WHITESPACE if ord(c) >= 0x80))


def split_whitespace(text: str) -> list[str]:
    """Rust ``str::split_whitespace``: maximal runs of non-White_Space characters."""
    return _TOKEN_RE.findall(text)


def iter_tokens(text: str, pos: int = 0) -> Iterator[str]:
    """Lazily yield the White_Space-separated tokens of ``text`` from ``pos`` (for huge lines)."""
    for m in _TOKEN_RE.finditer(text, pos):
        yield m.group()


def trim(text: str) -> str:
    """Rust ``str::trim``: strip leading and trailing White_Space."""
    return text.strip(WHITESPACE_CHARS)


def rust_lines(text: str) -> list[str]:
    """Rust ``str::lines``: split on ``\\n`` only; drop one ``\\r`` before each ``\\n``; a final empty
    piece after a trailing ``\\n`` is not a line. (Not ``str.splitlines``, which also splits on ``\\r``,
    ``\\x0b``, ``\\x0c``, ``\\x1c``..``\\x1e``, ``\\x85``, U+2028 and U+2029.)

    For a final line without ``\\n``, a trailing ``\\r`` is kept (Rust >= 1.77 behaviour); the testers
    ``trim`` every line anyway, so this choice never changes a verdict.
    """
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
        return [p[:-1] if p.endswith("\r") else p for p in parts]
    last = parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts] + [last]


# ---------------------------------------------------------------------------------------------
# Rust integer parsing
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IntKind:
    """A Rust integer type: its name, range and signedness."""

    name: str
    min: int
    max: int

    @property
    def signed(self) -> bool:
        return self.min < 0


I32 = IntKind("i32", -(2**31), 2**31 - 1)
I64 = IntKind("i64", -(2**63), 2**63 - 1)
USIZE = IntKind("usize", 0, 2**64 - 1)  # the testers are x86-64 builds

_ASCII_DIGITS = frozenset("0123456789")


def parse_rust_int(token: str | bytes, kind: IntKind) -> int | None:
    """``token.parse::<kind>()`` as Rust does it, or None for a parse error.

    Accepted: an optional single ``+`` (``-`` too when the type is signed), then one or more ASCII
    digits ``0-9``, nothing else; the value must fit the type. So ``-0``, ``+7`` and ``007`` parse;
    ``""``, ``"+"``, ``"-"``, ``"1_000"``, ``"٣"``, ``" 1"``, ``"1e5"`` and overflowing values do not;
    for ``usize`` any ``-`` (even ``-0``) is an error. Works in time linear in the token length (no
    ``int()`` on a long digit string: Python limits those).
    """
    if isinstance(token, (bytes, bytearray, memoryview)):
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not token:
        return None
    first = token[0]
    negative = False
    digits = token
    if first == "+":
        digits = token[1:]
    elif first == "-":
        if not kind.signed:
            return None
        negative = True
        digits = token[1:]
    if not digits or not digits.isascii() or not digits.isdigit():
        # For an ASCII string, isdigit() is exactly [0-9]+.
        return None
    significant = digits.lstrip("0")
    if len(significant) > 20:  # 2**64 - 1 has 20 digits: overflows every type here
        return None
    value = int(significant) if significant else 0
    if negative:
        value = -value
    if value < kind.min or value > kind.max:
        return None
    return value


def read(token: str | None, kind: IntKind, lo: int, hi: int) -> int:
    """The testers' ``read(token, lo..=hi)``: parse as ``kind``, check the range, or raise
    :class:`WrongAnswer` with ``Unexpected EOF``, ``Parse error: {token}`` or ``Out of range: {value}``.
    """
    if token is None:
        raise WrongAnswer("Unexpected EOF")
    value = parse_rust_int(token, kind)
    if value is None:
        raise WrongAnswer(f"Parse error: {token}")
    if value < lo or value > hi:
        raise WrongAnswer(f"Out of range: {value}")
    return value


# ---------------------------------------------------------------------------------------------
# Bytes and UTF-8
# ---------------------------------------------------------------------------------------------

_UTF8_CHUNK = 8 << 20


def utf8_bytes(output: str | bytes | bytearray | memoryview) -> bytes | None:
    """The output as valid UTF-8 bytes, or None when it is not valid UTF-8 (the tester: ``not utf-8``).

    Bytes are validated with Python's strict ``utf-8`` codec, which rejects exactly what Rust's
    ``std::str::from_utf8`` rejects (overlong forms, surrogates, > U+10FFFF, truncated sequences). A
    UTF-8 BOM is valid (and is *not* whitespace). A ``str`` containing lone surrogates (for example
    from ``surrogateescape`` decoding) cannot be the decoding of valid UTF-8 and gives None too.
    Validation is chunked, so a 64 MiB output never needs a decoded copy.
    """
    if isinstance(output, str):
        if output.isascii():
            return output.encode("ascii")
        try:
            return output.encode("utf-8")
        except UnicodeEncodeError:
            return None
    if not isinstance(output, bytes):
        try:
            output = bytes(output)
        except Exception:  # noqa: BLE001  # pragma: no cover - defensive: unknown buffer types
            return None
    if output.isascii():
        return output
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        n = len(output)
        for start in range(0, n, _UTF8_CHUNK):
            decoder.decode(output[start : start + _UTF8_CHUNK], final=start + _UTF8_CHUNK >= n)
    except UnicodeDecodeError:
        return None
    return output


def normalize_whitespace_bytes(buf: bytes) -> bytes:
    """Replace every multi-byte White_Space character of valid UTF-8 ``buf`` by as many ASCII spaces as
    it has bytes. Offsets are preserved, and afterwards a byte is White_Space exactly when it is one of
    ``\\t \\n \\x0b \\x0c \\r`` or space. (UTF-8 is self-synchronising, so in valid UTF-8 these byte
    sequences only ever match whole characters.)"""
    if buf.isascii():
        return buf
    for seq in _MULTIBYTE_WS:
        if seq in buf:
            buf = buf.replace(seq, b" " * len(seq))
    return buf


def ascii_ws_mask(arr: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Boolean White_Space mask of a uint8 array of :func:`normalize_whitespace_bytes` output
    (bytes 9..13 and 32; ``arr - 9`` wraps below 9, so one unsigned comparison covers 9..13)."""
    mask: npt.NDArray[np.bool_] = np.subtract(arr, 9, dtype=np.uint8) <= 4
    mask |= arr == 32
    return mask


# ---------------------------------------------------------------------------------------------
# Floats
# ---------------------------------------------------------------------------------------------


def round_half_away_from_zero(x: float) -> int:
    """Rust ``f64::round`` (then ``as i64`` for finite values in range): halves go away from zero.

    Not Python's ``round`` (half to even) and not ``floor(x + 0.5)`` (wrong for 0.49999999999999994).
    """
    a = abs(x)
    f = math.floor(a)
    if a - f >= 0.5:  # exact: a - floor(a) is representable for every finite double
        f += 1
    return -int(f) if x < 0 else int(f)
