"""examples/encode_corpus_dask.py on a local Dask cluster of 2 workers: the records of `treenets encode --input`."""
import json

import pytest

from treenets import cli

from conftest import load_example

pytest.importorskip("dask", reason="Dask is an optional extra (pip install 'treenets[dask]')")
pytest.importorskip("distributed", reason="Dask's distributed scheduler is an optional extra (pip install "
                                          "'treenets[dask]')")
pytest.importorskip("stanza", reason="stanza is not installed (pip install 'treenets[stanza]')")


@pytest.mark.slow
def test_two_dask_workers_give_the_single_process_records(stanza_dir, data_dir, tmp_path, monkeypatch, capsys):
    from benchmarks.parse_speed import sst_sentences

    monkeypatch.setenv("STANZA_RESOURCES_DIR", str(stanza_dir))
    monkeypatch.setenv("TREENETS_CACHE_DIR", str(tmp_path / "cache"))
    texts = sst_sentences(data_dir / "sst" / "dev.txt", 24)
    texts[3] += " " + texts[4]  # two sentences on one line
    texts[5:5] = [""]  # a blank line
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(texts) + "\n")

    assert cli.main(["encode", "--input", str(corpus), "--quiet", "--no-cache"]) == 0
    single = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    out = tmp_path / "out" / "corpus.jsonl"
    result = load_example("encode_corpus_dask").main(
        [str(corpus), "--out", str(out), "--workers", "2", "--blocksize", "700", "--no-cache"])
    assert result["partitions"] >= 3 and result["lines"] == len(texts) and result["records"] == len(single)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    dask = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["input"], r["sentence"]) for r in single][:6] == [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (5, 1)]
    assert len(dask) == len(single)
    for a, b in zip(dask, single):
        root_a, root_b = a.pop("root"), b.pop("root")
        assert a == b  # input, sentence, words, tree, encoder, trained, hidden_size: identical, in input order
        # a worker batches its partition's trees, one process all trees: float sums round differently (~1e-8),
        # which may move the 6th printed decimal by one
        assert max(abs(x - y) for x, y in zip(root_a, root_b)) <= 1.01e-6
    assert sorted(p.name for p in out.parent.iterdir()) == ["corpus.jsonl"]  # no part files left
