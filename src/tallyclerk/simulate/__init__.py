"""Demo and benchmark data: a brand, two 3PLs, a year of data with planted problems.

Written as canonical CSVs, or (`write_real_formats`) as the Shopify JSON and X12 files a real
store and real 3PLs would send.
"""

from __future__ import annotations

from ._engine import simulate
from ._formats import RealFormats, write_real_formats
from ._planted import PlantedProblem
from ._summary import SimulationSummary

__all__ = [
    "PlantedProblem",
    "RealFormats",
    "SimulationSummary",
    "simulate",
    "write_real_formats",
]
