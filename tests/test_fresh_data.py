"""A fresh environment with only what `python -m treenets.data` fetched can run both training examples.

Small, well-formed stand-ins of the official files (the SST zip, the three
SemEval SICK zips, glove.6B.zip and glove.840B.300d.zip) are served from
127.0.0.1 under their official names; the checksum tables are pointed at the
stand-ins. `python -m treenets.data --mirror` downloads them into an empty
folder, and the examples run with their defaults on that folder alone: SST
with glove.6B.50d.txt, SICK through stanza's dependency parses
(examples/prepare_parses.py --only sick-dependency) with glove.840B.300d.txt.
"""
import dataclasses
import random

import pytest

from conftest import load_example as load
from test_download import make_zip, server, sha256  # noqa: F401 (the fixture)
from treenets.data import GLOVE_RELEASES, SICK_CHECKSUMS, SST_CHECKSUMS
from treenets.data.command import main as download_main

SST = {
    "train": ["(3 (2 A) (4 (4 good) (2 film)))", "(1 (2 The) (0 (0 bad) (2 plot)))", "(4 (4 Great) (2 fun))",
              "(0 (2 An) (0 (1 awful) (2 movie)))", "(3 (2 It) (3 (2 is) (3 fine)))", "(2 (2 So) (2 so))"],
    "dev": ["(3 (2 A) (3 (3 nice) (2 film)))", "(1 (2 The) (1 (1 dull) (2 plot)))"],
    "test": ["(4 (2 A) (4 (4 great) (2 movie)))", "(0 (2 An) (0 (0 awful) (2 film)))"],
}
SICK_PAIRS = [
    ("A man is playing a guitar", "A man is playing an instrument", 4.5),
    ("A dog is running in the park", "A cat is sleeping on the sofa", 1.4),
    ("Two children are playing outside", "Kids are playing outdoors", 4.7),
    ("A woman is cutting an onion", "Nobody is cutting an onion", 3.1),
    ("The man is riding a horse", "A person is riding an animal", 4.0),
    ("A girl is singing", "A boy is swimming in the sea", 1.2),
]
SICK_FILES = {"train": "SICK_train.txt", "trial": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}


def sick_file(offset):
    rows = ["pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"]
    for k, (a, b, score) in enumerate(SICK_PAIRS):
        rows.append(f"{offset + k}\t{a}\t{b}\t{score}\tNEUTRAL")
    return ("\n".join(rows) + "\n").encode()


def glove(words, dim, seed):
    rng = random.Random(seed)
    return "".join(w + " " + " ".join(f"{rng.uniform(-1, 1):.5f}" for _ in range(dim)) + "\n" for w in words).encode()


@pytest.fixture
def fetched(server, tmp_path, monkeypatch):
    """An empty folder filled by `python -m treenets.data` from the stand-ins; returns it."""
    sst = {f"{split}.txt": ("\n".join(trees) + "\n").encode() for split, trees in SST.items()}
    server.files["/trainDevTestTrees_PTB.zip"] = make_zip({f"trees/{name}": data for name, data in sst.items()})
    for name, data in sst.items():
        monkeypatch.setitem(SST_CHECKSUMS, name, (sha256(data),))
    for k, (split, name) in enumerate(SICK_FILES.items()):
        data = sick_file(100 * k)
        server.files[f"/sick_{split}.zip" if split != "test" else "/sick_test_annotated.zip"] = make_zip(
            {name: data, "readme.txt": b"SICK\n"})
        monkeypatch.setitem(SICK_CHECKSUMS, name, (sha256(data),))
    sst_words = sorted({w.lower() for trees in SST.values() for t in trees for w in t.replace("(", " ").replace(
        ")", " ").split() if not w.isdigit()})
    sick_words = sorted({w for a, b, _ in SICK_PAIRS for w in (a + " " + b).split()})
    for release, member, words, dim in (("6B", "glove.6B.50d.txt", sst_words[:-2], 50),
                                        ("840B", "glove.840B.300d.txt", sick_words[3:], 300)):
        data = make_zip({member: glove(words, dim, seed=len(release))})
        name = GLOVE_RELEASES[release].archive
        server.files[f"/{name}"] = data
        monkeypatch.setitem(GLOVE_RELEASES, release, dataclasses.replace(
            GLOVE_RELEASES[release], size=len(data), sha256=sha256(data), members={member: None}))
    root = tmp_path / "data"
    assert download_main(["--root", str(root), "--mirror", server.url("/"), "--no-progress"]) == 0
    assert sorted(server.hits) == sorted(["/trainDevTestTrees_PTB.zip", "/sick_train.zip", "/sick_trial.zip",
                                          "/sick_test_annotated.zip", "/glove.6B.zip", "/glove.840B.300d.zip"])
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["embeddings/glove.6B.50d.txt", "embeddings/glove.840B.300d.txt", "sick/SICK_test_annotated.txt",
                     "sick/SICK_train.txt", "sick/SICK_trial.txt", "sst/dev.txt", "sst/test.txt", "sst/train.txt"]
    monkeypatch.setenv("TREENETS_DATA_DIR", str(root))
    return root


def test_train_sst_on_fetched_data(fetched, tmp_path, capsys):
    result = load("train_sst").main(["--epochs", "1", "--hidden", "6", "--out", str(tmp_path / "sst"),
                                     "--no-progress"])
    assert result["embeddings"] == "glove.6B.50d.txt" and result["test_trees"] == 2
    assert 0 < result["type_coverage"] < 1  # two words were left out of the stand-in vectors


def test_train_sick_on_fetched_data_through_stanza(fetched, tmp_path, capsys, stanza_dir):
    pytest.importorskip("stanza")
    train_sick = load("train_sick").main
    with pytest.raises(FileNotFoundError) as info:  # no Tai et al. parses: say so, and how to make them
        train_sick(["--epochs", "1", "--out", str(tmp_path / "sick")])
    message = str(info.value)
    assert f"{fetched / 'sick' / 'train' / 'a.toks'} is missing" in message
    assert "python examples/prepare_parses.py" in message and "--only sick-dependency" in message
    parses = tmp_path / "parses"
    stats = load("prepare_parses").main(["--only", "sick-dependency", "--out", str(parses), "--stanza-dir",
                                         str(stanza_dir), "--no-progress"])
    assert stats["sick_dependency"]["splits"] == {s: {"pairs": 6} for s in ("train", "dev", "test")}
    toks = (parses / "sick" / "train" / "a.toks").read_text().splitlines()
    assert toks == [a for a, _, _ in SICK_PAIRS]  # nltk's tokens of the official sentences
    result = train_sick(["--sick-dir", str(parses / "sick"), "--epochs", "1", "--hidden", "6", "--sim-hidden", "3",
                         "--out", str(tmp_path / "sick"), "--no-progress"])
    assert result["embeddings"] == "glove.840B.300d.txt" and result["test_pairs"] == 6
    assert result["trees"] == "dependency" and result["cell"] == "childsum"
    again = load("evaluate").main([str(tmp_path / "sick" / "best.pt"), "--split", "test"])
    assert again["pearson"] == pytest.approx(result["test_pearson"], abs=1e-4)
