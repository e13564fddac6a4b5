"""The FastAPI application of ``treenets serve``: routes, start-up, admission, errors.

Routes add transport only: each one checks the request against the server's
limits, queues its items on the :class:`~treenets.serve.batcher.Batcher` of
its job and model, and answers with the records the ``treenets`` command
prints (see :mod:`treenets.serve.jobs`).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Dict, List, Optional, Tuple

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..formats.svg import OTHER_COLOR, SENTIMENT_COLORS
from ..utils.extras import best_available
from ..utils.version import __version__
import treenets.serve.jobs as jobs  # a module, so the test launcher can add faults to its jobs
from .batcher import Batcher
from .errors import (ApiError, BodyLimitMiddleware, RequestIdMiddleware, error_response, validation_errors)
from .limits import check_texts
from .schemas import EncodeRequest, ParseRequest, PredictRequest, SimilarityRequest
from .settings import ServeSettings

__all__ = ["create_app", "ServerState"]

logger = logging.getLogger("treenets.serve")
RETRY_AFTER = "1"


class ServerState:
    """The models, parsers, batchers and counters of one server process."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="treenets-work")
        self.slots: Optional[asyncio.Semaphore] = None
        self.models: Dict[str, Any] = {}       # name -> model
        self.parsers: Dict[str, Any] = {}      # model name -> its parser (or ParserPool)
        self.tree_parsers: Dict[str, Any] = {}  # tree kind -> parser for /v1/parse
        self.pools: List[Any] = []
        self.batchers: Dict[Tuple, Batcher] = {}
        self.ready = False
        self.load_error: Optional[str] = None
        self.admitted = 0
        self.started = time.time()

    # -- start-up, in a worker thread
    def load(self) -> None:
        from ..api import default_parser
        from ..models import load
        from ..parsers import ParserPool
        from ..parsers.pool import load_parser

        s = self.settings
        pools: Dict[int, Any] = {}

        def served(parser):
            if s.workers == 1:
                load_parser(parser)
                return parser
            if id(parser) not in pools:
                pool = ParserPool(parser, s.workers)
                pool.parse(["Ready ."] * s.workers, batch_size=1)  # start the workers, load their models
                pools[id(parser)] = pool
                self.pools.append(pool)
            return pools[id(parser)]

        for name in s.models:
            t0 = time.perf_counter()
            model = load(name, device=s.device).eval()
            self.models[name] = model
            if getattr(model, "tree_kind", None) is not None:
                self.parsers[name] = served(model.parser(s.device))
            if model.task == "sentiment" and name in self.parsers:  # the first request is then no slower
                model.predict(["Warm up ."], parser=self.parsers[name], cache=False)
            elif model.task == "relatedness" and name in self.parsers:
                model.similarity("Warm up .", "Warm up .", parser=self.parsers[name], cache=False)
            logger.info("loaded model %s (%s, %s trees) and its parser in %.1f s", name, model.task,
                        model.tree_kind, time.perf_counter() - t0)
        for kind in s.parse_trees:
            self.tree_parsers[kind] = served(default_parser(kind, s.device))
            logger.info("loaded the %s parser for /v1/parse", kind)

    def close(self) -> None:
        for pool in self.pools:
            pool.close(cancel=True)
        self.executor.shutdown(wait=False, cancel_futures=True)

    # -- lookups
    def default_model(self, task: Optional[str]) -> str:
        """The served model a request without ``model`` gets: for sentiment, the one ranked best for
        ``"sentiment"`` (as :func:`treenets.default_model` ranks them, so it agrees with ``treenets
        predict``); else, or when none is ranked, the first served model of the task."""
        names = [name for name, model in self.models.items() if task is None or model.task == task]
        if not names:
            raise ApiError(404, "no_model", f"this server serves no {task} model")
        if task == "sentiment":
            cards = [{"name": n, "available": True,
                      "recommended_for": dict((getattr(self.models[n], "metadata", None) or {}).get("recommended_for")
                                              or {})} for n in names]
            ranked = best_available(cards, "sentiment")
            if ranked is not None:
                return ranked
        return names[0]

    def require_ready(self) -> None:
        if not self.ready:
            raise ApiError(503, "not_ready", self.load_error or "the models are still loading; see GET /readyz",
                           headers={"Retry-After": RETRY_AFTER})

    def model(self, name: Optional[str], task: Optional[str]) -> Tuple[str, Any]:
        self.require_ready()
        if name is None:
            name = self.default_model(task)
        if name not in self.models:
            raise ApiError(404, "unknown_model", f"model: {name!r} is not served here; served: "
                           f"{', '.join(self.models)}", field="model")
        model = self.models[name]
        if task is not None and model.task != task:
            raise ApiError(422, "wrong_model", f"model: {name!r} is a {model.task} model, not a {task} model",
                           field="model")
        return name, model

    def batcher(self, key: Tuple, make_run) -> Batcher:
        if key not in self.batchers:
            b = Batcher("/".join(map(str, key)), make_run(), self.executor, self.settings.max_batch,
                        self.settings.max_wait, self.slots)  # type: ignore[arg-type]
            b.start()
            self.batchers[key] = b
        return self.batchers[key]

    @contextlib.asynccontextmanager
    async def admitted_request(self):
        """A place among the ``max_queue`` requests admitted at once, or 503 with Retry-After."""
        self.require_ready()
        if self.admitted >= self.settings.max_queue:
            raise ApiError(503, "queue_full", f"the server is busy: max_queue ({self.settings.max_queue}) requests "
                           f"are waiting or running; retry later", headers={"Retry-After": RETRY_AFTER},
                           limit="max_queue", value=self.settings.max_queue)
        self.admitted += 1
        try:
            yield
        finally:
            self.admitted -= 1

    async def run(self, batcher: Batcher, items) -> Any:
        """The batcher's answer for these items, within the request timeout (504 after it)."""
        async with self.admitted_request():
            task = asyncio.ensure_future(batcher.submit(items))
            try:
                return await asyncio.wait_for(task, self.settings.request_timeout)
            except asyncio.TimeoutError:
                raise ApiError(504, "timeout", f"the request took over request_timeout "
                               f"({self.settings.request_timeout:g} s)", limit="request_timeout",
                               value=self.settings.request_timeout) from None
            except (ValueError, TypeError, RuntimeError) as err:  # the library's word on a bad text
                from ..parsers import LimitError, ParseError

                if isinstance(err, RuntimeError) and not isinstance(err, ParseError):
                    raise
                message = " ".join(str(err).split()) or type(err).__name__
                limit = err if isinstance(err, LimitError) else err.__cause__
                if isinstance(limit, LimitError):  # the parsing layer's own limits (treenets.parsers.TextLimits)
                    raise ApiError(413, "limit_exceeded", message, limit=limit.limit, value=limit.value) from None
                raise ApiError(422, "invalid_input", message) from None


def _static_dir():
    return resources.files("treenets.serve") / "static"


def create_app(settings: Optional[ServeSettings] = None) -> FastAPI:
    """The application: ``uvicorn.run(create_app(ServeSettings(...)))``; the models load at start-up,
    in a worker thread, and ``GET /readyz`` answers 200 once they have."""
    settings = settings or ServeSettings()
    state = ServerState(settings)

    async def load_models() -> None:
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        try:
            await loop.run_in_executor(state.executor, state.load)
        except Exception as err:
            state.load_error = f"loading the models failed: {type(err).__name__}: {' '.join(str(err).split())}"
            logger.error("%s", state.load_error)
            return
        state.ready = True
        logger.info("ready in %.1f s: models %s", time.perf_counter() - t0, ", ".join(state.models))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        state.slots = asyncio.Semaphore(settings.workers)
        loader = asyncio.create_task(load_models())
        try:
            yield
        finally:
            # uvicorn has stopped listening and waited for the requests in flight
            state.ready = False
            loader.cancel()
            for b in list(state.batchers.values()):
                await b.stop()
            state.close()
            logger.info("stopped")

    app = FastAPI(title="treenets", version=__version__, lifespan=lifespan,
                  description="Tree-LSTM sentiment trees, sentence similarity, parses and encodings over HTTP.")
    app.state.treenets = state
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestIdMiddleware)  # outermost: the id is set before the body limit answers

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError):
        return error_response(request, err.status, err.code, err.message, err.headers, **err.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError):
        errors = validation_errors(err.errors())
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return error_response(request, 422, "invalid_request", f"{first['field']}: {first['message']}",
                              field=first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        return error_response(request, err.status_code, code, str(err.detail), getattr(err, "headers", None))

    # ---------------------------------------------------------------- health
    @app.get("/healthz", summary="The process is up")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", summary="The models and parsers are loaded (503 until then)")
    async def readyz():
        if state.ready:
            return {"status": "ready", "models": list(state.models)}
        status = "failed" if state.load_error else "loading"
        return JSONResponse({"status": status, "error": state.load_error}, status_code=503,
                            headers={"Retry-After": RETRY_AFTER})

    @app.get("/v1/models", summary="The models served, the server's limits and batching")
    async def models():
        out = []
        for name, model in state.models.items():
            item = {"name": name, "task": model.task, "tree": model.tree_kind,
                    "default": state.default_model(model.task) == name}
            if model.task == "sentiment":
                item["labels"] = model.predicted_labels
                item["colors"] = {k: SENTIMENT_COLORS.get(k, OTHER_COLOR) for k in model.predicted_labels}
            out.append(item)
        s = settings
        return {"models": out, "parse_trees": list(state.tree_parsers), "limits": s.limits(),
                "batching": {"max_batch": s.max_batch, "max_wait": s.max_wait, "max_queue": s.max_queue,
                             "workers": s.workers},
                "batches": {b.name: {"batches": b.batches, "items": b.items} for b in state.batchers.values()},
                "ready": state.ready}

    # ------------------------------------------------------------------ work
    @app.post("/v1/predict", summary="The sentiment of every sentence and of every phrase in it")
    async def predict(body: PredictRequest):
        check_texts(body.texts, "texts", settings.max_texts, settings.max_words)
        name, model = state.model(body.model, "sentiment")
        b = state.batcher(("predict", name, body.input_format),
                          lambda: jobs.predict_job(model, state.parsers.get(name), settings.cache, body.input_format))
        results = await state.run(b, body.texts)
        return {"model": name, "results": await asyncio.to_thread(jobs.predict_records, results, body.svg)}

    @app.post("/v1/similarity", summary="The relatedness of pairs of sentences, 1 to 5")
    async def similarity(body: SimilarityRequest):
        pairs = [(p.a, p.b) for p in body.pairs]
        for side in ("a", "b"):
            check_texts([getattr(p, side) for p in body.pairs], "pairs", settings.max_texts, settings.max_words,
                        suffix=f".{side}")
        name, model = state.model(body.model, "relatedness")
        b = state.batcher(("similarity", name),
                          lambda: jobs.similarity_job(model, state.parsers.get(name), settings.cache))
        scores = await state.run(b, pairs)
        return {"model": name, "results": jobs.similarity_records(pairs, scores, model.name)}

    @app.post("/v1/parse", summary="The parse trees of every text")
    async def parse(body: ParseRequest):
        check_texts(body.texts, "texts", settings.max_texts, settings.max_words)
        state.require_ready()
        if body.tree not in state.tree_parsers:
            raise ApiError(422, "not_served", f"tree: this server parses {list(state.tree_parsers)} trees, not "
                           f"{body.tree!r}", field="tree")
        b = state.batcher(("parse", body.tree),
                          lambda: jobs.parse_job(state.tree_parsers[body.tree], settings.cache))
        per_text = await state.run(b, body.texts)
        return {"tree": body.tree, "format": body.format,
                "results": await asyncio.to_thread(jobs.parse_records, per_text, body.tree, body.format)}

    @app.post("/v1/encode", summary="The Tree-LSTM state of every node, or of the roots only")
    async def encode(body: EncodeRequest):
        check_texts(body.texts, "texts", settings.max_texts, settings.max_words)
        name, model = state.model(body.model, None)
        b = state.batcher(("encode", name), lambda: jobs.encode_job(model, state.parsers.get(name), settings.cache))
        results = await state.run(b, body.texts)
        return {"model": name, "results": await asyncio.to_thread(jobs.encode_records, results, body.root_only)}

    # ------------------------------------------------------------------ page
    static = _static_dir()

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(str(static / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
