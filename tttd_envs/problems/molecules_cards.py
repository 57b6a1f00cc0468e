"""Problem cards and task statements of the molecule envs (specs/molecules.md §1, §6.3, §6.10).

The statement of a task is written from the objective's data (``verifiers.molecules.objectives``),
so the words and the scoring cannot drift apart. Hidden targets are described, never shown.
"""

from __future__ import annotations

from tttd_envs.card import InitialState, ProblemCard, Reference

FAMILY = {
    "MolQED-v0": ("QED drug-likeness", "Maximise QED (Bickerton et al. 2012). A smoke test: random screening "
                  "already reaches AUC 0.94, so it is excluded from aggregates."),
    "MolRediscovery-v0": ("target rediscovery", "Rediscover a target molecule: the score is the ECFP4 Tanimoto "
                          "similarity to it, 1.0 when the target itself is found (stereo ignored)."),
    "MolSimilarity-v0": ("target similarity", "Find close analogues of a target: the similarity is clipped at "
                         "0.75, so ten close analogues give a top-10 of 1.0; what counts is how early."),
    "MolMedian-v0": ("median molecules", "Find molecules similar to two targets at once (geometric mean of two "
                     "similarities). The optimum is unknown and well below 1."),
    "MolIsomers-v0": ("exact-formula isomers", "Enumerate distinct molecules with an exact molecular formula. "
                      "The run metric is the AUC of coverage (distinct exact hits / N); the per-molecule score "
                      "Isomer(F) is shown as feedback."),
    "MolPhyschemMPO-v0": ("physchem multi-property optimisation", "Similarity to a drug combined with "
                          "TPSA / logP / fluorine-count targets (geometric mean)."),
    "MolScaffoldMPO-v0": ("scaffold multi-property optimisation", "Similarity to a drug combined with ring "
                          "counts, formula or property targets (geometric mean)."),
    "MolValsartanSMARTS-v0": ("SMARTS-gated properties", "Match a SMARTS pattern while hitting sitagliptin-like "
                              "logP, TPSA and BertzCT (sparse: random screening scores 0)."),
    "MolHop-v0": ("pharmacophore hopping", "Keep the Gobbi 2D pharmacophore of a kinase inhibitor while "
                  "changing its decorations (deco) or its scaffold (scaffold)."),
    "MolPLogPCapped-v0": ("penalised logP, capped", "Maximise penalised logP with at most 38 heavy atoms. The "
                          "optimum is degenerate by design (long S/I chains): an exploit-calibration task, "
                          "excluded from aggregates."),
}

#: Reference numbers per task (§8): (GuacaMol Graph GA, PMO REINVENT AUC@10k, random screening AUC@1k).
_REFS = {
    "qed": (None, ".941", ".882"), "celecoxib": ("1.000", ".713", ".273"), "troglitazone": ("1.000", ".441", ".221"),
    "thiothixene": ("1.000", ".534", ".271"), "albuterol": ("1.000", ".882", ".403"),
    "mestranol": ("1.000", ".618", ".305"), "aripiprazole": ("1.000", None, ".348"),
    "median1": (".406", ".356", ".149"), "median2": (".432", ".276", ".169"), "c11h24": (".971", None, None),
    "c7h8n2o2": (None, None, None), "c9h10n2o2pf2cl": (".982", None, None),
    "osimertinib": (".953", ".837", ".673"), "fexofenadine": (".998", ".784", ".606"),
    "ranolazine": (".920", ".760", ".283"), "perindopril": (".792", ".537", ".390"),
    "amlodipine": (".894", ".635", ".470"), "zaleplon": (".754", None, ".365"), "sitagliptin": (".891", None, ".162"),
    "valsartan": (".990", ".178", ".000"), "deco": ("1.000", ".666", ".546"), "scaffold": ("1.000", ".560", ".425"),
    "plogp": (None, None, None),
}


def references(task: str) -> tuple[Reference, ...]:
    ga, reinvent, screen = _REFS.get(task, (None, None, None))
    out = []
    if screen:
        out.append(Reference("random screening", "tttd spec (ZINC250k, random.Random(0))", 2026, screen,
                             "specs/molecules.md §8", note="AUC top-10 at 1,000 calls"))
    if reinvent:
        out.append(Reference("previous best AI", "REINVENT (PMO)", 2022, reinvent, "Gao et al., arXiv:2206.12411",
                             note="AUC top-10 at 10,000 calls, mean of 5 seeds"))
    if ga:
        out.append(Reference("GuacaMol Graph GA", "Brown et al.", 2019, ga, "arXiv:1811.09621 Table 2",
                             note="task score with unlimited calls; not comparable with AUC"))
    return tuple(out)


def _rules(budget: int | None, elements: list[str], max_heavy: int, oneshot: bool = False) -> str:
    b = f"{budget:,}" if budget else "unbounded"
    if oneshot:
        end = ("- Budget: {b} oracle calls for the whole run, shared by every rollout. Each new valid molecule costs "
               "one call; repeats, invalid items and molecules past the budget are free and earn nothing.\n"
               "- Reward: the best score among your molecules that were new to the run when this rollout started "
               "(0 if there are none).\n").format(b=b)
    else:
        end = f"""- Budget: {b} oracle calls. Each new valid molecule costs one call; invalid items, repeats and
  molecules past the budget are free (past the budget they get no score). The episode is truncated
  after the step cap or after 2·B free items.
- Reward: the increase of the top-10 mean (zero-padded) each step. The run metric is the AUC of the
  top-10 curve over the budget (unused calls count at the last value), so good molecules early count most.
"""
    return f"""\
## Rules
- One action: a JSON list of up to 100 SMILES, a ```smiles block (one per line), a ```python program
  that prints a JSON list of SMILES as its last stdout line (it runs in a sandbox with rdkit and numpy,
  no oracle and no data; 60 s by default), or {{"stop": true}} to end the run.
- Allowed: one neutral fragment, elements {', '.join(elements)}, 1–{max_heavy} heavy atoms, at most 200
  characters, no isotopes or radicals. Charges are neutralised first; stereo is ignored (stereoisomers
  are one molecule); tautomers are NOT merged.
""" + end


def objectives_resolve(env_id: str, task: str) -> str:
    from verifiers.molecules.objectives import resolve_task
    return resolve_task(env_id, task)


def task_statement(env_id: str, task: str, objective: dict, budget: int | None, oneshot: bool = False) -> str:
    from verifiers.molecules import objectives as obj
    title, blurb = FAMILY[env_id]
    hidden = task == "hidden"
    lines = [f"# {env_id} — {title} (maximise), task `{task}`", "", blurb, "", "## Objective"]
    if hidden:
        lines.append("The target molecule(s) are unknown drug-like molecules (18–30 heavy atoms); only scores "
                     "are observed. Score =")
    else:
        lines.append("Score of a molecule (computed on its neutral, stereo-free canonical SMILES) =")
    lines.append(obj.describe(objective, hide_targets=hidden))
    fps = obj.fingerprints_used(objective)
    if fps:
        lines.append("Fingerprints: " + "; ".join(fps) + ". Tanimoto on counts: Σmin/(Σa+Σb−Σmin).")
    lines.append("Gaussian(μ, σ)(x) = exp(−½((x−μ)/σ)²). Isomer(F) = geometric mean of Gaussian(n_e, 1) of each "
                 "element count and Gaussian(N, 2) of the total atom count including H."
                 if any(t["kind"] == "isomer" or t["mod"][0] in ("gauss", "mingauss", "maxgauss")
                        for t in objective.get("terms", []))
                 else None)
    if objective.get("n_target"):
        lines.append(f"A hit is an exact formula match; the target is N = {objective['n_target']} distinct hits.")
    if hidden:
        lines.append("Targets come from a fixed pool of 512 ZINC250k molecules (or an operator's private pool); "
                     "a run counts only if the agent reads neither that pool nor ZINC250k.")
    else:
        lines.append("This objective is white-box: it can be recomputed offline with RDKit, so the budget counts "
                     "submissions, not evaluations.")
    from verifiers.molecules import pipeline
    lines += ["", _rules(budget, sorted(objective.get("elements", pipeline.ELEMENTS)),
                         objective.get("max_heavy", pipeline.MAX_HEAVY), oneshot)]
    return "\n".join(x for x in lines if x is not None)


def card_for(env_id: str) -> ProblemCard:
    from verifiers.molecules.objectives import tasks
    names = tasks(env_id)
    title, blurb = FAMILY[env_id]
    units = {"MolIsomers-v0": "coverage", "MolPLogPCapped-v0": "pLogP, unbounded"}.get(env_id, "score in [0,1]")
    statement = (f"# {env_id} — {title} (maximise)\n\n{blurb}\n\nTasks (task=...): {', '.join(names)} "
                 f"(default {names[0]}). The full objective and rules are in each run's prompt.")
    return ProblemCard(
        id=env_id, title=f"molecules: {title}", domain="molecules", artifact="smiles", direction="max", units=units,
        statement=statement, verifier="molecules", verifier_kwargs={"env_id": env_id},
        limits={"task": names[0], "budget": 1000, "action_mode": "auto", "code_timeout_s": 60.0},
        references=references(names[0]),
        initial_states=(InitialState("empty", "no molecules yet (or an unscored starting pool)"),),
        default_initial="empty", picture="molecules", score_label="top-10", libraries="rdkit, numpy (code actions)",
        target=_target(names[0]))


def _target(task: str) -> str:
    ga, reinvent, screen = _REFS.get(task, (None, None, None))
    parts = ([f"AUC top-10 {screen} @1k (random screening)"] if screen else []) + \
        ([f"{reinvent} @10k (REINVENT, PMO)"] if reinvent else [])
    return "; ".join(parts)
