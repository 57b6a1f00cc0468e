"""The kernel verifier's test seam: the switches only tests turn.

Production settings live in `coordinator.Options`, which `TriMulVerifier` fills from its own
arguments (the card's options, so what `gym.make` and `tttd eval -o` accept). Nothing here is one of
those arguments: a test opens a block with `hooks(...)`, and every TriMul verification inside the
block (in this thread or task) runs with them. Outside a block every hook has its production value.

The hooks either run a GPU code path on the CPU (the full protocol, the GPU sandbox, a separate
reference process, a fake device name), shrink the work (fewer cases and shapes, a shorter stop
rule), inject a fault (a falsifying worker, an out-of-memory reference) or skip the static policy so
a fixture can reach the sandbox. A test may also replace production `Options` fields (shorter limits,
other thresholds) in the same call.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifiers.kernels.timing import Profile
    from verifiers.kernels.trimul_op import Case


@dataclasses.dataclass(frozen=True)
class Hooks:
    static_policy: bool = True  # False: the source goes to the sandbox unchecked (fixtures that probe it)
    full_protocol: bool = False  # the GPU protocol (calibration, timing) with CPU tensors
    gpu_sandbox: bool = False  # the GPU worker's sandbox settings with a CPU device
    remote_reference: bool = False  # R as its own process with a CPU device
    fake_device_name: str | None = None  # a device name as if the reference had read it (hardware binding)
    spin_wait: bool | None = None  # poll for W's replies (None: on a GPU, as in production)
    host_noise_check: bool | None = None  # refuse an unstable host (None: on a GPU); False times anyway
    busy_calibration: bool | None = None  # calibrate with trusted busy kernels too (None: on a GPU)
    worker_report_scale: float = 1.0  # multiplies W's reported E and F: a falsifying worker (E/100)
    oom_fault_file: str | None = None  # R raises out-of-memory in prepare() as many times as the file says
    profile_override: Profile | None = None  # a timing.Profile replacing the production one (a shorter stop rule)
    cases: tuple[Case, ...] | None = None  # the correctness cases instead of the production list
    benchmarks: tuple[Case, ...] | None = None  # the benchmark shapes instead of the production list
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # production Options fields replaced


PRODUCTION = Hooks()
_ACTIVE: contextvars.ContextVar[Hooks] = contextvars.ContextVar("tttd_kernel_test_hooks", default=PRODUCTION)


def active() -> Hooks:
    """The hooks of the innermost open `hooks` block, else the production values."""
    return _ACTIVE.get()


@contextlib.contextmanager
def hooks(**changes: Any) -> Iterator[Hooks]:
    """Verify with these hooks inside the block. A keyword that names a `Hooks` field sets it; one that
    names a `coordinator.Options` field replaces that production setting; anything else is an error."""
    from verifiers.kernels.coordinator import Options

    own = {f.name for f in dataclasses.fields(Hooks)} - {"options"}
    settings = {f.name for f in dataclasses.fields(Options)}
    unknown = sorted(set(changes) - own - settings)
    if unknown:
        raise TypeError(
            f"unknown kernel test hook {unknown[0]!r}; hooks: {', '.join(sorted(own))}; "
            f"Options fields: {', '.join(sorted(settings))}"
        )
    chosen = Hooks(
        **{k: v for k, v in changes.items() if k in own}, options={k: v for k, v in changes.items() if k in settings}
    )
    token = _ACTIVE.set(chosen)
    try:
        yield chosen
    finally:
        _ACTIVE.reset(token)
