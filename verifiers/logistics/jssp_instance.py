"""JSSP instances: the trusted parser of the standard format, the published bounds, and name lookup.

The standard (OR-Library) format: a first line ``n_jobs n_machines``, then one line per job with its
operations in order as ``machine duration`` pairs; machines are 0-based. Named instances and their
bounds (``bounds.json``) are read from the data folder (``verifiers.logistics.find_data``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from verifiers.logistics import DataMissing, find_data

MAX_INSTANCE_BYTES = 8 << 20
MAX_OPERATIONS = 200_000  # of a user's instance file
MAX_TIME = 10**15  # durations and start times: far beyond any instance, exact in float64


class InstanceError(ValueError):
    """A malformed instance file (the user's own); the message is one sentence naming the place."""


# -- instances ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Instance:
    """One JSSP instance. ``machines[j][k]`` and ``durations[j][k]`` describe operation k of job j."""

    name: str
    n_jobs: int
    n_machines: int
    machines: tuple[tuple[int, ...], ...]
    durations: tuple[tuple[int, ...], ...]
    lb: int | None = None  # published bounds (None for a user's own instance)
    ub: int | None = None
    bound_source: str = ""

    @property
    def n_ops(self) -> int:
        return sum(len(r) for r in self.machines)

    @property
    def optimal(self) -> bool:
        return self.lb is not None and self.lb == self.ub

    @functools.cached_property
    def trivial_lb(self) -> int:
        """max(longest job, busiest machine): no schedule can be shorter."""
        loads = [0] * self.n_machines
        for ms, ds in zip(self.machines, self.durations):
            for m, d in zip(ms, ds):
                loads[m] += d
        return max([sum(ds) for ds in self.durations] + loads)

    @functools.cached_property
    def jobs_on(self) -> tuple[frozenset[int], ...]:
        """The jobs that visit each machine."""
        out: list[set[int]] = [set() for _ in range(self.n_machines)]
        for j, ms in enumerate(self.machines):
            for m in ms:
                out[m].add(j)
        return tuple(frozenset(s) for s in out)

    @functools.cached_property
    def op_on(self) -> tuple[dict[int, int], ...]:
        """op_on[j][machine] = the index k of job j's operation on that machine."""
        return tuple({m: k for k, m in enumerate(ms)} for ms in self.machines)

    @functools.cached_property
    def sha256(self) -> str:
        """Of the canonical data (sizes, machines, durations): two files with the same jobs share it."""
        canon = json.dumps([self.n_jobs, self.n_machines, self.machines, self.durations], separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """What a program receives as ``instance``."""
        return {
            "name": self.name,
            "n_jobs": self.n_jobs,
            "n_machines": self.n_machines,
            "machines": [list(r) for r in self.machines],
            "durations": [list(r) for r in self.durations],
        }

    def to_text(self) -> str:
        """The standard format (one line per job: machine duration pairs)."""
        lines = [f"{self.n_jobs} {self.n_machines}"]
        for ms, ds in zip(self.machines, self.durations):
            lines.append(" ".join(f"{m} {d}" for m, d in zip(ms, ds)))
        return "\n".join(lines) + "\n"


def parse_instance(text: str, name: str = "instance") -> Instance:
    """Parse the standard format: a line ``n_jobs n_machines``, then one line per job with ``machine
    duration`` pairs in processing order (machines 0-based). Blank lines and lines starting with ``#``
    are skipped. Each job visits distinct machines; durations are integers ≥ 0 (orb07 has a zero one)."""
    if len(text) > MAX_INSTANCE_BYTES:
        raise InstanceError(
            f"{name}: the file has {len(text):,} characters; the limit is {MAX_INSTANCE_BYTES >> 20} MiB"
        )
    rows: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("#"):
            rows.append((lineno, s.split()))
    if not rows:
        raise InstanceError(f"{name}: the file is empty; the first line must be 'n_jobs n_machines'")
    lineno, head = rows[0]
    if len(head) != 2 or not all(_is_int(t) for t in head):
        raise InstanceError(
            f"{name}, line {lineno}: the first line must be two integers 'n_jobs n_machines', "
            f"not {' '.join(head)[:60]!r}"
        )
    n, m = int(head[0]), int(head[1])
    if not (n >= 1 and m >= 1):
        raise InstanceError(f"{name}, line {lineno}: n_jobs and n_machines must be at least 1 (got {n} and {m})")
    if n * m > MAX_OPERATIONS:
        raise InstanceError(f"{name}: {n} jobs × {m} machines is more than {MAX_OPERATIONS:,} operations")
    if len(rows) - 1 != n:
        raise InstanceError(f"{name}: the header says {n} jobs but the file has {len(rows) - 1} job lines")
    machines, durations = [], []
    for j, (lineno, toks) in enumerate(rows[1:]):
        where = f"{name}, line {lineno} (job {j})"
        bad = next((t for t in toks if not _is_int(t)), None)
        if bad is not None:
            raise InstanceError(f"{where}: {bad[:30]!r} is not an integer; a job line is 'machine duration' pairs")
        if len(toks) % 2 or not toks:
            raise InstanceError(
                f"{where}: {len(toks)} numbers; a job line is 'machine duration' pairs "
                f"(an even count, at least one pair)"
            )
        if len(toks) // 2 > m:
            raise InstanceError(
                f"{where}: {len(toks) // 2} operations but only {m} machines; each job visits a machine at most once"
            )
        ms = [int(t) for t in toks[0::2]]
        ds = [int(t) for t in toks[1::2]]
        seen: dict[int, int] = {}
        for k, (mach, d) in enumerate(zip(ms, ds)):
            if not 0 <= mach < m:
                raise InstanceError(f"{where}: operation {k} uses machine {mach}; machines are 0..{m - 1} (0-based)")
            if mach in seen:
                raise InstanceError(
                    f"{where}: operations {seen[mach]} and {k} both use machine {mach}; each job "
                    "visits a machine at most once"
                )
            seen[mach] = k
            if not 0 <= d <= MAX_TIME:
                raise InstanceError(f"{where}: operation {k} has duration {d}; durations are integers ≥ 0")
        machines.append(tuple(ms))
        durations.append(tuple(ds))
    return Instance(name=name, n_jobs=n, n_machines=m, machines=tuple(machines), durations=tuple(durations))


def _is_int(tok: str) -> bool:
    return re.fullmatch(r"[+-]?\d{1,18}", tok) is not None


@functools.lru_cache(maxsize=8)
def _bounds_cached(path: str, mtime: int) -> dict[str, dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def bounds(data_dir: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """``bounds.json`` of the data folder: {name: {lb, ub, optimal, source, ...}}."""
    path = find_data("jssp/bounds.json", data_dir)
    return _bounds_cached(str(path), os.stat(path).st_mtime_ns)


def known_names(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    return sorted(bounds(data_dir), key=_name_key)


def _name_key(name: str) -> tuple[str, int]:
    m = re.fullmatch(r"([a-z]+)0*(\d+)", name)
    return (m.group(1), int(m.group(2))) if m else (name, 0)


def resolve_name(name: Any, data_dir: str | os.PathLike[str] | None = None) -> str:
    """The data's name for `name` (case-insensitive), or one sentence with the nearest names."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"instance must be a name such as 'ta01', not {name!r}")
    names = known_names(data_dir)
    key = name.strip().lower()
    if key in names:
        return key
    same = [n for n in names if _name_key(n) == _name_key(key)]  # ta1 is ta01
    if len(same) == 1:
        return same[0]
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    families = sorted({_name_key(n)[0] for n in names})
    raise ValueError(
        f"unknown JSSP instance {name!r}"
        + (f"; did you mean {' or '.join(map(repr, close))}?" if close else "")
        + f" (the data holds {len(names)} instances: families {', '.join(families)}, e.g. ta01..ta80, "
        "ft06, la01..la40; or pass instance_file=PATH)"
    )


@functools.lru_cache(maxsize=64)
def _load_named(name: str, path: str, mtime: int, bound_key: str) -> Instance:
    with open(path, encoding="utf-8") as fh:
        inst = parse_instance(fh.read(), name)
    b = json.loads(bound_key)
    return dataclasses.replace(inst, lb=b.get("lb"), ub=b.get("ub"), bound_source=b.get("source", ""))


def load_instance(name: str, data_dir: str | os.PathLike[str] | None = None) -> Instance:
    """A named instance of the data folder with its published bounds."""
    key = resolve_name(name, data_dir)
    entry = bounds(data_dir)[key]
    path = find_data("jssp/" + (entry.get("instance_file") or f"instances/{key}.txt"), data_dir)
    bound_key = json.dumps({"lb": entry.get("lb"), "ub": entry.get("ub"), "source": entry.get("source", "")})
    return _load_named(key, str(path), os.stat(path).st_mtime_ns, bound_key)


def load_instance_file(path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> Instance:
    """A user's own instance file. When its jobs equal a named instance's (say, a copy of ta01.txt), that
    instance's published bounds come with it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"instance_file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"instance_file {str(path)!r} is a folder; give the instance's text file") from None
    except UnicodeDecodeError:
        raise ValueError(f"instance_file {str(path)!r} is not UTF-8 text") from None
    inst = parse_instance(text, p.name)
    try:
        twin = _by_content(data_dir).get(inst.sha256)
    except DataMissing:
        twin = None
    if twin is not None:
        named = load_instance(twin, data_dir)
        return dataclasses.replace(
            inst, lb=named.lb, ub=named.ub, bound_source=f"same jobs as {twin}: {named.bound_source}"
        )
    return inst


def _by_content(data_dir: str | os.PathLike[str] | None) -> dict[str, str]:
    folder = find_data("jssp/instances", data_dir)
    return _content_index(str(folder), os.stat(folder).st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _content_index(folder: str, _mtime: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in sorted(Path(folder).glob("*.txt")):
        try:
            out.setdefault(parse_instance(f.read_text(encoding="utf-8"), f.stem).sha256, f.stem)
        except (InstanceError, OSError, UnicodeDecodeError):
            continue
    return out
