#!/usr/bin/env python
"""Does a sentiment model compose? The composition table of docs/composition.md, for any models.

For every model (a pretrained name or a model directory; ``NAME=A+B+C`` is
the mean of several, a seed ensemble, each at temperature 1 and without its
contrast rule, as a shipped ensemble's members are) it measures, on SST's gold trees
(:mod:`treenets.models.analysis`): SST-2 root accuracy overall, on sentences
with a negator, with a contrast word and on the rest; SST-3 and SST-5 root
accuracy; neutral roots; Socher et al. (2013)'s negated positive / negated
negative analysis; ``X but Y`` nodes; the calibration error on dev and test.
On raw text, through each model's own parser: the hand-written fixture
(``tests/data/composition_fixture.tsv``, never trained on) and the share of
SICK test sentences (descriptions of pictures, no sentiment) given a
polarity with confidence >= 0.8.

    python examples/composition.py --models sst2 sst5
    python examples/composition.py --models sst5-minilm tree=runs/a/best+runs/b/best --sick 300
    python examples/composition.py --models s1=runs/s1/best s2=runs/s2/best s3=runs/s3/best --mean seeds

``--no-contrast-rule`` measures the models without their A-but-B rule
(:mod:`treenets.models.contrast`). ``--choose-neutral`` picks, on dev, the neutral threshold that maximises
SST-3 root accuracy (printed with each model; :mod:`treenets.models.polarity`).
The last line printed is one JSON object: ``{model: metrics}``.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

from treenets.data import default_data_dir, load_sst
from treenets.models import load
from treenets.models.analysis import composition_metrics, score_trees
from treenets.models.polarity import POLARITIES, decide_polarity

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "data" / "composition_fixture.tsv"
GRID = [round(0.2 + 0.02 * k, 2) for k in range(36)]  # 0.20 .. 0.90


def read_fixture(path: Path) -> List[Dict[str, str]]:
    """The fixture's rows: ``category``, ``label``, ``sentence`` (lines starting with # are comments)."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))
    for k, row in enumerate(rows, 1):
        if set(row) != {"category", "label", "sentence"} or row["label"] not in POLARITIES or not row["sentence"]:
            raise ValueError(f"{path}: row {k} must be category<TAB>label<TAB>sentence with a label in "
                             f"{POLARITIES}, got {row}")
    return rows


def sick_sentences(data_dir: Path, n: int) -> List[str]:
    """The first ``n`` distinct sentences of SICK's test pairs (sentence A, then B, in file order)."""
    path = data_dir / "sick" / "SICK_test_annotated.txt"
    seen: Dict[str, None] = {}
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            for key in ("sentence_A", "sentence_B"):
                seen.setdefault(row[key], None)
            if len(seen) >= n:
                break
    return list(seen)[:n]


def raw_polarity(models, texts: List[str], rule) -> List[tuple]:
    """``(polarity, probability)`` of every text under the models (their mean), with ``rule``."""
    import torch

    total = None
    for m in models:
        docs = m.classify(texts, cache=True)
        if len(docs) != len(texts):
            raise ValueError(f"{len(texts)} texts gave {len(docs)} documents (an empty text?)")
        probs = torch.tensor([[d.probs[p] for p in POLARITIES] for d in docs])
        total = probs if total is None else total + probs
    mean = total / len(models)
    pol = decide_polarity(mean, *rule).tolist()
    return [(POLARITIES[k], float(mean[i, k])) for i, k in enumerate(pol)]


def choose_neutral_threshold(models, dev) -> float:
    """The threshold on P(neutral) with the best SST-3 root accuracy on ``dev`` (ties: the lowest)."""
    scored = score_trees(models, dev, polarity_rule=(None, None))
    best = None
    for tau in GRID:
        hits = 0
        for s in scored:
            pol = int(decide_polarity(s.probs3[s.tree.root][None], tau)[0])
            hits += pol == {0: 0, 1: 0, 2: 1, 3: 2, 4: 2}[s.tree.labels[s.tree.root]]
        if best is None or hits > best[1]:
            best = (tau, hits)
    return best[0]


def measure(name: str, models, splits: Dict[str, list], fixture: Optional[List[Dict]], sick: List[str],
            rule) -> Dict:
    out: Dict = {"model": name, "members": [m.name for m in models],
                 "neutral_threshold": rule[0], "abstain_threshold": rule[1]}
    for split, trees in splits.items():
        metrics = composition_metrics(score_trees(models, trees, polarity_rule=rule))
        if split == "test":
            out.update(metrics)
        else:
            out[f"{split}_ece"] = metrics["ece"]
            out[f"{split}_binary_root_all"] = metrics["binary_root_all"]
            out[f"{split}_sst3_root"] = metrics["sst3_root"]
            if "fine_root" in metrics:
                out[f"{split}_fine_root"] = metrics["fine_root"]
    if fixture:
        answers = raw_polarity(models, [r["sentence"] for r in fixture], rule)
        per: Dict[str, List[int]] = {}
        for row, (pol, _) in zip(fixture, answers):
            for key in ("all", row["category"]):
                hit = per.setdefault(key, [0, 0])
                hit[0] += pol == row["label"]
                hit[1] += 1
        out["fixture"] = {k: {"acc": round(100.0 * h / n, 2), "n": n} for k, (h, n) in per.items()}
        out["fixture_wrong"] = [row["sentence"] for row, (pol, _) in zip(fixture, answers)
                                if pol != row["label"]]
    if sick:
        answers = raw_polarity(models, sick, rule)
        confident = sum(1 for pol, p in answers if pol != "neutral" and p >= 0.8)
        out["sick_confident_polarity"] = {"share": round(100.0 * confident / len(sick), 2), "n": len(sick),
                                          "answered_neutral": round(100.0 * sum(pol == "neutral" for pol, _ in
                                                                                answers) / len(sick), 2)}
    return out


def _cell(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _columns(r: Dict) -> List[Optional[float]]:
    """A result's numbers, in the table's column order."""
    g = lambda key, field="acc": (r.get(key) or {}).get(field)  # noqa: E731
    return [g("binary_root_all"), g("binary_root_negator"), g("binary_root_contrast"), g("binary_root_rest"),
            g("sst3_root"), g("fine_root"), g("negated_positive"), g("negated_negative"), g("but"),
            g("neutral_roots", "answered_neutral"), g("dev_ece", "value"), g("ece", "value"),
            (r.get("fixture") or {}).get("all", {}).get("acc"), g("sick_confident_polarity", "share")]


def mean_row(results: List[Dict], label: str) -> str:
    """One table row: every column's mean ± sample standard deviation over ``results`` (several seeds)."""
    import statistics

    cells = []
    for values in zip(*(_columns(r) for r in results)):
        if any(v is None for v in values):
            cells.append("–")
        else:
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.fmean(values):.1f} ± {sd:.1f}")
    return "| " + " | ".join([f"{label} (mean ± sd of {len(results)})"] + cells) + " |"


def table(results: List[Dict], mean: Optional[str] = None) -> str:
    """The Markdown table of docs/composition.md; with ``mean``, a last row of the means ± sd so labelled."""
    head = ("| model | SST-2 | negator | contrast | rest | SST-3 | SST-5 | neg. pos. | neg. neg. | X but Y | "
            "neutral roots → neutral | ECE dev | ECE test | fixture | SICK ≥0.8 |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        lines.append("| " + " | ".join([r["model"]] + [_cell(v) for v in _columns(r)]) + " |")
    if mean:
        lines.append(mean_row(results, mean))
    return "\n".join(lines)


def main(argv=None) -> Dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", required=True,
                   help="pretrained names or model directories; NAME=A+B+... averages several (an ensemble)")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with sst/ and sick/ (default: "
                   "$TREENETS_DATA_DIR)")
    p.add_argument("--fixture", type=Path, default=FIXTURE, help="the hand-written fixture (TSV)")
    p.add_argument("--no-fixture", action="store_true", help="skip the fixture (it needs the stanza parser)")
    p.add_argument("--sick", type=int, default=0, metavar="N",
                   help="also measure the first N distinct SICK test sentences (needs the stanza parser)")
    p.add_argument("--limit", type=int, default=None, help="only the first N trees of each SST split")
    p.add_argument("--choose-neutral", action="store_true",
                   help="choose each model's neutral threshold on dev (SST-3 root accuracy) instead of its own")
    p.add_argument("--no-contrast-rule", action="store_true",
                   help="turn every model's A-but-B rule off (treenets.models.contrast), to compare")
    p.add_argument("--out", type=Path, default=None, help="also write the results here (JSON)")
    p.add_argument("--mean", default=None, metavar="LABEL",
                   help="add a row LABEL of every column's mean ± standard deviation over the models (seeds)")
    args = p.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    splits = {s: load_sst(data_dir / "sst", s, mode="fine") for s in ("dev", "test")}
    if args.limit:
        splits = {s: t[:args.limit] for s, t in splits.items()}
    fixture = None if args.no_fixture else read_fixture(args.fixture)
    sick = sick_sentences(data_dir, args.sick) if args.sick > 0 else []
    results = []
    for spec in args.models:
        name, _, paths = spec.rpartition("=")
        models = [load(x) for x in paths.split("+")]
        if len(models) > 1:  # a mean of models averages them as trained, as a shipped ensemble does
            for m in models:
                m.temperature = 1.0
                m.contrast_weight = None
        if args.no_contrast_rule:
            for m in models:
                m.contrast_weight = None
        name = name or paths
        rule = models[0].polarity_rule()
        if args.choose_neutral:
            rule = (choose_neutral_threshold(models, splits["dev"]), None)
        result = measure(name, models, splits, fixture, sick, rule)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(table(results, args.mean))
    summary = {r["model"]: r for r in results}
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as err:
        print(f"composition.py: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
