"""Processes for tests/test_distributed.py: the same models and batches on one process and on several.

A separate module, so that processes started with ``torch.multiprocessing.spawn``
import it by name.
"""
import os

import torch

import treenets as tn
from treenets.training import leave_process_group, train_epoch, wrap_ddp

SST = ["(3 (2 a) (4 good))", "(1 (0 bad) (2 film))", "(4 (4 great) (3 (2 b) (4 fun)))", "(0 (1 awful) (2 c))",
       "(3 (2 d) (3 (4 fine) (2 e)))", "(2 x)", "(1 (2 y) (0 (1 z) (2 w)))", "(4 (3 (4 so) (4 good)) (2 .))"]
SICK = [(["a", "dog", "runs"], [2, 3, 0], ["a", "dog", "walks"], [2, 3, 0], 4.8),
        (["cats", "sleep"], [2, 0], ["a", "car"], [2, 0], 1.1),
        (["the", "man", "plays", "guitar"], [2, 3, 0, 3], ["a", "man", "plays"], [2, 3, 0], 3.9),
        (["two", "dogs", "play"], [2, 3, 0], ["dogs", "play", "outside"], [2, 0, 2], 4.2),
        (["a", "woman", "cuts", "onions"], [2, 3, 0, 3], ["nobody", "cuts", "onions"], [2, 0, 2], 2.5)]


def build(task: str):
    """(model, optimizers, global batches), the same in every process."""
    torch.manual_seed(0)
    if task == "sst":
        trees = [tn.Tree.from_brackets(s) for s in SST]
        vocab = tn.Vocab.build(t.words for t in trees)
        model = tn.SentimentModel(vocab, 6, 5, cell="nary", cell_options={"leaf_input_only": True}, dropout=0.0)
        # the paper's SST optimizers: AdaGrad (with L2) on the model, SGD on the word vectors
        opts = [torch.optim.Adagrad(model.model_parameters(), lr=0.05, weight_decay=1e-4),
                torch.optim.SGD(model.embedding_parameters(), lr=0.1)]
        # 7 trees (shares of 4 and 3), then 1 tree (process 1's share is empty)
        return model, opts, [trees[:7], trees[7:]]
    pairs = [(tn.Tree.from_parents(a, pa), tn.Tree.from_parents(b, pb), s) for a, pa, b, pb, s in SICK]
    vocab = tn.Vocab.build(t.words for p in pairs for t in p[:2])
    model = tn.RelatednessModel(vocab, 6, 5, 4)  # frozen word vectors, as in the paper
    opts = [torch.optim.Adagrad(model.model_parameters(), lr=0.05, weight_decay=1e-4)]
    return model, opts, [pairs, pairs[1:4]]


def snapshot(model):
    return {"params": {k: v.detach().clone() for k, v in model.named_parameters()},
            "grads": {k: v.grad.detach().clone() for k, v in model.named_parameters() if v.grad is not None}}


def run(process: int, world: int, port: int, tasks, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=process, world_size=world)
    try:
        for task in tasks:
            model, opts, batches = build(task)
            ddp = wrap_ddp(model)
            for step, batch in enumerate(batches):
                loss = train_epoch(model, [batch], opts, ddp=ddp)
                torch.save({"loss": loss, **snapshot(model)}, os.path.join(out, f"{task}-{process}-{step}.pt"))
            del ddp
    except BaseException:
        leave_process_group()  # no barrier: the other process may never come
        raise
    leave_process_group(wait=True)  # both processes end together (see leave_process_group)
