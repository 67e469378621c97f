"""Reading one pypet leaf back from HDF5: ours, or one pypet 0.7 wrote.

The leaf codec's reading half (`leaf_store` writes): the COLL_TYPE / SCALAR_TYPE attributes
pypet records give back the original Python types. Pickles are never unpickled here: they
come back as `codec.Pickled`, which the caller loads only when it trusts the file.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import tables

from pypet_sm.hdf5 import attributes
from pypet_sm.hdf5.codec import TYPES_BY_NAME, LoadedLeaf, Pickled
from pypet_sm.hdf5.layout import (
    ARRAY_MARK,
    ARRAY_RANGE_VALUE,
    CLASS_NAME,
    COLUMN_PREFIX,
    COMMENT,
    DATA_PREFIX,
    ENCODING,
    NESTED_GROUP,
    PICKLE_RANGE_VALUE,
    PROTOCOL_KEY,
    SPLIT_TABLE,
    STORE,
)


def _attribute(node: tables.Node, name: str) -> Any:
    value = attributes.read(node, name)
    # a pickle that is not plain data stays its bytes (never unpickled): show them as text
    return value.decode(ENCODING, errors="replace") if isinstance(value, bytes) else value


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
    if not _attribute(node, SPLIT_TABLE):
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


def _holds_objects(node: tables.Node) -> bool:
    """Whether reading `node` unpickles: PyTables pickles the rows of object VLArrays."""
    if isinstance(node, tables.Group):
        return any(_holds_objects(child) for child in node._f_iter_nodes())
    return isinstance(node, tables.VLArray) and node.atom.kind == "object"


def _pickled(node: tables.Node, read: Callable[[], Any]) -> Pickled:
    try:
        size = int(node.size_on_disk)
    except (AttributeError, NotImplementedError):  # groups (pandas), VLArrays: unknown
        size = 0
    return Pickled(read, size)


def _pickle(data: Any) -> Pickled:
    """A pickle stored as bytes (PickleResult, PickleParameter), as a placeholder."""
    data = bytes(data)
    return Pickled(partial(pickle.loads, data), len(data))


def _read_node(node: tables.Node) -> Any:
    store = _attribute(node, STORE)
    if store is None:  # pypet always writes it; be lenient with hand-made files
        store = "TABLE" if isinstance(node, tables.Table) else "ARRAY"
    if store in ("ARRAY", "CARRAY", "EARRAY", "VLARRAY"):
        coll_type = _attribute(node, DATA_PREFIX + "COLL_TYPE")
        type_name = _attribute(node, DATA_PREFIX + "SCALAR_TYPE")
        if _holds_objects(node):
            return _pickled(node, lambda: _restore(node.read(), coll_type, type_name))
        return _restore(node.read(), coll_type, type_name)
    if store == "TABLE":
        return _read_table(node)
    if store == "DICT":
        return {name: values[0] for name, values in _read_table(node).items()}
    if store in ("FRAME", "SERIES"):

        def read() -> Any:
            import pandas  # only pypet files with pandas results need it

            return pandas.read_hdf(node._v_file.filename, node._v_pathname, mode="r")

        # pandas opens the file itself, with PyTables' own unpickling attributes
        return _pickled(node, read)
    raise ValueError(f"cannot read {node._v_pathname}: unknown storage type {store!r}")


def _read_values(group: tables.Group, prefix: str = "") -> dict[str, Any]:
    values = {}
    for node in group._f_iter_nodes():
        name = prefix + node._v_name
        if isinstance(node, tables.Group) and _attribute(node, STORE) in (None, NESTED_GROUP):
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
        return LoadedLeaf(class_name, comment, {k: _pickle(v) for k, v in raw.items()})
    if class_name == "PickleParameter":
        values = {"data": _pickle(raw["data"])} if "data" in raw else {}
        explored = None
        if "explored_data" in raw:
            names = [PICKLE_RANGE_VALUE % i for i in raw["explored_data"]["idx"]]
            objects = {name: _pickle(raw[name]) for name in set(names)}  # once per value
            explored = [objects[name] for name in names]
        return LoadedLeaf(class_name, comment, values, explored)
    if "data" + ARRAY_MARK in raw:  # ArrayParameter holding an array, tuple or list
        explored = None
        if "explored_data" + ARRAY_MARK in raw:
            indices = raw["explored_data" + ARRAY_MARK]["idx"]
            explored = [raw[ARRAY_RANGE_VALUE % (i // 1000, i)] for i in indices]
        return LoadedLeaf(class_name, comment, {"data": raw["data" + ARRAY_MARK]}, explored)
    if (class_name.endswith("Parameter") or parameter) and isinstance(raw.get("data"), dict):
        explored = raw["explored_data"]["data"] if "explored_data" in raw else None
        return LoadedLeaf(class_name, comment, {"data": raw["data"]["data"][0]}, explored)
    return LoadedLeaf(class_name, comment, raw)
