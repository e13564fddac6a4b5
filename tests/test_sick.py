"""SICK readers: Tai et al. folders and the official TSV files."""
import math

import pytest

from treenets import TreeBatch, Vocab
from treenets.data import (
    SICK_SPLITS, SickPair, SickSentencePair, load_sick, load_sick_raw, sick_raw_path, sick_split_dir,
)

COUNTS = {"train": 4500, "dev": 500, "test": 4927}


@pytest.fixture(scope="module")
def pairs(data_dir):
    return {s: load_sick(data_dir / "sick", s) for s in SICK_SPLITS}


@pytest.fixture(scope="module")
def raw(data_dir):
    return {s: load_sick_raw(data_dir / "sick", s) for s in SICK_SPLITS}


# ------------------------------------------------------------------ real data
def test_counts_and_trees(pairs):
    assert {s: len(p) for s, p in pairs.items()} == COUNTS
    for split in SICK_SPLITS:
        for pair in pairs[split]:
            assert isinstance(pair, SickPair)
            assert 1.0 <= pair.score <= 5.0
            for tree in (pair.a, pair.b):
                assert all(t is not None for t in tree.tokens)   # dependency trees: a word per node
                assert tree.rels is not None and tree.rels[tree.root] == "root"
    ids = [p.id for s in SICK_SPLITS for p in pairs[s]]
    assert len(set(ids)) == len(ids) == sum(COUNTS.values())


def test_first_train_pair(pairs):
    pair = pairs["train"][0]
    assert pair.id == "1" and pair.score == 4.5
    assert pair.a.words == ("A group of kids is playing in a yard and an old man "
                            "is standing in the background").split()
    # a.parents line 1: 2 6 2 3 6 0 ...: "A" hangs on "group", "playing" is the root.
    assert pair.a.parents[:6] == [1, 5, 1, 2, 5, -1]
    assert pair.a.rels[:3] == ["det", "nsubj", "prep"]
    assert pair.a.words[pair.a.root] == "playing"


def test_raw_matches_preprocessed(pairs, raw):
    assert {s: len(p) for s, p in raw.items()} == COUNTS
    for split in SICK_SPLITS:
        for tree_pair, sent_pair in zip(pairs[split], raw[split]):
            assert isinstance(sent_pair, SickSentencePair)
            assert sent_pair.id == tree_pair.id and sent_pair.score == tree_pair.score
            assert sent_pair.tokens_a == sent_pair.sentence_a.split()
            # Same words once the Stanford tokenizer's splits are undone.
            assert "".join(sent_pair.tokens_a) == "".join(tree_pair.a.words)
    assert {p.entailment for p in raw["test"]} == {"NEUTRAL", "ENTAILMENT", "CONTRADICTION"}


def test_raw_nltk_tokens_match_toks(data_dir, pairs):
    # nltk's Treebank tokenizer reproduces the Stanford tokens of the .toks files.
    dev = load_sick_raw(data_dir / "sick", "dev", tokenize="nltk")
    assert [p.tokens_a for p in dev] == [p.a.words for p in pairs["dev"]]
    assert [p.tokens_b for p in dev] == [p.b.words for p in pairs["dev"]]
    assert any(p.tokens_a != p.sentence_a.split() for p in dev)  # there was something to split


def test_raw_whitespace_and_crlf(data_dir):
    # SICK_test_annotated.txt has CRLF line ends; no field may keep the \r.
    test = load_sick_raw(data_dir / "sick" / "SICK_test_annotated.txt")
    assert len(test) == COUNTS["test"]
    assert all("\r" not in p.entailment and "\r" not in p.sentence_b for p in test)
    assert test[0].tokens_a == test[0].sentence_a.split()
    trial = load_sick_raw(data_dir / "sick", "trial")
    assert len(trial) == COUNTS["dev"]


def test_batch_of_pairs(pairs):
    batch_pairs = pairs["dev"][:8]
    vocab = Vocab.build(t.words for p in batch_pairs for t in (p.a, p.b))
    left = TreeBatch.from_trees([p.a for p in batch_pairs], vocab)
    assert left.roots.numel() == 8 and (left.word_ids >= 0).all()


def test_env_default(data_dir, monkeypatch):
    monkeypatch.setenv("TREENETS_DATA_DIR", str(data_dir))
    assert sick_split_dir(split="dev") == data_dir / "sick" / "dev"
    assert sick_raw_path(split="dev") == data_dir / "sick" / "SICK_trial.txt"
    assert len(load_sick(split="trial")) == COUNTS["dev"]


# ------------------------------------------------------------- synthetic files
def make_split(tmp_path, **override):
    files = {
        "a.toks": "A dog barks\nCats sleep\n",
        "a.parents": "2 3 0\n2 0\n",
        "a.rels": "det nsubj root\nnsubj root\n",
        "b.toks": "The dog barks\nA cat sleeps\n",
        "b.parents": "2 3 0\n2 3 0\n",
        "b.rels": "det nsubj root\ndet nsubj root\n",
        "sim.txt": "4.5\n3\n",
        "id.txt": "10\n11\n",
    }
    files.update(override)
    folder = tmp_path / "train"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_synthetic_split(tmp_path):
    folder = make_split(tmp_path)
    for got in (load_sick(folder), load_sick(tmp_path, "train")):
        assert [p.id for p in got] == ["10", "11"]
        assert [p.score for p in got] == [4.5, 3.0]
        assert got[0].a.words == ["A", "dog", "barks"] and got[0].a.parents == [1, 2, -1]
        assert got[1].a.rels == ["nsubj", "root"]
    no_rels = load_sick(make_split(tmp_path, **{"a.rels": None, "b.rels": None}), with_rels=False)
    assert no_rels[0].a.rels is None


def test_parents_count_mismatch(tmp_path):
    folder = make_split(tmp_path, **{"b.parents": "2 3 0\n2 0\n"})
    with pytest.raises(ValueError, match=r"b\.parents:2: 2 heads for 3 tokens in .*b\.toks:2"):
        load_sick(folder)


def test_rels_count_mismatch(tmp_path):
    folder = make_split(tmp_path, **{"a.rels": "det nsubj root\nroot\n"})
    with pytest.raises(ValueError, match=r"a\.rels:2: 1 relations for 2 tokens"):
        load_sick(folder)


def test_bad_head_names_token(tmp_path):
    folder = make_split(tmp_path, **{"a.parents": "2 x 0\n2 0\n"})
    with pytest.raises(ValueError, match=r"a\.parents:1: head 'x' of token 2 \('dog'\) is not an integer"):
        load_sick(folder)


def test_head_out_of_range_and_cycle(tmp_path):
    folder = make_split(tmp_path, **{"a.parents": "2 3 0\n5 0\n"})
    with pytest.raises(ValueError, match=r"a\.parents:2: head 5 of token 1 \('Cats'\) is out of range"):
        load_sick(folder)
    folder = make_split(tmp_path, **{"a.parents": "2 1 0\n2 0\n"})
    with pytest.raises(ValueError, match=r"a\.parents:1: .*cycle"):
        load_sick(folder)


def test_line_count_mismatch(tmp_path):
    folder = make_split(tmp_path, **{"sim.txt": "4.5\n"})
    with pytest.raises(ValueError, match=r"sim\.txt has 1 lines but .*a\.toks has 2"):
        load_sick(folder)


def test_bad_scores(tmp_path):
    with pytest.raises(ValueError, match=r"sim\.txt:2: score 'high' is not a number"):
        load_sick(make_split(tmp_path, **{"sim.txt": "4.5\nhigh\n"}))
    with pytest.raises(ValueError, match=r"sim\.txt:1: score 7.0 is outside 1.0..5.0"):
        load_sick(make_split(tmp_path, **{"sim.txt": "7\n3\n"}))
    assert load_sick(make_split(tmp_path, **{"sim.txt": "7\n3\n"}), score_range=None)[0].score == 7.0
    with pytest.raises(ValueError, match="score 'nan' is not a number"):
        load_sick(make_split(tmp_path, **{"sim.txt": "nan\n3\n"}), score_range=None)
    with pytest.raises(ValueError, match="not finite"):
        load_sick(make_split(tmp_path, **{"sim.txt": "1e999\n3\n"}), score_range=None)
    for text in ("\u0664.5", "4_5", "\u00b2"):  # float() reads the first two as 4.5 and 45
        with pytest.raises(ValueError, match=r"sim\.txt:1: score .* is not a number \(ASCII digits\)"):
            load_sick(make_split(tmp_path, **{"sim.txt": f"{text}\n3\n"}))


def test_empty_lines(tmp_path):
    with pytest.raises(ValueError, match=r"a\.toks:2: empty line"):
        load_sick(make_split(tmp_path, **{"a.toks": "A dog barks\n\n", "a.parents": "2 3 0\n\n",
                                          "a.rels": "det nsubj root\n\n"}))
    with pytest.raises(ValueError, match=r"id\.txt:1: empty pair id"):
        load_sick(make_split(tmp_path, **{"id.txt": " \n11\n"}))


def test_missing_file_and_bad_split(tmp_path):
    folder = make_split(tmp_path, **{"id.txt": None})
    with pytest.raises(FileNotFoundError):
        load_sick(folder)
    with pytest.raises(ValueError, match="unknown SICK split 'validation'"):
        load_sick(tmp_path, "validation")
    with pytest.raises(ValueError, match="holds no a.toks"):
        load_sick(tmp_path)


HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"


def test_raw_synthetic(tmp_path):
    path = tmp_path / "SICK_train.txt"
    path.write_text(HEADER + "1\tA man's dog barks\tA dog barks\t4.2\tENTAILMENT\n\n", encoding="utf-8")
    (got,) = load_sick_raw(path)
    assert got == SickSentencePair("1", "A man's dog barks", "A dog barks", 4.2, "ENTAILMENT",
                                   ["A", "man's", "dog", "barks"], ["A", "dog", "barks"])
    (got,) = load_sick_raw(tmp_path, "train", tokenize="nltk")
    assert got.tokens_a == ["A", "man", "'s", "dog", "barks"]
    (got,) = load_sick_raw(path, tokenize=lambda s: s.lower().split())
    assert got.tokens_b == ["a", "dog", "barks"]


def test_raw_full_sick_txt_filters_by_semeval_set(tmp_path):
    header = ("pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tSemEval_set\n")
    rows = ["1\tA b\tC d\tNEUTRAL\t3.5\tTRAIN", "2\tE f\tG h\tENTAILMENT\t4.5\tTRIAL",
            "3\tI j\tK l\tCONTRADICTION\t1.5\tTEST"]
    (tmp_path / "SICK.txt").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    assert [p.id for p in load_sick_raw(tmp_path, "dev")] == ["2"]
    assert [(p.id, p.score, p.entailment) for p in load_sick_raw(tmp_path, "test")] == [("3", 1.5, "CONTRADICTION")]
    assert len(load_sick_raw(tmp_path / "SICK.txt")) == 3


def test_raw_errors(tmp_path):
    path = tmp_path / "SICK_train.txt"
    path.write_text(HEADER + "1\tA dog\tA cat\t4.2\tNEUTRAL\n2\tA dog\tA cat\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"SICK_train\.txt:3: 3 tab-separated fields, but the header has 5"):
        load_sick_raw(path)
    path.write_text(HEADER + "1\tA dog\t\t4.2\tNEUTRAL\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"SICK_train\.txt:2: empty sentence_B"):
        load_sick_raw(path)
    path.write_text(HEADER + "1\tA dog\tA cat\tfour\tNEUTRAL\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"SICK_train\.txt:2: score 'four' is not a number"):
        load_sick_raw(path)
    path.write_text("id\tA\tB\n1\ta\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"SICK_train\.txt:1: no 'pair_ID' column"):
        load_sick_raw(path)
    with pytest.raises(ValueError, match="unknown tokenize"):
        load_sick_raw(path, tokenize="spacy")
    with pytest.raises(ValueError, match="name a split"):
        load_sick_raw(tmp_path)


def test_score_values_are_exact(data_dir, pairs):
    # sim.txt values are read as floats without rounding.
    sims = (data_dir / "sick" / "dev" / "sim.txt").read_text().split()
    got = [p.score for p in pairs["dev"]]
    assert got == [float(s) for s in sims] and not any(math.isnan(x) for x in got)
