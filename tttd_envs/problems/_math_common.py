"""Text shared by the math problem statements (docs/math.md#the-action).

The contract names the limits a program runs under, so it is written from the env's own limits
(``gym.make(..., budget_s=10)`` tells the model 10 s, not the card's default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tttd_envs.card import BoardPolicy

PROGRAM_CONTRACT = """\
## What to submit
Either a Python 3 program or the construction itself as JSON.

* Program: define `run(budget_s: float, seed: int)` at top level and return the construction.
  It runs in a sandbox with {cpus}, {memory} of memory, no network and no subprocesses; the hard
  limit is budget_s + 30 s (budget_s = {budget_s:g} s here). Available libraries: numpy, scipy
  (and the Python standard library). The working directory contains `parent.json`:
  {{"problem": "{id}", "construction": <the current construction or null>, "value": <its value>}}.
  Return plain Python floats (a list, or a numpy float64 array); never a tuple with extra values.
* JSON: a bare array, or {{"construction": [...]}}. Any reported score in the JSON is ignored.
A raw answer is fine too: the last ```python or ```json block is taken.

Every check is exact (rational arithmetic on your float64 values, zero tolerance for inequalities)
and nothing is ever clipped, rescaled or repaired: out-of-range values are rejected.
"""

#: the limits of every math card (the defaults of its env)
MATH_LIMITS: dict[str, Any] = {"budget_s": 300.0, "cpus": 1, "memory_bytes": 4 << 30}
#: the math boards redraw an entry from its stored JSON construction (re-verified, never trusted)
MATH_BOARD = BoardPolicy(redraw_from_json=True)


def _bytes(n: int) -> str:
    gib = n / (1 << 30)
    return f"{gib:g} GiB" if gib >= 1 else f"{n / (1 << 20):g} MiB"


def contract(card_id: str, limits: dict[str, Any] | None = None) -> str:
    lim = {**MATH_LIMITS, **(limits or {})}
    cpus = int(lim["cpus"])
    return PROGRAM_CONTRACT.format(
        id=card_id,
        budget_s=float(lim["budget_s"]),
        memory=_bytes(int(lim["memory_bytes"])),
        cpus="one CPU" if cpus == 1 else f"{cpus} CPUs",
    )


def statement(card_id: str, head: str, tail: str) -> Callable[[dict[str, Any]], str]:
    """The statement of a math card for given limits: the problem, the contract, what to return."""
    return lambda limits: head + "\n" + contract(card_id, limits) + tail
