"""Load test of ``treenets serve``: concurrent clients against one server process on 127.0.0.1.

Starts ``treenets serve`` (one model, a fresh parse cache), then ``--clients`` clients each send
``--requests`` requests, one after another, for at most ``--time-limit`` seconds: a mix of valid
predictions (1 to 3 SST test sentences each, drawn from a pool of ``--pool`` sentences, so the
pool is parsed once and then served from the parse cache, as a real server's repeated texts
are), oversized requests (too many texts, a sentence over the word limit, a body over the byte
limit: each must be 413 naming its limit) and malformed ones (bad JSON, a number for a text: 422
naming the field). Reported: requests/s and sentences/s, p50/p99 latency, every valid answer
compared with the Python API's records for the same texts (``model.predict`` in this process),
every invalid answer's status, the count of 5xx, and the server's peak resident memory (VmHWM).
Then ``--cli-sample`` of the same texts go through one ``treenets predict --format json`` call
each (the parses cached, the command's best case), for the ratio of sentences per second.

    python -m benchmarks.serve_load                       # 8 clients x 200 requests, sst2
    python -m benchmarks.serve_load --clients 2 --requests 20 --cli-sample 3   # a quick look

The last line of output is one JSON object with every number and the environment.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.common import REPO, environment, finish

LIMITS = {"max_texts": 8, "max_words": 60, "max_request_bytes": 20000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sentences(data_dir: Optional[Path], n: int, max_words: int, seed: int) -> List[str]:
    from treenets.data import default_data_dir
    from treenets.data.sst import load_sst

    folder = Path(data_dir or default_data_dir()) / "sst"
    if not (folder / "test.txt").is_file():
        raise SystemExit(f"SST not found under {folder} (test.txt): pass --data-dir or set TREENETS_DATA_DIR")
    texts = [" ".join(t.words) for t in load_sst(folder, "test")]
    texts = [t for t in texts if len(t.split()) <= max_words]
    random.Random(seed).shuffle(texts)
    return texts[:n]


def workload(pool: List[str], clients: int, requests: int, seed: int) -> List[List[Dict]]:
    """Per client, its requests: ``{"kind", "body" (bytes), "texts" (valid ones), "status", "limit"/"field"}``."""
    rng = random.Random(seed)
    out = []
    for _ in range(clients):
        mine = []
        for _ in range(requests):
            r = rng.random()
            if r < 0.8:
                texts = rng.sample(pool, rng.randint(1, 3))
                mine.append({"kind": "valid", "texts": texts, "status": 200,
                             "body": json.dumps({"texts": texts}).encode()})
            elif r < 0.85:
                mine.append({"kind": "too_many_texts", "status": 413, "limit": "max_texts",
                             "body": json.dumps({"texts": [pool[0]] * (LIMITS["max_texts"] + 1)}).encode()})
            elif r < 0.9:
                long = " ".join(["word"] * (LIMITS["max_words"] + 5)) + "."
                mine.append({"kind": "long_sentence", "status": 413, "limit": "max_words",
                             "body": json.dumps({"texts": [pool[1], long]}).encode()})
            elif r < 0.93:
                mine.append({"kind": "big_body", "status": 413, "limit": "max_request_bytes",
                             "body": json.dumps({"texts": ["x" * (LIMITS["max_request_bytes"] + 10)]}).encode()})
            elif r < 0.97:
                mine.append({"kind": "bad_json", "status": 422, "field": "body",
                             "body": b'{"texts": ["' + pool[2].encode() + b'"'})
            else:
                mine.append({"kind": "wrong_type", "status": 422, "field": "texts[1]",
                             "body": json.dumps({"texts": [pool[3], 42]}).encode()})
        out.append(mine)
    return out


def start_server(args, cache_dir: str, log_path: Path):
    port = free_port()
    env = dict(os.environ, TREENETS_CACHE_DIR=cache_dir, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "treenets", "serve", "--host", "127.0.0.1", "--port", str(port), "--model",
           args.model, "--parse-trees", "", "--workers", str(args.workers), "--max-batch", str(args.max_batch),
           "--max-wait", str(args.max_wait), "--max-texts", str(LIMITS["max_texts"]),
           "--max-words", str(LIMITS["max_words"]), "--max-request-bytes", str(LIMITS["max_request_bytes"]),
           "--max-queue", str(args.max_queue), "--log-level", "warning"]
    log = open(log_path, "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))
    import httpx

    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log_path.read_text()}")
        if time.perf_counter() - t0 > 600:
            proc.kill()
            raise SystemExit("the server was not ready after 600 s")
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    return proc, url, time.perf_counter() - t0, log


async def run_clients(url: str, plan: List[List[Dict]], time_limit: float) -> List[Dict]:
    import httpx

    done: List[Dict] = []
    deadline = time.perf_counter() + time_limit

    async def client(requests: List[Dict]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            for req in requests:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    r = await c.post("/v1/predict", content=req["body"], headers={"content-type": "application/json"})
                    status, body = r.status_code, r.content
                except httpx.TransportError as err:
                    status, body = None, str(err).encode()
                done.append({**req, "got": status, "answer": body, "latency": time.perf_counter() - t0})

    await asyncio.gather(*(client(p) for p in plan))
    return done


def check(done: List[Dict], model) -> Dict:
    """Every valid answer against ``model.predict`` in this process; every invalid one against its 4xx."""
    texts = sorted({t for d in done if d["kind"] == "valid" for t in d["texts"]})
    expected = {}
    for r in model.predict(texts, batch_size=64):
        expected.setdefault(texts[r.input - 1], []).append(r)
    wrong, worst, bad_errors, lost = [], 0.0, [], 0
    for d in done:
        if d["got"] is None:
            lost += 1
            continue
        if d["kind"] != "valid":
            ok = d["got"] == d["status"]
            if ok:
                err = json.loads(d["answer"])["error"]
                ok = (err.get("limit") == d["limit"]) if "limit" in d else (err.get("field") == d["field"])
            if not ok:
                bad_errors.append((d["kind"], d["got"], d["answer"][:200].decode(errors="replace")))
            continue
        if d["got"] != 200:
            wrong.append((d["got"], d["answer"][:200].decode(errors="replace")))
            continue
        got = json.loads(d["answer"])["results"]
        want = [dict(rec, input=k + 1) for k, t in enumerate(d["texts"]) for rec in map(_record, expected[t])]
        same = len(got) == len(want) and all(
            g["text"] == w["text"] and g["tree"] == w["tree"] and g["label"] == w["label"]
            and (g["input"], g["sentence"]) == (w["input"], w["sentence"])
            and [n["label"] for n in g["nodes"]] == [n["label"] for n in w["nodes"]] for g, w in zip(got, want))
        if not same:
            wrong.append((200, "records differ"))
            continue
        for g, w in zip(got, want):
            for gn, wn in zip(g["nodes"], w["nodes"]):
                worst = max(worst, max(abs(gn["probs"][k] - wn["probs"][k]) for k in wn["probs"]))
    return {"wrong": len(wrong), "wrong_examples": wrong[:3], "invalid_misanswered": len(bad_errors),
            "invalid_examples": bad_errors[:3], "lost": lost, "max_prob_diff": worst,
            "distinct_texts": len(texts)}


def _record(result) -> Dict:
    from treenets.formats.jsonl import prediction_record

    return prediction_record(result)


def cli_sample(texts: List[str], model: str, cache_dir: str) -> Dict:
    env = dict(os.environ, TREENETS_CACHE_DIR=cache_dir, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    n_sent, times = 0, []
    for text in texts:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "treenets", "predict", text, "--model", model,
                               "--format", "json"], capture_output=True, text=True, env=env, cwd=str(REPO))
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"treenets predict failed: {proc.stderr[-500:]}")
        n_sent += len(proc.stdout.splitlines())
    return {"calls": len(texts), "sentences": n_sent, "seconds": round(sum(times), 2),
            "sentences_per_s": round(n_sent / sum(times), 3), "median_call_s": round(statistics.median(times), 2)}


def main(argv=None) -> Dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=200, help="requests per client")
    p.add_argument("--time-limit", type=float, default=600.0, help="seconds; no request starts after it")
    p.add_argument("--pool", type=int, default=200, help="distinct SST test sentences the valid requests use")
    p.add_argument("--model", default="sst2")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--max-batch", type=int, default=64)
    p.add_argument("--max-wait", type=float, default=0.005)
    p.add_argument("--max-queue", type=int, default=256)
    p.add_argument("--cli-sample", type=int, default=20, help="texts sent through one CLI call each")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json-out", type=Path, default=None)
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    import torch

    import treenets

    torch.set_num_threads(1)
    pool = sentences(args.data_dir, args.pool, LIMITS["max_words"], args.seed)
    plan = workload(pool, args.clients, args.requests, args.seed)
    cache_dir = tempfile.mkdtemp(prefix="treenets-serve-load-")
    log_path = Path(cache_dir) / "server.log"
    proc, url, startup, log = start_server(args, cache_dir, log_path)
    print(f"server ready in {startup:.1f} s at {url} (pid {proc.pid})", flush=True)
    try:
        t0 = time.perf_counter()
        done = asyncio.run(run_clients(url, plan, args.time_limit))
        wall = time.perf_counter() - t0
        status = Path(f"/proc/{proc.pid}/status")
        peak_kb = next((int(line.split()[1]) for line in status.read_text().splitlines()
                        if line.startswith("VmHWM")), None) if status.exists() else None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    valid = [d for d in done if d["kind"] == "valid" and d["got"] == 200]
    n_sentences = sum(len(json.loads(d["answer"])["results"]) for d in valid)
    lat = sorted(d["latency"] for d in valid)
    lat_all = sorted(d["latency"] for d in done)

    def pct(xs, q):
        return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 1) if xs else None

    model = treenets.load(args.model)
    os.environ["TREENETS_CACHE_DIR"] = cache_dir  # the server's parses: the comparison re-parses nothing
    verdict = check(done, model)
    statuses: Dict[str, int] = {}
    for d in done:
        statuses[str(d["got"])] = statuses.get(str(d["got"]), 0) + 1
    server = {"requests": len(done), "planned": args.clients * args.requests, "wall_s": round(wall, 2),
              "requests_per_s": round(len(done) / wall, 2), "valid_requests": len(valid),
              "sentences": n_sentences, "sentences_per_s": round(n_sentences / wall, 2),
              "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "p50_ms_all": pct(lat_all, 0.5),
              "p99_ms_all": pct(lat_all, 0.99), "statuses": statuses,
              "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
              "peak_rss_mb": round(peak_kb / 1024, 1) if peak_kb else None, "startup_s": round(startup, 1),
              **verdict}
    print(f"server: {server['requests']} requests in {wall:.1f} s: {server['requests_per_s']} requests/s, "
          f"{server['sentences_per_s']} sentences/s; p50 {server['p50_ms']} ms, p99 {server['p99_ms']} ms "
          f"(valid requests); statuses {statuses}; wrong {verdict['wrong']}, invalid misanswered "
          f"{verdict['invalid_misanswered']}, lost {verdict['lost']}, 5xx {server['5xx']}; "
          f"peak RSS {server['peak_rss_mb']} MB", flush=True)
    cli = None
    if args.cli_sample:
        cli = cli_sample(pool[:args.cli_sample], args.model, cache_dir)
        print(f"CLI: {cli['calls']} calls, {cli['sentences']} sentences in {cli['seconds']} s: "
              f"{cli['sentences_per_s']} sentences/s (median call {cli['median_call_s']} s)", flush=True)
    result = {"benchmark": "serve_load", "args": {k: (str(v) if isinstance(v, Path) else v)
                                                 for k, v in vars(args).items()},
              "limits": LIMITS, "server": server, "cli": cli,
              "ratio_sentences_per_s": round(server["sentences_per_s"] / cli["sentences_per_s"], 1) if cli else None,
              **environment(torch.device("cpu"), 1, None, None)}
    if cli:
        print(f"ratio: the server answers {result['ratio_sentences_per_s']}x the sentences per second of one "
              f"CLI call per text", flush=True)
    return finish(result, args.json_out, t_start)


if __name__ == "__main__":
    main()
