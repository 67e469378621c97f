"""Writing one pypet leaf (parameter, derived parameter or result) as HDF5 nodes.

The leaf codec's writing half (`codec` chooses the class, `leaf_load` reads back): a leaf is a
group carrying ``SRVC_LEAF``, ``SRVC_INIT_CLASS_NAME`` and (optionally) ``SRVC_INIT_COMMENT``;
each stored value is a child node with ``SRVC_STORE`` and the type attributes pypet 0.7 uses to
give back the original Python type, as pypet's HDF5StorageService writes them.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import tables

from pypet_sm.hdf5 import records
from pypet_sm.hdf5.codec import (
    INT32,
    PICKLE_PROTOCOL,
    SCALAR_TYPE_NAMES,
    SMALL_CHUNK_BYTES,
    is_plain_array,
    parameter_class_name,
    result_class_name,
)
from pypet_sm.hdf5.layout import (
    ARRAY_MARK,
    ARRAY_RANGE_VALUE,
    CLASS_NAME,
    COLUMN_PREFIX,
    COMMENT,
    DATA_PREFIX,
    ENCODING,
    LEAF,
    NESTED_GROUP,
    PICKLE_RANGE_VALUE,
    PROTOCOL_KEY,
    STORE,
)


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


def _write_value(
    h5: tables.File, group: tables.Group, key: str, value: Any, filters: tables.Filters
) -> None:
    """Write one value as pypet does: ARRAY, CARRAY (non-empty arrays) or DICT."""
    if "." in key:  # pypet's nested result names: intermediate groups marked NESTED_GROUP
        *path, key = key.split(".")
        for name in path:
            if name not in group:
                _set_attributes(h5.create_group(group, name, title=name), {STORE: NESTED_GROUP})
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
    filters: tables.Filters,
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


def _write_dict(
    h5: tables.File, group: tables.Group, key: str, value: dict, filters: tables.Filters
) -> None:
    columns = {name: [v] for name, v in value.items()}
    attributes = {DATA_PREFIX + "COLL_TYPE": "COLL_DICT", STORE: "DICT"}
    _write_table(h5, group, key, columns, filters, attributes)


def _leaf_group(
    h5: tables.File, parent: tables.Group, name: str, class_name: str, comment: str | None
) -> tables.Group:
    group = h5.create_group(parent, name.rsplit(".", 1)[-1])
    attributes: dict[str, Any] = {CLASS_NAME: class_name, LEAF: True}
    if comment:
        attributes[COMMENT] = comment
    _set_attributes(group, attributes)
    return group


def _deduplicated(values: list[Any], key: Callable[[Any], Any]) -> tuple[list[int], list[Any]]:
    """Indices into the list of distinct values (pypet stores each distinct range value once)."""
    positions: dict[Any, int] = {}
    indices: list[int] = []
    distinct: list[Any] = []
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
                _write_value(h5, group, PICKLE_RANGE_VALUE % index, dump, filters)
            _write_table(h5, group, "explored_data", {"idx": indices}, filters, {})
    elif class_name == "ArrayParameter" and (
        is_plain_array(default) or type(default) in (list, tuple)
    ):
        _write_value(h5, group, "data" + ARRAY_MARK, default, filters)
        if explored is not None:
            indices, distinct = _deduplicated(explored, key=_array_key)
            for index, value in enumerate(distinct):
                name = ARRAY_RANGE_VALUE % (index // 1000, index)
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
