"""Logging in and out of the dashboard, and errors shown as pages.

A login is throttled per user name and per client address; a success starts a new session
(a fresh id, so a planted cookie is worthless) in an HttpOnly, SameSite=Lax cookie and ends
the one the browser held. The login form itself carries a token that must match a
short-lived cookie, and is refused when the browser says it was posted from another site,
so another site cannot log a visitor in under its own account.
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tallyclerk.access import check_password, end_session, load_session, start_session
from tallyclerk.api import SESSION_COOKIE, PrincipalDep, StoreDep, service
from tallyclerk.api._deps import same_origin
from tallyclerk.web._common import is_htmx, local_path, query, render

router = APIRouter(include_in_schema=False)

LOGIN_COOKIE = "tc_login"  # the login form's anti-forgery token (double submit)
_LOGIN_COOKIE_SECONDS = 3600


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _keys(request: Request, username: str) -> tuple[str, str]:
    # Names are compared without case so "Admin" and "admin" share one allowance.
    return f"user:{username.strip().lower()}", f"addr:{_client(request)}"


def _login_form(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"next_url": next_url, "username": username, "error": error, "login_token": token},
        status=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=_LOGIN_COOKIE_SECONDS,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=service(request).settings.service.secure_cookies,
    )
    return response


def _wait_text(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    if whole < 120:
        return f"{whole} seconds"
    return f"{math.ceil(whole / 60)} minutes"


def _throttled(request: Request, wait: float, next_url: str, username: str) -> HTMLResponse:
    return _login_form(
        request,
        next_url=next_url,
        username=username,
        error=f"Too many failed logins. Try again in {_wait_text(wait)}.",
        status=429,
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, opened: StoreDep, next: str | None = None) -> Response:
    """The login form (or straight on, when the visitor is logged in already)."""
    target = local_path(next)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with opened.connect() as connection:
            if load_session(connection, cookie) is not None:
                return RedirectResponse(target, status_code=303)
    return _login_form(request, next_url=target)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    opened: StoreDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    login_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (throttled), start a new session, go where the user was heading."""
    target = local_path(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    forged = not same_origin(request)
    if (
        forged
        or not expected
        or not secrets.compare_digest(login_token.encode(), expected.encode())
    ):
        return _login_form(
            request,
            next_url=target,
            username=username,
            error="The login form was out of date; please try again.",
            status=403,
        )
    state = service(request)
    keys = _keys(request, username)
    wait = state.throttle.wait_seconds(*keys)
    if wait > 0:
        return _throttled(request, wait, target, username)
    if not username.strip() or not password:
        return _login_form(
            request,
            next_url=target,
            username=username,
            error="Enter your user name and password.",
            status=400,
        )
    with opened.begin() as connection:
        principal = check_password(connection, username.strip(), password)
        if principal is None:
            session_id = None
        else:
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                end_session(connection, old)
            session_id, _session = start_session(
                connection, principal, hours=state.settings.service.session_hours
            )
    if session_id is None:
        state.throttle.failed(*keys)
        wait = state.throttle.wait_seconds(*keys)
        if wait > 0:
            return _throttled(request, wait, target, username)
        return _login_form(
            request,
            next_url=target,
            username=username,
            error="Wrong user name or password.",
            status=401,
        )
    state.throttle.succeeded(*keys)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(state.settings.service.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=state.settings.service.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, opened: StoreDep, principal: PrincipalDep) -> Response:
    """End the session (the form carries the CSRF token) and return to the login page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with opened.begin() as connection:
            end_session(connection, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=service(request).settings.service.secure_cookies,
    )
    return response


_TITLES = {
    400: "That request cannot be used",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    422: "That request cannot be used",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Busy",
}


def html_error(request: Request, status: int, message: str) -> Response | None:
    """A dashboard page's error as HTML: a login redirect for 401, else a plain page.

    The message is the one the service meant for people; a stack trace never gets here.
    """
    if status == 401:
        target = local_path(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        login = "/login" + query(next=target if target != "/" else None)
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": login})
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(login, status_code=303)
    context = {"status": status, "title": _TITLES.get(status, "Error"), "message": message}
    template = "_flash_error.html" if is_htmx(request) else "error.html"
    return render(request, template, context, status=status)
