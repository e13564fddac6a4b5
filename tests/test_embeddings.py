"""Word-vector reading, embedding matrices and coverage."""
import gzip
from collections import Counter

import pytest
import torch

from treenets import Vocab
from treenets.data import load_sick, load_sst_splits
from treenets.formats import glove_forms
from treenets.nn.embeddings import (
    EmbeddingCoverage, Vectors, build_embedding_matrix, embedding_from_matrix, load_embedding, read_vectors,
)

GLOVE = (
    "the 0.1 0.2 0.3\n"
    ". . . 0.4 0.5 0.6\n"           # GloVe 840B: a token with spaces
    "new\u00a0york 0.7 0.8 0.9\n"   # a no-break space inside a token
    "Movie 1 2 3\n"
    "movie 4 5 6\n"
    "( -1 -2 -3\n"
    "the 9 9 9\n"                   # repeated word: the first vector wins
)


def write(tmp_path, text, name="vecs.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ reading
def test_glove_with_spaces_in_tokens(tmp_path):
    vecs = read_vectors(write(tmp_path, GLOVE))
    assert vecs.dim == 3 and vecs.words == ["the", ". . .", "new\u00a0york", "Movie", "movie", "("]
    assert vecs.duplicates == 1
    assert vecs[". . ."].tolist() == pytest.approx([0.4, 0.5, 0.6])
    assert vecs["the"].tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert vecs.vectors.dtype == torch.float32 and vecs.get("zebra") is None


def test_first_token_with_spaces_needs_dim(tmp_path):
    path = write(tmp_path, ". . . 0.4 0.5 0.6\nthe 0.1 0.2 0.3\n")
    with pytest.raises(ValueError, match=r"vecs\.txt:1: value '\.' of token '\.' is not a number \(the dimension "
                                         r"was guessed from this line; pass dim="):
        read_vectors(path)
    with pytest.raises(ValueError, match=r"vecs\.txt:2: token 'the' has 3 values, expected 5 \(pass dim="):
        read_vectors(path, words={"the"})   # line 1 is not parsed, line 2 is too short
    assert read_vectors(path, dim=3).words == [". . .", "the"]


def test_word2vec_header(tmp_path):
    path = write(tmp_path, "3 2\nthe 1 2\na 3 4 \nof 5 6\n")   # trailing space as in fastText .vec
    for fmt in ("auto", "word2vec"):
        vecs = read_vectors(path, fmt=fmt)
        assert vecs.words == ["the", "a", "of"] and vecs.dim == 2
        assert vecs["a"].tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match=r"header says dim 2, but dim=3"):
        read_vectors(path, dim=3)
    short = write(tmp_path, "4 2\nthe 1 2\na 3 4\n", "short.txt")
    with pytest.raises(ValueError, match=r"header says 4 vectors, but the file has 2"):
        read_vectors(short)
    with pytest.raises(ValueError, match=r"vecs\.txt:1: expected a word2vec header"):
        read_vectors(write(tmp_path, GLOVE), fmt="word2vec")


def test_filtered_read_and_gzip(tmp_path):
    gz = tmp_path / "vecs.txt.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write(GLOVE)
    vecs = read_vectors(gz, words={"movie", "(", "absent"})
    assert vecs.words == ["movie", "("]
    assert vecs.vectors.tolist() == [[4.0, 5.0, 6.0], [-1.0, -2.0, -3.0]]


@pytest.mark.parametrize("text,match", [
    ("the 0.1 0.2 0.3\nof 0.1 0.2 0.3\nand 0.1 0.2\n", r"vecs\.txt:3: token 'and' has 2 values, expected 3"),
    ("the 0.1 0.2 0.3\nof 0.1 zero 0.3\n", r"vecs\.txt:2: value 'zero' of token 'of' is not a number"),
    ("the 0.1 0.2 0.3\n 0.1 0.2 0.3\n", r"vecs\.txt:2: empty token"),
    ("the\n", r"vecs\.txt:1: token 'the' has no vector"),
    ("", r"empty file"),
])
def test_malformed(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_vectors(write(tmp_path, text))


def test_bad_bytes_and_format(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"the 0.1 0.2\n\xff\xfe 0.1 0.2\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: bytes that are not utf-8"):
        read_vectors(path)
    with pytest.raises(ValueError, match="unknown vector format"):
        read_vectors(path, fmt="fasttext")
    with pytest.raises(FileNotFoundError):
        read_vectors(tmp_path / "none.txt")


# ----------------------------------------------------------------- building
def test_matrix_and_coverage(tmp_path):
    path = write(tmp_path, GLOVE)
    vocab = Vocab(["the", "Movie", "THE", "-LRB-", "zebra", "movie"])   # <unk> at 0
    counts = Counter({"the": 10, "THE": 2, "-LRB-": 3, "zebra": 4, "movie": 1, "unseen": 5})
    weights, cov = build_embedding_matrix(vocab, path, counts=counts, candidates=glove_forms, seed=0)
    assert weights.shape == (7, 3)
    vecs = read_vectors(path)
    for word, form in [("the", "the"), ("Movie", "Movie"), ("THE", "the"), ("-LRB-", "("), ("movie", "movie")]:
        assert torch.equal(weights[vocab[word]], vecs[form]), word
    assert cov.num_types == 6 and cov.found_types == 5
    assert (cov.found_exact, cov.found_fallback) == (3, 2)
    assert cov.fallback == {"THE": "the", "-LRB-": "("}
    assert cov.missing == ["zebra"]
    assert (cov.num_tokens, cov.found_tokens) == (25, 16)   # "unseen" is outside the vocab
    assert cov.type_coverage == pytest.approx(5 / 6) and cov.token_coverage == pytest.approx(16 / 25)
    assert "5 of 6 word types" in str(cov) and "16 of 25 tokens" in str(cov)

    # Without fallbacks the uppercase and escaped forms are missing.
    _, strict = build_embedding_matrix(vocab, path, lower_fallback=False, seed=0)
    assert strict.missing == ["THE", "-LRB-", "zebra"] and strict.token_coverage is None


def test_uniform_init_reproducible(tmp_path):
    path = write(tmp_path, GLOVE)
    vocab = Vocab(["the", "zebra", "okapi"] + [f"w{i}" for i in range(200)])
    a, _ = build_embedding_matrix(vocab, path, seed=7)
    b, _ = build_embedding_matrix(vocab, path, seed=7)
    c, _ = build_embedding_matrix(vocab, path, generator=torch.Generator().manual_seed(7))
    d, _ = build_embedding_matrix(vocab, path, seed=8)
    assert torch.equal(a, b) and torch.equal(a, c)
    unknown = [i for i, w in enumerate(vocab.itos) if w != "the"]   # includes the <unk> row
    assert not torch.equal(a[unknown], d[unknown])
    assert torch.equal(a[vocab["the"]], d[vocab["the"]])
    rand = a[unknown]
    assert rand.abs().max() <= 0.05 and rand.min() < -0.04 and rand.max() > 0.04
    assert abs(rand.mean().item()) < 0.005          # centred: U(-0.05, 0.05)
    wide, _ = build_embedding_matrix(vocab, path, seed=7, init_range=0.5)
    assert wide[unknown].abs().max() > 0.4
    with pytest.raises(ValueError, match="generator or seed"):
        build_embedding_matrix(vocab, path, seed=1, generator=torch.Generator())


def test_vocab_variants(tmp_path):
    vecs = read_vectors(write(tmp_path, GLOVE))
    # A plain list: every entry counts (no specials), row i is list[i].
    w_list, cov = build_embedding_matrix(["movie", "zebra"], vecs, seed=0)
    assert cov.num_types == 2 and torch.equal(w_list[0], vecs["movie"])
    # A mapping: rows by id.
    w_map, _ = build_embedding_matrix({"zebra": 1, "movie": 0}, vecs, seed=0)
    assert torch.equal(w_map, w_list)
    with pytest.raises(ValueError, match="ids 0..n-1"):
        build_embedding_matrix({"a": 0, "b": 2}, vecs)
    with pytest.raises(ValueError, match="empty"):
        build_embedding_matrix([], vecs)
    # A lowercasing Vocab folds the counts' keys.
    low = Vocab(["Movie"], lower=True)
    _, cov = build_embedding_matrix(low, vecs, counts={"MOVIE": 2, "movie": 1}, seed=0)
    assert (cov.num_types, cov.found_tokens, cov.num_tokens) == (1, 3, 3)


def test_embedding_layer(tmp_path):
    weights = torch.randn(5, 3)
    frozen = embedding_from_matrix(weights, freeze=True)
    trained = embedding_from_matrix(weights)
    assert not frozen.weight.requires_grad and trained.weight.requires_grad
    assert torch.equal(frozen.weight, weights)
    trained.weight.data.zero_()
    assert weights.abs().sum() > 0          # the layer holds a copy
    assert embedding_from_matrix(weights, padding_idx=0).padding_idx == 0
    with pytest.raises(ValueError, match="2-D floating-point"):
        embedding_from_matrix(torch.zeros(5, dtype=torch.long))
    layer, cov = load_embedding(Vocab(["the"]), write(tmp_path, GLOVE), freeze=True, seed=0)
    assert isinstance(cov, EmbeddingCoverage) and layer.weight.shape == (2, 3)
    assert layer(torch.tensor([1]))[0].tolist() == pytest.approx([0.1, 0.2, 0.3])


# ---------------------------------------------------------------- real data
@pytest.fixture(scope="session")
def glove6b(data_dir):
    """The 102,121-word GloVe 6B 50d file, read once per session."""
    path = data_dir / "embeddings" / "glove.6B.50d.100k.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return read_vectors(path)


def test_glove6b_file(glove6b):
    assert isinstance(glove6b, Vectors)
    assert len(glove6b) == 102121 and glove6b.dim == 50 and glove6b.duplicates == 0
    assert glove6b.words[:3] == ["the", ",", "."]
    assert "(" in glove6b and "-lrb-" not in glove6b


def test_sst_coverage_glove6b(data_dir, glove6b):
    splits = load_sst_splits(data_dir / "sst")
    counts = Counter(w for trees in splits.values() for t in trees for w in t.words)
    vocab = Vocab(sorted(counts), lower=True)          # GloVe 6B is uncased
    weights, cov = build_embedding_matrix(vocab, glove6b, counts=counts, candidates=glove_forms, seed=0)
    assert weights.shape == (len(vocab), 50)
    # The data README: about 92% of SST word types and 99% of tokens, lowercased.
    assert 0.90 < cov.type_coverage < 0.94
    assert 0.985 < cov.token_coverage < 1.0
    assert cov.fallback["-lrb-"] == "(" and torch.equal(weights[vocab["-LRB-"]], glove6b["("])
    _, without = build_embedding_matrix(vocab, glove6b, counts=counts, seed=0)
    assert "-lrb-" in without.missing and without.found_tokens < cov.found_tokens


def test_sick_coverage_glove840b(data_dir):
    path = data_dir / "embeddings" / "glove.840B.300d.sick.txt"
    pairs = [p for s in ("train", "dev", "test") for p in load_sick(data_dir / "sick", s, with_rels=False)]
    counts = Counter(w for p in pairs for t in (p.a, p.b) for w in t.words)
    vocab = Vocab(sorted(counts))
    weights, cov = build_embedding_matrix(vocab, path, counts=counts, lower_fallback=False, seed=0)
    assert weights.shape == (len(vocab), 300)
    assert (cov.num_types, cov.found_types) == (2408, 2402)
    assert (cov.num_tokens, cov.found_tokens) == (192191, 191318)
    assert "," in cov.missing       # the shared 840B subset has no vector for the comma
    assert weights[vocab["man"]].abs().max() > 0.05   # a real vector, not U(-0.05, 0.05)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_non_finite_values_are_refused(tmp_path, value):
    path = tmp_path / "vecs.txt"
    path.write_text(f"the 0.1 0.2\nof {value} 1.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"vecs\.txt:2: value '{value}' of token 'of' is not finite"):
        read_vectors(path)


def test_header_digits_are_ascii(tmp_path):
    path = tmp_path / "vecs.txt"
    path.write_text("2 \u00b2\nthe 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"vecs\.txt:1"):
        read_vectors(path, fmt="word2vec")


@pytest.mark.parametrize("value", ["1_0", "\u0663", "\x0b2", "\uff11"])
def test_values_are_ascii_numbers(tmp_path, value):
    """numpy reads '1_0' as 10 and Arabic-Indic or full-width digits as numbers: not in a vector file."""
    path = tmp_path / "vecs.txt"
    path.write_text(f"the 0.1 0.2\nof {value} 1.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"vecs\.txt:2: value .* of token 'of' is not a number"):
        read_vectors(path)


def test_nan_vectors_given_as_tensors_are_refused_too():
    """The reader refuses NaN; vectors built in code must not slip one past it."""
    from treenets import SentimentModel, Vocab
    from treenets.nn.embeddings import embedding_from_matrix
    from treenets.formats import Vectors

    bad = torch.tensor([[0.1, 0.2], [float("nan"), 1.0]])
    with pytest.raises(ValueError, match=r"the vector of 'of' \(row 1\) holds NaN or inf"):
        Vectors(["the", "of"], bad)
    with pytest.raises(ValueError, match="row 1 of the weights holds NaN or inf"):
        embedding_from_matrix(bad)
    model = SentimentModel(Vocab(["the"]), 2, 3)
    with pytest.raises(ValueError, match=r"the vector of 'the' \(row 1\) holds NaN or inf"):
        model.load_embeddings(torch.tensor([[0.0, 0.0], [float("inf"), 1.0]]))


# ------------------------------------------------------------ zips and the cache
def _zip(path, members):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_vectors_inside_a_zip(tmp_path):
    from treenets.formats.vectors import zip_members

    one = _zip(tmp_path / "one.zip", {"glove.840B.300d.txt": GLOVE})
    two = _zip(tmp_path / "two.zip", {"glove.6B.50d.txt": GLOVE, "glove.6B.100d.txt": GLOVE.replace("0.1", "0.9")})
    plain = tmp_path / "plain.txt"
    plain.write_text(GLOVE)
    want = read_vectors(plain)
    for got in (read_vectors(one), read_vectors(two, member="glove.6B.50d.txt")):
        assert got.words == want.words and torch.equal(got.vectors, want.vectors)
    assert zip_members(two) == ["glove.6B.50d.txt", "glove.6B.100d.txt"]
    with pytest.raises(ValueError, match=r"holds 2 files .*name one as .*two\.zip:MEMBER"):
        read_vectors(two)
    with pytest.raises(ValueError, match=r"has no member 'glove\.6B\.300d\.txt'"):
        read_vectors(two, member="glove.6B.300d.txt")
    bad = _zip(tmp_path / "bad.zip", {"v.txt": "the 0.1 0.2\nbad 0.3 nan\n"})
    with pytest.raises(ValueError, match=r"bad\.zip:v\.txt:2: value 'nan' of token 'bad'"):
        read_vectors(bad)


def test_damaged_compressed_vectors_name_the_file(tmp_path):
    """Damaged deflate data inside a zip or a gzip is a ValueError naming the file, not zlib.error."""
    import random

    text = "".join(f"w{i} " + " ".join(f"{random.Random(i * 7 + j).random():.6f}" for j in range(8)) + "\n"
                   for i in range(3000))
    archive = _zip(tmp_path / "v.zip", {"v.txt": text})
    data = bytearray(archive.read_bytes())
    for k in range(2000, 2400):  # the middle of the compressed member
        data[k] ^= 0x5A
    archive.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"v\.zip:v\.txt: damaged compressed data"):
        read_vectors(archive)
    gz = tmp_path / "v.txt.gz"
    gz.write_bytes(gzip.compress(text.encode())[:5000])  # cut short
    with pytest.raises(ValueError, match=r"v\.txt\.gz: damaged compressed data"):
        read_vectors(gz)


def test_cached_subset_is_keyed_by_file_and_words(tmp_path):
    from treenets.nn.embeddings import read_vectors_cached

    source = tmp_path / "vectors.txt"
    source.write_text(GLOVE)
    cache = tmp_path / "cache"
    first = read_vectors_cached(source, {"the", "movie"}, cache_dir=cache)
    entries = sorted(cache.iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("vectors.txt.")
    assert sorted(first.words) == ["movie", "the"]
    # the cached subset is read now: the same words and vectors even when the entry is the only source left
    again = read_vectors_cached(source, {"movie", "the"}, cache_dir=cache)
    assert again.words == first.words and torch.equal(again.vectors, first.vectors)
    assert len(list(cache.iterdir())) == 1
    # other words: another entry
    read_vectors_cached(source, {"the"}, cache_dir=cache)
    assert len(list(cache.iterdir())) == 2
    # a changed file is read again, never answered from the old entry
    source.write_text("the 7 7 7\nfilm 1 1 1\n")
    changed = read_vectors_cached(source, {"the", "movie"}, cache_dir=cache)
    assert changed.words == ["the"] and changed.vectors.tolist() == [[7.0, 7.0, 7.0]]
    # a damaged entry is read again from the source and replaced
    for entry in cache.iterdir():
        entry.write_bytes(b"not a torch file")
    fixed = read_vectors_cached(source, {"the", "movie"}, cache_dir=cache)
    assert fixed.words == changed.words and torch.equal(fixed.vectors, changed.vectors)
    # build_embedding_matrix(cache=...) gives the matrix it gives without the cache
    vocab = Vocab(["the", "movie", "film"])
    with_cache, cov = build_embedding_matrix(vocab, source, seed=0, cache=cache)
    without, cov2 = build_embedding_matrix(vocab, source, seed=0)
    assert torch.equal(with_cache, without) and cov.found_types == cov2.found_types


def test_read_vectors_limit_reads_only_the_first_lines(tmp_path):
    from treenets.formats import read_vectors

    path = tmp_path / "v.txt"
    path.write_text("3 2\nthe 1 2\ncat 3 4\ncat 5 6\ndog 7 8\nbroken 1\n")  # the header's count is wrong too
    first = read_vectors(path, limit=2)
    assert first.words == ["the", "cat"] and first.vectors.tolist() == [[1, 2], [3, 4]]
    assert read_vectors(path, limit=3).words == ["the", "cat", "dog"]  # a repeated word is not counted
    assert read_vectors(path, limit=0).words == []
    with pytest.raises(ValueError, match="v.txt:6: token 'broken' has 1 values"):
        read_vectors(path)  # the whole file: every line checked
    with pytest.raises(ValueError, match="limit must be an integer >= 0"):
        read_vectors(path, limit=-1)
