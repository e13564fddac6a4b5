"""Raw text to dependency and constituency trees with a real stanza pipeline.

:class:`StanzaParser` wraps one ``stanza.Pipeline`` and turns every parsed
sentence into a :class:`~treenets.parsers.ParsedSentence` holding a dependency
tree (one node per syntactic word, heads from stanza's ``depparse``) and/or a
constituency tree (stanza's ``constituency`` output, optionally binarized for
N-ary cells), with the words' UPOS, XPOS, lemmas and features.

:func:`sentences_from_document` (also :meth:`StanzaParser.from_document`)
converts an existing ``stanza.Document``, for example one read with stanza's
CoNLL reader, and needs no model.

Models are looked up locally and never downloaded unless the caller asks for it
(``download_method=...``). Missing models are reported by
:class:`MissingStanzaModelError`, raised from stanza's own exceptions, which
says where stanza looked and how to get them.

stanza is imported lazily, so ``import treenets.parsers`` works without it.

Multi-word tokens (``"don't"`` is one token, two words ``do`` ``n't``) are
expanded: trees are built over *words*, the units that carry heads in UD and
leaves in stanza's constituency trees. :attr:`ParsedSentence.word_to_token`
maps every word back to its surface token.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from typing import Any, List, Mapping, Optional, Sequence, Union

from ..structures.tree import Tree, check_binarize
from .base import ParsedSentence
from .limits import DEFAULT_LIMITS, LimitError, TextLimits

__all__ = ["StanzaParser", "MissingStanzaModelError", "resolve_stanza_dir", "sentences_from_document",
           "stanza_tree_to_tree"]

_HOW_TO_GET = (
    "Get the models with `import stanza; stanza.download('{lang}')` (needs internet), "
    "or point to an existing stanza resources directory with StanzaParser(dir=...) "
    "or the STANZA_RESOURCES_DIR environment variable."
)


#: torch's CPU seed while a pipeline loads (see StanzaParser._load); part of the cache key
_LOAD_SEED = 0


class MissingStanzaModelError(RuntimeError):
    """The stanza resources or model files needed for a pipeline are not there."""


def resolve_stanza_dir(dir: Optional[Union[str, os.PathLike]] = None) -> str:
    """Where stanza models are looked up.

    Args:
        dir: an explicit resources directory, or ``None``.

    Returns:
        ``dir`` if given, else ``$STANZA_RESOURCES_DIR`` (read now, not at
        import time), else stanza's default (``~/stanza_resources``).
    """
    if dir is not None:
        return os.fspath(dir)
    env = os.environ.get("STANZA_RESOURCES_DIR")
    if env:
        return env
    try:
        from stanza.resources.common import DEFAULT_MODEL_DIR
        return DEFAULT_MODEL_DIR
    except Exception:  # pragma: no cover - stanza missing or changed
        return os.path.join(os.path.expanduser("~"), "stanza_resources")


def stanza_tree_to_tree(tree: Any, strip_root: bool = True) -> Tree:
    """Convert a stanza constituency tree to a :class:`Tree` (through :meth:`Tree.from_constituents`).

    Args:
        tree: a ``stanza.models.constituency.parse_tree.Tree`` (anything with
            ``.label`` and ``.children``).
        strip_root: drop stanza's unary ``ROOT`` wrapper so the root is the
            sentence node (``S``, ``FRAG``, ...).

    Raises:
        ValueError: if the tree is empty (a ``ROOT`` with no children).
    """
    if strip_root and tree.label == "ROOT" and len(tree.children) == 1 and tree.children[0].children:
        tree = tree.children[0]
    if not tree.children:
        raise ValueError(f"empty constituency tree {tree!s}: it has no words")
    return Tree.from_constituents(tree, lambda t: t.label, lambda t: list(t.children) or None, lambda t: t.label)


def _where(sent_index: int, sentence: Any, source: Optional[str]) -> str:
    text = getattr(sentence, "text", None)
    if not text:
        text = " ".join(w.text for w in sentence.words)
    if len(text) > 60:
        text = text[:57] + "..."
    line = None
    if sentence.words:
        line = getattr(sentence.words[0], "line_number", None)
    if source is not None and line is not None:
        return f"{source}:{line + 1}: sentence {sent_index + 1} ({text!r})"
    if source is not None:
        return f"{source}: sentence {sent_index + 1} ({text!r})"
    return f"sentence {sent_index + 1} ({text!r})"


def _convert_sentence(sentence: Any, sent_index: int, dependency: Optional[bool], constituency: Optional[bool],
                      binarize: Optional[str], collapse_unary: bool, strip_root: bool,
                      source: Optional[str]) -> ParsedSentence:
    words_obj = list(sentence.words)
    words = [w.text for w in words_obj]
    result = ParsedSentence(
        words=words,
        text=getattr(sentence, "text", None),
        upos=[w.upos for w in words_obj],
        xpos=[w.xpos for w in words_obj],
        lemmas=[w.lemma for w in words_obj],
        feats=[w.feats for w in words_obj],
        tokens=[t.text for t in sentence.tokens],
        index=sent_index,
    )
    word_pos = {id(w): i for i, w in enumerate(words_obj)}
    word_to_token = [-1] * len(words_obj)
    for t_index, token in enumerate(sentence.tokens):
        for w in token.words:
            if id(w) in word_pos:
                word_to_token[word_pos[id(w)]] = t_index
    result.word_to_token = word_to_token

    if not words:
        if dependency or constituency:
            raise ValueError(f"{_where(sent_index, sentence, source)} has no words, so it has no tree")
        return result

    if dependency is not False:
        heads = [w.head for w in words_obj]
        if all(h is None for h in heads):
            if dependency:
                raise ValueError(
                    f"{_where(sent_index, sentence, source)} has no dependency parse (no HEAD on any word); "
                    f"run stanza's depparse, or read a CoNLL-U file with a HEAD column")
        else:
            for i, w in enumerate(words_obj):
                if w.id != i + 1:
                    raise ValueError(f"{_where(sent_index, sentence, source)}: word {i + 1} ({w.text!r}) has id "
                                     f"{w.id}; word ids must run 1, 2, ... without gaps")
                if w.head is None:
                    raise ValueError(f"{_where(sent_index, sentence, source)}: word {i + 1} ({w.text!r}) has no "
                                     f"head while other words do")
            try:
                result.dependency = Tree.from_parents(words, heads, rels=[w.deprel for w in words_obj])
            except ValueError as err:
                raise ValueError(f"{_where(sent_index, sentence, source)}: invalid dependency heads: {err}") from None

    if constituency is not False:
        stanza_tree = getattr(sentence, "constituency", None)
        if stanza_tree is None:
            if constituency:
                raise ValueError(f"{_where(sent_index, sentence, source)} has no constituency tree; "
                                 f"run stanza's constituency processor")
        else:
            tree = stanza_tree_to_tree(stanza_tree, strip_root=strip_root)
            leaves = tree.words
            if leaves != words:
                k = next((i for i, (a, b) in enumerate(zip(leaves, words)) if a != b), min(len(leaves), len(words)))
                got = leaves[k] if k < len(leaves) else "<end>"
                want = words[k] if k < len(words) else "<end>"
                raise ValueError(
                    f"{_where(sent_index, sentence, source)}: the constituency tree's leaves do not match the "
                    f"words: {len(leaves)} leaves for {len(words)} words, first difference at word {k + 1}: "
                    f"leaf {got!r} vs word {want!r}")
            if binarize is not None:
                tree = tree.binarize(factor=binarize, collapse_unary=collapse_unary)
            result.constituency = tree
    return result


def sentences_from_document(
    doc: Any,
    dependency: Optional[bool] = None,
    constituency: Optional[bool] = None,
    binarize: Optional[str] = None,
    collapse_unary: bool = True,
    strip_root: bool = True,
    source: Optional[str] = None,
) -> List[ParsedSentence]:
    """Convert an existing ``stanza.Document`` into :class:`ParsedSentence` objects.

    Needs no model: use it on documents from ``stanza.utils.conll.CoNLL.conll2doc``
    or on output of your own pipeline.

    Args:
        doc: a ``stanza.Document``.
        dependency: ``True`` requires a dependency parse (error if missing),
            ``False`` skips it, ``None`` builds it when the words have heads.
        constituency: the same for the constituency tree.
        binarize: ``None`` keeps constituency trees as they are; ``"left"`` or
            ``"right"`` binarizes them with :meth:`Tree.binarize` (for N-ary
            cells with N=2).
        collapse_unary: with ``binarize``, also merge unary chains.
        strip_root: drop stanza's unary ``ROOT`` node from constituency trees.
        source: a name (file path) to put in error messages.

    Returns:
        One :class:`ParsedSentence` per sentence, in order; ``[]`` for a
        document without sentences.

    Raises:
        ValueError: a required parse is missing, heads do not form a tree, the
            constituency leaves do not match the words, or ``binarize`` is not
            ``None``, ``"left"`` or ``"right"``. Messages name the sentence
            (and the file and line for CoNLL-U read with line numbers).
        TypeError: if ``doc`` is not a stanza Document.
    """
    check_binarize(binarize)
    if not hasattr(doc, "sentences"):
        raise TypeError(f"expected a stanza.Document, not {type(doc).__name__}")
    return [
        _convert_sentence(sentence, i, dependency, constituency, binarize, collapse_unary, strip_root, source)
        for i, sentence in enumerate(doc.sentences)
    ]


class _DocumentMethod:
    """``from_document`` works on the class (no model) and on an instance.

    On an instance, ``binarize``, ``collapse_unary`` and ``strip_root``
    default to that parser's settings.
    """

    def __get__(self, obj, objtype=None):
        if obj is None:
            return sentences_from_document

        @functools.wraps(sentences_from_document)
        def bound(doc, **kwargs):
            opts = {"binarize": obj.binarize, "collapse_unary": obj.collapse_unary, "strip_root": obj.strip_root}
            opts.update(kwargs)
            return sentences_from_document(doc, **opts)
        return bound


class StanzaParser:
    """Dependency and constituency trees for raw text from a real stanza pipeline.

    Implements the :class:`~treenets.parsers.Parser` protocol.

    Args:
        lang: stanza language code.
        dir: stanza resources directory (default: ``$STANZA_RESOURCES_DIR``,
            then stanza's own default, ``~/stanza_resources``).
        dependency: produce dependency trees (runs ``pos``, ``lemma``,
            ``depparse``).
        constituency: produce constituency trees (runs ``pos``,
            ``constituency``).
        binarize: ``None``, ``"left"`` or ``"right"``: binarize constituency
            trees with :meth:`Tree.binarize` (N-ary cells with N=2).
        collapse_unary: with ``binarize``, merge unary chains too.
        strip_root: drop stanza's unary ``ROOT`` node from constituency trees.
        use_gpu: run on the GPU if one is available (ignored when ``device``
            is given).
        device: a torch device string such as ``"cpu"`` or ``"cuda:0"``.
        tokenize_pretokenized: the text is already tokenized: words are
            separated by whitespace and sentences by newlines.
        package: stanza's ``package`` argument (``"default"``).
        batch_sizes: per-processor batch sizes, e.g.
            ``{"pos": 3000, "depparse": 5000, "constituency": 50}``; passed as
            stanza's ``<processor>_batch_size`` (units are stanza's own).
        download_method: ``None`` (default) never downloads; pass e.g.
            ``"reuse_resources"`` to let stanza download missing models.
        logging_level: stanza's logging level while loading (``"WARN"``).
        mwt: how multi-word tokens are split into words: ``"dictionary"``
            (default) expands only the tokens stanza's MWT model saw in its
            treebank, exactly as annotated there (``don't`` -> ``do n't``,
            ``I'm`` -> ``I 'm``) and leaves any other token one word;
            ``"model"`` also runs the MWT network on unseen tokens. The
            dictionary is the default because the network can invent splits:
            the offline English models in this project's machines load it with
            untrained output weights (stanza warns of nothing) and it split
            ``movie's`` into ``movi e ' s``.
        limits: a :class:`~treenets.parsers.TextLimits` (default
            :data:`~treenets.parsers.DEFAULT_LIMITS`): characters per text and
            per token are checked before stanza sees a text, words per sentence
            after its tokenizer and before the taggers and parsers; a sentence
            over ``max_words`` is refused, or split with
            ``long_sentences="split"``.
        lazy: load the pipeline on the first :meth:`parse` instead of now
            (a parse cache hit then never loads stanza); errors about missing
            models then come from that first call (or from :meth:`load`).
            A parser pickles without its pipeline (loaded or not), so
            ``workers=N`` sends each worker process a copy that loads its own.
        **pipeline_kwargs: any other ``stanza.Pipeline`` keyword argument.

    Raises:
        ValueError: no tree kind requested, or a bad ``binarize`` /
            ``batch_sizes``.
        MissingStanzaModelError: models missing (stanza's own
            ``FileNotFoundError`` errors and unknown-language errors, with the
            directory and how to get the models).
        RuntimeError: the pipeline failed to load for another reason, or a
            CUDA device was asked for but is not available.
        ImportError: stanza is not installed.
    """

    from_document = _DocumentMethod()

    def __init__(
        self,
        lang: str = "en",
        dir: Optional[Union[str, os.PathLike]] = None,
        dependency: bool = True,
        constituency: bool = True,
        binarize: Optional[str] = None,
        collapse_unary: bool = True,
        strip_root: bool = True,
        use_gpu: bool = False,
        device: Optional[str] = None,
        tokenize_pretokenized: bool = False,
        package: Optional[str] = "default",
        batch_sizes: Optional[Mapping[str, int]] = None,
        download_method: Any = None,
        logging_level: Optional[str] = "WARN",
        lazy: bool = False,
        mwt: str = "dictionary",
        limits: Optional[TextLimits] = None,
        **pipeline_kwargs: Any,
    ) -> None:
        if not dependency and not constituency:
            raise ValueError("nothing to parse: set dependency=True and/or constituency=True")
        check_binarize(binarize)
        if "processors" in pipeline_kwargs:
            raise ValueError("pass dependency=/constituency= instead of processors=; "
                             "StanzaParser chooses the processors from the trees requested")
        if mwt not in ("dictionary", "model"):
            raise ValueError(f"mwt must be 'dictionary' or 'model', not {mwt!r}")
        try:
            import stanza  # noqa: F401
        except ImportError as err:
            raise ImportError("StanzaParser needs stanza: pip install 'treenets[stanza]' (or pip install stanza)") from err

        self.lang = lang
        self.dir = resolve_stanza_dir(dir)
        self.dependency = bool(dependency)
        self.constituency = bool(constituency)
        self.kinds = tuple(k for k, on in (("dependency", dependency), ("constituency", constituency)) if on)
        self.binarize = binarize
        self.collapse_unary = collapse_unary
        self.strip_root = strip_root
        self.tokenize_pretokenized = bool(tokenize_pretokenized)
        self.package = package
        if limits is not None and not isinstance(limits, TextLimits):
            raise TypeError(f"limits must be a TextLimits, not {type(limits).__name__}")
        self.limits = limits if limits is not None else DEFAULT_LIMITS

        # stanza adds "mwt" itself for languages that have multi-word tokens
        processors = ["tokenize", "pos"]
        if dependency:
            processors += ["lemma", "depparse"]
        if constituency:
            processors.append("constituency")
        self.processors = processors

        self.mwt = mwt
        kwargs = dict(pipeline_kwargs)
        if mwt == "dictionary":
            kwargs.setdefault("mwt_dict_only", True)
        if tokenize_pretokenized:
            kwargs["tokenize_pretokenized"] = True
        for name, size in (batch_sizes or {}).items():
            if name not in processors:
                raise ValueError(f"batch_sizes has {name!r}, which is not one of the processors {processors}")
            if not isinstance(size, int) or size < 1:
                raise ValueError(f"batch_sizes[{name!r}] must be a positive integer, not {size!r}")
            kwargs[f"{name}_batch_size"] = size

        if device is not None and str(device).startswith("cuda"):
            import torch
            if not torch.cuda.is_available():
                raise RuntimeError(f"device {device!r} requested but CUDA is not available on this machine")
        self._pipeline_args = dict(lang=lang, dir=self.dir, package=package, processors=",".join(processors),
                                   use_gpu=use_gpu, device=device, download_method=download_method,
                                   logging_level=logging_level, **kwargs)
        self.device = str(device or "cpu")
        self._pipeline = None
        self._key: Optional[str] = None
        if not lazy:
            self._load()

    @property
    def pipeline(self):
        """The ``stanza.Pipeline``, loaded on first use."""
        if self._pipeline is None:
            self._load()
        return self._pipeline

    def load(self) -> "StanzaParser":
        """Load the pipeline now, if it is not loaded yet (a lazy parser loads on its first parse)."""
        if self._pipeline is None:
            self._load()
        return self

    def __getstate__(self) -> dict:
        """Everything but the loaded pipeline: a copy (in a worker process, say) loads its own on first use."""
        state = dict(self.__dict__)
        state["_pipeline"] = None
        return state

    def _load(self) -> None:
        import stanza
        from stanza.resources.common import UnknownLanguageError

        how = _HOW_TO_GET.format(lang=self.lang)
        try:
            # stanza loads some models with strict=False, so a weight missing from a model file keeps its random
            # initial value (the offline English MWT model here loads a classifier whose output layer is not in
            # its file). Seeding torch's CPU generator while loading makes such weights, and so the parses, the
            # same in every process: a worker gives exactly what this process gives. The caller's RNG is restored.
            import torch

            with torch.random.fork_rng(devices=[]):
                torch.random.default_generator.manual_seed(_LOAD_SEED)
                self._pipeline = stanza.Pipeline(**self._pipeline_args)
        except FileNotFoundError as err:  # stanza's ResourcesFileNotFoundError, LanguageNotDownloadedError, ...
            raise MissingStanzaModelError(
                f"stanza models for {self.lang!r} ({','.join(self.processors)}) are missing in {self.dir}: "
                f"{err} {how}") from err
        except UnknownLanguageError as err:
            raise MissingStanzaModelError(
                f"language {self.lang!r} is not in {os.path.join(self.dir, 'resources.json')}: {err}. {how}") from err
        except Exception as err:
            raise RuntimeError(
                f"could not build the stanza pipeline ({','.join(self.processors)}) for {self.lang!r} from "
                f"{self.dir}: {type(err).__name__}: {err}") from err
        self.device = str(getattr(self._pipeline, "device", self.device))

    def cache_key(self) -> str:
        """Everything that decides this parser's output: options, stanza's version and its models' index.

        The models are identified by the SHA-256 of ``resources.json`` (which
        lists every model file's checksum), so updated models are new keys.
        Computed once per parser; it never loads the pipeline.
        """
        if self._key is None:
            import stanza

            try:
                with open(os.path.join(self.dir, "resources.json"), "rb") as f:
                    resources = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                resources = None
            args = {k: v for k, v in self._pipeline_args.items()
                    if k not in ("dir", "use_gpu", "device", "download_method", "logging_level")
                    and not k.endswith("_batch_size")}
            self._key = json.dumps({
                "parser": "stanza", "stanza": stanza.__version__, "resources": resources, "pipeline": args,
                "binarize": self.binarize, "collapse_unary": self.collapse_unary, "strip_root": self.strip_root,
                "load_seed": _LOAD_SEED, **({"limits": part} if (part := self.limits.cache_part()) else {}),
            }, sort_keys=True, default=str)
        return self._key

    def __repr__(self) -> str:
        return (f"StanzaParser(lang={self.lang!r}, dir={self.dir!r}, processors={','.join(self.processors)!r}, "
                f"binarize={self.binarize!r}, device={self.device!r})")

    def parse(self, text: Union[str, Sequence[str]]) -> Union[List[ParsedSentence], List[List[ParsedSentence]]]:
        """Parse one text or many.

        Many texts go through stanza in one bulk call (one ``Document`` each),
        which batches sentences across texts.

        Args:
            text: a string, or a list/tuple of strings. With
                ``tokenize_pretokenized=True`` words are split at whitespace
                and sentences at newlines.

        Returns:
            For a string: its sentences, a list of :class:`ParsedSentence`
            (``[]`` for empty or whitespace-only text). For a list: one such
            list per text, in order.

        Raises:
            TypeError: if the input (or an item of it) is not a string.
            ValueError: if stanza's constituency leaves do not match its words.
        """
        if isinstance(text, str):
            return self.parse_documents([text])[0]
        if not isinstance(text, (list, tuple)):
            raise TypeError(f"parse expects a string or a list of strings, not {type(text).__name__}")
        return self.parse_documents(text)

    def parse_documents(self, texts: Sequence[str]) -> List[List[ParsedSentence]]:
        """Parse many texts in one bulk call; one list of :class:`ParsedSentence` per text.

        Raises:
            TypeError: if an item is not a string.
            LimitError: a text over :attr:`limits` (its ``index`` is the
                text's position in ``texts``).
        """
        from stanza import Document

        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text {i} is a {type(t).__name__}, not a string")
            try:
                self.limits.check_text(t)
            except LimitError as err:
                err.index = i
                raise
        if not texts:
            return []
        # stanza's tokenizer copes with empty text, but skip the work entirely.
        keep = [i for i, t in enumerate(texts) if t.strip()]
        processed = {}
        if keep:
            docs = self._process([Document([], text=texts[i]) for i in keep], keep)
            # stanza may return new Document objects (e.g. when pretokenized)
            if not isinstance(docs, list) or len(docs) != len(keep):
                raise RuntimeError(f"stanza returned {len(docs) if isinstance(docs, list) else type(docs).__name__} "
                                   f"documents for {len(keep)} texts")
            processed = dict(zip(keep, docs))
        out: List[List[ParsedSentence]] = []
        for i in range(len(texts)):
            if i not in processed:
                out.append([])
                continue
            out.append(sentences_from_document(
                processed[i], dependency=self.dependency, constituency=self.constituency,
                binarize=self.binarize, collapse_unary=self.collapse_unary, strip_root=self.strip_root))
        return out

    def _process(self, docs: List[Any], where: Sequence[int]) -> List[Any]:
        """Run the pipeline, checking (or splitting) long sentences after the tokenizer."""
        if self.limits.max_words is None:
            return self.pipeline.process(docs)
        docs = self.pipeline.process(docs, processors="tokenize")
        for k, doc in enumerate(docs):
            split = False
            for s, sentence in enumerate(doc.sentences):
                try:
                    split = self.limits.check_words(len(sentence.words), s + 1) or split
                except LimitError as err:
                    err.index = where[k]
                    raise
            if split:
                docs[k] = _split_document(doc, self.limits.max_words)
        return self.pipeline.process(docs, processors=[p for p in self.processors if p != "tokenize"])

    def __call__(self, text: Union[str, Sequence[str]]):
        """Same as :meth:`parse`."""
        return self.parse(text)


def _split_document(doc: Any, max_words: int) -> Any:
    """``doc`` with every sentence of more than ``max_words`` words cut into consecutive pieces of at most
    that many, each a sentence of its own. In such a document every word becomes a token of its own
    (multi-word tokens such as ``don't`` are not kept as one token), as if the text was pretokenized."""
    from stanza import Document

    sentences = []
    for sentence in doc.sentences:
        words = [w.text for w in sentence.words]
        for start in range(0, len(words), max_words):
            piece = words[start:start + max_words]
            sentences.append([{"id": j + 1, "text": w} for j, w in enumerate(piece)])
    return Document(sentences, text=doc.text)
