"""A vocabulary without a word list: :class:`HashingVocab`, for the untrained default encoder."""
from __future__ import annotations

import zlib
from typing import Mapping

__all__ = ["HashingVocab"]


class HashingVocab(Mapping[str, int]):
    """Maps any word to one of ``num_buckets`` ids by a stable hash (CRC32 of the lowercased word).

    It never fails on unseen words, which suits an untrained default encoder.
    """

    def __init__(self, num_buckets: int = 1 << 15) -> None:
        self.num_buckets = num_buckets

    def __getitem__(self, token: str) -> int:
        return zlib.crc32(token.lower().encode("utf-8")) % self.num_buckets

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return self.num_buckets

    def __repr__(self) -> str:
        return f"HashingVocab(num_buckets={self.num_buckets})"
