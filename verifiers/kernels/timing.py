"""Pure timing arithmetic (specs/kernels.md §1.6, §4.6–4.9): floors, stop rule, trusted checks, score.

No CUDA and no torch here: everything is plain numbers, so every rule is unit-tested on CPU with
synthetic streams.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

SCORE_SCALE = 3000.0


@dataclasses.dataclass(frozen=True)
class Device:
    """Datasheet constants of one GPU model (dense throughput = half the 'with sparsity' figure)."""

    names: tuple[str, ...]         # accepted torch/NVML device names
    bw_bytes_s: float              # peak HBM bandwidth
    p_low_flops: float             # highest dense tensor-core throughput in any format
    p_low_format: str
    gpu_mem_limit_bytes: int       # worker GPU memory limit (§3.4)


DEVICES = {
    "H100": Device(("NVIDIA H100 80GB HBM3",), 3.35e12, 1978.9e12, "FP8", 40 << 30),
    "H200": Device(("NVIDIA H200",), 4.8e12, 1978.9e12, "FP8", 40 << 30),
    "A100": Device(("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-40GB",
                    "NVIDIA A100-PCIE-40GB"), 2.039e12, 624e12, "INT8", 40 << 30),
    "B200": Device(("NVIDIA B200",), 8e12, 9e15, "FP4", 40 << 30),
}
#: A100 variants differ in bandwidth and memory (the floor follows the exact name).
A100_BW = {"NVIDIA A100-SXM4-80GB": 2.039e12, "NVIDIA A100 80GB PCIe": 1.935e12,
           "NVIDIA A100-SXM4-40GB": 1.555e12, "NVIDIA A100-PCIE-40GB": 1.555e12}
A100_40GB_MEM_LIMIT = 12 << 30


def floor_us(N: int, B: int, C: int, bw: float, p_low: float, H: int = 128) -> float:
    """§1.6: max(compulsory bytes / BW, (projections + contraction) FLOP / P_low), in µs."""
    bytes_ = 8 * B * N * N * C
    flops = 12 * B * N * N * C * H + 2 * B * H * N ** 3
    return max(bytes_ / bw, flops / p_low) * 1e6


def device_floor_us(device: Device, name: str, N: int, B: int, C: int) -> float:
    bw = A100_BW.get(name, device.bw_bytes_s)
    return floor_us(N, B, C, bw, device.p_low_flops)


def geomean(values: list[float]) -> float:
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise ValueError("geomean needs finite positive values")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def reward(status: str, geomean_us: float | None, cpu_pass_reward: float = 0.0) -> float:
    """§5: 3000/geomean_us when accepted; cpu_pass_reward for a passed dev run; else 0."""
    if status == "accepted" and geomean_us and geomean_us > 0:
        return SCORE_SCALE / geomean_us
    if status == "unverified-timing":
        return float(cpu_pass_reward)
    return 0.0


# --- stop rule (§4.7) -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    min_trials: int
    max_trials: int
    rel_stderr: float
    kernel_cap_s: float
    wall_cap_s: float
    calib_trials: int = 30


PROFILES = {
    "full": Profile("full", 10, 100, 0.001, 30.0, 120.0, 30),
    "quick": Profile("quick", 5, 30, 0.005, 5.0, 30.0, 10),
    "compat": Profile("compat", 3, 100, 0.001, 30.0, 120.0, 30),
}


def should_stop(times_s: list[float], elapsed_wall_s: float, p: Profile) -> str | None:
    """Return why the timing of one shape stops now (None: keep going)."""
    n = len(times_s)
    if n >= p.max_trials:
        return "max_trials"
    if elapsed_wall_s >= p.wall_cap_s:
        return "wall_cap"
    if sum(times_s) >= p.kernel_cap_s:
        return "kernel_cap"
    if n >= max(p.min_trials, 2):
        mean = statistics.fmean(times_s)
        if mean > 0 and statistics.stdev(times_s) / math.sqrt(n) / mean < p.rel_stderr:
            return "stderr"
    return None


def shape_stats(e_us: list[float]) -> dict:
    n = len(e_us)
    mean = statistics.fmean(e_us)
    std = statistics.stdev(e_us) if n > 1 else 0.0
    return {"n": n, "mean": mean, "median": statistics.median(e_us), "std": std,
            "stderr": std / math.sqrt(n), "min": min(e_us), "max": max(e_us)}


# --- trusted checks (§4.6) --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Trial:
    """One trial as seen by P: E, F reported by W (untrusted); T0…T3 from P's own clock (ns)."""

    e_ms: float
    f_ms: float
    t0: int
    t1: int
    t2: int
    t3: int


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Null-kernel medians for one shape (µs): message round trip, sync latency, staging copy."""

    o_us: float
    phi_med_us: float
    phi_p99_us: float
    s_us: float
    o_p99_us: float | None = None


def percentile(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        raise ValueError("no values")
    k = min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))
    return v[k]


def calibrate(trials: list[Trial]) -> Calibration:
    o = [(t.t1 - t.t0) / 1e3 - t.e_ms * 1e3 for t in trials]
    phi = [(t.f_ms - t.e_ms) * 1e3 for t in trials]
    s = [(t.t3 - t.t2) / 1e3 for t in trials]
    return Calibration(statistics.median(o), statistics.median(phi), percentile(phi, 0.99), statistics.median(s),
                       percentile(o, 0.99))


@dataclasses.dataclass(frozen=True)
class Ladder:
    """Overheads measured with a trusted *busy* kernel of known lengths, before the submission is imported.

    The null kernel of §4.6 finishes before W waits, so its calibration never pays the wake-up of a thread
    (or a virtual CPU) that slept through a long kernel. On a virtualised H100 that wake-up made honest
    2-4 ms kernels read 100-250 µs over the null kernel's round trip. Each rung is the same protocol with
    a kernel that keeps the GPU busy for a fixed time (``torch.cuda._sleep``; a spin on the CPU), so the
    overhead an honest kernel of length E pays is measured, not assumed. ``points`` holds (median E in
    µs, that rung's calibration), ascending in E.
    """

    points: tuple[tuple[float, Calibration], ...]

    def at(self, e_us: float, null: Calibration) -> Calibration:
        """The calibration for a kernel of (reported) length ``e_us``: the null kernel's, raised to the
        ladder's overheads linearly interpolated in E (flat beyond the longest rung). The staging copy
        and the null p99 (host noise) stay the shape's own. Looking up by the *reported* E means a worker
        that under-reports E only gets the null kernel's tighter limits."""
        pts = [(0.0, null), *self.points]
        o, pm, pp = _interp(pts, e_us, "o_us"), _interp(pts, e_us, "phi_med_us"), _interp(pts, e_us, "phi_p99_us")
        return Calibration(max(null.o_us, o), max(null.phi_med_us, pm), max(null.phi_p99_us, pp), null.s_us,
                           null.o_p99_us)


def _interp(pts: list, x: float, field: str) -> float:
    if x <= pts[0][0]:
        return getattr(pts[0][1], field)
    for (x0, c0), (x1, c1) in zip(pts, pts[1:]):
        if x <= x1:
            y0, y1 = getattr(c0, field), getattr(c1, field)
            return y0 if x1 <= x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return getattr(pts[-1][1], field)


def ladder(rungs: list[list[Trial]]) -> Ladder:
    """A Ladder from the trials of each busy-kernel rung."""
    pts = sorted((statistics.median(t.e_ms * 1e3 for t in trials), calibrate(trials)) for trials in rungs if trials)
    return Ladder(tuple(pts))


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """§4.6 check thresholds (card parameters; the defaults are the spec's)."""

    fence_abs_us: float = 10.0
    fence_rel: float = 0.01
    fence_out_abs_us: float = 50.0
    fence_out_rel: float = 0.05
    env_abs_us: float = 20.0
    env_rel: float = 0.02
    env_out_abs_us: float = 100.0
    env_out_rel: float = 0.10
    stage_factor: float = 1.25
    stage_abs_us: float = 20.0
    outlier_frac: float = 0.05
    host_o_p99_us: float = 200.0       # §7.2 test 6: a host above these is too noisy for trusted timing
    host_phi_p99_us: float = 50.0


DEFAULT_THRESHOLDS = Thresholds()


def host_noise(cal: dict[str, Calibration], th: Thresholds = DEFAULT_THRESHOLDS) -> str | None:
    """Why this host's null-kernel calibration is too noisy to judge timings (None if it is fine).

    The checks compare a submission with the trusted null kernel; where the null kernel's own round
    trip or sync latency is this noisy (seen on a virtualised H100: o 185-428 µs), an honest kernel
    fails them by chance, so the verifier says the host is the problem instead of blaming the kernel.
    """
    worst_o = max(cal.items(), key=lambda kv: kv[1].o_p99_us or kv[1].o_us)
    worst_phi = max(cal.items(), key=lambda kv: kv[1].phi_p99_us)
    o = worst_o[1].o_p99_us or worst_o[1].o_us
    if o > th.host_o_p99_us:
        return (f"the harness round trip with a trusted null kernel has p99 {o:.0f} µs on {worst_o[0]} "
                f"(limit {th.host_o_p99_us:.0f} µs)")
    if worst_phi[1].phi_p99_us > th.host_phi_p99_us:
        return (f"the synchronisation latency with a trusted null kernel has p99 {worst_phi[1].phi_p99_us:.0f} µs "
                f"on {worst_phi[0]} (limit {th.host_phi_p99_us:.0f} µs)")
    return None


@dataclasses.dataclass(frozen=True)
class Slack:
    """Extra allowance (µs) on the envelope (``o``) and fence (``φ``) limits for a host that is over the
    noise limits but timed anyway (quick profile, or the check turned off). Zero on a quiet host."""

    o_us: float = 0.0
    phi_us: float = 0.0


def host_slack(cal: dict[str, Calibration], busy: Ladder | None = None) -> Slack:
    """How far the trusted calibration's own medians drift on this host: the spread (max - min) of ``o``
    and of the median ``φ`` over every null-kernel shape and busy-kernel rung, all measured before the
    submission is imported (so it cannot widen them). On the virtualised H100 the null kernel's ``o``
    moved between 187 and 351 µs from one shape to the next within one calibration, and honest kernels
    missed the spec's 20 µs envelope slack by that much; on a quiet host the spread is a few µs."""
    cals = list(cal.values()) + ([c for _, c in busy.points] if busy is not None else [])
    if len(cals) < 2:
        return Slack()
    o = [c.o_us for c in cals]
    phi = [c.phi_med_us for c in cals]
    return Slack(max(o) - min(o), max(phi) - min(phi))


def check_shape(trials: list[Trial], cal: Calibration, th: Thresholds = DEFAULT_THRESHOLDS,
                busy: Ladder | None = None, slack: Slack = Slack()) -> tuple[str | None, str, dict]:
    """Apply sanity, fence, envelope and staging to one shape's trials (the fence first: work left
    running after return also inflates the envelope, and its message says how to fix it). With a busy
    ladder, ``o`` and ``φ`` are those a trusted kernel of the reported median E paid (Ladder.at);
    ``slack`` (host_slack, noisy hosts only) is added to every envelope and fence limit.

    Returns (status or None, message, margins). Status is 'rejected' (sanity/fence) or
    'implausible-timing' (envelope/staging).
    """
    for i, t in enumerate(trials):
        vals = (t.e_ms, t.f_ms)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals) or not (
                0 < t.e_ms <= t.f_ms <= (t.t1 - t.t0) / 1e6):
            return ("implausible-timing", f"trial {i} reported inconsistent event times (E={t.e_ms!r} ms, "
                    f"F={t.f_ms!r} ms, wall {(t.t1 - t.t0) / 1e6:.3f} ms): the harness report is not credible", {})
    e_us = [t.e_ms * 1e3 for t in trials]
    med_e = statistics.median(e_us)
    cal = busy.at(med_e, cal) if busy is not None and busy.points else cal
    gap = [(t.f_ms - t.e_ms) * 1e3 for t in trials]
    env = [(t.t1 - t.t0) / 1e3 - e for t, e in zip(trials, e_us)]
    stage = [(t.t3 - t.t2) / 1e3 for t in trials]
    limit = max(1, math.floor(th.outlier_frac * len(trials)))     # "at most 5% of trials" (at least one)
    m = {"median_E_us": med_e, "o_us": cal.o_us, "phi_med_us": cal.phi_med_us, "fence_median_us": statistics.median(gap),
         "fence_limit_us": cal.phi_med_us + slack.phi_us + max(th.fence_abs_us, th.fence_rel * med_e),
         "envelope_median_us": statistics.median(env),
         "envelope_limit_us": cal.o_us + slack.o_us + max(th.env_abs_us, th.env_rel * med_e),
         "staging_median_us": statistics.median(stage), "staging_limit_us": th.stage_factor * cal.s_us + th.stage_abs_us}
    if slack.o_us or slack.phi_us:
        m["slack_o_us"], m["slack_phi_us"] = slack.o_us, slack.phi_us
    big_gap = sum(g > cal.phi_p99_us + slack.phi_us + max(th.fence_out_abs_us, th.fence_out_rel * e)
                  for g, e in zip(gap, e_us))
    big_env = sum(v > cal.o_us + slack.o_us + max(th.env_out_abs_us, th.env_out_rel * e) for v, e in zip(env, e_us))
    m["fence_outliers"], m["envelope_outliers"], m["outliers_allowed"] = big_gap, big_env, limit
    if m["fence_median_us"] > m["fence_limit_us"] or big_gap > limit:
        return ("rejected", f"Work was still running {m['fence_median_us']:.0f} µs after custom_kernel returned; "
                "join side streams to the current stream before returning.", m)
    if m["envelope_median_us"] > m["envelope_limit_us"] or big_env > limit:
        return ("implausible-timing", f"the coordinator's clock saw {m['envelope_median_us']:.0f} µs more per call "
                f"than the reported kernel time allows (limit {m['envelope_limit_us']:.0f} µs): reported times are "
                "too low or work ran outside the timed interval", m)
    if m["staging_median_us"] > m["staging_limit_us"]:
        return ("implausible-timing", f"copying the output took {m['staging_median_us']:.0f} µs (limit "
                f"{m['staging_limit_us']:.0f} µs): the output was still being written after the call returned", m)
    return None, "", m


def floor_check(means_us: list[float], floors_us: list[float]) -> tuple[str | None, str, bool]:
    """§4.8: (status or None, message, below_roofline)."""
    below = False
    for k, (m, f) in enumerate(zip(means_us, floors_us)):
        if not (math.isfinite(m) and m > 0):
            return "rejected", f"benchmark {k} has a non-finite or non-positive mean time ({m!r} µs).", False
        if m < 0.5 * f:
            return ("implausible-timing", f"Timing for benchmark {k} is implausible: mean {m:.1f} µs is below half "
                    f"the hardware floor ({f:.1f} µs).", False)
        below |= m < f
    return None, "", below
