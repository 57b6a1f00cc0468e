"""Timing arithmetic (specs/kernels.md §7.1 tests 8–10, 12, 13; §6 item 15) on synthetic numbers."""

import math

import pytest

from verifiers.kernels import timing


def test_geomean_of_the_h100_floors():
    # exp(mean(log)) by hand: logs 3.6914 5.1946 4.7892 4.3833 5.7699 6.2932 6.8686 → mean 5.2843 → 197.2
    assert timing.geomean([40.1, 180.3, 120.2, 80.1, 320.5, 540.9, 961.6]) == pytest.approx(197.2, abs=0.1)
    for bad in ([1.0, 0.0], [1.0, math.nan], [1.0, -2.0], []):
        with pytest.raises(ValueError):
            timing.geomean(bad)


# (N, B, C) → H100 floor µs from the spec's table (§1.6), typed here.
H100_TABLE = [((256, 2, 128), 40.1), ((768, 1, 128), 180.3), ((256, 2, 384), 120.2), ((512, 1, 128), 80.1),
              ((1024, 1, 128), 320.5), ((768, 1, 384), 540.9), ((1024, 1, 384), 961.6)]


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
    # Other devices' geomean floors (§1.6 table).
    for key, name, gm in (("H200", "NVIDIA H200", 139.3), ("A100", "NVIDIA A100-SXM4-80GB", 355.7),
                          ("A100", "NVIDIA A100 80GB PCIe", 366.9), ("A100", "NVIDIA A100-PCIE-40GB", 431.6),
                          ("B200", "NVIDIA B200", 82.6)):
        d = timing.DEVICES[key]
        assert timing.geomean([timing.device_floor_us(d, name, *s) for s, _ in H100_TABLE]) == pytest.approx(gm, abs=0.15)


def test_floor_bands_and_underflow():
    floors = [f for _, f in H100_TABLE]
    ok = [3 * f for f in floors]
    assert timing.floor_check(ok, floors) == (None, "", False)
    under = ok[:]
    under[3] = 1e-3                                        # geomean underflow attack (§6 item 15)
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
    for status in ("rejected", "implausible-timing", "timeout", "memory", "crashed", "contended", "error",
                   "uncheckable-on-cpu"):
        assert timing.reward(status, None) == 0.0
    assert timing.reward("unverified-timing", None) == 0.0
    assert timing.reward("unverified-timing", None, cpu_pass_reward=0.1) == 0.1


def test_stop_rule_on_synthetic_streams():
    full, quick = timing.PROFILES["full"], timing.PROFILES["quick"]
    const = [1e-3] * 200
    n = next(k for k in range(1, 201) if timing.should_stop(const[:k], 0.0, full))
    assert n == 10 and timing.should_stop(const[:10], 0.0, full) == "stderr"
    assert next(k for k in range(1, 201) if timing.should_stop(const[:k], 0.0, quick)) == 5
    noisy = [1e-3 * (1 + (0.5 if k % 2 else -0.5)) for k in range(200)]   # rel. stderr ≫ 0.1%
    assert next(k for k in range(1, 201) if timing.should_stop(noisy[:k], 0.0, full)) == 100
    assert timing.should_stop(noisy[:100], 0.0, full) == "max_trials"
    big = [0.5 + 0.1 * (k % 2) for k in range(100)]                      # Σ E ≥ 30 s after 55 trials
    k = next(k for k in range(1, 101) if timing.should_stop(big[:k], 0.0, full))
    assert timing.should_stop(big[:k], 0.0, full) == "kernel_cap" and sum(big[:k]) >= 30 > sum(big[:k - 1])
    assert timing.should_stop(noisy[:12], 120.0, full) == "wall_cap"
    assert timing.should_stop(noisy[:12], 119.0, full) is None


def _stream(n=40, e_us=500.0, o_us=150.0, phi_us=5.0, s_us=300.0, *, e_scale=1.0, hidden_us=0.0, late_us=0.0,
            cheat_every=None, cheat_scale=1.0):
    """Synthetic (E, F, T0…T3): honest when every knob is at its default. Times in µs; clocks in ns."""
    trials, t = [], 0
    for k in range(n):
        real_e = e_us
        scale = cheat_scale if cheat_every and k % cheat_every == 0 else e_scale
        e = real_e * scale
        f = e + phi_us + hidden_us
        wall = real_e + hidden_us + o_us + (k % 3)            # P's clock: real kernel + overhead
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
    status, msg, m = timing.check_shape(_stream(e_scale=0.01), CAL)            # E/100 (patched timer)
    assert status == "implausible-timing" and m["envelope_median_us"] > m["envelope_limit_us"]
    status, msg, m = timing.check_shape(_stream(hidden_us=400.0), CAL)         # unjoined work, honest harness
    assert status == "rejected" and msg.startswith("Work was still running") and "join side streams" in msg
    assert m["envelope_median_us"] > m["envelope_limit_us"]                    # the envelope sees it too
    status, msg, _ = timing.check_shape(_stream(late_us=500.0), CAL)           # `timed` sent early
    assert status == "implausible-timing" and "copying the output" in msg
    bad = _stream()
    bad[3] = timing.Trial(-1.0, 1.0, bad[3].t0, bad[3].t1, bad[3].t2, bad[3].t3)
    assert timing.check_shape(bad, CAL)[0] == "implausible-timing"
    nan = _stream()
    nan[0] = timing.Trial(math.nan, 1.0, nan[0].t0, nan[0].t1, nan[0].t2, nan[0].t3)
    assert timing.check_shape(nan, CAL)[0] == "implausible-timing"


def test_five_percent_cheat_tolerated_exactly_up_to_the_bound():
    """Under-reporting E on ≤ 5% of 40 trials (2) stays below the outlier limit; on 3 trials it fails."""
    two = _stream(n=40, cheat_every=20, cheat_scale=0.5)        # trials 0 and 20: E halved (250 µs hidden)
    status, _, m = timing.check_shape(two, CAL)
    assert status is None and m["envelope_outliers"] == 2 and m["outliers_allowed"] == 2
    three = _stream(n=40, cheat_every=14, cheat_scale=0.5)      # trials 0, 14, 28
    assert timing.check_shape(three, CAL)[0] == "implausible-timing"


def test_calibration_from_null_trials():
    cal = timing.calibrate(_stream(n=31, e_us=2.0, o_us=120.0, phi_us=3.0, s_us=200.0))
    assert cal.o_us == pytest.approx(121.0, abs=1.01) and cal.phi_med_us == pytest.approx(3.0)
    assert cal.s_us == pytest.approx(200.0, abs=0.01)


def test_host_noise_from_calibration():
    """§7.2 test 6's thresholds, applied by the verifier: a null-kernel round trip with p99 over 200 µs or
    a sync latency with p99 over 50 µs makes the host too noisy to judge timings."""
    quiet = {"b0": timing.Calibration(150.0, 5.0, 8.0, 300.0, o_p99_us=190.0)}
    assert timing.host_noise(quiet) is None
    slow_trip = {"b0": quiet["b0"], "b1": timing.Calibration(250.0, 15.0, 30.0, 900.0, o_p99_us=793.0)}
    why = timing.host_noise(slow_trip)
    assert why and "793 µs on b1" in why and "limit 200 µs" in why
    jittery = {"b0": timing.Calibration(150.0, 20.0, 65.0, 300.0, o_p99_us=180.0)}
    assert "synchronisation latency" in timing.host_noise(jittery) and "65 µs" in timing.host_noise(jittery)
    cal = timing.calibrate(_stream(n=100, e_us=2.0, o_us=120.0, phi_us=3.0, s_us=200.0))
    assert cal.o_p99_us == pytest.approx(122.0, abs=1.01)                   # 120 + (k % 3) + E's jitter


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
    assert busy.at(2000.0, NULL_300).o_us == pytest.approx(451 + (481 - 451) * 1000 / 3000)   # 461
    assert busy.at(16000.0, NULL_300).o_us == pytest.approx(491.0)
    assert busy.at(1e6, NULL_300).o_us == pytest.approx(491.0)
    assert busy.at(125.0, NULL_300).o_us == pytest.approx((300 + 321) / 2)   # from the null point (E = 0)
    assert busy.at(0.0, NULL_300) == NULL_300
    # Never below the null kernel's own figures; staging and the null p99 stay the shape's.
    fast = _busy_ladder({1000.0: 100.0})
    got = fast.at(1000.0, NULL_300)
    assert got.o_us == 300.0 and got.s_us == 300.0 and got.o_p99_us == NULL_300.o_p99_us


def test_busy_ladder_accepts_slow_wakeups_and_still_catches_cheats():
    """An honest 2 ms kernel on the slow-wake host fails the envelope against the null kernel alone
    (470 µs seen, limit 300 + 40) and passes with the busy ladder (limit 461 + 40); the cheats of
    §7.1 test 13 still fail with it."""
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
    """§3.4: the worker's GPU memory is sampled every 50 ms, not only read after each call, so an
    allocation made and freed inside one call is still counted (NVML replaced by a scripted sequence)."""
    import threading
    from verifiers.kernels import reference
    script = iter([1 << 30, 70 << 30] + [2 << 30] * 10_000)      # one transient 70 GiB sample
    lock = threading.Lock()

    def fake(index, pid):
        with lock:
            return next(script)
    monkeypatch.setattr(reference, "worker_memory", fake)
    w = reference.MemoryWatch(0, 1234, period_s=0.001)
    try:
        while w.samples < 5:
            threading.Event().wait(0.005)
        assert w.take() == 70 << 30            # the peak, though NVML now says 2 GiB
        assert w.take() == 2 << 30             # reset after each take
    finally:
        w.stop()
    monkeypatch.setattr(reference, "worker_memory", lambda index, pid: None)
    w = reference.MemoryWatch(0, 1234, period_s=0.001)
    try:
        assert w.take() is None                # NVML cannot tell (some VMs): no number is invented
    finally:
        w.stop()


def test_noisy_host_slack_is_the_calibrations_own_spread():
    """On a host over the noise limits that is timed anyway, envelope and fence limits widen by the spread of
    the trusted calibration's medians (seen on the virtualised H100: null-kernel o of 187-351 µs across
    shapes of one calibration, and an honest Triton kernel at 296 µs against a 228 µs limit)."""
    cal = {"b0": timing.Calibration(187.0, 19.0, 30.0, 1300.0), "b2": timing.Calibration(351.0, 31.0, 40.0, 3800.0),
           "b3": timing.Calibration(194.0, 18.0, 25.0, 2600.0)}
    assert timing.host_slack(cal) == timing.Slack(351.0 - 187.0, 31.0 - 18.0)
    busy = _busy_ladder({250.0: 400.0, 4000.0: 150.0}, phi_us=80.0)      # rungs: o 401 and 151, φ 80
    got = timing.host_slack(cal, busy)
    assert (got.o_us, got.phi_us) == (pytest.approx(401.0 - 151.0), pytest.approx(80.0 - 18.0))
    assert timing.host_slack({"b0": cal["b0"]}) == timing.Slack()         # one calibration: no spread to read
    # The Triton case: 1316 µs kernel, o 194 µs at the shape, 100 µs more wall time than the null kernel.
    honest = _stream(e_us=1316.0, o_us=296.0, phi_us=5.0)
    null = timing.Calibration(194.0, 5.0, 8.0, 300.0)
    status, _, m = timing.check_shape(honest, null)
    assert status == "implausible-timing" and m["envelope_limit_us"] == pytest.approx(194 + 26.32)
    slack = timing.host_slack(cal)
    status, _, m = timing.check_shape(honest, null, slack=slack)
    assert status is None and m["envelope_limit_us"] == pytest.approx(194 + 164 + 26.32)
    assert m["fence_limit_us"] == pytest.approx(5 + 13 + 13.16) and m["slack_o_us"] == 164.0
    # Cheats beyond the host's own spread still fail: E/100, and 400 µs of unjoined work.
    assert timing.check_shape(_stream(e_us=1316.0, o_us=296.0, e_scale=0.01), null, slack=slack)[0] == \
        "implausible-timing"
    assert timing.check_shape(_stream(e_us=1316.0, o_us=296.0, hidden_us=400.0), null, slack=slack)[0] == "rejected"
