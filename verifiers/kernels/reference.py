"""The reference side R (docs/kernels.md#three-processes, docs/kernels.md#the-problem-and-its-cases): generates
inputs, computes references, compares.

`ReferenceService` owns the private inputs and expected outputs; they never exist in memory mapped
into the worker. It writes each input set (with canaries, docs/kernels.md#one-call) into a shared host slot that the
worker copies from, flushes L2 on the GPU, and compares the bytes the worker staged. In CPU dev mode
the coordinator uses it in-process; on a GPU it runs as its own process (`python -m
verifiers.kernels.reference`, JSON lines on stdin/stdout), so the agent's own GPU work never shares a
context with it.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
from collections.abc import Iterable
from typing import Any

from verifiers.kernels import trimul_op as op

ALIGN = 256


def layout_for(case: op.Case, hidden: int = op.H) -> tuple[list[list[Any]], int]:
    """[(name, offset, shape, dtype)] of one input set in a slot, and its total size in bytes."""
    B, N, C = case.B, case.N, case.C
    items: list[tuple[str, tuple[int, ...], str]] = [
        ("x", (B, N, N, C), "float32"),
        ("mask", (B, N, N), "int64" if case.mask.endswith("i64") else "float32"),
    ]
    for name in op.WEIGHT_ORDER:
        shape: tuple[int, ...]
        if name in ("norm.weight", "norm.bias"):
            shape = (C,)
        elif name in ("to_out_norm.weight", "to_out_norm.bias"):
            shape = (hidden,)
        elif name == "to_out.weight":
            shape = (C, hidden)
        else:
            shape = (hidden, C)
        items.append((name, shape, "float32"))
    out: list[list[Any]] = []
    off = 0
    for name, shape, dt in items:
        out.append([name, off, list(shape), dt])
        n = 1
        for s in shape:
            n *= s
        off += -(-n * (8 if dt == "int64" else 4) // ALIGN) * ALIGN
    return out, off


def slot_bytes_for(cases: Iterable[op.Case]) -> int:
    """Slot size: the largest input set plus its canary table (8 + 4 bytes per (b, i) row)."""
    return max(layout_for(c)[1] + 2 * ALIGN + 12 * c.B * c.N for c in cases)


class ReferenceService:
    def __init__(self, device: str, slot_fds: tuple[int, ...], out_fd: int, slot_bytes: int, out_bytes: int) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        if self.cuda:
            torch.cuda.set_device(self.device)
        self.flags = op.pin_precision()
        torch.set_num_threads(int(os.environ.get("TTTD_REF_THREADS", "1")))
        self.slot_bytes, self.out_bytes = slot_bytes, out_bytes
        self.host_slots = [torch.frombuffer(mmap.mmap(fd, slot_bytes), dtype=torch.uint8) for fd in slot_fds]
        self.host_out = torch.frombuffer(mmap.mmap(out_fd, out_bytes), dtype=torch.uint8)
        self.pinned = False
        if self.cuda:
            try:
                rt = torch.cuda.cudart()  # type: ignore[no-untyped-call]  # torch leaves cudart() unannotated
                self.pinned = all(
                    int(rt.cudaHostRegister(t.data_ptr(), t.numel(), 0)) == 0 for t in self.host_slots + [self.host_out]
                )
            except Exception:  # noqa: BLE001 - pageable copies still work, only slower
                self.pinned = False
            props = torch.cuda.get_device_properties(self.device)
            self.l2_bytes = int(getattr(props, "L2_cache_size", 50 << 20))
            n = max(256 << 20, 2 * self.l2_bytes)
            self.flush_w = torch.empty(n // 4, dtype=torch.float32, device=self.device)
            self.flush_r = torch.ones(n // 4, dtype=torch.float32, device=self.device)
        self.expected: Any = None  # the reference output of the prepared trial (a tensor)
        self.oom_fault: str | None = None  # test-only: a file counting injected OOMs in prepare()
        self.pending_repair: tuple[int, int, int, Any, Any] | None = None  # slot, offsets, canary tensors

    # -- memory planning (docs/kernels.md#the-problem-and-its-cases) ---------------------------------------------------
    def reserve(self, cases: Iterable[op.Case]) -> dict[str, int]:
        """Run R's whole path for every shape once (generation, reference, the staged output's upload and
        the comparison), largest first, before W's first call: the caching allocator then already holds
        R's peak, so W exhausting GPU memory later cannot make R fail halfway through a trial."""
        torch = self.torch
        if not self.cuda:
            return {"reserved_bytes": 0}
        torch.cuda.reset_peak_memory_stats(self.device)
        for case in sorted(set(cases), key=lambda c: (c.out_bytes, c.N, c.C), reverse=True):
            x, mask, weights = op.generate(case, 0, str(self.device))
            with torch.no_grad():
                ref = op.reference(x, mask, weights)
            del x, mask, weights
            n = case.B * case.N * case.N * case.C
            staged = self.host_out[: 4 * n].view(torch.float32).view(ref.shape).to(self.device)
            op.compare(staged, ref)
            del staged, ref
        torch.cuda.synchronize()
        return {
            "reserved_bytes": int(torch.cuda.memory_reserved(self.device)),
            "peak_bytes": int(torch.cuda.max_memory_allocated(self.device)),
        }

    # -- one trial ---------------------------------------------------------------------------------
    def prepare(self, case: op.Case, seed: int, slot: int, canaries: bool, reference: bool = True) -> dict[str, Any]:
        """Generate private inputs from `seed`, compute the reference (unless ``reference`` is False: a
        calibration call, whose output nobody compares), write the (canaried) inputs to `slot`."""
        torch = self.torch
        self.expected = None
        if self.oom_fault is not None and _take_fault(self.oom_fault):
            raise torch.OutOfMemoryError("CUDA out of memory (injected by a test through oom_fault_file)")
        x, mask, weights = op.generate(case, seed, str(self.device))
        if reference:
            with torch.no_grad():
                self.expected = op.reference(x, mask, weights)
        layout, size = layout_for(case)
        canary = None
        self.pending_repair = None
        if canaries:  # wrong values go out now; where they are and the true ones only at reveal()
            flat, true = op.add_canaries(x, seed)
            n = flat.numel()
            idx_off = -(-size // ALIGN) * ALIGN
            val_off = idx_off + -(-8 * n // ALIGN) * ALIGN
            hs = self.host_slots[slot]
            hs[idx_off : idx_off + 8 * n].zero_()
            hs[val_off : val_off + 4 * n].zero_()
            self.pending_repair = (slot, idx_off, val_off, flat, true)
            canary = [idx_off, val_off, n]
        tensors = {"x": x, "mask": mask, **weights}
        hs = self.host_slots[slot]
        for name, off, _shape, _dt in layout:
            t = tensors[name]
            hs[off : off + t.numel() * t.element_size()].view(t.dtype).view(t.shape).copy_(t)
        if self.cuda:
            torch.cuda.synchronize()
        return {"layout": layout, "nbytes": size, "canary": canary}

    def reveal(self) -> None:
        """docs/kernels.md#one-call: after the flush, publish the canaries' positions and true values for W's repair
        (until now nothing mapped into W held them, so work started before this point sees wrong inputs)."""
        if self.pending_repair is None:
            return
        slot, idx_off, val_off, flat, true = self.pending_repair
        self.pending_repair = None
        hs = self.host_slots[slot]
        hs[idx_off : idx_off + 8 * flat.numel()].view(self.torch.int64).copy_(flat.cpu())
        hs[val_off : val_off + 4 * true.numel()].view(self.torch.float32).copy_(true.cpu())

    def flush(self, reset: bool = True) -> None:
        """docs/kernels.md#one-call: reset persisting L2 lines, write a buffer of max(256 MiB, 2×L2), then read a clean
        one so the dirty flush lines are written back now, not during the timed call. ``reset=False`` exists only for
        the cross-context L2 probe (tests/kernels/test_kern_gpu.py)."""
        if not self.cuda:
            return
        torch = self.torch
        if reset:
            try:
                import ctypes

                ctypes.CDLL("libcuda.so.1").cuCtxResetPersistingL2Cache()
            except OSError:
                pass
        self.flush_w.fill_(1.0)
        float(self.flush_r.sum())  # forces completion
        torch.cuda.synchronize()

    def compare(self, case: op.Case) -> dict[str, Any]:
        torch = self.torch
        n = case.B * case.N * case.N * case.C
        staged = self.host_out[: 4 * n].view(torch.float32).view(case.B, case.N, case.N, case.C)
        if self.cuda:
            staged = staged.to(self.device)
        report = op.compare(staged, self.expected)
        self.expected = None
        return report

    def hardware(self) -> dict[str, Any]:
        torch = self.torch
        info: dict[str, Any] = {"device": str(self.device), "pinned_slots": self.pinned}
        if not self.cuda:
            return info
        p = torch.cuda.get_device_properties(self.device)
        info.update(
            {
                "name": torch.cuda.get_device_name(self.device),
                "compute_capability": f"{p.major}.{p.minor}",
                "sm_count": p.multi_processor_count,
                "memory_bytes": p.total_memory,
                "l2_bytes": self.l2_bytes,
                "uuid": str(getattr(p, "uuid", "")),
                "cuda_runtime": torch.version.cuda,
            }
        )
        info.update(_nvml_info(self.device.index or 0))
        return info

    def other_processes(self, allowed: list[int]) -> list[int] | None:
        """PIDs on the GPU other than `allowed` (None when NVML cannot tell)."""
        try:
            import pynvml  # type: ignore[import-not-found]  # optional NVML bindings (nvidia-ml-py), absent here

            pynvml.nvmlInit()
            h = pynvml.nvmlDeviceGetHandleByIndex(self.device.index or 0)
            pids = [p.pid for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h)]
            return [p for p in pids if p not in allowed and p != os.getpid()]
        except Exception:  # noqa: BLE001 - NVML missing or not permitted (VMs)
            return None


def _take_fault(path: str) -> bool:
    try:
        n = int(open(path).read() or 0)
    except (OSError, ValueError):
        return False
    if n <= 0:
        return False
    with open(path, "w") as fh:
        fh.write(str(n - 1))
    return True


class MemoryWatch:
    """Samples the GPU memory NVML attributes to the worker every `period_s` (docs/kernels.md#the-submission-contract:
    checked after every call and sampled every 50 ms), in a thread of R, so a peak allocated and freed inside one call
    is still seen. ``take()`` returns the largest sample since the last take (None: NVML cannot tell)."""

    def __init__(self, index: int, pid: int, period_s: float = 0.05) -> None:
        import threading

        self.index, self.pid, self.period_s = index, pid, period_s
        self.peak: int | None = None
        self.samples = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tttd-gpu-memory-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            b = worker_memory(self.index, self.pid)
            with self._lock:
                self.samples += 1
                if b is not None and (self.peak is None or b > self.peak):
                    self.peak = b

    def take(self) -> int | None:
        now = worker_memory(self.index, self.pid)
        with self._lock:
            peak, self.peak = self.peak, None
        vals = [v for v in (peak, now) if v is not None]
        return max(vals) if vals else None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)


def worker_memory(index: int, pid: int) -> int | None:
    """GPU memory NVML attributes to process `pid` (None when NVML cannot tell, e.g. in some VMs)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(index)
        for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h):
            if p.pid == pid and p.usedGpuMemory is not None:
                return int(p.usedGpuMemory)
        return None
    except Exception:  # noqa: BLE001
        return None


def _nvml_info(index: int) -> dict[str, Any]:
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(index)
        out = {
            "driver": pynvml.nvmlSystemGetDriverVersion(),
            "sm_clock_mhz": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
            "mem_clock_mhz": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM),
            "temperature_c": pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
            "power_limit_w": pynvml.nvmlDeviceGetPowerManagementLimit(h) / 1000,
            "power_w": pynvml.nvmlDeviceGetPowerUsage(h) / 1000,
        }
        for key, fn in (
            ("persistence_mode", "nvmlDeviceGetPersistenceMode"),
            ("compute_mode", "nvmlDeviceGetComputeMode"),
        ):
            try:
                out[key] = int(getattr(pynvml, fn)(h))
            except Exception:  # noqa: BLE001
                pass
        try:
            out["mig_mode"] = int(pynvml.nvmlDeviceGetMigMode(h)[0])
        except Exception:  # noqa: BLE001
            pass
        try:
            out["clock_event_reasons"] = int(pynvml.nvmlDeviceGetCurrentClocksEventReasons(h))
        except Exception:  # noqa: BLE001
            pass
        return out
    except Exception as e:  # noqa: BLE001
        return {"nvml": f"unavailable ({type(e).__name__})"}


def serve() -> None:
    """R as a process: one JSON request per stdin line, one JSON reply per stdout line."""
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing else may write to the reply channel
    cfg = json.loads(sys.stdin.readline())
    svc = ReferenceService(cfg["device"], tuple(cfg["slot_fds"]), cfg["out_fd"], cfg["slot_bytes"], cfg["out_bytes"])
    svc.oom_fault = cfg.get("oom_fault_file")
    watch: MemoryWatch | None = None
    out.write(json.dumps({"ok": True, "hardware": svc.hardware(), "flags": svc.flags}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            cmd = req["cmd"]
            if cmd == "prepare":
                rep = svc.prepare(
                    op.Case(**req["case"]),
                    int(req["seed"]),
                    int(req["slot"]),
                    bool(req["canaries"]),
                    bool(req.get("reference", True)),
                )
            elif cmd == "flush":
                svc.flush(bool(req.get("reset", True)))
                rep = {}
            elif cmd == "reveal":
                svc.reveal()
                rep = {}
            elif cmd == "compare":
                rep = svc.compare(op.Case(**req["case"]))
            elif cmd == "hardware":
                rep = svc.hardware()
            elif cmd == "worker_memory":
                if watch is not None and watch.pid == int(req["pid"]):
                    rep = {"bytes": watch.take(), "samples": watch.samples}
                else:
                    rep = {"bytes": worker_memory(svc.device.index or 0, int(req["pid"]))}
            elif cmd == "watch":
                if svc.cuda:
                    if watch is not None:
                        watch.stop()
                    watch = MemoryWatch(svc.device.index or 0, int(req["pid"]), float(req.get("period_s", 0.05)))
                rep = {"watching": watch is not None}
            elif cmd == "reserve":
                rep = svc.reserve([op.Case(**c) for c in req["cases"]])
            elif cmd == "processes":
                rep = {"others": svc.other_processes(req["allowed"])}
            elif cmd == "quit":
                return
            else:
                rep = {"error": f"unknown command {cmd!r}"}
        except Exception as e:  # noqa: BLE001 - reported to P, which turns it into an `error` Verdict
            rep = {"error": f"{type(e).__name__}: {e}"[:1000]}
        out.write(json.dumps(rep, allow_nan=True) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
