"""The server's limits on what one request may ask, checked before any work is queued."""
from __future__ import annotations

import re
from typing import Sequence

from .errors import ApiError, LimitExceeded

__all__ = ["check_texts", "sentence_lengths"]

# a sentence ends at . ! or ? (closing quotes and brackets included) followed by white space
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def sentence_lengths(text: str) -> list:
    """Words per sentence of ``text``, as the server counts them before parsing: whitespace-separated
    tokens between sentence ends. Cheap, and an upper bound of what is parsed for most prose (the
    parser may split a sentence further, and splits off punctuation, which this does not count)."""
    return [len(part.split()) for part in _SENTENCE_END.split(text) if part.strip()]


def check_texts(texts: Sequence[str], field: str, max_texts: int, max_words: int, suffix: str = "") -> None:
    """413 over ``max_texts`` texts or ``max_words`` words in a sentence; 422 for no text at all.
    Errors name the text as ``{field}[i]{suffix}`` (``pairs[3].a``)."""
    if len(texts) > max_texts:
        raise LimitExceeded("max_texts", max_texts, f"{field}: {len(texts)} items, over max_texts ({max_texts} "
                                                    f"per request); send them in several requests")
    if not texts:
        raise ApiError(422, "invalid_request", f"{field}: give at least one text", field=field)
    for i, text in enumerate(texts):
        for k, n in enumerate(sentence_lengths(text)):
            if n > max_words:
                raise LimitExceeded("max_words", max_words, f"{field}[{i}]{suffix}: sentence {k + 1} has {n} "
                                                            f"words, over max_words ({max_words} per sentence)")
