"""AHC039 (Purse Seine Fishing) input generator, a bit-exact port of ``gen(seed)`` in the official
``tools/src/lib.rs`` (docs/atcoder.md#generators).

One ``ChaCha20Rng::seed_from_u64(seed)``; N = 5000 mackerels, then N = 5000 sardines, drawn from a
mixture of 10..=25 Gaussian clusters per pass; candidates that fall outside [0, 10^5]^2 or on an
already placed fish (of either kind) are rejected, after both normals have been drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifiers.atcoder.rng import RustRng, WeightedIndex, rust_round

__all__ = ["D", "N", "PassTrace", "Trace", "generate", "generate_with_trace"]

N = 5000
D = 100_000


@dataclass
class PassTrace:
    """Intermediate values of one pass (0 = mackerels, 1 = sardines), for tests and debugging."""

    n: int
    weights: list[float]
    centers: list[tuple[int, int]]
    sigmas: list[float]
    words_after_params: int
    words_after_pass: int = 0
    candidates: int = 0
    duplicates: int = 0
    out_of_range: int = 0
    first_candidates: list[tuple[int, float, float, int, int]] = field(default_factory=list)


@dataclass
class Trace:
    seed: int
    passes: list[PassTrace] = field(default_factory=list)


def _generate(seed: int, trace: Trace | None) -> str:
    rng = RustRng.seed_from_u64(seed)
    seen: set[tuple[int, int]] = set()
    lines = [f"{N}\n"]
    append = lines.append
    for pass_ in range(2):
        n = rng.gen_range(10, 25, inclusive=True)
        weights = [rng.gen_f64() for _ in range(n)]
        centers = []
        for _ in range(n):
            cx = rng.gen_range(20000, 80000, inclusive=True)
            cy = rng.gen_range(20000, 80000, inclusive=True)
            centers.append((cx, cy))
        sigmas = [float(rng.gen_range(1000, 5000, inclusive=True)) for _ in range(n)]
        pt = None
        if trace is not None:
            pt = PassTrace(n, weights, centers, sigmas, rng.words_consumed)
            trace.passes.append(pt)

        # choose_weighted rebuilds the same WeightedIndex for every point; build it once.
        dist = WeightedIndex(weights)
        fcenters = [(float(cx), float(cy)) for cx, cy in centers]
        normal = rng.standard_normal
        target = N * (pass_ + 1)
        while len(seen) < target:
            i = dist.sample(rng)
            bx = normal()
            by = normal()
            fcx, fcy = fcenters[i]
            s = sigmas[i]
            # (cx + s * b).round() as i64: an f64 product, then an f64 sum, then half-away rounding.
            x = int(rust_round(fcx + s * bx))
            y = int(rust_round(fcy + s * by))
            if pt is not None:
                pt.candidates += 1
                if len(pt.first_candidates) < 3:
                    pt.first_candidates.append((i, bx, by, x, y))
            if 0 <= x <= D and 0 <= y <= D:
                p = (x, y)
                if p not in seen:
                    seen.add(p)
                    append(f"{x} {y}\n")
                elif pt is not None:
                    pt.duplicates += 1
            elif pt is not None:
                pt.out_of_range += 1
        if pt is not None:
            pt.words_after_pass = rng.words_consumed
    return "".join(lines)


def generate(seed: int) -> str:
    """The AHC039 input file for ``seed`` (a u64), byte for byte as the official generator writes it."""
    return _generate(seed, None)


def generate_with_trace(seed: int) -> tuple[str, Trace]:
    """Like :func:`generate`, also returning the per-pass intermediate values (:class:`Trace`)."""
    trace = Trace(seed)
    return _generate(seed, trace), trace
