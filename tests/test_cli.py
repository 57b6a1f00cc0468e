"""The `tttd` command: list and eval (exit status, readable and JSON output, clear user errors)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tttd_envs.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for i in (
        "ErdosMinOverlap-v0",
        "AutocorrelationAC1-v0",
        "AutocorrelationAC2-v0",
        "CirclePacking26-v0",
        "CirclePacking32-v0",
    ):
        assert i in out
    assert (
        "0.3808703106 (Together AI (EinsteinArena baseline) 2026, re-verified)" in out and "min" in out and "max" in out
    )
    assert "2.635977394 (test-time-training/discover 2026, re-verified); a better value is 2.63598308" in out


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    erdos = next(r for r in rows if r["id"] == "ErdosMinOverlap-v0")
    assert erdos["direction"] == "min" and erdos["best_reference"]["display"] == "0.3808703106"
    cp = next(r for r in rows if r["id"] == "CirclePacking26-v0")
    assert cp["best_reference"]["display"] == "2.635977394" and "quoted, not re-verified" in cp["references"]


def test_eval_accepts_json_file(capsys):
    assert main(["eval", "CirclePacking26-v0", str(REPO / "examples" / "cp26_grid.json")]) == 0
    out = capsys.readouterr().out
    assert "accepted" in out and "1.625000000" in out and "reward" in out


def test_eval_rejection_exit_status_and_json(tmp_path, capsys):
    f = tmp_path / "bad.json"
    f.write_text("[0.5, NaN]")
    assert main(["eval", "ErdosMinOverlap-v0", str(f), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["status"] == "rejected" and "non-finite" in d["message"] and d["score"] is None


def test_eval_program(tmp_path, capsys):
    f = tmp_path / "p.py"
    f.write_text("def run(budget_s, seed):\n    return [0.25, 0.75, 0.75, 0.25]\n")
    assert main(["eval", "ErdosMinOverlap-v0", str(f), "--budget-s", "5", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["score"] == 13 / 32 and d["details"]["artifact_kind"] == "program"
    assert d["details"]["isolation"]["level"] in ("full", "partial", "minimal")


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["eval", "ErdosMinOverlap-v9", "x.json"], "unknown problem id"),
        (["eval", "ErdosMinOverlap-v0", "/nonexistent/file.py"], "no such file"),
        (["eval", "ErdosMinOverlap-v0", "x", "--budget-s", "-1"], None),
    ],
)
def test_user_errors_are_one_sentence(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_text("[0.5]")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tttd: error:") and "Traceback" not in err
    if needle:
        assert needle in err


def test_console_script_installed():
    exe = shutil.which("tttd") or str(Path(sys.executable).parent / "tttd")
    r = subprocess.run([exe, "list"], capture_output=True, text=True)
    assert r.returncode == 0 and "CirclePacking32-v0" in r.stdout


def test_eval_saves_a_picture(tmp_path, capsys):
    """--picture writes the card's picture of the verdict (a PNG); a problem without one says so."""
    pytest.importorskip("matplotlib")
    art = tmp_path / "cp.json"
    art.write_text(json.dumps([[(i % 6) * 0.16 + 0.08, (i // 6) * 0.16 + 0.08, 0.07] for i in range(26)]))
    assert main(["eval", "CirclePacking26-v0", str(art), "--picture", str(tmp_path / "cp.png")]) == 0
    assert (tmp_path / "cp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["eval", "AHC058-v0", str(art), "--picture", str(tmp_path / "x.png")]) == 2
    assert "AHC058-v0 has no picture" in capsys.readouterr().err


def test_trimul_picture_draws_per_shape_timings():
    """The TriMul picture from a verdict's per-shape timings: one bar per shape on a log axis, floors as ticks
    and the geometric mean as a line (figures measured on the H200 VM, used as stand-in numbers)."""
    pytest.importorskip("matplotlib")
    from tttd_envs import render
    from tttd_envs.registration import card

    per = {
        f"bench{k}": {"mean": m, "floor_us": f}
        for k, (m, f) in enumerate([(870.3, 28.0), (5623.1, 125.8), (1086.4, 83.9)])
    }
    fig = render.draw(card("TriMul-H100-v0"), None, {"per_shape": per, "geomean_us": 1755.0})
    ax = fig.axes[0]
    assert [round(p.get_height(), 1) for p in ax.patches] == [870.3, 5623.1, 1086.4]
    assert ax.get_yscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == list(per)
    assert any("geometric mean 1755.0" in t.get_text() for t in ax.get_legend().get_texts())
