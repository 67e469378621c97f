"""Append runs to a trajectory file the merge wrote (the incremental merge).

The caller copies the previous file to the temp file; `append_trajectory` then rewrites what
depends on the whole trajectory -- the trajectory's comment, `parameters` (explored ranges),
`config` (environments, git, HDF5 settings, config items), the `info`, `hdf5_settings` and
`explorations` tables and the small overview tables of config and parameters -- and appends
the new runs to what grows with the runs: their groups, `runs`, `runs_provenance`,
`failed_runs`, the results and derived parameters overviews and summaries, the stacks of the
stacked layout and the run scalars index. The result holds what a merge of all runs writes
(`writer.write_trajectory`), except HDF5's chunk sizes of the tables and arrays that grew.

Only a file unchanged since the merge that wrote it is appended to (`merge.incremental`
decides): everything in it below the trajectory group is the merge's.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tables

from pypet_sm.errors import HDF5Error
from pypet_sm.hdf5 import attributes, records
from pypet_sm.hdf5.layout import (
    COMMENT,
    CONFIG,
    EXPLORATIONS_TABLE,
    HDF5_SETTINGS_TABLE,
    INFO_TABLE,
    MERGE_STATE,
    MERGED_ITEMS,
    OVERVIEW,
    PARAMETERS,
    RUN_BRANCHES,
)
from pypet_sm.hdf5.overview import OverviewWriter
from pypet_sm.hdf5.run_scalars import RunScalarsWriter
from pypet_sm.hdf5.stacked import StackedWriter
from pypet_sm.hdf5.writer import _Writer

# what a merge writes for the whole trajectory: written anew, never appended to
WHOLE_GROUPS = (PARAMETERS, CONFIG)
WHOLE_TABLES = (
    INFO_TABLE,
    HDF5_SETTINGS_TABLE,
    EXPLORATIONS_TABLE,
    "config_overview",
    "parameters_overview",
    "explored_parameters_overview",
)


@dataclass
class Stored:
    """What a trajectory file says of the merge that wrote it (None: it does not say)."""

    state: dict[str, Any] | None
    run_items: dict[str, set[str]] | None  # the merge's items in single runs


def read_stored(path: str | os.PathLike, name: str) -> Stored:
    """The merge state and merged items of trajectory `name` in the file at `path`; raises
    HDF5Error (or OSError) for a file that cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tables.NaturalNameWarning)
            with attributes.open_file(path, "r") as h5:
                group = h5.get_node(f"/{name}")
                state = _json(attributes.read(group, MERGE_STATE))
                merged = _json(attributes.read(group, MERGED_ITEMS))
    except tables.NoSuchNodeError:
        return Stored(None, None)
    except tables.HDF5ExtError as error:
        raise HDF5Error(str(error)) from None
    run_items = None
    if isinstance(merged, dict) and all(isinstance(merged.get(b), list) for b in RUN_BRANCHES):
        run_items = {branch: set(merged[branch]) for branch in RUN_BRANCHES}
    return Stored(state if isinstance(state, dict) else None, run_items)


def _json(value: Any) -> Any:
    try:
        return json.loads(str(value)) if value is not None else None
    except ValueError:
        return None


class _Appender(_Writer):
    """A `writer._Writer` on the copy of the previous file, its first `first_run` runs
    written."""

    def __init__(
        self,
        h5: tables.File,
        record: records.TrajectoryRecord,
        first_run: int,
        run_items: dict[str, set[str]],
    ) -> None:
        self._attach(h5, record)
        self.first_run = first_run
        self.root = h5.get_node(f"/{record.name}")
        for name in WHOLE_GROUPS:
            if name in self.root:
                self.root._f_get_child(name)._f_remove(recursive=True)
        overview = self.root._f_get_child(OVERVIEW)
        for name in WHOLE_TABLES:
            if name in overview:
                overview._f_get_child(name)._f_remove()
        if COMMENT in self.root._v_attrs:
            delattr(self.root._v_attrs, COMMENT)
        if record.comment:
            setattr(self.root._v_attrs, COMMENT, record.comment)
        h5.title = record.file_title
        settings = record.settings
        self.overview = OverviewWriter(
            h5, self.root, settings, self.filters, self.expected, existing=True
        )
        for branch, names in run_items.items():
            self.run_items[branch] |= names
        self.stacked: StackedWriter | None = None
        self.index: RunScalarsWriter | None = None
        stacks: StackedWriter | RunScalarsWriter
        if settings.layout == "stacked":
            stacks = self.stacked = StackedWriter(h5, self.root, record.length, self.filters)
        else:
            stacks = self.index = RunScalarsWriter(h5, self.root, record.length, self.filters)
        for branch, names in run_items.items():
            stacks.refuse(branch, {name.replace("/", ".") for name in names})


def append_trajectory(
    path: str | os.PathLike,
    record: records.TrajectoryRecord,
    first_run: int,
    run_items: dict[str, set[str]],
    state: Callable[[], str] | None = None,
) -> None:
    """Turn the file at `path`, a copy of a file the merge wrote with the first `first_run`
    runs of `record`, into the file of `record`; `record.runs` holds the runs from
    `first_run` on, `run_items` the previous merge's items in single runs."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tables.NaturalNameWarning)
            with tables.open_file(path, "a") as h5:
                writer = _Appender(h5, record, first_run, run_items)
                writer.state = state
                writer.write_head()
                writer.write_runs(record.runs)
    except tables.HDF5ExtError as error:
        raise HDF5Error(str(error)) from None
