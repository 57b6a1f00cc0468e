"""TriMulVerifier: the verifier of docs/kernels.md (static policy, mode choice, hardware binding).

The heavy work is in `coordinator` (P), `reference` (R) and `_worker` (W). This class turns their
outcome into a Verdict. CPU dev mode (docs/kernels.md#cpu-dev-mode) runs wherever there is no CUDA GPU (or with
mode="cpu"): correctness only, status ``unverified-timing``, reward 0.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import TYPE_CHECKING, Any

from verifiers.artifacts import last_block
from verifiers.base import Verifier
from verifiers.kernels import policy, timing
from verifiers.kernels import trimul_op as op
from verifiers.verdict import Verdict

if TYPE_CHECKING:
    from verifiers.kernels.coordinator import Options
    from verifiers.kernels.seam import Hooks

_DEV_CAVEATS = (
    "a CPU pass is a filter, not a proof: the interpreter ignores num_warps, races and out-of-bounds "
    "accesses, tensor-core numerics differ, and large-N code paths are never exercised"
)
_FAILURE_KIND = {
    "rejected": "wrong_or_invalid",
    "implausible-timing": "timing",
    "timeout": "timeout",
    "memory": "memory",
    "crashed": "crashed",
    "contended": "contended",
    "error": "verifier_error",
    "uncheckable-on-cpu": "uncheckable_on_cpu",
    "unverified-timing": "no_timing",
}


def extract(text: str) -> str:
    """docs/kernels.md#the-submission-contract: the last ```python block of a raw answer, else the whole text."""
    found = last_block(text, {"python": "python", "py": "python", "python3": "python"})
    return found[1] if found is not None else text


def cuda_present() -> bool:
    """Whether this machine has an NVIDIA GPU, without creating a CUDA context in P."""
    return os.path.exists("/dev/nvidiactl") and any(
        n.startswith("nvidia") and n[6:].isdigit() for n in os.listdir("/dev")
    )


class TriMulVerifier(Verifier):
    name = "trimul"
    version = "1"

    def __init__(
        self,
        gpu: str = "H100",
        gpumode_compat: bool = False,
        mode: str = "auto",
        allow_other_hardware: bool = False,
        timing_profile: str = "full",
        device_index: int = 0,
        require_triton: bool = False,
        debug_secret: bytes | str | None = None,
        audit: str | None = None,
        cpu_pass_reward: float = 0.0,
        seccomp_after_warmup: bool = False,
    ) -> None:
        if gpu not in timing.DEVICES:
            raise ValueError(f"unknown GPU {gpu!r}; expected one of {sorted(timing.DEVICES)}")
        if mode not in ("auto", "gpu", "cpu"):
            raise ValueError(f"mode must be 'auto', 'gpu' or 'cpu', not {mode!r}")
        if timing_profile not in ("full", "quick"):
            raise ValueError(f"timing_profile must be 'full' or 'quick', not {timing_profile!r}")
        if audit not in (None, "nsys"):
            raise ValueError("audit must be None or 'nsys'")
        if audit == "nsys":
            raise ValueError("audit='nsys' is not implemented yet in this version; leave audit=None")
        if isinstance(debug_secret, str):
            debug_secret = bytes.fromhex(debug_secret)
        self.gpu, self.compat, self.mode = gpu, bool(gpumode_compat), mode
        self.allow_other, self.profile, self.device_index = (
            bool(allow_other_hardware),
            timing_profile,
            int(device_index),
        )
        self.require_triton, self.secret, self.cpu_pass_reward = (
            bool(require_triton),
            debug_secret,
            float(cpu_pass_reward),
        )
        self.seccomp_after_warmup = bool(
            seccomp_after_warmup
        )  # docs/kernels.md#one-call optional hardening (off: open point 5)

    def _verify(self, artifact: str, **context: Any) -> Verdict:
        from verifiers.kernels import coordinator, seam

        hooks = seam.active()  # production values unless a test opened a seam.hooks block
        source = extract(artifact)
        try:
            tree = policy.check(source, self.require_triton) if hooks.static_policy else None
        except policy.PolicyError as e:
            return Verdict.reject(
                str(e),
                details={
                    "failure_kind": "static_policy",
                    "rule": e.rule,
                    "line": e.line,
                    "score_us": None,
                    "per_shape_us": None,
                },
            )
        if tree is None:
            import ast

            try:
                tree = ast.parse(source)
            except SyntaxError as e:
                return Verdict.reject(f"syntax error, line {e.lineno}: {e.msg}")
        kind = policy.classify(tree)
        gpu = self.mode == "gpu" or (self.mode == "auto" and cuda_present())
        if self.mode == "gpu" and not cuda_present():
            return Verdict.reject(
                "mode='gpu' was asked for but this machine has no NVIDIA GPU; use mode='cpu' for "
                "correctness-only dev mode.",
                status="error",
            )
        if not gpu and kind == "native":
            return Verdict.reject(
                "CPU dev mode cannot run CUDA C++ (load_inline) or CuPy submissions; verify it on a GPU.",
                status="uncheckable-on-cpu",
                details={"failure_kind": "uncheckable_on_cpu"},
            )
        dev = timing.DEVICES[self.gpu]
        base = dict(
            device="cuda" if gpu else "cpu",
            kind=kind,
            compat=self.compat,
            profile=self.profile,
            device_index=self.device_index,
            secret=self.secret,
            accepted_names=dev.names,
            allow_other=self.allow_other,
            gpu_mem_limit_bytes=dev.gpu_mem_limit_bytes,
            seccomp_after_warmup=self.seccomp_after_warmup,
        )
        opts = coordinator.Options(**{**base, **hooks.options})  # a test may replace production settings
        status, message, details = (
            coordinator.verify(source, opts, hooks) if not gpu else self._gpu(source, opts, hooks)
        )
        details["software"] = _software(details, self.compat, self.profile)
        details["failure_kind"] = None if status == "accepted" else _FAILURE_KIND.get(status, status)
        details["score_us"] = details.get("geomean_us")
        details.setdefault("per_shape_us", None)
        details["kind"] = kind
        hardware = details.get("hardware_reference")
        if status == "unverified-timing":
            details["cpu_pass_reward"] = self.cpu_pass_reward
            if details.get("hardware_match") is False:
                name = details.get("device_name")
                message = (
                    f"correct on every checked call, but {name!r} is not a {self.gpu} this env times on "
                    f"({', '.join(dev.names)}); no timing reward (allow_other_hardware=True times it anyway, "
                    "filed under the real device name)."
                )
            else:
                n = len(details.get("cases") or ())
                why = (
                    "mode='cpu' was asked for"
                    if self.mode == "cpu"
                    else f"this machine has no NVIDIA GPU, so TriMul-{self.gpu}-v0 cannot be timed here"
                )
                message = (
                    f"CPU dev mode ({why}): correct on all {n} dev cases, each run twice with fresh inputs; "
                    f"no timing, so reward {self.cpu_pass_reward:g} ({_DEV_CAVEATS})."
                )
            return Verdict.reject(message, status="unverified-timing", details=details, hardware=hardware)
        if status == "accepted":
            return Verdict.accept(details["geomean_us"], message, details=details, hardware=hardware)
        return Verdict.reject(message or status, status=status, details=details, hardware=hardware)

    def _gpu(self, source: str, opts: Options, hooks: Hooks) -> tuple[str, str, dict[str, Any]]:
        from verifiers.kernels import coordinator

        dev = timing.DEVICES[self.gpu]
        # Floors need the exact name (A100 variants differ); the coordinator fills hardware first, so
        # compute them for every accepted name and let the coordinator pick by name.
        opts.floors = _FloorsByName(dev)
        return coordinator.verify(source, opts, hooks)


class _FloorsByName(dict[str, float]):
    """Benchmark id -> floor µs for the device name the coordinator found (set via `bind`)."""

    def __init__(self, dev: timing.Device) -> None:
        super().__init__()
        self.dev = dev
        self.bind(dev.names[0])

    def bind(self, name: str) -> None:
        self.clear()
        for c in op.BENCHMARKS:
            self[c.id] = timing.device_floor_us(self.dev, name, c.N, c.B, c.C)


def _software(details: dict[str, Any], compat: bool, profile: str) -> dict[str, Any]:
    sw: dict[str, Any] = {
        "python": platform.python_version(),
        "verifier": "trimul/1",
        "protocol": op.PROTOCOLS[compat],
        "profile": "compat" if compat else profile,
    }
    try:
        from importlib.metadata import version

        sw["tttd"] = version("tttd")
    except Exception:  # noqa: BLE001
        pass
    w = details.get("worker") or {}
    sw.update({f"worker_{k}": v for k, v in (w.get("versions") or {}).items()})
    for mod in ("torch", "triton", "numpy", "cupy"):
        m = sys.modules.get(mod)
        if m is not None:
            sw[f"coordinator_{mod}"] = getattr(m, "__version__", "?")
    sw["isolation"] = (details.get("isolation") or {}).get("summary")
    sw["worker_flags_after_run"] = details.get("worker_flags")
    return sw
