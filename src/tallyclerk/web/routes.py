"""The dashboard's routes: pages for people, sharing the API's login, scope and store.

`install` mounts the vendored and own static files and makes errors on pages render as
HTML (a 401 on a page leads to the login form).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from tallyclerk.web import (
    _actions,
    _alerts,
    _auth,
    _disputes,
    _forecast,
    _operations,
    _reviews,
    _scorecards,
    _vetting,
)
from tallyclerk.web._common import STATIC_DIR

router = APIRouter(include_in_schema=False)
for _module in (
    _auth,
    _scorecards,
    _forecast,
    _operations,
    _disputes,
    _vetting,
    _reviews,
    _actions,
    _alerts,
):
    router.include_router(_module.router)


def install(app: FastAPI) -> None:
    """Mount /static and let the dashboard render the errors of its pages."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.html_error = _auth.html_error
