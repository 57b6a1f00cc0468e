"""What the verifiers whose actions are Python programs share: the static check that runs before the
sandbox (size, emptiness, syntax) and the verdict details of a sandboxed run.

Each verifier adds its own checks on the returned syntax tree (a ``run`` function, refused imports) and
its own message for an empty action.
"""

from __future__ import annotations

import ast
from typing import Any

from verifiers.sandbox import SandboxResult

MAX_PROGRAM_BYTES = 256 << 10


def parse_program(source: str, empty_message: str) -> ast.Module | str:
    """The program's syntax tree, or the message refusing it: larger than 256 KiB, empty (then
    ``empty_message``), or not parsable as Python."""
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_PROGRAM_BYTES:
        return f"the program is {size:,} bytes; the limit is 256 KiB"
    if not source.strip():
        return empty_message
    try:
        return ast.parse(source, filename="program.py")
    except SyntaxError as e:
        return f"syntax error in the program, line {e.lineno}: {e.msg}"
    except (RecursionError, MemoryError, ValueError) as e:
        return f"the program cannot be parsed ({type(e).__name__}: {str(e)[:100]})"


def run_details(res: SandboxResult, budget_s: float, seed: int) -> dict[str, Any]:
    """The verdict details of one sandboxed run of a program: timing, budget, seed, isolation, output."""
    return {
        "elapsed_s": round(res.wall_s, 4),
        "cpu_s": res.cpu_s,
        "budget_s": budget_s,
        "seed": seed,
        "isolation": res.isolation,
        "stdout": res.stdout,
        "stderr": res.stderr,
    }
