"""Drawing one result's figure with matplotlib (imported only here, only when plotting): a
line, a heatmap, or small multiples of heatmaps; failed runs are gaps or grey cells."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pypet_sm import atomic
from pypet_sm.analysis.report.axes import Axis
from pypet_sm.analysis.report.results import Result

if TYPE_CHECKING:  # matplotlib is optional and imported only when plotting
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap, Normalize
    from matplotlib.image import AxesImage

MAX_PANELS = 12  # small multiples: panels shown; the caption says how many were left out
MAX_TICKS = 12  # tick labels on a categorical axis before every k-th is shown


def _ticks(ax: Axes, which: str, axis: Axis) -> None:
    """Ticks of a heatmap axis (or a categorical line axis), whose cells sit at 0, 1, ...:
    every value when they are few; else round numbers placed between the cells (numeric
    axes) or every k-th value. Long x labels stand upright."""
    count = len(axis.labels)
    if count <= MAX_TICKS or axis.numbers is None:
        positions: Sequence[float] = range(0, count, max(1, math.ceil(count / MAX_TICKS)))
        labels = [axis.labels[int(i)] for i in positions]
    else:
        from matplotlib.ticker import MaxNLocator

        low, high = axis.numbers[0], axis.numbers[-1]
        nice = [v for v in MaxNLocator(8).tick_values(low, high) if low <= v <= high]
        positions = list(np.interp(nice, axis.numbers, np.arange(count)))
        labels = [f"{v:g}" for v in nice]
    if which == "x":
        ax.set_xticks(positions, labels, rotation=90 if sum(map(len, labels)) > 40 else 0)
    else:
        ax.set_yticks(positions, labels)


def _grid(values: np.ndarray, x: Axis, y: Axis, runs: np.ndarray) -> np.ndarray:
    grid = np.full((len(y.labels), len(x.labels)), np.nan)
    grid[y.codes[runs], x.codes[runs]] = values[runs]
    return grid


def _heatmap(
    ax: Axes, grid: np.ndarray, x: Axis, y: Axis, cmap: Colormap, norm: Normalize
) -> AxesImage:
    image = ax.imshow(
        grid, origin="lower", aspect="auto", interpolation="nearest", cmap=cmap, norm=norm
    )
    _ticks(ax, "x", x)
    _ticks(ax, "y", y)
    ax.set_xlabel(x.title)
    ax.set_ylabel(y.title)
    return image


def plot(result: Result, axes: list[Axis], kind: str, path: Path) -> tuple[int, int]:
    """Draw `result` as `kind` into the PNG `path`; (panels shown, panels in all)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colors
    from matplotlib import pyplot as plt

    label = result.name + (f" ({result.comment})" if result.comment else "")
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="lightgrey")
    finite = result.values[np.isfinite(result.values)]
    low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
    norm = colors.Normalize(low, high if high > low else low + 1)
    panels = (1, 1)
    if kind in ("line", "runs"):
        figure, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
        if kind == "line":
            axis = axes[0]
            xs = axis.numbers if axis.numbers is not None else np.arange(len(axis.labels))
            ys = np.full(len(xs), np.nan)
            ys[axis.codes] = result.values
            ax.plot(xs, ys, marker="o", markersize=3 if len(xs) > 50 else 5)
            if axis.numbers is None:
                _ticks(ax, "x", axis)
            elif (
                len(xs) > 2
                and xs.min() > 0
                and np.allclose(np.diff(np.log(xs)), np.log(xs[1] / xs[0]))
            ):
                ax.set_xscale("log")  # a logspace exploration
            ax.set_xlabel(axis.title)
        else:
            ax.plot(np.arange(len(result.values)), result.values, marker=".", linestyle="-")
            ax.set_xlabel("run index")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    elif kind == "heatmap":
        figure, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
        runs = np.arange(len(result.values))
        image = _heatmap(
            ax, _grid(result.values, axes[0], axes[1], runs), axes[0], axes[1], cmap, norm
        )
        figure.colorbar(image, ax=ax, label=label)
    else:
        others = axes[2:]
        combinations = list(product(*(range(len(axis.labels)) for axis in others)))
        shown = combinations[:MAX_PANELS]
        panels = (len(shown), len(combinations))
        columns = min(4, len(shown))
        rows = math.ceil(len(shown) / columns)
        figure, grid_axes = plt.subplots(
            rows,
            columns,
            figsize=(3.4 * columns + 1.2, 2.9 * rows + 0.6),
            layout="constrained",
            squeeze=False,
            sharex=True,
            sharey=True,
        )
        images = []
        for ax, combination in zip(grid_axes.flat, shown, strict=False):
            selected = np.ones(len(result.values), dtype=bool)
            for axis, code in zip(others, combination, strict=True):
                selected &= axis.codes == code
            runs = np.nonzero(selected)[0]
            grid = _grid(result.values, axes[0], axes[1], runs)
            images.append(_heatmap(ax, grid, axes[0], axes[1], cmap, norm))
            ax.set_title(
                ", ".join(
                    f"{axis.name}={axis.labels[code]}"
                    for axis, code in zip(others, combination, strict=True)
                ),
                fontsize=9,
            )
            if not ax.get_subplotspec().is_last_row():
                ax.set_xlabel("")
            if not ax.get_subplotspec().is_first_col():
                ax.set_ylabel("")
        for ax in list(grid_axes.flat)[len(shown) :]:
            ax.set_visible(False)
        figure.colorbar(images[0], ax=grid_axes, label=label, shrink=0.9)
    figure.suptitle(result.name)
    with atomic.atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=110)
    plt.close(figure)
    return panels
