"""Integers of more than 4,300 digits (Python's limit for int()) in any reader: an error naming file and line."""
import pytest

import treenets as tn
import treenets.formats as f
from treenets.data import load_sick_raw, load_sst

B = "9" * 5000
HEAD = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"


def _conllu(head="1", ident="2"):
    return f"1\ta\ta\tX\tX\t_\t{head}\tdep\t_\t_\n{ident}\tb\tb\tX\tX\t_\t0\troot\t_\t_\n"


@pytest.mark.parametrize("name, text, read, where", [
    ("c.conllu", "1\ta\ta\tX\tX\t_\t2\tdep\t_\t_\n2\tb\tb\tX\tX\t_\t0\troot\t_\t_\n\n" + _conllu(head=B),
     f.read_conllu, r"c\.conllu:4: the HEAD column holds 5,000 characters"),
    ("d.conllu", _conllu(ident=B), f.read_conllu, r"d\.conllu:2: the ID column"),
    ("v.txt", f"{B} 2\nthe 1 2\n", f.read_vectors, r"v\.txt:1: a word2vec header"),
    ("w.txt", f"the 1 {B}\n", f.read_vectors, r"w\.txt:1: value"),
    ("train.txt", f"(3 (2 a) (4 b))\n({B} (2 a) (4 b))\n", load_sst, r"train\.txt:2: phrase"),
    ("SICK_train.txt", HEAD + f"1\ta b\tc d\t{B}\tNEUTRAL\n", load_sick_raw, r"SICK_train\.txt:2: score"),
])
def test_a_huge_integer_names_file_and_line(tmp_path, name, text, read, where):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=where):
        read(tmp_path / name)


def test_a_huge_head_in_a_heads_file(tmp_path):
    (tmp_path / "a.toks").write_text("a b\nc d\n")
    (tmp_path / "a.parents").write_text(f"2 0\n2 {B}\n")
    with pytest.raises(ValueError, match=r"a\.parents:2: head of token 2 \('d'\) has 5,000 digits"):
        f.read_heads_files(tmp_path / "a.toks", tmp_path / "a.parents")


def test_a_huge_label_is_no_integer():
    assert tn.Tree.from_brackets(f"({B} (2 a) (4 b))").labels[0] == B  # kept as the text it is
    from treenets.structures.tree import as_int

    assert as_int(B) is None and as_int("9" * 4300) == int("9" * 4300)
