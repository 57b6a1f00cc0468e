"""Pictures of a molecule run: the best molecules (RDKit drawing) beside the T(i) curve
(docs/molecules.md#the-run-log-and-the-replay).

RDKit and matplotlib are imported here, lazily, only when a picture is asked for.
"""

from __future__ import annotations

import numpy as np


def grid_image(entries, n_cols: int = 5, size: int = 220):
    """A PIL image of the molecules of `entries` (ledger entries, best first) with their scores."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    mols = [Chem.MolFromSmiles(e.key) for e in entries]
    legends = [f"#{i + 1}  {e.score:.3f}  (call {e.call})" for i, e in enumerate(entries)]
    return Draw.MolsToGridImage(mols, molsPerRow=n_cols, subImgSize=(size, size), legends=legends, returnPNG=False)


def figure(env):
    """A matplotlib Figure: the top-10 molecules and the run curve with its AUC."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise RuntimeError("drawing needs matplotlib: pip install 'tttd[plot]'") from None
    ledger = env.verifier.ledger
    top = ledger.top(10)
    fig = Figure(figsize=(12, 4.8), dpi=100, layout="constrained")
    ax_mols, ax_curve = fig.subplots(1, 2, width_ratios=[2.2, 1])
    ax_mols.axis("off")
    if top:
        ax_mols.imshow(np.asarray(grid_image(top).convert("RGB")))
    else:
        ax_mols.text(0.5, 0.5, "no molecules scored yet", ha="center", va="center", color="0.4")
    name, value = ledger.headline()
    curve = ledger.curve()
    ax_curve.plot(range(len(curve)), curve, color="#fb8500", lw=1.2)
    if env.budget and len(curve) - 1 < env.budget:
        ax_curve.hlines(curve[-1], len(curve) - 1, env.budget, colors="#fb8500", linestyles="--", lw=1)
    ax_curve.set_xlim(0, env.budget or max(1, len(curve) - 1))
    ax_curve.set_ylim(0, max(1.0, max(curve)))
    ax_curve.set_xlabel("oracle calls")
    ax_curve.set_ylabel("coverage" if ledger.n_target else "top-10 mean (zero-padded)")
    ax_curve.set_title(f"{name} = {value:.4f}", fontsize=10)
    fig.suptitle(f"{env.card.id} [{env.task}]: {ledger.used}/{env.budget} calls", fontsize=11)
    return fig


def rgb_array(env) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure(env))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
