"""Parse raw text into :class:`treenets.Tree` objects with a real stanza pipeline.

:class:`StanzaParser` wraps one ``stanza.Pipeline`` and turns every parsed
sentence into a :class:`ParsedSentence` holding a dependency tree (one node per
syntactic word, heads from stanza's ``depparse``) and/or a constituency tree
(stanza's ``constituency`` output, optionally binarized for N-ary cells).

Everything that needs no model works without one:
:func:`sentences_from_document` (also :meth:`StanzaParser.from_document`)
converts an existing ``stanza.Document``, for example one read from CoNLL-U
with stanza's own reader, and :func:`read_conllu` reads a CoNLL-U file straight
into dependency trees.

Models are looked up locally and never downloaded unless the caller asks for it
(``download_method=...``). Missing models are detected *before* stanza builds
its pipeline and reported by :class:`MissingStanzaModelError`, which says where
it looked and how to get them.

stanza is imported lazily, so ``import parsers`` works without it.

Multi-word tokens (``"don't"`` is one token, two words ``do`` ``n't``) are
expanded: trees are built over *words*, the units that carry heads in UD and
leaves in stanza's constituency trees. :attr:`ParsedSentence.word_to_token`
maps every word back to its surface token.
"""
from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from treenets.tree import Tree

__all__ = [
    "StanzaParser",
    "ParsedSentence",
    "MissingStanzaModelError",
    "check_stanza_models",
    "resolve_stanza_dir",
    "sentences_from_document",
    "stanza_tree_to_tree",
    "read_conllu",
    "read_conllu_string",
]

_HOW_TO_GET = (
    "Get the models with `import stanza; stanza.download('{lang}')` (needs internet), "
    "or point to an existing stanza resources directory with StanzaParser(dir=...) "
    "or the STANZA_RESOURCES_DIR environment variable."
)


class MissingStanzaModelError(RuntimeError):
    """The stanza resources or model files needed for a pipeline are not there."""


# --------------------------------------------------------------------- results
@dataclass
class ParsedSentence:
    """One parsed sentence.

    Attributes:
        words: the syntactic words (multi-word tokens expanded), in order.
            Dependency trees have one node per word, in this order; the leaves
            of constituency trees are these words.
        dependency: dependency :class:`Tree` (``tokens`` = words, ``rels`` =
            UD relations, no labels), or ``None`` when not requested/available.
        constituency: constituency :class:`Tree` (phrase labels, preterminals
            carry the words), or ``None`` when not requested/available.
        text: the sentence's text, when stanza knows it.
        upos: universal POS tag of every word (``None`` where missing).
        xpos: language-specific POS tag of every word (``None`` where missing).
        tokens: the surface tokens (``"don't"`` is one token).
        word_to_token: for every word, the index of its surface token.
        index: position of the sentence in its document (0-based).
    """

    words: List[str]
    dependency: Optional[Tree] = None
    constituency: Optional[Tree] = None
    text: Optional[str] = None
    upos: List[Optional[str]] = field(default_factory=list)
    xpos: List[Optional[str]] = field(default_factory=list)
    tokens: List[str] = field(default_factory=list)
    word_to_token: List[int] = field(default_factory=list)
    index: int = 0


# ------------------------------------------------------------- model discovery
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


def _processor_spec(processors: Union[str, Sequence[str], Mapping[str, Any]]) -> Dict[str, Any]:
    if isinstance(processors, str):
        names = [p.strip().lower() for p in processors.split(",") if p.strip()]
        return {name: "default" for name in names}
    if isinstance(processors, Mapping):
        return {str(k).strip().lower(): v for k, v in processors.items()}
    return {str(p).strip().lower(): "default" for p in processors}


def check_stanza_models(
    lang: str = "en",
    dir: Optional[Union[str, os.PathLike]] = None,
    processors: Union[str, Sequence[str], Mapping[str, Any]] = "tokenize,pos,lemma,depparse",
    package: Optional[str] = "default",
    optional: Sequence[str] = ("mwt",),
    **pipeline_kwargs: Any,
) -> Dict[str, str]:
    """Check, without loading anything, that a stanza pipeline's models exist.

    This reads ``resources.json`` the way ``stanza.Pipeline`` does, resolves
    every requested processor (and its dependencies, such as the pretrained
    word vectors) to a model file, and checks that each file exists.

    Args:
        lang: language code, e.g. ``"en"``.
        dir: stanza resources directory; see :func:`resolve_stanza_dir`.
        processors: processors as stanza takes them: ``"tokenize,pos"``, a
            list, or a dict ``{processor: package}``.
        package: stanza's ``package`` argument.
        optional: processors that may be absent from ``resources.json``
            without an error (``mwt`` exists only for some languages).
        **pipeline_kwargs: further ``stanza.Pipeline`` options; explicit
            ``<processor>_model_path`` / ``<processor>_pretrain_path`` values
            replace the paths from ``resources.json``.

    Returns:
        ``{config key: model file}`` for every model file the pipeline needs.

    Raises:
        MissingStanzaModelError: if ``resources.json`` is missing or unreadable,
            has no entry for ``lang`` or a processor, or a model file is missing.
            The message names the directory and the files and says how to get
            the models.
    """
    try:
        from stanza.resources import common as res
        from stanza.pipeline.core import build_default_config
    except ImportError as err:  # pragma: no cover - exercised only without stanza
        raise ImportError("stanza is not installed: pip install 'treenets[stanza]' (or pip install stanza)") from err

    model_dir = resolve_stanza_dir(dir)
    how = _HOW_TO_GET.format(lang=lang)
    resources_path = os.path.join(model_dir, "resources.json")
    if not os.path.isdir(model_dir):
        raise MissingStanzaModelError(f"stanza resources directory {model_dir} does not exist. {how}")
    if not os.path.isfile(resources_path):
        raise MissingStanzaModelError(
            f"no stanza models in {model_dir}: {resources_path} is missing. {how}")
    try:
        with open(resources_path, encoding="utf-8") as fin:
            resources = json.load(fin)
    except (OSError, ValueError) as err:
        raise MissingStanzaModelError(f"cannot read {resources_path}: {err}. {how}") from None
    if not isinstance(resources, dict):
        raise MissingStanzaModelError(f"{resources_path} is not a stanza resources file (not a JSON object)")

    code = lang.strip().lower()
    seen = set()
    while code in resources and isinstance(resources[code], dict) and "alias" in resources[code]:
        if code in seen:
            break
        seen.add(code)
        code = resources[code]["alias"]
    if code not in resources or not isinstance(resources[code], dict):
        known = sorted(k for k, v in resources.items() if isinstance(v, dict) and "alias" not in v
                       and k not in ("url",))
        raise MissingStanzaModelError(
            f"language {lang!r} is not in {resources_path} (it has: {', '.join(known) or 'none'}). {how}")

    spec = _processor_spec(processors)
    logger = logging.getLogger("stanza")
    old_level = logger.level
    logger.setLevel(logging.ERROR)  # stanza warns while resolving; we report ourselves
    try:
        _, _, package_arg, proc_arg = res.process_pipeline_parameters(
            code, model_dir, package, dict(processors) if isinstance(processors, Mapping) else
            (processors if isinstance(processors, str) else ",".join(processors)))
        load_list = res.maintain_processor_list(resources, code, package_arg, proc_arg,
                                                maybe_add_mwt=not pipeline_kwargs.get("tokenize_pretokenized"))
        load_list = res.add_dependencies(resources, code, load_list)
        config = build_default_config(resources, code, model_dir, load_list)
    except MissingStanzaModelError:
        raise
    except Exception as err:
        raise MissingStanzaModelError(
            f"cannot resolve processors {sorted(spec)} for {lang!r} from {resources_path}: "
            f"{type(err).__name__}: {err}. {how}") from None
    finally:
        logger.setLevel(old_level)

    loaded = {name for name, _ in load_list}
    absent = [p for p in spec if p not in loaded and p not in optional]
    if absent:
        names = set(getattr(res, "PIPELINE_NAMES", ())) | {"pretrain"}
        have = sorted(k for k, v in resources[code].items() if isinstance(v, dict) and (k in names or not names))
        raise MissingStanzaModelError(
            f"{resources_path} has no model for processor(s) {', '.join(absent)} in language {code!r} "
            f"(package {package!r}); it lists: {', '.join(have) or 'nothing'}. {how}")

    paths: Dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, str) and key.endswith("_path"):
            paths[key] = value
    for key, value in pipeline_kwargs.items():
        if key.endswith("_path") and isinstance(value, (str, os.PathLike)):
            paths[key] = os.fspath(value)
    missing = [f"{key}: {path}" for key, path in paths.items() if not os.path.isfile(path)]
    if missing:
        raise MissingStanzaModelError(
            f"stanza model file(s) missing for language {code!r} in {model_dir}:\n  "
            + "\n  ".join(missing) + f"\n{how}")
    return paths


# ------------------------------------------------------------------ converters
def stanza_tree_to_tree(tree: Any, strip_root: bool = True) -> Tree:
    """Convert a stanza constituency tree to a :class:`Tree`.

    Preterminals ``(DT the)`` become one node labelled ``DT`` carrying the word;
    phrase nodes carry their label and no word. Nodes are numbered in pre-order.
    Works without recursion, so any depth is fine.

    Args:
        tree: a ``stanza.models.constituency.parse_tree.Tree`` (anything with
            ``.label`` and ``.children``).
        strip_root: drop stanza's unary ``ROOT`` wrapper so the root is the
            sentence node (``S``, ``FRAG``, ...).

    Returns:
        The converted tree.

    Raises:
        ValueError: if the tree is empty (a ``ROOT`` with no children).
    """
    if strip_root and tree.label == "ROOT" and len(tree.children) == 1 and tree.children[0].children:
        tree = tree.children[0]
    if not tree.children:
        raise ValueError(f"empty constituency tree {tree!s}: it has no words")
    parents: List[int] = []
    tokens: List[Optional[str]] = []
    labels: List[Optional[str]] = []
    stack = [(tree, -1)]
    while stack:
        node, parent = stack.pop()
        nid = len(parents)
        parents.append(parent)
        kids = node.children
        if not kids:  # a bare leaf (not under a preterminal)
            tokens.append(node.label)
            labels.append(None)
        elif len(kids) == 1 and not kids[0].children:  # preterminal
            tokens.append(kids[0].label)
            labels.append(node.label)
        else:
            tokens.append(None)
            labels.append(node.label)
            for child in reversed(kids):
                stack.append((child, nid))
    return Tree(parents, tokens, labels)


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
    if binarize not in (None, "left", "right"):
        raise ValueError(f"binarize must be None, 'left' or 'right', not {binarize!r}")
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


# ---------------------------------------------------------------------- parser
class StanzaParser:
    """Dependency and constituency trees for raw text from a real stanza pipeline.

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
        **pipeline_kwargs: any other ``stanza.Pipeline`` keyword argument.

    Raises:
        ValueError: no tree kind requested, or a bad ``binarize`` /
            ``batch_sizes``.
        MissingStanzaModelError: models missing (checked before stanza loads
            anything, unless downloads were asked for).
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
        **pipeline_kwargs: Any,
    ) -> None:
        if not dependency and not constituency:
            raise ValueError("nothing to parse: set dependency=True and/or constituency=True")
        if binarize not in (None, "left", "right"):
            raise ValueError(f"binarize must be None, 'left' or 'right', not {binarize!r}")
        if "processors" in pipeline_kwargs:
            raise ValueError("pass dependency=/constituency= instead of processors=; "
                             "StanzaParser chooses the processors from the trees requested")
        try:
            import stanza
        except ImportError as err:
            raise ImportError("StanzaParser needs stanza: pip install 'treenets[stanza]' (or pip install stanza)") from err

        self.lang = lang
        self.dir = resolve_stanza_dir(dir)
        self.dependency = bool(dependency)
        self.constituency = bool(constituency)
        self.binarize = binarize
        self.collapse_unary = collapse_unary
        self.strip_root = strip_root
        self.tokenize_pretokenized = bool(tokenize_pretokenized)

        processors = ["tokenize"]
        if not tokenize_pretokenized and self._language_has_mwt(lang):
            processors.append("mwt")
        processors.append("pos")
        if dependency:
            processors += ["lemma", "depparse"]
        if constituency:
            processors.append("constituency")
        self.processors = processors

        kwargs = dict(pipeline_kwargs)
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

        if download_method is None:
            check_stanza_models(lang, self.dir, processors, package, optional=("mwt",), **kwargs)

        try:
            self.pipeline = stanza.Pipeline(
                lang=lang, dir=self.dir, package=package, processors=",".join(processors),
                use_gpu=use_gpu, device=device, download_method=download_method,
                logging_level=logging_level, **kwargs)
        except Exception as err:
            raise RuntimeError(
                f"could not build the stanza pipeline ({','.join(processors)}) for {lang!r} from {self.dir}: "
                f"{type(err).__name__}: {err}") from err
        self.device = str(getattr(self.pipeline, "device", device or "cpu"))

    def _language_has_mwt(self, lang: str) -> bool:
        path = os.path.join(self.dir, "resources.json")
        try:
            with open(path, encoding="utf-8") as fin:
                resources = json.load(fin)
            entry = resources.get(lang.strip().lower(), {})
            if "alias" in entry:
                entry = resources.get(entry["alias"], {})
            return "mwt" in entry
        except (OSError, ValueError, AttributeError):
            return False  # the model check reports an unreadable resources.json

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
        """Parse many texts in one bulk call.

        Args:
            texts: the texts.

        Returns:
            One list of :class:`ParsedSentence` per text.

        Raises:
            TypeError: if an item is not a string.
        """
        from stanza import Document

        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text {i} is a {type(t).__name__}, not a string")
        if not texts:
            return []
        # stanza's tokenizer copes with empty text, but skip the work entirely.
        keep = [i for i, t in enumerate(texts) if t.strip()]
        processed: Dict[int, Any] = {}
        if keep:
            docs = self.pipeline.process([Document([], text=texts[i]) for i in keep])
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

    def __call__(self, text: Union[str, Sequence[str]]):
        """Same as :meth:`parse`."""
        return self.parse(text)


# ---------------------------------------------------------------------- CoNLL-U
def _locate_conllu_problem(lines: Sequence[str]) -> Optional[tuple]:
    """Find the first line stanza's reader would reject: (1-based line, reason)."""
    sentence: List[tuple] = []  # (line, word id, head) of the current sentence's words

    def check_heads():
        n = len(sentence)
        for line_no, ident, head in sentence:
            if head is not None and not 0 <= head <= n:
                return line_no, f"HEAD {head} of word {ident} is out of range 0..{n} (the sentence has {n} words)"
        return None

    for n, raw in enumerate(lines, 1):
        line = raw.lstrip().rstrip(" \n\r\t")
        if not line:
            found = check_heads()
            if found:
                return found
            sentence = []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if "." in fields[0]:
            continue  # empty nodes are skipped
        if len(fields) != 10:
            return n, f"expected 10 tab-separated fields, found {len(fields)}: {line[:60]!r}"
        ident, head = fields[0], fields[6]
        parts = ident.split("-", 1)
        if not all(p.isdigit() for p in parts):
            return n, f"bad ID {ident!r}: expected an integer or a range like 2-3"
        if len(parts) == 1:
            if head != "_" and not head.lstrip("-").isdigit():
                return n, f"bad HEAD {head!r} for word {ident}: expected an integer or _"
            sentence.append((n, ident, None if head == "_" else int(head)))
    return check_heads()


def read_conllu_string(text: str, source: str = "<string>", **options: Any) -> List[Tree]:
    """Read CoNLL-U text into dependency trees with stanza's CoNLL reader.

    Args:
        text: CoNLL-U content.
        source: the name to use in error messages.
        **options: passed to :func:`sentences_from_document`.

    Returns:
        One dependency :class:`Tree` per sentence (``tokens`` = word forms,
        ``rels`` = DEPREL); multi-word token ranges and empty nodes are skipped.

    Raises:
        ValueError: malformed CoNLL-U or heads that do not form a tree; the
            message names ``source`` and the line.
    """
    if not text.strip():
        return []
    return _read_conllu(source, lambda conll: conll.conll2doc(input_str=text, keep_line_numbers=True),
                        lambda: text.splitlines(), options)


def read_conllu(path: Union[str, os.PathLike], **options: Any) -> List[Tree]:
    """Read a CoNLL-U file into dependency trees with stanza's CoNLL reader.

    No model is needed.

    Args:
        path: the ``.conllu`` file.
        **options: passed to :func:`sentences_from_document`.

    Returns:
        One dependency :class:`Tree` per sentence, in file order.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: malformed CoNLL-U or heads that do not form a tree; the
            message names the file and line.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"CoNLL-U file not found: {path}")

    def lines():
        with open(path, encoding="utf-8") as fin:
            return fin.readlines()

    try:
        with open(path, encoding="utf-8") as fin:
            if not fin.read().strip():
                return []
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from None
    return _read_conllu(path, lambda conll: conll.conll2doc(input_file=path, keep_line_numbers=True), lines, options)


def _read_conllu(source: str, load, get_lines, options: Dict[str, Any]) -> List[Tree]:
    try:
        from stanza.utils.conll import CoNLL
    except ImportError as err:
        raise ImportError("reading CoNLL-U uses stanza's reader: pip install 'treenets[stanza]' "
                          "(or pip install stanza)") from err

    try:
        doc = load(CoNLL)
    except Exception as err:  # CoNLLError, ValueError, AssertionError from stanza's reader
        found = _locate_conllu_problem(get_lines())
        if found is not None:
            raise ValueError(f"{source}:{found[0]}: {found[1]}") from None
        inner = err
        while inner.__cause__ is not None:
            inner = inner.__cause__
        raise ValueError(f"{source}: cannot read CoNLL-U: {type(inner).__name__}: {inner}") from err
    options = dict(options)
    options.setdefault("dependency", True)
    options.setdefault("constituency", False)
    sentences = sentences_from_document(doc, source=source, **options)
    return [s.dependency for s in sentences]
