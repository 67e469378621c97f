"""The leaf codec's vocabulary: which values a pypet leaf holds faithfully, in which class.

One pypet leaf (parameter, derived parameter or result) is written by `leaf_store` and read by
`leaf_load`, following pypet's HDF5StorageService, so pypet loads our leaves and
`leaf_load.load_leaf` loads pypet's (node names and attributes: `layout`). This module holds
what both sides share: pypet's scalar type names and the class choice.

Class choice when `item.class_name` is None, or is the default ``Parameter`` / ``Result`` but
that class cannot hold the values faithfully (pypet itself always uses what the user asked for
and then fails or changes types; we pick the class that stores the values faithfully):

* parameters: ``Parameter`` (pypet's default class, so files match pypet's) if the default and
  every explored value are supported scalars of one type, or all non-empty numeric numpy
  arrays of one dtype and shape, or all non-empty homogeneous lists (or tuples) of one length
  and element type; ``ArrayParameter`` for other numpy arrays and homogeneous lists or tuples
  (empty, of differing shapes or lengths, of strings); ``PickleParameter`` otherwise;
* results: ``Result`` if every value is a supported scalar, array, homogeneous list/tuple or a
  flat dict of those; ``PickleResult`` otherwise.

Supported scalars are pypet's: bool, int (within int64), float, complex, str, bytes and the numpy
scalar types pypet knows. Strings and bytes ending in NUL are pickled, because HDF5 fixed-width
strings drop trailing NULs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pypet_sm.define import value_types
from pypet_sm.hdf5 import records

PICKLE_PROTOCOL = 4  # readable by every Python that runs pypet 0.7
MAX_TABLE_COLUMNS = 512  # PyTables' limit; pypet splits wider tables, we pickle such dicts
SMALL_CHUNK_BYTES = 1 << 16  # arrays and tables below this get one chunk of their own size

# pypet's supported scalar types and the names it records for them: the table's
SCALAR_TYPE_NAMES: dict[type, str] = value_types.PYPET_TYPE_NAMES
TYPES_BY_NAME: dict[str, type] = value_types.TYPES_BY_PYPET_NAME

INT32 = np.iinfo(np.int32)
INT64 = np.iinfo(np.int64)


@dataclass(eq=False)
class Pickled:
    """A value the file holds as a pickle, not unpickled: unpickling runs whatever code the
    pickle names, so only a caller that trusts the file calls `load()`."""

    read: Callable[[], Any]
    size: int  # bytes stored

    def load(self) -> Any:
        """Unpickle (once: a value explored in several runs is one object, as pypet's)."""
        if not hasattr(self, "_value"):
            self._value = self.read()
        return self._value

    def __repr__(self) -> str:
        return f"<pickle, {self.size} bytes>"


@dataclass
class LoadedLeaf:
    """A leaf read back from HDF5.

    `values` holds the Python values by name (``{"data": default}`` for parameters, one entry
    per stored value for results); `explored` is a parameter's range or None; `comment` is
    None when the node has no comment attribute. Pickles (PickleResult, PickleParameter,
    object arrays, pandas objects holding them) are `Pickled` placeholders, never unpickled
    here.
    """

    class_name: str
    comment: str | None
    values: dict[str, Any]
    explored: list[Any] | None = None

    def has_pickles(self) -> bool:
        if any(isinstance(value, Pickled) for value in self.values.values()):
            return True
        if self.explored is None or len(self.explored) == 0:
            return False
        # the types of a long range, not its values, in one C loop
        return any(issubclass(kind, Pickled) for kind in set(map(type, self.explored)))

    def unpickled(self) -> LoadedLeaf:
        """The leaf with its pickles unpickled: for files the caller trusts."""

        def load(value: Any) -> Any:
            return value.load() if isinstance(value, Pickled) else value

        explored = None if self.explored is None else [load(v) for v in self.explored]
        values = {key: load(value) for key, value in self.values.items()}
        return LoadedLeaf(self.class_name, self.comment, values, explored)


# ---------------------------------------------------------------------------------------------
# What can be stored faithfully


def is_plain_scalar(value: Any) -> bool:
    """True for a scalar pypet stores natively and gives back unchanged."""
    return value_types.is_pypet_scalar(value)


def is_plain_sequence(value: Any) -> bool:
    """A list or tuple of scalars that all have one type (may be empty)."""
    return value_types.is_pypet_sequence(value)


def is_plain_array(value: Any) -> bool:
    """A numpy array of numbers, bools or strings (no objects, records or dates)."""
    return value_types.is_pypet_array(value)


def _is_plain_column(value: Any) -> bool:
    return value_types.is_table_column(value)


def is_plain_dict(value: Any) -> bool:
    """A dict that pypet stores as a one-row table."""
    return value_types.is_pypet_dict(value)


def _table_cell(value: Any) -> tuple | None:
    """What a non-scalar value looks like as one cell of pypet's Parameter table, or None
    when pypet's Parameter cannot hold it (empty, strings in an array, unsupported types)."""
    return value_types.table_cell(value)


def parameter_class_name(item: records.Item) -> str:
    """The pypet class for a parameter (see the module docstring for the rules)."""
    return value_types.parameter_class(
        item.values["data"], getattr(item, "explored", None), item.class_name
    )


def result_class_name(item: records.Item) -> str:
    """The pypet class for a result (see the module docstring for the rules)."""
    return value_types.result_class(item.values, item.class_name)
