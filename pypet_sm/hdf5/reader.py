"""The one reader of trajectory files: everything outside `pypet_sm.hdf5` that looks into a
file asks here (the analysis loader, the CLI, the merge's read-back, the failure listing, the
target-file check), so nothing else imports PyTables or knows where the layout keeps what.

    with TrajectoryFile(path) as stored:          # HDF5Error (an OSError) if unreadable
        stored.names                              # the trajectories it holds
        trajectory = stored.trajectory("sweep")
        trajectory.runs_count(), trajectory.runs_rows(), trajectory.root.groups()

Nodes are opened when first asked for: listing the 100,000 run groups of a large trajectory
gives names, not opened groups (`run_locations`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tables

from pypet_sm.errors import HDF5Error
from pypet_sm.hdf5 import attributes, layout
from pypet_sm.hdf5.codec import LoadedLeaf
from pypet_sm.hdf5.leaf_load import load_leaf
from pypet_sm.hdf5.overview import PROVENANCE_DESCRIPTION
from pypet_sm.hdf5.run_scalars import RunScalarsReader
from pypet_sm.hdf5.stacked import StackedReader

# the columns of `runs_provenance` beyond the run's index and name, in the table's order
PROVENANCE_COLUMNS = [name for name in PROVENANCE_DESCRIPTION if name not in ("idx", "name")]


LOCKED = "locked"
TRUNCATED = "truncated"
NOT_HDF5 = "not HDF5"
DAMAGED = "damaged"


def _reason(text: str) -> tuple[str, str]:
    """(kind, what to tell the user) of an HDF5 back trace from opening a file."""
    lowered = text.lower()
    if "unable to lock" in lowered or "resource temporarily unavailable" in lowered:
        return LOCKED, (
            "is open in another program that may be writing it (HDF5 locked it): close it "
            "there, or wait until that program is done, then try again"
        )
    if "truncated file" in lowered:
        return TRUNCATED, (
            "is truncated: shorter than its own header says (a copy or a write that did not "
            "finish); it is damaged"
        )
    if "signature not found" in lowered:
        return NOT_HDF5, "is not an HDF5 file"
    # the library's innermost message, without the file/line lines of its back trace
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith(("File ", "HDF5 error back trace"))
    ]
    return DAMAGED, f"cannot be read as HDF5 ({lines[-1] if lines else text.strip()[:200]})"


def open_error(path: str | os.PathLike, error: BaseException) -> HDF5Error:
    """One line naming `path` and what is wrong with it, instead of HDF5's back trace;
    `.kind` is LOCKED, TRUNCATED, NOT_HDF5 or DAMAGED, `.reason` the line without the path."""
    if isinstance(error, IsADirectoryError) or Path(path).is_dir():
        kind, text, number = DAMAGED, "is a folder, not a trajectory file", errno.EISDIR
    else:
        kind, text = _reason(str(error))
        number = errno.EAGAIN if kind == LOCKED else errno.EIO
    found = HDF5Error(f"{path} {text}")
    found.errno, found.kind, found.reason = number, kind, text
    return found


def is_hdf5_file(path: str | os.PathLike) -> bool:
    """Whether `path` is an HDF5 file; OSError (HDF5Error) if it cannot be read."""
    try:
        return bool(tables.is_hdf5_file(str(path)))
    except (tables.HDF5ExtError, IsADirectoryError) as error:
        raise open_error(path, error) from None


class StoredGroup:
    """A group of the file: a leaf (`is_leaf`) or a group holding groups."""

    __slots__ = ("_node",)

    def __init__(self, node: tables.Group) -> None:
        self._node = node

    @property
    def name(self) -> str:
        return self._node._v_name

    def is_leaf(self) -> bool:
        return bool(attributes.read(self._node, layout.LEAF, False))

    def child_names(self) -> list[str]:
        """Names of all children, without opening them."""
        return list(self._node._v_children)

    def __contains__(self, name: str) -> bool:
        return name in self._node._v_children

    def groups(self) -> Iterator[tuple[str, StoredGroup]]:
        """(name, group) of the child groups (value nodes of leaves are not groups)."""
        for name, node in self._node._v_children.items():
            if isinstance(node, tables.Group):
                yield name, StoredGroup(node)

    def child(self, name: str) -> StoredGroup | None:
        """The child group `name`, None if there is none."""
        if name not in self._node._v_children:
            return None
        node = self._node._f_get_child(name)
        return StoredGroup(node) if isinstance(node, tables.Group) else None

    def path(self, *names: str) -> StoredGroup | None:
        """The group `names` below this one, None if any of them is missing."""
        group: StoredGroup | None = self
        for name in names:
            if group is None:
                return None
            group = group.child(name)
        return group

    def load_leaf(self, parameter: bool | None = None) -> LoadedLeaf:
        """The values of this leaf (see `leaf_load.load_leaf`)."""
        return load_leaf(self._node, parameter=parameter)


def run_locations(runs: StoredGroup) -> Iterator[tuple[str, StoredGroup]]:
    """(run name, the group holding that run's group) for each run below a branch's `runs`
    group, looking through pypet's run sets of 1,000 runs; the run groups stay unopened."""
    for name in runs.child_names():
        if name.startswith(layout.RUN_SET_PREFIX):
            run_set = runs.child(name)
            if run_set is not None:
                for run in run_set.child_names():
                    yield run, run_set
        else:
            yield name, runs


class StoredTrajectory:
    """One trajectory group of an open file."""

    def __init__(self, h5: tables.File, name: str) -> None:
        self._h5 = h5
        self._node = h5.get_node(f"/{name}")
        self.name = name
        self.root = StoredGroup(self._node)
        self._runs_table: tables.Table | None | bool = False  # False: not looked up yet

    def _table(self, path: str) -> tables.Table | None:
        try:
            return self._h5.get_node(self._node, path)
        except tables.NoSuchNodeError:
            return None

    @property
    def comment(self) -> str:
        return str(attributes.read(self._node, layout.COMMENT, ""))

    def _runs(self) -> tables.Table | None:
        if self._runs_table is False:
            self._runs_table = self._table(layout.RUNS_PATH)
        return self._runs_table

    def has_runs_table(self) -> bool:
        return self._runs() is not None

    def _existing_runs(self) -> tables.Table:
        runs = self._runs()
        if runs is None:
            raise LookupError(f"{self.name} has no {layout.RUNS_PATH} table")
        return runs

    def runs_count(self) -> int:
        """Rows of `overview/runs` (LookupError if there is none)."""
        return self._existing_runs().nrows

    def runs_rows(self) -> np.ndarray:
        """The rows of `overview/runs` (10^5 rows take half a second: read once, keep them)."""
        return self._existing_runs().read()

    def completed(self) -> np.ndarray:
        """The `completed` column of `overview/runs`."""
        return self._existing_runs().col("completed")

    def provenance_rows(self) -> np.ndarray | None:
        """The rows of `overview/runs_provenance`; None in files of pypet, or of pypet_sm
        before provenance."""
        table = self._table(layout.PROVENANCE_PATH)
        return None if table is None else table.read()

    def exploration_order(self) -> list[str]:
        """Full names of the explored parameters in pypet's `explorations` table."""
        table = self._table(layout.EXPLORATIONS_PATH)
        return [] if table is None else [row[0].decode() for row in table.read()]

    def failed_runs(self) -> list[dict[str, Any]]:
        """idx, name, exception and traceback of each row of `overview/failed_runs`."""
        table = self._table(layout.FAILED_RUNS_PATH)
        if table is None:
            return []
        return [
            {
                "idx": int(row["idx"]),
                "name": row["name"].decode(),
                "exception": row["exception"].decode(errors="replace"),
                "traceback": row["traceback"].decode(errors="replace"),
            }
            for row in table.read()
        ]

    def run_item_names(self, branch: str) -> list[tuple[str, str]]:
        """(location, name) of each row of pypet's `overview/<branch>_summary`: every item
        name the runs of `branch` hold, once, where it was first seen; [] without the table."""
        table = self._table(f"{layout.OVERVIEW}/{branch}_summary")
        if table is None:
            return []
        rows = table.read()
        return [
            (location.decode("utf-8", "replace"), name.decode("utf-8", "replace"))
            for location, name in zip(rows["location"], rows["name"], strict=True)
        ]

    def stacked(self) -> StackedReader:
        return StackedReader(self._node)

    def run_scalars(self) -> RunScalarsReader:
        return RunScalarsReader(self._node)

    def runs_group(self, branch: str) -> StoredGroup | None:
        """`<branch>/runs`, None if the branch stored no runs."""
        return self.root.path(branch, layout.RUNS_GROUP)

    def run_parent(self, branch: str, idx: int) -> StoredGroup | None:
        """The group holding run `idx`'s group in `branch` (`runs`, or its run set), without
        listing the other runs; None if the run stored nothing there."""
        runs = self.runs_group(branch)
        if runs is None:
            return None
        name = layout.run_name(idx)
        if name in runs:
            return runs
        run_set = runs.child(layout.run_set_name(idx))
        return run_set if run_set is not None and name in run_set else None


class TrajectoryFile:
    """An HDF5 trajectory file open for reading; close it (or use `with`) when done."""

    def __init__(self, path: str | os.PathLike) -> None:
        try:
            self._h5 = attributes.open_file(path, mode="r")
        except (tables.HDF5ExtError, IsADirectoryError) as error:
            raise open_error(path, error) from None

    @classmethod
    def from_image(cls, image: bytes, label: str) -> TrajectoryFile:
        """A file held in memory (`writer.trajectory_image`), `label` naming it in errors;
        nothing is read from or written to the disk."""
        found = cls.__new__(cls)
        try:
            found._h5 = attributes.open_file(
                label,
                mode="r",
                driver="H5FD_CORE",
                driver_core_image=image,
                driver_core_backing_store=0,
            )
        except tables.HDF5ExtError as error:
            raise open_error(label, error) from None
        return found

    @property
    def names(self) -> list[str]:
        """The file's top-level groups (trajectories, and groups users stored beside them)."""
        return [group._v_name for group in self._h5.root._f_iter_nodes("Group")]

    @property
    def trajectory_names(self) -> list[str]:
        """The top-level groups that hold a trajectory (pypet writes `overview/info` into
        every one)."""
        info = f"{layout.OVERVIEW}/{layout.INFO_TABLE}"
        found = []
        for group in self._h5.root._f_iter_nodes("Group"):
            try:
                self._h5.get_node(group, info)
            except tables.NoSuchNodeError:
                continue
            found.append(group._v_name)
        return found

    def trajectory(self, name: str) -> StoredTrajectory:
        return StoredTrajectory(self._h5, name)

    def failed_runs(self) -> list[dict[str, Any]]:
        """The rows of every trajectory's `overview/failed_runs`."""
        return [run for name in self.names for run in self.trajectory(name).failed_runs()]

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> TrajectoryFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
