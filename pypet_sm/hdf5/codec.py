"""One pypet leaf (parameter, derived parameter or result) as HDF5 nodes, and back.

A leaf is a group carrying ``SRVC_LEAF``, ``SRVC_INIT_CLASS_NAME`` and (optionally)
``SRVC_INIT_COMMENT``; each stored value is a child node with ``SRVC_STORE`` and the type
attributes pypet 0.7 uses to give back the original Python type. The encoding follows pypet's
HDF5StorageService, so pypet loads our leaves, and `load_leaf` loads pypet's.

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

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tables

from pypet_sm.define import value_types
from pypet_sm.hdf5 import records

ENCODING = "utf-8"
PICKLE_PROTOCOL = 4  # readable by every Python that runs pypet 0.7
PROTOCOL_KEY = "__pckl_prtcl__"
ARRAY_MARK = "__rr__"  # ArrayParameter's suffix for array data
MAX_TABLE_COLUMNS = 512  # PyTables' limit; pypet splits wider tables, we pickle such dicts
SMALL_CHUNK_BYTES = 1 << 16  # arrays and tables below this get one chunk of their own size

LEAF = "SRVC_LEAF"
CLASS_NAME = "SRVC_INIT_CLASS_NAME"
COMMENT = "SRVC_INIT_COMMENT"
STORE = "SRVC_STORE"
DATA_PREFIX = "SRVC_DATA_"
COLUMN_PREFIX = "SRVC_COLUMN_%s_"

# pypet's supported scalar types and the names it records for them: the table's
SCALAR_TYPE_NAMES: dict[type, str] = value_types.PYPET_TYPE_NAMES
TYPES_BY_NAME: dict[str, type] = value_types.TYPES_BY_PYPET_NAME

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


# ---------------------------------------------------------------------------------------------
# Writing


def ensure_group(h5: tables.File, parent: tables.Group, dotted: str) -> tables.Group:
    """Return the group `parent/a/b` for ``dotted = "a.b"``, creating missing ones."""
    group = parent
    for name in dotted.split(".") if dotted else ():
        try:
            group = group._f_get_child(name)
        except tables.NoSuchNodeError:
            group = h5.create_group(group, name)
    return group


def _type_attributes(value: Any, prefix: str) -> dict[str, str]:
    """pypet's COLL_TYPE / SCALAR_TYPE attributes that recall the Python type of `value`."""
    kind = type(value)
    if kind is np.ndarray:
        attrs = {prefix + "COLL_TYPE": "COLL_NDARRAY"}
        if value.dtype.kind == "U":
            attrs[prefix + "SCALAR_TYPE"] = "str"
        return attrs
    if kind in (list, tuple):
        attrs = {prefix + "COLL_TYPE": "COLL_LIST" if kind is list else "COLL_TUPLE"}
        if value:
            attrs[prefix + "SCALAR_TYPE"] = SCALAR_TYPE_NAMES[type(value[0])]
        return attrs
    if kind is dict:
        return {prefix + "COLL_TYPE": "COLL_DICT" if value else "COLL_EMPTY_DICT"}
    return {prefix + "COLL_TYPE": "COLL_SCALAR", prefix + "SCALAR_TYPE": SCALAR_TYPE_NAMES[kind]}


def _as_numpy(value: Any) -> np.ndarray:
    """A numpy array holding `value` the way pypet writes it (strings as UTF-8 bytes)."""
    if type(value) is str:
        return np.array(value.encode(ENCODING))
    if type(value) is int:
        return np.array(value, dtype=np.int64)
    if type(value) in (list, tuple):
        if not value:
            return np.array([], dtype=np.float64)
        if type(value[0]) is str:
            return np.array([x.encode(ENCODING) for x in value])
        return np.array(value)
    if type(value) is np.ndarray and value.dtype.kind == "U":
        return np.char.encode(value, ENCODING)
    return np.asarray(value)


def _set_attributes(node: tables.Node, attributes: dict[str, Any]) -> None:
    # AttributeSet.__setattr__ spends most of its time on checks and bookkeeping that a fresh
    # node with our fixed names does not need; its low-level setter writes the same HDF5 attribute
    # (value converted with np.array, as __setattr__ does).
    attrs = node._v_attrs
    low_level = getattr(attrs, "_g_setattr", None)  # PyTables >= 3.0; else the public way
    for name, value in attributes.items():
        if low_level is not None:
            low_level(node, name, np.array(value))
        else:
            setattr(attrs, name, value)


def _write_value(h5: tables.File, group: tables.Group, key: str, value: Any, filters) -> None:
    """Write one value as pypet does: ARRAY, CARRAY (non-empty arrays) or DICT."""
    if "." in key:  # pypet's nested result names: intermediate groups marked NESTED_GROUP
        *path, key = key.split(".")
        for name in path:
            if name not in group:
                _set_attributes(h5.create_group(group, name, title=name), {STORE: "NESTED_GROUP"})
            group = group._f_get_child(name)
    if type(value) is dict and value:
        _write_dict(h5, group, key, value, filters)
        return
    attributes = _type_attributes(value, DATA_PREFIX)
    data = np.array([], dtype=np.float64) if type(value) is dict else _as_numpy(value)
    if type(value) is np.ndarray and data.size > 0 and data.ndim > 0:
        chunkshape = data.shape if data.nbytes <= SMALL_CHUNK_BYTES else None
        node = h5.create_carray(group, key, obj=data, filters=filters, chunkshape=chunkshape)
        attributes[STORE] = "CARRAY"
    else:
        node = h5.create_array(group, key, obj=data)
        attributes[STORE] = "ARRAY"
    _set_attributes(node, attributes)


def _column(values: list[Any]) -> tables.Col:
    """The PyTables column pypet would make for these values (first value decides the type)."""
    first = values[0]
    if type(first) is int:  # pypet uses int32; wider ints need int64 to survive
        fits = all(INT32.min <= v <= INT32.max for v in values)
        return tables.IntCol() if fits else tables.Int64Col()
    if type(first) in (str, bytes, np.bytes_):
        longest = max(len(v.encode(ENCODING) if type(v) is str else v) for v in values)
        return tables.StringCol(int(max(longest, 1) * 1.5))  # pypet's head room
    base = _as_numpy(first).dtype.base
    if base.kind == "S":  # lists of strings: as wide as the longest string of any value
        longest = max(_as_numpy(v).dtype.itemsize for v in values)
        return tables.StringCol(int(max(longest, 1) * 1.5), shape=np.shape(first))
    return tables.Col.from_dtype(np.dtype((base, np.shape(first))))


def _write_table(
    h5: tables.File,
    group: tables.Group,
    name: str,
    columns: dict[str, list[Any]],
    filters,
    attributes: dict[str, Any],
) -> tables.Table:
    """A Table with one column per entry of `columns`, typed like pypet's ObjectTable."""
    description = {}
    for position, (column, values) in enumerate(columns.items()):
        description[column] = _column(values)
        description[column]._v_pos = position  # keep the caller's column order
        attributes.update(_type_attributes(values[0], COLUMN_PREFIX % column))
    nrows = len(next(iter(columns.values())))
    dtype = tables.Description(description)._v_dtype
    # small tables get one chunk of their own size: PyTables' default chunk of ~64 KB per
    # one-row table would dominate uncompressed files
    chunkshape = (nrows,) if 0 < nrows * dtype.itemsize <= SMALL_CHUNK_BYTES else None
    table = h5.create_table(
        group,
        name,
        description=description,
        title=name,
        expectedrows=nrows,
        filters=filters,
        chunkshape=chunkshape,
    )
    rows = np.empty(nrows, dtype=table.dtype)
    for column, values in columns.items():
        if type(values[0]) is str:
            rows[column] = [v.encode(ENCODING) for v in values]
        else:
            rows[column] = [_as_numpy(v) if type(v) in (list, tuple) else v for v in values]
    table.append(rows)
    attributes.setdefault(STORE, "TABLE")
    _set_attributes(table, attributes)
    return table


def _write_dict(h5, group, key, value: dict, filters) -> None:
    columns = {name: [v] for name, v in value.items()}
    attributes = {DATA_PREFIX + "COLL_TYPE": "COLL_DICT", STORE: "DICT"}
    _write_table(h5, group, key, columns, filters, attributes)


def _leaf_group(h5, parent, name: str, class_name: str, comment: str | None) -> tables.Group:
    group = h5.create_group(parent, name.rsplit(".", 1)[-1])
    attributes: dict[str, Any] = {CLASS_NAME: class_name, LEAF: True}
    if comment:
        attributes[COMMENT] = comment
    _set_attributes(group, attributes)
    return group


def _deduplicated(values: list[Any], key: Callable[[Any], Any]) -> tuple[list[int], list[Any]]:
    """Indices into the list of distinct values (pypet stores each distinct range value once)."""
    positions: dict[Any, int] = {}
    indices, distinct = [], []
    for value in values:
        marker = key(value)
        if marker not in positions:
            positions[marker] = len(distinct)
            distinct.append(value)
        indices.append(positions[marker])
    return indices, distinct


def _array_key(value: Any) -> Any:
    if type(value) is np.ndarray:
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    return (type(value).__name__, tuple((type(x).__name__, x) for x in value))


def store_parameter(
    h5: tables.File, parent: tables.Group, item: records.Item, filters: tables.Filters
) -> str:
    """Write `item` as the leaf group `parent/<last name part>`; return the class name used."""
    class_name = parameter_class_name(item)
    group = _leaf_group(h5, parent, item.name, class_name, item.comment)
    default = item.values["data"]
    explored = getattr(item, "explored", None)
    if class_name == "PickleParameter":
        _write_value(h5, group, "data", pickle.dumps(default, PICKLE_PROTOCOL), filters)
        _write_value(h5, group, PROTOCOL_KEY, PICKLE_PROTOCOL, filters)
        if explored is not None:
            dumps = [pickle.dumps(v, PICKLE_PROTOCOL) for v in explored]
            indices, distinct = _deduplicated(dumps, key=lambda dump: dump)
            for index, dump in enumerate(distinct):
                _write_value(h5, group, f"xp_{index:08d}", dump, filters)
            _write_table(h5, group, "explored_data", {"idx": indices}, filters, {})
    elif class_name == "ArrayParameter" and (
        is_plain_array(default) or type(default) in (list, tuple)
    ):
        _write_value(h5, group, "data" + ARRAY_MARK, default, filters)
        if explored is not None:
            indices, distinct = _deduplicated(explored, key=_array_key)
            for index, value in enumerate(distinct):
                name = f"explored{ARRAY_MARK}.set_{index // 1000:05d}.xa_{index:08d}"
                _write_value(h5, group, name, value, filters)
            _write_table(h5, group, "explored_data" + ARRAY_MARK, {"idx": indices}, filters, {})
    else:  # Parameter, and ArrayParameter holding a scalar
        _write_table(h5, group, "data", {"data": [default]}, filters, {})
        if explored is not None:
            _write_table(h5, group, "explored_data", {"data": list(explored)}, filters, {})
    return class_name


def store_result(
    h5: tables.File,
    parent: tables.Group,
    item: records.Item,
    filters: tables.Filters,
    comment: str | None,
) -> str:
    """Write result `item` as `parent/<last name part>`; `comment` None omits the attribute."""
    class_name = result_class_name(item)
    group = _leaf_group(h5, parent, item.name, class_name, comment)
    if class_name == "PickleResult":
        for key, value in item.values.items():
            _write_value(h5, group, key, pickle.dumps(value, PICKLE_PROTOCOL), filters)
        _write_value(h5, group, PROTOCOL_KEY, PICKLE_PROTOCOL, filters)
    else:
        for key, value in item.values.items():
            _write_value(h5, group, key, value, filters)
    return class_name


# ---------------------------------------------------------------------------------------------
# Reading


def _attribute(node: tables.Node, name: str) -> Any:
    value = getattr(node._v_attrs, name, None)
    return str(value) if isinstance(value, (str, np.str_)) else value


def _restore(value: Any, coll_type: str | None, type_name: str | None) -> Any:
    """Undo PyTables' conversions using pypet's COLL_TYPE / SCALAR_TYPE attributes."""
    if coll_type == "COLL_SCALAR":
        if isinstance(value, np.ndarray):
            value = value[()]
        return _to_type(value, type_name)
    if coll_type in ("COLL_LIST", "COLL_TUPLE"):
        items = value.tolist() if isinstance(value, np.ndarray) else list(value)
        if type_name is not None:
            items = [_to_type(x, type_name) for x in items]
        return items if coll_type == "COLL_LIST" else tuple(items)
    if coll_type == "COLL_EMPTY_DICT":
        return {}
    if coll_type in ("COLL_NDARRAY", "COLL_MATRIX"):
        value = np.asarray(value)
        if type_name == "str":
            value = np.char.decode(value, ENCODING)
        return np.asmatrix(value) if coll_type == "COLL_MATRIX" else value
    return value


def _to_type(value: Any, type_name: str | None) -> Any:
    kind = TYPES_BY_NAME.get(type_name) if type_name else None
    if kind is None or type(value) is kind:
        return value
    if kind is str:
        return value.decode(ENCODING) if isinstance(value, bytes) else str(value)
    return kind(value)


def _read_columns(table: tables.Table, attributes: Callable[[str], Any]) -> dict[str, list]:
    columns = {}
    for name in table.colnames:
        column = table.col(name)
        prefix = COLUMN_PREFIX % name
        coll_type, type_name = attributes(prefix + "COLL_TYPE"), attributes(prefix + "SCALAR_TYPE")
        if coll_type == "COLL_SCALAR" and column.ndim == 1:  # fast path: whole column at once
            kind = TYPES_BY_NAME.get(type_name)
            if kind in (bool, int, float, complex, bytes):
                columns[name] = column.tolist()
            elif kind is str:
                columns[name] = [v.decode(ENCODING) for v in column.tolist()]
            else:
                columns[name] = [_restore(v, coll_type, type_name) for v in column]
        else:
            columns[name] = [_restore(v, coll_type, type_name) for v in column]
    return columns


def _read_table(node: tables.Node) -> dict[str, list]:
    """Columns of a pypet table, including tables pypet split for having too many columns."""
    if not _attribute(node, "SPLIT_TABLE"):
        return _read_columns(node, lambda name: _attribute(node, name))
    types_table = node._f_get_child(node._v_name + "__" + STORE)
    types = {
        row["field_name"].decode(ENCODING): row["data_type"].decode(ENCODING)
        for row in types_table.iterrows()
    }
    columns: dict[str, list] = {}
    for table in node._f_iter_nodes():
        if table is not types_table:
            columns.update(_read_columns(table, types.get))
    return columns


def _read_node(node: tables.Node) -> Any:
    store = _attribute(node, STORE)
    if store is None:  # pypet always writes it; be lenient with hand-made files
        store = "TABLE" if isinstance(node, tables.Table) else "ARRAY"
    if store in ("ARRAY", "CARRAY", "EARRAY", "VLARRAY"):
        data = node.read()
        return _restore(
            data,
            _attribute(node, DATA_PREFIX + "COLL_TYPE"),
            _attribute(node, DATA_PREFIX + "SCALAR_TYPE"),
        )
    if store == "TABLE":
        return _read_table(node)
    if store == "DICT":
        return {name: values[0] for name, values in _read_table(node).items()}
    if store in ("FRAME", "SERIES"):
        import pandas  # only pypet files with pandas results need it

        return pandas.read_hdf(node._v_file.filename, node._v_pathname, mode="r")
    raise ValueError(f"cannot read {node._v_pathname}: unknown storage type {store!r}")


def _read_values(group: tables.Group, prefix: str = "") -> dict[str, Any]:
    values = {}
    for node in group._f_iter_nodes():
        name = prefix + node._v_name
        if isinstance(node, tables.Group) and _attribute(node, STORE) in (None, "NESTED_GROUP"):
            values.update(_read_values(node, name + "."))
        else:
            values[name] = _read_node(node)
    return values


def load_leaf(node: tables.Group, parameter: bool | None = None) -> LoadedLeaf:
    """Read one leaf group written by us or by pypet 0.7.

    Understands pypet's Parameter, ArrayParameter, PickleParameter, Result and PickleResult
    (and classes derived from Result, read like Result). A class named `*Parameter`, or any
    class when `parameter` is true (the leaf is in parameters, derived_parameters or config:
    the user's own parameter classes) is read like Parameter. Any other class comes back with
    its raw stored values and no range.
    """
    class_name = _attribute(node, CLASS_NAME) or ""
    comment = _attribute(node, COMMENT)
    raw = _read_values(node)
    if class_name == "PickleResult":
        raw.pop(PROTOCOL_KEY, None)
        return LoadedLeaf(class_name, comment, {k: pickle.loads(v) for k, v in raw.items()})
    if class_name == "PickleParameter":
        values = {"data": pickle.loads(raw["data"])} if "data" in raw else {}
        explored = None
        if "explored_data" in raw:
            names = [f"xp_{i:08d}" for i in raw["explored_data"]["idx"]]
            objects = {name: pickle.loads(raw[name]) for name in set(names)}  # once per value
            explored = [objects[name] for name in names]
        return LoadedLeaf(class_name, comment, values, explored)
    if "data" + ARRAY_MARK in raw:  # ArrayParameter holding an array, tuple or list
        explored = None
        if "explored_data" + ARRAY_MARK in raw:
            names = (
                f"explored{ARRAY_MARK}.set_{i // 1000:05d}.xa_{i:08d}"
                for i in raw["explored_data" + ARRAY_MARK]["idx"]
            )
            explored = [raw[name] for name in names]
        return LoadedLeaf(class_name, comment, {"data": raw["data" + ARRAY_MARK]}, explored)
    if (class_name.endswith("Parameter") or parameter) and isinstance(raw.get("data"), dict):
        explored = raw["explored_data"]["data"] if "explored_data" in raw else None
        return LoadedLeaf(class_name, comment, {"data": raw["data"]["data"][0]}, explored)
    return LoadedLeaf(class_name, comment, raw)
