"""Order cutoff times and the names of the ship-by rules."""

from __future__ import annotations

import re
from datetime import time

DEFAULT_RULE = "same_day_before_cutoff"
"""The ship-by rule a contract gets when it names none (DESIGN section 3)."""

SHIP_RULES: frozenset[str] = frozenset({DEFAULT_RULE})
"""Every ship-by rule a contract may name."""

_CUTOFF = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def parse_cutoff(text: str) -> time:
    """Read a cutoff written "HH:MM" (24-hour clock), as contracts state it."""
    if not isinstance(text, str):
        # An unquoted 14:00 in YAML 1.1 is the sexagesimal integer 840, so say what was seen.
        raise ValueError(f'cutoff must be a text "HH:MM" (24-hour clock), got {text!r}')
    match = _CUTOFF.fullmatch(text.strip())
    if match is None:
        raise ValueError(f'cutoff must be "HH:MM" on a 24-hour clock, e.g. "14:00"; got {text!r}')
    return time(int(match.group(1)), int(match.group(2)))
