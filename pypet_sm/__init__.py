"""pypet-style parameter exploration for numerical simulations, run by Snakemake."""

from __future__ import annotations

from pypet_sm.define.classes import ArrayParameter, Parameter, PickleParameter, PickleResult, Result
from pypet_sm.define.exploration import cartesian_product
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.errors import ConfigError, PypetSmError, TrajectoryError

__version__ = "0.1.0"


def load_trajectory(path, name=None, dynamic_imports=None):  # noqa: ANN001, ANN201
    """Load a trajectory file for analysis (see `pypet_sm.analysis.load`)."""
    from pypet_sm.analysis.load import load_trajectory as _load

    return _load(path, name, dynamic_imports)


__all__ = [
    "ArrayParameter",
    "ConfigError",
    "Parameter",
    "PickleParameter",
    "PickleResult",
    "PypetSmError",
    "Result",
    "Trajectory",
    "TrajectoryError",
    "cartesian_product",
    "load_trajectory",
]
