"""`traj.to_xarray()`: the scalar and fixed-shape array results over the exploration as an
`xarray.Dataset` (xarray is the optional extra `pypet_sm[xarray]`).

The file does not record how an exploration was written (config product, zip, a build
hook's own lists, pypet's `cartesian_product`), only each run's values, so the shape is read
from the values: parameters whose values determine each other one to one vary together (a
zip, one dimension); the runs form a grid when they are exactly the product of those
factors in C order (the first factor varying slowest, as `cartesian_product` builds it).
Anything else -- explicit lists, a product with points removed or repeated -- is laid out
over a `run` dimension. So a file made by pypet itself gets the same answer as ours.

Values come from `f_get_from_runs`, which reads the stacked layout or the run scalars index
as one array per item; runs without the item (failed, not run) are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pypet_sm.analysis.pypet_nodes import resolve
from pypet_sm.analysis.queries import unique_names, unpickles
from pypet_sm.analysis.tree import LoadError
from pypet_sm.define import value_types
from pypet_sm.define.naming import Leaf, NamingError
from pypet_sm.hdf5 import layout

if TYPE_CHECKING:
    from pypet_sm.analysis.load import LoadedTrajectory

INSTALL = "pip install 'pypet_sm[xarray]'"
RUN_DIM = "run"


class XarrayNotInstalled(ImportError):
    """to_xarray() was called where xarray is not installed."""


def _xarray() -> Any:
    try:
        import xarray
    except ImportError:
        raise XarrayNotInstalled(
            f"traj.to_xarray() needs xarray, an optional extra: {INSTALL}"
        ) from None
    return xarray


@dataclass
class Factor:
    """Explored parameters that vary together (one dimension): `codes[i]` is run i's
    position among the distinct values, numbered in the order they first occur."""

    names: list[int]  # positions in the explored list
    codes: np.ndarray
    size: int

    def inner(self) -> int:
        """How many runs in a row the first value holds (its stride in a C-order grid)."""
        changes = np.flatnonzero(self.codes != self.codes[0])
        return int(changes[0]) if changes.size else len(self.codes)


def first_occurrence_codes(values: list[Any]) -> tuple[np.ndarray, list[int]]:
    """(each run's position among the distinct values in order of first occurrence, the run
    where each distinct value first occurs)."""
    as_array = np.asarray(values) if values else np.zeros(0)
    if as_array.ndim == 1 and as_array.dtype.kind in "biufcUS":
        _, first, inverse = np.unique(as_array, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return rank[inverse.reshape(-1)], first[order].tolist()
    seen: dict[Any, int] = {}
    firsts: list[int] = []
    codes = np.empty(len(values), dtype=np.int64)
    for run, value in enumerate(values):
        key = _key(value)
        if key not in seen:
            seen[key] = len(firsts)
            firsts.append(run)
        codes[run] = seen[key]
    return codes, firsts


def _key(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:  # arrays, lists: their type and text
        return (type(value).__name__, repr(value))
    return (type(value).__name__, value)


def grid_factors(columns: list[list[Any]], n_runs: int) -> tuple[list[Factor], list[int]] | None:
    """(the grid's factors, slowest first; the explored parameters holding one value) when
    the runs form a C-order product of the factors, else None (lay them out over runs)."""
    groups: dict[bytes, Factor] = {}
    constant = []
    for position, values in enumerate(columns):
        codes, firsts = first_occurrence_codes(values)
        if len(firsts) <= 1:
            constant.append(position)
            continue
        key = codes.tobytes()  # zipped parameters number their runs alike
        if key in groups:
            groups[key].names.append(position)
        else:
            groups[key] = Factor([position], codes, len(firsts))
    factors = sorted(groups.values(), key=lambda factor: -factor.inner())
    if math.prod(factor.size for factor in factors) != n_runs:
        return None
    runs = np.arange(n_runs)
    stride = n_runs
    for factor in factors:
        stride //= factor.size
        if not np.array_equal(factor.codes, (runs // stride) % factor.size):
            return None
    return factors, constant


def coordinate(values: list[Any]) -> np.ndarray:
    """Values as a 1-d coordinate; tuples, lists and arrays as objects (not a 2-d array)."""
    if values and all(value_types.scalar_kind(type(value)) is not None for value in values):
        return np.asarray(values)
    objects = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        objects[i] = value
    return objects


def over_runs(
    column: tuple[np.ndarray, list[Any]], n_runs: int, name: str, named: bool
) -> np.ndarray | None:
    """One array over the runs (axis 0); NaN where a run lacks the value (ints and bools
    become floats then, as xarray's own reindexing does). None: not one numeric or text
    array shape in every run (skipped, or a LoadError naming it when `named`)."""
    indices, values = column
    kinds = {type(value) for value in values}
    arrays = kinds == {np.ndarray}
    scalars = all(  # by type, not by value: 10^5 runs
        (row := value_types.scalar_kind(kind)) is not None and row.runs_table for kind in kinds
    )
    shapes = {np.shape(value) for value in values} if arrays else {()}
    if not values or not (arrays or scalars) or len(shapes) > 1:
        if not named:
            return None
        found = ", ".join(sorted(str(shape) for shape in shapes)) if arrays else kinds
        raise LoadError(
            f"to_xarray: result {name!r} is not a scalar or a numeric array of one shape in "
            f"every run (found {found})"
        )
    if arrays and not all(value_types.is_labelled_array(value) for value in values):
        if not named:
            return None
        raise LoadError(f"to_xarray: result {name!r} holds arrays that are not numeric")
    if len({kind in (str, np.str_) for kind in kinds}) > 1:  # text and numbers mixed
        data = coordinate(values)
    else:
        data = np.asarray(values)
    if len(values) == n_runs:
        return data
    if data.dtype.kind in "biu":
        fill_dtype: Any = np.float64
    elif data.dtype.kind in "fc":
        fill_dtype = data.dtype
    else:
        fill_dtype = object
    full = np.full((n_runs, *data.shape[1:]), np.nan, dtype=fill_dtype)
    full[indices] = data
    return full


def _comment(traj: LoadedTrajectory, name: str, run: int) -> str:
    """The comment of result `name` as run `run` stored it (stacked: the stack's)."""
    for branch in layout.RUN_BRANCHES:
        group = traj._run_group(branch, traj.f_get_run_names()[run])
        if group is None:
            continue
        try:
            node = resolve(group, name, True, None)
        except NamingError:
            continue
        if isinstance(node, Leaf):
            return node.v_comment or ""
    return ""


def to_xarray(traj: LoadedTrajectory, results: list[str] | None = None, grid: bool = True) -> Any:
    """The Dataset (see README "Loading a trajectory")."""
    xr = _xarray()
    if results is not None and (
        isinstance(results, str) or not all(isinstance(name, str) for name in results)
    ):
        raise TypeError(f"to_xarray(results=...) takes a list of result names, got {results!r}")
    n_runs = len(traj)
    explored = traj._explored_columns()
    comments = [leaf.v_comment for leaf in traj._explored]
    names = results if results is not None else _default_results(traj)
    read = []
    for name in names:
        column = traj.column_values(name)
        if column is None:  # no array of the file holds it: f_get_from_runs reads the runs
            by_run = traj.f_get_from_runs(name, use_indices=True, fast_access=True)
            column = (np.fromiter(by_run, dtype=np.int64, count=len(by_run)), list(by_run.values()))
        data = over_runs(column, n_runs, name, named=results is not None)
        if data is not None:
            # purged duplicate comments: pypet keeps the comment in one run only, the first
            # or the last it stored; a run or two are read, never all of them
            runs = column[0].tolist()
            comment = _comment(traj, name, runs[0]) or _comment(traj, name, runs[-1])
            read.append((name, data, comment))
    items = [*explored, *((name, f"{layout.RESULTS}.{name}", None) for name, _, _ in read)]
    labels = unique_names(items, [RUN_DIM])
    parameter_labels, result_labels = labels[: len(explored)], labels[len(explored) :]
    factors = grid_factors([values for _, _, values in explored], n_runs) if grid else None
    coords: dict[str, Any] = {}

    def attrs(position: int) -> dict[str, str]:
        return {"comment": comments[position] or "", "full_name": explored[position][1]}

    if factors is None:
        dims = [RUN_DIM]
        shape = [n_runs]
        coords[RUN_DIM] = (RUN_DIM, np.arange(n_runs), {"comment": "run index"})
        for position, (_, _, values) in enumerate(explored):
            coords[parameter_labels[position]] = (
                RUN_DIM, coordinate(list(values)), attrs(position)
            )  # fmt: skip
    else:
        grid_of, constant = factors
        dims = []
        for factor in grid_of:
            dim = "+".join(parameter_labels[position] for position in factor.names)
            dims.append(dim)
            firsts = first_occurrence_codes(list(explored[factor.names[0]][2]))[1]
            for position in factor.names:
                values = explored[position][2]
                coords[parameter_labels[position]] = (
                    dim, coordinate([values[run] for run in firsts]), attrs(position)
                )  # fmt: skip
        for position in constant:
            coords[parameter_labels[position]] = ((), explored[position][2][0], attrs(position))
        shape = [factor.size for factor in grid_of]
        coords[RUN_DIM] = (dims, np.arange(n_runs).reshape(shape), {"comment": "run index"})
    clash = set(dims) & set(result_labels)
    if clash or len(set(dims)) < len(dims):
        raise LoadError(f"to_xarray: dimension names {dims} clash with results {sorted(clash)}")
    variables = {}
    for label, (_, data, comment) in zip(result_labels, read, strict=True):
        extra = [f"{label}_dim_{axis}" for axis in range(data.ndim - 1)]
        variables[label] = (
            [*dims, *extra],
            data.reshape((*shape, *data.shape[1:])),
            {"comment": comment},
        )
    return xr.Dataset(
        variables, coords=coords, attrs={"trajectory": traj.v_name, "comment": traj.v_comment}
    )


def _default_results(traj: LoadedTrajectory) -> list[str]:
    """runs_table's scalar results plus the numeric arrays the first run with results holds."""
    scalars = set(traj._scalar_results())
    return [
        name
        for name, leaf in traj.first_run_results()
        if name in scalars
        or (
            unpickles(leaf)
            and leaf.main_key is not None
            and value_types.is_labelled_array(leaf.fast())
        )
    ]
