"""The stacked layout (`storage: {layout: stacked}`): one dataset per result value, all runs.

pypet's layout gives every run a group and every result a group plus a dataset: about 1 ms
and 2-3 KB per run, whatever the result. For 10^5-10^6 runs the stacked layout keeps a
result's values of all runs in one extendable array under

    /<trajectory>/stacked/<results|derived_parameters>/<dotted item name as groups>/<value>

with a `present` mask (a run may not have stored the item). What cannot be stacked — strings,
lists, dicts, pickles, values whose type or shape differs from the first run's, a comment
differing from the first run's — is written in pypet's per-run layout as usual, and
`pypet_sm.load_trajectory` reads both alike. pypet itself loads such a file's parameters and
run information, but not the stacked results.

The run scalars index of pypet's layout (`run_scalars`) keeps its copies in the same form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tables

from pypet_sm.hdf5._stacks import StackReader, StackWriter
from pypet_sm.hdf5.layout import STACKED_ROOT

PYTHON_SCALARS = {bool: "bool", int: "int", float: "float", complex: "complex"}
PYTHON_TYPES = {name: kind for kind, name in PYTHON_SCALARS.items()}
INT64 = np.iinfo(np.int64)


def _describe(value: Any) -> tuple[str, np.dtype, tuple[int, ...]] | None:
    """(kind, dtype, shape) of a stackable value, None when it cannot be stacked.

    kind is a Python scalar type name, `numpy` for numpy scalars or `ndarray`.
    """
    kind = type(value)
    if kind in PYTHON_SCALARS:
        if kind is int and not INT64.min <= value <= INT64.max:
            return None
        return PYTHON_SCALARS[kind], np.dtype(kind if kind is not int else np.int64), ()
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return "numpy", value.dtype, ()
    if kind is np.ndarray and value.dtype.kind in "biufc" and value.size:
        return "ndarray", value.dtype, value.shape
    return None


def _restore(kind: str, value: Any) -> Any:
    """A stacked element as the type that was stored."""
    if kind in PYTHON_TYPES:
        return PYTHON_TYPES[kind](value)
    if kind == "ndarray" and not isinstance(value, np.ndarray):
        return np.asarray(value)  # a 0-d array: indexing the stack gave a numpy scalar
    return value  # numpy scalars and arrays come back as such from the array


class StackedWriter(StackWriter):
    """Stacks run items under `/<trajectory>/stacked` while the runs stream past; items it
    refuses (`add` gives False) go to pypet's per-run layout."""

    describe = staticmethod(_describe)
    accepts_arrays = True
    compares_comments = True  # the stack holds one comment for all runs

    def __init__(self, h5: tables.File, trajectory: tables.Group, n_runs: int, filters) -> None:
        super().__init__(h5, trajectory, STACKED_ROOT, n_runs, filters)


class StackedReader(StackReader):
    """The stacked items of a file (an empty, false reader for files of pypet's layout)."""

    restore = staticmethod(_restore)
    python_types = PYTHON_TYPES

    def __init__(self, trajectory: tables.Group) -> None:
        super().__init__(trajectory, STACKED_ROOT)
