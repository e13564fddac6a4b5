"""treenets.formats.lines: one text per line, streamed, never merged, errors naming file and line."""
import io
import itertools
import os
import sys

import pytest

from treenets.formats import iter_lines, read_lines


def test_every_line_is_one_item_and_nothing_is_merged(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes("I hated every minute of it\nNot bad.\r\n\n  \nform\x0cfeed\u2028and separators\x85too\nlast".encode())
    lines = list(iter_lines(path))
    assert lines == ["I hated every minute of it", "Not bad.", "", "  ", "form\x0cfeed\u2028and separators\x85too",
                     "last"]
    assert list(iter_lines(str(path))) == lines and read_lines(path) == lines


@pytest.mark.parametrize("data, expected", [
    (b"", []), (b"\n", [""]), (b"a\n", ["a"]), (b"a", ["a"]), (b"a\n\n", ["a", ""]), (b"\xef\xbb\xbfa\nb\n", ["a", "b"]),
])
def test_line_ends_and_byte_order_mark(tmp_path, data, expected):
    (tmp_path / "f").write_bytes(data)
    assert list(iter_lines(tmp_path / "f")) == expected


def test_bad_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    lines = iter_lines(path)
    assert next(lines) == "fine" and next(lines) == "also fine"
    with pytest.raises(ValueError, match=r"bad\.txt:3: not UTF-8 text \(byte 0xff at column 5\)"):
        next(lines)
    with pytest.raises(FileNotFoundError):
        list(iter_lines(tmp_path / "missing.txt"))


def test_standard_input_and_file_objects(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"one\r\ntwo\n\nfour\n"), encoding="latin-1"))
    assert list(iter_lines("-")) == ["one", "two", "", "four"]  # read as UTF-8 bytes, whatever the locale
    monkeypatch.setattr(sys, "stdin", io.StringIO("text\nonly\n"))  # a replaced stdin without a byte buffer
    assert list(iter_lines("-")) == ["text", "only"]
    assert list(iter_lines(io.BytesIO("é\nb".encode()))) == ["é", "b"]
    assert list(iter_lines(io.StringIO("x\r\ny\n"))) == ["x", "y"]


def test_lines_are_read_lazily():
    class Endless:
        name = "endless"

        def __iter__(self):
            for i in itertools.count():
                if i == 3:
                    raise AssertionError("read too far")
                yield f"line {i}\n".encode()

    assert list(itertools.islice(iter_lines(Endless()), 3)) == ["line 0", "line 1", "line 2"]


@pytest.mark.parametrize("data", [b"", b"\n", b"a", b"a\nb", b"a\nb\n", b"\n\n\n", b"x" * 3_000_000 + b"\ny"])
def test_count_lines_counts_what_iter_lines_yields(tmp_path, data):
    from treenets.formats import count_lines

    (tmp_path / "f").write_bytes(data)
    assert count_lines(tmp_path / "f") == len(list(iter_lines(tmp_path / "f")))


def test_read_lines_keeps_a_leading_u_feff(tmp_path):
    """The line formats treenets writes (heads files, vocabularies) may begin with a token that starts with
    U+FEFF; their reader keeps it (found by the SICK round-trip fuzz test), while iter_lines drops a BOM."""
    from treenets.formats import read_lines

    path = tmp_path / "b.toks"
    path.write_text("\ufeff0 x\nsecond\n", encoding="utf-8")
    assert read_lines(path) == ["\ufeff0 x", "second"]
    assert list(iter_lines(path)) == ["0 x", "second"]


def test_a_byte_order_mark_is_dropped_by_every_reader_of_text_files(tmp_path):
    """Editors write U+FEFF first; it used to become part of the first word (vectors) or an error (CoNLL-U, brackets)."""
    from treenets import Tree
    from treenets.formats import read_bracket_file, read_conllu, read_vectors, write_conllu

    tree = Tree.from_brackets("(3 (2 a) (4 b))")
    (tmp_path / "b.txt").write_text(str(tree) + "\n", encoding="utf-8-sig")
    assert read_bracket_file(tmp_path / "b.txt") == [tree]
    dep = Tree([-1, 0], ["a", "b"], rels=["root", "dep"])
    (tmp_path / "c.conllu").write_text(write_conllu([dep]), encoding="utf-8-sig")
    assert read_conllu(tmp_path / "c.conllu") == [dep]
    (tmp_path / "v.txt").write_text("the 1 2\ncat 3 4\n", encoding="utf-8-sig")
    assert read_vectors(tmp_path / "v.txt").words == ["the", "cat"]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_line_is_a_one_line_error_naming_it():
    """--input /dev/zero: no more than max_line_bytes is read, then an error naming file and line."""
    with pytest.raises(ValueError, match=r"^/dev/zero:1: a line longer than 65,536 bytes \(max_line_bytes\)"):
        next(iter_lines("/dev/zero", max_line_bytes=1 << 16))


@pytest.mark.parametrize("wrap", [io.BytesIO, lambda b: io.StringIO(b.decode())], ids=["bytes", "text"])
def test_the_line_cap_counts_the_line_without_its_end(wrap):
    assert list(iter_lines(wrap(b"abcd\nefgh\nij"), max_line_bytes=4)) == ["abcd", "efgh", "ij"]
    with pytest.raises(ValueError, match=r":3: a line longer than 4"):
        list(iter_lines(wrap(b"abcd\nefgh\nijklm\nx"), max_line_bytes=4))
