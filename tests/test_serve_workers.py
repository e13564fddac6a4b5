"""``treenets serve --workers 2``: parsing in a ParserPool of two processes per parser gives the answers
of one process (slow: every worker loads stanza)."""
import concurrent.futures
import json
import os

import pytest

from _serving import ServerProcess, require_serve_extra

require_serve_extra()
import httpx  # noqa: E402

pytestmark = pytest.mark.slow

TEXTS = ["The movie was not bad at all.", "A dull, tired film. Great cast though.", "It works.", "Boring."]


def test_two_parser_processes_answer_as_one(stanza_dir, tmp_path):
    import treenets
    from treenets.cli import render_json

    server = ServerProcess(["--model", "sst2", "--parse-trees", "dependency", "--workers", "2", "--max-wait", "0.05"],
                           tmp_path / "server.log", cache_dir=tmp_path / "cache")
    try:
        with httpx.Client(base_url=server.url, timeout=120) as c, concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda t: c.post("/v1/predict", json={"texts": [t]}), TEXTS))
            parsed = c.post("/v1/parse", json={"texts": TEXTS[:2]})
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        os.environ["TREENETS_CACHE_DIR"] = str(tmp_path / "cache")  # the server's parses
        model = treenets.load("sst2")
        for text, answer in zip(TEXTS, answers):
            assert answer.json()["results"] == [json.loads(render_json(r)) for r in model.predict([text])]
        assert parsed.status_code == 200 and len(parsed.json()["results"][1]["sentences"]) == 2
    finally:
        server.stop()
    assert "stopped" in server.log()  # the pools closed at shutdown
