"""The run scalars index of pypet's layout (`overview/run_scalars`, which pypet skips when
loading): a copy of every scalar result and derived parameter of all runs, one array per
item, so that `f_get_from_runs` and `runs_table` read one array per item instead of opening
a group per run (100,000 runs: well under a second instead of minutes). It costs a few bytes
per scalar and run beside pypet's ~2.7 KB per run.

It keeps its copies in the stacked layout's form (`_stacks`), but takes scalars only and
ignores comments: the run's nodes in pypet's layout stay the items themselves, comments
included.
"""

from __future__ import annotations

import tables

from pypet_sm.hdf5._stacks import StackReader, StackWriter
from pypet_sm.hdf5.layout import RUN_SCALARS_PATH
from pypet_sm.hdf5.stacked import PYTHON_TYPES, _describe, _restore


class RunScalarsWriter(StackWriter):
    """Copies every scalar run item into the index; `add` gives False for what it skips."""

    describe = staticmethod(_describe)
    accepts_arrays = False
    compares_comments = False  # comments live in pypet's nodes

    def __init__(
        self, h5: tables.File, trajectory: tables.Group, n_runs: int, filters: tables.Filters
    ) -> None:
        super().__init__(h5, trajectory, RUN_SCALARS_PATH, n_runs, filters)


class RunScalarsReader(StackReader):
    """The index of a file (an empty, false reader for files written without it)."""

    restore = staticmethod(_restore)
    python_types = PYTHON_TYPES

    def __init__(self, trajectory: tables.Group) -> None:
        super().__init__(trajectory, RUN_SCALARS_PATH)
