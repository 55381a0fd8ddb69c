"""Errors as JSON with a plain message, never a stack trace; the headers every answer gets.

Every error body reads `{"error": {"status": 404, "message": "...", "details": [...]}}`. A
page of the dashboard gets an HTML page instead, rendered by the dashboard's own hook.

`add_security_headers` is applied to every answer by the app's middleware, and here to an
unexpected failure's answer, which is made outside the middleware.
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
from tallyclerk.store import StoreBusyError, StoreUnavailableError

log = logging.getLogger("tallyclerk.api")

HtmlErrorHook = Callable[[Request, int, str], Response | None]
API_PREFIXES = ("/api/", "/webhooks/", "/openapi.json", "/docs")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ),
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Sent when the dashboard's cookies are Secure, i.e. it is served over HTTPS.
HSTS = "max-age=31536000"
# Static files may be kept by a browser; everything else may carry data and is not.
CACHEABLE_PREFIX = "/static/"


def add_security_headers(request: Request, response: Response) -> Response:
    """Add the security headers to an answer (those it set itself are kept)."""
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if not request.url.path.startswith(CACHEABLE_PREFIX):
        headers.setdefault("Cache-Control", "no-store")
    state = getattr(request.app.state, "tc", None)
    if state is not None and state.settings.service.secure_cookies:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


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
            if headers:
                page.headers.update(headers)
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

    @app.exception_handler(StoreUnavailableError)
    async def _unavailable(request: Request, exc: StoreUnavailableError) -> Response:
        # The database's address stays in the log: the answer only says what to do.
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _respond(
            request,
            503,
            "the database cannot be reached right now; try again in a moment",
            headers={"Retry-After": "5"},
        )

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
        answer = _respond(
            request,
            500,
            f"internal error (reference {reference}); the details are in the server log",
        )
        return add_security_headers(request, answer)
