"""Connectors: one module per external format, each pure (bytes in, canonical records out).

The registry below names every connector; `detect` picks one from a file's first bytes and
name, `get` by its name. Formats: X12 EDI (`x12`), Shopify (`shopify`), carrier tracking
(`easypost`, `aftership`, `tracking-json`). CSV exports of a 3PL are read through a CSV
profile (`tallyclerk.connectors.csv_profile`) on the canonical CSV path instead.
"""

from __future__ import annotations

import importlib

from tallyclerk.connectors._base import (
    Connector,
    ConnectorError,
    ConnectorReject,
    Outbound,
    Parsed,
    ParseOptions,
    Position,
    Row,
)

# name -> module that defines it (in a module-level CONNECTORS tuple); imported on first use.
_MODULES: dict[str, str] = {
    "x12": "tallyclerk.connectors.x12",
    "shopify": "tallyclerk.connectors.shopify",
    "easypost": "tallyclerk.connectors.tracking",
    "aftership": "tallyclerk.connectors.tracking",
    "tracking-json": "tallyclerk.connectors.tracking",
}
_LOADED: dict[str, Connector] = {}


def names() -> list[str]:
    """Every connector's name, in detection order."""
    return list(_MODULES)


def get(name: str) -> Connector:
    """The connector called `name`, or a ConnectorError listing the known ones."""
    if name not in _MODULES:
        raise ConnectorError(f"unknown format {name!r} (known formats: {', '.join(_MODULES)})")
    if name not in _LOADED:
        module = importlib.import_module(_MODULES[name])
        for connector in module.CONNECTORS:
            _LOADED[connector.name] = connector
    return _LOADED[name]


def detect(head: bytes, filename: str) -> Connector | None:
    """The first connector that recognizes the bytes and name, else None (canonical files)."""
    for name in _MODULES:
        connector = get(name)
        if connector.sniff(head, filename):
            return connector
    return None


__all__ = [
    "Connector",
    "ConnectorError",
    "ConnectorReject",
    "Outbound",
    "ParseOptions",
    "Parsed",
    "Position",
    "Row",
    "detect",
    "get",
    "names",
]
