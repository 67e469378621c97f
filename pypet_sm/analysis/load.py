"""Loading a trajectory file for analysis — ours or one written by pypet.

    traj = pypet_sm.load_trajectory("hdf5/neuron_sweep.hdf5")
    traj.par.neuron.I                      # default value; explored range: traj.f_get('I').explored
    traj.results.runs.run_00000003.neuron.rate
    traj.f_get_from_runs("rate")           # {run name: value}, in run order
    for name in traj.f_iter_runs(): traj.par.neuron.I, traj.crun.neuron.rate
    traj.runs_table()                      # runs x (explored parameters, scalar results)

Parameters and config are read at once (they are small); the results and derived parameters
of single runs are read when first touched, so opening a file of a million runs is cheap.
The file is read through `pypet_sm.hdf5.reader`; the tree is built by `tree`, the questions
across runs are `queries`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pypet_sm.analysis import labelled
from pypet_sm.analysis.current_run import CurrentRun
from pypet_sm.analysis.files import AmbiguousTrajectory, UnknownRunError, open_file, pick_name
from pypet_sm.analysis.pypet_api import pypet_leaf
from pypet_sm.analysis.pypet_nodes import LoadedGroup, PypetGroupAPI
from pypet_sm.analysis.queries import RunQueries
from pypet_sm.analysis.tree import (
    LoadError,
    Loading,
    PickledLeaf,
    RunBranch,
    children_of,
    known_classes,
    lazy,
    leaves_below,
    stored_range,
    stored_values,
)
from pypet_sm.define.naming import Group, Leaf
from pypet_sm.define.view import TrajectoryView
from pypet_sm.hdf5 import layout
from pypet_sm.hdf5.reader import StoredGroup, TrajectoryFile

__all__ = ["AmbiguousTrajectory", "LoadError", "LoadedTrajectory", "load_trajectory"]
RUN_BRANCHES = layout.RUN_BRANCHES


class LoadedTrajectory(RunQueries, CurrentRun, PypetGroupAPI, TrajectoryView):
    """A trajectory read from a file; close it (or use `with`) when done. Without either, the
    file is closed when the trajectory is garbage collected or at exit."""

    # pypet's way in (pypet_sm.Trajectory(filename=...).f_load(...)) behaves exactly as
    # pypet; load_trajectory keeps two conveniences (see README "Loading a trajectory")
    _pypet_style = False
    # settable here, as in pypet's analysis (f_get_from_runs, `traj.x`); shadows the
    # always-on property of the views of a trajectory being built or run
    v_fast_access: bool = True

    def __init__(
        self,
        file: TrajectoryFile,
        name: str,
        dynamic_imports: list[Any] | None = None,
        allow_pickle: bool = False,
    ) -> None:
        stored = file.trajectory(name)
        known = Loading(known_classes(stored.root, dynamic_imports), allow_pickle, self)
        super().__init__(name, stored.comment)
        object.__setattr__(self, "_file", file)
        # closes the file when the trajectory is collected or at exit, whichever is first
        object.__setattr__(self, "_finalizer", weakref.finalize(self, file.close))
        object.__setattr__(self, "_stored", stored)
        object.__setattr__(self, "_known_classes", known)
        object.__setattr__(self, "_single_runs", {})  # (branch, run) -> group, see _run_group
        object.__setattr__(self, "_item_paths", {})  # branch -> paths inside runs
        object.__setattr__(self, "v_fast_access", True)
        object.__setattr__(self, "v_auto_load", False)
        object.__setattr__(self, "_stacked", stored.stacked())
        self._children.update(children_of(stored.root, "", known))
        self._children.pop(layout.OVERVIEW, None)
        for branch in RUN_BRANCHES:
            child = self._children.get(branch)
            if isinstance(child, Group):
                self._children[branch] = RunBranch(child, self)
        # its rows are read when first asked for: 10^5 rows take half a second
        object.__setattr__(self, "_runs_rows", None)
        explored = [leaf for leaf in self.f_iter_leaves_of(layout.PARAMETERS) if leaf.v_explored]
        order = self._exploration_order()
        explored.sort(key=lambda leaf: order.get(leaf.v_full_name, len(order)))
        object.__setattr__(self, "_explored", explored)
        defaults = {id(leaf): stored_values(leaf)["data"] for leaf in explored}
        object.__setattr__(self, "_defaults", defaults)
        # the defaults as loaded (after a custom class's _load), restored as they are
        # (pickled ones are restored from their stored form: reading them would unpickle)
        loaded = {
            id(leaf): dict(leaf.values) for leaf in explored if not isinstance(leaf, PickledLeaf)
        }
        object.__setattr__(self, "_default_values", loaded)
        # pypet names every run run_%08d after its index, as the runs table has them
        run_names = layout.run_names(len(self))
        object.__setattr__(self, "_run_names", run_names)
        object.__setattr__(
            self, "_run_indices", dict(zip(run_names, range(len(run_names)), strict=True))
        )
        stacked = self._stacked
        self._children.pop(layout.STACKED_ROOT, None)
        for branch in RUN_BRANCHES:
            if stacked.names(branch):
                self._merge_stacked_runs(branch)
        # pypet's layout: the run scalars index only speeds up reading values across runs
        columns = stacked if stacked else stored.run_scalars()
        object.__setattr__(self, "_columns", columns)

    def _pypet_root(self) -> LoadedTrajectory:
        return self

    # the stacked layout ---------------------------------------------------------------------
    def _merge_stacked_runs(self, branch: str) -> None:
        """Make `<branch>.runs.run_X` show stacked items beside the run's stored nodes."""
        if branch not in self._children:
            self._children[branch] = RunBranch(LoadedGroup(branch, self), self)

        def load_runs(group: Group) -> dict[str, Group | Leaf]:
            runs = {run: self._run_group(branch, run) for run in self._run_names}
            return {run: found for run, found in runs.items() if found is not None}

        runs = LoadedGroup(f"{branch}.{layout.RUNS_GROUP}", self, loader=load_runs, container=True)
        self._children[branch]._children[layout.RUNS_GROUP] = runs

    def _load_run(
        self, branch: str, idx: int, stored: Group | None, group: Group
    ) -> dict[str, Group | Leaf]:
        holder = LoadedGroup(group.v_full_name, self)
        if stored is not None:
            holder._children.update(stored._children)
        class_name = "Result" if branch == layout.RESULTS else "Parameter"
        for name, (values, comment) in self._stacked.run_items(branch, idx).items():
            full_name = f"{group.v_full_name}.{name}"
            leaf = Leaf(full_name, values, comment, class_name)
            holder.add_leaf(name, pypet_leaf(leaf, result=branch == layout.RESULTS))
        return holder._children

    def _exploration_order(self) -> dict[str, int]:
        """Full name -> position in pypet's `explorations` table (the order of f_explore)."""
        return {name: position for position, name in enumerate(self._stored.exploration_order())}

    def _runs(self) -> np.ndarray:
        """The rows of `overview/runs`."""
        if not self._stored.has_runs_table():
            raise LoadError(f"{self.v_name} has no {layout.RUNS_PATH} table")
        if self._runs_rows is None:
            object.__setattr__(self, "_runs_rows", self._stored.runs_rows())
        return self._runs_rows

    def has_runs_table(self) -> bool:
        """Whether the file has pypet's `overview/runs` (files pypet wrote without it do not)."""
        return self._stored.has_runs_table()

    def _read_provenance(self) -> np.ndarray | None:
        # None: files of pypet, or of pypet_sm before provenance
        return self._stored.provenance_rows()

    def f_get_run_provenance(self, name_or_idx: int | str) -> dict[str, Any]:
        """Where and how a run ran: environment, host, pid, cluster_job_id, attempt, start,
        finish, runtime, cluster_node (`overview/runs_provenance`)."""
        table = self._read_provenance()
        if table is None:
            raise LoadError(f"{self.v_name} has no {layout.PROVENANCE_PATH} table")
        row = table[self._index(name_or_idx)]
        return {
            column: (row[column].decode() if isinstance(row[column], bytes) else row[column].item())
            for column in table.dtype.names or ()
        }

    def f_iter_leaves_of(self, branch: str) -> Iterator[Leaf]:
        if branch in self._children:
            yield from self._children[branch].f_iter_leaves()

    # runs -------------------------------------------------------------------
    def __len__(self) -> int:
        if self._stored.has_runs_table():
            return self._stored.runs_count()
        return len(stored_range(self._explored[0]) or ()) if self._explored else 1

    def f_get_run_names(self) -> list[str]:
        """Run names in run order."""
        return self._run_names

    def _explored_leaves(self) -> list[Leaf]:
        return self._explored

    def f_get_run_information(self, name_or_idx: int | str) -> dict[str, Any]:
        """pypet's run information: idx, name, timestamps, runtime, completed."""
        rows = self._runs()
        row = rows[self._index(name_or_idx)]
        return {
            column: (row[column].decode() if isinstance(row[column], bytes) else row[column].item())
            for column in rows.dtype.names or ()
        }

    def _index(self, name_or_idx: int | str) -> int:
        if isinstance(name_or_idx, str):
            try:
                return self._run_indices[name_or_idx]
            except KeyError:
                raise UnknownRunError(f"{self.v_name} has no run {name_or_idx!r}") from None
        if not 0 <= name_or_idx < len(self):
            raise LoadError(f"run index {name_or_idx} out of range 0..{len(self) - 1}")
        return int(name_or_idx)

    def __getattr__(self, name: str) -> Any:
        # load_trajectory's `traj.crun` is the current run's results group; pypet's way in
        # searches a node named like the run (NotUniqueNodeError when results and derived
        # parameters both hold it)
        if name == "crun" and not self._pypet_style:
            return self._current_run(layout.RESULTS)
        return super().__getattr__(name)

    def _run_group(self, branch: str, run: str) -> Group | None:
        """Run `run`'s group in `branch` (one object per run, opened when first touched),
        None if the run stored nothing there."""
        key = (branch, run)
        if key not in self._single_runs:
            self._single_runs[key] = self._open_run(branch, run)
        return self._single_runs[key]

    def _locate_run(self, branch: str, idx: int) -> tuple[StoredGroup, str] | None:
        """(the stored group holding run `idx`'s group, its full name): `<branch>.runs`, a
        run set below it, or a run set right below the branch (pypet's `$set.$.name`)."""
        run, run_set = layout.run_name(idx), layout.run_set_name(idx)
        root = self._stored.root
        runs = root.path(branch, layout.RUNS_GROUP)
        if runs is not None:
            if run in runs:
                return runs, f"{branch}.{layout.RUNS_GROUP}"
            below = runs.child(run_set)
            if below is not None and run in below:
                return below, f"{branch}.{layout.RUNS_GROUP}.{run_set}"
        beside = root.path(branch, run_set)
        if beside is not None and run in beside:
            return beside, f"{branch}.{run_set}"
        return None

    def _open_run(self, branch: str, run: str) -> Group | None:
        """Run `run`'s group in `branch` without listing the other runs."""
        idx = self._run_indices.get(run)
        if idx is None:
            return None
        located = self._locate_run(branch, idx)
        if self._stacked.names(branch):
            full_name = f"{branch}.{layout.RUNS_GROUP}.{run}"
            stored = None
            if located is not None:
                stored = lazy(located[0], run, full_name, self._known_classes, (branch, run))
            loader = partial(self._load_run, branch, idx, stored)
            return LoadedGroup(full_name, self, loader=loader, run=(branch, run))
        if located is None:
            return None
        parent, parent_name = located
        return lazy(parent, run, f"{parent_name}.{run}", self._known_classes, (branch, run))

    def _run_item_paths(self, branch: str) -> list[tuple[str, ...]]:
        """The paths below a run group of `branch` that any run holds (groups on the way
        included), from the file's summary table and the stacked layout's names."""
        if branch not in self._item_paths:
            paths = set()
            for location, name in self._stored.run_item_names(branch):
                parts = location.split(".")
                inside = [i for i, part in enumerate(parts) if _is_run(part)]
                if inside:
                    paths.add((*parts[inside[0] + 1 :], name))
            for name in self._stacked.names(branch):
                paths.add(tuple(name.split(".")))
            if not paths:  # no summary table: what the first run holds
                for run in self._run_names[:1]:
                    group = self._run_group(branch, run)
                    for path, _ in leaves_below(group) if group is not None else []:
                        paths.add(tuple(path.split(".")))
            expanded = {path[:end] for path in paths for end in range(1, len(path) + 1)}
            self._item_paths[branch] = sorted(expanded)
        return self._item_paths[branch]

    def _runs_having(
        self, branch: str, runs: list[str], path: tuple[str, ...], limit: int
    ) -> list[str]:
        """The first `limit` of `runs` whose group in `branch` holds `path`, looked up in the
        file without reading the runs (stacked items: in the run's group)."""
        found: list[str] = []
        stacked = bool(self._stacked.names(branch))
        for run in runs:
            if len(found) >= limit:
                break
            idx = self._run_indices.get(run)
            if idx is None:
                continue
            if stacked:
                group = self._run_group(branch, run)
                if group is not None and _has_path(group, path):
                    found.append(run)
                continue
            located = self._locate_run(branch, idx)
            if located is not None and located[0].path(run, *path) is not None:
                found.append(run)
        return found

    def run_leaves(self, branch: str, run: str) -> list[tuple[str, Leaf]]:
        """(name below the run group, leaf) of a run's results or derived parameters
        (`branch`), sorted by name (the same whatever the layout); [] if it has none."""
        group = self._run_group(branch, run)
        return leaves_below(group) if group is not None else []

    def first_run_results(self) -> list[tuple[str, Leaf]]:
        """`run_leaves("results", ...)` of the first run that stored results: what each run
        holds."""
        for run in self.f_get_run_names():
            found = self.run_leaves("results", run)
            if found:
                return found
        return []

    def to_xarray(self, results: list[str] | None = None, grid: bool = True) -> Any:
        """The results over the exploration as an xarray.Dataset (`labelled.to_xarray`)."""
        return labelled.to_xarray(self, results, grid)

    # file -------------------------------------------------------------------
    def f_is_empty(self) -> bool:
        """pypet's: whether the trajectory holds no parameters, results, ... at all."""
        return not any(True for _ in self.f_iter_leaves())

    def f_close(self) -> None:
        """Close the file (also done when the trajectory is collected, or at exit)."""
        self._finalizer()

    close = f_close

    def __enter__(self) -> LoadedTrajectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f_close()


def load_trajectory(
    path: str | Path,
    name: str | None = None,
    dynamic_imports: list[Any] | None = None,
    allow_pickle: bool = False,
    live: bool = False,
) -> LoadedTrajectory:
    """Open the trajectory `name` (default: the only one) of the HDF5 file at `path`.

    `live=True`: `path` is a project (its folder or config file), read while snakemake runs
    or after a crash: the runs finished so far (`pypet_sm.analysis.live`).

    `dynamic_imports`: your own Parameter/Result classes (classes or 'module:Class'), as
    pypet's; classes the file's config.yaml listed are found without it when importable.
    `allow_pickle`: items the file holds as pickles (PickleResult, PickleParameter, object
    arrays) are unpickled when first asked for only with True, since unpickling runs code
    the file names; with False (the default) asking for one is a LoadError naming it.
    """
    if live:
        from pypet_sm.analysis.live import load_live

        return load_live(path, name, dynamic_imports, allow_pickle)
    path = Path(path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        raise LoadError(f"{path} is a config, not a trajectory file: live=True reads its runs")
    file = open_file(path)
    try:
        return LoadedTrajectory(file, pick_name(path, file, name), dynamic_imports, allow_pickle)
    except BaseException:
        file.close()
        raise


def _is_run(part: str) -> bool:
    return part.startswith(layout.RUN_PREFIX) and part[len(layout.RUN_PREFIX) :].isdigit()


def _has_path(group: Group, path: tuple[str, ...]) -> bool:
    node: Group | Leaf = group
    for part in path:
        if not isinstance(node, Group) or part not in node._children:
            return False
        node = node._children[part]
    return True


def _group(node: Group | Leaf | None) -> Group | None:
    """`node` where the tree holds a group (a run's group, an environment), else None."""
    return node if isinstance(node, Group) else None
