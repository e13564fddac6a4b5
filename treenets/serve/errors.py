"""Errors as JSON, a request id on every response, and the request-size limit.

Every error body is ``{"error": {"status", "code", "message", "request_id", ...}}``,
plus ``limit`` and ``value`` for a limit, ``field`` for a malformed request.
A 500 never carries a traceback: it is logged with the request id, and the
client gets the id to quote. The two pure ASGI middlewares here sit outside
FastAPI, so they also cover requests that never reach a route.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any, Dict, List, Optional, Sequence

__all__ = ["ApiError", "LimitExceeded", "RequestIdMiddleware", "BodyLimitMiddleware", "error_response",
           "field_path", "REQUEST_ID_HEADER"]

logger = logging.getLogger("treenets.serve")

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class ApiError(Exception):
    """An answer other than 200, raised by a route: status, a code and a message (and more fields)."""

    def __init__(self, status: int, code: str, message: str, headers: Optional[Dict[str, str]] = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers or {}, extra


class LimitExceeded(ApiError):
    """413: the request is over one of the server's limits (named by ``limit``, with its ``value``)."""

    def __init__(self, limit: str, value: int, message: str) -> None:
        super().__init__(413, "limit_exceeded", message, limit=limit, value=value)


def error_body(status: int, code: str, message: str, request_id: Optional[str], **extra: Any) -> bytes:
    error = {"status": status, "code": code, "message": message, **extra, "request_id": request_id}
    return json.dumps({"error": error}, ensure_ascii=False).encode("utf-8")


def error_response(request, status: int, code: str, message: str, headers: Optional[Dict[str, str]] = None,
                   **extra: Any):
    """A FastAPI response for an error of this request."""
    from starlette.responses import Response

    request_id = request.scope.get("state", {}).get("request_id")
    return Response(error_body(status, code, message, request_id, **extra), status_code=status,
                    media_type="application/json", headers=headers)


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "texts", 2)`` -> ``"texts[2]"``; the body itself is ``"body"``."""
    parts = [p for p in loc if p != "body"] if len(loc) > 1 else list(loc)
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def validation_errors(errors: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    out = []
    for e in errors:
        message, loc = e.get("msg", "invalid"), e.get("loc", ())
        if e.get("type") == "json_invalid":  # loc is ("body", character offset)
            at = f" at character {loc[1]}" if len(loc) > 1 else ""
            message, loc = f"malformed JSON{at}: {e.get('ctx', {}).get('error', message)}", ("body",)
        out.append({"field": field_path(loc), "message": message})
    return out


async def _send_json(send, status: int, body: bytes, headers: Sequence = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """Gives every request an id (the client's ``X-Request-ID`` when it is short and plain, else a new
    one), puts it on every response, and answers any unhandled exception with a 500 that names only
    the id, logging the traceback with it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
        started = False

        async def send_with_id(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": headers + [header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("request %s (%s %s) failed", request_id, scope.get("method"), scope.get("path"))
            if not started:
                await _send_json(send, 500, error_body(500, "internal_error", "internal server error; the server "
                                                       "logged it with this request id", request_id), [header])


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``, read no further: by its ``Content-Length``, or, for a
    chunked body, as soon as the bytes received pass the limit. A body within it is replayed."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def _too_large(self, scope, send) -> None:
        request_id = scope.get("state", {}).get("request_id")
        body = error_body(413, "limit_exceeded", f"the request body is over max_request_bytes "
                          f"({self.max_bytes} bytes)", request_id, limit="max_request_bytes", value=self.max_bytes)
        await _send_json(send, 413, body, [(b"connection", b"close")])

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                request_id = scope.get("state", {}).get("request_id")
                return await _send_json(send, 400, error_body(400, "bad_request", "Content-Length is not a number",
                                                              request_id))
            if int(length) > self.max_bytes:
                return await self._too_large(scope, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._too_large(scope, send)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
