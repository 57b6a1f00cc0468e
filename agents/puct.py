"""The state archive and its samplers (docs/agent.md#one-step).

The archive keeps every valid state found so far (bounded), with visit statistics, and picks the
start states of each step. PUCT balances exploiting states whose children were good (Q) against
exploring rarely visited, well-ranked states (the prior term). Pure Python: states are dicts in the
shape of ``tttd_envs.state.State`` so the archive can be saved as readable JSON lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
from typing import Any


@dataclasses.dataclass
class ArchiveConfig:
    sampler: str = "puct"  # puct | greedy | fixed
    c: float = 1.0  # PUCT exploration constant
    cap: int = 1000  # most states kept (initial states are never evicted)
    topk_children: int = 2  # most children kept per parent (best by value)
    fill: str = "repeat"  # when lineage blocking leaves too few states: repeat | shrink
    greedy_eps: float = 0.0  # greedy: chance of a uniformly random state per pick
    scale_floor: float = 1e-6
    visit_unit: int = 1  # G in sqrt(1 + T/G) / (1 + n/G): 1 as the reference ran (its G=1
    # override); the group size counts visits in groups, as its formula says


def _dedup_key(state: dict) -> str:
    """Two states are the same answer when their constructions match (or, with no construction,
    their artifacts)."""
    c = state.get("construction")
    payload = json.dumps(c, separators=(",", ":")) if c is not None else "artifact:" + (state.get("artifact") or "")
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class Archive:
    """States with n (visits), m (best child value seen) and T (total expansions)."""

    def __init__(self, config: ArchiveConfig | None = None) -> None:
        self.config = config or ArchiveConfig()
        self.states: dict[str, dict] = {}  # id -> state dict, in insertion order
        self.initial: set[str] = set()
        self.n: dict[str, int] = {}
        self.m: dict[str, float | None] = {}
        self.T = 0
        self._keys: dict[str, str] = {}  # dedup key -> id

    # -- building ------------------------------------------------------------------------------
    def add_initial(self, state: dict) -> None:
        self._put(state)
        self.initial.add(state["id"])

    def _put(self, state: dict) -> None:
        sid = state["id"]
        self.states[sid] = state
        self.n.setdefault(sid, 0)
        self.m.setdefault(sid, None)
        self._keys[_dedup_key(state)] = sid

    def _remove(self, sid: str) -> None:
        st = self.states.pop(sid)
        self._keys.pop(_dedup_key(st), None)
        self.n.pop(sid, None)
        self.m.pop(sid, None)

    # -- statistics ----------------------------------------------------------------------------
    def record(self, parent_id: str, child: dict | None) -> bool:
        """Book one rollout from ``parent_id``: visits go to the parent and all its ancestors, T += 1;
        a valid child (value not None) raises m[parent] and is inserted. Returns True if inserted."""
        parent = self.states.get(parent_id)
        self.T += 1
        if parent is not None:
            for sid in [*parent.get("lineage", []), parent_id]:
                if sid in self.n:
                    self.n[sid] += 1
        if child is None or child.get("value") is None:
            return False
        v = float(child["value"])
        if parent is not None:
            best_child = self.m[parent_id]
            self.m[parent_id] = v if best_child is None else max(best_child, v)
        return self.insert(child)

    def insert(self, child: dict) -> bool:
        """Insert a valid child: drop duplicates, keep the best ``topk_children`` per parent, cap the
        archive by value without evicting initial states."""
        if child["id"] in self.states or _dedup_key(child) in self._keys:
            return False
        self._put(child)
        pid = child.get("parent_id")
        siblings = [s for s in self.states.values() if s.get("parent_id") == pid and s["id"] not in self.initial]
        if len(siblings) > self.config.topk_children:
            pos = self._positions()
            siblings.sort(key=lambda s: (s["value"], -pos[s["id"]]), reverse=True)
            for s in siblings[self.config.topk_children :]:
                self._remove(s["id"])
        if len(self.states) > self.config.cap:
            evictable = [s for s in self.states.values() if s["id"] not in self.initial]
            pos = self._positions()
            evictable.sort(key=lambda s: (_v(s), -pos[s["id"]]))
            for s in evictable[: len(self.states) - self.config.cap]:
                self._remove(s["id"])
        return child["id"] in self.states

    def _positions(self) -> dict[str, int]:
        """Insertion order of every state (ties are broken by it), computed once per sort."""
        return {sid: k for k, sid in enumerate(self.states)}

    # -- scoring and selection -----------------------------------------------------------------
    def scores(self) -> dict[str, float]:
        """PUCT score Q + c · scale · P · sqrt(1 + T/G) / (1 + n/G) for every state (G = visit_unit)."""
        ids = list(self.states)
        N = len(ids)
        known = [_v(self.states[i]) for i in ids if self.states[i].get("value") is not None]
        floor = min(known) if known else 0.0
        vals = {i: (self.states[i]["value"] if self.states[i].get("value") is not None else floor) for i in ids}
        non_init = [vals[i] for i in ids if i not in self.initial]
        pool = non_init if non_init else list(vals.values())
        scale = max(max(pool) - min(pool), self.config.scale_floor) if pool else self.config.scale_floor
        pos = self._positions()
        ranked = sorted(ids, key=lambda i: (-_v(self.states[i]), pos[i]))
        rank = {sid: r for r, sid in enumerate(ranked)}
        denom = sum(N - rank[i] for i in ids)
        G = max(1, int(self.config.visit_unit))
        out = {}
        for i in ids:
            m_i = self.m[i]
            q = m_i if (self.n[i] > 0 and m_i is not None) else vals[i]
            p = (N - rank[i]) / denom
            out[i] = q + self.config.c * scale * p * math.sqrt(1 + self.T / G) / (1 + self.n[i] / G)
        return out

    def lineage_of(self, sid: str) -> set[str]:
        """The state, all its ancestors and all its descendants."""
        st = self.states[sid]
        block = {sid, *st.get("lineage", [])}
        for other in self.states.values():
            if sid in other.get("lineage", []):
                block.add(other["id"])
        return block

    def select(self, k: int, rng: random.Random | None = None) -> list[dict]:
        """``k`` start states. PUCT: best score first, blocking each pick's lineage; when fewer than
        k unblocked states exist, ``fill="repeat"`` cycles through the picks again (every step has k
        groups) while ``fill="shrink"`` returns fewer (the reference implementation's behaviour)."""
        cfg = self.config
        ids = list(self.states)
        if not ids:
            raise ValueError("the archive is empty")
        if cfg.sampler == "fixed":
            init = [i for i in ids if i in self.initial]
            return [self.states[init[j % len(init)]] for j in range(k)]
        if cfg.sampler == "greedy":
            rng = rng or random.Random(0)
            pos = self._positions()
            order = sorted(ids, key=lambda i: (-_v(self.states[i]), pos[i]))
            picks = []
            for j in range(k):
                if cfg.greedy_eps > 0 and rng.random() < cfg.greedy_eps:
                    picks.append(self.states[rng.choice(ids)])
                else:
                    picks.append(self.states[order[j % len(order)]])
            return picks
        if cfg.sampler != "puct":
            raise ValueError(f"unknown sampler {cfg.sampler!r}; use puct, greedy or fixed")
        sc = self.scores()
        pos = self._positions()
        order = sorted(ids, key=lambda i: (-sc[i], -_v(self.states[i]), pos[i]))
        chosen: list[str] = []
        blocked: set[str] = set()
        for i in order:
            if len(chosen) == k:
                break
            if i in blocked:
                continue
            chosen.append(i)
            blocked |= self.lineage_of(i)
        if cfg.fill == "repeat":
            chosen = [chosen[j % len(chosen)] for j in range(k)]
        elif cfg.fill != "shrink":
            raise ValueError(f"unknown fill {cfg.fill!r}; use repeat or shrink")
        return [self.states[i] for i in chosen]

    def best(self) -> dict | None:
        valued = [s for s in self.states.values() if s.get("value") is not None]
        return max(valued, key=_v) if valued else None

    # -- persistence ---------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-able record per state (the state plus its statistics), then a totals record."""
        rows = [
            {"state": s, "n": self.n[i], "m": self.m[i], "initial": i in self.initial} for i, s in self.states.items()
        ]
        return rows + [{"totals": {"T": self.T, "size": len(self.states)}}]

    @classmethod
    def from_records(cls, rows: list[dict[str, Any]], config: ArchiveConfig | None = None) -> Archive:
        a = cls(config)
        for row in rows:
            if "totals" in row:
                a.T = int(row["totals"]["T"])
                continue
            a._put(row["state"])
            sid = row["state"]["id"]
            a.n[sid], a.m[sid] = int(row["n"]), row["m"]
            if row.get("initial"):
                a.initial.add(sid)
        return a


def _v(state: dict) -> float:
    v = state.get("value")
    return -math.inf if v is None else float(v)
