"""pypet-style parameter exploration for numerical simulations, run by Snakemake."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

# before the imports below: pypet_sm.project (which the Environment uses) reads it
__version__ = "0.1.0"

from pypet_sm.define.classes import ArrayParameter, Parameter, PickleParameter, PickleResult, Result
from pypet_sm.define.exploration import cartesian_product
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.environment.driver import Environment
from pypet_sm.errors import (
    ConfigError,
    DataNotInStorageError,
    GitDiffError,
    NoSuchServiceError,
    NotOfferedError,
    NotUniqueNodeError,
    ParameterLockedException,
    PresettingError,
    PypetSmError,
    TooManyGroupsError,
    TrajectoryError,
    VersionMismatchError,
)

if TYPE_CHECKING:  # the loader (PyTables) is imported only when a file is loaded
    from pypet_sm.analysis.load import LoadedTrajectory


def load_trajectory(
    path: str | Path,
    name: str | None = None,
    dynamic_imports: list[Any] | None = None,
    allow_pickle: bool = False,
    live: bool = False,
) -> LoadedTrajectory:
    """Load a trajectory file for analysis (see `pypet_sm.analysis.load`). Pickles in the
    file are unpickled, on access, only with `allow_pickle=True`: unpickling runs code.
    `live=True`: `path` is a project folder or config file, and the trajectory holds the
    runs finished so far, read while snakemake runs or after a crash (nothing is written)."""
    from pypet_sm.analysis.load import load_trajectory as _load

    return _load(path, name, dynamic_imports, allow_pickle, live)


__all__ = [
    "ArrayParameter",
    "ConfigError",
    "DataNotInStorageError",
    "Environment",
    "GitDiffError",
    "NoSuchServiceError",
    "NotOfferedError",
    "NotUniqueNodeError",
    "Parameter",
    "ParameterLockedException",
    "PickleParameter",
    "PickleResult",
    "PresettingError",
    "PypetSmError",
    "Result",
    "TooManyGroupsError",
    "Trajectory",
    "TrajectoryError",
    "VersionMismatchError",
    "cartesian_product",
    "load_trajectory",
]
