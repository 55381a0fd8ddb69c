"""A seeded random source with the few cheap draws the hot path needs."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Draw(random.Random):
    """`random.Random` plus draws that cost one `random()` call each (randrange costs ~5)."""

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high)."""
        return low + int(self.random() * (high - low))

    def pick(self, cum_weights: Sequence[float]) -> int:
        """An index drawn with the given cumulative weights."""
        return bisect_right(cum_weights, self.random() * cum_weights[-1], 0, len(cum_weights) - 1)

    def one(self, items: Sequence[T]) -> T:
        """A uniformly drawn item."""
        return items[int(self.random() * len(items))]
