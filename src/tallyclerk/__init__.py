"""tallyclerk: the control tower for brands that outsource fulfillment to 3PLs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tallyclerk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
