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


class _Ready:
    """An input's sentences made without the parser (a Tree, bracket strings): ``(text, tree)`` pairs."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: List[Tuple[str, Tree]]) -> None:
        self.pairs = pairs


class _NoParser:
    """The parser of a model that reads no parser tree kind (a sequential LSTM): never called."""

    kinds: Tuple[str, ...] = ()

    def cache_key(self) -> str:
        return "no-parser"

    def parse(self, texts):  # pragma: no cover - prepare() refuses raw text first
        raise ValueError("this model reads no parser tree kind")


def iter_sentences(model, inputs: Any, *, parser=None, cache=True, chunk_size: int = 64,
                   input_format: str = "auto", workers: int = 1, progress=None,
                   errors: str = "raise") -> Iterator[Any]:
    """``(input number, sentence number, sentence text, tree)`` for every sentence of ``inputs``, both numbers from 1.

    The inputs go through the one parsing loop
    (:func:`treenets.parsers.parse_sentences`): read ``chunk_size`` at a time,
    raw text parsed through the cache (by up to ``2 * workers`` chunks in
    flight), Trees and bracket strings passed through, so an iterable of any
    length streams with flat memory.

    Args:
        model: the :class:`~treenets.models.TaskModel` whose trees to make.
        inputs: a string, a :class:`~treenets.Tree`, or an iterable of them.
        parser: a :class:`~treenets.Parser` for raw text (default:
            ``model.parser()``); its trees must be of the model's kind.
        cache: the parse cache (see :func:`treenets.parsers.parse_sentences`).
        chunk_size: inputs per parser call.
        input_format: ``"auto"`` (see the module docs), ``"text"`` or ``"brackets"``.
        workers: parse raw text in this many processes (a
            :class:`~treenets.parsers.ParserPool`, started on the first raw
            text and stopped when the iterator ends or is closed). The output
            does not depend on it.
        progress: a bar (anything with ``update(n)``, e.g.
            :func:`treenets.utils.progress.progress_bar`) advanced by the inputs read.
        errors: ``"raise"``, or ``"yield"``: an input that cannot be read or
            parsed yields its :class:`~treenets.parsers.ParseError` (``.input``
            from 1) in place of its sentences, and the others go on.

    Raises:
        TypeError: an input that is neither a string nor a Tree (named by its number from 1).
        ValueError: bracket strings for a dependency model, or a bad option.
    """
    from ..parsers import BracketParser
    from ..parsers.run import check_positive, parse_sentences

    if input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format must be one of {INPUT_FORMATS}, not {input_format!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {chunk_size}")
    check_positive("workers", workers)
    kind = model.tree_kind
    brackets: List[Any] = []

    def prepare(item: Any) -> Any:
        if isinstance(item, Tree):
            return _Ready([(" ".join(item.words), model.prepare(item))])
        if not isinstance(item, str):
            raise TypeError(f"expected a string or a treenets.Tree, got a {type(item).__name__}")
        if not (input_format == "brackets" or (input_format == "auto" and is_bracketed(item))):
            if kind is None:
                raise ValueError(f"this {type(model).__name__} (cell {model.config['cell']!r}) reads no parser "
                                 f"tree kind; give it Trees")
            return item  # raw text, for the parser
        if kind != "constituency":
            raise ValueError(f"a bracketed constituency tree, but this model reads {kind} trees; give it raw text "
                             f"or Trees")
        if not brackets:
            brackets.append(BracketParser(binarize=model.config.get("binarize")))
        return _Ready([(s.text, s.constituency) for s in brackets[0].parse([item])[0]])

    if kind is None:
        parser, cache = _NoParser(), False
    elif parser is None:  # the model's own parser, on the model's GPU if it is on one
        parser = model.parser(str(model.device) if model.device.type == "cuda" else None)
    outcomes = parse_sentences(_as_iterable(inputs), parser, cache, lazy=True, batch_size=chunk_size,
                               workers=workers, progress=progress, errors=errors, prepare=prepare)
    for n, outcome in enumerate(outcomes, 1):
        if isinstance(outcome, Exception):
            yield outcome
            continue
        pairs = outcome.pairs if isinstance(outcome, _Ready) else [
            (s.text if s.text is not None else " ".join(s.words), s.tree(kind)) for s in outcome]
        for j, (text, tree) in enumerate(pairs, 1):
            yield n, j, text, tree


@dataclass
class SentimentResult:
    """The prediction for one sentence.

    Attributes:
        input: the number of the input it came from, counted from 1 (for
            ``--input FILE``, the line number; one input may hold several sentences).
        sentence: its number among that input's sentences, counted from 1.
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
        contrast: where the model's A-but-B rule fired on the root
            (:mod:`treenets.models.contrast`), else ``None``: ``word``,
            ``word_node``, ``b_node`` and ``phrase`` (B, trimmed as a deciding
            phrase), ``weight`` (C), ``changed`` (whether the rule changed the
            root's label or polarity; then B is the deciding phrase), and
            ``label_before`` / ``polarity_before`` (the answer without the rule).
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
    contrast: Optional[Dict[str, Any]] = None

    def phrases(self) -> List[str]:
        """The words under every node, in node order."""
        return _phrases(self.tree)

    def to_dict(self) -> Dict:
        """Plain data (JSON-ready), the record of ``treenets predict --format json``:
        :func:`treenets.formats.jsonl.prediction_record`."""
        from ..formats.jsonl import prediction_record

        return prediction_record(self)

    def deciding_phrases(self) -> List[str]:
        """The words of the deciding nodes, without edge punctuation and conjunctions."""
        from .explain import node_words, trimmed_phrase

        spans = node_words(self.tree)
        return [trimmed_phrase(self.tree, spans[i]) for i in self.deciding]

    def explanation(self) -> Dict:
        """``polarity``, ``polarity_probs``, ``deciding`` (``{"id", "phrase"}``), ``flips``
        (``{"child", "parent", "from", "to", "phrase"}``: the parent's phrase), ``coverage``,
        ``warnings``, and ``contrast`` where the A-but-B rule fired (see :attr:`contrast`; absent otherwise)."""
        phrases = self.phrases()
        out = {
            "polarity": self.polarity,
            "polarity_probs": {k: round(v, 6) for k, v in self.polarity_probs.items()},
            "deciding": [{"id": i, "phrase": p} for i, p in zip(self.deciding, self.deciding_phrases())],
            "flips": [{"child": c, "parent": p, "from": self.node_polarity[c], "to": self.node_polarity[p],
                       "phrase": phrases[p]} for c, p in self.flips],
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "warnings": list(self.warnings),
        }
        if self.contrast is not None:  # only where the rule fired: a record without it reads as before
            out["contrast"] = dict(self.contrast)
        return out

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
            if self.contrast is not None:
                changed = ", which changed the answer" if self.contrast["changed"] else ""
                titles[self.contrast["b_node"]] += f" [B of the {self.contrast['word']!r} rule{changed}]"
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
