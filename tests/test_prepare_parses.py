"""Smoke test: examples/prepare_parses.py on 3 SST trees and 3 SICK pairs per split, with the offline models.

Then both training examples run one epoch on what it wrote, so the whole
"re-parse, then train the other Tree-LSTM" path cannot rot.
"""
import json
from pathlib import Path

import pytest
import torch

from treenets import Tree
from treenets.data import load_sick, load_sst
from treenets.data.parsed import load_parsed_sick, load_parsed_sst

from conftest import EXAMPLES, load_example as load

pytest.importorskip("stanza")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, data_dir, stanza_dir):
    out = tmp_path_factory.mktemp("parses")
    stats = load("prepare_parses").main(["--data-dir", str(data_dir), "--out", str(out), "--limit", "3",
                                         "--stanza-dir", str(stanza_dir), "--no-progress"])
    return out, stats


def test_sst_dependency_trees_keep_the_words_and_labels(prepared, data_dir):
    out, stats = prepared
    for split in ("train", "dev", "test"):
        sst = load_sst(data_dir / "sst", split)[:3]
        text = (out / "sst" / f"{split}.conllu").read_text(encoding="utf-8")
        assert text.count("# sent_id") == 3 and "\tLabel=" in text
        assert not (out / "sst" / f"{split}.dtree").exists()
        deps = load_parsed_sst(out, split)
        for c, d in zip(sst, deps):
            assert d.words == c.words  # in sentence order, non-projective trees too
            assert all(t is not None for t in d.tokens) and d.rels is not None
            assert d.labels[d.root] == c.labels[c.root]
            assert all(lab in (-1, 0, 1, 2, 3, 4) for lab in d.labels)
        assert stats["sst"]["splits"][split]["sentences"] == 3
    transfer = stats["sst"]["label_transfer"]
    assert 0 < transfer["coverage"] <= 1 and transfer["nodes"] == sum(
        len(t) for s in ("train", "dev", "test") for t in load_parsed_sst(out, s))
    assert stats["sst"]["sentences_per_s"] >= 0
    assert json.loads((out / "stats.json").read_text()) == stats


def test_sick_constituency_trees_are_binary_over_the_tokens(prepared, data_dir):
    out, stats = prepared
    for split in ("train", "dev", "test"):
        given = load_sick(data_dir / "sick", split)[:3]
        pairs = load_parsed_sick(out, split, data_dir / "sick", limit=3)
        assert [p.id for p in pairs] == [p.id for p in given]
        assert [p.score for p in pairs] == [p.score for p in given]
        for p, g in zip(pairs, given):
            for tree, ref in ((p.a, g.a), (p.b, g.b)):
                assert tree.words == ref.words
                assert tree.max_children <= 2
                assert all((t is None) == bool(k) for t, k in zip(tree.tokens, tree.children))  # words at leaves
        assert Tree.from_brackets((out / "sick" / split / "a.ctree").read_text().splitlines()[0]) == pairs[0].a
    with pytest.raises(ValueError, match="3 trees but SICK train has"):
        load_parsed_sick(out, "train", data_dir / "sick")


def test_a_second_run_parses_nothing(prepared, data_dir, stanza_dir):
    out, _ = prepared
    stats = load("prepare_parses").main(["--data-dir", str(data_dir), "--out", str(out), "--limit", "3",
                                         "--stanza-dir", str(stanza_dir), "--no-progress", "--only", "sick"])
    assert stats["sick"]["parsed"] == 0


def test_training_examples_run_on_the_parses(prepared, data_dir, tmp_path, capsys):
    out, _ = prepared
    sst = load("train_sst").main(["--data-dir", str(data_dir), "--parsed-dir", str(out), "--limit", "3",
                                  "--epochs", "1", "--hidden", "6", "--out", str(tmp_path / "sst"),
                                  "--no-progress", "--mode", "binary"])
    assert sst["trees"] == "dependency" and sst["cell"] == "childsum"
    sick = load("train_sick").main(["--data-dir", str(data_dir), "--parsed-dir", str(out), "--limit", "3",
                                    "--epochs", "1", "--hidden", "6", "--sim-hidden", "3",
                                    "--out", str(tmp_path / "sick"), "--no-progress"])
    assert sick["trees"] == "constituency" and sick["cell"] == "nary" and sick["test_pairs"] == 3
    again = load("evaluate").main([str(tmp_path / "sick" / "best.pt"), "--data-dir", str(data_dir),
                                   "--split", "test", "--limit", "3"])
    assert again["pearson"] == pytest.approx(sick["test_pearson"], abs=1e-4)
