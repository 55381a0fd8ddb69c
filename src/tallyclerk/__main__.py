"""`python -m tallyclerk` runs the command line."""

from __future__ import annotations

from tallyclerk.cli import main

main()
