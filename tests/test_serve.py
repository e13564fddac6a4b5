"""``treenets serve`` tested as programs use it: a real server process on 127.0.0.1, spoken to with httpx.

One server for the module (the shipped sst2 and sick models, the real stanza models, small limits so
that every limit is cheap to reach). Tests that need a request to stay in flight send a text
``"SLEEP=<s> ..."`` and the 500 test a text ``"FAULT"``: faults the test launcher adds to the
prediction job (tests/_serve_launcher.py); everything else is the shipped server. The SIGTERM test
stops the server, so it is the module's last.
"""
import concurrent.futures
import json
import signal
import time

import pytest

from _serving import ServerProcess, require_serve_extra

require_serve_extra()
import httpx  # noqa: E402

LIMITS = {"max_texts": 8, "max_words": 30, "max_request_bytes": 4000, "max_queue": 3, "request_timeout": 5.0}
ARGS = ["--model", "sst2", "--model", "sick", "--parse-trees", "dependency", "--max-batch", "8",
        "--max-wait", "0.05", "--max-queue", "3", "--request-timeout", "5", "--max-texts", "8",
        "--max-words", "30", "--max-request-bytes", "4000", "--log-level", "info"]
TEXTS = ["The movie was not bad at all. The ending dragged.", "A dull, tired film."]


@pytest.fixture(scope="module")
def server(stanza_dir, tmp_path_factory):
    import os

    server = ServerProcess(ARGS, tmp_path_factory.mktemp("serve") / "server.log",
                           cache_dir=os.environ["TREENETS_CACHE_DIR"])  # the test process reads the same cache
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code and body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_cli_refuses_an_unknown_model_before_serving(capsys):
    from treenets.cli import main

    assert main(["serve", "--model", "no-such-model", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'no-such-model'" in err and "sst2" in err


# ------------------------------------------------------------------ health, models, page
def test_health_ready_models_and_schema(server, client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "models": ["sst2", "sick"]}
    info = client.get("/v1/models").json()
    assert [(m["name"], m["task"], m["default"]) for m in info["models"]] == [("sst2", "sentiment", True),
                                                                               ("sick", "relatedness", True)]
    assert info["models"][0]["labels"] == ["negative", "positive"]
    for name, value in LIMITS.items():
        assert info["limits"].get(name, info["batching"].get(name)) == value, name
    assert info["parse_trees"] == ["dependency"]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/predict", "/v1/similarity", "/v1/parse", "/v1/encode", "/v1/models", "/healthz",
            "/readyz"} <= set(paths)


def test_requests_while_loading_get_503_not_ready(server):
    answer = server.not_ready_answer
    if answer is None:
        pytest.fail("the server was ready before the fixture could ask: the models must load after it listens")
    error(answer, 503, "not_ready")
    assert answer.headers["retry-after"] == "1"


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js">' in page.text and "http" not in page.text.split("<footer>")[0]
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
        assert "https://" not in r.text and "cdn" not in r.text.lower()  # works offline


# ----------------------------------------------------------------------------- work
def test_predict_records_are_the_python_api_s(client):
    import treenets
    from treenets.cli import render_json

    r = client.post("/v1/predict", json={"model": "sst2", "texts": TEXTS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "sst2"
    expected = [json.loads(render_json(x)) for x in treenets.load("sst2").predict(TEXTS)]
    assert [(x["input"], x["sentence"]) for x in body["results"]] == [(1, 1), (1, 2), (2, 1)]
    assert body["results"] == expected
    default = client.post("/v1/predict", json={"texts": TEXTS[1:]}).json()
    assert default["model"] == "sst2" and default["results"][0]["input"] == 1


def test_predict_svg_has_one_coloured_node_per_tree_node(client):
    import xml.etree.ElementTree as ET

    result = client.post("/v1/predict", json={"texts": [TEXTS[1]], "svg": True}).json()["results"][0]
    circles = ET.fromstring(result["svg"]).iter("{http://www.w3.org/2000/svg}circle")
    labels = [(c.get("data-node"), c.get("data-label"), c.get("fill")) for c in circles]
    assert [(str(n["id"]), n["label"]) for n in result["nodes"]] == [(i, lab) for i, lab, _ in labels]
    assert {fill for _, lab, fill in labels} and all(fill.startswith("#") for _, _, fill in labels)
    top = [c for c in ET.fromstring(result["svg"]).iter() if c.tag.endswith("title")][0].text
    assert top.startswith("A dull , tired film .") and "negative" in top and "positive" in top


def test_concurrent_requests_share_a_batch(client, server):
    def stats():
        return client.get("/v1/models").json()["batches"].get("predict/sst2/auto", {"batches": 0, "items": 0})

    texts = ["A fine film.", "Not good.", "Great fun.", "Boring.", "It was okay."]
    before = stats()
    with concurrent.futures.ThreadPoolExecutor(6) as pool, httpx.Client(base_url=server.url, timeout=30) as c:
        busy = pool.submit(c.post, "/v1/predict", json={"texts": ["SLEEP=1.0 Fine."]})  # holds the worker
        time.sleep(0.3)
        answers = list(pool.map(lambda t: c.post("/v1/predict", json={"texts": [t]}), texts[:2]))
        assert busy.result().status_code == 200
    after = stats()
    assert all(a.status_code == 200 and a.json()["results"][0]["input"] == 1 for a in answers)
    assert [a.json()["results"][0]["text"] for a in answers] == texts[:2]
    assert after["items"] - before["items"] == 3
    assert after["batches"] - before["batches"] == 2  # the sleeper, then both waiting requests in one batch


def test_similarity(client):
    import treenets

    pairs = [{"a": "A man is playing a guitar.", "b": "A man plays the guitar."},
             {"a": "A dog runs.", "b": "A woman is cooking."}]
    body = client.post("/v1/similarity", json={"pairs": pairs}).json()
    scores = treenets.load("sick").similarity([p["a"] for p in pairs], [p["b"] for p in pairs])
    assert body["model"] == "sick"
    assert body["results"] == [{"a": p["a"], "b": p["b"], "score": round(s, 6), "model": "sick"}
                               for p, s in zip(pairs, scores)]
    assert body["results"][0]["score"] > body["results"][1]["score"]


def test_parse(client):
    import treenets
    from treenets.formats import write_brackets

    body = client.post("/v1/parse", json={"texts": ["A man plays. He smiles."]}).json()
    trees = treenets.parse(["A man plays. He smiles."], "dependency")[0]
    sentences = body["results"][0]["sentences"]
    assert [s["brackets"] for s in sentences] == [write_brackets(t) for t in trees]
    conllu = client.post("/v1/parse", json={"texts": ["A man plays."], "format": "conllu"}).json()
    assert conllu["results"][0]["sentences"][0]["conllu"].splitlines()[-1].startswith("4\t.")
    error(client.post("/v1/parse", json={"texts": ["A man."], "tree": "constituency"}), 422, "not_served")


def test_encode(client):
    import treenets

    full = client.post("/v1/encode", json={"model": "sick", "texts": ["A man plays."]}).json()
    roots = client.post("/v1/encode", json={"model": "sick", "texts": ["A man plays."], "root_only": True}).json()
    expected = treenets.parse_and_encode(["A man plays."], encoder="sick")[0]
    record = full["results"][0]
    assert record["input"] == 1 and record["encoder"] == "sick" and len(record["node_states"]) == len(expected.tree)
    assert max(abs(a - b) for a, b in zip(record["root"], expected.root.tolist())) < 1e-5
    assert "node_states" not in roots["results"][0] and roots["results"][0]["root"] == record["root"]


# ------------------------------------------------------------------------- errors
def test_malformed_json_and_wrong_types_name_the_field(client):
    bad = client.post("/v1/predict", content=b'{"texts": ["a",', headers={"content-type": "application/json"})
    body = error(bad, 422, "invalid_request")
    assert body["field"] == "body" and "malformed JSON" in body["message"]
    assert error(client.post("/v1/predict", json={"texts": ["fine", 3]}), 422, "invalid_request")["field"] == \
        "texts[1]"
    assert error(client.post("/v1/predict", json={"texts": "one text"}), 422, "invalid_request")["field"] == "texts"
    assert error(client.post("/v1/predict", json={}), 422, "invalid_request")["field"] == "texts"
    assert error(client.post("/v1/predict", json={"texts": ["a"], "colour": 1}), 422,
                 "invalid_request")["field"] == "colour"
    assert error(client.post("/v1/predict", json={"texts": ["a"], "svg": "yes"}), 422,
                 "invalid_request")["field"] == "svg"
    assert error(client.post("/v1/similarity", json={"pairs": [{"a": "x"}]}), 422,
                 "invalid_request")["field"] == "pairs[0].b"
    assert error(client.post("/v1/encode", json=[1, 2]), 422, "invalid_request")["field"] == "body"
    assert error(client.post("/v1/predict", json={"texts": []}), 422, "invalid_request")["field"] == "texts"


def test_models_named_wrongly(client):
    assert error(client.post("/v1/predict", json={"model": "nope", "texts": ["a"]}), 404,
                 "unknown_model")["field"] == "model"
    assert error(client.post("/v1/predict", json={"model": "sick", "texts": ["a"]}), 422,
                 "wrong_model")["field"] == "model"


def test_bad_text_for_the_library_is_a_422(client):
    body = error(client.post("/v1/similarity", json={"pairs": [{"a": "   ", "b": "A man plays."}]}), 422,
                 "invalid_input")
    assert "blank" in body["message"]


def test_limits(client, server):
    body = error(client.post("/v1/predict", json={"texts": ["Good."] * 9}), 413, "limit_exceeded")
    assert (body["limit"], body["value"]) == ("max_texts", 8) and "9" in body["message"]
    long = "word " * 31 + "end."
    body = error(client.post("/v1/predict", json={"texts": ["Fine.", "Short one. " + long]}), 413,
                 "limit_exceeded")
    assert (body["limit"], body["value"]) == ("max_words", 30) and "texts[1]" in body["message"]
    assert "sentence 2" in body["message"]
    body = error(client.post("/v1/similarity", json={"pairs": [{"a": "Fine.", "b": long}]}), 413, "limit_exceeded")
    assert body["limit"] == "max_words" and "pairs[0].b" in body["message"]
    body = error(client.post("/v1/predict", json={"texts": ["A " + "x" * 1500 + " film."]}), 413, "limit_exceeded")
    assert body["limit"] == "max_token_chars"  # the parsing layer's limit (treenets.parsers.TextLimits)
    big = {"texts": ["x" * 5000]}
    body = error(client.post("/v1/predict", json=big), 413, "limit_exceeded")
    assert (body["limit"], body["value"]) == ("max_request_bytes", 4000)

    def chunks():  # no Content-Length: the server counts what arrives
        for _ in range(10):
            yield b" " * 1000

    body = error(client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"}), 413,
                 "limit_exceeded")
    assert body["limit"] == "max_request_bytes"
    assert client.get("/healthz").status_code == 200


def test_request_id_on_every_response(client):
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
    assert client.get("/readyz", headers={"X-Request-ID": "client-42"}).headers["x-request-id"] == "client-42"
    odd = client.get("/healthz", headers={"X-Request-ID": "no spaces <allowed>"}).headers["x-request-id"]
    assert odd != "no spaces <allowed>" and len(odd) == 32
    error(client.get("/no/such/page"), 404, "not_found")
    error(client.get("/v1/predict"), 405, "method_not_allowed")


def test_500_has_no_traceback_and_is_logged_with_the_request_id(client, server):
    r = client.post("/v1/predict", json={"texts": ["FAULT"]})
    body = error(r, 500, "internal_error")
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    time.sleep(0.2)
    log = server.log()
    assert f"request {body['request_id']}" in log
    assert "RuntimeError: injected fault: secret-internal-detail" in log and "Traceback" in log
    assert client.post("/v1/predict", json={"texts": ["Fine."]}).status_code == 200  # and it lives on


def test_request_timeout_is_a_504(client):
    t0 = time.perf_counter()
    body = error(client.post("/v1/predict", json={"texts": ["SLEEP=6 Fine."]}), 504, "timeout")
    assert (body["limit"], body["value"]) == ("request_timeout", 5.0)
    assert 4.5 < time.perf_counter() - t0 < 6.0
    time.sleep(1.2)  # the sleeper's batch ends


def test_full_queue_is_a_503_with_retry_after(server):
    with concurrent.futures.ThreadPoolExecutor(3) as pool, httpx.Client(base_url=server.url, timeout=30) as c:
        held = [pool.submit(c.post, "/v1/predict", json={"texts": [f"SLEEP=1.5 Fine {k}."]}) for k in range(3)]
        time.sleep(0.5)
        r = c.post("/v1/predict", json={"texts": ["Fine."]})
        body = error(r, 503, "queue_full")
        assert r.headers["retry-after"] == "1" and (body["limit"], body["value"]) == ("max_queue", 3)
        assert [h.result().status_code for h in held] == [200, 200, 200]
    assert c.is_closed


def test_sigterm_finishes_requests_in_flight_and_refuses_new_ones(server):
    """The module's last test: it stops the server."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=30) as c:
        in_flight = pool.submit(c.post, "/v1/predict", json={"texts": ["SLEEP=2 The movie was great."]})
        time.sleep(0.7)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/healthz", timeout=5)
        answer = in_flight.result()
    assert answer.status_code == 200 and answer.json()["results"][0]["text"] == "The movie was great."
    assert server.proc.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has stopped
    assert "stopped" in server.log()
