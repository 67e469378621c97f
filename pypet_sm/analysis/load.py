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

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

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
    runs_of,
    stored_range,
    stored_values,
)
from pypet_sm.define.naming import Group, Leaf, NamingError
from pypet_sm.define.view import TrajectoryView
from pypet_sm.hdf5 import layout
from pypet_sm.hdf5.reader import TrajectoryFile

__all__ = ["AmbiguousTrajectory", "LoadError", "LoadedTrajectory", "load_trajectory"]
RUN_BRANCHES = layout.RUN_BRANCHES


class LoadedTrajectory(RunQueries, TrajectoryView):
    """A trajectory read from a file; close it (or use `with`) when done."""

    def __init__(
        self,
        file: TrajectoryFile,
        name: str,
        dynamic_imports: list[Any] | None = None,
        allow_pickle: bool = False,
    ) -> None:
        stored = file.trajectory(name)
        known = Loading(known_classes(stored.root, dynamic_imports), allow_pickle)
        super().__init__(name, stored.comment)
        object.__setattr__(self, "_file", file)
        object.__setattr__(self, "_stored", stored)
        object.__setattr__(self, "_known_classes", known)
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
        # pypet names every run run_%08d after its index, as the runs table has them
        run_names = [layout.run_name(idx) for idx in range(len(self))]
        object.__setattr__(self, "_run_names", run_names)
        object.__setattr__(self, "_run_indices", {run: i for i, run in enumerate(run_names)})
        object.__setattr__(self, "_single_runs", {})  # (branch, run) -> group, see _run_group
        stacked = stored.stacked()
        self._children.pop(layout.STACKED_ROOT, None)
        for branch in RUN_BRANCHES:
            if stacked.names(branch):
                self._merge_stacked_runs(branch)
        # pypet's layout: the run scalars index only speeds up reading values across runs
        columns = stacked if stacked else stored.run_scalars()
        object.__setattr__(self, "_stacked", stacked)
        object.__setattr__(self, "_columns", columns)

    # the stacked layout ---------------------------------------------------------------------
    def _merge_stacked_runs(self, branch: str) -> None:
        """Make `<branch>.runs.run_X` show stacked items beside the run's stored nodes."""
        if branch not in self._children:
            self._children[branch] = RunBranch(Group(branch), self)
        stored_runs = self._stored.runs_group(branch)

        def load_runs(group: Group) -> dict[str, Group | Leaf]:
            stored = {}
            if stored_runs is not None:
                stored = runs_of(stored_runs, self._known_classes, group)
            return {
                run: Group(
                    f"{group.v_full_name}.{run}",
                    loader=partial(self._load_run, branch, idx, _group(stored.get(run))),
                )
                for idx, run in enumerate(self._run_names)
            }

        runs = Group(f"{branch}.{layout.RUNS_GROUP}", loader=load_runs)
        self._children[branch]._children[layout.RUNS_GROUP] = runs

    def _load_run(
        self, branch: str, idx: int, stored: Group | None, group: Group
    ) -> dict[str, Group | Leaf]:
        holder = Group(group.v_full_name)
        if stored is not None:
            holder._children.update(stored._children)
        class_name = "Result" if branch == layout.RESULTS else "Parameter"
        for name, (values, comment) in self._stacked.run_items(branch, idx).items():
            full_name = f"{group.v_full_name}.{name}"
            holder.add_leaf(name, Leaf(full_name, values, comment, class_name))
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
                raise LoadError(f"{self.v_name} has no run {name_or_idx!r}") from None
        if not 0 <= name_or_idx < len(self):
            raise LoadError(f"run index {name_or_idx} out of range 0..{len(self) - 1}")
        return int(name_or_idx)

    def f_set_crun(self, name_or_idx: int | str | None) -> None:
        """Make `traj.crun` and the explored parameters refer to one run (None: defaults)."""
        if name_or_idx is None:
            self._set_current(-1, None)
            for leaf in self._explored:
                if isinstance(leaf, PickledLeaf):
                    leaf._load({"data": self._defaults[id(leaf)]})
                else:
                    leaf.values["data"] = self._defaults[id(leaf)]
            return
        idx = self._index(name_or_idx)
        self._set_current(idx, self.f_get_run_names()[idx])
        for leaf in self._explored:
            self._show_value(leaf, (stored_range(leaf) or [])[idx])

    def f_restore_default(self) -> None:
        self.f_set_crun(None)

    def f_iter_runs(self) -> Iterator[str]:
        """Yield run names with the trajectory set to each run in turn, then restore it."""
        try:
            for name in self.f_get_run_names():
                self.f_set_crun(name)
                yield name
        finally:
            self.f_set_crun(None)

    def __getattr__(self, name: str) -> Any:
        # `crun` is looked up here, not as a property: a property's AttributeError would be
        # swallowed by Python and replaced by a generic "no item named 'crun'"
        if name == "crun":
            return self._current_run(layout.RESULTS)
        return super().__getattr__(name)

    def _current_run(self, branch: str) -> Group:
        """The current run's group in `branch` (`traj.crun`, `traj.<branch>.crun`)."""
        if self.v_crun is None:
            raise NamingError("no current run: use traj.f_set_crun(idx) or traj.f_iter_runs()")
        group = self._run_group(branch, self.v_crun)
        if group is None:
            raise NamingError(f"{branch} holds nothing of {self.v_crun}")
        return group

    def _run_group(self, branch: str, run: str) -> Group | None:
        try:
            runs = self._children[branch]._children[layout.RUNS_GROUP]
        except (KeyError, AttributeError):
            return None
        if runs._children_dict is None and run in self._run_indices:
            # not listed yet: open this run alone (listing 10^5 runs takes about a second)
            key = (branch, run)
            if key not in self._single_runs:
                self._single_runs[key] = self._open_run(branch, run)
            return self._single_runs[key]
        return _group(runs._children.get(run))

    def _open_run(self, branch: str, run: str) -> Group | None:
        """Run `run`'s group in `branch` without listing the other runs."""
        idx = self._run_indices[run]
        full_name = f"{branch}.{layout.RUNS_GROUP}.{run}"
        parent = self._stored.run_parent(branch, idx)
        stored = lazy(parent, run, full_name, self._known_classes) if parent is not None else None
        if self._stacked.names(branch):
            return Group(full_name, loader=partial(self._load_run, branch, idx, stored))
        return stored

    def _item_path(self, name: str) -> tuple[str, str]:
        """(branch, path below a run group) of the run item `name` (full or short)."""
        for branch in RUN_BRANCHES:
            prefix = f"{branch}.{layout.RUNS_GROUP}."
            if name.startswith(prefix):
                return branch, name[len(prefix) :].partition(".")[2]
        for run in self.f_get_run_names():
            for branch in RUN_BRANCHES:
                group = self._run_group(branch, run)
                if group is None:
                    continue
                try:
                    node = group.f_get(name)
                except NamingError:
                    continue
                return branch, node.v_full_name[len(group.v_full_name) + 1 :]
        raise LoadError(f"no run of {self.v_name} has a result or derived parameter {name!r}")

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

    def f_get_environments(self) -> dict[str, dict[str, Any]]:
        """Environment name -> its record in `config.environment` (hexsha, timestamps,
        runtime, settings, `versions.python`, `snakemake.command_line`, ...), oldest first."""
        try:
            environments = self._children[layout.CONFIG]._children["environment"]
        except (KeyError, AttributeError):
            return {}
        found = {
            name: {key: stored_values(leaf).get("data") for key, leaf in leaves_below(group)}
            for name, group in environments._children.items()
            if isinstance(group, Group)
        }
        return dict(sorted(found.items(), key=lambda item: item[1].get("timestamp") or 0))

    # file -------------------------------------------------------------------
    def f_close(self) -> None:
        self._file.close()

    def __enter__(self) -> LoadedTrajectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f_close()


class AmbiguousTrajectory(LoadError):
    """A file holding several trajectories, opened without naming one."""

    def __init__(self, path: Path, names: list[str]) -> None:
        self.path, self.names = path, names
        super().__init__(f"{path} holds trajectories {names}; pass name=... (one of them)")


def load_trajectory(
    path: str | Path,
    name: str | None = None,
    dynamic_imports: list[Any] | None = None,
    allow_pickle: bool = False,
) -> LoadedTrajectory:
    """Open the trajectory `name` (default: the only one) of the HDF5 file at `path`.

    `dynamic_imports`: your own Parameter/Result classes (classes or 'module:Class'), as
    pypet's; classes the file's config.yaml listed are found without it when importable.
    `allow_pickle`: items the file holds as pickles (PickleResult, PickleParameter, object
    arrays) are unpickled when first asked for only with True, since unpickling runs code
    the file names; with False (the default) asking for one is a LoadError naming it.
    """
    path = Path(path)
    if path.is_dir():
        raise LoadError(f"{path} is a folder, not a trajectory file")
    if not path.is_file():
        raise LoadError(f"trajectory file {path} does not exist")
    try:
        file = TrajectoryFile(path)
    except OSError as error:  # HDF5Error: one line naming the file and what is wrong
        raise LoadError(str(error)) from None
    try:
        # groups a user stored beside the trajectory (the merge keeps them) are not one
        names = file.trajectory_names or file.names
        if name is None:
            if not names:
                raise LoadError(f"{path} holds no trajectory")
            if len(names) != 1:
                raise AmbiguousTrajectory(path, names)
            name = names[0]
        elif name not in file.names:
            raise LoadError(f"{path} has no trajectory {name!r}; it holds {names}")
        return LoadedTrajectory(file, name, dynamic_imports, allow_pickle)
    except BaseException:
        file.close()
        raise


def _group(node: Group | Leaf | None) -> Group | None:
    """`node` where the tree holds a group (a run's group, an environment), else None."""
    return node if isinstance(node, Group) else None
