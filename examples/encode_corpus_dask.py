#!/usr/bin/env python
"""Encode a corpus, one text per line, on a Dask cluster: JSON Lines in input order, with line numbers.

    python examples/encode_corpus_dask.py corpus.txt --out corpus.jsonl --workers 2          # a local cluster
    python examples/encode_corpus_dask.py corpus.txt --out corpus.jsonl \\
        --scheduler-address tcp://scheduler:8786 --device cuda                              # a real cluster

The file is cut into partitions of about ``--blocksize`` bytes at line ends by
``dask.bag.read_text``. A first, cheap pass counts the lines of every partition,
so each partition knows the number of its first line. Then every partition is
parsed and encoded on a worker by ``treenets.parse_and_encode``: each worker
loads the model (``--model``, the pretrained ``sst5`` by default, as for
``treenets encode``) and builds its parser once, in a Dask worker plugin, and
keeps them for all its partitions. Each partition becomes one part file of
JSON Lines records (``treenets.formats.jsonl``, the records of
``treenets encode --input``), written by ``Bag.to_textfiles``; the part files
are joined in order into ``--out``, written atomically.

The records are those of ``treenets encode --input FILE`` on one machine: the
same lines, sentences, words and trees. The states agree to the last printed
digit or so, not always bit for bit: a worker encodes the trees of its
partition in batches, and which trees share a batch changes the rounding of
float sums (by about 1e-8).

On a real cluster, every worker needs treenets (``pip install
'treenets[stanza,dask]'``), the stanza models (``STANZA_RESOURCES_DIR``) and
read access to the input (a shared file system, or any URL that fsspec reads,
e.g. ``s3://``); the part files are written next to ``--out``, which must be
on storage the workers and this script share. Without ``--scheduler-address``
a local cluster of ``--workers`` processes, one thread each, is started.

Why Dask (and not Ray Data): ``dask.bag.read_text`` + ``map_partitions`` +
``to_textfiles`` is exactly "a function per partition of lines", in order,
with no extra dependency (dask and distributed are pure Python, about 25 MB
installed); Ray (about 240 MB, a raylet and GCS server to start) needs pyarrow
for Ray Data and an option to keep the order of blocks.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

try:
    import dask
    import dask.bag as db
    from distributed import Client, LocalCluster, WorkerPlugin, get_worker
except ImportError:  # main() says how to get it
    dask = None
    WorkerPlugin = object

PLUGIN = "treenets-encoder"


class EncoderPlugin(WorkerPlugin):
    """Runs once in every Dask worker: torch threads, the parser (loaded) and the encoder, kept for all partitions."""

    name = PLUGIN

    def __init__(self, model: str, tree, device, threads: int, cache: bool) -> None:
        self.model, self.tree, self.device, self.threads, self.cache = model, tree, device, threads, cache
        self.parser = self.encoder = None

    def setup(self, worker=None) -> None:
        import torch

        import treenets
        from treenets.api import default_parser
        from treenets.parsers import load_parser

        if self.threads:
            torch.set_num_threads(self.threads)
        if self.model == "untrained":
            self.encoder, self.parser = "untrained", default_parser(self.tree or "dependency", self.device)
        else:
            self.encoder = treenets.load(self.model, device=self.device)
            self.parser = self.encoder.parser(self.device)
        load_parser(self.parser)

    def teardown(self, worker=None) -> None:
        pass


def encode_partition(lines, first_line: int, source: str, all_nodes: bool, batch_size: int) -> list:
    """The JSON Lines of one partition (``lines`` as ``read_text`` gives them, line ends included), as one
    string in a list (a partition of one element, written to its part file as it is), or ``[]``."""
    import treenets
    from treenets.formats import dumps_record, encoded_record, error_record

    state = get_worker().plugins[PLUGIN]
    texts = []
    for k, raw in enumerate(lines):
        text = raw[:-1] if raw.endswith("\n") else raw
        text = text[:-1] if text.endswith("\r") else text
        if first_line == 1 and k == 0 and text.startswith("\ufeff"):
            text = text[1:]  # a UTF-8 byte-order mark, as treenets.formats.iter_lines drops it
        try:
            text.encode("utf-8")  # read with errors="surrogateescape": undecodable bytes show up here
        except UnicodeEncodeError:
            raise ValueError(f"{source}:{first_line + k}: not UTF-8 text") from None
        texts.append(text)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the untrained-encoder warning, once per partition
        for r in treenets.parse_and_encode(texts, state.tree, encoder=state.encoder, parser=state.parser,
                                           device=state.device, cache=state.cache, batch_size=batch_size, lazy=True):
            if isinstance(r, Exception):  # a line that cannot be parsed: its error record, in its place
                out.append(dumps_record(error_record(r, line=first_line + r.input - 1)) + "\n")
                continue
            out.append(dumps_record(encoded_record(r, line=first_line + r.input - 1, all_nodes=all_nodes)) + "\n")
    return ["".join(out)] if out else []


def partition_sizes(lines):
    return [len(lines)]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="a text file, one text per line (a path or an fsspec URL)")
    p.add_argument("--out", type=Path, required=True, help="the JSON Lines file to write")
    p.add_argument("--model", default="sst5",
                   help="a pretrained name (sst5, sst2, sick), a model directory the workers can read, or "
                        "'untrained' (default: sst5, as treenets encode)")
    p.add_argument("--tree", choices=["dependency", "constituency"], default=None,
                   help="the trees to encode (default: the kind the model reads; dependency when untrained)")
    p.add_argument("--device", default=None, help="the workers' device for parsing and encoding: cpu, cuda, cuda:K")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (default 1)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")
    p.add_argument("--scheduler-address", default=None,
                   help="a running Dask scheduler, e.g. tcp://host:8786 (default: start a local cluster)")
    p.add_argument("--blocksize", default="1MiB", help="bytes per partition (default 1MiB, about 10,000 lines)")
    p.add_argument("--batch-size", type=int, default=256, help="trees per encoder batch")
    p.add_argument("--all-nodes", action="store_true", help="also write every node's state")
    p.add_argument("--no-cache", action="store_true", help="do not use the workers' parse caches")
    args = p.parse_args(argv)

    if dask is None:
        p.error("this example needs Dask: pip install 'treenets[dask]' (dask[distributed])")
    from treenets.utils.atomic import atomic_write, temp_name

    blocksize = int(args.blocksize) if args.blocksize.isdigit() else args.blocksize
    t0 = time.perf_counter()
    cluster = None
    if args.scheduler_address:
        client = Client(args.scheduler_address)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    parts_dir = temp_name(args.out, "part")
    try:
        client.register_plugin(EncoderPlugin(args.model, args.tree, args.device, args.threads, not args.no_cache))
        lines = db.read_text(args.input, blocksize=blocksize, encoding="utf-8", errors="surrogateescape",
                             linedelimiter="\n")
        sizes = lines.map_partitions(partition_sizes).compute()
        firsts = [1 + sum(sizes[:k]) for k in range(len(sizes))]
        encoded = db.from_delayed([
            dask.delayed(encode_partition)(part, first, args.input, args.all_nodes, args.batch_size)
            for part, first in zip(lines.to_delayed(), firsts)])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        files = encoded.to_textfiles(str(parts_dir / "*.jsonl"), name_function=lambda k: f"{k:06d}",
                                     encoding="utf-8")
        records = 0
        with atomic_write(args.out, "wb") as out:
            for name in sorted(files):
                with open(name, "rb") as part:
                    records += sum(chunk.count(b"\n") for chunk in iter(lambda: part.read(1 << 20), b""))
                    part.seek(0)
                    shutil.copyfileobj(part, out)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
        client.close()
        if cluster is not None:
            cluster.close()
    result = {"input": args.input, "out": str(args.out), "lines": sum(sizes), "partitions": len(sizes),
              "records": records, "workers": args.workers if cluster is not None else args.scheduler_address,
              "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
