"""A text space for prompts and actions: any Unicode string up to a length (Gymnasium's ``Text``
restricts characters to a charset, but LLM answers and program output use all of Unicode)."""

from __future__ import annotations

from typing import Any

from gymnasium.spaces import Text


class UnicodeText(Text):
    """``Text`` whose ``contains`` accepts any ``str`` within the length bounds.

    ``sample()`` draws short strings from the default alphanumeric charset plus a few JSON/Python
    punctuation characters, so random actions exercise the verifier's rejection paths quickly.
    """

    _SAMPLE_MAX = 256

    def __init__(self, max_length: int, *, min_length: int = 0, seed: Any = None) -> None:
        charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 []{}(),.:-+_\n\"'#="
        super().__init__(max_length=max_length, min_length=min_length, charset=charset, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is None and probability is None:
            length = int(self.np_random.integers(self.min_length, min(self.max_length, self._SAMPLE_MAX) + 1))
            return super().sample(mask=(length, None))
        return super().sample(mask=mask, probability=probability)

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"
