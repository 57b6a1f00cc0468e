"""The verifier base class and the registry of verifiers by name."""

from __future__ import annotations

import abc
import hashlib
import importlib
import time
import traceback
from typing import Any

from verifiers.verdict import Verdict

#: name -> "module:Class". Verifiers are imported lazily: heavy ones must not slow the others down.
REGISTRY: dict[str, str] = {
    "erdos_min_overlap": "verifiers.math.erdos:ErdosMinOverlapVerifier",
    "autocorrelation_ac1": "verifiers.math.autocorrelation:AC1Verifier",
    "autocorrelation_ac2": "verifiers.math.autocorrelation:AC2Verifier",
    "circle_packing": "verifiers.math.circle_packing:CirclePackingVerifier",
    "atcoder": "verifiers.atcoder.verifier:AHCVerifier",
    "trimul": "verifiers.kernels.verifier:TriMulVerifier",
    "molecules": "verifiers.molecules.verifier:MoleculeVerifier",
    "jssp": "verifiers.logistics.jssp:JSSPVerifier",
    "cvrp": "verifiers.logistics.cvrp:CVRPVerifier",
    "molecule_run": "verifiers.molecules.replay:RunLogVerifier",
}


MAX_MESSAGE = 500


class Verifier(abc.ABC):
    """Turns one artifact (text) into a :class:`Verdict`.

    Subclasses implement :meth:`_verify`. :meth:`verify` adds the artifact hash, verifier name,
    elapsed time, and converts any unexpected exception into an ``error`` Verdict: a verifier never
    raises on bad input (only on its own misconfiguration, at construction time).
    """

    name: str = "verifier"
    version: str = "0"

    @property
    def ident(self) -> str:
        return f"{self.name}@{self.version}"

    def verify(self, artifact: object, **context: Any) -> Verdict:
        t0 = time.perf_counter()
        sha = (
            hashlib.sha256(
                artifact.encode("utf-8", "surrogatepass") if isinstance(artifact, str) else bytes(artifact)
            ).hexdigest()
            if isinstance(artifact, (str, bytes))
            else None
        )
        try:
            if not isinstance(artifact, (str, bytes)):
                verdict = Verdict.reject(f"the artifact must be text, not {type(artifact).__name__}")
            else:
                if isinstance(artifact, bytes):
                    try:
                        artifact = artifact.decode("utf-8")
                    except UnicodeDecodeError as e:
                        return self._finish(
                            Verdict.reject(f"the artifact is not valid UTF-8 ({e.reason} at byte {e.start})"), sha, t0
                        )
                verdict = self._verify(artifact, **context)
        except Exception as e:  # noqa: BLE001 - a bug of ours must not crash the caller
            verdict = Verdict.reject(
                f"verifier error: {type(e).__name__}: {e}; please report",
                status="error",
                details={"traceback": traceback.format_exc()[-4000:]},
            )
        return self._finish(verdict, sha, t0)

    def _finish(self, verdict: Verdict, sha: str | None, t0: float) -> Verdict:
        if len(verdict.message) > MAX_MESSAGE:  # one line a person can read, whatever was submitted
            verdict.message = verdict.message[:MAX_MESSAGE] + "…"
        verdict.artifact_sha256 = sha
        verdict.verifier = self.ident
        verdict.elapsed_s = time.perf_counter() - t0
        return verdict

    @abc.abstractmethod
    def _verify(self, artifact: str, **context: Any) -> Verdict: ...


def get_verifier(name: str, **kwargs: Any) -> Verifier:
    """Instantiate a registered verifier by name (``module:Class`` paths are accepted too)."""
    path = REGISTRY.get(name, name)
    if ":" not in path:
        raise KeyError(f"unknown verifier {name!r}; known: {', '.join(sorted(REGISTRY))}")
    module, _, cls = path.partition(":")
    verifier: Verifier = getattr(importlib.import_module(module), cls)(**kwargs)
    return verifier
