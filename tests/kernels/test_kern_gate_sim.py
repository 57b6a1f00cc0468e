"""The host gate against a replay of a virtual machine's measured timing noise (CPU only).

`kern_noise_model` synthesises the numbers the coordinator's decisions read (E, F and P's clocks per
call) for a host fitted to the lent H200 VM's calibrations (`../shared/data/kernels/h200-vm-2026-12-04/`),
and runs the real decision code on them: calibration, busy ladder, host profile, per-shape checks,
the stop rule and one re-timing. The targets are the issue's: under the default (full) profile, at
E ≥ 1 ms, an honest kernel is rejected at most 1% of the time and 5% of its time hidden outside the
events is caught at least 99% of the time; a second process on the GPU makes the host `contended`.

Seeds are fixed, so each rate is one reproducible sample; the full table (more runs, more hosts) is
`python tests/kernels/kern_noise_model.py`.
"""

import dataclasses
import os
import random
from pathlib import Path

import pytest
from kern_noise_model import CLEAN, _Host, calibrate, contended, fit_vm, rates, verify_shape

from verifiers.kernels import timing

DATA = Path(os.environ.get("TTTD_DATA_DIR") or Path(__file__).resolve().parents[3] / "shared/data")
REPORT = DATA / "kernels/h200-vm-2026-12-04/trimul_gpu_report.json"
FULL = timing.PROFILES["full"]


@pytest.fixture(scope="module")
def vm():
    if not REPORT.exists():
        pytest.skip(f"needs the H200 VM measurements ({REPORT})")
    return fit_vm(REPORT)


def test_the_fitted_host_reproduces_what_the_vm_measured(vm):
    """The fit, against figures read off report.log by hand: null-kernel medians of 164-197 µs per shape,
    φ medians of 17-20 µs, busy kernels of ≥ 4 ms paying tens of µs more than the null kernel, and honest
    envelopes 10-56 µs over their calibration."""
    assert 164 <= vm.o0 <= 197 and 17 <= vm.phi0 <= 20
    assert 20 <= vm.rise <= 150 and 0 < vm.bias <= 56 and vm.body > 0
    # With frequent excursions, each calibration's p99 (its maximum) is far over the old 200 µs limit, as on
    # the VM, while the medians stay put.
    cal, _ = calibrate(_Host(dataclasses.replace(vm, tail_p=0.1), random.Random(0)), 10)
    assert max(c.o_p99_us for c in cal.values()) > 200 and max(c.o_us for c in cal.values()) < 230


@pytest.mark.parametrize("e_us", [1000.0, 4000.0])
def test_default_gate_on_the_vm_meets_the_targets(vm, e_us):
    honest = rates(vm, e_us, 400, seed=11, profile=FULL)
    assert honest.get("contended", 0.0) == 0.0
    assert honest.get("accepted", 0.0) >= 0.99, honest
    under = rates(vm, e_us, 300, seed=12, profile=FULL, hidden_frac=0.05, hide="report")
    left = rates(vm, e_us, 150, seed=13, profile=FULL, hidden_frac=0.05, hide="stream")
    assert 1 - under.get("accepted", 0.0) >= 0.99, under
    assert left.get("rejected", 0.0) >= 0.99, left  # the fence names it
    assert under.get("implausible-timing", 0.0) >= 0.99, under  # the envelope names it


def test_a_second_process_on_the_gpu_is_contended(vm):
    """Another context time-slicing the GPU (every call waits up to a 2 ms slice) makes the host's robust
    statistics unstable: the gate refuses to time instead of scoring noise."""
    got = rates(contended(vm), 1000.0, 40, seed=14, profile=FULL)
    assert got == {"contended": 1.0}


def test_a_clean_host_accepts_and_catches(vm):
    assert rates(CLEAN, 1000.0, 100, seed=15, profile=FULL) == {"accepted": 1.0}
    got = rates(CLEAN, 1000.0, 100, seed=16, profile=FULL, hidden_frac=0.05)
    assert got.get("accepted", 0.0) == 0.0


def test_the_gate_can_fail(vm):
    """The simulation is not a formality: with the spec's margins alone (no drift allowance, the 2% relative
    envelope margin), the same VM rejects honest 1 ms kernels often (17% with this seed); and hidden work of
    1% of E is below the noise, so it mostly passes."""
    rng = random.Random(17)
    no_allowance = dataclasses.replace(timing.DEFAULT_THRESHOLDS, drift_z=0.0, noisy_env_rel=0.0)
    outcomes = [verify_shape(vm, 1000.0, rng, profile=FULL, th=no_allowance) for _ in range(200)]
    assert outcomes.count("implausible-timing") / len(outcomes) > 0.05
    faint = rates(vm, 4000.0, 100, seed=18, profile=FULL, hidden_frac=0.01)
    assert faint.get("accepted", 0.0) > 0.5
