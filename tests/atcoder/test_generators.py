"""Generators and input sets against the official inputs (docs/atcoder.md#generators,
docs/atcoder.md#case-sets-and-modes).

The embedded manifests are checked against data/atcoder (when present); the generated inputs are checked
against the embedded manifests (always) and byte for byte against the official files (when present).
The full runs (150 + 150 AHC039 inputs, about 50 ms each) generate every input once per module.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from atc_helpers import (
    data_dir,
    data_file,
    load_json,
    private_manifest,
    private_seeds,
    public_manifest,
)

from verifiers.atcoder import gen_ahc039, gen_ahc058, inputs, manifests

CONCAT = {
    "ahc039": "6c9d6323b94c7328fd099f9818d703d1aefc206f1942070cea9252f99e759469",
    "ahc058": "e35d2049544d773c92050e3cb67ddfab6643c7092e6873bdad6f7899790855f0",
    "ahc039-official": "cce660a0db86a941a9db7c4bc78baabd43dd11a2731722408c46e42b5cb658e0",
}
# docs/atcoder.md#generators / rng_vectors.json: the only public seeds whose AHC039 generation rejects candidates.
AHC039_PUBLIC_REJECTIONS = {
    1: (0, 1),
    14: (0, 1),
    27: (0, 1),
    28: (0, 1),
    92: (0, 1),
    97: (0, 1),
    125: (0, 1),
    122: (0, 2),
    10: (1, 0),
    90: (1, 0),
}  # seed: (mackerel dups, sardine dups)
U64_MAX = 2**64 - 1


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def official_bytes(problem: str, seed: int) -> bytes:
    return data_file(f"{problem}/in/{seed:04d}.txt").read_bytes()


# ------------------------------------------------------------------------------------------------
# embedded manifests vs the data files
# ------------------------------------------------------------------------------------------------


def test_embedded_public_manifests_equal_data():
    for problem in ("ahc039", "ahc058"):
        assert list(manifests.PUBLIC_SHA256[problem]) == public_manifest(problem)


def test_embedded_private_seeds_and_manifest_equal_data():
    assert list(manifests.AHC039_PRIVATE_SEEDS) == private_seeds()
    assert list(manifests.AHC039_PRIVATE_SHA256) == private_manifest()
    assert len(manifests.AHC039_PRIVATE_SEEDS) == 150
    assert manifests.AHC039_PRIVATE_SEEDS[7] == 4237562504375491041


def test_data_files_match_their_manifest():
    for problem in ("ahc039", "ahc058"):
        for s, digest in enumerate(public_manifest(problem)):
            assert hashlib.sha256(official_bytes(problem, s)).hexdigest() == digest, (problem, s)


# ------------------------------------------------------------------------------------------------
# AHC039: fast suite
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 10, 122])
def test_ahc039_fast_seeds_byte_exact(seed):
    text = gen_ahc039.generate(seed)
    assert sha(text) == manifests.PUBLIC_SHA256["ahc039"][seed]
    assert text.encode("ascii") == official_bytes("ahc039", seed)


def test_ahc039_seed0_format_and_intermediates():
    text, trace = gen_ahc039.generate_with_trace(0)
    lines = text.split("\n")
    assert lines[:4] == ["5000", "54597 27197", "21263 39716", "29087 37694"]
    assert len(lines) == 10002 and lines[-1] == ""  # 5000, 10,000 points, final newline
    mack, sard = trace.passes
    assert (mack.n, sard.n) == (18, 12)
    assert mack.weights[0] == 0.4335500393119561
    assert mack.centers[0] == (22410, 75791) and mack.sigmas[0] == 1048.0
    assert mack.words_after_params == 95
    assert mack.words_after_pass == 30579 and sard.words_after_pass == 61065
    cluster, bx, _, x, y = mack.first_candidates[0]
    assert (cluster, bx, x, y) == (13, -0.8229984251518778, 54597, 27197)
    assert mack.candidates == sard.candidates == 5000


def test_ahc039_seed0_intermediates_vs_vectors():
    v = load_json("rng_vectors.json")["ahc039_seed0"]
    _, trace = gen_ahc039.generate_with_trace(0)
    for pt, vp in zip(trace.passes, (v["mackerel_pass"], v["sardine_pass"])):
        assert pt.n == vp["n"]
        assert [repr(w) for w in pt.weights[:3]] == vp["weights_first3_repr"]
        assert [list(c) for c in pt.centers[:3]] == vp["centers_first3"]
        assert pt.sigmas[:3] == vp["sigmas_first3"]
        assert pt.candidates == vp["candidates_drawn"]
        assert pt.words_after_pass == vp["u32_words_consumed_after_pass"]
    mp = v["mackerel_pass"]
    m = trace.passes[0]
    assert m.words_after_params == mp["u32_words_consumed_by_parameters"]
    assert repr(sum_left_to_right(m.weights)) == mp["total_weight_repr"]
    for (cluster, bx, by, x, y), want in zip(m.first_candidates, mp["first3_candidates"]):
        assert (cluster, repr(bx), repr(by), x, y) == (want["cluster"], want["bx"], want["by"], want["x"], want["y"])
    s = trace.passes[1]
    assert [[x, y] for _, _, _, x, y in s.first_candidates] == v["sardine_pass"]["first3_points"]


def sum_left_to_right(ws):
    total = 0.0
    for w in ws:
        total += w
    return total


def test_ahc039_seed_edge_cases():
    # u64 seeds above 2^63 are unsigned; 2^64 - 1 works; out-of-range seeds are refused.
    a = gen_ahc039.generate(U64_MAX)
    assert a.startswith("5000\n") and a.count("\n") == 10001
    assert a != gen_ahc039.generate(2**63 - 1)
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            gen_ahc039.generate(bad)


# ------------------------------------------------------------------------------------------------
# AHC058: every seed (fast, about 3 ms each)
# ------------------------------------------------------------------------------------------------


def test_ahc058_seed0_intermediates():
    a_unsorted, a, c = gen_ahc058.generate_parameters(0)
    assert a_unsorted == [1, 1, 92, 53, 2, 62, 3, 2, 3, 10]
    assert a == [1, 1, 2, 2, 3, 3, 10, 53, 62, 92]
    assert c[0][0] == 1 and c[0][1] == 35
    assert gen_ahc058.generate(0).startswith("10 4 500 1\n1 1 2 2 3 3 10 53 62 92\n1 35 7 3 6 41 301 1508 81 410\n")
    v = load_json("rng_vectors.json")["ahc058_seed0"]
    assert (a_unsorted, a, c[0][1]) == (v["A_unsorted"], v["A_sorted"], v["C_0_1"])


def test_ahc058_all_public_seeds():
    cat = hashlib.sha256()
    bad = []
    for s in range(150):
        text = gen_ahc058.generate(s)
        cat.update(text.encode("ascii"))
        if sha(text) != manifests.PUBLIC_SHA256["ahc058"][s]:
            bad.append(s)
    assert bad == []
    assert cat.hexdigest() == CONCAT["ahc058"]


def test_ahc058_bytes_equal_official_files():
    data_dir()
    for s in range(150):
        assert gen_ahc058.generate(s).encode("ascii") == official_bytes("ahc058", s), s


# ------------------------------------------------------------------------------------------------
# AHC039: full public set and the official (private) set, each generated once per module
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ahc039_public():
    """seed -> (sha256, trace) for seeds 0..149, plus the concatenated digest."""
    cat = hashlib.sha256()
    out = {}
    for s in range(150):
        text, trace = gen_ahc039.generate_with_trace(s)
        data = text.encode("ascii")
        cat.update(data)
        out[s] = (hashlib.sha256(data).hexdigest(), trace)
    return out, cat.hexdigest()


@pytest.fixture(scope="module")
def ahc039_official_dir(tmp_path_factory):
    """The official set generated (and verified) through inputs.input_dir into a fresh cache."""
    root = tmp_path_factory.mktemp("atcoder-cache")
    return inputs.input_dir("ahc039", "official", cache_dir=root, progress=False)


@pytest.mark.slow
def test_ahc039_all_public_seeds_match_manifest(ahc039_public):
    digests, cat = ahc039_public
    bad = [s for s in range(150) if digests[s][0] != manifests.PUBLIC_SHA256["ahc039"][s]]
    assert bad == []
    assert cat == CONCAT["ahc039"]


@pytest.mark.slow
def test_ahc039_all_public_seeds_match_data_manifest(ahc039_public):
    digests, _ = ahc039_public
    assert [digests[s][0] for s in range(150)] == public_manifest("ahc039")


@pytest.mark.slow
def test_ahc039_public_rejections(ahc039_public):
    digests, _ = ahc039_public
    for s in range(150):
        mack, sard = digests[s][1].passes
        assert (mack.out_of_range, sard.out_of_range) == (0, 0), s
        assert (mack.duplicates, sard.duplicates) == AHC039_PUBLIC_REJECTIONS.get(s, (0, 0)), s


@pytest.mark.slow
def test_ahc039_public_rejections_and_cluster_counts_vs_vectors(ahc039_public):
    digests, _ = ahc039_public
    v = load_json("rng_vectors.json")
    for seed, counts in v["ahc039_rejections"]["public_seeds_0_149"].items():
        mack, sard = digests[int(seed)][1].passes
        assert mack.duplicates == counts.get("mackerel_duplicates", 0)
        assert sard.duplicates == counts.get("sardine_duplicates", 0)
    for seed, (n0, n1) in ((k, c) for k, c in v["ahc039_cluster_counts"].items() if k.isdigit()):
        passes = digests[int(seed)][1].passes
        assert (passes[0].n, passes[1].n) == (n0, n1)


@pytest.mark.slow
def test_ahc039_official_set_matches_private_manifest(ahc039_official_dir):
    files = sorted(ahc039_official_dir.glob("*.txt"))
    assert [f.name for f in files] == [f"{k:04d}.txt" for k in range(150)]
    cat = hashlib.sha256()
    got = []
    for f in files:
        data = f.read_bytes()
        cat.update(data)
        got.append(hashlib.sha256(data).hexdigest())
    assert got == list(manifests.AHC039_PRIVATE_SHA256)
    assert cat.hexdigest() == CONCAT["ahc039-official"]
    assert got == private_manifest()  # the published manifest, when the data is present


def test_ahc039_official_case7_out_of_range_branch():
    seed = manifests.AHC039_PRIVATE_SEEDS[7]
    text, trace = gen_ahc039.generate_with_trace(seed)
    assert sha(text) == manifests.AHC039_PRIVATE_SHA256[7]
    assert sha(text).startswith("8d63427a") and sha(text).endswith("a4c5")
    mack, sard = trace.passes
    assert (mack.out_of_range, sard.out_of_range) == (0, 1)


def test_ahc039_official_rejections_vs_vectors():
    v = load_json("rng_vectors.json")["ahc039_rejections"]["private_cases"]
    for key, counts in v.items():
        case = int(key.split()[0])
        seed = manifests.AHC039_PRIVATE_SEEDS[case]
        assert f"seed {seed}" in key
        text, trace = gen_ahc039.generate_with_trace(seed)
        assert sha(text) == manifests.AHC039_PRIVATE_SHA256[case]
        mack, sard = trace.passes
        assert mack.duplicates == counts.get("mackerel_duplicates", 0), key
        assert sard.duplicates == counts.get("sardine_duplicates", 0), key
        assert sard.out_of_range == counts.get("sardine_out_of_range", 0), key
        assert mack.out_of_range == counts.get("mackerel_out_of_range", 0), key


# ------------------------------------------------------------------------------------------------
# inputs: seed lists, cache, verification
# ------------------------------------------------------------------------------------------------


def test_seed_lists():
    for problem in ("ahc039", "ahc058", "AHC039-v0", "AHC058"):
        assert inputs.seeds(problem, "lite") == [0, 1, 2, 3, 4]
        assert inputs.seeds(problem, "public50") == list(range(50))
        assert inputs.seeds(problem, "public150") == list(range(150))
    assert inputs.seeds("ahc039", "official") == list(manifests.AHC039_PRIVATE_SEEDS)
    assert inputs.expected_sha256("ahc039", "official") == list(manifests.AHC039_PRIVATE_SHA256)
    assert inputs.expected_sha256("ahc058", "public50") == list(manifests.PUBLIC_SHA256["ahc058"][:50])
    with pytest.raises(ValueError, match="unknown input set"):
        inputs.seeds("ahc039", "private")
    with pytest.raises(ValueError, match="unknown AtCoder problem"):
        inputs.seeds("ahc040", "lite")


def test_ahc058_has_no_official_cases():
    with pytest.raises(inputs.NoOfficialCasesError, match="no official"):
        inputs.seeds("ahc058", "official")
    with pytest.raises(inputs.NoOfficialCasesError):
        inputs.input_dir("AHC058-v0", "official", cache_dir="/nonexistent-never-created")


def test_input_text():
    assert sha(inputs.input_text("ahc058", 3)) == manifests.PUBLIC_SHA256["ahc058"][3]
    assert sha(inputs.input_text("AHC039-v0", 0)) == manifests.PUBLIC_SHA256["ahc039"][0]


def test_input_dir_generates_caches_and_verifies(tmp_path, capsys):
    folder = inputs.input_dir("ahc058", "lite", cache_dir=tmp_path)
    assert folder == tmp_path / "ahc058" / "lite"
    assert sorted(p.name for p in folder.iterdir()) == [f"{k:04d}.txt" for k in range(5)]
    for k in range(5):
        assert sha((folder / f"{k:04d}.txt").read_text()) == manifests.PUBLIC_SHA256["ahc058"][k]
    assert "ahc058/lite" in capsys.readouterr().err  # progress was shown
    # second call: nothing generated, nothing printed
    mtimes = [(folder / f"{k:04d}.txt").stat().st_mtime_ns for k in range(5)]
    assert inputs.input_dir("ahc058", "lite", cache_dir=tmp_path) == folder
    assert capsys.readouterr().err == ""
    assert [(folder / f"{k:04d}.txt").stat().st_mtime_ns for k in range(5)] == mtimes
    # a corrupted cached file is regenerated
    (folder / "0002.txt").write_text("garbage\n")
    inputs.input_dir("ahc058", "lite", cache_dir=tmp_path, progress=False)
    assert sha((folder / "0002.txt").read_text()) == manifests.PUBLIC_SHA256["ahc058"][2]
    assert capsys.readouterr().err == ""
    paths = inputs.input_paths("ahc058", "lite", cache_dir=tmp_path)
    assert paths == [folder / f"{k:04d}.txt" for k in range(5)]


def test_input_dir_ahc039_lite_bytes(tmp_path):
    folder = inputs.input_dir("ahc039", "lite", cache_dir=tmp_path, progress=False)
    data_dir()
    for k in range(5):
        assert (folder / f"{k:04d}.txt").read_bytes() == official_bytes("ahc039", k)


def test_input_dir_default_cache_uses_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert inputs.default_cache_dir() == tmp_path / "xdg" / "tttd" / "atcoder"
    folder = inputs.input_dir("ahc058", "lite", progress=False)
    assert folder == tmp_path / "xdg" / "tttd" / "atcoder" / "ahc058" / "lite"
    assert len(list(folder.glob("*.txt"))) == 5
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert inputs.default_cache_dir() == tmp_path / "home" / ".cache" / "tttd" / "atcoder"


def test_input_dir_mismatch_is_a_clear_error(tmp_path, monkeypatch):
    wrong = "0" * 64
    table = dict(manifests.PUBLIC_SHA256)
    table["ahc058"] = table["ahc058"][:3] + (wrong,) + table["ahc058"][4:]
    monkeypatch.setattr(inputs, "PUBLIC_SHA256", table)
    with pytest.raises(inputs.InputMismatchError) as exc:
        inputs.input_dir("ahc058", "lite", cache_dir=tmp_path, progress=False)
    err = exc.value
    msg = str(err)
    actual = manifests.PUBLIC_SHA256["ahc058"][3]
    assert (err.seed, err.case, err.expected, err.actual) == (3, 3, wrong, actual)
    assert "seed 3" in msg and wrong in msg and actual in msg
    assert "C library" in msg and "docs/atcoder.md#generators" in msg
    # the mismatching file was not written
    assert not (tmp_path / "ahc058" / "lite" / "0003.txt").exists()


def test_input_dir_leaves_no_temporary_files(tmp_path):
    folder = inputs.input_dir("ahc058", "public50", cache_dir=tmp_path, progress=False)
    names = os.listdir(folder)
    assert len(names) == 50 and all(n.endswith(".txt") and not n.startswith(".") for n in names)


def test_ahc039_pure_python_keystream(monkeypatch):
    """The pure-Python block function (used without numpy) gives the same input as the bulk path."""
    from verifiers.atcoder import rng

    monkeypatch.setattr(rng, "_np", None)
    assert sha(gen_ahc039.generate(10)) == manifests.PUBLIC_SHA256["ahc039"][10]
