"""Cross-check ``data/mol_golden_v0.json`` against GuacaMol 0.5.5's own objective objects (dev only).

GuacaMol is never imported at run time; it needs its own environment (docs/molecules.md#tasks):

    python -m venv /tmp/gm && /tmp/gm/bin/pip install --no-deps guacamol==0.5.5
    /tmp/gm/bin/pip install rdkit==2026.9.1 numpy scipy joblib tqdm
    sed -i 's/from scipy import histogram/from numpy import histogram/' \
        /tmp/gm/lib/python3.11/site-packages/guacamol/utils/chemistry.py       # BenevolentAI/guacamol#33
    mkdir -p /tmp/gmstub && touch /tmp/gmstub/fcd.py                          # fcd pulls torch; unused here
    PYTHONPATH=/tmp/gmstub /tmp/gm/bin/python tests/molecules/guacamol_crosscheck.py \
        tests/molecules/data/mol_golden_v0.json

Prints the largest absolute difference per task between GuacaMol's score of each golden key and
the golden value (measured: ≤ 6.9e-17 over 2,046 comparisons, 21 GuacaMol tasks plus QED).
"""

import json
import sys

from rdkit import RDLogger

RDLogger.DisableLog("rdApp.*")
from guacamol.benchmark_suites import goal_directed_suite_v2
from guacamol.standard_benchmarks import isomers_c7h8n2o2
from rdkit import Chem
from rdkit.Chem import QED

golden = json.load(open(sys.argv[1]))
names = {
    "Celecoxib rediscovery": "celecoxib",
    "Troglitazone rediscovery": "troglitazone",
    "Thiothixene rediscovery": "thiothixene",
    "Aripiprazole similarity": "aripiprazole",
    "Albuterol similarity": "albuterol",
    "Mestranol similarity": "mestranol",
    "C11H24": "c11h24",
    "C9H10N2O2PF2Cl": "c9h10n2o2pf2cl",
    "Median molecules 1": "median1",
    "Median molecules 2": "median2",
    "Osimertinib MPO": "osimertinib",
    "Fexofenadine MPO": "fexofenadine",
    "Ranolazine MPO": "ranolazine",
    "Perindopril MPO": "perindopril",
    "Amlodipine MPO": "amlodipine",
    "Sitagliptin MPO": "sitagliptin",
    "Zaleplon MPO": "zaleplon",
    "Valsartan SMARTS": "valsartan",
    "Deco Hop": "deco",
    "Scaffold Hop": "scaffold",
}
suite = {names[b.name]: b.objective for b in goal_directed_suite_v2()}
suite["c7h8n2o2"] = isomers_c7h8n2o2().objective
worst, n = {}, 0
for row in golden["inputs"]:
    if not row["key"]:
        continue
    for task, fn in suite.items():
        got = fn.score(row["key"])
        d = abs(got - row["scores"][task])
        n += 1
        worst[task] = max(worst.get(task, 0.0), d)
    d = abs(QED.qed(Chem.MolFromSmiles(row["key"])) - row["scores"]["qed"])
    worst["qed"] = max(worst.get("qed", 0), d)
    n += 1
print(json.dumps({"comparisons": n, "max_abs_diff": max(worst.values()), "per_task": worst}, indent=1))
