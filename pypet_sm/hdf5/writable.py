"""What the trajectory file can hold, checked where an item is made, not when it is merged.

A result or derived parameter the writer (`leaf_store`, the stacked layout, the run scalars
index, the overview tables) cannot store would otherwise be found only by the merge, which
would then fail on every invocation while the run stays done. The single run calls
`check_item` on each item it collects, so such a run fails there, named, and is computed
again next time; the merge calls `check_run` on each fragment it reads, so a fragment written
before these checks gives one line naming the run instead of a traceback.

What the writer cannot store, and so what is checked (PyTables itself is not needed):

* comments: a string (not a number or a list), UTF-8 encodable (no lone surrogates), at
  most `MAX_COMMENT_BYTES` in UTF-8: pypet and we keep a leaf's comment as an HDF5 attribute
  of its group, and HDF5 keeps attributes in the group's object header, 64 KiB at most
  (65,487 bytes of comment fit beside the leaf's other attributes; measured);
* value names: strings that PyTables accepts as node names (not empty, no ``/``, not ``.``,
  not starting with PyTables' reserved ``_c_``, ``_f_``, ``_g_``, ``_v_``, not
  ``__members__``), UTF-8 encodable, not pypet's own names beside the values (the pickle
  protocol's and the stacks' mask), and no name both a value and a group of dotted names
  (``a`` and ``a.b``);
* strings in values (str, lists and tuples of str, str arrays, dict cells): UTF-8
  encodable, since pypet stores strings as UTF-8 bytes;
* arrays: at most `MAX_RANK` dimensions (HDF5's limit; numpy allows 64);
* pickled values (PickleResult, PickleParameter): picklable with pypet's protocol 4.
"""

from __future__ import annotations

import pickle
import re
from typing import Any

import numpy as np

from pypet_sm.define import value_types
from pypet_sm.hdf5.codec import PICKLE_PROTOCOL
from pypet_sm.hdf5.layout import ENCODING, PRESENT, PROTOCOL_KEY
from pypet_sm.hdf5.records import Item, RunRecord

MAX_COMMENT_BYTES = 60_000  # below the 65,487 measured, leaving room for HDF5's overhead
MAX_RANK = 32  # HDF5's H5S_MAX_RANK
_RESERVED_PREFIX = re.compile(r"^_[cfgv]_")  # PyTables' reserved node name prefixes
_RESERVED_NAMES = {PROTOCOL_KEY, PRESENT, "__members__"}
_PICKLED = ("PickleResult", "PickleParameter")
_SURROGATES = (0xD800, 0xDFFF)


class Unwritable(ValueError):
    """An item the trajectory file cannot hold; the message says what and why."""


def _text(text: str, what: str) -> None:
    """`text` must encode as UTF-8 (lone surrogates, from bytes decoded with
    surrogateescape for instance, do not)."""
    if text.isascii():
        return
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError as error:
        bad = text[error.start : error.end]
        raise Unwritable(
            f"{what} holds {bad!r} at position {error.start}, which UTF-8 cannot encode "
            "(a lone surrogate); HDF5 stores text as UTF-8"
        ) from None


def check_comment(comment: Any) -> None:
    if not isinstance(comment, str):
        raise Unwritable(f"its comment must be a string, got {type(comment).__name__} {comment!r}")
    _text(comment, "its comment")
    if len(comment) * 4 > MAX_COMMENT_BYTES:  # only long comments are measured in bytes
        size = len(comment.encode(ENCODING))
        if size > MAX_COMMENT_BYTES:
            raise Unwritable(
                f"its comment is {size:,} bytes; HDF5 keeps a comment as an attribute of at "
                f"most {MAX_COMMENT_BYTES:,} bytes (store long text as a result value)"
            )


def _key(key: Any, keys: dict[str, Any]) -> None:
    if not isinstance(key, str):
        raise Unwritable(f"its value name {key!r} is not a string")
    if key in _RESERVED_NAMES:
        raise Unwritable(f"its value name {key!r} is reserved by pypet's layout")
    _text(key, f"its value name {key!r}")
    parts = key.split(".")
    for part in parts:
        if not part or part == "." or "/" in part:
            raise Unwritable(
                f"its value name {key!r} is not a valid HDF5 node name (empty, '/' or '.')"
                if key
                else "it has a value named '' (HDF5 nodes need a name)"
            )
        if _RESERVED_PREFIX.match(part) or part == "__members__":
            raise Unwritable(
                f"its value name {key!r} starts with one of PyTables' reserved prefixes "
                "(_c_, _f_, _g_, _v_)"
            )
    for end in range(1, len(parts)):
        if ".".join(parts[:end]) in keys:
            raise Unwritable(
                f"its value names {'.'.join(parts[:end])!r} and {key!r} would be both a "
                "value and a group"
            )


def _value(value: Any, what: str) -> None:
    """A value the Result or Parameter classes store natively (see `value_types`)."""
    kind = type(value)
    if kind is str:
        _text(value, what)
    elif kind in (list, tuple):
        if value and type(value[0]) is str:
            for position, element in enumerate(value):
                _text(element, f"{what}[{position}]")
    elif kind is np.ndarray:
        if value.ndim > MAX_RANK:
            raise Unwritable(
                f"{what} is an array of {value.ndim} dimensions; HDF5 stores at most {MAX_RANK}"
            )
        if value.dtype.kind == "U" and value.size:
            codes = np.ascontiguousarray(value).view(np.uint32)
            if ((codes >= _SURROGATES[0]) & (codes <= _SURROGATES[1])).any():
                raise Unwritable(
                    f"{what} holds a lone surrogate, which UTF-8 cannot encode; HDF5 stores "
                    "text as UTF-8"
                )
    elif kind is dict:
        for key, cell in value.items():
            if _RESERVED_PREFIX.match(key):
                raise Unwritable(
                    f"{what} has the key {key!r}, which starts with one of PyTables' "
                    "reserved prefixes (_c_, _f_, _g_, _v_)"
                )
            _value(cell, f"{what}[{key!r}]")


def check_item(item: Item, parameter: bool) -> None:
    """Raise Unwritable when the writer could not store `item` (a run's result, or derived
    parameter when `parameter`); `item.class_name` is the class it is stored as."""
    if item.comment != "":
        check_comment(item.comment)
    values = item.values
    for key in values:
        # the slow path only for names that are not plain identifiers
        if type(key) is not str or not key.isidentifier() or key.startswith("_"):
            _key(key, values)
    if item.class_name in _PICKLED:
        for key, value in values.items():
            try:
                pickle.dumps(value, PICKLE_PROTOCOL)
            except Exception as error:
                raise Unwritable(
                    f"its value {key!r} cannot be pickled with pypet's protocol "
                    f"{PICKLE_PROTOCOL}: {type(error).__name__}: {error}"
                ) from None
        return
    for key, value in values.items():
        if type(value) not in value_types.PYTHON_SCALARS or type(value) is str:
            _value(value, "its value" if parameter else f"its value {key!r}")


def check_run(run: RunRecord) -> str | None:
    """What in a completed run the writer cannot store, or None (for fragments written
    before the run checked its items)."""
    for branch, items in (("result", run.results), ("derived parameter", run.derived_parameters)):
        for item in items:
            try:
                check_item(item, parameter=branch != "result")
            except Unwritable as error:
                return f"{branch} {item.name!r}: {error}"
    return None
