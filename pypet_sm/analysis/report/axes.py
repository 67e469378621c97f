"""The explored parameters as plot axes: zipped parameters share an axis, numeric values are
sorted, others keep the order they first occur in; and which plot a set of axes gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pypet_sm.define import value_types


@dataclass
class Axis:
    """Explored parameters that vary together (a zip), shown as one axis. `codes[i]` is run
    i's position among `labels` (numeric parameters sorted by value, others in the order they
    first occur); `numbers` holds the values of a numeric axis."""

    names: list[str]
    comments: list[str]
    codes: np.ndarray
    labels: list[str]
    numbers: np.ndarray | None

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def title(self) -> str:
        if len(self.names) == 1:
            return self.name
        return f"{self.name} (with {', '.join(self.names[1:])})"


def _key(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:  # arrays, lists: their text
        return repr(value)
    return value


def _is_number(value: Any) -> bool:
    return value_types.is_number(value)


def value_label(value: Any) -> str:
    if _is_number(value):
        return f"{value:g}"
    return str(value)


def value_codes(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """(position of each run's value among the distinct values, the distinct values)."""
    distinct: dict[Any, Any] = {}
    for value in values:
        distinct.setdefault(_key(value), value)
    ordered = list(distinct.values())
    if all(_is_number(value) for value in ordered):
        ordered.sort()
    position = {_key(value): i for i, value in enumerate(ordered)}
    return np.fromiter((position[_key(v)] for v in values), dtype=np.int64, count=len(values)), (
        ordered
    )


def explored_axes(
    explored: list[tuple[str, str, list[Any]]],
) -> tuple[list[Axis], list[str]]:
    """The plot axes of explored parameters (name, comment, values), in exploration order,
    and the names of those explored with a single value (constant, no axis). Parameters
    whose values determine each other one to one (zipped) share an axis."""
    coded = []
    constant = []
    for name, comment, values in explored:
        codes, distinct = value_codes(list(values))
        if len(distinct) <= 1:
            constant.append(name)
        else:
            coded.append((name, comment, codes, distinct))
    groups: list[list[int]] = []
    for i, (_, _, codes, distinct) in enumerate(coded):
        for group in groups:
            first = coded[group[0]]
            if len(first[3]) == len(distinct) and len(
                set(zip(first[2], codes, strict=True))
            ) == len(distinct):
                group.append(i)
                break
        else:
            groups.append([i])
    axes = []
    for group in groups:
        name, comment, codes, distinct = coded[group[0]]
        numbers = np.asarray(distinct, dtype=float) if _is_number(distinct[0]) else None
        axes.append(
            Axis(
                names=[coded[i][0] for i in group],
                comments=[coded[i][1] for i in group],
                codes=codes,
                labels=[value_label(v) for v in distinct],
                numbers=numbers,
            )
        )
    return axes, constant


def plot_kind(axes: list[Axis], n_runs: int) -> str:
    """line (one axis), heatmap (two), multiples (more), or runs: over the run index, when
    there is no axis or two runs share a cell (an exploration with repeated points)."""
    if not axes:
        return "runs"
    cells = len(set(zip(*(axis.codes for axis in axes), strict=True)))
    if cells < n_runs:
        return "runs"
    return {1: "line", 2: "heatmap"}.get(len(axes), "multiples")
