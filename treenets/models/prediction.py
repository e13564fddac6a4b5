"""From what a user types to trees a model reads, and what :meth:`SentimentModel.predict` returns.

Inputs (:func:`iter_sentences`) may be, one at a time or in any iterable:

* **raw text** (a ``str``): parsed by the model's own parser
  (:meth:`TaskModel.parser`, through the parse cache); one text may hold
  several sentences;
* **bracket strings**, ``"(S (NP (DT The) (NN cat)) (VP (VBZ sleeps)))"`` or
  SST's ``"(3 (2 The) (4 rocks))"``: a string is read as brackets when
  :func:`treenets.formats.is_bracketed` says so (it opens with ``(`` and is
  nothing but well-formed trees of ``(LABEL WORD)`` and
  ``(LABEL CHILD ...)`` nodes); prose that merely starts with a bracket stays
  prose. ``input_format="text"`` or ``"brackets"`` decides it for every input.
  They are read with nltk (:class:`~treenets.parsers.BracketParser`) and
  binarized the model's way; labels in them are ignored;
* :class:`~treenets.Tree` objects, used as they are (a constituency tree
  with more than two children is binarized the model's way).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from ..formats.brackets import is_bracketed
from ..structures.tree import Tree

__all__ = ["SentimentResult", "iter_sentences", "INPUT_FORMATS"]

INPUT_FORMATS = ("auto", "text", "brackets")


def _as_iterable(inputs: Any) -> Iterable:
    if isinstance(inputs, (str, Tree)):
        return [inputs]
    try:
        return iter(inputs)
    except TypeError:
        raise TypeError(f"expected a string, a Tree, or an iterable of them, not {type(inputs).__name__}") from None


def _phrases(tree: Tree) -> List[str]:
    """The words under every node, joined (children before parents, no recursion)."""
    spans: List[List[int]] = [[] for _ in range(len(tree))]
    for node in tree.postorder():
        own = [node] if tree.tokens[node] is not None else []
        spans[node] = sorted(own + [i for c in tree.children[node] for i in spans[c]])
    return [" ".join(tree.tokens[i] for i in span) for span in spans]


def iter_sentences(model, inputs: Any, *, parser=None, cache=True, chunk_size: int = 64,
                   input_format: str = "auto", workers: int = 1,
                   progress=None) -> Iterator[Tuple[int, int, str, Tree]]:
    """``(input index, sentence index within it, sentence text, tree)`` for every sentence of ``inputs``.

    Reads ``chunk_size`` inputs at a time and parses their raw texts in one
    call, so an iterable of any length streams through with flat memory.

    Args:
        model: the :class:`~treenets.models.TaskModel` whose trees to make.
        inputs: a string, a :class:`~treenets.Tree`, or an iterable of them.
        parser: a :class:`~treenets.Parser` for raw text (default:
            ``model.parser()``); its trees must be of the model's kind.
        cache: the parse cache (see :func:`treenets.api.parse_sentences`).
        chunk_size: inputs per parser call.
        input_format: ``"auto"`` (see the module docs), ``"text"`` or ``"brackets"``.
        workers: parse raw text in this many processes: a
            :class:`~treenets.parsers.ParserPool` is made on the first raw
            text and stopped when the iterator ends or is closed. The output
            does not depend on it.
        progress: a bar (anything with ``update(n)``, e.g.
            :func:`treenets.utils.progress.progress_bar`) advanced by the inputs read.

    Raises:
        TypeError: an input that is neither a string nor a Tree (named by index).
        ValueError: bracket strings for a dependency model, or a bad option.
    """
    from ..api import parse_sentences
    from ..parsers import BracketParser, ParserPool

    if input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format must be one of {INPUT_FORMATS}, not {input_format!r}")
    if chunk_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {chunk_size}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, not {workers!r}")
    kind = model.tree_kind
    brackets = None
    pool = None
    stream = iter(_as_iterable(inputs))
    start = 0
    try:
        while True:
            chunk = list(itertools.islice(stream, chunk_size))
            if not chunk:
                return
            per_input: List[Optional[List[Tuple[str, Tree]]]] = [None] * len(chunk)
            raw: List[int] = []
            for k, item in enumerate(chunk):
                index = start + k
                if isinstance(item, Tree):
                    per_input[k] = [(" ".join(item.words), model.prepare(item))]
                elif isinstance(item, str):
                    as_brackets = input_format == "brackets" or (input_format == "auto" and is_bracketed(item))
                    if not as_brackets:
                        raw.append(k)
                        continue
                    if kind != "constituency":
                        raise ValueError(f"input {index} is a bracketed constituency tree, but this model reads "
                                         f"{kind} trees; give it raw text or Trees")
                    if brackets is None:
                        brackets = BracketParser(binarize=model.config.get("binarize"))
                    try:
                        sentences = brackets.parse([item])[0]
                    except ValueError as err:
                        raise ValueError(f"input {index}: {err}") from None
                    per_input[k] = [(s.text, s.constituency) for s in sentences]
                else:
                    raise TypeError(f"input {index} is a {type(item).__name__}; expected a string or a "
                                    f"treenets.Tree")
            if raw:
                if parser is None:  # the model's own parser, on the model's GPU if it is on one
                    parser = model.parser(str(model.device) if model.device.type == "cuda" else None)
                if workers > 1 and pool is None:
                    pool = ParserPool(parser, workers)
                parsed = parse_sentences([chunk[k] for k in raw], pool or parser, cache)
                for k, sentences in zip(raw, parsed):
                    per_input[k] = [(s.text if s.text is not None else " ".join(s.words), s.tree(kind))
                                    for s in sentences]
            for k, sentences in enumerate(per_input):
                for j, (text, tree) in enumerate(sentences or []):
                    yield start + k, j, text, tree
            start += len(chunk)
            if progress is not None:
                progress.update(len(chunk))
    finally:
        if pool is not None:
            pool.close()


@dataclass
class SentimentResult:
    """The prediction for one sentence.

    Attributes:
        input: index of the input it came from (one input text may hold
            several sentences).
        sentence: its position among that input's sentences (0-based).
        text: the sentence's text.
        tree: the :class:`~treenets.Tree` the model read (binarized
            constituency tree, or dependency tree).
        label: the predicted class of the whole sentence (the root), by name.
        probs: class name -> probability, for the root (classes the model
            never predicts are left out).
        node_labels: the predicted class of every node, in node order.
        node_probs: class name -> probability for every node, in node order.
        labels: the class names the model predicts, in class order.
        polarity: the three-way answer, ``negative``, ``neutral`` or
            ``positive`` (:mod:`treenets.models.polarity`): a binary model
            answers neutral too.
        polarity_probs: polarity -> probability, for the root.
        node_polarity: the polarity of every node, in node order.
        coverage: the share of the words the model's vocabulary knows
            (:mod:`treenets.models.coverage`; ``None``: no vocabulary to check).
        warnings: what the caller should know (low coverage).
        deciding: the nodes that decide the root's polarity
            (:mod:`treenets.models.explain`); :meth:`deciding_phrases` are their words.
        flips: ``(child, parent)`` node pairs where a child's polarity turns
            into the opposite one at its parent (negation, contrast).
    """

    input: int
    sentence: int
    text: str
    tree: Tree
    label: str
    probs: Dict[str, float]
    node_labels: List[str]
    node_probs: List[Dict[str, float]]
    labels: List[str] = field(default_factory=list)
    polarity: Optional[str] = None
    polarity_probs: Dict[str, float] = field(default_factory=dict)
    node_polarity: List[str] = field(default_factory=list)
    coverage: Optional[float] = None
    warnings: List[str] = field(default_factory=list)
    deciding: List[int] = field(default_factory=list)
    flips: List[Tuple[int, int]] = field(default_factory=list)

    def phrases(self) -> List[str]:
        """The words under every node, in node order."""
        return _phrases(self.tree)

    def to_dict(self) -> Dict:
        """Plain data (JSON-ready): ``input``, ``sentence``, ``text``, ``label``, ``probs``, ``tree``
        (brackets) and ``nodes``, one ``{"id", "parent", "word", "phrase", "label", "probs"}`` per node."""
        phrases = self.phrases()
        nodes = [{"id": i, "parent": self.tree.parents[i], "word": self.tree.tokens[i], "phrase": phrases[i],
                  "label": self.node_labels[i], "probs": {k: round(v, 6) for k, v in self.node_probs[i].items()}}
                 for i in range(len(self.tree))]
        record = {"input": self.input, "sentence": self.sentence, "text": self.text, "label": self.label,
                  "probs": {k: round(v, 6) for k, v in self.probs.items()}, "tree": str(self.tree), "nodes": nodes}
        if self.polarity is not None:  # the three-way answer, the reasons, the coverage
            for node, pol in zip(nodes, self.node_polarity):
                node["polarity"] = pol
            record.update(self.explanation())
        return record

    def deciding_phrases(self) -> List[str]:
        """The words of the deciding nodes, without edge punctuation and conjunctions."""
        from .explain import node_words, trimmed_phrase

        spans = node_words(self.tree)
        return [trimmed_phrase(self.tree, spans[i]) for i in self.deciding]

    def explanation(self) -> Dict:
        """``polarity``, ``polarity_probs``, ``deciding`` (``{"id", "phrase"}``), ``flips``
        (``{"child", "parent", "from", "to", "phrase"}``: the parent's phrase), ``coverage`` and ``warnings``."""
        phrases = self.phrases()
        return {
            "polarity": self.polarity,
            "polarity_probs": {k: round(v, 6) for k, v in self.polarity_probs.items()},
            "deciding": [{"id": i, "phrase": p} for i, p in zip(self.deciding, self.deciding_phrases())],
            "flips": [{"child": c, "parent": p, "from": self.node_polarity[c], "to": self.node_polarity[p],
                       "phrase": phrases[p]} for c, p in self.flips],
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "warnings": list(self.warnings),
        }

    def display_labels(self) -> List[str]:
        """The class drawn on every node: its predicted class, or ``neutral`` where its polarity is
        neutral (a binary model's neutral phrase is not coloured as sentiment)."""
        if not self.node_polarity:
            return list(self.node_labels)
        return ["neutral" if pol == "neutral" else lab for lab, pol in zip(self.node_labels, self.node_polarity)]

    def titles(self) -> List[str]:
        """Hover text of every node: its class, the class's probability and its phrase."""
        phrases = self.phrases()
        titles = [f"{lab} ({self.node_probs[i][lab]:.2f}): {phrases[i]}" for i, lab in enumerate(self.node_labels)]
        if self.node_polarity:
            flipped = {p for _, p in self.flips}
            for i, pol in enumerate(self.node_polarity):
                if pol == "neutral" and self.node_labels[i] != "neutral":
                    titles[i] = f"neutral: {phrases[i]} (model class {self.node_labels[i]} " \
                                f"{self.node_probs[i][self.node_labels[i]]:.2f})"
                if i in self.deciding:
                    titles[i] += " [deciding phrase]"
                if i in flipped:
                    titles[i] += " [polarity flips here]"
        return titles

    def labelled_tree(self, caption: Optional[str] = "default"):
        """This result as a :class:`treenets.formats.svg.LabelledTree`."""
        from ..formats.svg import LabelledTree

        if caption == "default":
            caption = f"{self.headline()}: {self.text}"
        return LabelledTree(self.tree, self.display_labels(), self.titles(), caption,
                            highlight=list(self.deciding), flips=[p for _, p in self.flips])

    def headline(self) -> str:
        """``"positive (0.91)"``; a polarity that differs from the class adds it:
        ``"neutral (0.80; class positive 0.87)"``."""
        own = f"{self.label} ({self.probs[self.label]:.2f})"
        if self.polarity is None or self.polarity == self.label or (
                self.polarity != "neutral" and self.polarity in self.label):
            return own
        return (f"{self.polarity} ({self.polarity_probs[self.polarity]:.2f}; class {self.label} "
                f"{self.probs[self.label]:.2f})")

    def to_svg(self) -> str:
        """The tree as SVG: every node coloured by its predicted class (the SST demo's
        red-to-blue scale; a node whose polarity is neutral in neutral's colour), words under
        the leaves, the class on hover; deciding nodes ringed, flips marked."""
        from ..formats.svg import write_svg

        return write_svg([self.labelled_tree()])

    def _repr_svg_(self) -> str:  # Jupyter
        return self.to_svg()

    def draw(self, unicode: bool = True) -> str:
        """The tree drawn as text, with every node's class symbol (``++``, ``+``, ``0``, ``-``, ``--``)."""
        from ..formats.pretty import draw_tree
        from ..formats.svg import label_symbol

        return draw_tree(self.tree, [label_symbol(x) for x in self.display_labels()], unicode=unicode)

    def __str__(self) -> str:
        return f"{self.headline()}: {self.text}"
