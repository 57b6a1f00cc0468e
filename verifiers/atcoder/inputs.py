"""Input sets for AHC039 / AHC058 (docs/atcoder.md#case-sets-and-modes): seed lists, generation, caching, verification.

| set         | seeds                                   |
|-------------|-----------------------------------------|
| ``lite``      | 0..4                                    |
| ``public50``  | 0..49                                   |
| ``public150`` | 0..149 (TTT-Discover's RL reward)       |
| ``official``  | AHC039: the 150 ALE-Bench private seeds; AHC058: not available |

File k of a set (``NNNN.txt``, k zero-padded to 4 digits) is the generator output for the set's k-th
seed; for the public sets that is seed k. :func:`input_dir` generates a set on first use into the user
cache, ``$XDG_CACHE_HOME/tttd/atcoder/<problem>/<set>/`` (``~/.cache`` when unset), and checks every file
against the embedded sha256 manifest (:mod:`verifiers.atcoder.manifests`) every time it is called. A
mismatch raises :class:`InputMismatchError`: never judge on such an input.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from verifiers.atcoder import gen_ahc039, gen_ahc058
from verifiers.atcoder.manifests import AHC039_PRIVATE_SEEDS, AHC039_PRIVATE_SHA256, PUBLIC_SHA256

__all__ = [
    "PROBLEMS",
    "SETS",
    "InputMismatchError",
    "NoOfficialCasesError",
    "default_cache_dir",
    "expected_sha256",
    "generator",
    "input_dir",
    "input_paths",
    "input_text",
    "normalize_problem",
    "seeds",
]

PROBLEMS = ("ahc039", "ahc058")
SETS = ("lite", "public50", "public150", "official")
_PUBLIC_SIZES = {"lite": 5, "public50": 50, "public150": 150}
_GENERATORS: dict[str, Callable[[int], str]] = {
    "ahc039": gen_ahc039.generate,
    "ahc058": gen_ahc058.generate,
}


class NoOfficialCasesError(ValueError):
    """The requested set does not exist for this problem (AHC058 has no official cases)."""


class InputMismatchError(RuntimeError):
    """A generated input does not match the embedded sha256 manifest."""

    def __init__(self, problem: str, set_name: str, case: int, seed: int, expected: str, actual: str):
        self.problem, self.set_name, self.case, self.seed = problem, set_name, case, seed
        self.expected, self.actual = expected, actual
        super().__init__(
            f"{problem} input set {set_name!r}, case {case} (seed {seed}): generated input does not match "
            f"the manifest: expected sha256 {expected}, got {actual}. Refusing to judge on it. The generator "
            "is bit-exact on glibc; a mismatch on another platform is most likely a one-ulp difference in "
            "the C library's exp/ln/pow (docs/atcoder.md#generators): please report the platform and this seed."
        )


def normalize_problem(problem: str) -> str:
    """``'AHC039-v0'``, ``'AHC039'`` or ``'ahc039'`` -> ``'ahc039'``."""
    p = str(problem).strip().lower()
    if p.endswith("-v0"):
        p = p[:-3]
    if p not in PROBLEMS:
        raise ValueError(f"unknown AtCoder problem {problem!r}; expected one of {', '.join(PROBLEMS)}")
    return p


def _check_set(problem: str, set_name: str) -> str:
    if set_name not in SETS:
        raise ValueError(f"unknown input set {set_name!r}; expected one of {', '.join(SETS)}")
    if set_name == "official" and problem != "ahc039":
        raise NoOfficialCasesError(
            f"{problem}: no official (contest) cases are available; the sources list no private seeds for "
            "this contest. Use 'public150' (seeds 0..149) instead; its totals are not contest totals."
        )
    return set_name


def seeds(problem: str, set_name: str) -> list[int]:
    """The seeds of ``set_name`` for ``problem``, in case order."""
    problem = normalize_problem(problem)
    _check_set(problem, set_name)
    if set_name == "official":
        return list(AHC039_PRIVATE_SEEDS)
    return list(range(_PUBLIC_SIZES[set_name]))


def expected_sha256(problem: str, set_name: str) -> list[str]:
    """The manifest digests (hex) of the set's files, in case order."""
    problem = normalize_problem(problem)
    _check_set(problem, set_name)
    if set_name == "official":
        return list(AHC039_PRIVATE_SHA256)
    return list(PUBLIC_SHA256[problem][: _PUBLIC_SIZES[set_name]])


def generator(problem: str) -> Callable[[int], str]:
    """The problem's ``generate(seed) -> str``."""
    return _GENERATORS[normalize_problem(problem)]


def input_text(problem: str, seed: int) -> str:
    """The input file text for ``seed`` (any u64), generated in memory (not cached, not verified)."""
    return generator(problem)(seed)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tttd/atcoder`` (``~/.cache/tttd/atcoder`` when unset or not absolute)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "tttd" / "atcoder"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class _Progress:
    def __init__(self, label: str, total: int, enabled: bool):
        self.label, self.total, self.enabled = label, total, enabled
        self.tty = enabled and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.started = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        if not self.started:
            self.started = True
            if not self.tty:
                print(f"tttd: generating {self.label} inputs ({self.total} cases)...", file=sys.stderr, flush=True)
        if self.tty:
            print(f"\rtttd: generating {self.label} inputs: {done}/{self.total}", end="", file=sys.stderr, flush=True)

    def close(self, generated: int) -> None:
        if self.enabled and self.started:
            prefix = "\n" if self.tty else ""
            print(
                f"{prefix}tttd: {self.label}: generated {generated} file(s), all match the manifest",
                file=sys.stderr,
                flush=True,
            )


def input_dir(
    problem: str, set_name: str, cache_dir: str | os.PathLike[str] | None = None, progress: bool = True
) -> Path:
    """The folder holding the set's verified input files ``0000.txt``, ``0001.txt``, ...

    Files are generated on first use into ``<cache_dir>/<problem>/<set_name>/`` (``cache_dir`` defaults to
    :func:`default_cache_dir`) and every file, cached or new, is checked against the manifest. A cached
    file that does not match is regenerated; a generated file that does not match raises
    :class:`InputMismatchError`. Progress goes to stderr when ``progress`` is true and something has to
    be generated.
    """
    problem = normalize_problem(problem)
    seed_list = seeds(problem, set_name)
    digests = expected_sha256(problem, set_name)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = root / problem / set_name
    folder.mkdir(parents=True, exist_ok=True)
    gen = _GENERATORS[problem]
    bar = _Progress(f"{problem}/{set_name}", len(seed_list), progress)
    generated = 0
    for k, (seed, expected) in enumerate(zip(seed_list, digests)):
        path = folder / f"{k:04d}.txt"
        try:
            if _sha256(path.read_bytes()) == expected:
                continue
        except FileNotFoundError:
            pass
        bar.update(k)
        data = gen(seed).encode("ascii")
        actual = _sha256(data)
        if actual != expected:
            raise InputMismatchError(problem, set_name, k, seed, expected, actual)
        _write_atomic(path, data)
        generated += 1
        bar.update(k + 1)
    bar.close(generated)
    return folder


def input_paths(
    problem: str, set_name: str, cache_dir: str | os.PathLike[str] | None = None, progress: bool = True
) -> list[Path]:
    """The set's verified input files, in case order (see :func:`input_dir`)."""
    folder = input_dir(problem, set_name, cache_dir=cache_dir, progress=progress)
    return [folder / f"{k:04d}.txt" for k in range(len(seeds(problem, set_name)))]
