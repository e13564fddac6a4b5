"""Vocab: ids, unknown words, case folding, counting, save/load."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treenets import Tree, TreeBatch, Vocab


def test_ids_and_unknown():
    v = Vocab(["the", "movie", "the"])
    assert v.itos == ["<unk>", "the", "movie"]
    assert v["<unk>"] == 0 and v["the"] == 1 and v["movie"] == 2
    assert v["zebra"] == v.unk_index == 0
    assert len(v) == 3
    assert list(v) == ["<unk>", "the", "movie"]
    assert "movie" in v and "zebra" not in v and 3 not in v
    assert v.lookup(["movie", "zebra", "the"]) == [2, 0, 1]


def test_no_unknown_word_raises_key_error():
    v = Vocab(["a", "b"], unk=None)
    assert v.unk_index is None
    assert v["a"] == 0 and v["b"] == 1
    with pytest.raises(KeyError):
        v["c"]


def test_lowercase():
    v = Vocab(["The", "MOVIE"], lower=True)
    assert v["the"] == v["THE"] == v["The"] == 1
    assert "Movie" in v
    assert v.itos == ["<unk>", "the", "movie"]


def test_add_returns_existing_id():
    v = Vocab()
    assert v.add("x") == 1 and v.add("x") == 1 and v.add("y") == 2


def test_build_counts_and_orders_by_frequency():
    sents = [["b", "a", "c"], ["a", "c"], ["a", "d"]]
    v = Vocab.build(sents)
    assert v.itos == ["<unk>", "a", "c", "b", "d"]  # by count, ties alphabetical
    v2 = Vocab.build(sents, min_freq=2)
    assert v2.itos == ["<unk>", "a", "c"]
    v3 = Vocab.build([["A", "a"], ["B"]], lower=True)
    assert v3.itos == ["<unk>", "a", "b"]
    v4 = Vocab.build(sents, unk=None)
    assert v4.itos == ["a", "c", "b", "d"]


def test_save_and_load(tmp_path):
    v = Vocab(["the", "movie", "déjà vu", "(", "x\u00a0y"])
    path = tmp_path / "vocab.txt"
    v.save(path)
    w = Vocab.load(path)
    assert w.itos == v.itos and w.stoi == v.stoi
    assert w.unk == "<unk>" and w["nothing"] == 0
    no_unk = Vocab(["a", "b"], unk=None)
    no_unk.save(path)
    loaded = Vocab.load(path)
    assert loaded.unk is None and loaded.itos == ["a", "b"]
    with pytest.raises(KeyError):
        loaded["c"]


def test_vocab_in_a_batch():
    v = Vocab(["a", "dog"])
    tree = Tree.from_parents(["a", "dog", "barks"], [2, 3, 0])
    batch = TreeBatch.from_trees([tree], v)
    assert batch.word_ids.tolist() == [1, 2, 0]  # "barks" is unknown


def test_repr():
    assert "size=3" in repr(Vocab(["a", "b"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=6), min_size=1, max_size=8, unique=True))
def test_save_load_round_trips_any_token(tmp_path_factory, tokens):
    path = tmp_path_factory.mktemp("v") / "vocab.txt"
    vocab = Vocab.from_itos(tokens, unk=None)
    vocab.save(path)
    assert Vocab.load(path, unk=None).itos == tokens


def test_a_duplicate_token_is_refused_naming_both_lines(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("the\ncat\nthe\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"vocab\.txt:3: the token 'the' is already line 1"):
        Vocab.load(path)
    with pytest.raises(ValueError, match="token 2 'a' is also token 0"):
        Vocab.from_itos(["a", "b", "a"], unk=None).save(tmp_path / "v2.txt")
    assert not (tmp_path / "v2.txt").exists()


def test_load_names_a_bad_escape(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("the\nbad\\x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"vocab\.txt:2: unknown escape"):
        Vocab.load(path)


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "vocab.txt"
    Vocab(["a", "b"]).save(path)
    before = path.read_bytes()
    for bad in (["a", 5], ["a", "\ud800"]):
        with pytest.raises(ValueError, match="token 1"):
            Vocab.from_itos(bad, unk=None).save(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["vocab.txt"]
