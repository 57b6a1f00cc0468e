"""TriMul verifier speed: CPU dev-mode time per submission, and the harness overhead per timed call
(the GPU protocol's null-kernel calibration: P's clock minus the reported event time).

Run: .venv/bin/pytest benchmarks/test_bench_kern.py --benchmark-only
The GPU benchmark runs only where CUDA is available (scripts/gpu-kernels-check.sh reports the same
numbers from a full verification).
"""

import statistics
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from verifiers import get_verifier
from verifiers.kernels import seam, timing
from verifiers.kernels import trimul_op as op

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["trimul_torch.py", "trimul_triton.py"])
def test_cpu_dev_mode_per_submission(benchmark, name):
    src = (EXAMPLES / name).read_text()
    v = get_verifier("trimul", mode="cpu")
    v.verify(src)  # warm: fork server with torch preloaded
    verdict = benchmark.pedantic(lambda: v.verify(src), rounds=3, iterations=1)
    assert verdict.status == "unverified-timing"
    benchmark.extra_info["calls"] = 2 * len(verdict.details["cases"])


def _overhead(device_mode: str, benchmark) -> None:
    src = (EXAMPLES / "trimul_torch.py").read_text()
    opts = {
        "cases": (op.DEV[0],),
        "benchmarks": (op.DEV[0],) if device_mode == "cpu" else (op.BENCHMARKS[0],),
        "profile_override": timing.Profile("bench", 5, 10, 0.005, 5.0, 20.0, calib_trials=30),
        "thresholds": timing.Thresholds(
            env_abs_us=1e5,
            env_out_abs_us=1e5,
            fence_abs_us=1e5,
            fence_out_abs_us=1e5,
            stage_abs_us=1e5,
            outlier_frac=1.0,
        ),
    }  # measuring, not judging
    if device_mode == "cpu":
        opts["full_protocol"] = True
    v = get_verifier("trimul", mode=device_mode, allow_other_hardware=True)
    with seam.hooks(**opts):
        verdict = benchmark.pedantic(lambda: v.verify(src), rounds=1, iterations=1)
    cal = verdict.details["calibration"]
    benchmark.extra_info["overhead_us_median"] = statistics.median(c["o_us"] for c in cal.values())
    benchmark.extra_info["sync_gap_us_median"] = statistics.median(c["phi_med_us"] for c in cal.values())
    benchmark.extra_info["staging_us_median"] = statistics.median(c["s_us"] for c in cal.values())
    for rung in verdict.details.get("calibration_busy") or []:  # trusted busy kernels (timing.Ladder)
        benchmark.extra_info[f"overhead_us_busy_{rung['E_us']:.0f}us"] = rung["o_us"]
    assert verdict.status == "accepted", verdict.message


def test_protocol_overhead_per_timed_call_cpu(benchmark):
    """The message round trip and synchronisations of one trial on the CPU protocol (no GPU)."""
    _overhead("cpu", benchmark)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_harness_overhead_per_timed_call_gpu(benchmark):
    _overhead("gpu", benchmark)
