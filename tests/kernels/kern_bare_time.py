"""Bare in-process timing of TriMul kernels, the yardstick for the verifier's fidelity (a GPU tool; not a
test module).

No sandbox, no harness: the kernel is imported into this process and timed with CUDA events around one
call, after a 256 MB L2 flush, as a benchmark loop on a workstation would (GPU MODE's style). Variants
separate the per-call costs the harness adds:

* ``loop``: flush, synchronise, then the call: back-to-back, the device never rests;
* ``idle``: the same with the device and the CPU idle for ``--idle-ms`` before the call, as between the
  harness's input load and its ``go`` (to see whether a rested device runs the first microseconds slower);
* ``warm``: ``idle``, then the trusted sleep kernel for ``--warm-ms`` and a synchronise before the call
  (what the verifier's ``prewarm_ms`` does after each load);
* ``nowflush``: ``loop`` without the flush (gpumode-compat times without one).

Per shape: the mean of ``--calls`` timed calls after ``--warmup`` untimed ones, each on the same inputs;
the geometric mean over the 7 benchmark shapes. With ``--against REPORT.json[,...]`` (kern_gpu_report.py's
output) it prints the verifier's per-shape means beside the bare ones and the difference in %.

    PYTHONPATH=. python3 tests/kernels/kern_bare_time.py [--variants loop,idle,warm] [--against J] FILE...
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from verifiers.kernels import trimul_op as op


def _load(path: str):
    spec = importlib.util.spec_from_file_location(f"bare_{abs(hash(path))}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.custom_kernel


def _sleeper(torch, ms: float):
    """torch.cuda._sleep sized from a measured clock rate, for ``ms`` milliseconds."""
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    rate = 0.0
    for cycles in (1 << 20, 1 << 22):
        torch.cuda.synchronize()
        a.record()
        torch.cuda._sleep(cycles)
        b.record()
        torch.cuda.synchronize()
        rate = cycles / max(a.elapsed_time(b), 1e-6)
    cycles = max(1, int(ms * rate))
    return lambda: torch.cuda._sleep(cycles)


def time_kernel(fn, variant: str, calls: int, warmup: int, idle_ms: float, warm_ms: float) -> dict:
    import torch

    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    warm = _sleeper(torch, warm_ms) if variant == "warm" else None
    per_shape = {}
    for case in op.BENCHMARKS:
        x, mask, w = op.generate(case, 7, "cuda")
        data = (x, mask, w, {"hidden_dim": op.H, "dim": case.C})
        times = []
        for i in range(warmup + calls):
            if variant != "nowflush":
                flush.zero_()
            torch.cuda.synchronize()
            if variant in ("idle", "warm"):
                time.sleep(idle_ms / 1e3)
            if warm is not None:
                warm()
                torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            out = fn(data)
            b.record()
            torch.cuda.synchronize()
            del out
            if i >= warmup:
                times.append(a.elapsed_time(b) * 1e3)
        per_shape[case.id] = statistics.fmean(times)
        del x, mask, w, data
    gm = math.exp(statistics.fmean(math.log(v) for v in per_shape.values()))
    return {"geomean_us": gm, "per_shape_us": per_shape}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--variants", default="loop,idle,warm,nowflush")
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--idle-ms", type=float, default=5.0)
    ap.add_argument("--warm-ms", type=float, default=0.5)
    ap.add_argument(
        "--against",
        help="kern_gpu_report.py's JSON files (comma list): print the verifier's per-shape means beside the bare ones",
    )
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    rows = []
    for path in args.files:
        fn = _load(path)
        for v in args.variants.split(","):
            r = time_kernel(fn, v, args.calls, args.warmup, args.idle_ms, args.warm_ms)
            rows.append({"file": os.path.basename(path), "variant": v, **r})
            shapes = " ".join(f"{k} {t:.0f}" for k, t in r["per_shape_us"].items())
            print(f"BARE {os.path.basename(path)} [{v}] geomean {r['geomean_us']:.1f} µs :: {shapes}", flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    reports = [r for p in (args.against or "").split(",") if p and os.path.exists(p) for r in json.load(open(p))]
    if reports:
        loop = {r["file"]: r for r in rows if r["variant"] == "loop"}
        for rep in reports:
            bare = loop.get(rep["file"])
            if not bare or not rep.get("per_shape"):
                continue
            label = (
                f"{rep['file']} [{rep['mode']}{', prewarm ' + str(rep['prewarm_ms']) if rep.get('prewarm_ms') else ''}]"
            )
            diffs = []
            for sid, st in rep["per_shape"].items():
                b = bare["per_shape_us"].get(sid)
                if b:
                    diffs.append(f"{sid} {st['mean']:.0f}/{b:.0f} ({(st['mean'] / b - 1) * 100:+.1f}%)")
            score = rep.get("score_us")
            total = (
                f"{score:.1f} vs bare {bare['geomean_us']:.1f} µs ({(score / bare['geomean_us'] - 1) * 100:+.1f}%)"
                if score
                else rep.get("status")
            )
            print(f"FIDELITY {label}: {total} :: " + " ".join(diffs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
