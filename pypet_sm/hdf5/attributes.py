"""Reading node attributes without running code from the file.

PyTables unpickles every attribute that looks like a pickle when it is read
(``node._v_attrs.X``), and a pickle can call anything. Attributes are read here instead: a
pickled attribute is unpickled only when it holds plain data (lists, dicts, strings, numbers
-- what PyTables pickles for a list such as our `PSM_KEYS`), which needs no class and so can
run nothing; any other pickle comes back as its raw bytes.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np
import tables


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
    """Attribute `name` of `node` (`default` if it has none): strings as str, pickles of
    plain data unpickled, any other pickle as its bytes."""
    try:
        value = raw(node, name)
    except KeyError:
        return default
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, np.bytes_) and value.endswith(b"."):  # what PyTables takes for a pickle
        try:
            return plain_unpickle(bytes(value))
        except pickle.UnpicklingError:
            return bytes(value)
    return value
