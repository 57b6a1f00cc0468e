"""parent.json is handed to the program read-only: it cannot be written, replaced or deleted,
while the program may still create its own files in the working directory."""

import json
import os

import pytest

from verifiers import sandbox

PROGRAM = b"""import os
def run(budget_s, seed):
    out = {}
    attempts = {"write": lambda: open("parent.json", "w"), "unlink": lambda: os.unlink("parent.json"),
                "rename": lambda: os.rename("parent.json", "x.json"),
                "own_file": lambda: open("mine.txt", "w").write("ok")}
    for name, f in attempts.items():
        try:
            f()
            out[name] = "ok"
        except OSError as e:
            out[name] = type(e).__name__
    out["content"] = open("parent.json").read()
    return out
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="private uid needs root")
def test_parent_json_is_read_only():
    r = sandbox.run(
        files={"program.py": PROGRAM, "parent.json": b'{"construction": [0.5]}'},
        limits=sandbox.Limits(wall_s=10),
        config={"entry": "run", "kwargs": {"budget_s": 1, "seed": 0}, "convert": {"kind": "json"}},
    )
    assert r.status == "ok"
    out = json.loads(r.result)["value"]
    assert out == {
        "write": "PermissionError",
        "unlink": "PermissionError",
        "rename": "PermissionError",
        "own_file": "ok",
        "content": '{"construction": [0.5]}',
    }
