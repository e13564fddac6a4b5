"""Layer 5, ``treenets serve``: the HTTP API and the live sentiment-tree page (``pip install "treenets[serve]"``).

See the docs' serving page; :func:`create_app` builds the FastAPI application,
:func:`serve` runs it with uvicorn.
"""
from .app import create_app
from .server import serve
from .settings import ServeSettings, default_served_models

__all__ = ["create_app", "serve", "ServeSettings", "default_served_models"]
