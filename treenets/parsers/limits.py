"""Limits on what reaches a parser: characters per text, characters per token, words per sentence.

A parser's memory and time grow with its input, and not always linearly:
stanza's dependency parser scores every pair of words of a sentence, so its
memory grows with the square of the sentence's length (see the docs' limits
page for the measured figures), and its tokenizer slows down on a run of
characters with no space in it. :class:`TextLimits` bounds each, and the
parsers (:class:`~treenets.parsers.StanzaParser`,
:class:`~treenets.parsers.BracketParser`) check them before any model sees
the text: over a limit is a :class:`LimitError` naming the limit, its value,
what was found and where, never an attempt that grows without bound. A
sentence longer than ``max_words`` may instead be split into pieces of at
most ``max_words`` words (``long_sentences="split"``), each parsed as a
sentence of its own.

The defaults keep the shipped pipeline (stanza's English models, a shipped
model) under about 2 GB on any input; raise them for longer texts, or set one
to ``None`` to turn it off.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

__all__ = ["TextLimits", "LimitError", "DEFAULT_LIMITS", "LONG_SENTENCES"]

#: What a parser does with a sentence of more than ``max_words`` words.
LONG_SENTENCES = ("error", "split")


class LimitError(ValueError):
    """A text over one of the :class:`TextLimits`.

    Attributes:
        limit: the limit's name (``"max_chars"``, ``"max_token_chars"``, ``"max_words"``).
        value: the limit.
        found: what the text has.
        index: the text's position in a parser's call (``None`` until a parser sets it).
    """

    def __init__(self, message: str, limit: str, value: int, found: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value
        self.found = found
        #: the text's position in the parser's call, when a parser raised it
        self.index: Optional[int] = None

    def __reduce__(self):  # crosses process boundaries with its attributes
        return _rebuild, (self.args[0], self.limit, self.value, self.found, self.index)


def _rebuild(message: str, limit: str, value: int, found: int, index: Optional[int]) -> LimitError:
    err = LimitError(message, limit, value, found)
    err.index = index
    return err


def _check_limit(name: str, value: Optional[int]) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive integer or None, not {value!r}")


@dataclass(frozen=True)
class TextLimits:
    """How much text a parser takes.

    Args:
        max_chars: characters in one text (one input, one line of ``--input``).
        max_token_chars: characters in one run without white space (what a
            tokenizer must look at as one token).
        max_words: words in one sentence, after tokenization.
        long_sentences: ``"error"`` (default) refuses a longer sentence;
            ``"split"`` parses it as consecutive pieces of ``max_words`` words.

    ``None`` turns a limit off.
    """

    max_chars: Optional[int] = 100_000
    max_token_chars: Optional[int] = 1_000
    max_words: Optional[int] = 400
    long_sentences: str = "error"

    def __post_init__(self) -> None:
        _check_limit("max_chars", self.max_chars)
        _check_limit("max_token_chars", self.max_token_chars)
        _check_limit("max_words", self.max_words)
        if self.long_sentences not in LONG_SENTENCES:
            raise ValueError(f"long_sentences must be one of {LONG_SENTENCES}, not {self.long_sentences!r}")

    def replace(self, **changes) -> "TextLimits":
        """A copy with some limits changed."""
        return replace(self, **changes)

    def check_text(self, text: str) -> None:
        """Refuse a text with too many characters, or a token too long, before any parser reads it.

        Raises:
            LimitError: naming the limit, its value, the size found and (for a
                token) its character offset.
        """
        n = len(text)
        if self.max_chars is not None and n > self.max_chars:
            raise LimitError(f"the text has {n:,} characters, over the limit of {self.max_chars:,} "
                             f"(max_chars); split it, or raise the limit", "max_chars", self.max_chars, n)
        if self.max_token_chars is not None and n > self.max_token_chars:
            start = None
            for i, ch in enumerate(text):
                if ch.isspace():
                    start = None
                    continue
                if start is None:
                    start = i
                if i - start + 1 > self.max_token_chars:
                    end = start
                    while end < n and not text[end].isspace():
                        end += 1
                    raise LimitError(f"a run of {end - start:,} characters without a space at character {start} "
                                     f"({text[start:start + 20]!r}...) is over the limit of "
                                     f"{self.max_token_chars:,} characters per token (max_token_chars)",
                                     "max_token_chars", self.max_token_chars, end - start)

    def check_words(self, n_words: int, sentence: int) -> bool:
        """Whether a sentence of ``n_words`` words must be split (``long_sentences="split"``).

        Raises:
            LimitError: the sentence (counted from 1) is over ``max_words`` and
                ``long_sentences`` is ``"error"``.
        """
        if self.max_words is None or n_words <= self.max_words:
            return False
        if self.long_sentences == "split":
            return True
        raise LimitError(f"sentence {sentence} has {n_words:,} words, over the limit of {self.max_words:,} "
                         f"(max_words: a parser's memory grows with the square of a sentence's length); "
                         f"raise the limit, or split long sentences (long_sentences='split')",
                         "max_words", self.max_words, n_words)

    def cache_part(self) -> Optional[dict]:
        """What of these limits changes a parser's output (only splitting does), for its cache key."""
        if self.long_sentences == "split" and self.max_words is not None:
            return {"split_at_words": self.max_words}
        return None


#: The limits a parser has unless given others.
DEFAULT_LIMITS = TextLimits()
