"""Problem cards and task statements of the molecule envs (docs/molecules.md#tasks,
docs/molecules.md#episodes-and-rewards, docs/molecules.md#tasks).

The statement of a task is written from the objective's data (``verifiers.molecules.objectives``),
so the words and the scoring cannot drift apart. Hidden targets are described, never shown.
"""

from __future__ import annotations

from tttd_envs.card import BoardPolicy, InitialState, ProblemCard, Reference

FAMILY = {
    "MolQED-v0": (
        "QED drug-likeness",
        "Maximise QED (Bickerton et al. 2012). A smoke test: random screening "
        "already reaches AUC 0.94, so it is excluded from aggregates.",
    ),
    "MolRediscovery-v0": (
        "target rediscovery",
        "Rediscover a target molecule: the score is the ECFP4 Tanimoto "
        "similarity to it, 1.0 when the target itself is found (stereo ignored).",
    ),
    "MolSimilarity-v0": (
        "target similarity",
        "Find close analogues of a target: the similarity is clipped at "
        "0.75, so ten close analogues give a top-10 of 1.0; what counts is how early.",
    ),
    "MolMedian-v0": (
        "median molecules",
        "Find molecules similar to two targets at once (geometric mean of two "
        "similarities). The optimum is unknown and well below 1.",
    ),
    "MolIsomers-v0": (
        "exact-formula isomers",
        "Enumerate distinct molecules with an exact molecular formula. "
        "The run metric is the AUC of coverage (distinct exact hits / N); the per-molecule score "
        "Isomer(F) is shown as feedback.",
    ),
    "MolPhyschemMPO-v0": (
        "physchem multi-property optimisation",
        "Similarity to a drug combined with TPSA / logP / fluorine-count targets (geometric mean).",
    ),
    "MolScaffoldMPO-v0": (
        "scaffold multi-property optimisation",
        "Similarity to a drug combined with ring counts, formula or property targets (geometric mean).",
    ),
    "MolValsartanSMARTS-v0": (
        "SMARTS-gated properties",
        "Match a SMARTS pattern while hitting sitagliptin-like "
        "logP, TPSA and BertzCT (sparse: random screening scores 0).",
    ),
    "MolHop-v0": (
        "pharmacophore hopping",
        "Keep the Gobbi 2D pharmacophore of a kinase inhibitor while "
        "changing its decorations (deco) or its scaffold (scaffold).",
    ),
    "MolPLogPCapped-v0": (
        "penalised logP, capped",
        "Maximise penalised logP with at most 38 heavy atoms. The "
        "optimum is degenerate by design (long S/I chains): an exploit-calibration task, "
        "excluded from aggregates.",
    ),
}

# -- docs/molecules.md#references references, verbatim ---------------------------------------------------------------
#: GuacaMol v2 Table 2 (Brown et al. 2019): Graph GA / SMILES-LSTM / best molecule of the ChEMBL
#: dataset; task scores with unlimited calls (top-1 for rediscovery, top-159/top-250 means for
#: isomers, mean of top-1/10/100 otherwise). Optional 4th entry: what the score is, where
#: docs/molecules.md#references says.
_GM = {
    "celecoxib": ("1.000", "1.000", ".505"),
    "troglitazone": ("1.000", "1.000", ".419"),
    "thiothixene": ("1.000", "1.000", ".456"),
    "albuterol": ("1.000", "1.000", ".719"),
    "mestranol": ("1.000", "1.000", ".629"),
    "aripiprazole": ("1.000", "1.000", ".595"),
    "median1": (".406", ".438", ".334"),
    "median2": (".432", ".422", ".351"),
    "c11h24": (".971", ".993", ".684", "top-159 mean of the isomer score"),
    "c9h10n2o2pf2cl": (".982", ".879", ".747", "top-250 mean of the isomer score"),
    "osimertinib": (".953", ".907", ".839"),
    "fexofenadine": (".998", ".959", ".817"),
    "ranolazine": (".920", ".855", ".792"),
    "perindopril": (".792", ".808", ".575"),
    "amlodipine": (".894", ".894", ".696"),
    "zaleplon": (".754", ".669", ".547"),
    "sitagliptin": (".891", ".545", ".509"),
    "valsartan": (".990", ".978", ".259"),
    "deco": ("1.000", ".996", ".933"),
    "scaffold": ("1.000", ".998", ".738"),
}
#: PMO, AUC top-10 at 10k calls, mean of 5 seeds: REINVENT / Graph GA / best reported [method] /
#: best without pre-screening [method] (None where docs/molecules.md#references gives none). "†": the best reported
#: seeds its vocabulary from oracle-scored ZINC250k (oracle use outside the budget). Tasks in _PMO_PREV are ✗ in
#: docs/molecules.md#references: PMO scored them with TDC's text-based atom count, so they are not comparable.
_PMO = {
    "qed": (".941", ".940", (".942", "GenMol, GGFN", ""), (".942", "GGFN")),
    "celecoxib": (".713", ".630", (".826", "GenMol", "†"), (".802", "GGFN")),
    "troglitazone": (".441", ".390", (".867", "GenMol", "†"), (".511", "GGFN")),
    "thiothixene": (".534", ".479", (".692", "GenMol", "†"), (".583", "GGFN")),
    "albuterol": (".882", ".838", (".977", "f-RAG", "†"), (".949", "GGFN")),
    "mestranol": (".618", ".579", (".982", "GenMol", "†"), (".708", "GGFN")),
    "median1": (".356", ".294", (".398", "GenMol", "†"), (".379", "GGFN")),
    "median2": (".276", ".273", (".359", "GenMol", "†"), (".301", "Mol GA")),
    "c7h8n2o2": (".852", ".862", (".969", "GGFN", ""), None),
    "c9h10n2o2pf2cl": (".642", ".719", (".897", "GGFN", ""), None),
    "osimertinib": (".837", ".831", (".876", "GenMol", "†"), (".860", "GGFN")),
    "fexofenadine": (".784", ".760", (".894", "GenMol", "†"), (".856", "GGFN")),
    "ranolazine": (".760", ".728", (".821", "GenMol", "†"), (".819", "GGFN")),
    "perindopril": (".537", ".538", (".718", "GenMol", "†"), (".595", "GGFN")),
    "amlodipine": (".635", ".661", (".810", "GenMol", "†"), (".761", "GGFN")),
    "zaleplon": (".358", ".346", (".584", "GenMol", ""), None),
    "sitagliptin": (".021", ".433", (".634", "GGFN", ""), None),
    "valsartan": (".178", ".000", (".822", "GenMol", "†"), (".178", "REINVENT")),
    "deco": (".666", ".619", (".960", "GenMol", "†"), (".733", "GGFN")),
    "scaffold": (".560", ".517", (".628", "GenMol", "†"), (".615", "GGFN")),
}
_PMO_PREV = {"c7h8n2o2", "c9h10n2o2pf2cl", "zaleplon", "sitagliptin"}
#: Random screening of ZINC250k (shuffled with random.Random(0)), AUC top-10 at 10k / 1k / 100 calls,
#: measured with this spec's pipeline. Isomer tasks: AUC of coverage where docs/molecules.md#references gives it, and
#: the AUC top-10 of the per-molecule isomer score (not their board metric) in _SCREEN_ISOMER_SCORE.
_SCREEN = {
    "qed": (".939", ".882", ".809"),
    "celecoxib": (".343", ".273", ".180"),
    "troglitazone": (".265", ".221", ".174"),
    "thiothixene": (".328", ".271", ".203"),
    "albuterol": (".506", ".403", ".310"),
    "mestranol": (".400", ".305", ".219"),
    "aripiprazole": (".424", ".348", ".260"),
    "median1": (".200", ".149", ".093"),
    "median2": (".199", ".169", ".131"),
    "osimertinib": (".759", ".673", ".532"),
    "fexofenadine": (".678", ".606", ".484"),
    "ranolazine": (".408", ".283", ".145"),
    "perindopril": (".431", ".390", ".330"),
    "amlodipine": (".543", ".470", ".399"),
    "zaleplon": (".455", ".365", ".180"),
    "sitagliptin": (".284", ".162", ".043"),
    "valsartan": (".000", ".000", ".000"),
    "deco": (".588", ".546", ".522"),
    "scaffold": (".468", ".425", ".387"),
}
_SCREEN_COVERAGE = {"c11h24": ("0", "0", "0"), "c7h8n2o2": ("0", "0", "0")}
_SCREEN_ISOMER_SCORE = {
    "c11h24": (".589", ".234", ".004"),
    "c7h8n2o2": (".603", ".235", ".046"),
    "c9h10n2o2pf2cl": (".593", ".444", ".165"),
}
#: Graph GA with PMO's hyper-parameters, AUC top-10 at 1k (mean of seeds 0 and 1) / 10k (seed 0)
#: calls, measured under PMO's protocol (isomeric keys, no gates or neutralisation).
_GA = {
    "qed": (".882", None),
    "celecoxib": (".306", None),
    "albuterol": (".444", ".863"),
    "median1": (".181", ".268"),
    "osimertinib": (".714", ".807"),
    "perindopril": (".395", None),
    "zaleplon": (".362", None),
    "sitagliptin": (".210", None),
    "valsartan": (".000 (stops early)", None),
}
_GA_ISOMER_SCORE = {"c7h8n2o2": (".682", ".958")}
_METHODS = {
    "GGFN": ("Genetic GFN", 2024),
    "GenMol": ("GenMol", 2025),
    "f-RAG": ("f-RAG", 2024),
    "Mol GA": ("Mol GA (Tripp & Hernández-Lobato)", 2023),
    "REINVENT": ("REINVENT (PMO)", 2022),
    "GenMol, GGFN": ("GenMol and Genetic GFN (tied)", 2025),
}
_SPEC = "docs/molecules.md#references"
_PMO_SOURCE = (
    "PMO table compiled in invirtuolabs/InVirtuoGen_public:references/reference_pmo.csv (docs/molecules.md#references)"
)
_BUDGETS = (10_000, 1_000, 100)


def references(task: str) -> tuple[Reference, ...]:
    """Every docs/molecules.md#references number of a task, verbatim, with its source. The leaderboard places a
    reference on a board only when its note starts with the board's metric and budget ("AUC top-10 at N calls", or
    "AUC coverage at N calls" for isomer tasks); all others (GuacaMol's unlimited-call task scores,
    ✗ and † numbers, the isomer score) are shown as context."""
    out = []
    for at, v in zip(_BUDGETS, _SCREEN.get(task, ())):
        out.append(
            Reference(
                "random screening",
                "tttd spec (ZINC250k, random.Random(0))",
                2026,
                v,
                _SPEC,
                note=f"AUC top-10 at {at:,} calls",
            )
        )
    for at, v in zip(_BUDGETS, _SCREEN_COVERAGE.get(task, ())):
        out.append(
            Reference(
                "random screening",
                "tttd spec (ZINC250k, random.Random(0))",
                2026,
                v,
                _SPEC,
                note=f"AUC coverage at {at:,} calls",
            )
        )
    for at, v in zip(_BUDGETS, _SCREEN_ISOMER_SCORE.get(task, ())):
        out.append(
            Reference(
                "random screening (isomer score)",
                "tttd spec (ZINC250k, random.Random(0))",
                2026,
                v,
                _SPEC,
                note=f"isomer-score AUC top-10 at {at:,} calls; not this board's metric (coverage)",
            )
        )
    ga_notes = ("mean of seeds 0 and 1", "seed 0")
    for at, ga_v, seeds in zip((1_000, 10_000), _GA.get(task, (None, None)), ga_notes):
        if ga_v is not None:
            out.append(
                Reference(
                    "Graph GA (PMO settings)",
                    "Jensen 2019, run by tttd",
                    2026,
                    ga_v,
                    _SPEC,
                    note=f"AUC top-10 at {at:,} calls, {seeds}; measured under PMO's protocol "
                    "(isomeric keys, no gates): expect differences ≤ 0.02 from this pipeline",
                )
            )
    for at, ga_v, seeds in zip((1_000, 10_000), _GA_ISOMER_SCORE.get(task, (None, None)), ga_notes):
        if ga_v is not None:
            out.append(
                Reference(
                    "Graph GA (PMO settings, isomer score)",
                    "Jensen 2019, run by tttd",
                    2026,
                    ga_v,
                    _SPEC,
                    note=f"isomer-score AUC top-10 at {at:,} calls, {seeds}; not this board's metric (coverage)",
                )
            )
    pmo = _PMO.get(task)
    if pmo is not None:
        reinvent, ga, (best, best_m, dagger), clean = pmo
        pmo_note = "AUC top-10 at 10,000 calls, mean of 5 seeds"
        if task in _PMO_PREV:
            pmo_note = (
                "✗ not comparable: PMO scored the isomer term with TDC's text-based atom count (TDC *_prev); "
                "AUC top-10 at 10,000 calls, mean of 5 seeds"
            )
        if clean is not None:
            who, year = _METHODS[clean[1]]
            out.append(
                Reference(
                    "previous best AI",
                    who,
                    year,
                    clean[0],
                    _PMO_SOURCE,
                    note=f"{pmo_note}; best without oracle pre-screening",
                )
            )
        out.append(
            Reference("REINVENT (PMO)", "Gao et al.", 2022, reinvent, "Gao et al., arXiv:2206.12411", note=pmo_note)
        )
        out.append(Reference("Graph GA (PMO)", "Gao et al.", 2022, ga, "Gao et al., arXiv:2206.12411", note=pmo_note))
        who, year = _METHODS[best_m]
        if dagger:
            out.append(
                Reference(
                    "best reported (pre-screened)",
                    who,
                    year,
                    best,
                    _PMO_SOURCE,
                    note="† oracle pre-screening outside the budget (fragment vocabulary from "
                    "oracle-scored ZINC250k): AUC top-10 at 10,000 calls plus those calls",
                )
            )
        elif clean is None or best != clean[0]:
            out.append(Reference("best reported", who, year, best, _PMO_SOURCE, note=pmo_note))
    if task == "plogp":
        out.append(
            Reference(
                "GEGL",
                "GEGL",
                2020,
                "31.82",
                _SPEC,
                note="penalised logP with a SMILES-length cap instead of 38 heavy atoms: not comparable",
            )
        )
    gm = _GM.get(task)
    if gm is not None:
        what = f" ({gm[3]})" if len(gm) > 3 else ""
        for label, v in zip(("GuacaMol Graph GA", "GuacaMol SMILES-LSTM", "GuacaMol ChEMBL best"), gm[:3]):
            out.append(
                Reference(
                    label,
                    "Brown et al.",
                    2019,
                    v,
                    "arXiv:1811.09621 Table 2",
                    note=f"task score{what} with unlimited calls; not comparable with AUC",
                )
            )
    return tuple(out)


def _rules(budget: int | None, elements: list[str], max_heavy: int, oneshot: bool = False) -> str:
    b = f"{budget:,}" if budget else "unbounded"
    if oneshot:
        end = (
            f"- Budget: {b} oracle calls for the whole run, shared by every rollout. Each new valid molecule costs "
            "one call; repeats, invalid items and molecules past the budget are free and earn nothing.\n"
            "- Reward: the best score among your molecules that were new to the run when this rollout started "
            "(0 if there are none).\n"
        )
    else:
        end = f"""- Budget: {b} oracle calls. Each new valid molecule costs one call; invalid items, repeats and
  molecules past the budget are free (past the budget they get no score). The episode is truncated
  after the step cap or after 2·B free items.
- Reward: the increase of the top-10 mean (zero-padded) each step. The run metric is the AUC of the
  top-10 curve over the budget (unused calls count at the last value), so good molecules early count most.
"""
    return (
        f"""\
## Rules
- One action: a JSON list of up to 100 SMILES, a ```smiles block (one per line), a ```python program
  that prints a JSON list of SMILES as its last stdout line (it runs in a sandbox with rdkit and numpy,
  no oracle and no data; 60 s by default), or {{"stop": true}} to end the run.
- Allowed: one neutral fragment, elements {", ".join(elements)}, 1–{max_heavy} heavy atoms, at most 200
  characters, no isotopes or radicals. Charges are neutralised first; stereo is ignored (stereoisomers
  are one molecule); tautomers are NOT merged.
"""
        + end
    )


def objectives_resolve(env_id: str, task: str) -> str:
    from verifiers.molecules.objectives import resolve_task

    return resolve_task(env_id, task)


def task_statement(env_id: str, task: str, objective: dict, budget: int | None, oneshot: bool = False) -> str:
    from verifiers.molecules import objectives as obj

    title, blurb = FAMILY[env_id]
    hidden = task == "hidden"
    lines: list[str | None] = [f"# {env_id} — {title} (maximise), task `{task}`", "", blurb, "", "## Objective"]
    if hidden:
        lines.append(
            "The target molecule(s) are unknown drug-like molecules (18–30 heavy atoms); only scores "
            "are observed. Score ="
        )
    else:
        lines.append("Score of a molecule (computed on its neutral, stereo-free canonical SMILES) =")
    lines.append(obj.describe(objective, hide_targets=hidden))
    fps = obj.fingerprints_used(objective)
    if fps:
        lines.append("Fingerprints: " + "; ".join(fps) + ". Tanimoto on counts: Σmin/(Σa+Σb−Σmin).")
    lines.append(
        "Gaussian(μ, σ)(x) = exp(−½((x−μ)/σ)²). Isomer(F) = geometric mean of Gaussian(n_e, 1) of each "
        "element count and Gaussian(N, 2) of the total atom count including H."
        if any(
            t["kind"] == "isomer" or t["mod"][0] in ("gauss", "mingauss", "maxgauss")
            for t in objective.get("terms", [])
        )
        else None
    )
    if objective.get("n_target"):
        lines.append(f"A hit is an exact formula match; the target is N = {objective['n_target']} distinct hits.")
    if hidden:
        lines.append(
            "Targets come from a fixed pool of 512 ZINC250k molecules (or an operator's private pool); "
            "a run counts only if the agent reads neither that pool nor ZINC250k."
        )
    else:
        lines.append(
            "This objective is white-box: it can be recomputed offline with RDKit, so the budget counts "
            "submissions, not evaluations."
        )
    from verifiers.molecules import pipeline

    lines += [
        "",
        _rules(
            budget,
            sorted(objective.get("elements", pipeline.ELEMENTS)),
            objective.get("max_heavy", pipeline.MAX_HEAVY),
            oneshot,
        ),
    ]
    return "\n".join(x for x in lines if x is not None)


def card_for(env_id: str) -> ProblemCard:
    from verifiers.molecules.objectives import tasks

    names = tasks(env_id)
    title, blurb = FAMILY[env_id]
    units = {"MolIsomers-v0": "coverage", "MolPLogPCapped-v0": "pLogP, unbounded"}.get(env_id, "score in [0,1]")
    statement = (
        f"# {env_id} — {title} (maximise)\n\n{blurb}\n\nTasks (task=...): {', '.join(names)} "
        f"(default {names[0]}). The full objective and rules are in each run's prompt."
    )
    return ProblemCard(
        id=env_id,
        title=f"molecules: {title}",
        domain="molecules",
        artifact="smiles",
        direction="max",
        units=units,
        statement=statement,
        verifier="molecules",
        verifier_kwargs={"env_id": env_id},
        limits={"task": names[0], "budget": 1000, "action_mode": "auto", "code_timeout_s": 60.0},
        references=references(names[0]),
        initial_states=(InitialState("empty", "no molecules yet (or an unscored starting pool)"),),
        default_initial="empty",
        picture="molecules",
        score_label="top-10",
        libraries="rdkit, numpy (code actions)",
        target=_target(names[0]),
        # a submission is a whole run (config.json + items.jsonl), replayed; the operator may lend a
        # private target pool (docs/molecules.md#tasks, docs/molecules.md#the-run-log-and-the-replay)
        board=BoardPolicy(run="molecule-run", run_verifier="molecule_run", options=("target_pool",)),
    )


def _target(task: str) -> str:
    screen = _SCREEN.get(task, (None, None, None))[1]
    reinvent = (_PMO.get(task) or (None,))[0] if task not in _PMO_PREV else None
    parts = ([f"AUC top-10 {screen} @1k (random screening)"] if screen else []) + (
        [f"{reinvent} @10k (REINVENT, PMO)"] if reinvent else []
    )
    return "; ".join(parts)
