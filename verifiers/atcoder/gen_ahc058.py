"""AHC058 (production planning) input generator, a bit-exact port of ``gen(seed)`` in the official
``tools/src/lib.rs`` (docs/atcoder.md#generators).

``A[0] = 1`` and ``A[j] = round(10^U)`` for j = 1..9 with ``U = gen_range(0.0..=2.0)``, sorted; then
``C[i][j] = round(A[j] as f64 * 500^i * 10^U)`` row-major with a fresh U, except ``C[0][0] = 1`` (no
draw). 48 draws of one u64 each.
"""

from __future__ import annotations

from verifiers.atcoder.rng import RustRng, UniformFloat, f64_as_i64, rust_round

__all__ = ["K", "L", "N", "T", "generate", "generate_parameters"]

N = 10
L = 4
T = 500
K = 1


def generate_parameters(seed: int) -> tuple[list[int], list[int], list[list[int]]]:
    """``(A before sorting, A sorted, C)`` for ``seed`` (a u64)."""
    rng = RustRng.seed_from_u64(seed)
    u02 = UniformFloat.new_inclusive(0.0, 2.0)  # gen_range(0.0..=2.0) builds exactly this each call
    a = [1]
    for _ in range(1, N):
        a.append(f64_as_i64(rust_round(10.0 ** u02.sample(rng))))
    a_unsorted = list(a)
    a.sort()
    c = []
    for level in range(L):
        p = float(500**level)  # 500f64.powi(level), exact
        row = []
        for j in range(N):
            if level == 0 and j == 0:
                row.append(1)
                continue
            u = u02.sample(rng)
            row.append(f64_as_i64(rust_round(float(a[j]) * p * 10.0**u)))
        c.append(row)
    return a_unsorted, a, c


def generate(seed: int) -> str:
    """The AHC058 input file for ``seed`` (a u64), byte for byte as the official generator writes it."""
    _, a, c = generate_parameters(seed)
    lines = [f"{N} {L} {T} {K}", " ".join(map(str, a))]
    lines.extend(" ".join(map(str, row)) for row in c)
    return "\n".join(lines) + "\n"
