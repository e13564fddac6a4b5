"""SST reader: real splits through the data_dir fixture, synthetic files for errors."""
import re
from pathlib import Path

import pytest

from treenets import TreeBatch, Vocab
from treenets.data import SST_SPLITS, default_data_dir, load_sst, load_sst_splits, sst_binary_label, sst_path
from treenets.formats import glove_forms, ptb_unescape

COUNTS = {"train": 8544, "dev": 1101, "test": 2210}
BINARY_COUNTS = {"train": 6920, "dev": 872, "test": 1821}  # SST-2 as in Tai et al.


@pytest.fixture(scope="module")
def fine(data_dir):
    return load_sst_splits(data_dir / "sst", mode="fine")


@pytest.fixture(scope="module")
def binary(data_dir):
    return load_sst_splits(data_dir / "sst", mode="binary")


def write(tmp_path, text, name="trees.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ real data
def test_fine_counts_and_labels(fine):
    assert {s: len(t) for s, t in fine.items()} == COUNTS
    for trees in fine.values():
        for tree in trees:
            assert all(type(lab) is int and 0 <= lab <= 4 for lab in tree.labels)
            # Binarised constituency trees: words at leaves, 0 or 2 children.
            assert all((tok is None) == bool(kids) for tok, kids in zip(tree.tokens, tree.children))
            assert all(len(kids) in (0, 2) for kids in tree.children)


def test_first_train_tree(fine):
    tree = fine["train"][0]
    assert tree.words[:4] == ["The", "Rock", "is", "destined"]
    assert tree.labels[tree.root] == 3
    assert tree.words[-1] == "."
    assert len(tree.words) == (len(tree) + 1) // 2


def test_binary_counts_and_labels(fine, binary):
    assert {s: len(t) for s, t in binary.items()} == BINARY_COUNTS
    for split, trees in binary.items():
        # Exactly the non-neutral sentences of the fine split, in order, same shape.
        kept = [t for t in fine[split] if t.labels[t.root] != 2]
        assert len(kept) == len(trees)
        for f, b in zip(kept, trees):
            assert b.parents == f.parents and b.tokens == f.tokens
            assert b.labels == [sst_binary_label(x) for x in f.labels]
            assert b.labels[b.root] in (0, 1)
    phrase_labels = {lab for t in binary["dev"] for lab in t.labels}
    assert phrase_labels == {-1, 0, 1}  # neutral phrases kept with no target


def test_binary_keep_neutral(data_dir):
    trees = load_sst(data_dir / "sst", "dev", mode="binary", drop_neutral=False)
    assert len(trees) == COUNTS["dev"]
    assert sum(t.labels[t.root] == -1 for t in trees) == COUNTS["dev"] - BINARY_COUNTS["dev"]


def test_tree_batch_labels(binary):
    trees = binary["dev"][:16]
    vocab = Vocab.build(t.words for t in trees)
    batch = TreeBatch.from_trees(trees, vocab)
    assert batch.labels.tolist() == [lab for t in trees for lab in t.labels]
    assert set(batch.labels[batch.roots].tolist()) <= {0, 1}
    assert (batch.labels == -1).any()


def test_ptb_escapes_in_real_tokens(fine):
    words = {w for trees in fine.values() for t in trees for w in t.words}
    assert {"-LRB-", "-RRB-", "``", "''"} <= words
    # The bracket reader already drops backslash escapes such as writer\/director.
    assert "writer/director" in words and not any("\\" in w for w in words)


def test_file_path_and_env_default(data_dir, monkeypatch):
    dev = load_sst(data_dir / "sst" / "dev.txt")
    assert len(dev) == COUNTS["dev"]
    monkeypatch.setenv("TREENETS_DATA_DIR", str(data_dir))
    assert default_data_dir() == Path(data_dir)
    assert sst_path(split="dev") == Path(data_dir) / "sst" / "dev.txt"
    assert load_sst(split="dev") == dev


# -------------------------------------------------------------- labels, forms
@pytest.mark.parametrize("label,expected", [(0, 0), (1, 0), (2, -1), (3, 1), (4, 1), ("0", 0), ("4", 1), ("2", -1)])
def test_binary_label(label, expected):
    assert sst_binary_label(label) == expected


@pytest.mark.parametrize("label", [5, -1, "7", "x", None, 2.0, True, "NP"])
def test_binary_label_rejects(label):
    with pytest.raises(ValueError, match="0 to 4"):
        sst_binary_label(label)


def test_ptb_unescape_and_glove_forms():
    assert ptb_unescape("-LRB-") == "(" and ptb_unescape("-rrb-") == ")"
    assert ptb_unescape("-LCB-") == "{" and ptb_unescape("-RSB-") == "]"
    assert ptb_unescape("``") == '"' and ptb_unescape("''") == '"'
    assert ptb_unescape("and\\/or") == "and/or" and ptb_unescape("\\*") == "*"
    assert ptb_unescape("movie") == "movie" and ptb_unescape("-") == "-" and ptb_unescape("--") == "--"
    assert glove_forms("-LRB-") == ["-LRB-", "("]
    assert glove_forms("``") == ["``", '"']
    assert glove_forms("movie") == ["movie"]


# ------------------------------------------------------------- synthetic files
def test_synthetic_fine_and_binary(tmp_path):
    path = write(tmp_path, "(3 (2 A) (4 good))\n\n(2 (2 so) (2 so))\n(1 (0 bad) (2 -LRB-))\n")
    fine = load_sst(path)
    assert [t.labels for t in fine] == [[3, 2, 4], [2, 2, 2], [1, 0, 2]]
    assert [t.words for t in fine] == [["A", "good"], ["so", "so"], ["bad", "-LRB-"]]
    binary = load_sst(path, mode="binary")
    assert [t.labels for t in binary] == [[1, -1, 1], [0, 0, -1]]


def test_malformed_tree_names_file_and_line(tmp_path):
    path = write(tmp_path, "(3 (2 A) (4 good))\n\n(2 (2 so) (2 so)\n")
    with pytest.raises(ValueError, match=r"trees\.txt:3: unbalanced"):
        load_sst(path)


def test_bad_leaf_label_names_line_and_token(tmp_path):
    path = write(tmp_path, "(3 (2 A) (4 good))\n\n(3 (7 fine) (2 film))\n")
    with pytest.raises(ValueError, match=r"trees\.txt:3: token 'fine' \(node 1\) has label '7'"):
        load_sst(path)


@pytest.mark.parametrize("label", ["\u00b2", "\u0663", "2.0", "+3"])
def test_unicode_digits_are_no_label(tmp_path, label):
    """'²'.isdigit() is True: it used to fail inside int() with no file or line."""
    path = write(tmp_path, f"(3 (2 A) (4 good))\n(3 ({label} fine) (2 film))\n")
    with pytest.raises(ValueError, match=re.escape(f"trees.txt:2: token 'fine' (node 1) has label '{label}'")):
        load_sst(path)


def test_bytes_that_are_not_utf8_name_file_and_line(tmp_path):
    path = tmp_path / "trees.txt"
    path.write_bytes(b"(3 (2 A) (4 good))\n(3 (2 \xff) (2 film))\n")
    with pytest.raises(ValueError, match=r"trees\.txt:2: not UTF-8 text"):
        load_sst(path)


def test_bad_phrase_label_names_phrase(tmp_path):
    path = write(tmp_path, "(NP (2 a) (3 (2 fine) (2 film)))\n")
    with pytest.raises(ValueError, match=r"trees\.txt:1: phrase 'a fine film' \(node 0\) has label 'NP'"):
        load_sst(path, mode="binary")


def test_missing_label(tmp_path):
    path = write(tmp_path, "(3 (_ a) (2 film))\n")
    with pytest.raises(ValueError, match=r":1: token 'a' .* has label None"):
        load_sst(path)


def test_argument_errors(tmp_path):
    path = write(tmp_path, "(3 (2 A) (4 good))\n", name="train.txt")
    assert len(load_sst(tmp_path, "train")) == 1
    with pytest.raises(ValueError, match="name a split"):
        load_sst(tmp_path)
    with pytest.raises(ValueError, match="unknown SST split 'validation'"):
        load_sst(tmp_path, "validation")
    with pytest.raises(ValueError, match="is a file"):
        load_sst(path, "train")
    with pytest.raises(ValueError, match="unknown SST mode"):
        load_sst(path, mode="five")
    with pytest.raises(ValueError, match="drop_neutral=True needs a binary mode"):
        load_sst(path, drop_neutral=True)
    with pytest.raises(FileNotFoundError):
        load_sst(tmp_path, "dev")
    assert SST_SPLITS == ("train", "dev", "test")


def test_default_data_dir_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("TREENETS_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "treenets" / "data"
    monkeypatch.setenv("TREENETS_DATA_DIR", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"


def test_binary3_mode_keeps_neutral_phrases(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("(3 (2 a) (4 (1 b) (3 c)))\n(2 (2 d) (2 e))\n(0 (0 f) (2 g))\n")
    trees = load_sst(path, mode="binary3")
    assert [t.labels for t in trees] == [[2, 1, 2, 0, 2], [0, 0, 1]]  # the neutral-root tree is dropped
