"""CPU dev mode through the real sandbox (docs/kernels.md#cpu-dev-mode).

Each test runs one verification: the worker W imports the submission in the sandbox, the coordinator
generates secret-seeded inputs and compares every call with the fp32 reference it computes itself.
"""

import hashlib
import os
import time

import pytest

pytest.importorskip("torch")

from kern_helpers import example, fixture_text

from verifiers import get_verifier
from verifiers.kernels import seam
from verifiers.kernels import trimul_op as op

#: Two dev cases (one masked) where the full list is not the point of the test (CI time budget).
FEW = {"cases": (op.DEV[0], op.DEV[1])}


def dev(text, hooks=None, static_policy=True, **kw):
    with seam.hooks(static_policy=static_policy, **(hooks or {})):
        return get_verifier("trimul", mode="cpu", **kw).verify(text)


def test_torch_example_passes_every_dev_case_without_reward():
    from tttd_envs.problems.trimul import TriMulH100Env

    v = dev(example("trimul_torch.py"))
    assert v.status == "unverified-timing" and not v.accepted and v.score is None, v.message
    assert v.details["cases"] == [f"d{i}" for i in range(9)] and "CPU dev mode" in v.message
    assert TriMulH100Env.card.reward(v.score, v.details) == 0.0
    assert v.details["isolation"]["filesystem"] == "chroot" and v.details["secret_hex"]


def test_triton_example_passes_under_the_interpreter():
    v = dev(example("trimul_triton.py"))
    assert v.status == "unverified-timing", v.message
    assert v.details["cases"] == ["d0", "d1", "d2", "d3", "d4"] and v.details["kind"] == "triton"


@pytest.mark.parametrize("name,case", [("mask_ignoring", "d1"), ("dtype_inferring", "d3")])
def test_mask_cheats_are_rejected(name, case):
    v = dev(fixture_text(name))
    assert v.status == "rejected" and v.details["failed_case"] == case, v.message
    assert v.message.startswith(f"Output is wrong on dev {case}") and "debug_secret" in v.message


def test_output_cache_is_rejected_on_the_second_run():
    v = dev(fixture_text("cache_outputs"))
    assert v.status == "rejected" and v.details["failed_trial"] == 1 and v.details["failed_case"] == "d0", v.message


def test_warmup_detection_is_rejected():
    v = dev(fixture_text("warmup_detect"))  # correct 3 calls per shape, zeros from the 4th (d3)
    assert v.status == "rejected" and v.details["failed_case"] == "d3", v.message


@pytest.mark.parametrize("name", ["hardcoded_cuda", "hardcoded_cuda_triton", "native_inline"])
def test_uncheckable_on_cpu(name):
    v = dev(fixture_text(name))
    assert v.status == "uncheckable-on-cpu", v.message
    assert ("x.device" in v.message) or ("on a GPU" in v.message)


def test_importing_tttd_gives_nothing():
    assert dev(fixture_text("import_tttd")).details["rule"] == "S2"
    v = dev(fixture_text("import_tttd"), static_policy=False)  # the checkout is not in the sandbox
    assert v.status == "rejected" and "ModuleNotFoundError" in v.message, v.message


def test_lazy_subclass_is_caught_by_policy_and_by_the_output_gate():
    assert dev(fixture_text("lazy_subclass")).details["rule"] == "S5"
    v = dev(fixture_text("lazy_subclass"), static_policy=False)
    assert v.status == "rejected" and "returned a LazyTensor" in v.message, v.message


def test_mutating_inputs_after_computing_is_harmless_before_is_rejected():
    assert dev(fixture_text("mutate_after"), hooks=FEW).status == "unverified-timing"
    v = dev(fixture_text("mutate_before"))
    assert v.status == "rejected" and v.details["failed_case"] == "d0"


def test_precision_flags_stay_in_the_worker():
    v = dev(fixture_text("flags_tf32"), hooks=FEW)
    assert v.status == "unverified-timing", v.message
    assert v.details["reference_flags"] == {
        "matmul.allow_tf32": False,
        "cudnn.allow_tf32": False,
        "float32_matmul_precision": "highest",
    }
    assert v.details["worker_flags"]["matmul.allow_tf32"] is True
    assert v.details["worker_flags"]["float32_matmul_precision"] == "medium"


def test_the_worker_never_sees_the_secret_or_a_seed():
    secret = hashlib.sha256(b"tttd kernel test secret").digest()  # not a run of bytes that tables contain
    seeds = [op.derive_seed(secret, "tttd-trimul/1", "dev", c.id, t) for c in op.DEV for t in (0, 1)]
    hunt = (secret.hex(), *seeds)
    v = dev(fixture_text("seed_hunt", SECRETS=hunt), static_policy=False, debug_secret=secret, hooks=FEW)
    assert v.status == "unverified-timing" and v.details["debug_secret"] is True, v.message
    # Positive control: the hunt does find what is there (HOME=/sandbox is in its environment).
    v = dev(fixture_text("seed_hunt", SECRETS=("/sandbox",)), static_policy=False, hooks=FEW)
    assert v.status == "rejected" and "FOUND" in v.message


def test_rng_replay_of_public_seeds_is_rejected():
    v = dev(fixture_text("rng_replay"))
    assert v.status == "rejected" and v.details["failed_case"] == "d0"


@pytest.mark.parametrize("mode", ["copy", "nan"])
def test_gc_scan_finds_no_expected_output(mode):
    v = dev(fixture_text("gc_scan", MODE=mode), static_policy=False)
    assert v.status == "rejected" and v.message.startswith("Output is wrong on dev d0"), v.message


@pytest.mark.parametrize(
    "variant,words",
    [
        ("shape", "returned shape"),
        ("scalar", "returned shape []"),
        ("none", "returned a NoneType"),
        ("tuple", "returned a tuple"),
        ("float64", "returned dtype float64"),
        ("noncontig", "non-contiguous"),
    ],
)
def test_malformed_outputs_get_their_own_message(variant, words):
    v = dev(fixture_text("bad_output", VARIANT=variant))
    assert v.status == "rejected" and words in v.message, v.message


def test_huge_stdout_is_truncated():
    v = dev(fixture_text("bad_output", VARIANT="stdout"))
    assert v.status == "rejected" and len(v.details["stdout"]) <= 16384


@pytest.mark.parametrize("where", ["import", "call", "sigterm"])
def test_hangs_time_out_and_leave_no_process(where):
    limit = 2.0
    t0 = time.monotonic()
    v = dev(
        fixture_text("hang", WHERE=where),
        static_policy=False,
        hooks={"import_limit_s": limit, "first_call_limit_s": limit, "call_limit_s": limit},
    )
    elapsed = time.monotonic() - t0
    assert v.status == "timeout", v.message
    assert elapsed < limit + 5 + 10  # + worker start-up (torch import) before the limit starts
    pid = v.details["worker_pid"]
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"worker {pid} still alive")


def test_host_memory_exhaustion():
    v = dev(fixture_text("host_memory"))
    assert v.status in ("memory", "crashed"), v.message


def test_module_shadowing_and_cache_poisoning_have_no_effect():
    v = dev(fixture_text("shadowing"), static_policy=False, hooks=FEW)
    assert v.status == "unverified-timing", v.message
    v = dev(fixture_text("honest_fp32"), hooks=FEW)
    assert v.status == "unverified-timing", v.message


def test_auto_mode_without_a_gpu_says_it_cannot_time_here():
    from verifiers.kernels.verifier import cuda_present

    if cuda_present():
        pytest.skip("this machine has a GPU")
    with seam.hooks(**FEW):
        v = get_verifier("trimul").verify(fixture_text("honest_fp32"))  # mode="auto"
    assert v.status == "unverified-timing" and "cannot be timed here" in v.message and "TriMul-H100-v0" in v.message


def test_half_precision_works_in_cpu_dev_mode():
    """fp16 on the CPU needs PyTorch's cpuinfo (/proc/cpuinfo, /sys/devices/system/cpu). Without them in the
    sandbox every half-precision op raised "Failed to initialize cpuinfo!", so TTT-Discover's fp16 kernel
    was rejected for the verifier's fault instead of for its masks."""
    v = dev(fixture_text("fp16_inputs"), hooks=FEW)
    assert v.status == "unverified-timing", v.message
