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

from dataclasses import dataclass
from typing import Any

import numpy as np

from pypet_sm.hdf5 import records

PICKLE_PROTOCOL = 4  # readable by every Python that runs pypet 0.7
MAX_TABLE_COLUMNS = 512  # PyTables' limit; pypet splits wider tables, we pickle such dicts
SMALL_CHUNK_BYTES = 1 << 16  # arrays and tables below this get one chunk of their own size

# pypet's supported scalar types and the names it records for them.  np.bool_ is recorded as
# "bool_" (pypet 0.7 under numpy 2 writes "bool" and so loads it back as a Python bool).
SCALAR_TYPE_NAMES: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    complex: "complex",
    str: "str",
    bytes: "bytes",
    np.bool_: "bool_",
    np.bytes_: "bytes_",
}
for _numpy_type in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                    np.uint64, np.float32, np.float64, np.complex64, np.complex128):  # fmt: skip
    SCALAR_TYPE_NAMES[_numpy_type] = _numpy_type.__name__
TYPES_BY_NAME: dict[str, type] = {name: kind for kind, name in SCALAR_TYPE_NAMES.items()}
# files of pypet versions from Python 2 times wrote repr-style names
TYPES_BY_NAME.update({f"<type '{kind.__name__}'>": kind for kind in SCALAR_TYPE_NAMES})
TYPES_BY_NAME.update({f"<type 'numpy.{kind.__name__}'>": kind for kind in SCALAR_TYPE_NAMES})
TYPES_BY_NAME["<type 'numpy.bool_'>"] = np.bool_  # numpy 1 called it bool_

INT32 = np.iinfo(np.int32)
INT64 = np.iinfo(np.int64)


@dataclass
class LoadedLeaf:
    """A leaf read back from HDF5.

    `values` holds the Python values by name (``{"data": default}`` for parameters, one entry
    per stored value for results, pickles already unpickled); `explored` is a parameter's range
    or None; `comment` is None when the node has no comment attribute.
    """

    class_name: str
    comment: str | None
    values: dict[str, Any]
    explored: list[Any] | None = None


# ---------------------------------------------------------------------------------------------
# What can be stored faithfully


def is_plain_scalar(value: Any) -> bool:
    """True for a scalar pypet stores natively and gives back unchanged."""
    kind = type(value)
    if kind not in SCALAR_TYPE_NAMES:
        return False
    if kind is int:
        return INT64.min <= value <= INT64.max
    if kind in (str, bytes, np.bytes_):
        return not value.endswith("\0" if kind is str else b"\0")
    return True


def is_plain_sequence(value: Any) -> bool:
    """A list or tuple of scalars that all have one type (may be empty)."""
    if type(value) not in (list, tuple):
        return False
    return all(type(x) is type(value[0]) and is_plain_scalar(x) for x in value)


def is_plain_array(value: Any) -> bool:
    """A numpy array of numbers, bools or strings (no objects, records or dates)."""
    return type(value) is np.ndarray and value.dtype.kind in "biufcSU"


def _is_plain_column(value: Any) -> bool:
    # what fits one column of a dict table: scalars and non-empty numeric arrays/sequences
    if is_plain_scalar(value):
        return True
    if type(value) is np.ndarray:
        return value.size > 0 and value.dtype.kind in "biufc"
    return is_plain_sequence(value) and len(value) > 0 and np.asarray(value).dtype.kind in "biufc"


def is_plain_dict(value: Any) -> bool:
    """A dict that pypet stores as a one-row table."""
    if type(value) is not dict or len(value) > MAX_TABLE_COLUMNS:
        return False
    return all(
        type(k) is str and k.isidentifier() and _is_plain_column(v) for k, v in value.items()
    )


def _table_cell(value: Any) -> tuple | None:
    """What a non-scalar value looks like as one cell of pypet's Parameter table, or None
    when pypet's Parameter cannot hold it (empty, strings in an array, unsupported types)."""
    kind = type(value)
    if kind is np.ndarray:
        if value.size and value.ndim and value.dtype.kind in "biufc":
            return (kind, value.dtype.str, value.shape)
        return None
    if is_plain_sequence(value) and value:
        return (kind, type(value[0]), len(value))
    return None


def parameter_class_name(item: records.Item) -> str:
    """The pypet class for a parameter (see the module docstring for the rules)."""
    default = item.values["data"]
    every = [default, *(getattr(item, "explored", None) or [])]
    same_type = all(type(v) is type(default) for v in every)
    cell = _table_cell(default) if same_type else None
    if same_type and all(is_plain_scalar(v) for v in every):
        choice = "Parameter"
    elif cell is not None and all(_table_cell(v) == cell for v in every):
        choice = "Parameter"  # one table column of this shape holds every value, as in pypet
    elif same_type and all(is_plain_array(v) or is_plain_sequence(v) for v in every):
        choice = "ArrayParameter"
    else:
        choice = "PickleParameter"
    # "Parameter" is everybody's default; where it cannot hold the values, pypet would fail
    # to store them (lists of different lengths) or give back other types, so we pick
    if item.class_name and not (item.class_name == "Parameter" and choice != "Parameter"):
        return item.class_name
    return choice


def result_class_name(item: records.Item) -> str:
    """The pypet class for a result (see the module docstring for the rules)."""
    plain = (is_plain_scalar, is_plain_array, is_plain_sequence, is_plain_dict)
    if all(any(test(v) for test in plain) for v in item.values.values()):
        choice = "Result"
    else:
        choice = "PickleResult"
    if item.class_name and not (item.class_name == "Result" and choice != "Result"):
        return item.class_name
    return choice
