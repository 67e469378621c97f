"""Reading HDF5 files without running code from them.

PyTables unpickles every attribute that looks like a pickle, and it reads all attributes of
a node as soon as it loads the node (opening a file reads the root's): a file whose
attributes hold a pickle of ``os.system`` runs it when it is opened. Files opened through
`open_file` here are read differently: a pickled attribute is unpickled only when it holds
plain data (lists, dicts, strings, numbers -- what PyTables pickles for a list attribute such
as our `PSM_KEYS`), which needs no class and so can run nothing; any other pickle stays its
raw bytes. Files PyTables opens for anyone else behave as PyTables' own.
"""

from __future__ import annotations

import io
import os
import pickle
import threading
from typing import Any

import numpy as np
import tables
import tables.attributeset
import tables.node

_state = threading.local()  # .opening: inside open_file; .safe: reading a safe file's attribute
SAFE_MARK = "_pypet_sm_no_code"  # set on the File objects open_file returns


class _PlainData(pickle.Unpickler):
    """An unpickler that builds no object of any class: every global it meets is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a pickle of {module}.{name} is not plain data")


def plain_unpickle(data: bytes) -> Any:
    """The value of a pickle of plain data; UnpicklingError for any other pickle."""
    try:
        return _PlainData(io.BytesIO(data)).load()
    except pickle.UnpicklingError:
        raise
    except Exception as error:  # truncated or foreign bytes
        raise pickle.UnpicklingError(str(error)) from None


class _PickleGate:
    """`tables.attributeset`'s `pickle`: plain data only while a safe file's attribute is
    read (PyTables then keeps an unpicklable value as its bytes), `pickle` itself otherwise."""

    def loads(self, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "safe", 0):
            return plain_unpickle(data)
        return pickle.loads(data, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(pickle, name)


class _GatedAttributeSet(tables.attributeset.AttributeSet):
    """PyTables' attribute set, reading the attributes of files opened by `open_file` with
    the gate closed."""

    def __getattr__(self, name: str) -> Any:
        file = self.__dict__.get("_v__nodefile")
        if not (getattr(_state, "opening", False) or getattr(file, SAFE_MARK, False)):
            return super().__getattr__(name)
        _state.safe = getattr(_state, "safe", 0) + 1
        try:
            return super().__getattr__(name)
        finally:
            _state.safe -= 1


tables.attributeset.pickle = _PickleGate()
tables.node.Node._AttributeSet = _GatedAttributeSet


def open_file(path: str | os.PathLike, mode: str = "r", **kwargs: Any) -> tables.File:
    """`tables.open_file`, the file's attributes read without unpickling anything but plain
    data (PyTables' errors pass through)."""
    _state.opening = True
    try:
        h5 = tables.open_file(str(path), mode, **kwargs)
    finally:
        _state.opening = False
    setattr(h5, SAFE_MARK, True)
    return h5


def names(node: tables.Node) -> list[str]:
    """The node's user attributes (not PyTables' own CLASS, TITLE, ...)."""
    return list(node._v_attrs._v_attrnamesuser)


def raw(node: tables.Node, name: str) -> Any:
    """Attribute `name` as stored, never unpickled (KeyError if there is none)."""
    attrs = node._v_attrs
    if name not in attrs._v_attrnames:
        raise KeyError(name)
    return attrs._g_getattr(node, name)


def read(node: tables.Node, name: str, default: Any = None) -> Any:
    """Attribute `name` of `node` (`default` if it has none), strings as str. In a file
    opened by `open_file` a pickle that is not plain data comes back as its bytes."""
    value = getattr(node._v_attrs, name, default)
    return str(value) if isinstance(value, np.str_) else value
