"""The stacked layout (`storage: {layout: stacked}`): one dataset per result value, all runs.

pypet's layout gives every run a group and every result a group plus a dataset: about 1 ms
and 2-3 KB per run, whatever the result. For 10^5-10^6 runs the stacked layout keeps a
result's values of all runs in one extendable array under

    /<trajectory>/stacked/<results|derived_parameters>/<dotted item name as groups>/<value>

with a `present` mask (a run may not have stored the item). What cannot be stacked — strings,
lists, dicts, pickles, values whose type or shape differs from the first run's, a comment
differing from the first run's — is written in pypet's per-run layout as usual, and
`pypet_sm.load_trajectory` reads both alike. pypet itself loads such a file's parameters and
run information, but not the stacked results.

The same writer keeps the *run scalars index* of pypet's layout (`INDEX`, under `overview`,
which pypet skips when loading): a copy of every scalar result and derived parameter of all
runs, so that `f_get_from_runs` and `runs_table` read one array per item instead of opening
a group per run (100,000 runs: well under a second instead of minutes). It costs a few bytes
per scalar and run beside pypet's ~2.7 KB per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tables

from pypet_sm.define import value_types
from pypet_sm.hdf5.records import Item

ROOT = "stacked"
INDEX = "overview/run_scalars"
PRESENT = "__present__"
FLUSH_ROWS = 4096
PYTHON_SCALARS = value_types.STACK_PYTHON_KINDS
PYTHON_TYPES = value_types.STACK_PYTHON_TYPES
INT64 = np.iinfo(np.int64)


def _describe(value: Any) -> tuple[str, np.dtype, tuple[int, ...]] | None:
    """(kind, dtype, shape) of a stackable value, None when it cannot be stacked.

    kind is a Python scalar type name, `numpy` for numpy scalars or `ndarray`.
    """
    return value_types.stack_signature(value)


@dataclass
class _Stack:
    """The datasets of one item and the rows not yet appended to them."""

    group: tables.Group
    signature: tuple
    comment: str
    arrays: dict[str, tables.EArray]
    pending: dict[str, list[Any]]
    present: list[bool] = field(default_factory=list)
    rows: int = 0  # rows appended so far, present or not

    def pad_to(self, idx: int) -> None:
        """Append absent rows until row `idx` is next."""
        while self.rows + len(self.present) < idx:
            for key, (_, dtype, shape) in zip(self.pending, self.signature, strict=True):
                self.pending[key].append(np.zeros(shape, dtype=dtype))
            self.present.append(False)
            self.flush_if_full()

    def append(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            self.pending[key].append(value)
        self.present.append(True)
        self.flush_if_full()

    def flush_if_full(self) -> None:
        if len(self.present) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.present:
            return
        for key, (_, dtype, shape) in zip(self.pending, self.signature, strict=True):
            block = np.asarray(self.pending[key], dtype=dtype).reshape(-1, *shape)
            self.arrays[key].append(block)
            self.pending[key].clear()
        self.arrays[PRESENT].append(np.asarray(self.present, dtype=bool))
        self.rows += len(self.present)
        self.present.clear()


class StackedWriter:
    """Collects run items into stacks while the runs stream past; see the module docstring."""

    def __init__(
        self,
        h5: tables.File,
        trajectory: tables.Group,
        n_runs: int,
        filters,
        path: str = ROOT,
        scalars_only: bool = False,
    ) -> None:
        self.h5 = h5
        parent, _, name = path.rpartition("/")
        where = h5.get_node(trajectory, parent) if parent else trajectory
        self.root = h5.create_group(where, name)
        self.n_runs = n_runs
        self.filters = filters
        # the index of pypet's layout: scalars only, and comments live in pypet's nodes
        self.scalars_only = scalars_only
        self.stacks: dict[tuple[str, str], _Stack | None] = {}

    def add(self, branch: str, idx: int, item: Item) -> bool:
        """Stack `item` of run `idx`; False means: store it in pypet's layout instead."""
        if item.class_name not in (None, "Result", "Parameter"):
            return False
        key = (branch, item.name)
        if key in self.stacks and self.stacks[key] is None:
            return False  # refused at its first run: the item stays in pypet's layout
        signature = tuple(map(_describe, item.values.values()))
        if None in signature or (self.scalars_only and any(s[2] for s in signature)):
            self.stacks.setdefault(key, None)
            return False
        stack = self.stacks.get(key)
        if stack is None:
            stack = self._create(branch, item, signature, idx)
        if stack.signature != signature:
            return False
        if stack.comment != item.comment and not self.scalars_only:
            return False
        if list(stack.pending) != list(item.values):
            return False
        stack.pad_to(idx)
        stack.append(item.values)
        return True

    def _create(self, branch: str, item: Item, signature: tuple, idx: int) -> _Stack:
        group = self.root
        for part in [branch, *item.name.split(".")]:
            try:
                group = group._f_get_child(part)
            except tables.NoSuchNodeError:
                group = self.h5.create_group(group, part)
        attrs = group._v_attrs
        attrs.PSM_STACK = True
        attrs.PSM_COMMENT = item.comment
        attrs.PSM_KEYS = list(item.values)
        arrays = {}
        expected = max(self.n_runs, 1)
        for key, (kind, dtype, shape) in zip(item.values, signature, strict=True):
            chunk_rows = max(
                1, min(expected, 65536 // max(dtype.itemsize * int(np.prod(shape)), 1))
            )
            array = self.h5.create_earray(
                group,
                key,
                tables.Atom.from_dtype(dtype),
                (0, *shape),
                filters=self.filters,
                expectedrows=expected,
                chunkshape=(chunk_rows, *shape),
            )
            array._v_attrs.PSM_KIND = kind
            arrays[key] = array
        arrays[PRESENT] = self.h5.create_earray(
            group, PRESENT, tables.BoolAtom(), (0,), filters=self.filters, expectedrows=expected
        )
        stack = _Stack(group, signature, item.comment, arrays, {key: [] for key in item.values})
        self.stacks[(branch, item.name)] = stack
        stack.pad_to(idx)
        return stack

    def close(self) -> None:
        """Pad every stack to the trajectory's length and write the last rows."""
        for stack in self.stacks.values():
            if stack is not None:
                stack.pad_to(self.n_runs)
                stack.flush()


# reading ----------------------------------------------------------------------------------


def _restore(kind: str, value: Any) -> Any:
    """A stacked element as the type that was stored."""
    return value_types.restore_stacked(kind, value)


class StackedReader:
    """Read access to a file's stacks: single values, whole columns, a run's items."""

    def __init__(self, trajectory: tables.Group, path: str = ROOT) -> None:
        self.stacks: dict[tuple[str, str], tables.Group] = {}
        self._present: dict[tuple[str, str], np.ndarray] = {}
        try:
            root = trajectory._v_file.get_node(trajectory, path)
        except tables.NoSuchNodeError:
            return
        for group in root._f_walk_groups():
            if getattr(group._v_attrs, "PSM_STACK", False):
                branch, _, name = group._v_pathname[len(root._v_pathname) + 1 :].partition("/")
                self.stacks[(branch, name.replace("/", "."))] = group

    def __bool__(self) -> bool:
        return bool(self.stacks)

    def names(self, branch: str) -> list[str]:
        return [name for stacked_branch, name in self.stacks if stacked_branch == branch]

    def _present_mask(self, key: tuple[str, str]) -> np.ndarray:
        if key not in self._present:
            self._present[key] = self.stacks[key]._f_get_child(PRESENT).read()
        return self._present[key]

    def item(self, branch: str, name: str, idx: int) -> tuple[dict[str, Any], str] | None:
        """(values, comment) of item `name` in run `idx`, None when that run lacks it."""
        key = (branch, name)
        if key not in self.stacks or not self._present_mask(key)[idx]:
            return None
        group = self.stacks[key]
        values = {}
        for value_key in group._v_attrs.PSM_KEYS:
            array = group._f_get_child(value_key)
            values[value_key] = _restore(array._v_attrs.PSM_KIND, array[idx])
        return values, str(group._v_attrs.PSM_COMMENT)

    def run_items(self, branch: str, idx: int) -> dict[str, tuple[dict[str, Any], str]]:
        """Every stacked item run `idx` has in `branch`: name -> (values, comment)."""
        found = {}
        for name in self.names(branch):
            item = self.item(branch, name, idx)
            if item is not None:
                found[name] = item
        return found

    def column(self, branch: str, name: str, value_key: str | None = None) -> dict[int, Any]:
        """Run index -> the value of every run that has item `name` (one read per array)."""
        group = self.stacks[(branch, name)]
        keys = group._v_attrs.PSM_KEYS
        value_key = value_key or (keys[0] if len(keys) == 1 else None)
        if value_key is None:
            raise KeyError(f"{branch}.{name} holds several values {keys}; name one")
        array = group._f_get_child(value_key)
        kind = array._v_attrs.PSM_KIND
        data = array.read()
        present = np.flatnonzero(self._present_mask((branch, name)))
        if kind in PYTHON_TYPES:
            values = data[present].tolist()  # Python scalars in one C loop
        else:
            values = [_restore(kind, data[i]) for i in present]
        return dict(zip(present.tolist(), values, strict=True))
