"""A fast, deterministic parser for tests, importable by worker processes (tests/ is on their sys.path).

``ChainParser`` splits a text into sentences at ``". "`` and into words at
whitespace; each sentence's dependency tree is a chain (every word's head is
the next word; the last is the root), or with ``constituency=True`` a
right-branching binary constituency tree over the words. It follows the
:class:`treenets.parsers.Parser` protocol and pickles.
"""
import os
import time
from pathlib import Path

from treenets import Tree
from treenets.parsers import ParsedSentence


class ChainParser:
    """Chain trees; ``fail_on``: a word that makes a text fail; ``die_on``: one that kills the process; ``log_dir``: each process notes its pid
    and torch thread count there; ``slow_first``: the first text of a call containing it sleeps, so
    later chunks finish first."""

    def __init__(self, fail_on=None, log_dir=None, slow_first=None, version="1", die_on=None, constituency=False):
        self.constituency = constituency
        self.kinds = ("constituency",) if constituency else ("dependency",)
        self.fail_on = fail_on
        self.die_on = die_on
        self.log_dir = None if log_dir is None else str(log_dir)
        self.slow_first = slow_first
        self.version = version

    def cache_key(self):
        return f"chain-parser-{self.version}" + ("-constituency" if self.constituency else "")

    def parse(self, texts):
        if self.log_dir is not None:
            import torch

            Path(self.log_dir, f"{os.getpid()}.txt").write_text(str(torch.get_num_threads()))
        if self.slow_first is not None and texts and self.slow_first in texts[0]:
            time.sleep(0.5)
        out = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"not a string: {text!r}")
            if self.die_on is not None and self.die_on in text.split():
                os._exit(3)  # a worker killed mid-parse
            if self.fail_on is not None and self.fail_on in text.split():
                raise ValueError(f"cannot parse {self.fail_on!r}")
            sentences = []
            for k, part in enumerate(p for p in text.split(". ") if p.strip()):
                words = part.split()
                if self.constituency:  # (X (W w1) (X (W w2) (W w3)))
                    text_tree = f"(W {words[-1]})"
                    for w in reversed(words[:-1]):
                        text_tree = f"(X (W {w}) {text_tree})"
                    trees = {"constituency": Tree.from_brackets(text_tree)}
                else:
                    trees = {"dependency": Tree.from_parents(words, list(range(2, len(words) + 1)) + [0])}
                sentences.append(ParsedSentence(words=words, text=part, tokens=words,
                                                word_to_token=list(range(len(words))), index=k, **trees))
            out.append(sentences)
        return out


class Unpicklable(ChainParser):
    """A parser holding something that does not pickle (a lock)."""

    def __init__(self):
        import threading

        super().__init__()
        self.lock = threading.Lock()


class BrokenSetup(ChainParser):
    """A parser whose ``load`` fails, as a missing model does."""

    def load(self):
        raise FileNotFoundError("model.pt is missing")
