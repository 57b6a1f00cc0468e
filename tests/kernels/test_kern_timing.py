"""Timing arithmetic on synthetic numbers."""

import dataclasses
import math

import pytest

from verifiers.kernels import timing


def test_geomean_of_the_h100_floors():
    # exp(mean(log)) by hand: logs 3.6914 5.1946 4.7892 4.3833 5.7699 6.2932 6.8686 → mean 5.2843 → 197.2
    assert timing.geomean([40.1, 180.3, 120.2, 80.1, 320.5, 540.9, 961.6]) == pytest.approx(197.2, abs=0.1)
    for bad in ([1.0, 0.0], [1.0, math.nan], [1.0, -2.0], []):
        with pytest.raises(ValueError):
            timing.geomean(bad)


# (N, B, C) → H100 floor µs from the spec's table (docs/kernels.md#the-problem-and-its-cases), typed here.
H100_TABLE = [
    ((256, 2, 128), 40.1),
    ((768, 1, 128), 180.3),
    ((256, 2, 384), 120.2),
    ((512, 1, 128), 80.1),
    ((1024, 1, 128), 320.5),
    ((768, 1, 384), 540.9),
    ((1024, 1, 384), 961.6),
]


def test_floor_table_h100_from_formula():
    # #0 by hand: 8·2·256²·128 B = 134,217,728 B / 3.35e12 B/s = 40.06 µs (memory-bound; fp8 compute 17.4 µs).
    assert 134_217_728 / 3.35e12 * 1e6 == pytest.approx(40.06, abs=0.01)
    h100 = timing.DEVICES["H100"]
    floors = []
    for (N, B, C), expected in H100_TABLE:
        got = timing.device_floor_us(h100, h100.names[0], N, B, C)
        assert got == pytest.approx(expected, abs=0.06)
        floors.append(got)
    assert timing.geomean(floors) == pytest.approx(197.2, abs=0.1)
    # Other devices' geomean floors (docs/kernels.md#the-problem-and-its-cases table).
    for key, name, gm in (
        ("H200", "NVIDIA H200", 139.3),
        ("A100", "NVIDIA A100-SXM4-80GB", 355.7),
        ("A100", "NVIDIA A100 80GB PCIe", 366.9),
        ("A100", "NVIDIA A100-PCIE-40GB", 431.6),
        ("B200", "NVIDIA B200", 82.6),
    ):
        d = timing.DEVICES[key]
        assert timing.geomean([timing.device_floor_us(d, name, *s) for s, _ in H100_TABLE]) == pytest.approx(
            gm, abs=0.15
        )


def test_floor_bands_and_underflow():
    floors = [f for _, f in H100_TABLE]
    ok = [3 * f for f in floors]
    assert timing.floor_check(ok, floors) == (None, "", False)
    under = ok[:]
    under[3] = 1e-3  # geomean underflow attack
    status, msg, _ = timing.floor_check(under, floors)
    assert status == "implausible-timing" and "benchmark 3" in msg and "80.1" in msg
    below = ok[:]
    below[2] = 0.6 * floors[2]
    assert timing.floor_check(below, floors) == (None, "", True)
    for bad in (math.nan, 0.0, -1.0, math.inf):
        x = ok[:]
        x[0] = bad
        assert timing.floor_check(x, floors)[0] == "rejected"


def test_reward_transform():
    assert timing.reward("accepted", 1161) == pytest.approx(2.584, abs=5e-4)
    assert timing.reward("accepted", 1371) == pytest.approx(2.188, abs=5e-4)
    assert timing.reward("accepted", 1000) == 3.0
    assert timing.reward("accepted", 197.2) == pytest.approx(15.2, abs=0.05)
    for status in (
        "rejected",
        "implausible-timing",
        "timeout",
        "memory",
        "crashed",
        "contended",
        "error",
        "uncheckable-on-cpu",
    ):
        assert timing.reward(status, None) == 0.0
    assert timing.reward("unverified-timing", None) == 0.0
    assert timing.reward("unverified-timing", None, cpu_pass_reward=0.1) == 0.1


def test_stop_rule_on_synthetic_streams():
    full, quick = timing.PROFILES["full"], timing.PROFILES["quick"]
    const = [1e-3] * 200
    n = next(k for k in range(1, 201) if timing.should_stop(const[:k], 0.0, full))
    assert n == 10 and timing.should_stop(const[:10], 0.0, full) == "stderr"
    assert next(k for k in range(1, 201) if timing.should_stop(const[:k], 0.0, quick)) == 5
    noisy = [1e-3 * (1 + (0.5 if k % 2 else -0.5)) for k in range(200)]  # rel. stderr ≫ 0.1%
    assert next(k for k in range(1, 201) if timing.should_stop(noisy[:k], 0.0, full)) == 100
    assert timing.should_stop(noisy[:100], 0.0, full) == "max_trials"
    big = [0.5 + 0.1 * (k % 2) for k in range(100)]  # Σ E ≥ 30 s after 55 trials
    k = next(k for k in range(1, 101) if timing.should_stop(big[:k], 0.0, full))
    assert timing.should_stop(big[:k], 0.0, full) == "kernel_cap" and sum(big[:k]) >= 30 > sum(big[: k - 1])
    assert timing.should_stop(noisy[:12], 120.0, full) == "wall_cap"
    assert timing.should_stop(noisy[:12], 119.0, full) is None


def _stream(
    n=40,
    e_us=500.0,
    o_us=150.0,
    phi_us=5.0,
    s_us=300.0,
    *,
    e_scale=1.0,
    hidden_us=0.0,
    late_us=0.0,
    cheat_every=None,
    cheat_scale=1.0,
):
    """Synthetic (E, F, T0…T3): honest when every knob is at its default. Times in µs; clocks in ns."""
    trials, t = [], 0
    for k in range(n):
        real_e = e_us
        scale = cheat_scale if cheat_every and k % cheat_every == 0 else e_scale
        e = real_e * scale
        f = e + phi_us + hidden_us
        wall = real_e + hidden_us + o_us + (k % 3)  # P's clock: real kernel + overhead
        t0 = t
        t1 = t0 + int(wall * 1e3)
        t2 = t1 + 1000
        t3 = t2 + int((s_us + late_us) * 1e3)
        trials.append(timing.Trial(e / 1e3, f / 1e3, t0, t1, t2, t3))
        t = t3 + 10_000
    return trials


CAL = timing.Calibration(o_us=150.0, phi_med_us=5.0, phi_p99_us=8.0, s_us=300.0)


def test_checks_on_synthetic_streams():
    assert timing.check_shape(_stream(), CAL)[0] is None
    status, msg, m = timing.check_shape(_stream(e_scale=0.01), CAL)  # E/100 (patched timer)
    assert status == "implausible-timing" and m["envelope_median_us"] > m["envelope_limit_us"]
    status, msg, m = timing.check_shape(_stream(hidden_us=400.0), CAL)  # unjoined work, honest harness
    assert status == "rejected" and msg.startswith("Work was still running") and "join side streams" in msg
    assert m["envelope_median_us"] > m["envelope_limit_us"]  # the envelope sees it too
    status, msg, _ = timing.check_shape(_stream(late_us=500.0), CAL)  # `timed` sent early
    assert status == "implausible-timing" and "copying the output" in msg
    bad = _stream()
    bad[3] = timing.Trial(-1.0, 1.0, bad[3].t0, bad[3].t1, bad[3].t2, bad[3].t3)
    assert timing.check_shape(bad, CAL)[0] == "implausible-timing"
    nan = _stream()
    nan[0] = timing.Trial(math.nan, 1.0, nan[0].t0, nan[0].t1, nan[0].t2, nan[0].t3)
    assert timing.check_shape(nan, CAL)[0] == "implausible-timing"


def test_five_percent_cheat_tolerated_exactly_up_to_the_bound():
    """Under-reporting E on ≤ 5% of 40 trials (2) stays below the outlier limit; on 3 trials it fails."""
    two = _stream(n=40, cheat_every=20, cheat_scale=0.5)  # trials 0 and 20: E halved (250 µs hidden)
    status, _, m = timing.check_shape(two, CAL)
    assert status is None and m["envelope_outliers"] == 2 and m["outliers_allowed"] == 2
    three = _stream(n=40, cheat_every=14, cheat_scale=0.5)  # trials 0, 14, 28
    assert timing.check_shape(three, CAL)[0] == "implausible-timing"


def test_calibration_from_null_trials():
    cal = timing.calibrate(_stream(n=31, e_us=2.0, o_us=120.0, phi_us=3.0, s_us=200.0))
    assert cal.o_us == pytest.approx(121.0, abs=1.01) and cal.phi_med_us == pytest.approx(3.0)
    assert cal.s_us == pytest.approx(200.0, abs=0.01)


def _calls(o_us: list[float], phi_us: list[float], e_us: float = 2.0) -> list:
    """Null-kernel trials with exactly these round trips and sync gaps (µs)."""
    out, t = [], 0
    for o, p in zip(o_us, phi_us):
        t1 = t + round((e_us + o) * 1e3)
        out.append(timing.Trial(e_us / 1e3, (e_us + p) / 1e3, t, t1, t1 + 1000, t1 + 301_000))
        t = t1 + 400_000
    return out


def test_calibration_keeps_robust_statistics_of_a_heavy_tail():
    """Ten calls, one of them a 1.1 ms excursion (as the first call per shape was on the virtual H200). By hand:
    median (108+110)/2 = 109; inclusive quartiles at positions 2.25 and 6.75: 104.5 and 113.5, IQR 9; one call
    more than 100 µs over the median; halves' medians 104 and 114, split −10. The p99 is the excursion."""
    o = [100, 102, 104, 106, 108, 110, 112, 114, 116, 1100]
    phi = [3, 3, 3, 3, 3, 4, 4, 4, 4, 50]
    cal = timing.calibrate(_calls(o, phi))
    assert cal.n == 10 and cal.o_us == pytest.approx(109.0) and cal.o_iqr_us == pytest.approx(9.0)
    assert cal.o_tail == 1 and cal.o_split_us == pytest.approx(-10.0) and cal.o_p99_us == pytest.approx(1100.0)
    # φ: median 3.5, quartiles 3 and 4 (positions 2.25, 6.75), far-out fence 4 + 3·1 = 7; split 3 − 4 = −1.
    assert cal.phi_med_us == pytest.approx(3.5) and cal.phi_iqr_us == pytest.approx(1.0)
    assert cal.phi_fence_us == pytest.approx(7.0) and cal.phi_split_us == pytest.approx(-1.0)
    assert cal.s_us == pytest.approx(300.0)
    # A hand-built calibration without the robust fields falls back to its p99 for the per-call φ level.
    assert timing.Calibration(150.0, 5.0, 8.0, 300.0).phi_fence_us == 8.0


def _cal(o=150.0, iqr=4.0, split=1.0, tail=0, n=10, phi=5.0, phi_iqr=1.0, phi_split=0.5):
    return timing.Calibration(
        o,
        phi,
        phi + 3,
        300.0,
        o_p99_us=o + 1000 * tail,
        n=n,
        o_iqr_us=iqr,
        phi_iqr_us=phi_iqr,
        phi_hi_us=phi + 4 * phi_iqr,
        o_tail=tail,
        o_split_us=split,
        phi_split_us=phi_split,
    )


def test_host_profile_tells_quiet_noisy_and_unstable_hosts_apart():
    """The host gate reads medians, IQRs and excursion counts of the trusted calibration, never a p99."""
    quiet = {f"b{k}": _cal(split=s) for k, s in enumerate([1.0, -1.0, 2.0])}
    prof = timing.host_profile(quiet)
    # drift 1.4826·median(1, 1, 2) = 1.4826 µs; allowance 2.33× that; tail rate (0+1)/(30+2).
    assert prof.kind == "quiet" and prof.reasons == () and prof.calls == 30
    assert prof.o_drift_us == pytest.approx(1.4826) and prof.allowance.o_us == pytest.approx(2.33 * 1.4826)
    assert prof.allowance.tail_rate == pytest.approx(1 / 32) and timing.host_noise(quiet) is None
    assert prof.allowance.env_rel == 0.0  # a quiet host keeps the spec's 2%
    # A virtual machine: 0.7-8 ms excursions (p99s far over the old 200 µs limit) on two shapes, medians steady
    # within ~10 µs. Noisy, timed: drift 1.4826·median(10, 8, 6, 12, 4, 9, 7) = 1.4826·8 = 11.86 µs.
    splits = [10.0, -8.0, 6.0, -12.0, 4.0, 9.0, -7.0]
    vm = {f"b{k}": _cal(o=170.0 + k, iqr=17.0, split=s, tail=int(k < 2)) for k, s in enumerate(splits)}
    prof = timing.host_profile(vm)
    assert prof.kind == "noisy" and prof.reasons == () and prof.tail_calls == 2
    assert prof.allowance.o_us == pytest.approx(2.33 * 1.4826 * 8) and prof.allowance.tail_rate == pytest.approx(3 / 72)
    assert prof.o_median_us == 173.0 and "noisy host" in prof.summary() and prof.as_dict()["kind"] == "noisy"
    assert prof.allowance.env_rel == timing.DEFAULT_THRESHOLDS.noisy_env_rel == 0.03
    # Another process time-slicing the GPU: every set's body is wide (median IQR 900 µs) and a third of the calls
    # are excursions; both are reasons, and host_noise joins them.
    shared = {f"b{k}": _cal(iqr=900.0 - k, split=s, tail=4) for k, s in enumerate(splits)}
    prof = timing.host_profile(shared)
    assert prof.kind == "unstable" and len(prof.reasons) == 2
    assert "897 µs between its quartiles" in prof.reasons[0] and "28 of 70 calibration calls (40%)" in prof.reasons[1]
    assert timing.host_noise(shared) == "; ".join(prof.reasons)
    # One wild set of ten (three excursions) does not make a host unstable; medians wandering between halves do.
    one_wild = dict(vm, b0=_cal(iqr=950.0, split=10.0, tail=3))
    assert timing.host_profile(one_wild).kind == "noisy"
    wander = {f"b{k}": _cal(split=s) for k, s in enumerate([80.0, -70.0, 90.0])}  # 1.4826·80 = 119 µs
    assert "moves by 119 µs between halves" in timing.host_noise(wander)
    wide_sync = {f"b{k}": _cal(phi_iqr=45.0) for k in range(3)}
    assert "synchronisation latency varies by 45 µs" in timing.host_noise(wide_sync)


def test_host_profile_reads_the_busy_kernels_own_length():
    """A trusted busy kernel asked for 1000 µs that takes 1300 µs (30% long, limit 25%), or varies by 8% between
    its quartiles (limit 5%), means another context shares the GPU."""
    cal = {"b0": _cal()}
    rung = _stream(n=10, e_us=1300.0, o_us=150.0)
    prof = timing.host_profile(cal, timing.ladder([rung], [1000.0], base=cal["b0"]))
    assert (
        prof.kind == "unstable"
        and prof.busy_len_err == pytest.approx(0.3)
        and "ran 30% off its length" in prof.reasons[0]
    )
    uneven = [
        timing.Trial(e / 1e3, (e + 5) / 1e3, k * 10**7, k * 10**7 + round((e + 150) * 1e3), 0, 300_000)
        for k, e in enumerate([920, 940, 960, 980, 1000, 1000, 1020, 1040, 1060, 1080])
    ]
    # Inclusive quartiles at positions 2.25 and 6.75: 965 and 1035; IQR 70 / median 1000 = 7%.
    prof = timing.host_profile(cal, timing.ladder([uneven], [1000.0], base=cal["b0"]))
    assert prof.busy_cv == pytest.approx(0.07) and "varies by 7.0% between its quartiles" in prof.reasons[0]
    assert timing.host_profile(cal, timing.ladder([_stream(n=10, e_us=1000.0)], [1000.0], base=cal["b0"])).reasons == ()


def test_outlier_allowance_follows_the_hosts_excursion_rate():
    """With excursion rate p, the allowed outliers k are the fewest with P(Binomial(n, p) > k) ≤ 0.1%. n = 30,
    p = 0.02, by hand: P(X ≤ 3) = 0.5455 + 0.3340 + 0.0988 + 0.0188 = 0.9971 (P(>3) = 0.29%), P(X ≤ 4) adds
    0.0026 (P(>4) = 0.030%): k = 4. Never under the spec's 5% (at least one), never over 20%."""
    assert timing.outliers_allowed(30, 0.02) == 4
    assert timing.outliers_allowed(40, 0.0) == 2 and timing.outliers_allowed(10, 0.0) == 1
    assert timing.outliers_allowed(20, 0.5) == 4  # capped at ceil(0.2·20)
    assert timing._binom_sf(4, 30, 0.02) == pytest.approx(3.0e-4, rel=0.01)
    scipy_stats = pytest.importorskip("scipy.stats")
    for n, p in [(30, 0.02), (100, 0.01), (10, 0.05)]:
        for k in range(6):
            assert timing._binom_sf(k, n, p) == pytest.approx(scipy_stats.binom.sf(k, n, p), abs=1e-12)


def _busy_ladder(o_by_e: dict, phi_us=5.0):
    """A ladder as the coordinator builds it: one synthetic rung of trusted busy-kernel trials per E."""
    return timing.ladder([_stream(n=15, e_us=e, o_us=o, phi_us=phi_us) for e, o in o_by_e.items()])


# A host whose wake-up after a long wait costs more than after a null kernel (seen on a virtualised H100:
# null round trip ≈ 300 µs, 461-532 µs after 2-4 ms kernels). Rung overheads are + (k % 3) µs jitter.
SLOW_WAKE = {250.0: 320.0, 1000.0: 450.0, 4000.0: 480.0, 16000.0: 490.0}
NULL_300 = timing.Calibration(o_us=300.0, phi_med_us=5.0, phi_p99_us=8.0, s_us=300.0)


def test_busy_ladder_interpolates_overheads_by_reported_e():
    busy = _busy_ladder(SLOW_WAKE)
    assert [round(e) for e, _ in busy.points] == [250, 1000, 4000, 16000]
    # Rung medians are o + 1 (median of the 0/1/2 jitter); between rungs linear in E, flat beyond.
    assert busy.at(2000.0, NULL_300).o_us == pytest.approx(451 + (481 - 451) * 1000 / 3000)  # 461
    assert busy.at(16000.0, NULL_300).o_us == pytest.approx(491.0)
    assert busy.at(1e6, NULL_300).o_us == pytest.approx(491.0)
    assert busy.at(125.0, NULL_300).o_us == pytest.approx((300 + 321) / 2)  # from the null point (E = 0)
    assert busy.at(0.0, NULL_300) == NULL_300
    # Never below the null kernel's own figures; staging and the null p99 stay the shape's.
    fast = _busy_ladder({1000.0: 100.0})
    got = fast.at(1000.0, NULL_300)
    assert got.o_us == 300.0 and got.s_us == 300.0 and got.o_p99_us == NULL_300.o_p99_us


def test_busy_ladder_accepts_slow_wakeups_and_still_catches_cheats():
    """An honest 2 ms kernel on the slow-wake host fails the envelope against the null kernel alone
       (470 µs seen, limit 300 + 40) and passes with the busy ladder (limit 461 + 40); the cheats of
    still fail with it."""
    busy = _busy_ladder(SLOW_WAKE)
    honest = _stream(e_us=2000.0, o_us=470.0, phi_us=5.0)
    status, _, m = timing.check_shape(honest, NULL_300)
    assert status == "implausible-timing" and m["envelope_limit_us"] == pytest.approx(340.0)
    status, _, m = timing.check_shape(honest, NULL_300, busy=busy)
    assert status is None and m["envelope_limit_us"] == pytest.approx(461 + 40) and m["o_us"] == pytest.approx(461)
    # E/100: looked up at the reported 20 µs, the limit is the null kernel's (≈ 300 + 1.7 + 20).
    status, _, m = timing.check_shape(_stream(e_us=2000.0, o_us=470.0, e_scale=0.01), NULL_300, busy=busy)
    assert status == "implausible-timing" and m["envelope_limit_us"] < 325
    status, msg, _ = timing.check_shape(_stream(e_us=2000.0, o_us=470.0, hidden_us=400.0), NULL_300, busy=busy)
    assert status == "rejected" and "join side streams" in msg
    status, msg, _ = timing.check_shape(_stream(e_us=2000.0, o_us=470.0, late_us=500.0), NULL_300, busy=busy)
    assert status == "implausible-timing" and "copying the output" in msg
    # A worker over-reporting E to reach a longer rung breaks the sanity check (E > P's clock) instead.
    status, _, _ = timing.check_shape(_stream(e_us=2000.0, o_us=470.0, e_scale=8.0), NULL_300, busy=busy)
    assert status == "implausible-timing"


def test_gpu_memory_watch_sees_a_peak_freed_within_one_call(monkeypatch):
    """docs/kernels.md#the-submission-contract: the worker's GPU memory is sampled every 50 ms, not only read
    after each call, so an allocation made and freed inside one call is still counted (NVML replaced by a
    scripted sequence)."""
    import threading

    from verifiers.kernels import reference

    script = iter([1 << 30, 70 << 30] + [2 << 30] * 10_000)  # one transient 70 GiB sample
    lock = threading.Lock()

    def fake(index, pid):
        with lock:
            return next(script)

    monkeypatch.setattr(reference, "worker_memory", fake)
    w = reference.MemoryWatch(0, 1234, period_s=0.001)
    try:
        while w.samples < 5:
            threading.Event().wait(0.005)
        assert w.take() == 70 << 30  # the peak, though NVML now says 2 GiB
        assert w.take() == 2 << 30  # reset after each take
    finally:
        w.stop()
    monkeypatch.setattr(reference, "worker_memory", lambda index, pid: None)
    w = reference.MemoryWatch(0, 1234, period_s=0.001)
    try:
        assert w.take() is None  # NVML cannot tell (some VMs): no number is invented
    finally:
        w.stop()


def test_busy_ladder_adds_its_rise_to_each_shapes_own_level():
    """With ``base`` (the null calibration of the ladder's shape), a rung's overhead counts as a rise over that base,
    added to the shape's own null level, so a shape whose round trip sits 150 µs higher keeps its level. By hand:
    rung at 1000 µs has o 250 + 1 (jitter median), base 151: rise 100; halfway to E = 500, rise 50."""
    base = timing.Calibration(o_us=151.0, phi_med_us=5.0, phi_p99_us=8.0, s_us=300.0)
    busy = timing.ladder([_stream(n=15, e_us=1000.0, o_us=250.0)], [1000.0], base=base)
    assert busy.at(1000.0, NULL_300).o_us == pytest.approx(400.0)
    assert busy.at(500.0, NULL_300).o_us == pytest.approx(350.0)
    assert busy.at(0.0, NULL_300).o_us == pytest.approx(300.0) and busy.at(1e6, NULL_300).o_us == pytest.approx(400.0)
    below = timing.ladder([_stream(n=15, e_us=1000.0, o_us=100.0)], [1000.0], base=base)
    assert below.at(1000.0, NULL_300).o_us == pytest.approx(300.0)  # a rung under the base: no rise, never less


def test_host_allowance_widens_limits_and_still_catches_cheats():
    """The allowance (what host_profile measured) is added to every envelope and fence limit. The Triton case seen
    on a virtualised H100: a 1316 µs kernel, o 194 µs at its shape, 100 µs more wall time than the null kernel."""
    honest = _stream(e_us=1316.0, o_us=296.0, phi_us=5.0)
    null = timing.Calibration(194.0, 5.0, 8.0, 300.0)
    status, _, m = timing.check_shape(honest, null)
    assert status == "implausible-timing" and m["envelope_limit_us"] == pytest.approx(194 + 26.32)
    allowance = timing.Allowance(164.0, 13.0, 0.02)
    status, _, m = timing.check_shape(honest, null, allowance=allowance)
    assert status is None and m["envelope_limit_us"] == pytest.approx(194 + 164 + 26.32)
    assert m["fence_limit_us"] == pytest.approx(5 + 13 + 13.16) and m["allowance"]["o_us"] == 164.0
    assert (
        m["outliers_allowed"] == timing.outliers_allowed(40, 0.02) == 5 and m["allowance"]["tail_rate"] == 0.02
    )  # P(>4) = 0.10%
    # A noisy host's relative envelope margin: max(20 µs, 3% of 1316 µs = 39.48 µs) instead of 2% (26.32 µs).
    _, _, m = timing.check_shape(honest, null, allowance=dataclasses.replace(allowance, env_rel=0.03))
    assert m["envelope_limit_us"] == pytest.approx(194 + 164 + 39.48)
    # Cheats beyond the allowance still fail: E/100, and 400 µs of unjoined work.
    assert (
        timing.check_shape(_stream(e_us=1316.0, o_us=296.0, e_scale=0.01), null, allowance=allowance)[0]
        == "implausible-timing"
    )
    assert (
        timing.check_shape(_stream(e_us=1316.0, o_us=296.0, hidden_us=400.0), null, allowance=allowance)[0]
        == "rejected"
    )
