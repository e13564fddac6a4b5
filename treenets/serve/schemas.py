"""The request bodies of the API (pydantic models: FastAPI checks them and answers 422 naming the field)."""
from __future__ import annotations

from typing import List, Literal, Optional

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr

__all__ = ["PredictRequest", "SimilarityRequest", "Pair", "ParseRequest", "EncodeRequest"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Request):
    """``POST /v1/predict``: the sentiment of every sentence and phrase of each text."""

    model: Optional[StrictStr] = None
    texts: List[StrictStr]
    input_format: Literal["auto", "text", "brackets"] = "auto"
    svg: StrictBool = False


class Pair(_Request):
    a: StrictStr
    b: StrictStr


class SimilarityRequest(_Request):
    """``POST /v1/similarity``: the relatedness (1 to 5) of each pair of sentences."""

    model: Optional[StrictStr] = None
    pairs: List[Pair]


class ParseRequest(_Request):
    """``POST /v1/parse``: the parse trees of each text."""

    texts: List[StrictStr]
    tree: Literal["dependency", "constituency"] = "dependency"
    format: Literal["brackets", "conllu", "dot"] = "brackets"


class EncodeRequest(_Request):
    """``POST /v1/encode``: the Tree-LSTM state of every node (or only of the roots) of every sentence."""

    model: Optional[StrictStr] = None
    texts: List[StrictStr]
    root_only: StrictBool = False
