"""pypet-style parameter exploration for numerical simulations, run by Snakemake."""

from __future__ import annotations

from .errors import ConfigError, PypetSmError, TrajectoryError
from .exploration import cartesian_product
from .trajectory import ArrayParameter, Parameter, PickleParameter, Trajectory

__version__ = "0.1.0"


def load_trajectory(path, name=None):  # noqa: ANN001, ANN201 - re-exported below
    """Load a trajectory file for analysis (see `pypet_sm.load`)."""
    from .load import load_trajectory as _load

    return _load(path, name)


class Result:
    """Marker for pypet's Result class: `traj.f_add_result(Result, 'z', 1.0)`."""


class PickleResult:
    """Marker for pypet's PickleResult class (any picklable value)."""


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
