"""The settings of ``treenets serve``: models, address, batching, and the limits on what is accepted."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Optional, Tuple

__all__ = ["ServeSettings", "default_served_models"]

PARSE_TREES = ("dependency", "constituency")


def default_served_models() -> Tuple[str, ...]:
    """What ``treenets serve`` loads without ``--model``: the recommended sentiment model this installation
    can run (:func:`treenets.default_model`, the default of ``treenets predict``; first, so that it answers
    ``/v1/predict`` without a model), then ``sst5``, ``sst2`` and ``sick``."""
    from ..cli.catalog import default_model

    return tuple(dict.fromkeys(m for m in (default_model("sentiment"), "sst5", "sst2", "sick") if m))


@dataclass
class ServeSettings:
    """Everything ``treenets serve`` can be told (each field is a command-line option).

    Attributes:
        models: pretrained names or model directories, loaded at start-up with their parsers
            (default: :func:`default_served_models`). The sentiment model ranked best for
            ``"sentiment"`` among them (``recommended_for`` in its metadata; else the first one)
            is the default of ``/v1/predict``, the first relatedness
            model the default of ``/v1/similarity``, the first model the default of ``/v1/encode``.
        parse_trees: the tree kinds ``/v1/parse`` offers (each one stanza parser, loaded at start-up).
        host, port: where to listen (``port=0``: any free port, printed at start-up).
        workers: parser processes per parser (a :class:`~treenets.parsers.ParserPool`); 1 parses in
            a thread of the server process. Either way the event loop never runs the parser or torch.
        max_batch: the most texts gathered from concurrent requests into one batch.
        max_wait: seconds a batch waits for more requests before it runs (the bounded wait).
        max_queue: the most requests admitted at once (waiting or running); more get 503 with
            ``Retry-After``.
        request_timeout: seconds a request may take, waiting included; then 504.
        max_request_bytes: the largest request body (413).
        max_texts: the most texts (or pairs) in one request (413).
        max_words: the most words in one sentence (413), counted before any work is queued as
            whitespace-separated tokens between sentence ends (``.``, ``!``, ``?``).
        cache: use the on-disk parse cache.
        device: where the models run (``None``: the CPU).
    """

    models: Tuple[str, ...] = field(default_factory=default_served_models)
    parse_trees: Tuple[str, ...] = PARSE_TREES
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_batch: int = 64
    max_wait: float = 0.005
    max_queue: int = 256
    request_timeout: float = 30.0
    max_request_bytes: int = 1_000_000
    max_texts: int = 64
    max_words: int = 100
    cache: bool = True
    device: Optional[str] = None
    #: seconds uvicorn waits for requests in flight after SIGTERM (default: ``request_timeout + 5``)
    graceful_timeout: Optional[float] = field(default=None)

    def __post_init__(self) -> None:
        self.models = tuple(self.models)
        self.parse_trees = tuple(self.parse_trees)
        if not self.models:
            raise ValueError("models: give at least one model to serve")
        for kind in self.parse_trees:
            if kind not in PARSE_TREES:
                raise ValueError(f"parse_trees: {kind!r} is not one of {PARSE_TREES}")
        for name in ("workers", "max_batch", "max_queue", "max_request_bytes", "max_texts", "max_words"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, not {self.port!r}")
        for name in ("max_wait", "request_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
        if self.request_timeout <= 0:
            raise ValueError(f"request_timeout must be more than 0 seconds, not {self.request_timeout!r}")
        if self.graceful_timeout is None:
            self.graceful_timeout = self.request_timeout + 5.0

    def limits(self) -> dict:
        """The limits a client must keep to, as served by ``GET /v1/models``."""
        return {name: getattr(self, name) for name in ("max_request_bytes", "max_texts", "max_words",
                                                       "request_timeout")}

    @classmethod
    def field_names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
