"""Per-node sentiment classification over trees (SST)."""
from __future__ import annotations

import itertools
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch

from ..structures.batch import TreeBatch
from ..utils.collector import young_collection
from ..heads import NodeClassifier
from ..nn.vocab import Vocab
from .base import EmbeddingArg, TaskModel
from .contrast import CONTRAST_KEY, ContrastFiring, apply_contrast_rule, check_contrast_rule
from .coverage import coverage, coverage_warning
from .document import DocumentResult, aggregate
from .explain import deciding_nodes, node_words, polarity_flips, trimmed_phrase
from .polarity import POLARITIES, decide_polarity, polarity_groups, polarity_probs
from .labels import default_labels
from .temperature import check_temperature
from .prediction import SentimentResult, iter_sentences

Tensor = torch.Tensor

__all__ = ["SentimentModel"]


class SentimentModel(TaskModel):
    r"""Tree-LSTM sentiment classifier over every node (Tai et al. 2015, section 5.1).

    Embeddings, a tree cell and a :class:`~treenets.NodeClassifier`::

        h_j = cell(x_j, children of j)
        p(y | subtree at j) = softmax(W_s dropout(h_j) + b_s)

    Args:
        vocab: the vocabulary; ``len(vocab)`` embedding rows.
        embed_size: size of a word vector.
        hidden_size: the cell's state size (150 constituency, 168 dependency in the paper).
        n_classes: 5 (fine-grained), 2 (binary), or 3 with ``masked_classes=(1,)``
            (binary the paper code's way: neutral trained, never predicted).
        cell: ``nary`` (Constituency Tree-LSTM), ``childsum``, ``slstm``, ``sequential``, or
            ``span-mean`` (no tree: the baseline :class:`~treenets.SpanMean`).
        cell_options: keyword options for the cell, e.g. ``{"leaf_input_only": True}``.
        dropout: dropout before the softmax (0.5 in the paper).
        freeze_embeddings: keep the word vectors fixed.
        masked_classes: classes trained on but never predicted.
        labels: the class names, by class id (default: :func:`default_labels`,
            SST's for 5, 2 and 3-with-neutral-masked classes). Masked classes
            keep their names but are never predicted.
        tree, binarize: the trees it reads (see :class:`~treenets.models.TaskModel`);
            by default binarized constituency trees for ``nary`` and
            ``slstm``, dependency trees for ``childsum``.
        embedding: a module in place of the word vectors, e.g. a
            :class:`~treenets.ContextualEmbedding` (see :class:`~treenets.models.TaskModel`).
        temperature: the probabilities :meth:`predict`, :meth:`classify` and
            :meth:`class_probs` give are ``softmax(logits / temperature)``
            (temperature scaling, Guo et al. 2017; fit on dev by
            :func:`treenets.models.temperature.fit_temperature`). A positive
            number in :data:`~treenets.models.temperature.TEMPERATURE_RANGE`;
            1 leaves the softmax as trained. It changes confidences, never the
            predicted class; training ignores it.
        contrast_rule: ``{"weight": C}``: the A-but-B rule on the root
            (Hu et al. 2016; :mod:`treenets.models.contrast`), applied after
            the temperature wherever probabilities are answered
            (:meth:`class_probs`); ``None`` (the default): off. Training and
            :meth:`evaluate` ignore it.

    Shapes:
        - batch: a :class:`~treenets.TreeBatch` with ``N`` nodes
        - output: ``[N, n_classes]`` logits

    Example:
        >>> import treenets as tn
        >>> trees = [tn.Tree.from_brackets("(3 (2 a) (4 film))")]
        >>> model = tn.SentimentModel(tn.Vocab.build(t.words for t in trees), 8, 6)
        >>> batch = model.batch(trees)
        >>> model.loss(batch).shape, model.predict_batch(batch)[1].shape
        (torch.Size([]), torch.Size([3, 5]))
    """

    task = "sentiment"

    def __init__(self, vocab: Vocab, embed_size: int, hidden_size: int = 150, n_classes: int = 5, *,
                 cell: str = "nary", cell_options: Optional[dict] = None, dropout: float = 0.5,
                 freeze_embeddings: bool = False, masked_classes: Sequence[int] = (),
                 labels: Optional[Sequence[str]] = None, tree: Optional[str] = None,
                 binarize: Optional[str] = "right", embedding: EmbeddingArg = None,
                 temperature: float = 1.0, contrast_rule: Optional[dict] = None) -> None:
        temperature = check_temperature(temperature)
        if contrast_rule is not None:
            contrast_rule = check_contrast_rule(contrast_rule)
        super().__init__(vocab, embed_size, hidden_size, cell, cell_options, freeze_embeddings, tree, binarize,
                         embedding)
        labels = list(default_labels(n_classes, masked_classes) if labels is None else labels)
        if len(labels) != n_classes or len(set(labels)) != n_classes or not all(isinstance(x, str) for x in labels):
            raise ValueError(f"labels must be {n_classes} distinct strings (one per class), got {labels!r}")
        self.config.update(n_classes=n_classes, dropout=dropout, masked_classes=list(masked_classes), labels=labels,
                           temperature=temperature)
        if contrast_rule is not None:  # absent unless set: a model without it saves as before
            self.config[CONTRAST_KEY] = contrast_rule
        self.classifier = NodeClassifier(hidden_size, n_classes, dropout=dropout, masked_classes=masked_classes)

    @property
    def labels(self) -> List[str]:
        """The class names, by class id (masked classes included)."""
        return list(self.config["labels"])

    @property
    def predicted_labels(self) -> List[str]:
        """The names of the classes the model can predict (masked ones left out), in class order."""
        masked = set(self.config["masked_classes"])
        return [name for k, name in enumerate(self.config["labels"]) if k not in masked]

    @property
    def n_classes(self) -> int:
        return self.classifier.n_classes

    @property
    def temperature(self) -> float:
        """The softmax temperature of the probabilities it answers with (1: as trained)."""
        return float(self.config.get("temperature", 1.0))

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.config["temperature"] = check_temperature(value)

    @property
    def contrast_weight(self) -> Optional[float]:
        """``C`` of the A-but-B rule (:mod:`treenets.models.contrast`); ``None``: the rule is off."""
        rule = self.config.get(CONTRAST_KEY)
        return None if rule is None else float(rule["weight"])

    @contrast_weight.setter
    def contrast_weight(self, value: Optional[float]) -> None:
        if value is None:
            self.config.pop(CONTRAST_KEY, None)
        else:
            self.config[CONTRAST_KEY] = check_contrast_rule({"weight": value})

    def forward(self, batch: TreeBatch) -> Tensor:
        h, _ = self.encoder(batch)  # [N, hidden]
        return self.classifier(h)  # [N, n_classes]

    def collate(self, trees: Sequence, device=None) -> Tuple[TreeBatch]:
        """``(batch,)``: the inputs of :meth:`loss` for a list of labelled trees."""
        return (self.batch(trees, device),)

    def loss(self, batch: TreeBatch, reduction: str = "tree") -> Tensor:
        """Cross-entropy over every labelled node of ``batch`` (labels of -1 are skipped).

        Args:
            batch: trees with node labels (``batch.labels``, class ids).
            reduction: ``"tree"`` (the paper's objective: summed over a tree's
                labelled nodes, averaged over the trees of the batch),
                ``"mean"`` (averaged over labelled nodes), ``"sum"``, or
                ``"none"`` (``[N]``, one per node, 0 where unlabelled).
        """
        return self.classifier.loss(self(batch), batch.labels, reduction, num_trees=batch.num_trees)

    def predict_batch(self, batch: TreeBatch) -> Tuple[Tensor, Tensor]:
        """The class of every node and the class probabilities, in eval mode.

        A masked class is never predicted and gets probability 0 (the others
        are renormalised). With a :attr:`contrast_weight`, the answer of
        :meth:`class_probs` (the batch must hold its trees, as
        :meth:`batch` makes it).

        Shapes:
            - batch: ``N`` nodes
            - output: ``(classes [N], probs [N, n_classes])``
        """
        if self.contrast_weight:
            return self.predict_from_probs(self.class_probs(batch))
        with self.evaluating():
            logits = self(batch)  # [N, C]
            classes = self.classifier.predict(logits)  # [N]
            if self.classifier.masked_classes:
                logits[:, list(self.classifier.masked_classes)] = float("-inf")
            return classes, (logits / self.temperature).softmax(dim=1)

    def predict(self, texts: Any, *, batch_size: int = 64, lazy: bool = False, parser=None, cache=True,
                input_format: str = "auto", workers: int = 1, progress=None,
                errors: Optional[str] = None) -> Union[List[SentimentResult], Iterator[SentimentResult]]:
        """The sentiment of every sentence and of every phrase in it, from raw text, brackets or trees.

        Raw text is parsed by the model's own parser (:meth:`parser`: the tree
        kind and binarization it was trained on, whatever the caller's
        defaults), through the parse cache. See
        :mod:`treenets.models.prediction` for how a bracket string is
        recognized.

        Args:
            texts: a string (one input; it may hold several sentences), a
                :class:`~treenets.Tree`, or any iterable of them.
            batch_size: sentences per model batch, and inputs per parser call.
            lazy: return an iterator that reads ``texts`` and yields results
                batch by batch (memory stays flat over a corpus) instead of a list.
            parser: another :class:`~treenets.Parser` for raw text (it must
                give the model's tree kind).
            cache: the parse cache: ``True`` (the default file), a folder or
                file, a :class:`~treenets.parsers.ParseCache`, or ``False``.
            input_format: ``"auto"``, ``"text"`` (every string is raw text) or
                ``"brackets"`` (every string is bracketed trees).
            workers: parse raw text in this many processes (each with its own
                copy of the parser); the results do not depend on it.
            progress: a bar (anything with ``update(n)``, e.g.
                :func:`treenets.utils.progress.progress_bar`) advanced by the inputs read.
            errors: ``"yield"`` (the default with ``lazy=True``): an input
                that cannot be read or parsed yields its
                :class:`~treenets.parsers.ParseError` (``.input``, from 1) in
                place of its results, and the others go on; ``"raise"`` (the
                default for a list): it is raised.

        Returns:
            one :class:`~treenets.models.prediction.SentimentResult` per
            sentence, in input order (``.input`` and ``.sentence`` say which
            input and which of its sentences, both from 1), computed in eval mode.

        Example:
            >>> model = treenets.load("sst2")                          # doctest: +SKIP
            >>> [r.label for r in model.predict(["Great fun.", "A dull, tired film."])]  # doctest: +SKIP
            ['positive', 'negative']
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if errors is None:
            errors = "yield" if lazy else "raise"
        results = self._predict_stream(texts, batch_size, parser, cache, input_format, workers, progress, errors)
        return results if lazy else list(results)

    def _predict_stream(self, texts, batch_size, parser, cache, input_format, workers,
                        progress, errors) -> Iterator[SentimentResult]:
        pending: List[Tuple[int, int, str, object]] = []
        for item in iter_sentences(self, texts, parser=parser, cache=cache, chunk_size=batch_size,
                                   input_format=input_format, workers=workers, progress=progress, errors=errors):
            if isinstance(item, Exception):  # an input that failed: after the sentences before it
                if pending:
                    yield from self._predict_sentences(pending)
                    pending = []
                yield item
                continue
            pending.append(item)
            if len(pending) == batch_size:
                yield from self._predict_sentences(pending)
                pending = []
        if pending:
            yield from self._predict_sentences(pending)

    @young_collection()  # a batch's results made without a full collection of the model (utils.collector)
    def _predict_sentences(self, items) -> List[SentimentResult]:
        names = self.labels
        keep = [k for k in range(self.n_classes) if k not in set(self.config["masked_classes"])]
        batch = self.batch([tree for _, _, _, tree in items])
        full, firings = self.answer_probs(batch)  # [N, C], masked classes included; the contrast rule's firings
        classes, probs = self.predict_from_probs(full)
        has_polarity = self.has_polarity
        if has_polarity:
            probs3 = polarity_probs(full, names)  # [N, 3]
            pol = decide_polarity(probs3, *self.polarity_rule()).tolist()  # [N]
            probs3 = probs3.tolist()
        classes, probs = classes.cpu().tolist(), probs[:, keep].cpu().tolist()  # [N], [N, kept classes]
        kept = [names[k] for k in keep]
        out, offset = [], 0
        for sentence_index, (index, sentence, text, tree) in enumerate(items):
            rows = range(offset, offset + len(tree))
            node_labels = [names[classes[i]] for i in rows]
            node_probs = [dict(zip(kept, probs[i])) for i in rows]
            result = SentimentResult(index, sentence, text, tree, node_labels[tree.root], node_probs[tree.root],
                                     node_labels, node_probs, kept)
            if has_polarity:
                node_pol = [POLARITIES[pol[i]] for i in rows]
                result.polarity = node_pol[tree.root]
                result.polarity_probs = dict(zip(POLARITIES, probs3[offset + tree.root]))
                result.node_polarity = node_pol
                result.deciding = deciding_nodes(tree, node_pol)
                result.flips = polarity_flips(tree, node_pol)
                firing = firings[sentence_index]
                if firing is not None:
                    result.contrast = self._contrast_record(tree, firing, result)
                    if result.contrast["changed"]:
                        result.deciding = [firing.b_node]  # the rule changed the answer: B decided it
                result.coverage = coverage(self.vocab, tree.words)
                warning = coverage_warning(result.coverage)
                result.warnings = [warning] if warning else []
            out.append(result)
            offset += len(tree)
        return out

    def _contrast_record(self, tree, firing: ContrastFiring, result: SentimentResult) -> Dict[str, Any]:
        """What the A-but-B rule did to one sentence's root (``SentimentResult.contrast``)."""
        names = self.labels
        _, before = self.predict_from_probs(firing.before[None])
        label_before = names[int(before[0].argmax())]
        polarity_before = POLARITIES[int(decide_polarity(polarity_probs(firing.before[None], names),
                                                         *self.polarity_rule())[0])]
        changed = label_before != result.label or polarity_before != result.polarity
        return {"word": firing.word, "word_node": firing.word_node, "b_node": firing.b_node,
                "phrase": trimmed_phrase(tree, node_words(tree)[firing.b_node]), "weight": firing.weight,
                "changed": changed, "label_before": label_before, "polarity_before": polarity_before}

    @property
    def has_polarity(self) -> bool:
        """Whether the class names say negative/neutral/positive (SST's do), so results carry a polarity."""
        try:
            polarity_groups(self.labels)
        except ValueError:
            return False
        return True

    def polarity_rule(self) -> Tuple[Optional[float], Optional[float]]:
        """``(neutral_threshold, abstain_threshold)`` of :func:`~treenets.models.polarity.decide_polarity`,
        as chosen on dev and saved in the model's metadata (``None``: not set)."""
        return self.metadata.get("neutral_threshold"), self.metadata.get("abstain_threshold")

    def class_probs(self, batch: TreeBatch, temperature: Optional[float] = None,
                    contrast_weight: Optional[float] = None) -> Tensor:
        """``[N, C]`` softmax over every class, masked ones included (a masked neutral class still
        says how neutral a phrase is), at the model's :attr:`temperature` (or ``temperature``), in eval
        mode; then the A-but-B rule on the roots where it fires, with the model's :attr:`contrast_weight`
        (or ``contrast_weight``; 0: off). The one place a model's answer is made: :meth:`answer_probs`."""
        return self.answer_probs(batch, temperature, contrast_weight)[0]

    def answer_probs(self, batch, temperature: Optional[float] = None, contrast_weight: Optional[float] = None
                     ) -> Tuple[Tensor, List[Optional[ContrastFiring]]]:
        """``(probs [N, C], firings)``: :meth:`class_probs`, and per tree of the batch where the
        A-but-B rule fired (a :class:`~treenets.models.contrast.ContrastFiring`) or ``None``."""
        probs = self._softmax(batch, temperature)
        weight = self.contrast_weight if contrast_weight is None else contrast_weight
        if not weight:
            return probs, [None] * self._num_trees(batch)
        trees = batch if isinstance(batch, list) else getattr(batch, "trees", None)
        if trees is None:
            raise ValueError("the contrast rule needs the trees' words: build the batch with model.batch(trees), "
                             "or pass contrast_weight=0")
        return apply_contrast_rule(probs, trees, self.labels, weight)

    @staticmethod
    def _num_trees(batch) -> int:
        return len(batch) if isinstance(batch, list) else batch.num_trees

    def _softmax(self, batch: TreeBatch, temperature: Optional[float] = None) -> Tensor:
        """``[N, C]`` the softmax at the temperature, every class, no rule."""
        with self.evaluating():
            return (self(batch) / (self.temperature if temperature is None else temperature)).softmax(dim=1)

    def predict_from_probs(self, probs: Tensor) -> Tuple[Tensor, Tensor]:
        """``(classes [N], probs [N, C])`` as :meth:`predict_batch` gives them, from :meth:`class_probs`."""
        masked = list(self.classifier.masked_classes)
        if masked:
            probs = probs.clone()
            probs[:, masked] = 0.0
            probs = probs / probs.sum(dim=1, keepdim=True)
        return probs.argmax(dim=1), probs

    def classify(self, texts: Any, **options) -> List[DocumentResult]:
        """One verdict per input text (a review of several sentences gets one label).

        Takes the arguments of :meth:`predict`; each input's sentences are
        predicted, then aggregated (:func:`treenets.models.document.aggregate`:
        the word-weighted mean of the sentences' polarity probabilities).

        Returns:
            one :class:`~treenets.models.document.DocumentResult` per input
            that holds a sentence, in input order; ``.sentences`` holds the
            sentence results.

        Example:
            >>> doc = treenets.load("sst2").classify("Slow start. A wonderful ending.")[0]  # doctest: +SKIP
            >>> doc.label, len(doc.sentences)                                              # doctest: +SKIP
            ('positive', 2)
        """
        if not self.has_polarity:
            raise ValueError(f"classify needs classes named negative/neutral/positive; this model's are "
                             f"{self.labels}")
        options["lazy"] = True
        return [aggregate(list(group), *self.polarity_rule())
                for _, group in itertools.groupby(self.predict(texts, **options), key=lambda r: r.input)]

    def evaluate(self, trees: Sequence, batch_size: int = 256, device=None) -> Dict[str, float]:
        """Root and all-node accuracy (percent) over labelled trees, in eval mode.

        Args:
            trees: labelled :class:`~treenets.Tree` objects.
            batch_size: trees per batch.
            device: where to run (``None``: where the model is); the model goes
                back afterwards, and so does its training mode.

        Returns:
            ``root_acc``, ``node_acc`` (percent; nodes with masked classes
            excluded), and the counts ``roots`` and ``nodes`` they are over.
            A model with a :attr:`contrast_weight` is scored on the answers
            it gives (:meth:`class_probs`, the rule included); without one,
            on its logits (as in training).

        Raises:
            ValueError: no tree, or no labelled root or node to score (an
                accuracy over nothing is undefined, not 0%).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if self.contrast_weight:
            return self._evaluate_answers(trees, batch_size, device)
        totals = {"root_correct": 0, "root_total": 0, "node_correct": 0, "node_total": 0}
        with self.evaluating(device) as dev:
            for start in range(0, len(trees), batch_size):
                batch = self.batch(trees[start:start + batch_size], dev)
                counts = self.classifier.accuracy(self(batch), batch)
                for key in totals:
                    totals[key] += counts[key]
        if totals["root_total"] == 0 or totals["node_total"] == 0:
            # an accuracy over nothing is 0/0, not 0%
            raise ValueError(f"nothing to score: {totals['root_total']} labelled roots and {totals['node_total']} "
                             f"labelled nodes among {len(trees)} trees (labels -1 and masked classes do not count)")
        return {
            "root_acc": 100.0 * totals["root_correct"] / totals["root_total"],
            "node_acc": 100.0 * totals["node_correct"] / totals["node_total"],
            "roots": totals["root_total"], "nodes": totals["node_total"],
        }

    def _evaluate_answers(self, trees: Sequence, batch_size: int = 256, device=None) -> Dict[str, float]:
        """:meth:`evaluate` on the classes :meth:`class_probs` answers with (the contrast rule included)."""
        masked = set(self.config.get("masked_classes") or [])
        hits = {"root": [0, 0], "node": [0, 0]}
        with self.evaluating(device) as dev:
            for start in range(0, len(trees), batch_size):
                chunk = [self.prepare(t) for t in trees[start:start + batch_size]]
                classes, _ = self.predict_from_probs(self.class_probs(self.batch(chunk, dev)))
                offset = 0
                for t in chunk:
                    for node, gold in enumerate(t.labels):
                        gold = -1 if gold is None else int(gold)
                        if gold < 0 or gold in masked:
                            continue
                        ok = int(classes[offset + node]) == gold
                        hits["node"][0] += ok
                        hits["node"][1] += 1
                        if node == t.root:
                            hits["root"][0] += ok
                            hits["root"][1] += 1
                    offset += len(t)
        if not hits["root"][1] or not hits["node"][1]:
            raise ValueError(f"nothing to score: {hits['root'][1]} labelled roots and {hits['node'][1]} labelled "
                             f"nodes among {len(trees)} trees (labels -1 and masked classes do not count)")
        return {"root_acc": 100.0 * hits["root"][0] / hits["root"][1],
                "node_acc": 100.0 * hits["node"][0] / hits["node"][1],
                "roots": hits["root"][1], "nodes": hits["node"][1]}
