"""`tttd submit`, `tttd board` and `tttd admin` through tttd_envs.cli.main, on both backends; the
published constructions land at the right ranks relative to the reference rows."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from lb_helpers import cp26_grid

from tttd_envs.cli import main

MATH = {
    "ErdosMinOverlap-v0": "min",
    "AutocorrelationAC1-v0": "min",
    "AutocorrelationAC2-v0": "max",
    "CirclePacking26-v0": "max",
    "CirclePacking32-v0": "max",
}


def _published_number(text):
    """The leading number of a card's published value, read here independently of the leaderboard."""
    m = re.match(r"\s*([0-9][0-9,]*(?:\.[0-9]+)?)", text)
    return Decimal(m.group(1).replace(",", "")) if m else None


def _data_files(data_dir, env_id):
    out = []
    for path in sorted([*data_dir.glob("*.json"), *data_dir.glob("added-*/*.json")]):
        doc = json.loads(path.read_text())
        if doc.get("problem") == env_id:
            out.append((path, doc))
    return out


@pytest.mark.parametrize("env_id", sorted(MATH))
def test_published_constructions_rank_against_reference_rows(env_id, db_url, data_env, capsys):
    files = _data_files(data_env, env_id)
    assert files, f"no data for {env_id}"
    expected_items = []
    for path, doc in files:
        name = path.stem
        assert main(["submit", env_id, str(path), "--name", name, "--db", db_url, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["status"] == "accepted" and out["display"] == doc["expected_display"]
        assert out["score_exact"] == doc["expected_value_decimal"] and out["reproduction_of"] is not None
        expected_items.append((Decimal(doc["expected_value_decimal"]), 1, f"entry:{name}"))
    from tttd_envs.registration import card

    c = card(env_id)
    by_file = {Path(r.data_file).name: r for r in c.references if r.data_file}
    names = {}
    for r in c.references:
        names[r.label] = names.get(r.label, 0) + 1
    for r in c.references:
        shown = r.label if names[r.label] == 1 else f"{r.label} ({r.who})"
        if r.data_file:
            doc = json.loads((data_env / r.data_file).read_text())
            expected_items.append((Decimal(doc["expected_value_decimal"]), 0, f"ref:{shown}"))
        elif _published_number(r.published) is not None:
            expected_items.append((_published_number(r.published), 0, f"ref:{shown}"))
    sign = 1 if MATH[env_id] == "min" else -1
    expected = [n for _, _, n in sorted(expected_items, key=lambda t: (sign * t[0], t[1]))]

    assert main(["board", env_id, "--db", db_url, "--json"]) == 0
    boards = json.loads(capsys.readouterr().out)
    assert len(boards) == 1 and boards[0]["direction"] == MATH[env_id]
    placed = [
        f"ref:{r['reference']['name']}" if r["kind"] == "reference" else f"entry:{r['entry']['submitter']}"
        for r in boards[0]["rows"]
        if r["kind"] == "entry" or r["reference"]["sort_value"] is not None
    ]
    assert placed == expected
    ranks = [r["entry"]["rank"] for r in boards[0]["rows"] if r["kind"] == "entry"]
    assert ranks == list(range(1, len(files) + 1))
    # each published construction is recognised as the reference it reproduces
    for r in boards[0]["rows"]:
        if r["kind"] == "entry":
            e = r["entry"]
            ref = by_file[e["submitter"] + ".json"]
            assert e["reproduction_of"] in (ref.label, f"{ref.label} ({ref.who})")
            assert ref.label not in e["beats"]  # equal is not better

    assert main(["board", env_id, "--db", db_url]) == 0
    text = capsys.readouterr().out
    assert "lower is better" in text if MATH[env_id] == "min" else "higher is better" in text
    assert f"{len(files)} ranked entr" in text and "; re-verified" in text


def test_board_index(db_url, data_env, capsys):
    path = data_env / "erdos_ttt_discover2026.json"
    assert main(["submit", "ErdosMinOverlap-v0", str(path), "--name", "x", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["board", "--db", db_url, "--json"]) == 0
    items = {s["problem"]: s for s in json.loads(capsys.readouterr().out)}
    erdos = items["ErdosMinOverlap-v0"]
    assert erdos["best"]["display"] == "0.3808753233" and erdos["ttt_discover"]["display"] == "0.3808753233"
    assert erdos["best_human"]["who"] == "Haugland" and erdos["previous_ai"]["year"] == 2025
    assert main(["board", "--db", db_url]) == 0
    text = capsys.readouterr().out
    assert "BEST HUMAN" in text and "0.3808753233 (x, #1)" in text


def test_submit_exit_status_and_text(db_url, tmp_path, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(cp26_grid(3))
    bad.write_text(cp26_grid(count=20))
    assert (
        main(
            [
                "submit",
                "CirclePacking26-v0",
                str(good),
                "--name",
                "alice",
                "--notes",
                "hi",
                "--run-id",
                "r1",
                "--db",
                db_url,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "status:    accepted" in out and "rank:      1" in out and "new entry" in out
    assert main(["submit", "CirclePacking26-v0", str(good), "--name", "bob", "--db", db_url]) == 0
    assert "already on the board" in capsys.readouterr().out
    assert main(["submit", "CirclePacking26-v0", str(bad), "--name", "alice", "--db", db_url]) == 1
    out = capsys.readouterr().out
    assert "rejected" in out and "26" in out
    # a refusal: nothing stored, one sentence, exit 2
    assert main(["submit", "CirclePacking26-v0", str(good), "--name", "a", "-o", "nope=1", "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tttd: error:") and "Traceback" not in err
    assert main(["board", "CirclePacking26-v0", "--all", "--db", db_url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)[0]["rows"]
    assert sum(r["kind"] == "entry" for r in rows) == 2


def test_artifact_download_and_entry_view(db_url, tmp_path, capsysbinary):
    text = cp26_grid(11) + "\n\n"
    f = tmp_path / "a.json"
    f.write_bytes(text.encode())
    assert main(["submit", "CirclePacking26-v0", str(f), "--name", "a", "--db", db_url]) == 0
    capsysbinary.readouterr()
    assert main(["board", "--artifact", "1", "--db", db_url]) == 0
    assert capsysbinary.readouterr().out == text.encode()
    assert main(["board", "--entry", "1", "--db", db_url]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "history:" in out and "submit" in out and "circle_packing@" in out
    assert main(["board", "--entry", "99", "--db", db_url]) == 2
    assert b"no leaderboard entry #99" in capsysbinary.readouterr().err


def test_admin_commands(db_url, tmp_path, capsys):
    for k in (1, 2):
        f = tmp_path / f"{k}.json"
        f.write_text(cp26_grid(k))
        assert main(["submit", "CirclePacking26-v0", str(f), "--name", f"s{k}", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["admin", "flag", "1", "hacked", "--reason", "exploits a bug", "--operator", "op", "--db", db_url]) == 0
    assert "FLAGGED" not in capsys.readouterr().out  # the entry view says flag:, the board FLAGGED
    assert main(["board", "CirclePacking26-v0", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "FLAGGED HACKED: exploits a bug (by op)" in out and "1 ranked entry" in out
    assert main(["admin", "unflag", "1", "--operator", "op", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["admin", "reverify", "CirclePacking26-v0", "--db", db_url, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reverified"] == 2 and summary["unchanged"] == 2
    assert main(["admin", "db", "--db", db_url, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    from leaderboards.migrations import HEAD

    assert info["revision"] == info["head"] == HEAD
    assert info["entries"]["CirclePacking26-v0"] == {"entries": 2, "accepted": 2}
    assert main(["admin", "flag", "7", "withdrawn", "--reason", "r", "--operator", "op", "--db", db_url]) == 2


def test_bad_database_url_is_one_sentence(capsys, tmp_path):
    assert main(["board", "--db", "postgresql://nobody@127.0.0.1:1/none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tttd: error: cannot open the leaderboard database") and "Traceback" not in err
    assert main(["board", "--db", "mysql+nosuchdriver://x/y"]) == 2
    assert "driver" in capsys.readouterr().err


def test_submit_run_cost_is_stored_and_shown(db_url, tmp_path, capsys):
    """--run-cost JSON (or @FILE) is kept with the entry exactly, shown by `board --entry` on one line and in
    --json; a resubmission of the same artifact keeps the first entry's run cost."""
    f = tmp_path / "a.json"
    f.write_text(cp26_grid(5))
    assert (
        main(
            [
                "submit",
                "CirclePacking26-v0",
                str(f),
                "--name",
                "a",
                "--run-id",
                "r1",
                "--notes",
                "by hand",
                "--run-cost",
                '{"cost_usd": 0.5, "prompt_tokens": 10}',
                "--db",
                db_url,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "run cost:  $0.5 (10 prompt tokens)" in out
    assert main(["board", "--entry", "1", "--db", db_url, "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["run_cost"] == {"cost_usd": 0.5, "prompt_tokens": 10} and e["notes"] == "by hand"
    assert main(["board", "--entry", "1", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("run cost:")] == ["run cost:  $0.5 (10 prompt tokens)"]
    assert main(["board", "CirclePacking26-v0", "--db", db_url]) == 0
    assert "run cost $0.5; by hand" in capsys.readouterr().out
    # the same artifact again with another cost: deduplicated, the first run cost stays
    assert (
        main(
            [
                "submit",
                "CirclePacking26-v0",
                str(f),
                "--name",
                "b",
                "--run-cost",
                '{"cost_usd": 9}',
                "--db",
                db_url,
                "--json",
            ]
        )
        == 0
    )
    again = json.loads(capsys.readouterr().out)
    assert again["outcome"] == "existing" and again["run_cost"] == {"cost_usd": 0.5, "prompt_tokens": 10}
    # @FILE, the agent's full record (its usual fields read as one line); no run cost: no line
    g, cost_file = tmp_path / "b.json", tmp_path / "cost.json"
    g.write_text(cp26_grid(6))
    full = {
        "cost_usd": 0.0042,
        "prompt_tokens": 38584,
        "completion_tokens": 922,
        "train_tokens": 858,
        "sampler_device_s": 38.91,
        "trainer_device_s": 61.4,
        "eval_cpu_s": 0.05,
        "rates": "set",
    }
    cost_file.write_text(json.dumps(full))
    assert (
        main(
            [
                "submit",
                "CirclePacking26-v0",
                str(g),
                "--name",
                "c",
                "--run-cost",
                f"@{cost_file}",
                "--db",
                db_url,
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["run_cost"] == full
    assert main(["board", "--entry", "2", "--db", db_url]) == 0
    assert (
        "run cost:  $0.0042 (38,584 prompt + 922 completion tokens, 858 trained; sampler 38.9 device-s, "
        "trainer 61.4 device-s, evaluation 0.05 CPU-s)"
    ) in capsys.readouterr().out
    h = tmp_path / "c.json"
    h.write_text(cp26_grid(7))
    assert main(["submit", "CirclePacking26-v0", str(h), "--name", "d", "--db", db_url]) == 0
    assert "run cost" not in capsys.readouterr().out
    assert main(["board", "--entry", "3", "--db", db_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_cost"] is None


@pytest.mark.parametrize(
    "raw, says",
    [
        ("cost 0.5", "--run-cost is not valid JSON"),
        ("[0.5]", '--run-cost must be a JSON object such as {"cost_usd": 0.5}, not an array'),
        ('"0.5"', '--run-cost must be a JSON object such as {"cost_usd": 0.5}, not a string'),
        ('{"cost_usd": -1}', "--run-cost value of 'cost_usd' must be a finite number ≥ 0, not -1"),
        ('{"cost_usd": 1, "eval_cpu_s": -0.5}', "value of 'eval_cpu_s' must be a finite number ≥ 0"),
        ('{"cost_usd": NaN}', "value of 'cost_usd' must be a finite number ≥ 0, not nan"),
        ('{"cost_usd": Infinity}', "must be a finite number ≥ 0, not inf"),
        ('{"prompt_tokens": 10}', "--run-cost must contain cost_usd"),
        ('{"cost_usd": "0.5"}', "cost_usd must be a number"),
        ('{"cost_usd": 1, "priced": true}', "value of 'priced' is a boolean"),
        ('{"cost_usd": 1, "x": null}', "value of 'x' is null"),
        ('{"cost_usd": 1, "x": {"y": 1}}', "value of 'x' is an object"),
        ('{"cost_usd": 1, "x": [1]}', "value of 'x' is an array"),
        ('{"cost_usd": 1, "x": "' + "y" * 101 + '"}', "strings may have at most 100"),
        ("{" + ", ".join(f'"k{i}": 1' for i in range(30)) + ', "cost_usd": 1}', "has 31 keys; at most 30"),
        ("@/nonexistent/cost.json", "no such file: /nonexistent/cost.json"),
    ],
)
def test_submit_run_cost_refusals(raw, says, db_url, tmp_path, capsys):
    f = tmp_path / "a.json"
    f.write_text(cp26_grid(4))
    assert main(["submit", "CirclePacking26-v0", str(f), "--name", "a", "--run-cost", raw, "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tttd: error:") and says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.strip().count(". ") == 0  # one sentence
    assert main(["board", "CirclePacking26-v0", "--all", "--db", db_url, "--json"]) == 0
    assert not [r for r in json.loads(capsys.readouterr().out)[0]["rows"] if r["kind"] == "entry"]  # nothing stored


def test_submit_api_checks_run_cost(db_url):
    import leaderboards

    with pytest.raises(leaderboards.SubmissionRefused, match="run_cost must contain cost_usd"):
        leaderboards.submit("CirclePacking26-v0", cp26_grid(4), submitter="a", run_cost={"tokens": 1}, db=db_url)
    e = leaderboards.submit(
        "CirclePacking26-v0", cp26_grid(4), submitter="a", run_cost={"cost_usd": 2, "gpu": "H100"}, db=db_url
    )
    assert e.run_cost == {"cost_usd": 2, "gpu": "H100"} and e.to_dict()["run_cost"] == e.run_cost


def test_submit_says_which_references_rank_above_the_entry(tmp_path, capsys):
    """An entry ranked first among entries but below every numbered reference says so, instead of a bare
    "rank: 1" (CP26 has five references with a number; a 1.82 packing beats none of them)."""
    pts = [[(i % 6) * 0.16 + 0.08, (i // 6) * 0.16 + 0.08, 0.07] for i in range(26)]
    (tmp_path / "cp.json").write_text(json.dumps(pts))
    assert (
        main(
            [
                "submit",
                "CirclePacking26-v0",
                str(tmp_path / "cp.json"),
                "--name",
                "me",
                "--db",
                f"sqlite:///{tmp_path / 'x.db'}",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "rank:      1 among entries, below 5 references" in out and "beats:     none of the references" in out
