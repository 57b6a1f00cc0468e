"""GPU tests: skipped without CUDA; run by scripts/gpu-kernels-check.sh.

Attack tests use a few correctness cases and three benchmark shapes with the quick stop rule so the
whole file fits a short GPU lease; the timing report (tests/kernels/kern_gpu_report.py) runs the
full case list. Tests that need the card's device name (H100) skip on other GPUs.
"""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from kern_helpers import REPO, TTT_DISCOVER_KERNEL, example, fixture_text, needs_gpu

from verifiers import get_verifier
from verifiers.kernels import seam, timing
from verifiers.kernels import trimul_op as op

pytestmark = [pytest.mark.gpu, needs_gpu]

FEW = {
    "cases": (op.TESTS[0], op.TESTS[1], op.TESTS[6], op.CONTRACT[0]),
    "benchmarks": (op.BENCHMARKS[0], op.BENCHMARKS[2], op.BENCHMARKS[3]),
}


def gpu(text, policy=True, hooks=None, **kw):
    kw.setdefault("timing_profile", "quick")
    with seam.hooks(**{**FEW, **(hooks or {})}, static_policy=policy):
        return get_verifier("trimul", mode="gpu", allow_other_hardware=True, **kw).verify(text)


def _can_build_extensions():
    """load_inline needs a C++ compiler and ninja; the sandbox finds them on PATH (the interpreter's own bin
    folder first, where a venv keeps ninja)."""
    import os
    import shutil

    ninja = shutil.which("ninja", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    return bool((shutil.which("c++") or shutil.which("g++")) and ninja)


def _is_h100():
    return torch.cuda.get_device_name(0) in timing.DEVICES["H100"].names


def _fp64_direct(x, mask, w, idx):
    """Output elements at the given (b, i, j) positions, in fp64 on the CPU, from the formulas. Only rows i and
    j of x enter element (b, i, j) (out[b,i,j] = Σ_k L[b,i,k]·R[b,j,k]), so only those rows are copied and
    projected: a 1024² × 768 case costs two 1024 × 768 rows per element, not 6 GB of fp64 on the CPU."""
    W = {k: v.double().cpu() for k, v in w.items()}
    C = x.shape[-1]
    lin = lambda a, n: a @ W[n].T

    def side(b, r, proj, gate):
        xh = torch.nn.functional.layer_norm(x[b, r].double().cpu(), (C,), W["norm.weight"], W["norm.bias"], 1e-5)
        return xh, lin(xh, proj) * mask[b, r].double().cpu()[:, None] * torch.sigmoid(lin(xh, gate))

    out = []
    for b, i, j in idx:
        xh_i, L = side(b, i, "left_proj.weight", "left_gate.weight")
        _, R = side(b, j, "right_proj.weight", "right_gate.weight")
        o = (L * R).sum(0)  # Σ_k L[b,i,k,:]·R[b,j,k,:]
        z = torch.nn.functional.layer_norm(o, (o.shape[0],), W["to_out_norm.weight"], W["to_out_norm.bias"], 1e-5)
        z = z * torch.sigmoid(lin(xh_i[j], "out_gate.weight"))
        out.append(z @ W["to_out.weight"].T)
    return torch.stack(out)


def test_reference_on_gpu_against_cpu_fp64():
    """R's fp32 reference (pinned flags) vs fp64 on the CPU; full for N ≤ 256, else a
    random subset of (b, i, j) rows. Max tolerance ratio < 1e-3."""
    op.pin_precision()
    g = torch.Generator().manual_seed(0)
    for case in op.TESTS:
        x, mask, w = op.generate(case, 1000 + op.TESTS.index(case), "cuda")
        y = op.reference(x, mask, w)
        if case.N <= 256 and case.C <= 256:
            ref = op.reference(x.double().cpu(), mask.cpu(), {k: v.double().cpu() for k, v in w.items()})
            got = y.double().cpu()
        else:
            idx = [
                (
                    int(torch.randint(case.B, (1,), generator=g)),
                    int(torch.randint(case.N, (1,), generator=g)),
                    int(torch.randint(case.N, (1,), generator=g)),
                )
                for _ in range(8)
            ]
            ref = _fp64_direct(x, mask, w, idx)
            got = torch.stack([y[b, i, j] for b, i, j in idx]).double().cpu()
        ratio = ((got - ref).abs() / (0.02 + 0.02 * ref.abs())).max()
        assert float(ratio) < 1e-3, (case.id, float(ratio))
        del x, mask, w, y
        torch.cuda.empty_cache()


def test_generation_is_deterministic_across_processes():
    code = (
        f"import torch,sys;sys.path.insert(0,{str(REPO)!r});from verifiers.kernels import trimul_op as op;"
        "x,m,w=op.generate(op.TESTS[6],77,'cuda');print(float(x.double().sum()),int(m.sum()),"
        "float(w['to_out.weight'].double().sum()))"
    )
    a = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    b = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert a and a == b


@pytest.mark.parametrize("name", ["trimul_torch.py", "trimul_triton.py"])
def test_honest_examples_are_accepted(name):
    v = gpu(example(name))
    assert v.status == "accepted", (v.message, v.details.get("stderr", "")[-2000:], v.details.get("isolation"))
    for sid, st in v.details["per_shape"].items():
        m = st["margins"]
        assert m["envelope_median_us"] <= m["envelope_limit_us"] and st["mean"] >= st["floor_us"], sid
    assert v.hardware["name"] == torch.cuda.get_device_name(0)
    sw = v.details["software"]
    assert sw["worker_torch"] == torch.__version__ and sw["protocol"] == "tttd-trimul/1"


def test_honest_cupy_kernel_is_accepted():
    pytest.importorskip("cupy")
    v = gpu(fixture_text("cupy_gating"))
    assert v.status == "accepted", (v.message, v.details.get("stderr", "")[-2000:])


@pytest.mark.parametrize("name", ["trimul_torch.py", "trimul_triton.py"])
def test_seccomp_after_warmup_with_cublas_and_triton(name):
    """Open point 5 of the spec: torch (cuBLAS) and Triton kernels in steady state under the lockdown
    (no new threads, processes or file opens after warm-up)."""
    v = gpu(example(name), seccomp_after_warmup=True)
    assert v.details["seccomp_after_warmup"].startswith("active"), v.details.get("seccomp_after_warmup")
    assert v.status in ("accepted", "contended"), (v.message, v.details.get("stderr", "")[-2000:])


def test_unjoined_side_stream_rejected_joined_accepted():
    v = gpu(fixture_text("side_stream"))  # the device-wide sync finishes its work, so the fence sees it
    assert v.status in ("rejected", "implausible-timing"), v.message
    assert "join side streams" in v.message or "coordinator's clock" in v.message, v.message
    v = gpu(fixture_text("side_stream", JOIN=True))
    assert v.status == "accepted", v.message


def test_falsified_event_times_are_implausible():
    v = gpu(example("trimul_torch.py"), hooks={"worker_report_scale": 0.01})
    assert v.status == "implausible-timing", v.message


def test_native_event_timer_detour_is_implausible_timing():
    """A load_inline extension hot-patches cudaEventElapsedTime in W (policy off), so every E
    W reports is 1 µs; P's own clock (envelope) must see through it. The patch itself was checked on
    this CPU against a stand-in library (it made its cudaEventElapsedTime return 0 and 0.001 ms)."""
    if not _can_build_extensions():
        pytest.skip("no C++ compiler or ninja on this GPU host: load_inline cannot build")
    v = gpu(fixture_text("detour_elapsed"), policy=False, hooks={"import_limit_s": 240.0})
    if v.status == "rejected" and "detour not installed" in v.message:
        pytest.skip(v.message)
    assert v.status == "implausible-timing", (v.message, v.details.get("stderr", "")[-2000:])


def test_honest_load_inline_kernel_is_accepted():
    """A CUDA C++ submission (torch.utils.cpp_extension.load_inline over ATen) builds inside the sandbox
    and is timed like any other (compared with the reference on the CPU host: identical on d0, d1, d3)."""
    if not _can_build_extensions():
        pytest.skip("no C++ compiler or ninja on this GPU host: load_inline cannot build")
    v = gpu(fixture_text("inline_aten"), hooks={"import_limit_s": 240.0})
    assert v.status == "accepted" and v.details["kind"] == "native", (v.message, v.details.get("stderr", "")[-2000:])


def test_lazy_subclass_rejected_by_the_gate():
    v = gpu(fixture_text("lazy_subclass"), policy=False)
    assert v.status == "rejected" and "LazyTensor" in v.message


def test_tf32_flags_in_the_worker_do_not_move_the_reference():
    v = gpu(fixture_text("flags_tf32"))
    assert v.details["reference_flags"]["matmul.allow_tf32"] is False
    assert v.details["worker_flags"]["matmul.allow_tf32"] is True
    assert v.status in ("accepted", "rejected"), v.message  # TF32 may or may not pass the tolerance


@pytest.mark.parametrize("name", ["cache_data_ptr", "warmup_detect", "mask_ignoring"])
def test_stateful_and_mask_cheats_rejected(name):
    v = gpu(fixture_text(name))
    assert v.status == "rejected" and v.message.startswith("Output is wrong"), v.message


def test_mask_ignoring_accepted_under_compat():
    # Compat refuses to time on a host over the noise limits; the point here is that upstream's rule lets a
    # kernel that ignores the mask through, so the noise check is off (the H100 VM was over the limits).
    v = gpu(fixture_text("mask_ignoring"), gpumode_compat=True, hooks={"host_noise_check": False})
    assert v.status == "accepted" and v.details["protocol"] == "gpumode-compat/1", v.message


@pytest.mark.parametrize("kind,status", [("hang", "timeout"), ("oob", "crashed")])
def test_bad_kernels_then_a_healthy_gpu(kind, status):
    v = gpu(fixture_text("bad_kernel", KIND=kind), hooks={"first_call_limit_s": 20.0, "call_limit_s": 5.0})
    assert v.status in (status, "crashed", "timeout"), v.message
    v = gpu(example("trimul_torch.py"), hooks={"cases": (op.TESTS[0],), "benchmarks": (op.BENCHMARKS[0],)})
    assert v.status == "accepted", v.message


def test_l2_persistence_set_by_the_worker_is_rejected():
    v = gpu(fixture_text("l2_persist"), policy=False)
    assert v.status == "rejected" and "L2 persistence" in v.message, (v.message, v.details.get("stderr", "")[-500:])


def test_gpu_memory_hog():
    v = gpu(fixture_text("gpu_memory_hog"))
    assert v.status in ("memory", "rejected"), v.message


def test_reference_preallocates_so_a_worker_filling_the_gpu_cannot_break_it():
    """docs/kernels.md#the-problem-and-its-cases memory planning: W takes all free GPU memory but 3 GiB at its
    first call (the memory limit raised so that it is allowed to); R reserved its peak for every shape
    beforehand, so the run ends on the submission's merits (correct), never with R's OOM (`error`)."""
    v = gpu(fixture_text("gpu_fill"), hooks={"gpu_mem_limit_bytes": 1 << 50})
    assert v.status != "error" and v.details["reference_memory"]["reserved_bytes"] > 0, v.message
    assert v.status in ("accepted", "contended", "implausible-timing"), v.message
    assert "retried" not in v.details, v.details.get("retried")


def test_gpu_memory_is_sampled_during_calls():
    """docs/kernels.md#the-submission-contract: the worker's GPU memory is sampled every 50 ms by R, so 90% of
    the device held for ~200 ms and released before the call returns is still `memory` (the after-call reading
    alone sees nothing)."""
    import os

    from verifiers.kernels.reference import worker_memory

    if worker_memory(0, os.getpid()) is None:
        torch.zeros(1, device="cuda")
        if worker_memory(0, os.getpid()) is None:
            pytest.skip("NVML cannot attribute GPU memory to processes on this host")
    v = gpu(fixture_text("gpu_transient_hog"))
    assert v.details["worker_memory_sampled"] and v.status == "memory", v.message


def test_gpu_memory_scan_finds_no_answer():
    """Expected outputs and private inputs never exist in memory W can reach (R's context is
    another process; the driver hands out scrubbed pages), so scanning uninitialised memory fails."""
    v = gpu(fixture_text("gpu_scan"))
    assert v.status == "rejected" and v.message.startswith("Output is wrong"), v.message


def test_a_second_gpu_process_makes_the_run_contended():
    """docs/kernels.md#three-processes device preconditions: another process holding a CUDA context on the GPU before a
    shape is timed gives `contended`, not a timing."""
    import os
    import time

    def listed(pid):
        try:
            import pynvml

            pynvml.nvmlInit()
            h = pynvml.nvmlDeviceGetHandleByIndex(0)
            return pid in [p.pid for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h)]
        except Exception:  # noqa: BLE001
            return False

    code = "import torch,time;x=torch.ones(1<<20,device='cuda');print('ready',flush=True);time.sleep(600)"
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while not listed(other.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not listed(other.pid):
            pytest.skip("NVML does not list the GPU's processes on this host, so contention cannot be seen")
        v = gpu(example("trimul_torch.py"))
        assert v.status == "contended" and "other processes use the GPU" in v.message, v.message
        assert other.pid in v.details["other_pids"] and os.getpid() not in v.details["other_pids"]
    finally:
        other.kill()
        other.wait(10)


def test_the_host_gate_agrees_with_its_own_calibration():
    """as the gate now reads it: on this machine (any GPU) the full profile either times an
    honest kernel (`accepted`, quiet or noisy host) or refuses with `contended` for the reasons its own
    calibration gives, and the first-call costs are primed away (no calibration median is over 1 ms; the
    first call on the VMs took 0.7-10 ms)."""
    v = gpu(example("trimul_torch.py"), timing_profile="full")
    cal = {k: timing.Calibration(**c) for k, c in v.details["calibration"].items()}
    prof = v.details["host_profile"]
    print("host:", prof["summary"], "| gate:", v.details["gate"])
    assert prof["calls"] >= sum(c.n for c in cal.values()) and all(
        c.n == timing.PROFILES["full"].calib_trials for c in cal.values()
    )
    assert all(c.o_us < 1000 for c in cal.values()), {k: c.o_us for k, c in cal.items()}
    if prof["kind"] == "unstable":
        assert v.status == "contended" and "too unstable" in v.message and v.details["gate"].startswith("not timed")
    else:
        assert v.status == "accepted", v.message
        assert v.details["gate"].startswith(f"timed ({prof['kind']} host")


def test_published_ttt_discover_kernel():
    """Rejected under the default protocol
    (masked cases); its compat geomean is reported by the timing report."""
    if TTT_DISCOVER_KERNEL is None:
        pytest.skip("TTT-Discover's published trimul.py is not in ../shared/data")
    v = gpu(TTT_DISCOVER_KERNEL.read_text(), require_triton=False)
    assert v.status == "rejected" and v.details["failed_case"] in ("test1", "test6", "c0"), v.message


def test_mismatched_device_without_permission_is_unverified_timing():
    """A device outside the env's list gives correctness only."""
    with seam.hooks(**FEW, fake_device_name="NVIDIA H100 PCIe"):
        v = get_verifier("trimul", mode="gpu", timing_profile="quick").verify(example("trimul_torch.py"))
    assert v.status == "unverified-timing" and "NVIDIA H100 PCIe" in v.message and "per_shape" not in v.details


def _read_ms(buf, evict_last=False):
    """GPU time of one full, bandwidth-bound read of `buf`, with CUDA events.

    A ~100 µs spin kernel goes first, so both events and the read are queued while the GPU is busy:
    the events then bracket the read alone, not the host's launch latency (with plain `buf.sum()`
    right after `record()`, an H100 showed 35-75 µs for a 40 MiB read whose HBM bound is 12.5 µs,
    warm or cold alike). The read is a row-wise sum (one block per 16 KiB row: no serial tail)."""
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda._sleep(200_000)
    e0.record()
    if evict_last:
        _triton_sum_evict_last(buf)
    else:
        buf.view(-1, 4096).sum(dim=1)
    e1.record()
    torch.cuda.synchronize()
    return e0.elapsed_time(e1)


_KERNELS: dict = {}


def _triton_sum_evict_last(buf):
    """A sum whose loads carry evict_last priority (the kernel is built once: compiling between the
    timing events would be counted as GPU time)."""
    if "sum" not in _KERNELS:
        import triton
        import triton.language as tl

        @triton.jit
        def _sum(X, Out, n, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            x = tl.load(X + offs, mask=offs < n, other=0.0, eviction_policy="evict_last")
            tl.atomic_add(Out, tl.sum(x, axis=0))

        _KERNELS["sum"] = (_sum, triton.cdiv)
    kernel, cdiv = _KERNELS["sum"]
    out = torch.zeros(1, device=buf.device)
    kernel[(cdiv(buf.numel(), 4096),)](buf, out, buf.numel(), BLOCK=4096)
    return out


def test_l2_flush_makes_reads_hbm_bound_even_after_evict_last():
    """After R's flush a 40 MB read (fits the 50 MB L2) runs at HBM speed
    (≥ 0.8 × bytes / peak BW), both for plain loads and for loads made with evict_last priority;
    without the flush the same read is faster."""
    if not _is_h100():
        pytest.skip("the bandwidth bound uses the H100 datasheet figure")
    from verifiers.kernels.links import Shared
    from verifiers.kernels.reference import ReferenceService

    sh = Shared(1 << 20, 1 << 20)
    try:
        svc = ReferenceService("cuda:0", tuple(sh.slot_fds), sh.out_fd, 1 << 20, 1 << 20)
        buf = torch.randn(10 << 20, device="cuda")  # 40 MiB
        hbm_ms = buf.numel() * 4 / timing.DEVICES["H100"].bw_bytes_s * 1e3
        for evict_last in (False, True):
            _read_ms(buf, evict_last)
            warm = min(_read_ms(buf, evict_last) for _ in range(5))
            cold = []
            for _ in range(5):
                _read_ms(buf, evict_last)
                svc.flush()
                cold.append(_read_ms(buf, evict_last))
            detail = (
                f"evict_last={evict_last}: warm {warm * 1e3:.1f} µs, cold {[round(c * 1e3, 1) for c in cold]} µs, "
                f"HBM bound {hbm_ms * 1e3:.1f} µs"
            )
            assert min(cold) >= 0.8 * hbm_ms, detail
            assert warm < min(cold), detail
    finally:
        sh.close()


def _persist(buf, stream, nbytes):
    """Make `buf`'s lines persisting for reads on `stream` (driver API: the set-aside limit, then an
    access-policy window with hitRatio 1). Returns the driver's error codes."""
    import ctypes

    lib = ctypes.CDLL("libcuda.so.1")

    class Window(ctypes.Structure):  # CUaccessPolicyWindow
        _fields_ = [
            ("base_ptr", ctypes.c_void_p),
            ("num_bytes", ctypes.c_size_t),
            ("hitRatio", ctypes.c_float),
            ("hitProp", ctypes.c_int),
            ("missProp", ctypes.c_int),
        ]

    class Value(ctypes.Union):  # CUstreamAttrValue (a 64-byte union)
        _fields_ = [("window", Window), ("pad", ctypes.c_char * 64)]

    v = Value()
    v.window = Window(buf.data_ptr(), nbytes, 1.0, 2, 1)  # hit: PERSISTING, miss: STREAMING
    rc_limit = lib.cuCtxSetLimit(ctypes.c_int(0x06), ctypes.c_size_t(nbytes))  # PERSISTING_L2_CACHE_SIZE
    rc_attr = lib.cuStreamSetAttribute(ctypes.c_void_p(stream.cuda_stream), ctypes.c_int(1), ctypes.byref(v))
    return rc_limit, rc_attr


def test_l2_cross_context_persistence_probe():
    """open point 1: do lines made persisting in one context (here: this process, playing
    W) survive R's flush from another context, with and without R's persisting-L2 reset? Prints the
    answer for the card. Asserted: what the verifier relies on — after the persisting context's own
    reset (W resets at every arm) plus R's flush, the read is HBM-bound."""
    if not _is_h100():
        pytest.skip("the bandwidth bound uses the H100 datasheet figure")
    import ctypes
    import json

    from verifiers.kernels.links import RemoteReference, Shared

    lib = ctypes.CDLL("libcuda.so.1")
    max_persist = ctypes.c_int(0)
    lib.cuDeviceGetAttribute(ctypes.byref(max_persist), ctypes.c_int(108), ctypes.c_int(0))  # MAX_PERSISTING_L2
    nbytes = int(min(max_persist.value, 32 << 20) * 0.9) // 4096 * 4096
    if nbytes < (4 << 20):
        pytest.skip(f"the device reports a persisting-L2 maximum of {max_persist.value} bytes")
    sh = Shared(1 << 20, 1 << 20)
    ref = RemoteReference(0, sh.slot_fds, sh.out_fd, 1 << 20, 1 << 20, device="cuda:0")  # another context
    stream = torch.cuda.Stream()
    buf = torch.randn(nbytes // 4, device="cuda")
    hbm_ms = nbytes / timing.DEVICES["H100"].bw_bytes_s * 1e3
    try:
        with torch.cuda.stream(stream):
            rcs = _persist(buf, stream, nbytes)
            assert rcs == (0, 0), f"the driver refused the persisting window: {rcs}"

            def after(action):
                times = []
                for _ in range(5):
                    _read_ms(buf)
                    _read_ms(buf)
                    action()
                    times.append(_read_ms(buf))
                return min(times)

            res = {
                "bytes": nbytes,
                "hbm_bound_us": hbm_ms * 1e3,
                "no_flush_us": after(lambda: None) * 1e3,
                "other_context_flush_no_reset_us": after(lambda: ref.flush(reset=False)) * 1e3,
                "other_context_reset_and_flush_us": after(lambda: ref.flush(reset=True)) * 1e3,
                "own_reset_then_other_flush_us": after(
                    lambda: (lib.cuCtxResetPersistingL2Cache(), ref.flush(reset=False))
                )
                * 1e3,
            }
        print("L2 cross-context probe:", json.dumps({k: round(v, 2) for k, v in res.items()}))
        # The probe reads against a cold read measured here (R reset and flushed), not the datasheet bound: on
        # the H100 VM a 29 MB read took 10.6 µs from L2 and 20.5 µs cold, while the datasheet bound is 8.8 µs.
        cold = res["other_context_reset_and_flush_us"]
        if res["no_flush_us"] >= 0.75 * cold:
            pytest.skip(
                f"the read is not clearly faster from L2 than after a flush here, so the probe cannot tell: {res}"
            )
        survives = res["other_context_flush_no_reset_us"] < 0.75 * cold
        print(
            "L2 probe answer: persisting lines",
            "SURVIVE" if survives else "do not survive",
            "another context's flush without a persisting-L2 reset",
        )
        assert res["own_reset_then_other_flush_us"] >= 0.75 * cold, res
    finally:
        lib.cuCtxResetPersistingL2Cache()
        lib.cuCtxSetLimit(ctypes.c_int(0x06), ctypes.c_size_t(0))
        ref.close()
        sh.close()
