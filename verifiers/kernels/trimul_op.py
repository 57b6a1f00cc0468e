"""The TriMul operator (docs/kernels.md#the-problem-and-its-cases): cases, seeded generation, the fp32 reference, the
check.

Trusted code only. It runs in the coordinator (CPU dev mode) and in the reference process R (GPU);
the sandboxed worker never imports it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
from typing import Any

H = 128
EPS = 1e-5
ATOL = RTOL = 0.02
PROTOCOLS = {False: "tttd-trimul/1", True: "gpumode-compat/1"}
#: Weight names in upstream's draw order (docs/kernels.md#the-problem-and-its-cases; to_out.weight is drawn before
#: to_out_norm.bias).
WEIGHT_ORDER = (
    "norm.weight",
    "norm.bias",
    "left_proj.weight",
    "right_proj.weight",
    "left_gate.weight",
    "right_gate.weight",
    "out_gate.weight",
    "to_out_norm.weight",
    "to_out.weight",
    "to_out_norm.bias",
)
MASK_KINDS = ("ones_f32", "rand_i64", "rand_f32", "ones_i64")


@dataclasses.dataclass(frozen=True)
class Case:
    """One case: geometry, mask kind (content + dtype) and x distribution."""

    id: str
    N: int
    B: int
    C: int
    mask: str  # one of MASK_KINDS
    dist: str  # "normal" | "cauchy"

    @property
    def masked(self) -> bool:
        return self.mask.startswith("rand")

    @property
    def out_bytes(self) -> int:
        return 4 * self.B * self.N * self.N * self.C

    def describe(self) -> str:
        return (
            f"N={self.N}, B={self.B}, C={self.C}, {'masked' if self.masked else 'no mask'}"
            f"{', cauchy' if self.dist == 'cauchy' else ''}"
        )


def _upstream(prefix: str, rows: list[tuple[int, int, int, bool, str]]) -> tuple[Case, ...]:
    return tuple(
        Case(f"{prefix}{i}", n, b, c, "ones_f32" if nomask else "rand_i64", dist)
        for i, (n, b, c, nomask, dist) in enumerate(rows)
    )


#: docs/kernels.md#the-problem-and-its-cases: upstream task.yml `tests:` (N, B, C, nomask, dist). The published seeds
#: are not used.
TESTS = _upstream(
    "test",
    [
        (32, 1, 128, True, "normal"),
        (32, 1, 128, False, "normal"),
        (64, 2, 256, True, "normal"),
        (64, 2, 256, False, "normal"),
        (128, 1, 768, True, "normal"),
        (256, 1, 128, True, "normal"),
        (256, 1, 128, False, "normal"),
        (768, 2, 128, True, "normal"),
        (1024, 1, 384, False, "normal"),
        (1024, 1, 768, True, "normal"),
        (1024, 1, 768, False, "normal"),
        (32, 1, 128, True, "cauchy"),
        (64, 2, 256, True, "cauchy"),
        (128, 1, 768, True, "cauchy"),
        (256, 1, 128, True, "cauchy"),
        (768, 2, 128, True, "cauchy"),
        (1024, 1, 384, False, "cauchy"),
        (1024, 1, 768, False, "cauchy"),
    ],
)
#: docs/kernels.md#the-problem-and-its-cases: upstream task.yml `benchmarks:`, the scored shapes.
BENCHMARKS = _upstream(
    "bench",
    [
        (256, 2, 128, True, "normal"),
        (768, 1, 128, True, "cauchy"),
        (256, 2, 384, False, "normal"),
        (512, 1, 128, True, "normal"),
        (1024, 1, 128, True, "cauchy"),
        (768, 1, 384, False, "normal"),
        (1024, 1, 384, True, "normal"),
    ],
)
#: docs/kernels.md#the-problem-and-its-cases: mask content decoupled from its dtype (skipped under gpumode_compat).
CONTRACT = (Case("c0", 64, 2, 256, "rand_f32", "normal"), Case("c1", 256, 1, 128, "ones_i64", "cauchy"))
#: docs/kernels.md#the-problem-and-its-cases: CPU dev cases; d5-d8 run only for PyTorch-only submissions.
DEV = (
    Case("d0", 32, 1, 128, "ones_f32", "normal"),
    Case("d1", 32, 1, 128, "rand_i64", "normal"),
    Case("d2", 32, 1, 128, "rand_i64", "cauchy"),
    Case("d3", 32, 1, 128, "rand_f32", "normal"),
    Case("d4", 32, 1, 128, "ones_i64", "cauchy"),
    Case("d5", 64, 2, 256, "rand_i64", "normal"),
    Case("d6", 64, 2, 256, "ones_f32", "cauchy"),
    Case("d7", 128, 1, 768, "ones_f32", "cauchy"),
    Case("d8", 256, 1, 128, "rand_i64", "normal"),
)
DEV_TRITON = DEV[:5]


def compat_case(case: Case) -> Case:
    """gpumode-compat/1 (docs/kernels.md#gpumode-compat): upstream's effective behaviour, a float32 all-ones mask
    everywhere."""
    return dataclasses.replace(case, mask="ones_f32")


def derive_seed(secret: bytes, protocol: str, phase: str, case: str | int, trial: int) -> int:
    """docs/kernels.md#secret-and-seeds: a 63-bit seed per (phase, case, trial) from the run's secret."""
    msg = f"trimul|{protocol}|{phase}|{case}|{trial}".encode()
    return int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest()[:8], "big") & (2**63 - 1)


def generate(case: Case, seed: int, device: str = "cpu", hidden: int = H) -> tuple[Any, Any, dict[str, Any]]:
    """Draw (x, mask, weights) for `case` from one torch.Generator seeded with `seed`
    (docs/kernels.md#the-problem-and-its-cases order)."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    B, N, C = case.B, case.N, case.C
    f32 = torch.float32
    if case.dist == "normal":
        x = torch.randn((B, N, N, C), generator=g, device=device, dtype=f32)
    elif case.dist == "cauchy":
        u = torch.empty((B, N, N, C), device=device, dtype=f32).uniform_(0, 1, generator=g)
        x = 2.0 * torch.tan(math.pi * (u - 0.5))
    else:
        raise ValueError(f"unknown distribution {case.dist!r}")
    if case.mask.startswith("ones"):
        mask = torch.ones((B, N, N), device=device, dtype=f32)
    else:
        mask = torch.randint(0, 2, (B, N, N), generator=g, device=device)
    mask = mask.to(torch.int64 if case.mask.endswith("i64") else f32)
    w: dict[str, Any] = {}
    w["norm.weight"] = torch.randn((C,), generator=g, device=device, dtype=f32)
    w["norm.bias"] = torch.randn((C,), generator=g, device=device, dtype=f32)
    for name in ("left_proj", "right_proj", "left_gate", "right_gate", "out_gate"):
        w[f"{name}.weight"] = torch.randn((hidden, C), generator=g, device=device, dtype=f32) / math.sqrt(hidden)
    w["to_out_norm.weight"] = torch.randn((hidden,), generator=g, device=device, dtype=f32)
    w["to_out.weight"] = torch.randn((C, hidden), generator=g, device=device, dtype=f32) / math.sqrt(C)
    w["to_out_norm.bias"] = torch.randn((hidden,), generator=g, device=device, dtype=f32)
    return x, mask, {k: w[k] for k in WEIGHT_ORDER}


def reference(x: Any, mask: Any, weights: dict[str, Any]) -> Any:
    """The fp32 forward pass of docs/kernels.md#the-problem-and-its-cases (any hidden size, taken from the weights).
    Precision flags are the caller's job: R pins them (see `pin_precision`)."""
    import torch
    import torch.nn.functional as F

    C = x.shape[-1]
    hidden = weights["left_proj.weight"].shape[0]
    xn = F.layer_norm(x, (C,), weights["norm.weight"], weights["norm.bias"], EPS)
    m = mask.to(x.dtype).unsqueeze(-1)
    left = F.linear(xn, weights["left_proj.weight"]) * m * torch.sigmoid(F.linear(xn, weights["left_gate.weight"]))
    right = F.linear(xn, weights["right_proj.weight"]) * m * torch.sigmoid(F.linear(xn, weights["right_gate.weight"]))
    gate = torch.sigmoid(F.linear(xn, weights["out_gate.weight"]))
    del xn
    # O[b,i,j,d] = sum_k L[b,i,k,d] R[b,j,k,d]: one N×N matrix product per (b, d).
    lt = left.permute(0, 3, 1, 2).reshape(-1, left.shape[1], left.shape[2])
    rt = right.permute(0, 3, 2, 1).reshape(-1, right.shape[2], right.shape[1])
    del left, right
    o = torch.bmm(lt, rt).reshape(x.shape[0], hidden, x.shape[1], x.shape[2]).permute(0, 2, 3, 1)
    del lt, rt
    o = F.layer_norm(o, (hidden,), weights["to_out_norm.weight"], weights["to_out_norm.bias"], EPS)
    return F.linear(o * gate, weights["to_out.weight"]).contiguous()


def pin_precision() -> dict[str, bool | str]:
    """Set every precision flag of this process to exact fp32 (docs/kernels.md#the-problem-and-its-cases); return what
    was set."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    return {"matmul.allow_tf32": False, "cudnn.allow_tf32": False, "float32_matmul_precision": "highest"}


def add_canaries(x: Any, seed: int) -> tuple[Any, Any]:
    """docs/kernels.md#one-call: one (k, c) position per (b, i) row set to ±1e3. Returns (flat indices, true values);
    `x` is modified in place."""
    import torch

    B, N, _, C = x.shape
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed) ^ 0x5DEECE66D)
    k = torch.randint(0, N, (B * N,), generator=g)
    c = torch.randint(0, C, (B * N,), generator=g)
    sign = torch.randint(0, 2, (B * N,), generator=g).to(torch.float32) * 2 - 1
    rows = torch.arange(B * N)  # row r = b*N + i
    flat = (rows * N + k) * C + c
    flat = flat.to(x.device)
    xf = x.view(-1)
    true = xf[flat].clone()
    xf[flat] = (sign * 1e3).to(x.device)
    return flat, true


def compare(out: Any, ref: Any, max_listed: int = 5) -> dict[str, Any]:
    """docs/kernels.md#the-problem-and-its-cases rules 2 and 3 on tensors of equal shape: every element within
    0.02 + 0.02·|ref| and equal NaN/±inf patterns. Returns the report of docs/kernels.md#the-problem-and-its-cases
    (`ok`, `n_bad`, `max_abs`, `max_ratio`, `rel_l2`, `bad`)."""
    import torch

    o = out.to(torch.float32)
    r = ref.to(torch.float32)
    finite = torch.isfinite(o) & torch.isfinite(r)
    all_finite = bool(finite.all())
    if all_finite:
        pattern_bad = None
        delta = o - r
    else:
        pattern_bad = (
            (torch.isnan(o) != torch.isnan(r))
            | (torch.isposinf(o) != torch.isposinf(r))
            | (torch.isneginf(o) != torch.isneginf(r))
        )
        delta = torch.where(finite, o - r, torch.zeros_like(o))
    diff = delta.abs()
    tol = torch.where(finite, r, torch.zeros_like(r)).abs_().mul_(RTOL).add_(ATOL)
    bad = ~(diff <= tol)
    if pattern_bad is not None:
        bad = (bad & finite) | pattern_bad
    n_bad = int(bad.sum())
    ratio = diff.div_(tol)  # diff is not needed after this
    report: dict[str, Any] = {
        "ok": n_bad == 0,
        "n_bad": n_bad,
        "n": int(o.numel()),
        "max_abs": float(delta.abs().max()) if o.numel() else 0.0,
        "max_ratio": float(ratio.max()) if o.numel() else 0.0,
    }
    rf = r if all_finite else torch.where(finite, r, torch.zeros_like(r))
    den = float(torch.linalg.vector_norm(rf))
    num = float(torch.linalg.vector_norm(delta))
    report["rel_l2"] = num / den if den > 0 else num
    if n_bad:
        idx = bad.nonzero()[:max_listed]
        report["bad"] = [
            {"index": [int(v) for v in row], "out": _num(o[tuple(row)]), "ref": _num(r[tuple(row)])}
            for row in idx.tolist()
        ]
        worst = torch.argmax(
            torch.where(
                bad, torch.where(finite, ratio, torch.full_like(ratio, float("inf"))), torch.full_like(ratio, -1.0)
            )
        )
        report["worst_index"] = list(_unravel(int(worst), tuple(o.shape)))
    return report


def _num(t: Any) -> float | str:
    v = float(t)
    return v if math.isfinite(v) else str(v)


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for s in reversed(shape):
        out.append(flat % s)
        flat //= s
    return tuple(reversed(out))


def failure_message(case: Case, report: dict[str, Any], phase: str) -> str:
    """The one-sentence message of docs/kernels.md#reward-and-statuses for a failed comparison."""
    where = ",".join(map(str, report.get("worst_index", [])))
    ratio = report.get("max_ratio", float("nan"))
    ratio_s = f"ratio {ratio:.3g}" if math.isfinite(ratio) else "NaN/inf pattern differs"
    return (
        f"Output is wrong on {phase} {case.id} ({case.describe()}): {report['n_bad']:,} of {report['n']:,} "
        f"elements exceed |out−ref| ≤ 0.02+0.02·|ref| or differ in NaN/inf pattern, worst at ({where}) "
        f"({ratio_s}); reproduce with debug_secret from details."
    )
