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
import os
import sys
import time
import warnings
from functools import partial
from typing import Any

import tables

from pypet_sm.hdf5 import records
from pypet_sm.hdf5.overview import (
    OverviewWriter,
    RunRow,
    enabled_tables,
    format_runtime,
    parameter_summary,
    result_value_string,
    value_string,
)
from pypet_sm.hdf5.stacked import INDEX, StackedWriter
from pypet_sm.hdf5.codec import ensure_group, store_parameter, store_result

PYPET_FORMAT_VERSION = "0.7.0"
RUN_SET_SIZE = 1000  # runs per run set: pypet's make_set_name (GROUPSIZE)
RUN_SET_NAME = "run_set_%05d"  # pypet's FORMATTED_SET_NAME
PYTHON_VERSION = ".".join(str(part) for part in sys.version_info[:3])
GIT_TIME_FORMAT = "%Y_%m_%d_%Hh%Mm%Ss"

HDF5_COMMENTS = {
    "purge_duplicate_comments": "Whether comments of results and derived parameters should only"
    " be stored for the very first instance. Works only if the summary tables are active.",
    "results_per_run": "Expected number of results per run,"
    " a good guess can increase storage performance",
    "derived_parameters_per_run": "Expected number of derived parameters per run,"
    " a good guess can increase storage performance",
    "complevel": "Compression Level (0 no compression to 9 highest compression)",
    "complib": "Compression Algorithm",
    "encoding": "Encoding for unicode characters",
    "fletcher32": "Whether to use fletcher 32 checksum",
    "shuffle": "Whether to use shuffle filtering.",
    "pandas_format": "How to store pandas data frames, either 'fixed' ('f') or 'table' ('t').",
}
OVERVIEW_COMMENT = "Whether or not to have an overview table with that name"
VERSION_COMMENT = (
    "Particular version of a package or distribution used during experiment."
    " N/A if package could not be imported."
)
# pypet's comments on the config.environment.<env>.* items it knows
ENVIRONMENT_COMMENTS = {
    "multiproc": "Whether or not to use multiprocessing.",
    "ncores": "Number of processors in case of multiprocessing",
    "wrap_mode": "Multiprocessing mode (if multiproc), i.e. whether to use QUEUE or LOCK or NONE"
    " for thread/process safe storing",
    "use_pool": "Whether to use a pool of processes or spawning individual processes for each run.",
    "freeze_input": "If inputs to each run are static and are not mutated during each run,"
    " can speed up pool running.",
    "clean_up_runs": "Whether or not results should be removed after the completion of a single"
    " run. You are not advised to set this to `False`. Only do it if you know what you are"
    " doing.",
    "resumable": "Whether or not resume files should be created."
    " If yes, everything is handled by `dill`.",
    "graceful_exit": "Whether or not to allow graceful handling of `SIGINT` (`CTRL+C`).",
    "automatic_storing": "If trajectory should be stored automatically in the end.",
    "script": "Name of the executed main script",
    "start_timestamp": "Timestamp of starting of experiment (when the actual simulation was"
    " started (either by calling `run`, `resume`, or `pipeline`).",
    "finish_timestamp": "Timestamp of finishing of an experiment.",
    "runtime": "Runtime of whole experiment.",
    "resumed": "Added if a crashed trajectory was continued.",
    "trajectory.name": "Name of trajectory",
    "trajectory.timestamp": "Timestamp of trajectory",
    "timestamp": "Timestamp of environment creation",
    "hexsha": "SHA-1 identifier of the environment",
    "snakemake.command_line": "The snakemake command line of this invocation",
    "snakemake.cores": "Cores given to snakemake (--cores)",
    "snakemake.executor": "Snakemake executor that ran the jobs (local, slurm, ...)",
    "snakemake.profile": "Snakemake profiles given (--profile)",
    "snakemake.workflow_profile": "Snakemake workflow profile used",
}
GIT_COMMENTS = {
    "hexsha": "SHA-1 hash of commit",
    "name_rev": "String describing the commits hex sha based on the closest Reference",
    "committed_date": "Date of commit as unix epoch seconds",
    "message": "The commit message",
}
GROUP_COMMENTS = {
    "hdf5": "Settings for the standard HDF5 storage service",
    "environment": "Settings for the different environments used to run the experiments",
}


def uses_run_sets(length: int, settings: records.StorageSettings) -> bool:
    """Whether a trajectory of `length` runs keeps its runs in run sets."""
    return length > settings.run_sets_above


def run_group_path(run_name: str, idx: int = 0, run_sets: bool = False) -> list[str]:
    """Groups below `results/` or `derived_parameters/` that hold one run's leaves.

    ``["runs", "run_00000003"]``, or with run sets (see `uses_run_sets`) the run's bucket of
    1,000 runs as pypet's ``$set`` wildcard names it: ``["runs", "run_set_00000",
    "run_00000003"]`` -- what pypet writes for ``f_add_result("runs.$set.$.z", ...)``. pypet
    registers every parent of run groups, so its `f_get_from_runs` and `traj.results.crun`
    find the runs in either layout; so does `pypet_sm.analysis.load`.
    """
    if run_sets:
        return ["runs", RUN_SET_NAME % (idx // RUN_SET_SIZE), run_name]
    return ["runs", run_name]


def hdf5_config_items(settings: records.StorageSettings) -> list[records.Parameter]:
    """The `config.hdf5.*` items pypet's storage service adds (names relative to config)."""
    items = [
        records.Parameter(f"hdf5.overview.{name}", {"data": on}, OVERVIEW_COMMENT)
        for name, on in enabled_tables(settings).items()
    ]
    values = {
        "purge_duplicate_comments": settings.purge_duplicate_comments,
        "results_per_run": settings.results_per_run,
        "derived_parameters_per_run": settings.derived_parameters_per_run,
        "complevel": settings.complevel,
        "complib": settings.complib,
        "encoding": "utf8",
        "fletcher32": settings.fletcher32,
        "shuffle": settings.shuffle,
        "pandas_format": "fixed",
    }
    items += [
        records.Parameter(f"hdf5.{name}", {"data": value}, HDF5_COMMENTS[name])
        for name, value in values.items()
    ]
    return items


def environment_config_items(
    environment: records.EnvironmentRecord, trajectory_name: str, trajectory_timestamp: float
) -> list[records.Parameter]:
    """`config.environment.<env>.*`: settings, trajectory, timestamp, hexsha, versions; and
    `config.git.commit_<sha7>_<time>.*` when git was used."""
    values: dict[str, Any] = {k: v for k, v in environment.settings.items() if v is not None}
    start = environment.timestamp  # the invocation's start, before any of its runs
    finish = max(environment.finish_timestamp or start, start)
    values.update(
        {
            "trajectory.name": trajectory_name,
            "trajectory.timestamp": trajectory_timestamp,
            "timestamp": environment.timestamp,
            "start_timestamp": start,
            "finish_timestamp": finish,
            "runtime": format_runtime(start, finish),
            "hexsha": environment.hexsha,
        }
    )
    values.update({f"snakemake.{key}": str(value) for key, value in environment.invocation.items()})
    prefix = f"environment.{environment.name}."
    items = [
        records.Parameter(prefix + key, {"data": value}, ENVIRONMENT_COMMENTS.get(key, ""))
        for key, value in values.items()
    ]
    items += [
        records.Parameter(f"{prefix}versions.{package}", {"data": version}, VERSION_COMMENT)
        for package, version in environment.versions.items()
    ]
    if environment.git:  # named like pypet: commit_<sha7>_<commit time>
        git = environment.git
        stamp = time.localtime(git.get("committed_date", environment.timestamp))
        sha = str(git.get("hexsha", environment.hexsha))[:7]
        commit = f"git.commit_{sha}_{time.strftime(GIT_TIME_FORMAT, stamp)}."
        items += [
            records.Parameter(commit + key, {"data": value}, GIT_COMMENTS.get(key, ""))
            for key, value in git.items()
            if value is not None
        ]
    return items


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
        settings = record.settings
        self.h5 = h5
        self.record = record
        self.filters = h5.filters
        self.root = h5.create_group("/", record.name, title=record.name)
        if record.comment:
            self.root._v_attrs.SRVC_INIT_COMMENT = record.comment
        self.explored = _exploration_order(record)
        self.default_hexsha = record.environments[-1].hexsha if record.environments else "N/A"
        self.branches: dict[str, tables.Group] = {}
        self.run_parents: dict[tuple[str, ...], tables.Group] = {}
        self.run_sets = uses_run_sets(record.length, settings)
        self.config: list[records.Item] = []
        for environment in record.environments:
            self.config += environment_config_items(environment, record.name, record.timestamp)
        self.config += hdf5_config_items(settings) + list(record.config)
        length = record.length
        expected = {
            "config_overview": len(self.config),
            "parameters_overview": len(record.parameters),
            "explored_parameters_overview": len(self.explored),
            "derived_parameters_overview": settings.derived_parameters_per_run * length,
            "results_overview": settings.results_per_run * length,
            "runs": length,
        }
        self.overview = OverviewWriter(h5, self.root, settings, self.filters, expected)
        self.stacked = self.index = None
        if settings.layout == "stacked":
            self.stacked = StackedWriter(h5, self.root, length, self.filters)
        else:
            self.index = StackedWriter(h5, self.root, length, self.filters, INDEX, True)

    def branch(self, name: str) -> tables.Group:
        if name not in self.branches:
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
        overview.write_explorations([f"parameters.{p.name}" for p in self.explored])
        config = self.branch("config")
        for item in self.config:
            parent, leaf = _split(item.name)
            store_parameter(self.h5, ensure_group(self.h5, config, parent), item, self.filters)
            location = "config." + parent if parent else "config"
            value = item.values["data"]
            overview.add_leaf(
                "config_overview", location, leaf, partial(value_string, value), item.comment
            )
        for name, comment in GROUP_COMMENTS.items():
            if name in config:
                config._f_get_child(name)._v_attrs.SRVC_INIT_COMMENT = comment
        parameters = self.branch("parameters")
        for item in record.parameters:
            parent, leaf = _split(item.name)
            group = ensure_group(self.h5, parameters, parent)
            store_parameter(self.h5, group, item, self.filters)
            location = "parameters." + parent if parent else "parameters"
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

    def write_runs(self, runs) -> None:
        # PyTables' own node attributes (CLASS, VERSION, TITLE...) cost about as much as creating
        # the nodes; pypet does not read them and PyTables infers the node classes without them,
        # so the bulk of the file (the runs' nodes) is written without.
        self.h5.params["PYTABLES_SYS_ATTRS"] = False
        try:
            self._write_runs(runs)
        finally:
            self.h5.params["PYTABLES_SYS_ATTRS"] = True

    def _write_runs(self, runs) -> None:
        next_idx = 0
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

    def _summary(self, idx: int) -> str:
        explored = (
            (_split(p.name)[1], f"parameters.{p.name}", p.explored[idx]) for p in self.explored
        )
        return parameter_summary(explored)

    def _placeholder(self, idx: int) -> RunRow:
        # a run that never reported back, shown like pypet shows runs that did not run
        return RunRow(idx, f"run_{idx:08d}", 0.0, 0.0, self._summary(idx), "N/A", False)

    def _write_run_items(self, run: records.RunRecord) -> None:
        path = run_group_path(run.name, run.idx, self.run_sets)
        for branch, items in (
            ("derived_parameters", run.derived_parameters),
            ("results", run.results),
        ):
            groups: dict[str, tables.Group] = {}  # intermediate groups of dotted names
            for item in items:
                parent, leaf = _split(item.name)
                location = ".".join([branch, *path, *([parent] if parent else [])])
                if self.stacked is not None and self.stacked.add(branch, run.idx, item):
                    self._record_run_item(branch, location, leaf, item)
                    continue
                if self.index is not None:
                    self.index.add(branch, run.idx, item)
                if not groups:  # the run's group only when something is stored in it
                    groups[""] = self._run_group(branch, path)
                if parent not in groups:
                    groups[parent] = ensure_group(self.h5, groups[""], parent)
                self._write_run_item(branch, groups[parent], location, leaf, item)

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
    def _value_string(branch: str, item: records.Item):
        if branch == "results":
            return partial(result_value_string, item.values)
        return partial(value_string, item.values["data"])

    def _write_run_item(self, branch, group, location: str, leaf: str, item: records.Item) -> None:
        overview = self.overview
        value = self._value_string(branch, item)
        comment = overview.comment_to_store(branch, location, leaf, value, item.comment)
        if branch == "results":
            store_result(self.h5, group, item, self.filters, comment)
        elif (comment or "") == item.comment:
            store_parameter(self.h5, group, item, self.filters)
        else:  # purged: the node goes without its comment, the overview row keeps it
            store_parameter(self.h5, group, dataclasses.replace(item, comment=""), self.filters)
        overview.add_leaf(branch + "_overview", location, leaf, value, item.comment)


def write_trajectory(path: str | os.PathLike, record: records.TrajectoryRecord) -> None:
    """Write `record` to a new HDF5 file at `path` (replacing any file there)."""
    settings = record.settings
    filters = tables.Filters(  # pypet's: for CArrays and Tables; tiny scalars are plain Arrays
        complevel=settings.complevel,
        complib=settings.complib,
        shuffle=settings.shuffle,
        fletcher32=settings.fletcher32,
    )
    with warnings.catch_warnings():
        # user names like "run-1" are fine for pypet but not Python identifiers
        warnings.simplefilter("ignore", tables.NaturalNameWarning)
        with tables.open_file(path, "w", title=record.file_title, filters=filters) as h5:
            writer = _Writer(h5, record)
            writer.write_head()
            writer.write_runs(record.runs)
