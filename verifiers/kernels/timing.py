"""Pure timing arithmetic (docs/kernels.md#the-problem-and-its-cases, docs/kernels.md#one-call): floors, stop rule,
trusted checks, score.

No CUDA and no torch here: everything is plain numbers, so every rule is unit-tested on CPU with
synthetic streams.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable
from typing import Any

SCORE_SCALE = 3000.0


@dataclasses.dataclass(frozen=True)
class Device:
    """Datasheet constants of one GPU model (dense throughput = half the 'with sparsity' figure)."""

    names: tuple[str, ...]  # accepted torch/NVML device names
    bw_bytes_s: float  # peak HBM bandwidth
    p_low_flops: float  # highest dense tensor-core throughput in any format
    p_low_format: str
    gpu_mem_limit_bytes: int  # worker GPU memory limit (docs/kernels.md#the-submission-contract)


DEVICES = {
    "H100": Device(("NVIDIA H100 80GB HBM3",), 3.35e12, 1978.9e12, "FP8", 40 << 30),
    "H200": Device(("NVIDIA H200",), 4.8e12, 1978.9e12, "FP8", 40 << 30),
    "A100": Device(
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB"),
        2.039e12,
        624e12,
        "INT8",
        40 << 30,
    ),
    "B200": Device(("NVIDIA B200",), 8e12, 9e15, "FP4", 40 << 30),
}
#: A100 variants differ in bandwidth and memory (the floor follows the exact name).
A100_BW = {
    "NVIDIA A100-SXM4-80GB": 2.039e12,
    "NVIDIA A100 80GB PCIe": 1.935e12,
    "NVIDIA A100-SXM4-40GB": 1.555e12,
    "NVIDIA A100-PCIE-40GB": 1.555e12,
}
A100_40GB_MEM_LIMIT = 12 << 30


def floor_us(N: int, B: int, C: int, bw: float, p_low: float, H: int = 128) -> float:
    """docs/kernels.md#the-problem-and-its-cases: max(compulsory bytes / BW, (projections + contraction) FLOP / P_low),
    in µs."""
    bytes_ = 8 * B * N * N * C
    flops = 12 * B * N * N * C * H + 2 * B * H * N**3
    return max(bytes_ / bw, flops / p_low) * 1e6


def device_floor_us(device: Device, name: str, N: int, B: int, C: int) -> float:
    bw = A100_BW.get(name, device.bw_bytes_s)
    return floor_us(N, B, C, bw, device.p_low_flops)


def geomean(values: list[float]) -> float:
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise ValueError("geomean needs finite positive values")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def reward(status: str, geomean_us: float | None, cpu_pass_reward: float = 0.0) -> float:
    """docs/kernels.md#reward-and-statuses: 3000/geomean_us when accepted; cpu_pass_reward for a passed dev run;
    else 0."""
    if status == "accepted" and geomean_us and geomean_us > 0:
        return SCORE_SCALE / geomean_us
    if status == "unverified-timing":
        return float(cpu_pass_reward)
    return 0.0


# --- stop rule (docs/kernels.md#profiles) -----------------------------------------------------------------------------
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


def shape_stats(e_us: list[float]) -> dict[str, float]:
    n = len(e_us)
    mean = statistics.fmean(e_us)
    std = statistics.stdev(e_us) if n > 1 else 0.0
    return {
        "n": n,
        "mean": mean,
        "median": statistics.median(e_us),
        "std": std,
        "stderr": std / math.sqrt(n),
        "min": min(e_us),
        "max": max(e_us),
    }


# --- trusted checks (docs/kernels.md#one-call) ------------------------------------------------------------------------
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
    """Null-kernel statistics for one shape (µs): message round trip ``o``, sync latency ``φ``, staging copy.

    Medians are what the checks compare with. ``*_hi_us`` are Tukey far-out fences (q75 + 3·IQR): the
    per-call level above which a call counts as an outlier of this host, robust to a heavy tail (a p99
    of 10 calls is just their maximum). ``o_tail`` counts calls whose ``o`` exceeded the median by
    TAIL_US, the host's excursion rate. ``*_split_us`` is the median of the first half of the calls minus
    that of the second: how far this host's medians move between two sets of calls of one shape, which is
    what the checks compare (calibration now, the submission later). The p99 fields are reported, never
    gated on."""

    o_us: float
    phi_med_us: float
    phi_p99_us: float
    s_us: float
    o_p99_us: float | None = None
    n: int = 0
    o_iqr_us: float = 0.0
    phi_iqr_us: float = 0.0
    phi_hi_us: float | None = None
    o_tail: int = 0
    o_split_us: float = 0.0
    phi_split_us: float = 0.0

    @property
    def phi_fence_us(self) -> float:
        """The per-call φ outlier level: the far-out fence, or the p99 for hand-built calibrations."""
        return self.phi_hi_us if self.phi_hi_us is not None else self.phi_p99_us


#: A call whose round trip exceeds the calibration median by this much is an excursion (host tail).
TAIL_US = 100.0


def percentile(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        raise ValueError("no values")
    k = min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))
    return v[k]


def quartiles(values: list[float]) -> tuple[float, float]:
    """(q25, q75) by linear interpolation (statistics' 'inclusive' method)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def calibrate(trials: list[Trial]) -> Calibration:
    o = [(t.t1 - t.t0) / 1e3 - t.e_ms * 1e3 for t in trials]
    phi = [(t.f_ms - t.e_ms) * 1e3 for t in trials]
    s = [(t.t3 - t.t2) / 1e3 for t in trials]
    oq1, oq3 = quartiles(o)
    pq1, pq3 = quartiles(phi)
    o_med = statistics.median(o)
    h = len(trials) // 2
    o_split = statistics.median(o[:h]) - statistics.median(o[h:]) if h >= 2 else 0.0
    phi_split = statistics.median(phi[:h]) - statistics.median(phi[h:]) if h >= 2 else 0.0
    return Calibration(
        o_med,
        statistics.median(phi),
        percentile(phi, 0.99),
        statistics.median(s),
        percentile(o, 0.99),
        n=len(trials),
        o_iqr_us=oq3 - oq1,
        phi_iqr_us=pq3 - pq1,
        phi_hi_us=pq3 + 3 * (pq3 - pq1),
        o_tail=sum(v > o_med + TAIL_US for v in o),
        o_split_us=o_split,
        phi_split_us=phi_split,
    )


@dataclasses.dataclass(frozen=True)
class Ladder:
    """Overheads measured with a trusted *busy* kernel of known lengths, before the submission is imported.

    The null kernel of docs/kernels.md#one-call finishes before W waits, so its calibration never pays the wake-up of a
    thread (or a virtual CPU) that slept through a long kernel. On a virtualised H100 that wake-up made honest
    2-4 ms kernels read 100-250 µs over the null kernel's round trip. Each rung is the same protocol with
    a kernel that keeps the GPU busy for a fixed time (``torch.cuda._sleep``; a spin on the CPU), so the
    overhead an honest kernel of length E pays is measured, not assumed. ``points`` holds (median E in
    µs, that rung's calibration), ascending in E; ``targets`` the requested lengths (µs) in the same
    order, and ``e_iqr`` each rung's IQR of E (a busy kernel that runs long or unevenly means another
    context shares the GPU).
    """

    points: tuple[tuple[float, Calibration], ...]
    targets: tuple[float, ...] = ()
    e_iqr: tuple[float, ...] = ()
    base: Calibration | None = None

    def at(self, e_us: float, null: Calibration) -> Calibration:
        """The calibration for a kernel of (reported) length ``e_us`` on a shape whose null kernel gave
        ``null``: its overheads raised by what a busy kernel of that length paid over the null kernel
        on the ladder's own shape (``base``), linearly interpolated in E (flat beyond the longest rung).
        The rise is added, so a shape whose round trip differs from the ladder's shape keeps its own
        level. Without ``base`` the rungs' absolute figures are used (never below the shape's own).
        Looking up by the *reported* E means a worker that under-reports E only gets the null kernel's
        tighter limits."""
        if e_us <= 0:
            return null
        if self.base is None:
            pts = [(0.0, null), *self.points]
            o, pm = _interp(pts, e_us, lambda c: c.o_us), _interp(pts, e_us, lambda c: c.phi_med_us)
            hi = _interp(pts, e_us, lambda c: c.phi_fence_us)
            return dataclasses.replace(
                null, o_us=max(null.o_us, o), phi_med_us=max(null.phi_med_us, pm), phi_hi_us=max(null.phi_fence_us, hi)
            )
        pts = [(0.0, self.base), *self.points]
        b = self.base

        def rise(get: Callable[[Calibration], float]) -> float:
            return max(0.0, _interp(pts, e_us, get) - get(b))

        return dataclasses.replace(
            null,
            o_us=null.o_us + rise(lambda c: c.o_us),
            phi_med_us=null.phi_med_us + rise(lambda c: c.phi_med_us),
            phi_hi_us=null.phi_fence_us + rise(lambda c: c.phi_fence_us),
        )


def _interp(pts: list[tuple[float, Calibration]], x: float, get: Callable[[Calibration], float]) -> float:
    if x <= pts[0][0]:
        return get(pts[0][1])
    for (x0, c0), (x1, c1) in zip(pts, pts[1:]):
        if x <= x1:
            y0, y1 = get(c0), get(c1)
            return y0 if x1 <= x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return get(pts[-1][1])


def ladder(rungs: list[list[Trial]], targets_us: list[float] | None = None, base: Calibration | None = None) -> Ladder:
    """A Ladder from the trials of each busy-kernel rung (``targets_us``: each rung's requested length;
    ``base``: the null-kernel calibration of the shape the rungs ran on)."""
    rows = []
    for k, trials in enumerate(rungs):
        if trials:
            e = [t.e_ms * 1e3 for t in trials]
            q1, q3 = quartiles(e)
            rows.append((statistics.median(e), calibrate(trials), targets_us[k] if targets_us else 0.0, q3 - q1))
    rows.sort(key=lambda r: r[0])
    return Ladder(tuple((e, c) for e, c, _, _ in rows), tuple(r[2] for r in rows), tuple(r[3] for r in rows), base)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """docs/kernels.md#one-call check thresholds and the host gate's limits (card parameters; the check defaults are the
    spec's)."""

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
    # The host gate (HostProfile): robust statistics of the trusted calibration. A host over any of these
    # is `unstable` (`contended`: not timed). None of them is a per-call tail limit.
    host_o_body_us: float = 100.0  # IQR of the null round trip (median over shapes and rungs)
    host_phi_body_us: float = 40.0  # IQR of the null sync latency (median over shapes and rungs)
    host_drift_us: float = 60.0  # robust spread (1.4826·MAD) of the round trip's median between halves
    host_tail_rate: float = 0.10  # share of calibration calls more than TAIL_US over their median
    host_busy_len: float = 0.25  # |median E / requested length - 1| of a busy rung
    host_busy_cv: float = 0.05  # IQR / median of a busy rung's E
    # A host with no excursions, drift and body under these is `quiet` (timed with the spec's limits and no
    # second chance); over any, `noisy` (timed with the allowance, a shape that misses is timed once more).
    noisy_env_rel: float = 0.03  # on a noisy host the envelope's relative margin is this, not env_rel:
    # honest kernels there paid up to ~2% of E over the null kernel
    quiet_tail_rate: float = 0.0
    quiet_drift_us: float = 5.0
    quiet_body_us: float = 20.0
    outlier_cap_frac: float = 0.20  # the tail allowance never lets more than this share of trials out
    drift_z: float = 2.33  # one-sided 99% for the drift allowance


DEFAULT_THRESHOLDS = Thresholds()


@dataclasses.dataclass(frozen=True)
class Allowance:
    """What the per-shape checks allow for this host beyond the spec's margins, all measured by the trusted
    calibration: ``o_us`` and ``phi_us`` on the envelope and fence limits (drift_z times the robust spread
    of the medians' movement between halves of a calibration set, the same kind of difference the checks
    take between calibration and timing); ``tail_rate``, the host's excursion rate, from which the number
    of outlier trials allowed follows; and ``env_rel``, the envelope's relative margin on a noisy host
    (Thresholds.noisy_env_rel; 0 keeps the spec's). All zero on an ideal host."""

    o_us: float = 0.0
    phi_us: float = 0.0
    tail_rate: float = 0.0
    env_rel: float = 0.0


@dataclasses.dataclass(frozen=True)
class HostProfile:
    """The host's noise, from the trusted calibration only (null kernel per shape and busy-kernel rungs,
    all before the submission is imported), and the gate's decision.

    ``kind`` is ``quiet`` (no excursions, medians steady), ``noisy`` (a heavy tail or drifting medians,
    e.g. a virtual machine: timed, with the allowance below) or ``unstable`` (the robust statistics
    themselves are unreliable, e.g. another process using the GPU: not timed, `contended`)."""

    kind: str
    reasons: tuple[str, ...]
    calls: int
    o_median_us: float
    o_drift_us: float
    phi_drift_us: float
    o_body_us: float
    phi_body_us: float
    tail_calls: int
    tail_rate: float
    busy_len_err: float
    busy_cv: float
    allowance: Allowance

    def summary(self) -> str:
        return (
            f"{self.kind} host: round trip median {self.o_median_us:.0f} µs, drift {self.o_drift_us:.1f} µs, "
            f"body (IQR) {self.o_body_us:.0f} µs, sync body {self.phi_body_us:.1f} µs, excursions "
            f"{self.tail_calls}/{self.calls} calls (> {TAIL_US:.0f} µs over the median)"
        )

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["reasons"] = list(self.reasons)
        d["summary"] = self.summary()
        return d


def _drift_sd(splits: list[float]) -> float:
    """Robust standard deviation of half-to-half median differences (expected 0): 1.4826·median|d|."""
    return 1.4826 * statistics.median(abs(d) for d in splits) if splits else 0.0


def host_profile(
    cal: dict[str, Calibration], busy: Ladder | None = None, th: Thresholds = DEFAULT_THRESHOLDS
) -> HostProfile:
    """Judge the host from robust statistics of the trusted calibration (medians, IQRs, the excursion
    rate, the busy kernel's own length), never from a per-call p99: on a virtual H200 the p99 of 10
    null calls was 0.7-8 ms while the medians held at 164-197 µs. ``unstable`` when the body of the
    distribution (not its tail) is wide, the per-shape medians wander, excursions are common, or a
    trusted busy kernel runs long or unevenly (another context sharing the GPU)."""
    cals = list(cal.values())
    rungs = [c for _, c in busy.points] if busy is not None else []
    allc = cals + rungs
    calls = sum(c.n for c in allc)
    tail = sum(c.o_tail for c in allc)
    o_drift = _drift_sd([c.o_split_us for c in allc if c.n >= 4])
    phi_drift = _drift_sd([c.phi_split_us for c in allc if c.n >= 4])
    # The median over shapes and rungs of each set's IQR: a set of 10 calls with three excursions has a wild
    # IQR (a 1% tail does that to one calibration in a thousand), another context sharing the GPU widens all.
    o_body = statistics.median(c.o_iqr_us for c in allc) if allc else 0.0
    phi_body = statistics.median(c.phi_iqr_us for c in allc) if allc else 0.0
    rate = tail / calls if calls else 0.0
    len_err = cv = 0.0
    if busy is not None:
        for (e, _), target, iqr in zip(
            busy.points, busy.targets or (0.0,) * len(busy.points), busy.e_iqr or (0.0,) * len(busy.points)
        ):
            if target > 0:
                len_err = max(len_err, abs(e / target - 1.0))
            if e > 0:
                cv = max(cv, iqr / e)
    reasons = []
    if o_body > th.host_o_body_us:
        reasons.append(
            f"the null kernel's round trip varies by {o_body:.0f} µs between its quartiles "
            f"(median over shapes; limit {th.host_o_body_us:.0f} µs)"
        )
    if phi_body > th.host_phi_body_us:
        reasons.append(
            f"the synchronisation latency varies by {phi_body:.0f} µs between its quartiles "
            f"(median over shapes; limit {th.host_phi_body_us:.0f} µs)"
        )
    if o_drift > th.host_drift_us:
        reasons.append(
            f"the median round trip moves by {o_drift:.0f} µs between halves of one shape's "
            f"calibration (limit {th.host_drift_us:.0f} µs)"
        )
    if calls and rate > th.host_tail_rate:
        reasons.append(
            f"{tail} of {calls} calibration calls ({rate:.0%}) took over {TAIL_US:.0f} µs more than "
            f"the median (limit {th.host_tail_rate:.0%})"
        )
    if len_err > th.host_busy_len:
        reasons.append(f"a trusted busy kernel ran {len_err:.0%} off its length (limit {th.host_busy_len:.0%})")
    if cv > th.host_busy_cv:
        reasons.append(
            f"a trusted busy kernel's time varies by {cv:.1%} between its quartiles (limit {th.host_busy_cv:.0%})"
        )
    # A half-to-half difference already is the difference of two medians: the spread the envelope test sees
    # between the calibration's median and the submission's, on a host that does not drift further.
    if reasons:
        kind = "unstable"
    elif rate > th.quiet_tail_rate or o_drift > th.quiet_drift_us or o_body > th.quiet_body_us:
        kind = "noisy"
    else:
        kind = "quiet"
    allowance = Allowance(
        th.drift_z * o_drift,
        th.drift_z * phi_drift,
        (tail + 1) / (calls + 2) if calls else 0.0,
        th.noisy_env_rel if kind != "quiet" else 0.0,
    )
    return HostProfile(
        kind,
        tuple(reasons),
        calls,
        statistics.median([c.o_us for c in cals]) if cals else 0.0,
        o_drift,
        phi_drift,
        o_body,
        phi_body,
        tail,
        rate,
        len_err,
        cv,
        allowance,
    )


def host_noise(
    cal: dict[str, Calibration], th: Thresholds = DEFAULT_THRESHOLDS, busy: Ladder | None = None
) -> str | None:
    """Why this host is too unstable to judge timings (None if it can be timed): the reasons of
    host_profile, joined."""
    prof = host_profile(cal, busy, th)
    return "; ".join(prof.reasons) if prof.reasons else None


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p)."""
    return max(0.0, 1.0 - sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)))


def outliers_allowed(n: int, tail_rate: float, th: Thresholds = DEFAULT_THRESHOLDS) -> int:
    """Outlier trials one shape may have: the spec's "at most 5% of trials (at least one)", raised to
    what the host's own excursion rate makes likely (P(more) ≤ 0.1%), but never above
    ``outlier_cap_frac`` of the trials."""
    base = max(1, math.floor(th.outlier_frac * n))
    if tail_rate <= 0:
        return base
    k = 0
    while k < n and _binom_sf(k, n, min(tail_rate, 1.0)) > 1e-3:
        k += 1
    return max(base, min(k, max(1, math.ceil(th.outlier_cap_frac * n))))


def check_shape(
    trials: list[Trial],
    cal: Calibration,
    th: Thresholds = DEFAULT_THRESHOLDS,
    busy: Ladder | None = None,
    allowance: Allowance = Allowance(),
) -> tuple[str | None, str, dict[str, Any]]:
    """Apply sanity, fence, envelope and staging to one shape's trials (the fence first: work left
    running after return also inflates the envelope, and its message says how to fix it). With a busy
    ladder, ``o`` and ``φ`` are those a trusted kernel of the reported median E paid (Ladder.at);
    ``allowance`` (the host's, from host_profile) is added to every envelope and fence limit, and its tail rate sets
    how many outlier trials are allowed.

    Returns (status or None, message, margins). Status is 'rejected' (sanity/fence) or
    'implausible-timing' (envelope/staging).
    """
    for i, t in enumerate(trials):
        vals = (t.e_ms, t.f_ms)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals) or not (
            0 < t.e_ms <= t.f_ms <= (t.t1 - t.t0) / 1e6
        ):
            return (
                "implausible-timing",
                f"trial {i} reported inconsistent event times (E={t.e_ms!r} ms, "
                f"F={t.f_ms!r} ms, wall {(t.t1 - t.t0) / 1e6:.3f} ms): the harness report is not credible",
                {},
            )
    e_us = [t.e_ms * 1e3 for t in trials]
    med_e = statistics.median(e_us)
    cal = busy.at(med_e, cal) if busy is not None and busy.points else cal
    gap = [(t.f_ms - t.e_ms) * 1e3 for t in trials]
    env = [(t.t1 - t.t0) / 1e3 - e for t, e in zip(trials, e_us)]
    stage = [(t.t3 - t.t2) / 1e3 for t in trials]
    limit = outliers_allowed(len(trials), allowance.tail_rate, th)
    m: dict[str, Any] = {
        "median_E_us": med_e,
        "o_us": cal.o_us,
        "phi_med_us": cal.phi_med_us,
        "fence_median_us": statistics.median(gap),
        "fence_limit_us": cal.phi_med_us + allowance.phi_us + max(th.fence_abs_us, th.fence_rel * med_e),
        "envelope_median_us": statistics.median(env),
        "envelope_limit_us": cal.o_us + allowance.o_us + max(th.env_abs_us, max(th.env_rel, allowance.env_rel) * med_e),
        "staging_median_us": statistics.median(stage),
        "staging_limit_us": th.stage_factor * cal.s_us + th.stage_abs_us,
    }
    if allowance != Allowance():
        m["allowance"] = dataclasses.asdict(allowance)
    big_gap = sum(
        g > cal.phi_fence_us + allowance.phi_us + max(th.fence_out_abs_us, th.fence_out_rel * e)
        for g, e in zip(gap, e_us)
    )
    big_env = sum(v > cal.o_us + allowance.o_us + max(th.env_out_abs_us, th.env_out_rel * e) for v, e in zip(env, e_us))
    m["fence_outliers"], m["envelope_outliers"], m["outliers_allowed"] = big_gap, big_env, limit
    if m["fence_median_us"] > m["fence_limit_us"] or big_gap > limit:
        return (
            "rejected",
            f"Work was still running {m['fence_median_us']:.0f} µs after custom_kernel returned; "
            "join side streams to the current stream before returning.",
            m,
        )
    if m["envelope_median_us"] > m["envelope_limit_us"] or big_env > limit:
        return (
            "implausible-timing",
            f"the coordinator's clock saw {m['envelope_median_us']:.0f} µs more per call "
            f"than the reported kernel time allows (limit {m['envelope_limit_us']:.0f} µs): reported times are "
            "too low or work ran outside the timed interval",
            m,
        )
    if m["staging_median_us"] > m["staging_limit_us"]:
        return (
            "implausible-timing",
            f"copying the output took {m['staging_median_us']:.0f} µs (limit "
            f"{m['staging_limit_us']:.0f} µs): the output was still being written after the call returned",
            m,
        )
    return None, "", m


def floor_check(means_us: list[float], floors_us: list[float]) -> tuple[str | None, str, bool]:
    """docs/kernels.md#the-problem-and-its-cases: (status or None, message, below_roofline)."""
    below = False
    for k, (m, f) in enumerate(zip(means_us, floors_us)):
        if not (math.isfinite(m) and m > 0):
            return "rejected", f"benchmark {k} has a non-finite or non-positive mean time ({m!r} µs).", False
        if m < 0.5 * f:
            return (
                "implausible-timing",
                f"Timing for benchmark {k} is implausible: mean {m:.1f} µs is below half "
                f"the hardware floor ({f:.1f} µs).",
                False,
            )
        below |= m < f
    return None, "", below
