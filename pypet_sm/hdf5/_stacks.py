"""What the stacked layout (`stacked`) and the run scalars index (`run_scalars`) share: items
kept as one extendable array per value over all runs, with a `present` mask.

    <root>/<results|derived_parameters>/<dotted item name as groups>/<value>

The two differ only in which items they take and where their root is; the concrete classes
say so (`describe`, `restore`, `accepts_arrays`, `compares_comments`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import tables

from pypet_sm.hdf5 import attributes
from pypet_sm.hdf5.layout import PRESENT, STACK_COMMENT, STACK_KEYS, STACK_KIND, STACK_MARK
from pypet_sm.hdf5.records import Item

FLUSH_ROWS = 4096
Signature = tuple[tuple[str, np.dtype, tuple[int, ...]], ...]


@dataclass
class Stack:
    """The datasets of one item and the rows not yet appended to them."""

    group: tables.Group
    signature: Signature
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


class StackWriter:
    """Collects run items into stacks below `path` (relative to the trajectory group) while
    the runs stream past."""

    @staticmethod
    def describe(value: Any) -> tuple[str, np.dtype, tuple[int, ...]] | None:
        """(kind, dtype, shape) of a value this stack holds, None for one it refuses."""
        raise NotImplementedError

    accepts_arrays: ClassVar[bool]  # False: scalars only
    compares_comments: ClassVar[bool]  # True: an item whose comment differs is refused

    def __init__(
        self,
        h5: tables.File,
        trajectory: tables.Group,
        path: str,
        n_runs: int,
        filters: tables.Filters,
    ) -> None:
        self.h5 = h5
        parent, _, name = path.rpartition("/")
        where = h5.get_node(trajectory, parent) if parent else trajectory
        self.n_runs = n_runs
        self.filters = filters
        self.stacks: dict[tuple[str, str], Stack | None] = {}
        if name in where:  # a file the merge appends runs to: its stacks go on
            self.root = where._f_get_child(name)
            self._reopen()
        else:
            self.root = h5.create_group(where, name)

    def _reopen(self) -> None:
        for group in self.root._f_walk_groups():
            attrs = group._v_attrs
            if not attributes.read(group, STACK_MARK, False):
                continue
            branch, _, name = group._v_pathname[len(self.root._v_pathname) + 1 :].partition("/")
            keys = list(attributes.read(group, STACK_KEYS))
            arrays = {key: group._f_get_child(key) for key in [*keys, PRESENT]}
            signature: Signature = tuple(
                (
                    str(attributes.read(arrays[key], STACK_KIND)),
                    arrays[key].atom.dtype,
                    tuple(arrays[key].shape[1:]),
                )
                for key in keys
            )
            comment = str(getattr(attrs, STACK_COMMENT))
            stack = Stack(group, signature, comment, arrays, {key: [] for key in keys})
            stack.rows = arrays[PRESENT].nrows
            self.stacks[(branch, name.replace("/", "."))] = stack

    def refuse(self, branch: str, names: set[str]) -> None:
        """Items of `branch` the runs in the file already stored elsewhere: the rest of the
        runs stores them so too (as a merge of all runs would, having refused them at their
        first run)."""
        for name in names:
            self.stacks.setdefault((branch, name), None)

    def add(self, branch: str, idx: int, item: Item) -> bool:
        """Stack `item` of run `idx`; False means: it is not stacked (store it in pypet's
        layout)."""
        if item.class_name not in (None, "Result", "Parameter"):
            return False
        key = (branch, item.name)
        if key in self.stacks and self.stacks[key] is None:
            return False  # refused at its first run: the item stays in pypet's layout
        described = [type(self).describe(value) for value in item.values.values()]
        signature: Signature = tuple(s for s in described if s is not None)
        if len(signature) < len(described) or (
            not self.accepts_arrays and any(s[2] for s in signature)
        ):
            self.stacks.setdefault(key, None)
            return False
        stack = self.stacks.get(key)
        if stack is None:
            stack = self._create(branch, item, signature, idx)
        if stack.signature != signature:
            return False
        if self.compares_comments and stack.comment != item.comment:
            return False
        if list(stack.pending) != list(item.values):
            return False
        stack.pad_to(idx)
        stack.append(item.values)
        return True

    def _create(self, branch: str, item: Item, signature: Signature, idx: int) -> Stack:
        group = self.root
        for part in [branch, *item.name.split(".")]:
            try:
                group = group._f_get_child(part)
            except tables.NoSuchNodeError:
                group = self.h5.create_group(group, part)
        attrs = group._v_attrs
        setattr(attrs, STACK_MARK, True)
        setattr(attrs, STACK_COMMENT, item.comment)
        setattr(attrs, STACK_KEYS, list(item.values))
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
            setattr(array._v_attrs, STACK_KIND, kind)
            arrays[key] = array
        arrays[PRESENT] = self.h5.create_earray(
            group, PRESENT, tables.BoolAtom(), (0,), filters=self.filters, expectedrows=expected
        )
        stack = Stack(group, signature, item.comment, arrays, {key: [] for key in item.values})
        self.stacks[(branch, item.name)] = stack
        stack.pad_to(idx)
        return stack

    def close(self) -> None:
        """Pad every stack to the trajectory's length and write the last rows."""
        for stack in self.stacks.values():
            if stack is not None:
                stack.pad_to(self.n_runs)
                stack.flush()


class StackReader:
    """Read access to the stacks below `path`: single values, whole columns, a run's items.
    A file without them gives an empty (false) reader."""

    @staticmethod
    def restore(kind: str, value: Any) -> Any:
        """A stacked element as the type that was stored."""
        raise NotImplementedError

    python_types: ClassVar[dict[str, type]]  # kinds a whole column converts at once

    def __init__(self, trajectory: tables.Group, path: str) -> None:
        self.stacks: dict[tuple[str, str], tables.Group] = {}
        self._present: dict[tuple[str, str], np.ndarray] = {}
        try:
            root = trajectory._v_file.get_node(trajectory, path)
        except tables.NoSuchNodeError:
            return
        for group in root._f_walk_groups():
            if attributes.read(group, STACK_MARK, False):
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
        restore = type(self).restore
        values = {}
        for value_key in attributes.read(group, STACK_KEYS):
            array = group._f_get_child(value_key)
            values[value_key] = restore(attributes.read(array, STACK_KIND), array[idx])
        return values, str(attributes.read(group, STACK_COMMENT))

    def run_items(self, branch: str, idx: int) -> dict[str, tuple[dict[str, Any], str]]:
        """Every stacked item run `idx` has in `branch`: name -> (values, comment)."""
        found = {}
        for name in self.names(branch):
            item = self.item(branch, name, idx)
            if item is not None:
                found[name] = item
        return found

    def column(
        self, branch: str, name: str, value_key: str | None = None
    ) -> tuple[np.ndarray, list[Any]]:
        """(indices of the runs that have item `name`, in run order; their values), one read
        per array."""
        group = self.stacks[(branch, name)]
        keys = attributes.read(group, STACK_KEYS)
        value_key = value_key or (keys[0] if len(keys) == 1 else None)
        if value_key is None:
            raise KeyError(f"{branch}.{name} holds several values {keys}; name one")
        array = group._f_get_child(value_key)
        kind = attributes.read(array, STACK_KIND)
        data = array.read()
        present = np.flatnonzero(self._present_mask((branch, name)))
        if kind in self.python_types:
            values = data[present].tolist()  # Python scalars in one C loop
        else:
            restore = type(self).restore
            values = [restore(kind, data[i]) for i in present]
        return present, values
