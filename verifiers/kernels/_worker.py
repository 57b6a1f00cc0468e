"""The worker harness W (docs/kernels.md#three-processes, docs/kernels.md#one-call): trusted code in an untrusted
process.

This file is copied into the sandbox as ``program.py`` and started by the sandbox harness as
``run(**kwargs)``; the submission is ``submission.py`` beside it, loaded by file path only after the
calibration. It imports nothing from tttd (the checkout is not visible in the sandbox). Every
primitive it uses for timing and checking is bound to a local name before the submission is
imported. It talks to the coordinator P over two pipes of newline-delimited JSON (fds 5 and 6)
and sees inputs only as bytes in two shared host slots (fds 7, 8), which it copies into its own
device buffers; it stages each output into a shared buffer (fd 9). It never sees a seed.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
import time

TYPE_CHECKING = False  # annotations only: the worker imports nothing for them at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import torch

    Kernel = Callable[[Any], Any]  # a callable run as custom_kernel(data)

CTL_IN, CTL_OUT, SLOT_FDS, OUT_FD = 5, 6, (7, 8), 9
MAX_LINE = 64 << 10


def run(device: str, slot_bytes: int, out_bytes: int, threads: int = 1, spin: bool = False) -> dict[str, str]:
    perf_ns = time.perf_counter_ns
    # The sandbox's own seccomp helper (already loaded in this process by the sandbox child): the
    # optional lockdown after warm-up (docs/kernels.md#one-call). Bound now, before any submission code can replace it.
    lockdown = getattr(sys.modules.get("verifiers.sandbox._linux"), "install_lockdown", None)
    _type, _len = type, len
    dumps, loads = json.dumps, json.loads
    write, read = os.write, os.read
    import torch

    torch.set_num_threads(int(threads))
    Tensor, empty, frombuffer = torch.Tensor, torch.empty, torch.frombuffer
    f32, u8 = torch.float32, torch.uint8
    dtypes = {"float32": torch.float32, "int64": torch.int64}
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    sync: Callable[[], None]
    record: Callable[[Any], None]
    elapsed: Callable[[Any, Any], float]
    ev: list[Any]
    gpu_sleep: Callable[[int], None] | None
    l2: _L2Control | None
    if cuda and spin:
        _spin_wait(dev.index or 0)
        torch.cuda.set_device(dev)
        sync = torch.cuda.synchronize
        Event = torch.cuda.Event
        record, elapsed, query = Event.record, Event.elapsed_time, Event.query

        def settle(e: Any) -> None:
            # Spin until the current stream reaches `e`: a blocking wait lets the (virtual) CPU sleep,
            # and its wake-up latency grows with the wait, so long kernels would read as work left
            # running (fence) or as time outside E (envelope) against the null-kernel calibration.
            while spin and not query(e):  # type: ignore[no-untyped-call]  # torch: Event.query unannotated
                pass

        ev = [Event(enable_timing=True) for _ in range(3)]  # type: ignore[no-untyped-call]  # torch: unannotated
        gpu_sleep = torch.cuda._sleep
        l2 = _L2Control()
        dev_name = torch.cuda.get_device_name(dev)
    else:

        def sync() -> None:
            pass

        clock: dict[int, int] = {}

        def record(e: int) -> None:
            clock[e] = perf_ns()

        def elapsed(a: int, b: int) -> float:
            return (clock[b] - clock[a]) / 1e6

        def settle(e: Any) -> None:
            pass

        ev = [0, 1, 2]
        gpu_sleep = None
        l2 = None
        dev_name = "cpu"

    host_slots = [frombuffer(mmap.mmap(fd, slot_bytes), dtype=u8) for fd in SLOT_FDS]
    host_out = frombuffer(mmap.mmap(OUT_FD, out_bytes), dtype=u8)
    pinned = _pin([host_slots[0], host_slots[1], host_out]) if cuda else False
    dev_slots = [empty(slot_bytes, dtype=u8, device=dev) for _ in range(2)]
    if l2 is not None:
        l2.remember_default()  # the context exists now; no submission code has run yet
    inbuf = bytearray()

    def send(doc: dict[str, Any]) -> None:
        data = (dumps(doc, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[write(CTL_OUT, view) :]

    if spin:  # poll the control pipe instead of sleeping in read() (wake-up latency, see settle)
        os.set_blocking(CTL_IN, False)

    def recv() -> dict[str, Any] | None:
        nonlocal inbuf
        while b"\n" not in inbuf:
            try:
                chunk = read(CTL_IN, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                return None
            inbuf += chunk
            if _len(inbuf) > 4 * MAX_LINE:
                return None
        line, _, rest = bytes(inbuf).partition(b"\n")
        inbuf = bytearray(rest)
        msg: dict[str, Any] = loads(line)  # P sends one JSON object per line
        return msg

    def views(buf: torch.Tensor, layout: list[list[Any]]) -> dict[str, torch.Tensor]:
        out = {}
        for name, off, shape, dt in layout:
            n = 1
            for s in shape:
                n *= s
            size = n * (8 if dt == "int64" else 4)
            if off < 0 or off + size > slot_bytes:
                raise ValueError("layout outside the slot")
            out[name] = buf[off : off + size].view(dtypes[dt]).view(shape)
        return out

    versions = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "pinned": pinned,
        "l2_persist_default": l2.default if l2 is not None else None,
        "spin_wait": bool(spin),
    }
    send({"op": "hello", "pid": os.getpid(), "device": dev_name, "versions": versions})
    fn: Any = None  # the submission's custom_kernel (untrusted), once imported
    null_out: dict[tuple[tuple[int, ...], float], Kernel] = {}
    warmers: dict[float, Kernel] = {}
    out: Any = None  # the submission's last output (untrusted)
    call: Kernel | None
    while True:
        msg = recv()
        if msg is None:
            return {"exit": "eof"}
        op, t = msg.get("op"), msg.get("t")
        if op == "quit":
            send({"op": "bye", "flags": _flags(torch)})
            return {"exit": "quit"}
        if op == "import":
            try:
                import importlib.util

                spec = importlib.util.spec_from_file_location("submission", os.path.abspath("submission.py"))
                assert spec is not None and spec.loader is not None  # a .py file path always has both
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                fn = mod.__dict__.get("custom_kernel")
                if not callable(fn):
                    send({"op": "raised", "t": t, "where": "import", "message": "custom_kernel is not callable"})
                else:
                    send({"op": "imported"})
            except BaseException as e:  # noqa: BLE001 - untrusted code may raise anything
                send({"op": "raised", "t": t, "where": "import", "message": _describe(e)})
            continue
        try:
            if op == "arm":
                limit = l2.arm() if l2 is not None else 0
                send({"op": "armed", "t": t, "l2_persist_limit": limit})
            elif op == "load":
                n = msg["nbytes"]
                dev_slots[msg["slot"]][:n].copy_(host_slots[msg["slot"]][:n])
                sync()
                pre = float(msg.get("prewarm_ms") or 0.0)
                if pre > 0:  # keep the device working before the call, as a benchmark loop does
                    warm = warmers.get(pre)
                    if warm is None:
                        warm = warmers[pre] = _trusted_kernel(None, pre, gpu_sleep, ev, record, elapsed, sync, perf_ns)
                    warm(None)
                    sync()
                send({"op": "loaded", "t": t})
            elif op == "repair":  # after R's flush and reveal; outside P's clock around the call
                can = msg["canary"]
                hs = host_slots[msg["slot"]]
                idx = hs[can[0] : can[0] + 8 * can[2]].view(torch.int64).to(dev)
                val = hs[can[1] : can[1] + 4 * can[2]].view(f32).to(dev)
                views(dev_slots[msg["slot"]], msg["layout"])["x"].view(-1)[idx] = val
                sync()
                send({"op": "repaired", "t": t})
            elif op == "go":
                buf = dev_slots[msg["slot"]]
                ts = views(buf, msg["layout"])
                if msg.get("null"):  # calibration, before the submission is imported (docs/kernels.md#three-processes)
                    key = (tuple(ts["x"].shape), float(msg.get("busy_ms") or 0.0))
                    call = null_out.get(key)
                    if call is None:
                        call = null_out[key] = _trusted_kernel(
                            empty(key[0], dtype=f32, device=dev).zero_(),
                            key[1],
                            gpu_sleep,
                            ev,
                            record,
                            elapsed,
                            sync,
                            perf_ns,
                        )
                else:
                    call = fn
                data = (
                    ts["x"],
                    ts["mask"],
                    {k: v for k, v in ts.items() if k not in ("x", "mask")},
                    {"hidden_dim": int(msg["hidden"]), "dim": int(ts["x"].shape[-1])},
                )
                sync()
                record(ev[0])
                try:
                    out = call(data)
                    record(ev[1])
                    settle(ev[1])
                    sync()  # every stream: side-stream work still running delays ev[2]
                    record(ev[2])
                    settle(ev[2])
                    sync()
                except BaseException as e:  # noqa: BLE001
                    out = None
                    send({"op": "raised", "t": t, "where": "call", "message": _describe(e)})
                    continue
                send({"op": "timed", "t": t, "e_ms": elapsed(ev[0], ev[1]), "f_ms": elapsed(ev[0], ev[2])})
            elif op == "lockdown":  # after warm-up: no new processes, threads or file opens
                if lockdown is None:
                    send({"op": "locked", "t": t, "ok": False, "detail": "the sandbox has no seccomp helper"})
                else:
                    try:
                        detail = lockdown()
                        send({"op": "locked", "t": t, "ok": True, "detail": detail})
                    except OSError as e:
                        send({"op": "locked", "t": t, "ok": False, "detail": str(e)[:300]})
            elif op == "stage":
                shape = tuple(msg["shape"])
                reason = _gate(out, shape, dev, _type, Tensor, f32)
                if reason:
                    out = None
                    send({"op": "bad_output", "t": t, "reason": reason})
                    continue
                nbytes = 4
                for s in shape:
                    nbytes *= s
                host_out[:nbytes].view(f32).view(shape).copy_(out)
                sync()
                out = None
                send({"op": "staged", "t": t})
            else:
                send({"op": "raised", "t": t, "where": "harness", "message": f"unknown op {op!r}"})
        except BaseException as e:  # noqa: BLE001 - a sticky CUDA error after the submission ran
            out = None
            send({"op": "raised", "t": t, "where": op, "message": _describe(e)})


def _trusted_kernel(
    o: torch.Tensor | None,
    busy_ms: float,
    gpu_sleep: Callable[[int], None] | None,
    ev: list[Any],
    record: Callable[[Any], None],
    elapsed: Callable[[Any, Any], float],
    sync: Callable[[], None],
    perf_ns: Callable[[], int],
) -> Kernel:
    """The calibration kernel: the null kernel (returns a preallocated tensor, no GPU work) or, with
    busy_ms > 0, one that keeps the device busy that long (``torch.cuda._sleep`` on a GPU, sized from
    a measured clock rate; a spin on the CPU) and returns the same tensor."""
    if busy_ms <= 0:
        return lambda _d: o
    if gpu_sleep is None:
        ns = int(busy_ms * 1e6)

        def spin(_d: Any) -> torch.Tensor | None:
            end = perf_ns() + ns
            while perf_ns() < end:
                pass
            return o

        return spin
    rate = 0.0
    for cycles in (1 << 20, 1 << 22):  # cycles per ms of the sleep kernel (the first launch warms up)
        sync()
        record(ev[0])
        gpu_sleep(cycles)
        record(ev[1])
        sync()
        rate = cycles / max(elapsed(ev[0], ev[1]), 1e-6)
    cycles = max(1, int(busy_ms * rate))
    return lambda _d: (gpu_sleep(cycles), o)[1]


def _describe(e: BaseException) -> str:
    import traceback

    text = "".join(traceback.format_exception_only(_exc_type(e), e)).strip().splitlines()
    # The line that names the exception: the last for most (a SyntaxError's source lines come first), but
    # the first for a multi-line message such as torch's "CUDA error: an illegal memory access was
    # encountered" followed by three lines of debugging hints.
    tname = _exc_type(e).__name__
    named = [k for k in range(len(text)) if text[k].split(":")[0].split(".")[-1] == tname]
    text = text[named[0] : named[0] + 1] if named else text
    line = ""
    for fr in reversed(traceback.extract_tb(e.__traceback__)):
        if fr.filename.endswith("submission.py"):
            line = f" (submission.py line {fr.lineno})"
            break
    return ((text[-1] if text else "error") + line)[:1500]


def _exc_type(e: object) -> type[BaseException]:
    return e.__class__ if isinstance(e, BaseException) else Exception


def _gate(
    out: Any,
    shape: tuple[int, ...],
    dev: torch.device,
    _type: Callable[[object], type],
    Tensor: type[torch.Tensor],
    f32: torch.dtype,
) -> str | None:
    """docs/kernels.md#the-problem-and-its-cases rule 1: exact type, dtype, shape, device, contiguity; checked before
    any copy."""
    if _type(out) is not Tensor:
        name = _type(out).__name__
        return f"custom_kernel returned a {name}; return a plain torch.Tensor (no subclasses, not a tuple)."
    if out.dtype != f32:
        return f"custom_kernel returned dtype {str(out.dtype).replace('torch.', '')}; return float32."
    if tuple(out.shape) != shape:
        return f"custom_kernel returned shape {list(out.shape)}; expected {list(shape)} ([B, N, N, C])."
    if out.device != dev:
        return f"custom_kernel returned a tensor on {out.device}; return it on the input's device ({dev})."
    if not out.is_contiguous():
        return "custom_kernel returned a non-contiguous tensor; return a contiguous one (.contiguous())."
    return None


def _flags(torch: Any) -> dict[str, bool | str]:
    try:
        return {
            "matmul.allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn.allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "float32_matmul_precision": str(torch.get_float32_matmul_precision()),
            "cudnn.benchmark": bool(torch.backends.cudnn.benchmark),
        }
    except Exception:  # noqa: BLE001
        return {}


def _pin(tensors: list[torch.Tensor]) -> bool:
    """Page-lock the shared host slots so copies run at full PCIe speed (falls back to pageable)."""
    import torch

    try:
        rt = torch.cuda.cudart()  # type: ignore[no-untyped-call]  # torch leaves cudart() unannotated
        for t in tensors:
            if int(rt.cudaHostRegister(t.data_ptr(), t.numel(), 0)) != 0:
                return False
        return True
    except Exception:  # noqa: BLE001
        return False


def _spin_wait(ordinal: int) -> None:
    """Make synchronisation spin instead of yielding (before torch creates the primary context), so
    the wake-up after a long kernel costs what it costs after the calibration's null kernel. With
    the default policy an H100 host showed F - E of 46-64 µs after 2 ms kernels against 13-18 µs
    after null ones, which the fence check read as work left running."""
    try:
        import ctypes

        lib = ctypes.CDLL("libcuda.so.1")
        d = ctypes.c_int(0)
        if lib.cuInit(0) == 0 and lib.cuDeviceGet(ctypes.byref(d), int(ordinal)) == 0:
            lib.cuDevicePrimaryCtxSetFlags(d, 0x01)  # CU_CTX_SCHED_SPIN
    except (OSError, AttributeError):
        pass


class _L2Control:
    """Persisting-L2 state of this context through the driver API (read the limit, reset, set 0)."""

    LIMIT_PERSISTING_L2 = 0x06

    def __init__(self) -> None:
        import ctypes

        self.ct = ctypes
        self.lib = ctypes.CDLL("libcuda.so.1")
        self.default = 0
        self.expected = 0

    def _limit(self) -> int:
        val = self.ct.c_size_t(0)
        rc = self.lib.cuCtxGetLimit(self.ct.byref(val), self.LIMIT_PERSISTING_L2)
        return int(val.value) if rc == 0 else -1

    def remember_default(self) -> None:
        """The context's own limit before the submission runs: not always 0 (an H100 reported a
        non-zero default), so a change is what counts, not a non-zero value."""
        self.default = self.expected = self._limit()

    def arm(self) -> int:
        """Reset and set the limit to 0; report the limit found if it is not what the last arm left (the
        context's default before the first one). Compared with the read-back value, not with the default
        alone: on the H100 VM the driver rounded a submission's 8 MiB to 9830400, the default there."""
        val = self._limit()
        self.lib.cuCtxResetPersistingL2Cache()
        self.lib.cuCtxSetLimit(self.LIMIT_PERSISTING_L2, self.ct.c_size_t(0))
        changed = val not in (0, self.expected)
        self.expected = self._limit()
        return val if changed else 0
