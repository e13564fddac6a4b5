"""Running the application with uvicorn: :func:`serve`, what ``treenets serve`` calls.

uvicorn handles SIGTERM and SIGINT: it stops listening (new connections are
refused), lets the requests in flight finish (for up to
``settings.graceful_timeout`` seconds), then runs the application's shutdown,
which stops the batchers and the parser processes.
"""
from __future__ import annotations

import logging
import sys
from typing import Optional

from .settings import ServeSettings

__all__ = ["serve", "check_models"]


def check_models(settings: ServeSettings) -> None:
    """Fail now, not in the server, on a model name or directory that does not exist (names the known ones)."""
    from ..models.saving import resolve_model

    for name in settings.models:
        resolve_model(name)


def serve(settings: Optional[ServeSettings] = None, log_level: str = "info") -> None:
    """Serve until SIGTERM or Ctrl-C (blocks). The models load after the server starts listening;
    ``GET /readyz`` says when they are ready."""
    import uvicorn

    from .app import create_app

    settings = settings or ServeSettings()
    check_models(settings)
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level=log_level,
                            timeout_graceful_shutdown=int(settings.graceful_timeout + 0.999),  # type: ignore[operator]
                            access_log=False, server_header=False)
    uvicorn.Server(config).run()
