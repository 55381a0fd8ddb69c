"""`tallyclerk serve`: the REST API, the inbound webhooks and the dashboard."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from tallyclerk.cli._common import console, state, user_errors
from tallyclerk.settings import Settings


def run_server(settings: Settings, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve the app with uvicorn until interrupted."""
    import uvicorn

    from tallyclerk.api import create_app

    with user_errors():
        app = create_app(settings)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    console.print(f"Serving on [bold]http://{host}:{port}[/]  (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on (default 127.0.0.1; 0.0.0.0 for all)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", "-p", min=1, max=65535, help="Port (default 8000).")
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
) -> None:
    """Serve the REST API, the webhooks and the dashboard.

    On the embedded DuckDB store the server opens the file only for each request, so other
    commands (ingest, evaluate, reconcile) still run beside it: each waits for the other's
    current operation. Webhooks are spooled to disk first and never wait for the store.

    Examples:

      tallyclerk serve

      tallyclerk serve --host 0.0.0.0 --port 8080

      TALLYCLERK_SERVICE__SHOPIFY_SECRET=... tallyclerk serve
    """
    settings = state.effective_settings()
    run_server(
        settings,
        host or settings.service.host,
        port or settings.service.port,
        log_level=log_level,
    )
