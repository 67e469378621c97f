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

from pypet_sm.define import value_types
from pypet_sm.hdf5._stacks import StackReader, StackWriter
from pypet_sm.hdf5.layout import STACKED_ROOT

PYTHON_SCALARS = value_types.STACK_PYTHON_KINDS
PYTHON_TYPES = value_types.STACK_PYTHON_TYPES


def _describe(value: Any) -> tuple[str, np.dtype, tuple[int, ...]] | None:
    """(kind, dtype, shape) of a stackable value, None when it cannot be stacked.

    kind is a Python scalar type name, `numpy` for numpy scalars or `ndarray`.
    """
    return value_types.stack_signature(value)


def _restore(kind: str, value: Any) -> Any:
    """A stacked element as the type that was stored."""
    return value_types.restore_stacked(kind, value)


class StackedWriter(StackWriter):
    """Stacks run items under `/<trajectory>/stacked` while the runs stream past; items it
    refuses (`add` gives False) go to pypet's per-run layout."""

    describe = staticmethod(_describe)
    accepts_arrays = True
    compares_comments = True  # the stack holds one comment for all runs

    def __init__(
        self, h5: tables.File, trajectory: tables.Group, n_runs: int, filters: tables.Filters
    ) -> None:
        super().__init__(h5, trajectory, STACKED_ROOT, n_runs, filters)


class StackedReader(StackReader):
    """The stacked items of a file (an empty, false reader for files of pypet's layout)."""

    restore = staticmethod(_restore)
    python_types = PYTHON_TYPES

    def __init__(self, trajectory: tables.Group) -> None:
        super().__init__(trajectory, STACKED_ROOT)
