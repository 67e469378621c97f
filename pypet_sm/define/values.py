"""Parameter values: typing config values and a canonical byte form for point keys.

YAML knows bool, int, float, str and lists. A parameter entry's optional `type` tells how to
read the rest: complex, tuple, bytes, array (with `dtype`), or a numpy scalar type such as
float32. The same type applies to the parameter's default and to every explored value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pypet_sm.define import value_types

SCALAR_TYPES = value_types.PYTHON_SCALARS
CONFIG_TYPES = ("bool", "int", "float", "complex", "str", "bytes", "list", "tuple", "array")


class ValueTypeError(ValueError):
    """A value that does not fit its declared type; the message says what was expected."""


def _to_complex(value: Any) -> complex:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return complex(float(value[0]), float(value[1]))
    if isinstance(value, str):
        return complex(value.replace(" ", ""))
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        return complex(value)
    raise ValueTypeError(f"expected a complex number as 'a+bj' or [real, imag], got {value!r}")


def _to_scalar(kind: str, value: Any) -> Any:
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueTypeError(f"expected true or false, got {value!r}")
        return bool(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueTypeError(f"expected an integer, got {value!r}")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueTypeError(f"expected a number, got {value!r}")
        return float(value)
    if kind == "complex":
        return _to_complex(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ValueTypeError(f"expected a string, got {value!r}")
        return value
    if kind == "bytes":
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode("utf-8")
        raise ValueTypeError(f"expected a string (stored as bytes), got {value!r}")
    raise ValueTypeError(f"unknown type {kind!r}; expected one of {', '.join(CONFIG_TYPES)}")


def convert(value: Any, kind: str | None, dtype: str | None = None) -> Any:
    """Turn a YAML value into the Python value of the declared `kind` (None: keep YAML's)."""
    if kind is None:
        if isinstance(value, list):
            for element in value:
                check_scalar(element)
            return list(value)
        return check_scalar(value)
    if kind in ("list", "tuple"):
        if not isinstance(value, (list, tuple)):
            raise ValueTypeError(f"expected a list, got {value!r}")
        elements = [check_scalar(element) for element in value]
        return tuple(elements) if kind == "tuple" else elements
    if kind == "array":
        try:
            return np.array(value, dtype=dtype)
        except (TypeError, ValueError) as error:
            raise ValueTypeError(f"expected an array of {dtype or 'numbers'}: {error}") from None
    if hasattr(np, kind) and isinstance(getattr(np, kind), type) and kind not in CONFIG_TYPES:
        numpy_type = getattr(np, kind)  # a table name or a numpy alias of one (double, half)
        if numpy_type not in value_types.SCALARS:
            known = ", ".join(value_types.NUMPY_CONFIG_TYPES)
            raise ValueTypeError(f"unknown type {kind!r}; numpy scalar types are {known}")
        try:
            return numpy_type(value)
        except (TypeError, ValueError) as error:
            raise ValueTypeError(f"expected a {kind}: {error}") from None
    return _to_scalar(kind, value)


def check_scalar(value: Any) -> Any:
    """Accept the scalar types a parameter may hold; reject anything else with a clear error."""
    if value_types.is_parameter_scalar(value):
        return value
    raise ValueTypeError(
        f"expected a bool, int, float, complex, str or bytes, got {type(value).__name__} {value!r}"
    )


def check_parameter_value(value: Any) -> Any:
    """Values a parameter (or derived parameter) may hold, as pypet's Parameter classes do."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        for element in value:
            check_scalar(element)
        return value
    return check_scalar(value)


def canonical(value: Any) -> bytes:
    """A byte string that identifies `value` and its type exactly (for point keys).

    Equal values of different types (1, 1.0, True, "1") give different bytes, so changing a
    value's type is a change of the point.
    """
    if isinstance(value, np.ndarray):
        head = b"A" + value.dtype.str.encode() + repr(value.shape).encode()
        if value.dtype.hasobject:  # tobytes() of objects gives their addresses: the elements
            return head + b"(" + b",".join(map(canonical, value.flat)) + b")"
        return head + value.tobytes()
    if isinstance(value, (list, tuple)):
        tag = b"L" if isinstance(value, list) else b"T"
        return tag + str(len(value)).encode() + b"(" + b",".join(map(canonical, value)) + b")"
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    if isinstance(value, np.generic):
        return b"g" + value.dtype.str.encode() + value.tobytes()
    return type(value).__name__.encode() + b":" + repr(value).encode()
