"""Questions across the runs of a loaded trajectory: which runs have these parameter values
(`f_find_idx`, `runs_where`), an item of every run (`f_get_from_runs`) and the runs table.

A mixin of `load.LoadedTrajectory`: values across runs come from one array per item (the
stacked layout or the run scalars index) where the file has it, else run group by run group.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from pypet_sm.analysis.pypet_nodes import resolve
from pypet_sm.analysis.tree import LoadError, PickledLeaf, leaves_below, stored_range, stored_values
from pypet_sm.define import value_types
from pypet_sm.define.naming import Group, Leaf, NamingError
from pypet_sm.errors import NotUniqueNodeError
from pypet_sm.hdf5 import layout
from pypet_sm.hdf5.reader import PROVENANCE_COLUMNS

if TYPE_CHECKING:
    from pypet_sm.define.naming import Group
    from pypet_sm.hdf5._stacks import StackReader
    from pypet_sm.hdf5.reader import StoredTrajectory


class RunQueries:
    """The queries of `LoadedTrajectory` (see the module docstring)."""

    if TYPE_CHECKING:  # what LoadedTrajectory provides
        v_name: str
        _stored: StoredTrajectory
        _columns: StackReader
        _explored: list[Leaf]
        _run_names: list[str]
        _children: dict[str, Group | Leaf]

        def __len__(self) -> int: ...
        def f_get(
            self,
            name: str,
            fast_access: bool = False,
            with_links: bool = True,
            shortcuts: bool = True,
            max_depth: int | None = None,
            auto_load: bool = False,
        ) -> Any: ...
        def f_get_run_names(self) -> list[str]: ...
        def first_run_results(self) -> list[tuple[str, Leaf]]: ...
        def _index(self, name_or_idx: int | str) -> int: ...

        _pypet_style: bool

        def _run_item_paths(self, branch: str) -> list[tuple[str, ...]]: ...
        def _run_group(self, branch: str, run: str) -> Group | None: ...
        def _read_provenance(self) -> np.ndarray | None: ...

    def _parameter(self, name: str) -> Leaf:
        try:
            node = self.f_get(name)
        except NamingError as error:
            raise LoadError(f"{self.v_name} has no parameter {name!r}: {error}") from None
        if not isinstance(node, Leaf) or node.v_full_name.partition(".")[0] not in (
            layout.PARAMETERS,
            layout.CONFIG,
        ):
            raise LoadError(f"{name!r} is not a parameter of {self.v_name}")
        return node

    def f_find_idx(
        self, name_list: str | list[str], predicate: Callable[..., Any]
    ) -> Iterator[int]:
        """Indices of the runs whose parameters make `predicate` true, as pypet's:
        `traj.f_find_idx(['x', 'y'], lambda x, y: x > 1 and y < 3)`. The predicate gets the
        values of the named parameters in the order named (a parameter that is not explored
        gives its value in every run); a generator, in run order."""
        if isinstance(name_list, str):
            name_list = [name_list]
        columns = []
        for name in name_list:
            leaf = self._parameter(name)
            if leaf.v_explored:
                columns.append(leaf.f_get_range())
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
            if not leaf.v_explored:
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
        include_default_run: bool = True,
        use_indices: bool = False,
        fast_access: bool | None = None,
        with_links: bool = True,
        shortcuts: bool = True,
        max_depth: int | None = None,
        auto_load: bool = False,
        runs: Any = None,
    ) -> dict[Any, Any]:
        """pypet's f_get_from_runs: run name (or index) -> the item `name` below that run's
        group (results or derived parameters), in run order, as an OrderedDict; runs without
        it are left out. `fast_access`: values instead of the items (for items that support
        it); its default is pypet's (False) on `pypet_sm.Trajectory(filename=...)`, True on
        `load_trajectory`. `runs` (ours): only these runs (indices or names, e.g. from
        `f_find_idx` or `runs_where`). A name no run holds is a LoadError on
        `load_trajectory` (pypet gives an empty dict). `include_default_run`, `with_links`
        and `auto_load` are accepted: our files hold no `run_ALL` groups, no links, and load
        lazily."""
        if fast_access is None:
            fast_access = not self._pypet_style
        if shortcuts and max_depth is not None and len(name.split(".")) + 1 > max_depth:
            raise ValueError(f"name {name!r} is longer than the maximum depth {max_depth}")
        if runs is not None:
            subset = self._run_subset(runs)
            found_all = self.f_get_from_runs(
                name, use_indices=True, fast_access=fast_access, shortcuts=shortcuts,
                max_depth=max_depth,
            )  # fmt: skip
            names = self._run_names
            return OrderedDict(
                ((idx if use_indices else names[idx]), value)
                for idx, value in found_all.items()
                if idx in subset
            )
        if fast_access and shortcuts and max_depth is None:
            column = self.column_values(name)
            if column is not None:
                indices = column[0].tolist()
                keys = indices if use_indices else [self._run_names[idx] for idx in indices]
                return OrderedDict(zip(keys, column[1], strict=True))
        found: OrderedDict[Any, Any] = OrderedDict()
        depth = None if max_depth is None else max_depth - 1
        for idx, run in enumerate(self.f_get_run_names()):
            value: Any = None
            for branch in layout.RUN_BRANCHES:
                group = self._run_group(branch, run)
                if group is None:
                    continue
                try:
                    node = resolve(group, name, shortcuts, depth)
                except NamingError:
                    continue
                if value is not None:
                    raise NotUniqueNodeError(f"{name!r} is found several times in {run}")
                value = node
            if value is None:
                continue
            if fast_access and isinstance(value, Leaf) and value.main_key is not None:
                value = value.values[value.main_key]
            found[idx if use_indices else run] = value
        if not found and not self._pypet_style:  # pypet's way in gives {}, as pypet
            raise LoadError(f"no run of {self.v_name} has a result or derived parameter {name!r}")
        return found

    def _column_path(self, name: str) -> tuple[str, str] | None:
        """(branch, path below the run group) of `name` when one array of the file holds its
        values across runs (stacked layout, run scalars index) and pypet's search inside a
        run would find that path: the exact path, or the only indexed path ending in it."""
        stacks = self._columns.stacks
        for branch in layout.RUN_BRANCHES:
            if (branch, name) in stacks:
                return branch, name
        parts = tuple(name.split("."))
        endings = [
            (branch, ".".join(path))
            for branch in layout.RUN_BRANCHES
            for path in self._run_item_paths(branch)
            if path[-len(parts) :] == parts
        ]
        if len(endings) == 1 and endings[0] in stacks:
            return endings[0]
        return None

    def column_values(self, name: str) -> tuple[np.ndarray, list[Any]] | None:
        """(indices of the runs holding `name`, in run order; their values) when one array of
        the file holds its values across runs (stacked layout, run scalars index), plus the
        runs whose value went to pypet's layout; None: it is read run group by run group."""
        located = self._column_path(name)
        if located is None:
            return None
        branch, path = located
        try:
            indices, values = self._columns.column(branch, path)
        except KeyError:  # several values: the items themselves, run by run
            return None
        names = self._run_names
        if len(indices) == len(names) or self._stored.runs_group(branch) is None:
            return indices, values
        absent = np.ones(len(names), dtype=bool)
        absent[indices] = False
        stored = {}
        for idx in np.flatnonzero(absent).tolist():
            group = self._run_group(branch, names[idx])
            if group is None:  # a run that stored nothing (failed, or not run)
                continue
            try:
                stored[idx] = group.f_get(path, True)
            except NamingError:
                continue
        if not stored:
            return indices, values
        merged = sorted([*zip(indices.tolist(), values, strict=True), *stored.items()])
        return np.array([idx for idx, _ in merged], dtype=np.int64), [v for _, v in merged]

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

    def runs_table(self, results: list[str] | None = None, provenance: bool = False) -> Any:
        """One row per run: idx, name, explored parameters, scalar results.

        A pandas DataFrame when pandas is installed, else a numpy structured array. Without
        `results`, every result holding a single scalar in the first completed run is a column.
        `provenance=True` adds where and how each run ran: environment, host, pid,
        cluster_job_id, attempt, start, finish (POSIX timestamps), runtime and cluster_node.
        Columns are named by the parameter's name below `parameters` and the result's below
        its run group; where two columns would share a name (a result named like a parameter
        or a provenance column), those parameters and results get their full names
        (`parameters.model.y`, `results.model.y`). Pickled parameters show as placeholders
        (`<pickle, N bytes>`) unless the trajectory was loaded with allow_pickle=True.
        """
        names = self.f_get_run_names()
        fixed: dict[str, Any] = {"idx": np.arange(len(names)), "name": np.array(names)}
        if provenance:
            table = self._read_provenance()
            if table is None:
                raise LoadError(f"{self.v_name} has no {layout.PROVENANCE_PATH} table")
            for column in PROVENANCE_COLUMNS:
                if column not in (table.dtype.names or ()):  # written before the column existed
                    fixed[column] = np.full(len(names), "")
                    continue
                stored = table[column]
                fixed[column] = (
                    np.char.decode(stored, "utf-8") if stored.dtype.kind == "S" else stored
                )
        # (short name, full name, values) of the parameters and results
        items = self._explored_columns()
        for result in results if results is not None else self._scalar_results():
            found = self.column_values(result)
            if found is not None and len(found[0]) == len(names):
                by_idx = found[1]  # every run has it: the column as it is
            else:
                by_run = (
                    dict(zip(found[0].tolist(), found[1], strict=True))
                    if found is not None
                    else self.f_get_from_runs(result, use_indices=True, fast_access=True)
                )
                by_idx = [by_run.get(i) for i in range(len(names))]
            items.append((result, f"{layout.RESULTS}.{result}", by_idx))
        columns = dict(fixed)
        for column, (_, _, values) in zip(unique_names(items, fixed), items, strict=True):
            columns[column] = values
        try:
            import pandas
        except ImportError:
            arrays = [np.asarray(values) for values in columns.values()]
            # numpy's stubs know `names` only together with `formats`; the arrays' dtypes do
            return np.rec.fromarrays(arrays, names=list(columns))  # type: ignore[call-overload]
        return pandas.DataFrame(columns)

    def _explored_columns(self) -> list[tuple[str, str, Any]]:
        """(name below `parameters`, full name, the value of each run) of every explored
        parameter, in exploration order; pickled ones as placeholders unless allowed."""
        return [
            (
                leaf.v_full_name.partition(".")[2],
                leaf.v_full_name,
                leaf.f_get_range() if unpickles(leaf) else stored_range(leaf),
            )
            for leaf in self._explored
        ]

    def _scalar_results(self) -> list[str]:
        return [
            name
            for name, leaf in self.first_run_results()
            if unpickles(leaf)
            and leaf.main_key is not None
            and value_types.is_runs_table_scalar(leaf.fast())
        ]


def unique_names(items: list[tuple[str, str, Any]], reserved: Iterable[str]) -> list[str]:
    """The column name of each (short name, full name, ...) item: its short name, or its full
    name where two columns (or a reserved name) would share the short one."""
    taken = Counter([*reserved, *(item[0] for item in items)])
    return [item[1] if taken[item[0]] > 1 else item[0] for item in items]


def unpickles(leaf: Leaf) -> bool:
    """Whether the leaf's values may be read: not pickles, or allowed to be unpickled."""
    return not isinstance(leaf, PickledLeaf) or leaf.allowed
