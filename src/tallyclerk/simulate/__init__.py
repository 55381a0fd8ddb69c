"""Demo and benchmark data: a brand, two 3PLs, a year of canonical CSVs with planted problems."""

from __future__ import annotations

from ._engine import simulate
from ._planted import PlantedProblem
from ._summary import SimulationSummary

__all__ = ["PlantedProblem", "SimulationSummary", "simulate"]
