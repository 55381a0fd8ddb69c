"""What every request needs: the store, who is asking, and the scope of what they may see.

Authentication: an API token (`Authorization: Bearer tc_...`) or the dashboard's session
cookie. A request carried by the cookie that changes something must also carry the session's
CSRF token (header `X-CSRF-Token` or form field `csrf_token`), and when the browser says
where it comes from (`Origin`, else `Referer`), that must be this site.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request

from tallyclerk.access import (
    AccessError,
    LoginThrottle,
    NotAuthenticatedError,
    Principal,
    Scope,
    check_token,
    load_session,
)
from tallyclerk.settings import Settings
from tallyclerk.store import Store, StoreGate

SESSION_COOKIE = "tc_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ServiceState:
    """The service's long-lived parts, kept on `app.state.tc`."""

    settings: Settings
    gate: StoreGate
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # Parts attached by the routers that own them (the webhook spool and its writer).
    extras: dict[str, Any] = field(default_factory=dict)


def service(request: Request) -> ServiceState:
    """The service state of the running app."""
    state: ServiceState = request.app.state.tc
    return state


# Threads waiting for the embedded store's turn have a limiter of their own. Taken from the
# shared pool (40 threads), forty waiters would leave the request that holds the store no
# thread to finish with, and every request would wait until it timed out.
_STORE_WAITERS = CapacityLimiter(1000)


async def store(request: Request) -> AsyncIterator[Store]:
    """The store for this request: opened for it alone on DuckDB, pooled on PostgreSQL."""
    held = service(request).gate.store()
    opened = await to_thread.run_sync(held.__enter__, limiter=_STORE_WAITERS)
    try:
        yield opened
    except BaseException as exc:
        if not await to_thread.run_sync(
            held.__exit__, type(exc), exc, exc.__traceback__, limiter=_STORE_WAITERS
        ):
            raise
    else:
        await to_thread.run_sync(held.__exit__, None, None, None, limiter=_STORE_WAITERS)


async def _form_csrf(request: Request) -> str | None:
    if request.method in SAFE_METHODS:
        return None
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def same_origin(request: Request) -> bool:
    """Whether a browser's request comes from this site.

    The browser's `Origin` (else its `Referer`) must name the host the request was sent to
    (`Host`, or `X-Forwarded-Host` from a proxy; no page can set either header) or one of
    `service.allowed_origins`. A request with neither header is left to the CSRF token.
    """
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        return True
    parts = urlsplit(sent.strip())
    if sent.strip() == "null" or not parts.scheme or not parts.netloc:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    allowed = {o.rstrip("/").lower() for o in service(request).settings.service.allowed_origins}
    if origin in allowed:
        return True
    forwarded = request.headers.get("x-forwarded-host", "").split(",")
    hosts = {_host(h) for h in (request.headers.get("host", ""), *forwarded)}
    return _host(parts.netloc) in hosts - {""}


def _host(netloc: str) -> str:
    """A host as compared: lower case, without a default port (a proxy may add one)."""
    host = netloc.strip().lower()
    return host.removesuffix(":443").removesuffix(":80")


StoreDep = Annotated[Store, Depends(store)]


def current_principal(
    request: Request,
    opened: StoreDep,
    form_csrf: Annotated[str | None, Depends(_form_csrf)],
) -> Principal:
    """The authenticated user, from a bearer token or the session cookie (with CSRF check)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise NotAuthenticatedError("the Authorization header must read 'Bearer <token>'")
        with opened.begin() as connection:
            principal = check_token(connection, presented.strip())
        if principal is None:
            raise NotAuthenticatedError("the token is not valid (unknown, expired or revoked)")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with opened.connect() as connection:
            session = load_session(connection, cookie)
        if session is not None:
            if request.method not in SAFE_METHODS:
                given = request.headers.get(CSRF_HEADER) or form_csrf or ""
                if not secrets.compare_digest(given.encode(), session.csrf_token.encode()):
                    raise AccessError(
                        "the form is out of date (CSRF check failed); reload the page"
                    )
                if not same_origin(request):
                    raise AccessError(
                        "this request came from another site; use the dashboard itself "
                        "(behind a proxy, name its address in service.allowed_origins)"
                    )
            request.state.csrf_token = session.csrf_token
            return session.principal
    raise NotAuthenticatedError(
        "log in first: send 'Authorization: Bearer <token>' (tallyclerk token create)"
    )


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def current_scope(principal: PrincipalDep) -> Scope:
    """The provider scope of the authenticated user: the one filter every query goes through."""
    return Scope(principal)


ScopeDep = Annotated[Scope, Depends(current_scope)]
