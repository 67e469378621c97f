"""Write a whole trajectory file in pypet 0.7's layout from a `records.TrajectoryRecord`.

The file loads in pypet 0.7 with ``Trajectory(filename=...).f_load(name=..., ..., force=True)``.
``force=True`` is needed because `overview/info` records the pypet format version we follow
(``0.7.0``) and the Python version of the writer, and pypet refuses other Python versions
without it.

Runs are streamed: each run's nodes are written as the run arrives and only a small batch of
`runs` rows is held in memory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import tables

from pypet_sm.errors import HDF5Error
from pypet_sm.hdf5 import records
from pypet_sm.hdf5.config_items import GROUP_COMMENTS, environment_config_items, hdf5_config_items
from pypet_sm.hdf5.layout import (
    COMMENT,
    CONFIG,
    DERIVED_PARAMETERS,
    MERGE_STATE,
    MERGED_ITEMS,
    PARAMETERS,
    RESULTS,
    RUNS_TABLE,
    as_wildcards,
    resolve_wildcards,
    run_group_path,
    run_name,
)
from pypet_sm.hdf5.leaf_store import ensure_group, store_parameter, store_result
from pypet_sm.hdf5.overview import OverviewWriter, RunRow
from pypet_sm.hdf5.overview_text import parameter_summary, result_value_string, value_string
from pypet_sm.hdf5.run_scalars import RunScalarsWriter
from pypet_sm.hdf5.stacked import StackedWriter

PYPET_FORMAT_VERSION = "0.7.0"
MAX_RECORD_BYTES = 60_000  # HDF5 keeps attributes below 64 KiB in the object header
PYTHON_VERSION = ".".join(str(part) for part in sys.version_info[:3])


def uses_run_sets(length: int, settings: records.StorageSettings) -> bool:
    """Whether a trajectory of `length` runs keeps its runs in run sets."""
    return length > settings.run_sets_above


def _split(name: str) -> tuple[str, str]:
    """``"a.b.c"`` -> ``("a.b", "c")``."""
    parent, _, leaf = name.rpartition(".")
    return parent, leaf


def _exploration_order(record: records.TrajectoryRecord) -> list[records.Parameter]:
    """The explored parameters in exploration order (`record.explored_order` if given)."""
    explored = {p.name: p for p in record.parameters if p.explored is not None}
    if record.explored_order is None:
        return list(explored.values())
    if sorted(record.explored_order) != sorted(explored):
        raise ValueError(
            f"explored_order {record.explored_order} must name each explored parameter "
            f"({', '.join(explored)}) exactly once"
        )
    return [explored[name] for name in record.explored_order]


class _Writer:
    """State of one file being written: open file, filters, overview tables, branch groups."""

    def __init__(self, h5: tables.File, record: records.TrajectoryRecord) -> None:
        self._attach(h5, record)
        self.root = h5.create_group("/", record.name, title=record.name)
        if record.comment:
            setattr(self.root._v_attrs, COMMENT, record.comment)
        length, settings = record.length, record.settings
        self.overview = OverviewWriter(h5, self.root, settings, self.filters, self.expected)
        self.stacked: StackedWriter | None = None
        self.index: RunScalarsWriter | None = None
        if settings.layout == "stacked":
            self.stacked = StackedWriter(h5, self.root, length, self.filters)
        else:
            self.index = RunScalarsWriter(h5, self.root, length, self.filters)

    def _attach(self, h5: tables.File, record: records.TrajectoryRecord) -> None:
        """What a writer of `record` knows before it touches the file (also `append`'s)."""
        settings = record.settings
        self.h5 = h5
        self.record = record
        self.filters = h5.filters
        self.explored = _exploration_order(record)
        self.default_hexsha = record.environments[-1].hexsha if record.environments else "N/A"
        self.branches: dict[str, tables.Group] = {}
        # what this merge stores in single runs (paths below a run group), and which config
        # items: the next merge's record of what is its own (see `pypet_sm.hdf5.carry`)
        self.run_items: dict[str, set[str]] = {DERIVED_PARAMETERS: set(), RESULTS: set()}
        self.run_parents: dict[tuple[str, ...], tables.Group] = {}
        # items placed by wildcards, as paths below the trajectory group with `$`, `$set`
        self.placed_items: set[str] = set()
        self.run_sets = uses_run_sets(record.length, settings)
        self.first_run = 0  # runs before it are in the file already (`append`)
        self.state: Callable[[], str] | None = None  # the merge state, known after the runs
        self.config: list[records.Item] = []
        for environment in record.environments:
            self.config += environment_config_items(environment, record.name, record.timestamp)
        self.config += hdf5_config_items(settings) + list(record.config)
        length = record.length
        self.expected = {
            "config_overview": len(self.config),
            "parameters_overview": len(record.parameters),
            "explored_parameters_overview": len(self.explored),
            "derived_parameters_overview": settings.derived_parameters_per_run * length,
            "results_overview": settings.results_per_run * length,
            RUNS_TABLE: length,
        }

    def branch(self, name: str) -> tables.Group:
        if name not in self.branches:
            if name in self.root:  # a file being appended to
                self.branches[name] = self.root._f_get_child(name)
            else:
                self.branches[name] = self.h5.create_group(self.root, name)
        return self.branches[name]

    def write_head(self) -> None:
        record = self.record
        overview = self.overview
        overview.write_info(
            record.name,
            record.timestamp,
            record.length,
            record.comment,
            PYTHON_VERSION,
            PYPET_FORMAT_VERSION,
        )
        overview.write_hdf5_settings()
        overview.write_explorations([f"{PARAMETERS}.{p.name}" for p in self.explored])
        config = self.branch(CONFIG)
        for item in self.config:
            parent, leaf = _split(item.name)
            store_parameter(self.h5, ensure_group(self.h5, config, parent), item, self.filters)
            location = f"{CONFIG}.{parent}" if parent else CONFIG
            value = item.values["data"]
            overview.add_leaf(
                "config_overview", location, leaf, partial(value_string, value), item.comment
            )
        for name, comment in GROUP_COMMENTS.items():
            if name in config:
                setattr(config._f_get_child(name)._v_attrs, COMMENT, comment)
        parameters = self.branch(PARAMETERS)
        for item in record.parameters:
            parent, leaf = _split(item.name)
            group = ensure_group(self.h5, parameters, parent)
            store_parameter(self.h5, group, item, self.filters)
            location = f"{PARAMETERS}.{parent}" if parent else PARAMETERS
            value = item.values["data"]
            overview.add_leaf(
                "parameters_overview", location, leaf, partial(value_string, value), item.comment
            )
            if item.explored is not None:
                overview.add_leaf(
                    "explored_parameters_overview",
                    location,
                    leaf,
                    partial(value_string, value),
                    item.comment,
                    explored=item.explored,
                )

    def write_runs(self, runs: Iterable[records.RunRecord]) -> None:
        # PyTables' own node attributes (CLASS, VERSION, TITLE...) cost about as much as creating
        # the nodes; pypet does not read them and PyTables infers the node classes without them,
        # so the bulk of the file (the runs' nodes) is written without.
        self.h5.params["PYTABLES_SYS_ATTRS"] = False
        try:
            self._write_runs(runs)
        finally:
            self.h5.params["PYTABLES_SYS_ATTRS"] = True

    def _write_runs(self, runs: Iterable[records.RunRecord]) -> None:
        next_idx = self.first_run
        for run in runs:
            if not next_idx <= run.idx < self.record.length:
                raise ValueError(
                    f"run {run.idx} out of order or beyond the trajectory length "
                    f"{self.record.length}; runs must come in increasing index order"
                )
            for missing in range(next_idx, run.idx):
                self.overview.add_run(self._placeholder(missing))
            self.overview.add_run(
                RunRow(
                    run.idx,
                    run.name,
                    run.start,
                    run.finish,
                    self._summary(run.idx),
                    run.environment_hexsha or self.default_hexsha,
                    run.completed,
                    run,
                )
            )
            if run.completed:
                self._write_run_items(run)
            elif run.error is not None:
                self.overview.add_failed_run(run.idx, run.name, *run.error)
            next_idx = run.idx + 1
        for missing in range(next_idx, self.record.length):
            self.overview.add_run(self._placeholder(missing))
        self.overview.flush_runs()
        for stacks in (self.stacked, self.index):
            if stacks is not None:
                stacks.close()
        self._record_items()
        if self.state is not None:
            setattr(self.root._v_attrs, MERGE_STATE, self.state())

    def _record_items(self) -> None:
        config = [item.name.replace(".", "/") for item in self.record.config]
        merged = {"config": sorted(config)} | {b: sorted(n) for b, n in self.run_items.items()}
        if self.placed_items:
            merged["placed"] = sorted(self.placed_items)
        text = json.dumps(merged)
        if len(text) > MAX_RECORD_BYTES:  # beyond HDF5's attribute size: no record (see carry)
            text = json.dumps({"incomplete": True})
        setattr(self.root._v_attrs, MERGED_ITEMS, text)

    def _summary(self, idx: int) -> str:
        explored = (
            (_split(p.name)[1], f"{PARAMETERS}.{p.name}", (p.explored or [])[idx])
            for p in self.explored
        )
        return parameter_summary(explored)

    def _placeholder(self, idx: int) -> RunRow:
        # a run that never reported back, shown like pypet shows runs that did not run
        return RunRow(idx, run_name(idx), 0.0, 0.0, self._summary(idx), "N/A", False)

    def _write_run_items(self, run: records.RunRecord) -> None:
        path = run_group_path(run.name, run.idx, self.run_sets)
        for branch, items in (
            (DERIVED_PARAMETERS, run.derived_parameters),
            (RESULTS, run.results),
        ):
            groups: dict[str, tables.Group] = {}  # intermediate groups of dotted names
            for item in items:
                if item.where is not None:
                    continue  # after the run's own group exists (`runs.$set.$` may be it)
                parent, leaf = _split(item.name)
                location = ".".join([branch, *path, *([parent] if parent else [])])
                if self.stacked is not None and self.stacked.add(branch, run.idx, item):
                    self._record_run_item(branch, location, leaf, item)
                    continue
                if self.index is not None:
                    self.index.add(branch, run.idx, item)
                if not groups:  # the run's group only when something is stored in it
                    groups[""] = self._run_group(branch, path)
                self.run_items[branch].add(item.name.replace(".", "/"))
                if parent not in groups:
                    groups[parent] = ensure_group(self.h5, groups[""], parent)
                self._write_run_item(branch, groups[parent], location, leaf, item)
            for item in items:
                if item.where is not None:
                    self._write_placed_item(branch, run.idx, item)

    def _write_placed_item(self, branch: str, idx: int, item: records.Item) -> None:
        """An item pypet's wildcards put outside the run's group (`results/neuron/run_../q`);
        never stacked or indexed: those hold the runs' own groups."""
        path = resolve_wildcards(item.where or "", idx)
        group = ensure_group(self.h5, self.branch(branch), ".".join(path))
        self.placed_items.add("/".join([branch, *as_wildcards(path), item.name]))
        self._write_run_item(branch, group, ".".join([branch, *path]), item.name, item)

    def _run_group(self, branch: str, path: list[str]) -> tables.Group:
        """Create the run's group; its parents ("runs", later buckets) are looked up once."""
        key = (branch, *path[:-1])
        if key not in self.run_parents:
            self.run_parents[key] = ensure_group(self.h5, self.branch(branch), ".".join(path[:-1]))
        return self.h5.create_group(self.run_parents[key], path[-1])

    def _record_run_item(self, branch: str, location: str, leaf: str, item: records.Item) -> None:
        """Overview rows of an item stored in the stacked layout."""
        value = self._value_string(branch, item)
        self.overview.comment_to_store(branch, location, leaf, value, item.comment)
        self.overview.add_leaf(branch + "_overview", location, leaf, value, item.comment)

    @staticmethod
    def _value_string(branch: str, item: records.Item) -> Callable[[], str]:
        if branch == RESULTS:
            return partial(result_value_string, item.values)
        return partial(value_string, item.values["data"])

    def _write_run_item(
        self, branch: str, group: tables.Group, location: str, leaf: str, item: records.Item
    ) -> None:
        overview = self.overview
        value = self._value_string(branch, item)
        comment = overview.comment_to_store(branch, location, leaf, value, item.comment)
        if branch == RESULTS:
            store_result(self.h5, group, item, self.filters, comment)
        elif (comment or "") == item.comment:
            store_parameter(self.h5, group, item, self.filters)
        else:  # purged: the node goes without its comment, the overview row keeps it
            store_parameter(self.h5, group, dataclasses.replace(item, comment=""), self.filters)
        overview.add_leaf(branch + "_overview", location, leaf, value, item.comment)


def file_filters(settings: records.StorageSettings) -> tables.Filters:
    """pypet's filters: for CArrays and Tables; tiny scalars are plain Arrays."""
    return tables.Filters(
        complevel=settings.complevel,
        complib=settings.complib,
        shuffle=settings.shuffle,
        fletcher32=settings.fletcher32,
    )


def write_trajectory(
    path: str | os.PathLike,
    record: records.TrajectoryRecord,
    state: Callable[[], str] | None = None,
) -> None:
    """Write `record` to a new HDF5 file at `path` (replacing any file there); `state`, called
    once every run is written, gives the merge state to record in the file (`MERGE_STATE`)."""
    _write(path, record, state)


def trajectory_image(record: records.TrajectoryRecord) -> bytes:
    """The bytes of the file `write_trajectory` would write, built in memory (HDF5's core
    driver without a backing store): nothing touches the disk (the live view)."""
    return _write("in-memory.hdf5", record, None, driver="H5FD_CORE", driver_core_backing_store=0)


def _write(
    path: str | os.PathLike,
    record: records.TrajectoryRecord,
    state: Callable[[], str] | None,
    **driver: Any,
) -> bytes:
    """Write `record` (to `path`, or in memory with `driver`); the in-memory file's bytes."""
    filters = file_filters(record.settings)
    title = record.file_title
    try:
        with warnings.catch_warnings():
            # user names like "run-1" are fine for pypet but not Python identifiers
            warnings.simplefilter("ignore", tables.NaturalNameWarning)
            with tables.open_file(path, "w", title=title, filters=filters, **driver) as h5:
                writer = _Writer(h5, record)
                writer.state = state
                writer.write_head()
                writer.write_runs(record.runs)
                if not driver:
                    return b""
                h5.flush()
                return bytes(h5.get_file_image())
    except tables.HDF5ExtError as error:  # callers need not know PyTables to catch it
        raise HDF5Error(str(error)) from error


def library_version() -> str:
    """The version of the HDF5 library that writes and reads the files."""
    return tables.hdf5_version
