"""The links of the coordinator P to the worker W (sandboxed, JSON lines over two pipes) and to the
reference side R (in-process on CPU, a CUDA process on a GPU), and the shared host memory between them.

P reads W's replies with a deadline, caps each line at 64 KiB, and accepts only the message schema
below; anything else ends the verification as a protocol violation. R is trusted verifier code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from verifiers.kernels.reference import ReferenceService

if TYPE_CHECKING:
    from verifiers.kernels import trimul_op as op
    from verifiers.kernels.coordinator import Options
    from verifiers.kernels.seam import Hooks
    from verifiers.sandbox import Limits, SandboxResult

MAX_LINE = 64 << 10
#: Replies W may send, with exactly these keys (anything else is a protocol violation).
SCHEMA = {
    "hello": {"op", "pid", "device", "versions"},
    "imported": {"op"},
    "armed": {"op", "t", "l2_persist_limit"},
    "loaded": {"op", "t"},
    "repaired": {"op", "t"},
    "timed": {"op", "t", "e_ms", "f_ms"},
    "staged": {"op", "t"},
    "bad_output": {"op", "t", "reason"},
    "raised": {"op", "t", "where", "message"},
    "bye": {"op", "flags"},
    "locked": {"op", "t", "ok", "detail"},
}
CUDA_MISSING = (
    "Torch not compiled with CUDA",
    "no NVIDIA driver",
    "Found no NVIDIA driver",
    "0 active drivers",
    "CUDA driver",
    "cuda is not available",
    "No CUDA GPUs",
    "CUDA_VISIBLE_DEVICES",
    # a GPU host's driver, with the device nodes hidden (dev mode on a GPU machine; seen on an H100)
    "cudaGetDeviceCount",
)


#: Variables the GPU worker's fork server keeps: the loader reads LD_LIBRARY_PATH only at process start.
_SERVER_ENV = ("LD_LIBRARY_PATH", "CUDA_HOME")


class Stop(Exception):
    """Ends a verification with a status and a one-sentence message."""

    def __init__(self, status: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details


class Worker:
    """W in the sandbox plus the pipes and shared slots P uses to drive it."""

    def __init__(self, source: str, opts: Options, hooks: Hooks, shared: Shared) -> None:
        from verifiers import sandbox

        self.opts = opts
        self.slot_bytes, self.out_bytes = shared.slot_bytes, shared.out_bytes
        self.slot_fds, self.out_fd = shared.slot_fds, shared.out_fd
        slot_bytes, out_bytes = self.slot_bytes, self.out_bytes
        p2w_r, self.p2w = os.pipe()
        self.w2p, w2p_w = os.pipe()
        self._buf = bytearray()
        self.result: SandboxResult | Exception | None = None
        self.sent: list[dict[str, Any]] = []  # every P→W message (tests check that no seed is ever sent)
        worker_src = open(os.path.join(os.path.dirname(__file__), "_worker.py"), "rb").read()
        gpu = opts.device == "cuda"
        gpu_box = gpu or hooks.gpu_sandbox
        from verifiers.sandbox.client import sandbox_path

        env = {
            "PATH": sandbox_path(),
            "HOME": "/sandbox",
            "TMPDIR": "/sandbox",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "TRITON_CACHE_DIR": "/sandbox/.triton",
            "TORCH_EXTENSIONS_DIR": "/sandbox/.torch_extensions",
            "CUPY_CACHE_DIR": "/sandbox/.cupy",
            "TORCHINDUCTOR_CACHE_DIR": "/sandbox/.inductor",
            "TORCHINDUCTOR_COMPILE_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
        extra_ro: list[str] = []
        if gpu_box:
            env["CUDA_VISIBLE_DEVICES"] = os.environ.get("CUDA_VISIBLE_DEVICES", str(opts.device_index)) if gpu else ""
            for var in ("CUDA_HOME", "CUDA_PATH", "LD_LIBRARY_PATH", "TRITON_LIBCUDA_PATH", "TRITON_PTXAS_PATH"):
                if os.environ.get(var):
                    env[var] = os.environ[var]
            extra_ro = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d and os.path.isdir(d)]
            if os.environ.get("CUDA_HOME") and os.path.isdir(os.environ["CUDA_HOME"]):
                extra_ro.append(os.environ["CUDA_HOME"])
            cuda_bin = os.path.join(os.environ.get("CUDA_HOME") or "/usr/local/cuda", "bin")
            if os.path.isdir(cuda_bin):  # nvcc for load_inline's CUDA sources
                env["PATH"] += ":" + cuda_bin
            limits = _GpuLimits(
                wall_s=opts.total_limit_s,
                cpus=4,
                memory_bytes=32 << 30,
                open_files=1024,
                file_size_bytes=2 << 30,
                workdir_bytes=4 << 30,
                result_bytes=1 << 16,
            )
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""
            limits = sandbox.Limits(
                wall_s=opts.total_limit_s,
                cpus=1,
                memory_bytes=8 << 30,
                open_files=256,
                file_size_bytes=256 << 20,
                workdir_bytes=512 << 20,
                result_bytes=1 << 16,
            )
        if not gpu and opts.kind == "triton":
            env["TRITON_INTERPRET"] = "1"  # before triton is imported (docs/kernels.md#cpu-dev-mode)
        spin = gpu if hooks.spin_wait is None else bool(hooks.spin_wait)
        kwargs = {"device": "cuda:0" if gpu else "cpu", "slot_bytes": slot_bytes, "out_bytes": out_bytes, "spin": spin}
        files = {"program.py": worker_src, "submission.py": source.encode("utf-8", "surrogatepass")}
        extra = (p2w_r, w2p_w, *self.slot_fds, self.out_fd)
        self._passed: tuple[int, ...] = (p2w_r, w2p_w)
        self.env = env
        self.spin = spin  # poll for replies: a sleeping coordinator's wake-up would count as envelope

        def target() -> None:
            try:
                self.result = sandbox.run(
                    mode="python",
                    files=files,
                    limits=limits,
                    env=env,
                    extra_ro=extra_ro,
                    config={"entry": "run", "kwargs": kwargs},
                    extra_fds=extra,
                    gpu=gpu_box,
                    cpu_info=not gpu_box,
                    preload=("numpy", "torch"),
                    server_env=_SERVER_ENV if gpu_box else (),
                )
            except Exception as e:  # noqa: BLE001 - reported as the verifier's own error
                self.result = e

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()
        self.pid: int | None = None

    def close_passed(self) -> None:
        for fd in self._passed:
            try:
                os.close(fd)
            except OSError:
                pass
        self._passed = ()

    def send(self, doc: dict[str, Any]) -> int:
        self.sent.append(doc)
        data = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        t = time.perf_counter_ns()
        try:
            os.write(self.p2w, data)
        except OSError:
            raise Stop("crashed", "the worker process died (its control pipe is closed).") from None
        return t

    def recv(self, timeout_s: float, what: str) -> tuple[dict[str, Any], int]:
        """Next message from W (schema-checked) and P's clock when it arrived."""
        deadline = time.monotonic() + timeout_s
        alive_checked = time.monotonic()
        while b"\n" not in self._buf:
            now = time.monotonic()
            if now >= deadline:
                self.kill()
                raise Stop("timeout", f"{what} did not finish within {timeout_s:g} s; the worker was killed.")
            ready, _, _ = select.select([self.w2p], [], [], 0 if self.spin else min(0.2, deadline - now))
            if not ready:
                if not self.spin or now - alive_checked > 0.2:
                    alive_checked = now
                    if not self.thread.is_alive():
                        raise Stop(*self._death(what))
                continue
            chunk = os.read(self.w2p, 1 << 16)
            if not chunk:
                self.thread.join(10)
                raise Stop(*self._death(what))
            self._buf += chunk
            if len(self._buf) > MAX_LINE and b"\n" not in self._buf[: MAX_LINE + 1]:
                self.kill()
                raise Stop("rejected", "the worker sent a message over 64 KiB: protocol violation.")
        t = time.perf_counter_ns()
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf = bytearray(rest)
        if len(line) > MAX_LINE:
            self.kill()
            raise Stop("rejected", "the worker sent a message over 64 KiB: protocol violation.")
        try:
            msg = json.loads(line)
        except ValueError:
            self.kill()
            raise Stop("rejected", "the worker sent a message that is not JSON: protocol violation.") from None
        if not isinstance(msg, dict) or msg.get("op") not in SCHEMA or set(msg) != SCHEMA[msg["op"]]:
            self.kill()
            raise Stop("rejected", "the worker sent a malformed message (unknown op or keys): protocol violation.")
        return msg, t

    def _death(self, what: str) -> tuple[str, str]:
        self.thread.join(15)
        res = self.result
        if isinstance(res, Exception):
            return "error", f"the sandbox could not run the worker: {res}"
        if res is None:
            return "crashed", f"the worker died during {what}."
        if res.status == "setup_error":
            return "error", f"the sandbox could not start the GPU worker: {res.detail}"
        if res.status == "memory":
            return "memory", f"the worker exceeded its host memory limit during {what}."
        why = _error_record(res.result)
        if not why:
            tail = (res.stderr or "").strip().splitlines()[-1:] or [res.detail]
            why = f"{res.status}: {tail[0][:200]}" if tail[0] else res.status
        return "crashed", f"the worker died during {what} ({why})."

    def kill(self) -> None:
        import signal

        if self.pid:
            for fn in (os.killpg, os.kill):
                try:
                    fn(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def shutdown(self) -> None:
        self.flags: dict[str, Any] | None = None  # the worker's precision flags after the run (its `bye`)
        try:
            if self.pid is not None and self.thread.is_alive():
                self.send({"op": "quit"})
                msg, _ = self.recv(10, "shutdown")
                self.flags = msg.get("flags") if msg.get("op") == "bye" else None
        except Stop:
            pass
        self.kill()
        self.thread.join(30)
        for fd in (self.p2w, self.w2p):
            try:
                os.close(fd)
            except OSError:
                pass
        self.close_passed()


class Shared:
    """The shared host memory of one verification: two input slots and the output staging buffer
    (memfds: R writes inputs and reads outputs; W reads inputs and writes outputs)."""

    def __init__(self, slot_bytes: int, out_bytes: int) -> None:
        self.slot_bytes, self.out_bytes = slot_bytes, out_bytes
        self.slot_fds: list[int] = []
        for i in range(2):
            fd = os.memfd_create(f"tttd-slot{i}", os.MFD_CLOEXEC)
            os.ftruncate(fd, slot_bytes)
            self.slot_fds.append(fd)
        self.out_fd = os.memfd_create("tttd-out", os.MFD_CLOEXEC)
        os.ftruncate(self.out_fd, out_bytes)

    def close(self) -> None:
        for fd in (*self.slot_fds, self.out_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _error_record(result: bytes | None) -> str:
    """The message of the sandbox harness's error record (an exception the worker raised), if any."""
    try:
        doc = json.loads(result or b"")
        err = doc.get("error") if isinstance(doc, dict) else None
        return str(err.get("message", ""))[:500] if isinstance(err, dict) else ""
    except (ValueError, UnicodeDecodeError):
        return ""


def _GpuLimits(**kw: Any) -> Limits:
    """Limits for a CUDA worker: 512 tasks (compilers need subprocesses), no RLIMIT_AS (the CUDA runtime
    reserves huge virtual ranges; the run's cgroup bounds memory instead, docs/kernels.md#the-submission-contract)."""
    from verifiers.sandbox import Limits

    class GpuLimits(Limits):
        @property
        def max_tasks(self) -> int:
            return 512

        def wire(self) -> dict[str, Any]:
            return {**super().wire(), "address_space": False}

    return GpuLimits(**kw)


class RemoteReference:
    """R as its own process (JSON lines over stdin/stdout): on a GPU its own CUDA context, so the
    agent's GPU work never shares one with the reference. ``device="cpu"`` exists for tests."""

    def __init__(
        self,
        device_index: int,
        slot_fds: Sequence[int],
        out_fd: int,
        slot_bytes: int,
        out_bytes: int,
        device: str = "cuda:0",
        oom_fault_file: str | None = None,
    ) -> None:
        pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TTTD_SECRET",))}
        env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("CUDA_VISIBLE_DEVICES", str(device_index) if device != "cpu" else "")
        for fd in (*slot_fds, out_fd):
            os.set_inheritable(fd, True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verifiers.kernels.reference"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            pass_fds=(*slot_fds, out_fd),
            text=True,
        )
        for fd in (*slot_fds, out_fd):
            os.set_inheritable(fd, False)
        hello = self._call(
            {
                "device": device,
                "slot_fds": list(slot_fds),
                "out_fd": out_fd,
                "slot_bytes": slot_bytes,
                "out_bytes": out_bytes,
                "oom_fault_file": oom_fault_file,
            }
        )
        self.info: dict[str, Any] = hello["hardware"]
        self.flags: dict[str, Any] = hello["flags"]

    def _call(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both are pipes
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise Stop("error", "the reference process died; this is the verifier's fault, please retry.")
        rep: dict[str, Any] = json.loads(line)  # R (trusted code) replies with one JSON object per line
        if isinstance(rep, dict) and "error" in rep:
            if (
                "out of memory" in rep["error"].lower()
            ):  # docs/kernels.md#the-problem-and-its-cases: P retries the verification once
                raise Stop(
                    "error",
                    "the reference process ran out of GPU memory: the worker used too much GPU "
                    f"memory ({rep['error'][:200]})",
                    ref_oom=True,
                )
            raise Stop("error", f"the reference process failed: {rep['error']}")
        return rep

    def reserve(self, cases: Iterable[op.Case]) -> dict[str, Any]:
        return self._call({"cmd": "reserve", "cases": [dataclasses.asdict(c) for c in cases]})

    def watch(self, pid: int, period_s: float) -> bool:
        watching: bool = self._call({"cmd": "watch", "pid": pid, "period_s": period_s})["watching"]
        return watching

    def prepare(self, case: op.Case, seed: int, slot: int, canaries: bool, reference: bool = True) -> dict[str, Any]:
        return self._call(
            {
                "cmd": "prepare",
                "case": dataclasses.asdict(case),
                "seed": seed,
                "slot": slot,
                "canaries": canaries,
                "reference": reference,
            }
        )

    def flush(self, reset: bool = True) -> None:
        self._call({"cmd": "flush", "reset": reset})

    def reveal(self) -> None:
        self._call({"cmd": "reveal"})

    def compare(self, case: op.Case) -> dict[str, Any]:
        return self._call({"cmd": "compare", "case": dataclasses.asdict(case)})

    def hardware(self) -> dict[str, Any]:
        return self._call({"cmd": "hardware"})

    def other_processes(self, allowed: list[int]) -> list[int] | None:
        others: list[int] | None = self._call({"cmd": "processes", "allowed": allowed})["others"]
        return others

    def worker_memory(self, pid: int) -> int | None:
        used: int | None = self._call({"cmd": "worker_memory", "pid": pid})["bytes"]
        return used

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None  # a pipe
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(10)
        except Exception:  # noqa: BLE001
            self.proc.kill()


class LocalReference:
    """R in-process (CPU dev mode)."""

    def __init__(self, slot_fds: Sequence[int], out_fd: int, slot_bytes: int, out_bytes: int) -> None:
        self.svc = ReferenceService("cpu", tuple(slot_fds), out_fd, slot_bytes, out_bytes)
        self.info = self.svc.hardware()
        self.flags = self.svc.flags

    def prepare(self, case: op.Case, seed: int, slot: int, canaries: bool, reference: bool = True) -> dict[str, Any]:
        return self.svc.prepare(case, seed, slot, canaries, reference)

    def flush(self) -> None:
        self.svc.flush()

    def reveal(self) -> None:
        self.svc.reveal()

    def compare(self, case: op.Case) -> dict[str, Any]:
        return self.svc.compare(case)

    def hardware(self) -> dict[str, Any]:
        return self.svc.hardware()

    def other_processes(self, allowed: list[int]) -> list[int] | None:
        return None

    def worker_memory(self, pid: int) -> int | None:
        return None

    def reserve(self, cases: Iterable[op.Case]) -> dict[str, Any]:
        return {"reserved_bytes": 0}

    def watch(self, pid: int, period_s: float) -> bool:
        return False

    def close(self) -> None:
        pass
