"""The strings of pypet's overview tables: cut to their column widths, times, value reprs.

Strings are UTF-8 and cut to their column width the way pypet cuts them (``...`` at the end).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import itertools
from collections.abc import Iterable
from typing import Any

from pypet_sm.hdf5.layout import ENCODING, TIME_FORMAT

# pypet's column widths
NAME_LENGTH = 128
LOCATION_LENGTH = 512
VALUE_LENGTH = 64
COMMENT_LENGTH = 512
RANGE_LENGTH = 1024
RUNTIME_LENGTH = 18


def cut(text: str, width: int) -> bytes:
    """UTF-8 bytes of `text`, cut to `width` with a trailing ``...`` like pypet (what UTF-8
    cannot encode, a lone surrogate in an exception's message say, as a backslash escape)."""
    data = text.encode(ENCODING, "backslashreplace")
    if len(data) <= width:
        return data
    # unlike pypet, never split a multi-byte character: pypet's loader decodes these columns
    return data[: width - 3].decode(ENCODING, "ignore").encode(ENCODING) + b"..."


@functools.lru_cache(maxsize=4096)
def cut_repeated(text: str, width: int) -> bytes:
    """`cut` of strings that repeat over many runs (environment, host, cluster job)."""
    return cut(text, width)


def truncate(text: str, width: int) -> bytes:
    # pypet lets numpy truncate silently; we do the same but at a character boundary
    data = text.encode(ENCODING, "backslashreplace")
    return data[:width].decode(ENCODING, "ignore").encode(ENCODING)


def format_time(timestamp: float) -> str:
    """pypet's human-readable local time, e.g. ``2024_01_31_12h00m00s``."""
    return datetime.datetime.fromtimestamp(timestamp).strftime(TIME_FORMAT)


def format_runtime(start: float, finish: float) -> str:
    """pypet's run time: ``str`` of the difference of the two local datetimes (``0:00:01.5``)."""
    fromtimestamp = datetime.datetime.fromtimestamp
    return str(fromtimestamp(finish) - fromtimestamp(start))


def value_string(value: Any) -> str:
    """A parameter's `value` column: ``repr`` of its value (pypet's ``f_val_to_str``)."""
    try:
        return repr(value)
    except Exception:
        return "No Evaluation possible (yet)!"


def result_value_string(values: dict[str, Any]) -> str:
    """A result's `value` column: ``key=repr(value)`` pairs, cut at 64 like pypet's Result."""
    parts, length = [], 0
    for key, value in values.items():
        part = f"{key}={value_string(value)}, "
        parts.append(part)
        length += len(part)
        if length > VALUE_LENGTH:
            break
    text = "".join(parts)
    if len(text) > VALUE_LENGTH:
        return text[: VALUE_LENGTH - 3] + "..."
    return text[:-2]


def range_string(values: Iterable[Any]) -> str:
    """An explored parameter's `range` column: reprs of the first values, comma separated."""
    return ", ".join(repr(v) for v in itertools.islice(values, RANGE_LENGTH // 3 + 10))


def parameter_summary(explored: Iterable[tuple[str, str, Any]]) -> str:
    """A run's `parameter_summary` from (short name, full name, value) of explored parameters.

    Follows pypet exactly, including its quirk of switching to the full name whenever the short
    name already occurs anywhere in the summary so far.
    """
    summary = ""
    for index, (name, full_name, value) in enumerate(explored):
        if index > 0:
            summary += ",   "
        text = value_string(value)
        if len(text) >= COMMENT_LENGTH:
            text = text[: COMMENT_LENGTH - 3] + "..."
        summary += (full_name if name in summary else name) + ": " + text
    return summary


def comment_digest(comment: str) -> bytes:
    """The summary tables' `hexdigest`: SHA-1 of the UTF-8 comment."""
    return hashlib.sha1(comment.encode(ENCODING)).hexdigest().encode(ENCODING)
