"""Loading a trajectory file for analysis — ours or one written by pypet.

    traj = pypet_sm.load_trajectory("hdf5/neuron_sweep.hdf5")
    traj.par.neuron.I                      # default value; explored range: traj.f_get('I').explored
    traj.results.runs.run_00000003.neuron.rate
    traj.f_get_from_runs("rate")           # {run name: value}, in run order
    for name in traj.f_iter_runs(): traj.par.neuron.I, traj.crun.neuron.rate
    traj.runs_table()                      # runs x (explored parameters, scalar results)

Parameters and config are read at once (they are small); the results and derived parameters
of single runs are read when first touched, so opening a file of a million runs is cheap.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import tables

from pypet_sm.define import classes, value_types
from pypet_sm.define.naming import Group, Leaf, NamingError
from pypet_sm.errors import PypetSmError
from pypet_sm.hdf5.codec import load_leaf
from pypet_sm.hdf5.overview import PROVENANCE_DESCRIPTION, PROVENANCE_TABLE
from pypet_sm.hdf5.stacked import INDEX, StackedReader
from pypet_sm.hdf5.stacked import ROOT as STACKED_ROOT
from pypet_sm.hdf5.writer import RUN_SET_NAME, RUN_SET_SIZE

RUN_BRANCHES = ("results", "derived_parameters")
logger = logging.getLogger("pypet_sm.analysis.load")
PROVENANCE_COLUMNS = [name for name in PROVENANCE_DESCRIPTION if name not in ("idx", "name")]


class LoadError(PypetSmError):
    """A file that is not a readable trajectory file, or a name it does not contain."""


def _is_leaf(node: tables.Node) -> bool:
    return isinstance(node, tables.Group) and bool(getattr(node._v_attrs, "SRVC_LEAF", False))


PARAMETER_BRANCHES = ("parameters", "derived_parameters", "config")


def _make_leaf(node: tables.Group, full_name: str, known: dict[str, type]) -> Leaf:
    parameter = full_name.partition(".")[0] in PARAMETER_BRANCHES
    loaded = load_leaf(node, parameter=parameter)
    try:
        return classes.make_leaf(
            full_name, loaded.values, loaded.comment, loaded.class_name, loaded.explored, known
        )
    except Exception as error:  # the user's _load failed: say which leaf
        raise LoadError(f"{full_name}: {loaded.class_name}._load failed: {error}") from error


def _children_of(
    h5_group: tables.Group, full_name: str, known: dict[str, type]
) -> dict[str, Group | Leaf]:
    """Build the children of a stored group; run groups (possibly bucketed) stay lazy."""
    children: dict[str, Group | Leaf] = {}
    for name, node in h5_group._v_children.items():
        if not isinstance(node, tables.Group):
            continue
        child_name = f"{full_name}.{name}" if full_name else name
        if _is_leaf(node):
            children[name] = _make_leaf(node, child_name, known)
        elif name == "runs":
            children[name] = Group(child_name, loader=partial(_runs_of, node, known))
        elif name.startswith("run_"):
            children[name] = _lazy(h5_group, name, child_name, known)
        else:
            # groups outside single runs are small: read them at once, so short names work
            group = Group(child_name)
            group._children.update(_children_of(node, child_name, known))
            children[name] = group
    return children


def _runs_of(
    h5_runs: tables.Group, known: dict[str, type], group: Group
) -> dict[str, Group | Leaf]:
    """The lazy run groups below `runs`, looking through pypet's run sets of 1,000 runs.

    Only names are listed: PyTables opens a node when it is first accessed, and opening the
    100,000 run groups of a large trajectory would take seconds.
    """
    children: dict[str, Group | Leaf] = {}
    for name in h5_runs._v_children:
        if name.startswith("run_set_"):
            run_set = h5_runs._f_get_child(name)
            for run in run_set._v_children:
                children[run] = _lazy(run_set, run, f"{group.v_full_name}.{run}", known)
        else:
            children[name] = _lazy(h5_runs, name, f"{group.v_full_name}.{name}", known)
    return children


def _lazy(h5_parent: tables.Group, name: str, full_name: str, known: dict[str, type]) -> Group:
    """The stored group `name` of `h5_parent`, opened and read when first touched."""

    def load(group: Group) -> dict[str, Group | Leaf]:
        return _children_of(h5_parent._f_get_child(name), group.v_full_name, known)

    return Group(full_name, loader=load)


def _recorded_classes(root: tables.Group) -> list[str]:
    """`module:Class` specs the environments that wrote the file listed (newest last)."""
    specs: list[str] = []
    try:
        environments = root._f_get_child("config")._f_get_child("environment")
    except tables.NoSuchNodeError:
        return specs
    for environment in environments._f_iter_nodes("Group"):
        try:
            node = environment._f_get_child("dynamically_imported_classes")
        except tables.NoSuchNodeError:
            continue
        if not _is_leaf(node):
            continue
        try:
            listed = json.loads(load_leaf(node, parameter=True).values["data"])
        except (ValueError, KeyError, TypeError):
            continue
        specs += [spec for spec in listed if isinstance(spec, str) and spec not in specs]
    return specs


def known_classes(root: tables.Group, dynamic_imports: list[Any] | None) -> dict[str, type]:
    """The classes to load the user's leaves into: `dynamic_imports` (classes or
    'module:Class' / 'module.Class' strings), then those the file's environments listed that
    can be imported here. A leaf of a class found in neither is a plain Leaf that keeps the
    class name (`v_class_name`) and the stored values."""
    try:
        known = classes.import_classes(list(dynamic_imports or []), "dynamic_imports")
    except PypetSmError as error:
        raise LoadError(str(error)) from None
    for spec in _recorded_classes(root):
        try:
            found = classes.import_classes([spec])
        except PypetSmError as error:
            logger.info("class %s recorded in the file is not available: %s", spec, error)
            continue
        for name, cls in found.items():
            known.setdefault(name, cls)  # dynamic_imports first
    return known


class _RunBranch(Group):
    """`traj.results` / `traj.derived_parameters`: `.crun` is the current run's group there,
    as in pypet (`traj.results.crun.z`, `traj.dpar.crun.n`)."""

    def __init__(self, group: Group, trajectory: LoadedTrajectory) -> None:
        super().__init__(group.v_full_name)
        object.__setattr__(self, "_children_dict", group._children)
        object.__setattr__(self, "_trajectory", trajectory)

    def __getattr__(self, name: str) -> Any:
        if name == "crun":
            return self._trajectory._current_run(self.v_full_name)
        return super().__getattr__(name)


def _leaves_below(group: Group) -> list[tuple[str, Leaf]]:
    """(name relative to `group`, leaf) of every leaf below it, sorted by name."""
    prefix = len(group.v_full_name) + 1
    return sorted(
        ((leaf.v_full_name[prefix:], leaf) for leaf in group.f_iter_leaves()),
        key=lambda item: item[0],
    )


class LoadedTrajectory(Group):
    """A trajectory read from a file; close it (or use `with`) when done."""

    def __init__(
        self, h5: tables.File, name: str, dynamic_imports: list[Any] | None = None
    ) -> None:
        root = h5.get_node(f"/{name}")
        known = known_classes(root, dynamic_imports)
        super().__init__("", loader=None)
        object.__setattr__(self, "_h5", h5)
        object.__setattr__(self, "_root_node", root)
        object.__setattr__(self, "v_name", name)
        comment = getattr(root._v_attrs, "SRVC_INIT_COMMENT", "")
        object.__setattr__(self, "v_comment", str(comment))  # PyTables gives numpy.str_
        object.__setattr__(self, "v_idx", -1)
        object.__setattr__(self, "v_crun", None)
        object.__setattr__(self, "_known_classes", known)
        self._children.update(_children_of(root, "", known))
        self._children.pop("overview", None)
        for branch in RUN_BRANCHES:
            if isinstance(self._children.get(branch), Group):
                self._children[branch] = _RunBranch(self._children[branch], self)
        try:  # its rows are read when first asked for: 10^5 rows take half a second
            runs = self._h5.get_node(root, "overview/runs")
        except tables.NoSuchNodeError:
            runs = None
        object.__setattr__(self, "_runs_node", runs)
        object.__setattr__(self, "_runs_rows", None)
        explored = [
            leaf for leaf in self.f_iter_leaves_of("parameters") if leaf.explored is not None
        ]
        order = self._exploration_order()
        explored.sort(key=lambda leaf: order.get(leaf.v_full_name, len(order)))
        object.__setattr__(self, "_explored", explored)
        object.__setattr__(self, "_defaults", {id(leaf): leaf.values["data"] for leaf in explored})
        # pypet names every run run_%08d after its index, as the runs table has them
        run_names = [f"run_{idx:08d}" for idx in range(len(self))]
        object.__setattr__(self, "_run_names", run_names)
        object.__setattr__(self, "_run_indices", {run: i for i, run in enumerate(run_names)})
        object.__setattr__(self, "_single_runs", {})  # (branch, run) -> group, see _run_group
        stacked = StackedReader(root)
        self._children.pop(STACKED_ROOT, None)
        for branch in RUN_BRANCHES:
            if stacked.names(branch):
                self._merge_stacked_runs(branch)
        # pypet's layout: the run scalars index only speeds up reading values across runs
        columns = stacked if stacked else StackedReader(root, INDEX)
        object.__setattr__(self, "_stacked", stacked)
        object.__setattr__(self, "_columns", columns)

    # the stacked layout ---------------------------------------------------------------------
    def _merge_stacked_runs(self, branch: str) -> None:
        """Make `<branch>.runs.run_X` show stacked items beside the run's stored nodes."""
        if branch not in self._children:
            self._children[branch] = _RunBranch(Group(branch), self)
        try:
            stored_runs = self._root_node._f_get_child(branch)._f_get_child("runs")
        except tables.NoSuchNodeError:
            stored_runs = None

        def load_runs(group: Group) -> dict[str, Group | Leaf]:
            stored = _runs_of(stored_runs, self._known_classes, group) if stored_runs else {}
            return {
                run: Group(
                    f"{group.v_full_name}.{run}",
                    loader=partial(self._load_run, branch, idx, stored.get(run)),
                )
                for idx, run in enumerate(self._run_names)
            }

        self._children[branch]._children["runs"] = Group(f"{branch}.runs", loader=load_runs)

    def _load_run(
        self, branch: str, idx: int, stored: Group | None, group: Group
    ) -> dict[str, Group | Leaf]:
        holder = Group(group.v_full_name)
        if stored is not None:
            holder._children.update(stored._children)
        class_name = "Result" if branch == "results" else "Parameter"
        for name, (values, comment) in self._stacked.run_items(branch, idx).items():
            full_name = f"{group.v_full_name}.{name}"
            holder.add_leaf(name, Leaf(full_name, values, comment, class_name))
        return holder._children

    def _exploration_order(self) -> dict[str, int]:
        """Full name -> position in pypet's `explorations` table (the order of f_explore)."""
        try:
            table = self._h5.get_node(self._root_node, "overview/explorations").read()
        except tables.NoSuchNodeError:
            return {}
        return {row[0].decode(): position for position, row in enumerate(table)}

    def _runs(self) -> np.ndarray:
        """The rows of `overview/runs`."""
        if self._runs_node is None:
            raise LoadError(f"{self.v_name} has no overview/runs table")
        if self._runs_rows is None:
            object.__setattr__(self, "_runs_rows", self._runs_node.read())
        return self._runs_rows

    def _read_provenance(self) -> np.ndarray | None:
        try:
            return self._h5.get_node(self._root_node, f"overview/{PROVENANCE_TABLE}").read()
        except tables.NoSuchNodeError:  # files of pypet, or of pypet_sm before provenance
            return None

    def f_get_run_provenance(self, name_or_idx: int | str) -> dict[str, Any]:
        """Where and how a run ran: environment, host, pid, cluster_job_id, attempt, start,
        finish, runtime, cluster_node (`overview/runs_provenance`)."""
        table = self._read_provenance()
        if table is None:
            raise LoadError(f"{self.v_name} has no overview/{PROVENANCE_TABLE} table")
        row = table[self._index(name_or_idx)]
        return {
            column: (row[column].decode() if isinstance(row[column], bytes) else row[column].item())
            for column in table.dtype.names
        }

    def f_iter_leaves_of(self, branch: str) -> Iterator[Leaf]:
        if branch in self._children:
            yield from self._children[branch].f_iter_leaves()

    # runs -------------------------------------------------------------------
    def __len__(self) -> int:
        if self._runs_node is not None:
            return self._runs_node.nrows
        return len(self._explored[0].explored) if self._explored else 1

    def f_get_run_names(self) -> list[str]:
        """Run names in run order."""
        return self._run_names

    def f_get_explored_parameters(self) -> dict[str, Leaf]:
        return {leaf.v_full_name: leaf for leaf in self._explored}

    def f_get_run_information(self, name_or_idx: int | str) -> dict[str, Any]:
        """pypet's run information: idx, name, timestamps, runtime, completed."""
        rows = self._runs()
        row = rows[self._index(name_or_idx)]
        return {
            column: (row[column].decode() if isinstance(row[column], bytes) else row[column].item())
            for column in rows.dtype.names
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
            object.__setattr__(self, "v_idx", -1)
            object.__setattr__(self, "v_crun", None)
            for leaf in self._explored:
                leaf.values["data"] = self._defaults[id(leaf)]
            return
        idx = self._index(name_or_idx)
        object.__setattr__(self, "v_idx", idx)
        object.__setattr__(self, "v_crun", self.f_get_run_names()[idx])
        for leaf in self._explored:
            if type(leaf) is Leaf:
                leaf.values["data"] = leaf.explored[idx]
            else:  # the user's class: ranges hold stored values, its _load restores them
                leaf._load({"data": leaf.explored[idx]})

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
            return self._current_run("results")
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
            runs = self._children[branch]._children["runs"]
        except (KeyError, AttributeError):
            return None
        if runs._children_dict is None and run in self._run_indices:
            # not listed yet: open this run alone (listing 10^5 runs takes about a second)
            key = (branch, run)
            if key not in self._single_runs:
                self._single_runs[key] = self._open_run(branch, run)
            return self._single_runs[key]
        return runs._children.get(run)

    def _open_run(self, branch: str, run: str) -> Group | None:
        """Run `run`'s group in `branch` without listing the other runs."""
        idx = self._run_indices[run]
        full_name = f"{branch}.runs.{run}"
        stored = None
        try:
            runs_node = self._root_node._f_get_child(branch)._f_get_child("runs")
        except tables.NoSuchNodeError:
            runs_node = None
        if runs_node is not None:
            run_set = RUN_SET_NAME % (idx // RUN_SET_SIZE)
            if run in runs_node:
                stored = _lazy(runs_node, run, full_name, self._known_classes)
            elif run_set in runs_node and run in runs_node._f_get_child(run_set):
                stored = _lazy(runs_node._f_get_child(run_set), run, full_name, self._known_classes)
        if self._stacked.names(branch):
            return Group(full_name, loader=partial(self._load_run, branch, idx, stored))
        return stored

    def _item_path(self, name: str) -> tuple[str, str]:
        """(branch, path below a run group) of the run item `name` (full or short)."""
        for branch in RUN_BRANCHES:
            prefix = f"{branch}.runs."
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

    # queries ----------------------------------------------------------------------------
    def _parameter(self, name: str) -> Leaf:
        try:
            node = self.f_get(name)
        except NamingError as error:
            raise LoadError(f"{self.v_name} has no parameter {name!r}: {error}") from None
        if not isinstance(node, Leaf) or node.v_full_name.partition(".")[0] not in (
            "parameters",
            "config",
        ):
            raise LoadError(f"{name!r} is not a parameter of {self.v_name}")
        return node

    def f_find_idx(self, name_list: str | list[str], predicate) -> Iterator[int]:
        """Indices of the runs whose parameters make `predicate` true, as pypet's:
        `traj.f_find_idx(['x', 'y'], lambda x, y: x > 1 and y < 3)`. The predicate gets the
        values of the named parameters in the order named (a parameter that is not explored
        gives its value in every run); a generator, in run order."""
        if isinstance(name_list, str):
            name_list = [name_list]
        columns = []
        for name in name_list:
            leaf = self._parameter(name)
            if leaf.explored is not None:
                columns.append(leaf.explored)
            else:
                columns.append([leaf.f_get()] * len(self))
        for idx, hit in enumerate(map(predicate, *columns)):
            if hit:
                yield idx

    def runs_where(self, **values: Any) -> list[int]:
        """Indices of the runs whose explored parameters have exactly these values:
        `traj.runs_where(x=2.0, y=10)` (short names) or, for names with dots,
        `traj.runs_where(**{"neuron.I": 0.5})`. Values compare with `==` (floats exactly)."""
        names = list(values)
        leaves = [self._parameter(name) for name in names]
        for name, leaf in zip(names, leaves, strict=True):
            if leaf.explored is None:
                raise LoadError(f"{name!r} ({leaf.v_full_name}) is not explored in {self.v_name}")
        wanted = [values[name] for name in names]

        def matches(*found: Any) -> bool:
            return all(bool(a == b) for a, b in zip(found, wanted, strict=True))

        return list(self.f_find_idx([leaf.v_full_name for leaf in leaves], matches))

    def _run_subset(self, runs: Any) -> set[int]:
        if isinstance(runs, (int, str, np.integer)):
            runs = [runs]
        return {self._index(run if isinstance(run, str) else int(run)) for run in runs}

    def f_get_from_runs(
        self,
        name: str,
        fast_access: bool = True,
        use_indices: bool = False,
        runs: Any = None,
    ) -> dict[Any, Any]:
        """Run name (or index) -> the item `name` of that run, in run order; runs without it
        are left out, as in pypet. `runs`: only these runs (indices or names, e.g. from
        `f_find_idx` or `runs_where`)."""
        if runs is not None:
            subset = self._run_subset(runs)
            found = self.f_get_from_runs(name, fast_access, use_indices=True)
            names = self._run_names
            return {
                (idx if use_indices else names[idx]): value
                for idx, value in found.items()
                if idx in subset
            }
        branch, path = self._item_path(name)
        if fast_access and (branch, path) in self._columns.stacks:
            try:
                column = self._columns.column(branch, path)
            except KeyError:  # several values: the items themselves, run by run
                pass
            else:
                return self._with_stored(branch, path, column, use_indices)
        found: dict[Any, Any] = {}
        for idx, run in enumerate(self.f_get_run_names()):
            group = self._run_group(branch, run)
            if group is None:
                continue
            try:
                found[idx if use_indices else run] = group.f_get(path, fast_access=fast_access)
            except NamingError:
                continue
        return found

    def _with_stored(
        self, branch: str, path: str, column: dict[int, Any], use_indices: bool
    ) -> dict[Any, Any]:
        """A stacked column plus the runs whose value went to pypet's layout, in run order."""
        names = self._run_names
        if len(column) < len(names) and branch in self._root_node:
            if "runs" in self._root_node._f_get_child(branch):
                for idx in set(range(len(names))) - set(column):
                    group = self._run_group(branch, names[idx])
                    if group is None:  # a run that stored nothing (failed, or not run)
                        continue
                    try:
                        column[idx] = group.f_get(path, True)
                    except NamingError:
                        continue
        ordered = sorted(column.items())
        if use_indices:
            return dict(ordered)
        return {names[idx]: value for idx, value in ordered}

    def runs_table(self, results: list[str] | None = None, provenance: bool = False):
        """One row per run: idx, name, explored parameters, scalar results.

        A pandas DataFrame when pandas is installed, else a numpy structured array. Without
        `results`, every result holding a single scalar in the first completed run is a column.
        `provenance=True` adds where and how each run ran: environment, host, pid,
        cluster_job_id, attempt, start, finish (POSIX timestamps), runtime and cluster_node.
        """
        names = self.f_get_run_names()
        columns: dict[str, Any] = {"idx": np.arange(len(names)), "name": np.array(names)}
        if provenance:
            table = self._read_provenance()
            if table is None:
                raise LoadError(f"{self.v_name} has no overview/{PROVENANCE_TABLE} table")
            for column in PROVENANCE_COLUMNS:
                if column not in table.dtype.names:  # written before the column existed
                    columns[column] = np.full(len(names), "")
                    continue
                values = table[column]
                columns[column] = (
                    np.char.decode(values, "utf-8") if values.dtype.kind == "S" else values
                )
        for leaf in self._explored:
            columns[leaf.v_full_name.partition(".")[2]] = leaf.explored
        for result in results if results is not None else self._scalar_results():
            by_run = self.f_get_from_runs(result, use_indices=True)
            column = [by_run.get(i) for i in range(len(names))]
            columns[result] = column
        try:
            import pandas
        except ImportError:
            arrays = [np.asarray(values) for values in columns.values()]
            return np.rec.fromarrays(arrays, names=list(columns))
        return pandas.DataFrame(columns)

    def _scalar_results(self) -> list[str]:
        return [
            name
            for name, leaf in self.first_run_results()
            if leaf.main_key is not None and value_types.is_runs_table_scalar(leaf.fast())
        ]

    def run_leaves(self, branch: str, run: str) -> list[tuple[str, Leaf]]:
        """(name below the run group, leaf) of a run's results or derived parameters
        (`branch`), sorted by name (the same whatever the layout); [] if it has none."""
        group = self._run_group(branch, run)
        return _leaves_below(group) if group is not None else []

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
            environments = self._children["config"]._children["environment"]
        except (KeyError, AttributeError):
            return {}
        found = {
            name: {key: leaf.values.get("data") for key, leaf in _leaves_below(group)}
            for name, group in environments._children.items()
        }
        return dict(sorted(found.items(), key=lambda item: item[1].get("timestamp") or 0))

    # file -------------------------------------------------------------------
    def f_close(self) -> None:
        self._h5.close()

    def __enter__(self) -> LoadedTrajectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f_close()


def load_trajectory(
    path: str | Path, name: str | None = None, dynamic_imports: list[Any] | None = None
) -> LoadedTrajectory:
    """Open the trajectory `name` (default: the only one) of the HDF5 file at `path`.

    `dynamic_imports`: your own Parameter/Result classes (classes or 'module:Class'), as
    pypet's; classes the file's config.yaml listed are found without it when importable.
    """
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"trajectory file {path} does not exist")
    try:
        h5 = tables.open_file(str(path), mode="r")
    except (OSError, tables.HDF5ExtError) as error:
        raise LoadError(f"{path} is not a readable HDF5 file: {error}") from None
    try:
        names = [g._v_name for g in h5.root._f_iter_nodes("Group")]
        if name is None:
            if len(names) != 1:
                raise LoadError(f"{path} holds trajectories {names}; pass name=...")
            name = names[0]
        elif name not in names:
            raise LoadError(f"{path} has no trajectory {name!r}; it holds {names}")
        return LoadedTrajectory(h5, name, dynamic_imports)
    except BaseException:
        h5.close()
        raise
