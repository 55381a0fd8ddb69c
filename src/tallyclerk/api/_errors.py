"""Errors as JSON with a plain message, never a stack trace.

Every error body reads `{"error": {"status": 404, "message": "...", "details": [...]}}`. A
page of the dashboard gets an HTML page instead, rendered by the dashboard's own hook.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tallyclerk.access import AccessError
from tallyclerk.errors import InputError, TallyclerkError
from tallyclerk.store import StoreBusyError

log = logging.getLogger("tallyclerk.api")

HtmlErrorHook = Callable[[Request, int, str], Response | None]
API_PREFIXES = ("/api/", "/webhooks/", "/openapi.json", "/docs")


def error_body(status: int, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """The JSON body of an error."""
    error: dict[str, Any] = {"status": status, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if any(path.startswith(p) for p in API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"


def _respond(
    request: Request,
    status: int,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    hook: HtmlErrorHook | None = getattr(request.app.state, "html_error", None)
    if hook is not None and _wants_html(request):
        page = hook(request, status, message)
        if page is not None:
            return page
    return JSONResponse(error_body(status, message, details), status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        out.append({"field": where, "message": error.get("msg", "invalid")})
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure into a JSON error (or the dashboard's error page)."""

    @app.exception_handler(AccessError)
    async def _access(request: Request, exc: AccessError) -> Response:
        return _respond(request, exc.status_code, str(exc))

    @app.exception_handler(StoreBusyError)
    async def _busy(request: Request, exc: StoreBusyError) -> Response:
        return _respond(request, 503, str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        return _respond(request, 400, str(exc))

    @app.exception_handler(TallyclerkError)
    async def _ours(request: Request, exc: TallyclerkError) -> Response:
        return _respond(request, 500 if exc.exit_code >= 70 else 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        first = details[0] if details else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return _respond(request, 422, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers) if exc.headers else None
        return _respond(request, exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(4)
        log.error(
            "internal error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
        )
        return _respond(
            request,
            500,
            f"internal error (reference {reference}); the details are in the server log",
        )
