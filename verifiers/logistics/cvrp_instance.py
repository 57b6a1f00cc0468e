"""CVRP instances and solutions: the trusted VRPLIB reader, the exact CVRPLIB cost and the route check.

Cost convention (CVRPLIB, TSPLIB EUC_2D): the length of an edge is the Euclidean distance rounded to
the nearest integer, nint(d) = floor(d + 1/2), each edge rounded before summing. It is computed here in
exact integer (or rational) arithmetic, never in floating point. Numbering (as in CVRPLIB ``.sol``
files): customers are 1..n-1 and the depot is implicit at both ends of a route; customer k is node
k+1 of the ``.vrp`` file, whose node 1 is the depot. Nothing is ever repaired: a route that breaks a
rule is rejected with a sentence naming the route and the customer.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

#: a user's own instance file: at most this many nodes (depot included) and this many bytes
MAX_DIMENSION = 20_001
MAX_VRP_BYTES = 16 << 20
_NUMBER = re.compile(r"[+-]?(\d{1,15}(\.\d{0,15})?|\.\d{1,15})([eE][+-]?\d{1,2})?\Z")  # no 1e999999
_KNOWN_KEYS = {"NAME", "COMMENT", "TYPE", "DIMENSION", "EDGE_WEIGHT_TYPE", "CAPACITY"}
#: keys that add constraints or data this verifier does not score (it scores plain CVRP)
_UNSUPPORTED_KEYS = {"DISTANCE", "SERVICE_TIME", "VEHICLES", "EDGE_WEIGHT_FORMAT", "NODE_COORD_TYPE"}
_SECTIONS = {"NODE_COORD_SECTION", "DEMAND_SECTION", "DEPOT_SECTION"}
_WORD_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*(:?)(.*)\Z")


#: a coordinate (or a difference of two): an int, or a Fraction for a decimal coordinate
Coord = int | Fraction


class InstanceError(ValueError):
    """A malformed or unsupported VRPLIB file; the message is one sentence naming the line."""


class RouteError(ValueError):
    """An invalid solution; the message names the route and the customer."""


@dataclasses.dataclass(frozen=True)
class Instance:
    """A CVRP instance in solution numbering: index 0 is the depot, index k is customer k."""

    name: str
    capacity: int
    xs: tuple[Coord, ...]  # ints, or Fractions for decimal coordinates
    ys: tuple[Coord, ...]
    demands: tuple[int, ...]  # demands[0] = 0 (the depot)
    comment: str = ""
    path: str = ""

    @property
    def dimension(self) -> int:
        return len(self.xs)

    @property
    def n_customers(self) -> int:
        return len(self.xs) - 1

    @property
    def integral(self) -> bool:
        return all(type(v) is int for v in self.xs + self.ys)

    def dist(self, i: int, j: int) -> int:
        """nint(Euclidean distance) between indices i and j, exactly."""
        dx, dy = self.xs[i] - self.xs[j], self.ys[i] - self.ys[j]
        return nint_sqrt(dx * dx + dy * dy)

    def route_cost(self, route: Iterable[int]) -> int:
        prev, total = 0, 0
        for c in route:
            total += self.dist(prev, c)
            prev = c
        return total + self.dist(prev, 0)

    def star_cost(self) -> int:
        """The cost of serving every customer on its own route (always feasible: each demand ≤ capacity)."""
        return sum(2 * self.dist(0, c) for c in range(1, self.dimension))

    def for_program(self) -> dict[str, Any]:
        """What a submitted program receives (JSON): index 0 is the depot, index k is customer k."""

        def num(v: Any) -> int | float:
            return v if type(v) is int else float(v)

        return {
            "name": self.name,
            "n_customers": self.n_customers,
            "capacity": self.capacity,
            "coords": [[num(x), num(y)] for x, y in zip(self.xs, self.ys)],
            "demands": list(self.demands),
            "depot": 0,
            "distance": "nint(euclidean): floor(sqrt(dx*dx + dy*dy) + 0.5), per edge",
        }


def nint_sqrt(q: Coord) -> int:
    """floor(sqrt(q) + 1/2) for a non-negative int or Fraction, exactly (no floating point)."""
    if type(q) is int:
        r = math.isqrt(q)
        return r + (q > r * r + r)  # sqrt(q) ≥ r + 1/2  ⟺  q ≥ r² + r + 1/4  ⟺  q > r² + r
    r = math.isqrt(math.floor(q))
    return r + (q >= Fraction(2 * r + 1, 2) ** 2)


def _number(tok: str, where: str) -> Coord:
    if not _NUMBER.match(tok):
        raise InstanceError(f"{where}: {tok[:30]!r} is not a number (or has more than 15 digits)")
    if re.fullmatch(r"[+-]?\d+", tok):
        return int(tok)
    v = Fraction(tok)
    return v.numerator if v.denominator == 1 else v


def _integer(tok: str, where: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,18}", tok):
        raise InstanceError(f"{where}: {tok[:30]!r} is not an integer")
    return int(tok)


def parse_vrp(text: str, where: str = "the instance file") -> Instance:
    """Read a VRPLIB CVRP file (CRLF or LF, tabs or spaces). Only EUC_2D with one depot, node 1."""
    if len(text) > MAX_VRP_BYTES:
        raise InstanceError(f"{where} is larger than {MAX_VRP_BYTES >> 20} MiB")
    header: dict[str, str] = {}
    coords: dict[int, tuple[Coord, Coord]] = {}
    demands: dict[int, int] = {}
    depots: list[int] = []
    section = None
    dimension = None
    ended_depots = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        at = f"{where}, line {lineno}"
        if not line:
            continue
        if line == "EOF":
            break
        m = _WORD_LINE.match(line)
        if m:
            key, colon, value = m.group(1), m.group(2), m.group(3).strip()
            if key.upper().endswith("_SECTION"):
                if key not in _SECTIONS:
                    raise InstanceError(
                        f"{at}: section {key[:40]} is not supported (this verifier reads "
                        "NODE_COORD_SECTION, DEMAND_SECTION and DEPOT_SECTION of a plain CVRP)"
                    )
                section = key
                continue
            if not colon:
                raise InstanceError(f"{at}: {line[:40]!r} is neither 'KEY : value', a section name nor numbers")
            if key in _UNSUPPORTED_KEYS:
                raise InstanceError(
                    f"{at}: {key} is not supported (this verifier scores plain CVRP: capacity only, "
                    "unlimited vehicles, EUC_2D)"
                )
            if key not in _KNOWN_KEYS:
                raise InstanceError(f"{at}: unknown key {key[:30]!r}; expected one of {', '.join(sorted(_KNOWN_KEYS))}")
            if key in header:
                raise InstanceError(f"{at}: {key} is given twice")
            header[key] = value
            if key == "DIMENSION":
                dimension = _integer(value, at)
                if not 2 <= dimension <= MAX_DIMENSION:
                    raise InstanceError(
                        f"{at}: DIMENSION {dimension} is outside 2..{MAX_DIMENSION} "
                        "(the depot and at least one customer)"
                    )
            section = None
            continue
        toks = line.split()
        if section is None:
            raise InstanceError(f"{at}: {line[:40]!r} is outside any section; expected 'KEY : value' or a section name")
        if dimension is None:
            raise InstanceError(f"{at}: DIMENSION must come before {section}")
        if section == "DEPOT_SECTION":
            if ended_depots:
                raise InstanceError(f"{at}: data after the -1 that ends DEPOT_SECTION")
            for tok in toks:
                v = _integer(tok, at)
                if v == -1:
                    ended_depots = True
                else:
                    depots.append(v)
            continue
        want = 3 if section == "NODE_COORD_SECTION" else 2
        if len(toks) != want:
            raise InstanceError(
                f"{at}: {section} lines have {want} fields ('node x y' or 'node demand'), this one has {len(toks)}"
            )
        node = _integer(toks[0], at)
        if not 1 <= node <= dimension:
            raise InstanceError(f"{at}: node {node} is outside 1..{dimension} (DIMENSION)")
        table = coords if section == "NODE_COORD_SECTION" else demands
        if node in table:
            raise InstanceError(f"{at}: node {node} appears twice in {section}")
        if section == "NODE_COORD_SECTION":
            coords[node] = (_number(toks[1], at), _number(toks[2], at))
        else:
            d = _integer(toks[1], at)
            if d < 0:
                raise InstanceError(f"{at}: node {node} has a negative demand {d}")
            demands[node] = d
    for key in ("DIMENSION", "CAPACITY"):
        if key not in header:
            raise InstanceError(f"{where} has no {key} line")
    assert dimension is not None  # set with the DIMENSION line
    if header.get("TYPE", "CVRP").split()[0] != "CVRP":
        raise InstanceError(f"{where}: TYPE is {header['TYPE'][:20]!r}; only CVRP is supported")
    if header.get("EDGE_WEIGHT_TYPE", "") != "EUC_2D":
        raise InstanceError(
            f"{where}: EDGE_WEIGHT_TYPE is {header.get('EDGE_WEIGHT_TYPE', '(missing)')[:20]!r}; "
            "only EUC_2D (rounded Euclidean, the CVRPLIB convention) is supported"
        )
    capacity = _integer(header["CAPACITY"], f"{where}, CAPACITY")
    if capacity <= 0:
        raise InstanceError(f"{where}: CAPACITY must be positive, not {capacity}")
    for table, sec in ((coords, "NODE_COORD_SECTION"), (demands, "DEMAND_SECTION")):
        if len(table) != dimension:
            missing = next(k for k in range(1, dimension + 1) if k not in table)
            raise InstanceError(f"{where}: {sec} has {len(table)} of {dimension} nodes (node {missing} is missing)")
    if depots != [1]:
        raise InstanceError(
            f"{where}: DEPOT_SECTION must hold exactly the depot 1 followed by -1 (got {depots[:5]}); "
            "the solution numbering needs node 1 to be the only depot"
        )
    if demands[1] != 0:
        raise InstanceError(f"{where}: the depot (node 1) has demand {demands[1]}; it must be 0")
    over = next((k for k in range(2, dimension + 1) if demands[k] > capacity), None)
    if over is not None:
        raise InstanceError(
            f"{where}: node {over} has demand {demands[over]} > CAPACITY {capacity}, so no solution exists"
        )
    nodes = range(1, dimension + 1)
    return Instance(
        name=header.get("NAME", "").strip() or "unnamed",
        capacity=capacity,
        xs=tuple(coords[k][0] for k in nodes),
        ys=tuple(coords[k][1] for k in nodes),
        demands=tuple(demands[k] for k in nodes),
        comment=header.get("COMMENT", "").strip().strip('"'),
    )


# -- solutions -------------------------------------------------------------------------------------
_ROUTE_LINE = re.compile(r"\s*Route\s*#\s*(\d+)\s*:(.*)\Z", re.IGNORECASE)
_COST_LINE = re.compile(r"\s*Cost\s*:?\s*(\S+)\s*\Z", re.IGNORECASE)


def looks_like_sol(text: str) -> bool:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return bool(_ROUTE_LINE.match(first))


def parse_sol(text: str) -> tuple[list[list[Any]], str | None]:
    """(routes as tokens, the Cost line's text or None). The Cost line is kept only to be reported:
    the score is always recomputed from the routes. Tokens that are not integers stay strings, so the
    route check names them."""
    routes: list[list[Any]] = []
    claimed = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _ROUTE_LINE.match(line)
        if m:
            routes.append([int(t) if re.fullmatch(r"[+-]?\d{1,18}", t) else t for t in m.group(2).split()])
            continue
        c = _COST_LINE.match(line)
        if c and claimed is None:
            claimed = c.group(1)
            continue
        raise RouteError(
            f"line {lineno} of the .sol text is neither 'Route #k: customers…' nor one 'Cost N' line "
            f"({line.strip()[:40]!r})"
        )
    return routes, claimed


class FloatToken:
    """A JSON number written with a fraction or exponent (3.0, 1e2): refused, customers are integers."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _describe(v: Any) -> str:
    if isinstance(v, FloatToken):
        return f"{v.text[:20]}, a float (customers are integers; no floats, even whole ones)"
    if type(v) is bool:
        return f"{'true' if v else 'false'}, a boolean (customers are integers)"
    if type(v) is str:
        return f"{v[:20]!r}, not an integer"
    if v is None:
        return "null, not an integer"
    return f"{'a list' if type(v) is list else 'an object' if type(v) is dict else type(v).__name__}, not an integer"


def check_routes(routes: Any, inst: Instance) -> dict[str, Any]:
    """Validate routes (lists of customer numbers) and return the exact cost and per-route data.
    Raises RouteError naming the route (#k counted from 1, index k-1) and the customer."""
    n = inst.n_customers
    if type(routes) is not list:
        raise RouteError(f"the routes must be a list of lists of customer numbers, not {_describe(routes)}")
    if not routes:
        raise RouteError(f"no routes: every customer 1..{n} must be visited")
    seen: dict[int, tuple[int, int]] = {}
    costs, loads = [], []
    for r, route in enumerate(routes):
        name = f"route #{r + 1} (index {r})"
        if type(route) is not list:
            raise RouteError(f"{name} is {_describe(route).split(',')[0]}; each route is a list of customer numbers")
        if not route:
            raise RouteError(f"{name} is empty; leave unused vehicles out (every route visits at least one customer)")
        load = 0
        for p, c in enumerate(route):
            if type(c) is not int:
                raise RouteError(f"{name}, position {p}: {_describe(c)}")
            if c == 0:
                raise RouteError(
                    f"{name}, position {p}: 0 is the depot; routes list customers 1..{n} only and the "
                    "depot is implicit at both ends (a return to the depot starts a new route)"
                )
            if not 1 <= c <= n:
                raise RouteError(
                    f"{name}, position {p}: customer {c} does not exist (customers are 1..{n}; "
                    f"customer k is node k+1 of the .vrp file)"
                )
            if c in seen:
                r0, p0 = seen[c]
                raise RouteError(
                    f"customer {c} is visited twice: route #{r0 + 1} (index {r0}) position {p0} and "
                    f"{name} position {p}; every customer is visited exactly once"
                )
            seen[c] = (r, p)
            load += inst.demands[c]
            if load > inst.capacity:
                raise RouteError(
                    f"{name} carries more than the capacity {inst.capacity}: the load reaches {load} at "
                    f"customer {c} (position {p}); the route's total demand is "
                    f"{sum(inst.demands[x] for x in route if type(x) is int and 1 <= x <= n)}"
                )
        loads.append(load)
        costs.append(inst.route_cost(route))
    if len(seen) != n:
        missing = [c for c in range(1, n + 1) if c not in seen]
        shown = ", ".join(map(str, missing[:10])) + (", …" if len(missing) > 10 else "")
        raise RouteError(
            f"{len(missing)} customer{'s are' if len(missing) > 1 else ' is'} not visited by any route: "
            f"{shown}; every customer 1..{n} is visited exactly once"
        )
    return {"cost": sum(costs), "route_costs": costs, "loads": loads, "routes_count": len(routes)}
