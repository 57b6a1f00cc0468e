"""best/: the best answer is saved with the extension of what it is (a program or a JSON construction)."""

from agents import rundir


def _best(text):
    return {
        "state": {"id": "s", "artifact": text, "value": 1.0, "score": 1.0},
        "verdict": {"accepted": True},
        "reward": 1.0,
        "step": 1,
    }


def test_best_answer_extension_follows_its_content(tmp_path):
    p = rundir.write_best(tmp_path, "P", "python", _best("def run(budget_s, seed):\n    return [1.0]\n"))
    assert p.name == "answer.py"
    p = rundir.write_best(tmp_path, "P", "python", _best("[1, 2, 3]"))
    assert p.name == "answer.json" and p.read_text() == "[1, 2, 3]"
    assert sorted(x.name for x in (tmp_path / "best").glob("answer.*")) == ["answer.json"]  # the .py is gone
    assert rundir.write_best(tmp_path, "P", "cpp", _best("int main() {}")).name == "answer.cpp"
