"""Judging a C++ submission on AtCoder cases (docs/atcoder.md#running-a-case).

Compile once (cached by sha256 of source, command and compiler), then run each case in the
sandbox: the binary alone in a private directory, the input on stdin, 2.0 s CPU / 2.5 s wall,
1 GiB of memory, at most one case per core (pinned). The case verdict follows the reference's
rules, first match wins: TLE, MLE, OLE, RE (a non-zero exit or a signal, even if the output
parses), then the official scorer's WA or AC.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from verifiers import sandbox

if TYPE_CHECKING:
    from verifiers.atcoder.scoring import CaseScore

#: an official scorer: ``score(input_text, output_bytes)`` (``verifiers.atcoder.score_<problem>.score``)
Scorer: TypeAlias = "Callable[[str, bytes], CaseScore]"

MAX_SOURCE_BYTES = 512 << 10
TIME_LIMIT_S = 2.0
WALL_TOLERANCE_S = 0.5
MEMORY_LIMIT_BYTES = 1 << 30
COMPILE_TIMEOUT_S = 60.0
STDOUT_CAP = 64 << 20
STDERR_KEEP = 8 << 10

BASE_FLAGS = [
    "-std=gnu++20",
    "-O2",
    "-DONLINE_JUDGE",
    "-DATCODER",
    "-Wall",
    "-Wextra",
    "-march=native",
    "-mtune=native",
    "-fconstexpr-depth=2147483647",
    "-fconstexpr-loop-limit=2147483647",
    "-fconstexpr-ops-limit=2147483647",
]
# AtCoder's extra libraries: used only where installed (recorded in the Verdict).
_LIBRARIES = (
    ("ac-library", "/opt/ac-library", ["-I/opt/ac-library"]),
    ("eigen3", "/usr/include/eigen3", ["-I/usr/include/eigen3"]),
    ("gmp", "/usr/include/gmpxx.h", ["-lgmpxx", "-lgmp"]),
)
_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]*)[>"]', re.MULTILINE)
_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/sandbox", "TMPDIR": "/sandbox", "LANG": "C.UTF-8"}


@dataclasses.dataclass
class CompileResult:
    ok: bool
    binary: bytes | None
    message: str
    elapsed_s: float
    compiler: str
    command: list[str]
    libraries: list[str]
    cached: bool = False
    isolation: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class CaseResult:
    index: int
    seed: int
    verdict: str  # AC, WA, TLE, MLE, OLE, RE, NR (not run), ERR (sandbox failure)
    score: int = 0
    message: str = ""
    cpu_s: float | None = None
    wall_s: float | None = None
    peak_rss_kb: int | None = None
    exit: str = ""
    stdout_bytes: int = 0
    stderr_tail: str = ""
    output: str | None = None  # kept for the first case only (pictures), at most 256 KiB
    isolation: dict[str, Any] | None = None  # what the sandbox achieved (kept for the first case only)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def compiler_version() -> str:
    try:
        out = subprocess.run(["g++", "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0] if out else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "g++ not found"


def compile_command() -> tuple[list[str], list[str], list[str]]:
    """(argv, extra read-only paths, libraries present)."""
    flags, extra_ro, present = list(BASE_FLAGS), [], []
    for name, path, lib_flags in _LIBRARIES:
        if os.path.exists(path):
            present.append(name)
            flags += lib_flags
            if path.startswith("/opt"):
                extra_ro.append(path)
    return ["/usr/bin/g++", *flags, "-o", "a.out", "Main.cpp"], extra_ro, present


def check_source(source: str) -> str | None:
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        return f"the source is {size:,} bytes; the limit is 512 KiB"
    for m in _INCLUDE.finditer(source):
        path = m.group(1)
        if path.startswith("/") or ".." in Path(path).parts:
            return f'#include "{path[:80]}": absolute or parent-relative include paths are not allowed'
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tttd" / "atcoder" / "bin"


def _first_error(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if "error" in ln]
    text = lines[0] if lines else (stderr.strip().splitlines() or ["compilation failed"])[-1]
    return text.replace("/sandbox/", "")[:300]


def compile_cpp(source: str, *, use_cache: bool = True) -> CompileResult:
    argv, extra_ro, libraries = compile_command()
    version = compiler_version()
    problem = check_source(source)
    if problem:
        return CompileResult(False, None, problem, 0.0, version, argv, libraries)
    key = hashlib.sha256("\0".join([source, " ".join(argv), version]).encode("utf-8", "surrogatepass")).hexdigest()
    cached = _cache_dir() / f"{key}.out"
    if use_cache and cached.is_file() and cached.stat().st_size > 0:
        return CompileResult(True, cached.read_bytes(), "compiled (cached)", 0.0, version, argv, libraries, cached=True)
    limits = sandbox.Limits(
        wall_s=COMPILE_TIMEOUT_S,
        cpu_s=COMPILE_TIMEOUT_S,
        memory_bytes=2 << 30,
        file_size_bytes=256 << 20,
        output_bytes=4 << 20,
        keep_output_bytes=64 << 10,
        kill_grace_s=1.0,
    )
    t0 = time.monotonic()
    res = sandbox.run(
        mode="exec",
        files={"Main.cpp": source.encode("utf-8", "surrogatepass")},
        limits=limits,
        argv=argv,
        env=_ENV,
        bind_workdir=True,
        collect=("a.out",),
        extra_ro=extra_ro,
    )
    elapsed = time.monotonic() - t0
    binary = res.files.get("a.out")
    if res.status == "setup_error":
        raise sandbox.SandboxError(f"the sandbox could not start the compiler: {res.detail}")
    if res.status == "timeout":
        return CompileResult(
            False,
            None,
            f"compile timed out after {COMPILE_TIMEOUT_S:g} s",
            elapsed,
            version,
            argv,
            libraries,
            isolation=res.isolation,
        )
    if res.exitcode != 0 or not binary:
        msg = _first_error(res.stderr) if res.exitcode != 0 else "the compiler produced no binary"
        return CompileResult(False, None, msg, elapsed, version, argv, libraries, isolation=res.isolation)
    if use_cache:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(binary)
            tmp.replace(cached)
        except OSError:
            pass
    return CompileResult(True, binary, "compiled", elapsed, version, argv, libraries, isolation=res.isolation)


def run_case(binary: bytes, input_text: str, *, cpu: int | None = None) -> sandbox.SandboxResult:
    limits = sandbox.Limits(
        wall_s=TIME_LIMIT_S + 2 * WALL_TOLERANCE_S,
        cpu_s=TIME_LIMIT_S + 1.0,
        memory_bytes=2 << 30,
        stack_bytes=1 << 30,
        file_size_bytes=64 << 20,
        output_bytes=STDOUT_CAP,
        keep_stdout_bytes=STDOUT_CAP + 1,
        keep_output_bytes=STDERR_KEEP,
        stderr_counts=False,
        kill_grace_s=0.0,
        workdir_bytes=128 << 20,
    )
    return sandbox.run(
        mode="exec",
        files={"a.out": binary, "input.txt": input_text.encode()},
        executables=("a.out",),
        stdin_file="input.txt",
        limits=limits,
        argv=["./a.out"],
        env=_ENV,
        cpu_set=[cpu] if cpu is not None else None,
    )


def classify(res: sandbox.SandboxResult, index: int, seed: int, input_text: str, scorer: Scorer) -> CaseResult:
    """The case verdict, first match wins (spec docs/atcoder.md#running-a-case)."""
    peak_kb = (res.mem_peak_bytes // 1024) if res.mem_peak_bytes else res.maxrss_kb
    wall = res.run_wall_s if res.run_wall_s is not None else res.wall_s
    case = CaseResult(
        index=index,
        seed=seed,
        verdict="AC",
        cpu_s=res.cpu_s,
        wall_s=wall,
        peak_rss_kb=peak_kb,
        stdout_bytes=len(res.stdout_bytes),
        stderr_tail=res.stderr[-STDERR_KEEP:],
    )
    if index == 0:
        case.isolation = res.isolation
    code = res.exitcode
    case.exit = "" if code is None else (f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}")
    if res.status == "setup_error":
        case.verdict, case.message = "ERR", f"sandbox failure: {res.detail}"
    elif res.status == "timeout" or (res.cpu_s or 0) > TIME_LIMIT_S or (wall or 0) > TIME_LIMIT_S + WALL_TOLERANCE_S:
        case.verdict = "TLE"
        case.message = (
            f"time limit exceeded (CPU {res.cpu_s or 0:.2f} s, wall {wall or 0:.2f} s; limit {TIME_LIMIT_S:g} s)"
        )
    elif res.status == "memory" or (peak_kb or 0) * 1024 > MEMORY_LIMIT_BYTES:
        case.verdict = "MLE"
        case.message = f"memory limit exceeded (peak {(peak_kb or 0) / 1024:.0f} MiB; limit 1024 MiB)"
    elif res.status == "output_limit" or code == -signal.SIGXFSZ:
        case.verdict, case.message = "OLE", f"output limit exceeded (more than {STDOUT_CAP >> 20} MiB)"
    elif code is None or code != 0:
        case.verdict = "RE"
        how = (
            "no exit status"
            if code is None
            else (f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}")
        )
        case.message = f"runtime error: {how} (output ignored)"
    else:
        r = scorer(input_text, res.stdout_bytes)
        case.verdict, case.score, case.message = r.verdict, int(r.score), r.message
        if index == 0 and len(res.stdout_bytes) <= 256 << 10:
            case.output = res.stdout_bytes.decode("utf-8", errors="replace")
    return case


def judge(
    binary: bytes,
    seeds: list[int],
    input_text: Callable[[int], str],
    scorer: Scorer,
    *,
    jobs: int | None = None,
    stop_on_fail: bool = True,
    progress: Callable[[CaseResult, int, int], None] | None = None,
) -> list[CaseResult]:
    """Run every case (at most one per core, each pinned to its own core); with `stop_on_fail` the
    cases not started after a failure are reported as not run (the total is 0 anyway)."""
    cores = sorted(os.sched_getaffinity(0))
    jobs = max(1, min(jobs or len(cores), len(cores), len(seeds) or 1))
    free = list(cores[:jobs])
    lock = threading.Lock()
    failed = threading.Event()
    results: list[CaseResult | None] = [None] * len(seeds)
    done = 0

    def work(i: int, seed: int) -> CaseResult:
        nonlocal done
        if stop_on_fail and failed.is_set():
            return CaseResult(index=i, seed=seed, verdict="NR", message="not run (an earlier case failed)")
        text = input_text(seed)
        with lock:
            core = free.pop()
        try:
            res = run_case(binary, text, cpu=core)
        finally:
            with lock:
                free.append(core)
        case = classify(res, i, seed, text, scorer)
        if case.verdict != "AC":
            failed.set()
        return case

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(work, i, s): i for i, s in enumerate(seeds)}
        for fut in concurrent.futures.as_completed(futures):
            case = fut.result()
            results[case.index] = case
            done += 1
            if progress is not None:
                progress(case, done, len(seeds))
    return [r for r in results if r is not None]


def hardware() -> dict[str, Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu_model": model, "cores": len(os.sched_getaffinity(0)), "loadavg": list(os.getloadavg())}
