"""The one table of value types: what a value is and how every stage stores and reads it.

Config typing (`values.convert`), parameter checks (`Trajectory`, `SingleRun`), point keys
(`execute.plan`), pypet's class choice and attributes (`hdf5.codec`), the stacked layout
(`hdf5.stacked`), the runs table (`analysis.load`) and the sweep report (`analysis.report`)
all ask this module instead of testing types themselves, so that they cannot disagree.

What pypet 0.7 does decides the pypet layout (checked with pypet 0.7.0 under numpy 2):

* scalars pypet's storage service writes and gives back natively (its
  ``PARAMETERTYPEDICT``): bool, int (within int64), float, complex, str, bytes, numpy bool_,
  int8..int64, uint8..uint64, float32, float64, complex64, complex128, bytes_. pypet's Result
  refuses float16, longdouble, datetime64, timedelta64 and None scalars (TypeError at
  f_add_result) and cannot store numpy str_ scalars; we pickle those (PickleResult /
  PickleParameter) instead of failing;
* numpy arrays of numbers, bools and strings (any itemsize, float16 included) are stored
  natively as Result; pypet fails on object, datetime, timedelta and record arrays: pickled;
* lists and tuples of one scalar type, and flat dicts of table cells, natively; others pickled.

The stacked layout stacks exactly the numbers that the pypet layout stores natively (so a
float16 or longdouble scalar is pickled in both layouts and comes back as the same type).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

PYTHON_SCALARS = (bool, int, float, complex, str, bytes)
INT64 = np.iinfo(np.int64)
MAX_TABLE_COLUMNS = 512  # PyTables' limit; pypet splits wider tables, we pickle such dicts
NUMERIC_DTYPE_KINDS = "biufc"  # dtype kinds HDF5 stores as numbers: bool, int, float, complex
PLAIN_ARRAY_KINDS = NUMERIC_DTYPE_KINDS + "SU"  # ... and strings


@dataclass(frozen=True)
class ScalarKind:
    """The answers for one scalar type (a row of the table)."""

    name: str  # the type's name; `type: <name>` in config.yaml for numpy scalars
    pypet_name: str | None  # the SCALAR_TYPE pypet records; None: not stored natively (pickled)
    stacks: bool  # one stacked dataset holds it (stacked layout, run scalars index)
    real: bool  # a real number (bool, int, float): plotted by the report
    number: bool  # a real number that is not a bool: sorted and labelled as a number
    runs_table: bool  # a default column of runs_table()
    encodes_once: bool  # hashable, equal values encode alike: point keys encode it once


def _row(kind: type, pypet_name: str | None, runs_table: bool = True) -> ScalarKind:
    dtype = np.dtype(kind) if issubclass(kind, np.generic) else None
    real = issubclass(kind, (bool, int, float, np.bool_, np.integer, np.floating))
    numeric = dtype is None or dtype.kind in NUMERIC_DTYPE_KINDS
    return ScalarKind(
        name=kind.__name__ if kind is not np.bool_ else "bool_",
        pypet_name=pypet_name,
        stacks=pypet_name is not None and numeric and kind not in (str, bytes),
        real=real,
        number=real and not issubclass(kind, (bool, np.bool_)),
        runs_table=runs_table,
        encodes_once=issubclass(kind, PYTHON_SCALARS),
    )


# np.bool_ is recorded as "bool_" (pypet 0.7 under numpy 2 writes "bool" and so loads it back
# as a Python bool: a KNOWN difference, see tests/pypet/compare.py)
_NATIVE_NUMPY = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                 np.uint64, np.float32, np.float64, np.complex64, np.complex128)  # fmt: skip
_PICKLED_NUMPY = (np.float16, np.longdouble, np.clongdouble, np.str_, np.datetime64,
                  np.timedelta64)  # fmt: skip
SCALARS: dict[type, ScalarKind] = {
    bool: _row(bool, "bool"),
    int: _row(int, "int"),
    float: _row(float, "float"),
    complex: _row(complex, "complex"),
    str: _row(str, "str"),
    bytes: _row(bytes, "bytes", runs_table=False),
    np.bool_: _row(np.bool_, "bool_"),
    np.bytes_: _row(np.bytes_, "bytes_"),
    **{kind: _row(kind, kind.__name__) for kind in _NATIVE_NUMPY},
    **{kind: _row(kind, None) for kind in _PICKLED_NUMPY},
}
PYPET_TYPE_NAMES: dict[type, str] = {
    kind: row.pypet_name for kind, row in SCALARS.items() if row.pypet_name is not None
}
TYPES_BY_PYPET_NAME: dict[str, type] = {name: kind for kind, name in PYPET_TYPE_NAMES.items()}
# files of pypet versions from Python 2 times wrote repr-style names
TYPES_BY_PYPET_NAME.update({f"<type '{kind.__name__}'>": kind for kind in PYPET_TYPE_NAMES})
TYPES_BY_PYPET_NAME.update({f"<type 'numpy.{kind.__name__}'>": kind for kind in PYPET_TYPE_NAMES})
TYPES_BY_PYPET_NAME["<type 'numpy.bool_'>"] = np.bool_  # numpy 1 called it bool_
NUMPY_CONFIG_TYPES: dict[str, type] = {
    row.name: kind for kind, row in SCALARS.items() if issubclass(kind, np.generic)
}
_NOT_A_SCALAR = ScalarKind("", None, False, False, False, False, False)


_KINDS: dict[type, ScalarKind | None] = dict(SCALARS)  # every type asked about so far


def scalar_kind(kind: type) -> ScalarKind | None:
    """The row of `kind`; a subclass of a listed type (an IntEnum, say) is what its base is,
    but never stored natively (pypet tests exact types); None: not a scalar."""
    try:
        return _KINDS[kind]
    except KeyError:
        _KINDS[kind] = found = _classify(kind)
        return found


def _classify(kind: type) -> ScalarKind | None:
    for base in kind.__mro__[1:]:
        if base in SCALARS:
            return replace(SCALARS[base], pypet_name=None, stacks=False)
    if issubclass(kind, np.generic):  # other numpy scalars (void, object_): pickled
        return replace(_NOT_A_SCALAR, name=kind.__name__, runs_table=True)
    return None


def _row_of(value: Any) -> ScalarKind:
    return scalar_kind(type(value)) or _NOT_A_SCALAR


# what each place asks ---------------------------------------------------------------------


def is_parameter_scalar(value: Any) -> bool:
    """A scalar a parameter may hold (pypet's PickleParameter is needed for anything else)."""
    return scalar_kind(type(value)) is not None


def is_real(value: Any) -> bool:
    """A real number (bool, int, float of any width): what the report plots."""
    return _row_of(value).real


def is_number(value: Any) -> bool:
    """A real number that is not a bool: sorted and labelled as a number on plot axes."""
    return _row_of(value).number


def is_runs_table_scalar(value: Any) -> bool:
    """A result value runs_table() makes a column of by default."""
    return _row_of(value).runs_table


def is_labelled_array(value: Any) -> bool:
    """A result value to_xarray() makes a variable of by default beside the runs_table
    scalars: a numeric numpy array (its shape is checked to be the same in every run)."""
    return type(value) is np.ndarray and value.dtype.kind in NUMERIC_DTYPE_KINDS


def encodes_once(kind: type) -> bool:
    """Whether a column of this one type may encode each distinct value once (point keys)."""
    return _row_of_type(kind).encodes_once


def _row_of_type(kind: type) -> ScalarKind:
    return scalar_kind(kind) or _NOT_A_SCALAR


def is_pypet_scalar(value: Any) -> bool:
    """A scalar pypet stores natively and gives back unchanged."""
    kind = type(value)
    if kind not in PYPET_TYPE_NAMES:
        return False
    if kind is int:
        return INT64.min <= value <= INT64.max
    if kind in (str, bytes, np.bytes_):  # HDF5 fixed-width strings drop trailing NULs
        return not value.endswith("\0" if kind is str else b"\0")
    return True


def _all_pypet_scalars(kind: type, values: list[Any]) -> bool:
    """`is_pypet_scalar` of every value, all of type `kind`: one C loop where it depends on
    the type alone or on the range of ints (a 10^5-run range is checked at every merge)."""
    if kind not in PYPET_TYPE_NAMES:
        return False
    if kind is int:
        return INT64.min <= min(values) and max(values) <= INT64.max
    if kind in (str, bytes, np.bytes_):
        return all(map(is_pypet_scalar, values))
    return True


def is_pypet_sequence(value: Any) -> bool:
    """A list or tuple of scalars that all have one type (may be empty)."""
    if type(value) not in (list, tuple):
        return False
    return all(type(x) is type(value[0]) and is_pypet_scalar(x) for x in value)


def is_pypet_array(value: Any) -> bool:
    """A numpy array of numbers, bools or strings (no objects, records or dates)."""
    return type(value) is np.ndarray and value.dtype.kind in PLAIN_ARRAY_KINDS


def is_table_column(value: Any) -> bool:
    """What fits one column of a dict table: scalars and non-empty numeric arrays/sequences."""
    if is_pypet_scalar(value):
        return True
    if type(value) is np.ndarray:
        return value.size > 0 and value.dtype.kind in NUMERIC_DTYPE_KINDS
    return (
        is_pypet_sequence(value)
        and len(value) > 0
        and np.asarray(value).dtype.kind in NUMERIC_DTYPE_KINDS
    )


def is_pypet_dict(value: Any) -> bool:
    """A dict that pypet stores as a one-row table."""
    if type(value) is not dict or len(value) > MAX_TABLE_COLUMNS:
        return False
    return all(type(k) is str and k.isidentifier() and is_table_column(v) for k, v in value.items())


def table_cell(value: Any) -> tuple | None:
    """What a non-scalar value looks like as one cell of pypet's Parameter table, or None
    when pypet's Parameter cannot hold it (empty, strings in an array, unsupported types)."""
    kind = type(value)
    if kind is np.ndarray:
        if value.size and value.ndim and value.dtype.kind in NUMERIC_DTYPE_KINDS:
            return (kind, value.dtype.str, value.shape)
        return None
    if is_pypet_sequence(value) and value:
        return (kind, type(value[0]), len(value))
    return None


def parameter_class(default: Any, explored: list[Any] | None, requested: str | None) -> str:
    """pypet's class for a parameter holding `default` (and the range `explored`).

    ``Parameter`` (pypet's default, so files match pypet's) if every value is a native scalar
    of one type, or one table cell shape (non-empty numeric arrays of one dtype and shape,
    non-empty lists or tuples of one length and element type); ``ArrayParameter`` for other
    native arrays, lists and tuples; ``PickleParameter`` otherwise. `requested` (the user's
    class) is kept unless it is ``Parameter`` and Parameter cannot hold the values: pypet
    would fail to store them or give back other types.
    """
    every = [default, *(explored or [])]
    same_type = set(map(type, every)) == {type(default)}
    cell = table_cell(default) if same_type else None
    if same_type and _all_pypet_scalars(type(default), every):
        choice = "Parameter"
    elif cell is not None and all(table_cell(v) == cell for v in every):
        choice = "Parameter"  # one table column of this shape holds every value, as in pypet
    elif same_type and all(is_pypet_array(v) or is_pypet_sequence(v) for v in every):
        choice = "ArrayParameter"
    else:
        choice = "PickleParameter"
    if requested and not (requested == "Parameter" and choice != "Parameter"):
        return requested
    return choice


def result_class(values: dict[str, Any], requested: str | None) -> str:
    """pypet's class for a result: ``Result`` if every value is a native scalar, array,
    list/tuple or flat dict of those, else ``PickleResult``; `requested` is kept unless it
    is ``Result`` and Result cannot hold the values."""
    if requested and requested != "Result":
        return requested  # PickleResult, or the user's class (checked by classes.check_storable)
    plain = (is_pypet_scalar, is_pypet_array, is_pypet_sequence, is_pypet_dict)
    if all(any(test(v) for test in plain) for v in values.values()):
        return "Result"
    return "PickleResult"


# the stacked layout ------------------------------------------------------------------------

STACK_PYTHON_KINDS = {bool: "bool", int: "int", float: "float", complex: "complex"}
STACK_PYTHON_TYPES = {name: kind for kind, name in STACK_PYTHON_KINDS.items()}


def stack_signature(value: Any) -> tuple[str, np.dtype, tuple[int, ...]] | None:
    """(kind, dtype, shape) of a value one stacked dataset holds, None when it cannot be
    stacked: only numbers the pypet layout stores natively (so both layouts give back the same
    type). kind is a Python scalar type name, `numpy` for numpy scalars or `ndarray`."""
    kind = type(value)
    if kind in STACK_PYTHON_KINDS:
        if kind is int and not INT64.min <= value <= INT64.max:
            return None
        return STACK_PYTHON_KINDS[kind], np.dtype(kind if kind is not int else np.int64), ()
    if kind is np.ndarray:
        if value.dtype.kind in NUMERIC_DTYPE_KINDS and value.size:
            return "ndarray", value.dtype, value.shape
        return None
    row = SCALARS.get(kind)
    if row is not None and row.stacks:
        return "numpy", value.dtype, ()
    return None


def restore_stacked(kind: str, value: Any) -> Any:
    """A stacked element as the type that was stored."""
    if kind in STACK_PYTHON_TYPES:
        return STACK_PYTHON_TYPES[kind](value)
    if kind == "ndarray" and not isinstance(value, np.ndarray):
        return np.asarray(value)  # a 0-d array: indexing the stack gave a numpy scalar
    return value  # numpy scalars and arrays come back as such from the array


# explored values ---------------------------------------------------------------------------


def as_type_of(default: Any, value: Any) -> Any:
    """`value` converted to the default's type where pypet converts (int to float, list to
    tuple or array, Python to numpy scalar); other values unchanged."""
    if isinstance(default, float) and type(value) is int:
        return float(value)
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    if isinstance(default, np.ndarray) and isinstance(value, (list, tuple)):
        return np.asarray(value, dtype=default.dtype)
    if isinstance(default, np.generic) and not isinstance(value, np.generic):
        return type(default)(value)
    return value


def needs_conversion(default: Any) -> bool:
    """Whether explored values of the default's exact type may still need `as_type_of`."""
    return isinstance(default, (np.ndarray, np.generic))


def same_kind(default: Any, value: Any) -> bool:
    """Whether an explored value has the default's type, as pypet requires."""
    if isinstance(default, np.ndarray):
        return isinstance(value, np.ndarray) and value.dtype.kind == default.dtype.kind
    if isinstance(default, bool) or isinstance(value, bool):
        return type(default) is type(value)
    if isinstance(default, (int, float)) and isinstance(value, (int, float)):
        return type(default) is type(value) or (isinstance(default, float) and type(value) is int)
    return type(default) is type(value)
