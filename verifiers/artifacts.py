"""Picking the artifact out of an action text (a raw LLM answer is accepted as an action)."""

from __future__ import annotations

import re

# A fenced block: ``` or ~~~ fence, optional info string, body, closing fence of the same kind.
_FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL
)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """All fenced code blocks as (language, body), in order. The language is the info string's
    first word, lower-cased ('' when absent)."""
    out = []
    for m in _FENCE.finditer(text):
        info = m.group("info").strip().split()
        out.append((info[0].lower() if info else "", m.group("body")))
    return out


def last_block(text: str, languages: dict[str, str]) -> tuple[str, str] | None:
    """The last fenced block whose language is a key of `languages`, as (kind, body)."""
    for lang, body in reversed(fenced_blocks(text)):
        if lang in languages:
            return languages[lang], body
    return None
