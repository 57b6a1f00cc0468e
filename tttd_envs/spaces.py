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


# -- Gymnasium's vector machinery and flattening, for any Unicode text ----------------------------------
# Text's own handlers map characters through its charset (a KeyError for any other character). Shared
# memory cannot carry text at all: AsyncVectorEnv reads its buffer once, expecting arrays that later
# writes update in place, and a string is a copy. So UnicodeText refuses shared memory with
# Gymnasium's own CustomSpaceError (AsyncVectorEnv turns it into "use shared_memory=False"), and
# flattens to its length followed by its code points, so every string round-trips.
def _register_vector_handlers() -> None:
    import numpy as np
    from gymnasium.error import CustomSpaceError
    from gymnasium.spaces import Box
    from gymnasium.spaces.utils import flatdim, flatten, flatten_space, unflatten
    from gymnasium.vector.utils import shared_memory as shm

    @shm.create_shared_memory.register(UnicodeText)
    def _create(space: UnicodeText, n: int = 1, ctx: Any = None):
        raise CustomSpaceError(
            "text observations cannot live in shared memory; pass shared_memory=False (gym.make_vec(id, n) does)"
        )

    @flatdim.register(UnicodeText)
    def _flatdim(space: UnicodeText) -> int:
        return space.max_length + 1

    @flatten.register(UnicodeText)
    def _flatten(space: UnicodeText, x: str):  # type: ignore[misc]  # mypy's singledispatch check rejects a generic Space[T] fallback
        out = np.zeros(space.max_length + 1, dtype=np.int32)
        out[0] = len(x)
        out[1 : 1 + len(x)] = np.frombuffer(x.encode("utf-32-le"), dtype=np.int32)
        return out

    @unflatten.register(UnicodeText)
    def _unflatten(space: UnicodeText, x) -> str:  # type: ignore[misc]  # mypy's singledispatch check rejects a generic Space[T] fallback
        return "".join(map(chr, np.asarray(x)[1 : 1 + int(x[0])]))

    @flatten_space.register(UnicodeText)
    def _flatten_space(space: UnicodeText) -> Box:
        return Box(low=0, high=0x10FFFF, shape=(space.max_length + 1,), dtype=np.int32)


_register_vector_handlers()
