"""Text shared by the math problem statements (specs/math.md §2.1)."""

PROGRAM_CONTRACT = """\
## What to submit
Either a Python 3 program or the construction itself as JSON.

* Program: define `run(budget_s: float, seed: int)` at top level and return the construction.
  It runs in a sandbox with one CPU, {memory} of memory, no network and no subprocesses; the hard
  limit is budget_s + 30 s (budget_s = {budget_s:g} s here). Available libraries: numpy, scipy
  (and the Python standard library). The working directory contains `parent.json`:
  {{"problem": "{id}", "construction": <the current construction or null>, "value": <its value>}}.
  Return plain Python floats (a list, or a numpy float64 array); never a tuple with extra values.
* JSON: a bare array, or {{"construction": [...]}}. Any reported score in the JSON is ignored.
A raw answer is fine too: the last ```python or ```json block is taken.

Every check is exact (rational arithmetic on your float64 values, zero tolerance for inequalities)
and nothing is ever clipped, rescaled or repaired: out-of-range values are rejected.
"""


def contract(card_id: str, budget_s: float = 300, memory: str = "4 GiB") -> str:
    return PROGRAM_CONTRACT.format(id=card_id, budget_s=budget_s, memory=memory)
