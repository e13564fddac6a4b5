"""Helpers shared by the tests of saved models: a confident tiny sentiment model, and re-summing an edited file."""
import hashlib

import torch

import treenets as tn


def confident_tiny_model(brackets):
    """``(model, trees)``: a small untrained Constituency model over ``brackets`` (SST notation) whose classifier
    weights are scaled up, so that whatever post-processes its probabilities (a temperature, a rule) visibly moves
    them; in eval mode."""
    trees = [tn.Tree.from_brackets(s).map_labels(int) for s in brackets]
    torch.manual_seed(0)
    vocab = tn.Vocab.build((t.words for t in trees), lower=True, normalize="ptb")
    model = tn.SentimentModel(vocab, 8, 6, cell_options={"leaf_input_only": True})
    with torch.no_grad():
        model.classifier.linear.weight.mul_(20)
    return model.eval(), trees


def resum(folder, name, sums="SHA256SUMS"):
    """Update ``SHA256SUMS`` for an edited file, as someone changing a model on purpose would."""
    data = (folder / name).read_bytes()
    lines = [line for line in (folder / sums).read_text().splitlines() if not line.endswith("  " + name)]
    lines.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
    (folder / sums).write_text("\n".join(lines) + "\n")
