"""GPU timing report (run by scripts/gpu-kernels-check.sh on a GPU machine; not a test module).

Verifies each given submission on the GPU under the default protocol and under gpumode_compat, prints
per-shape means and the geomean, the harness overhead per timed call, the host gate's profile and
decision, and writes everything as JSON (kern_bare_time.py --against puts bare timings beside it).

    PYTHONPATH=. python3 tests/kernels/kern_gpu_report.py --out DIR FILE...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from verifiers import get_verifier
from verifiers.kernels import seam


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", default=".")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--modes", default="default,compat")
    ap.add_argument("--gpu", default="H100")
    ap.add_argument("--small", action="store_true", help="3 correctness cases and 2 shapes (smoke test)")
    ap.add_argument(
        "--waits",
        default="default",
        help="comma list of default,blocking,polling: blocking "
        "waits (the pre-H100 harness) against polling ones, to see what wake-up latency costs",
    )
    ap.add_argument(
        "--calib",
        default="default",
        help="comma list of default,null,busy: the null kernel alone against null + busy-kernel ladder (timing.Ladder)",
    )
    ap.add_argument("--no-noise-check", action="store_true", help="time even on a host the gate calls unstable")
    ap.add_argument(
        "--prewarm",
        default="0",
        help="comma list of prewarm_ms values (0: off): the device kept busy "
        "after each load, to see what a rested device costs the first microseconds of a call",
    )
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for path in args.files:
        src = open(path).read()
        for mode, waits, calib, pre in [
            (m, w, c, float(p))
            for m in args.modes.split(",")
            for w in args.waits.split(",")
            for c in args.calib.split(",")
            for p in args.prewarm.split(",")
        ]:
            opts = {"prewarm_ms": pre} if pre > 0 else {}
            if args.small:
                from verifiers.kernels import trimul_op as op

                opts.update({"cases": (op.TESTS[0], op.TESTS[1], op.CONTRACT[0]), "benchmarks": op.BENCHMARKS[:3]})
            if waits != "default":
                opts["spin_wait"] = waits == "polling"
            if calib != "default":
                opts["busy_calibration"] = calib == "busy"
            if args.no_noise_check:
                opts["host_noise_check"] = False
            v = get_verifier(
                "trimul",
                gpu=args.gpu,
                mode="gpu",
                timing_profile=args.profile,
                gpumode_compat=(mode == "compat"),
                allow_other_hardware=True,
            )
            t0 = time.time()
            with seam.hooks(**opts):
                d = v.verify(src)
            wall = time.time() - t0
            det = d.details
            row = {
                "file": os.path.basename(path),
                "mode": mode,
                "waits": waits,
                "calib": calib,
                "prewarm_ms": pre,
                "profile": args.profile,
                "status": d.status,
                "score_us": d.score,
                "message": d.message,
                "wall_s": wall,
                "per_shape": det.get("per_shape"),
                "calibration": det.get("calibration"),
                "hardware": d.hardware,
                "software": det.get("software"),
                "isolation": det.get("isolation"),
                "stderr_tail": (det.get("stderr") or "")[-3000:],
                "below_roofline": det.get("below_roofline"),
                "hardware_match": det.get("hardware_match"),
                "worker": det.get("worker"),
                "calibration_busy": det.get("calibration_busy"),
                "host_noise": det.get("host_noise"),
                "retimed": det.get("retimed"),
                "host_profile": det.get("host_profile"),
                "gate": det.get("gate"),
            }
            rows.append(row)
            label = (
                mode
                + ("" if waits == "default" else f", {waits} waits")
                + ("" if calib == "default" else f", {calib} calibration")
                + (f", prewarm {pre:g} ms" if pre > 0 else "")
            )
            wv = (det.get("worker") or {}).get("versions") or {}
            label += f"; worker: persisting-L2 default {wv.get('l2_persist_default')}, spin {wv.get('spin_wait')}"
            print(
                f"\n=== {row['file']} [{label}] {d.status} score={d.score} ({wall:.0f} s)\n    {d.message}", flush=True
            )
            for sid, st in (det.get("per_shape") or {}).items():
                m = st.get("margins", {})
                print(
                    f"    {sid}: mean {st['mean']:.1f} µs  median {st['median']:.1f}  n={st['n']}  stop={st['stop']}  "
                    f"floor {st.get('floor_us') or 0:.1f}  envelope {m.get('envelope_median_us', 0):.0f}/"
                    f"{m.get('envelope_limit_us', 0):.0f} µs  fence {m.get('fence_median_us', 0):.0f}/"
                    f"{m.get('fence_limit_us', 0):.0f} µs  staging {m.get('staging_median_us', 0):.0f} µs",
                    flush=True,
                )
            cal = det.get("calibration") or {}
            if cal:
                o = [c["o_us"] for c in cal.values()]
                print(
                    f"    harness overhead per timed call (null kernel, P's clock minus E): median over shapes "
                    f"{statistics.median(o):.0f} µs (range {min(o):.0f}-{max(o):.0f}); sync gap φ median "
                    f"{statistics.median(c['phi_med_us'] for c in cal.values()):.1f} µs",
                    flush=True,
                )
            for r in det.get("calibration_busy") or []:
                print(
                    f"    busy-kernel rung E {r['E_us']:.0f} µs: overhead {r['o_us']:.0f} µs "
                    f"(p99 {r['o_p99_us']:.0f}), "
                    f"φ {r['phi_med_us']:.1f} µs (p99 {r['phi_p99_us']:.1f})",
                    flush=True,
                )
            if det.get("gate"):
                print("    host gate:", det["gate"], flush=True)
            if det.get("host_noise"):
                print("    host noise:", det["host_noise"], flush=True)
            for sid, r in (det.get("retimed") or {}).items():
                print(f"    re-timed {sid} after: {r['message'][:160]}", flush=True)
            if d.status not in ("accepted",):
                print(
                    "    isolation:",
                    json.dumps(det.get("isolation")),
                    "\n    stderr tail:",
                    (det.get("stderr") or "")[-1500:],
                    flush=True,
                )
            with open(os.path.join(args.out, "trimul_gpu_report.json"), "w") as fh:
                json.dump(rows, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
