"""The sweep report: a summary page and a plot of every scalar result over the explored
parameters, for `snakemake --report report.html` (workflow/rules/report.smk).

    python -m pypet_sm report --plan PLAN --trajectory FILE --summary summary.html --plots DIR

`summary.html`: runs (completed, failed and why), run times, explored parameters, results
(plotted or why not), and the environments that ran the runs (git commit, versions, command
line). `DIR/<result>.png`: one figure per scalar result, a line over one explored parameter, a
heatmap over two, small multiples (heatmaps over the first two, one panel per value of the
others) for more; `DIR/captions.json` holds each figure's caption, which the report's caption
template reads through `Captions` (a rule param). Plots need matplotlib (the `report` extra):
without it the summary says so and the directory holds captions only.

Values are read through `overview/run_scalars` (or the stacked layout), never run by run, so
100,000 runs cost about a second more than 100.
"""

from __future__ import annotations

import html
import json
import logging
import math
import statistics
import time
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from pypet_sm import atomic
from pypet_sm.analysis.load import LoadedTrajectory, load_trajectory
from pypet_sm.define import value_types
from pypet_sm.execute import failures

CAPTIONS = "captions.json"
MAX_PANELS = 12  # small multiples: panels shown; the caption says how many were left out
MAX_TICKS = 12  # tick labels on a categorical axis before every k-th is shown
LIST_FAILED = 20
INSTALL_HINT = "pip install 'pypet_sm[report]'"
logger = logging.getLogger("pypet_sm.analysis.report")


# the explored parameters as plot axes ---------------------------------------------------------
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


def _label(value: Any) -> str:
    if _is_number(value):
        return f"{value:g}"
    return str(value)


def _codes(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
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
        codes, distinct = _codes(list(values))
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
                labels=[_label(v) for v in distinct],
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


# results ------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    comment: str
    values: np.ndarray  # one float per run, NaN where a run has none (failed, or not stored)


def _real_scalar(value: Any) -> bool:
    return value_types.is_real(value)


def scalar_results(traj: LoadedTrajectory) -> tuple[list[Result], list[tuple[str, str]]]:
    """The results holding one real number (bool, int, float) in every run, with their
    values over the runs; and (name, why not) of the others."""
    plottable, skipped = [], []
    n_runs = len(traj)
    for name, leaf in traj.first_run_results():
        if leaf.main_key is None:
            skipped.append((name, f"several values ({', '.join(leaf.values)})"))
            continue
        value = leaf.fast()
        if not _real_scalar(value):
            kind = type(value).__name__
            if hasattr(value, "shape"):
                kind += f" {tuple(value.shape)}"
            skipped.append((name, f"not a real scalar ({kind})"))
            continue
        by_run = traj.f_get_from_runs(name, use_indices=True)
        values = np.full(n_runs, np.nan)
        try:
            for idx, found in by_run.items():
                values[idx] = float(found)
        except (TypeError, ValueError):
            skipped.append((name, f"not a real scalar in every run (run {idx}: {found!r})"))
            continue
        plottable.append(Result(name, leaf.v_comment or "", values))
    return plottable, skipped


# captions -----------------------------------------------------------------------------------
def _rst(text: str) -> str:
    """Plain text inside reStructuredText: markup characters escaped."""
    for char in "\\*`_|[]<>":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def _literal(name: str) -> str:
    return f"``{name}``"


def _described(name: str, comment: str) -> str:
    return f"{_literal(name)} ({_rst(comment)})" if comment else _literal(name)


def caption(
    result: Result, axes: list[Axis], kind: str, constant: list[str], panels: tuple[int, int]
) -> str:
    """The reStructuredText caption of a result's figure: result, comment (units),
    parameters, what is shown and what is missing."""
    over = []
    for axis in axes:
        over += [_described(n, c) for n, c in zip(axis.names, axis.comments, strict=True)]
    text = f"{_described(result.name, result.comment)}"
    if kind == "line":
        axis = axes[0]
        text += f" over {' and '.join(over)}"
        if len(axis.names) > 1:
            text += f" (explored together; the axis shows {_literal(axis.name)})"
        text += ": a line, one point per run."
    elif kind in ("heatmap", "multiples"):
        text += f" over {', '.join(over)}"
        text += (
            f": a heatmap of {_literal(axes[0].title)} (x) and {_literal(axes[1].title)} (y); "
            f"the colour is {_literal(result.name)}."
        )
        if kind == "multiples":
            shown, total = panels
            others = ", ".join(_literal(axis.title) for axis in axes[2:])
            per = "value of" if len(axes) == 3 else "combination of the values of"
            text += f" One panel per {per} {others}"
            text += (
                f": the first {shown} of {total} panels are shown."
                if shown < total
                else f" ({total} panels)."
            )
        zipped = [axis for axis in axes if len(axis.names) > 1]
        for axis in zipped:
            text += f" {', '.join(map(_literal, axis.names))} are explored together."
    else:
        text += " over the run index"
        if over:
            text += f" (explored: {', '.join(over)}; some runs share parameter values)"
        text += "."
    missing = int(np.isnan(result.values).sum())
    if missing:
        where = "gaps in the line" if kind in ("line", "runs") else "grey cells"
        text += f" Runs without a value (failed) are {where}: {missing} of {len(result.values)}."
    if constant:
        text += f" Explored with one value: {', '.join(map(_literal, constant))}."
    return text


class Captions:
    """The figures' captions for the report's caption template (workflow/report/plot.rst):
    `{{ snakemake.params.captions.text(snakemake.wildcards.result) }}`. A param of the report
    rule; Snakemake does not compare params it cannot represent, so it never reruns the rule.
    The captions are read from the plot directory when the report is made."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = str(directory)
        self._found: dict[str, dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f"Captions({self.directory!r})"

    def _read(self) -> dict[str, dict[str, str]]:
        if self._found is None:
            try:
                path = Path(self.directory) / CAPTIONS
                self._found = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._found = {}
        return self._found

    def text(self, result: str) -> str:
        found = self._read().get(result)
        return found["caption"] if found else _literal(result)

    def labels(self, wildcards: Any) -> dict[str, str]:
        """The report's columns of a figure: result, plot kind, parameters."""
        found = self._read().get(wildcards.result, {})
        return {
            "result": wildcards.result,
            "plot": found.get("kind", ""),
            "over": found.get("over", ""),
        }


# plots --------------------------------------------------------------------------------------
def _ticks(ax, which: str, axis: Axis) -> None:
    """Ticks of a heatmap axis (or a categorical line axis), whose cells sit at 0, 1, ...:
    every value when they are few; else round numbers placed between the cells (numeric
    axes) or every k-th value. Long x labels stand upright."""
    count = len(axis.labels)
    if count <= MAX_TICKS or axis.numbers is None:
        positions = list(range(0, count, max(1, math.ceil(count / MAX_TICKS))))
        labels = [axis.labels[i] for i in positions]
    else:
        from matplotlib.ticker import MaxNLocator

        low, high = axis.numbers[0], axis.numbers[-1]
        nice = [v for v in MaxNLocator(8).tick_values(low, high) if low <= v <= high]
        positions = np.interp(nice, axis.numbers, np.arange(count))
        labels = [f"{v:g}" for v in nice]
    if which == "x":
        ax.set_xticks(positions, labels, rotation=90 if sum(map(len, labels)) > 40 else 0)
    else:
        ax.set_yticks(positions, labels)


def _grid(values: np.ndarray, x: Axis, y: Axis, runs: np.ndarray) -> np.ndarray:
    grid = np.full((len(y.labels), len(x.labels)), np.nan)
    grid[y.codes[runs], x.codes[runs]] = values[runs]
    return grid


def _heatmap(ax, grid: np.ndarray, x: Axis, y: Axis, cmap, norm):
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
        image = _heatmap(ax, _grid(result.values, axes[0], axes[1], runs), *axes[:2], cmap, norm)
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
        image = None
        for ax, combination in zip(grid_axes.flat, shown, strict=False):
            selected = np.ones(len(result.values), dtype=bool)
            for axis, code in zip(others, combination, strict=True):
                selected &= axis.codes == code
            runs = np.nonzero(selected)[0]
            grid = _grid(result.values, axes[0], axes[1], runs)
            image = _heatmap(ax, grid, *axes[:2], cmap, norm)
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
        figure.colorbar(image, ax=grid_axes, label=label, shrink=0.9)
    figure.suptitle(result.name)
    with atomic.atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=110)
    plt.close(figure)
    return panels


# the summary page ---------------------------------------------------------------------------
@dataclass
class Summary:
    name: str
    comment: str
    filename: str
    n_runs: int
    completed: int
    runtimes: list[float]
    first_start: float | None
    last_finish: float | None
    explored: list[tuple[str, str, str]]  # name, comment, values
    constant: list[str]
    plotted: list[tuple[str, str, str]]  # name, comment, plot kind
    skipped: list[tuple[str, str]]
    failed: list[tuple[str, str]]  # run name, exception
    environments: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)


def _when(timestamp: Any) -> str:
    if not isinstance(timestamp, (int, float)) or not timestamp:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:.2f} h"
    if value >= 60:
        return f"{value / 60:.1f} min"
    return f"{value:.3g} s"


def _values_text(axis_values: list[Any]) -> str:
    _, distinct = _codes(list(axis_values))
    shown = ", ".join(_label(v) for v in distinct[:8])
    if len(distinct) > 8:
        shown += f", ... {_label(distinct[-1])}"
    return f"{len(distinct)} values: {shown}"


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> str:
    escape = html.escape
    parts = ["<table>"]
    if header:
        parts.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    parts.append("</table>")
    return "\n".join(parts)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 70em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.4em 0; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } .note { background: #fff4d6; padding: 0.5em; }
code { font-size: 0.95em; }
"""


def summary_html(summary: Summary) -> str:
    escape = html.escape
    s = summary
    failed = s.n_runs - s.completed
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>Sweep {escape(s.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Sweep {escape(s.name)}</h1>",
    ]
    if s.comment:
        parts.append(f"<p>{escape(s.comment)}</p>")
    parts += [f'<p class="note">{escape(note)}</p>' for note in s.notes]
    rows = [
        ("trajectory file", s.filename),
        ("runs", f"{s.n_runs}"),
        ("completed", f"{s.completed}"),
        ("failed", f"{failed}"),
    ]
    if s.runtimes:
        rows += [
            (
                "run time min / median / max",
                " / ".join(
                    _seconds(v)
                    for v in (min(s.runtimes), statistics.median(s.runtimes), max(s.runtimes))
                ),
            ),
            ("run time total (completed runs)", _seconds(sum(s.runtimes))),
        ]
    if s.first_start and s.last_finish:
        rows.append(
            (
                "first start, last finish",
                f"{_when(s.first_start)}, {_when(s.last_finish)} "
                f"({_seconds(s.last_finish - s.first_start)})",
            )
        )
    parts += ["<h2>Runs</h2>", _table(rows)]
    if s.failed:
        parts.append(f"<h2>Failed runs ({failed})</h2>")
        parts.append(_table(s.failed, ("run", "exception")))
        if failed > len(s.failed):
            parts.append(f"<p>... and {failed - len(s.failed)} more</p>")
    parts.append("<h2>Explored parameters</h2>")
    parts.append(_table(s.explored, ("parameter", "comment", "values")))
    if s.constant:
        parts.append(f"<p>Explored with a single value: {escape(', '.join(s.constant))}</p>")
    parts.append("<h2>Results</h2>")
    if s.plotted:
        parts.append(_table(s.plotted, ("plotted result", "comment", "plot")))
    if s.skipped:
        parts.append(_table(s.skipped, ("not plotted", "why")))
    if not s.plotted and not s.skipped:
        parts.append("<p>No run stored results.</p>")
    parts.append(f"<h2>Environments ({len(s.environments)})</h2>")
    for name, env in s.environments.items():
        git = bool(env.get("git_repository"))
        rows = [
            ("git commit" if git else "id (no git integration)", str(env.get("hexsha", ""))),
            ("started", _when(env.get("timestamp"))),
            (
                "runs from",
                f"{_when(env.get('start_timestamp'))} to "
                f"{_when(env.get('finish_timestamp'))} ({env.get('runtime', '')})",
            ),
            ("command line", str(env.get("snakemake.command_line", ""))),
            (
                "executor, cores",
                f"{env.get('snakemake.executor', '')}, {env.get('snakemake.cores', '')}",
            ),
        ]
        versions = sorted(
            (k[len("versions.") :], v) for k, v in env.items() if k.startswith("versions.")
        )
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions)))
        parts.append(f"<h3>{escape(name)}</h3>")
        parts.append(_table(rows))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# the whole report ---------------------------------------------------------------------------
def _over(axes: list[Axis], kind: str) -> str:
    if kind == "runs":
        return "run index"
    return " × ".join(axis.name for axis in axes)


def write(
    trajectory_file: str | Path, summary_path: str | Path, plots_dir: str | Path, plots: bool = True
) -> None:
    """Write the summary page and (with matplotlib and `plots`) a figure per scalar result."""
    started = time.perf_counter()
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    for old in plots_dir.glob("*.png"):
        old.unlink()
    with load_trajectory(trajectory_file) as traj:
        n_runs = len(traj)
        rows = traj._runs()
        done = rows["completed"].astype(bool)
        starts, finishes = rows["timestamp"][done], rows["finish_timestamp"][done]
        runtimes = [float(v) for v in finishes - starts]
        explored = [
            (leaf.v_full_name.partition(".")[2], leaf.v_comment, list(leaf.explored))
            for leaf in traj.f_get_explored_parameters().values()
        ]
        axes, constant = explored_axes(explored)
        kind = plot_kind(axes, n_runs)
        results, skipped = scalar_results(traj)
        environments = traj.f_get_environments()
    failed = [
        (run["name"], (run["exception"].strip().splitlines() or [""])[-1])
        for run in failures.failed_runs(trajectory_file)[:LIST_FAILED]
    ]
    notes = []
    if results and not plots:
        notes.append("Plots are switched off (config: report: plots: false).")
    elif results:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            plots = False
            notes.append(f"Plots of the scalar results need matplotlib: {INSTALL_HINT}")
    captions = {}
    for result in results:
        panels = (1, 1)
        if plots:
            panels = plot(result, axes, kind, plots_dir / f"{result.name}.png")
        captions[result.name] = {
            "caption": caption(result, axes, kind, constant, panels),
            "kind": "heatmaps" if kind == "multiples" else kind,
            "over": _over(axes, kind),
        }
    atomic.write_text(plots_dir / CAPTIONS, json.dumps(captions, indent=1))
    summary = Summary(
        name=traj.v_name,
        comment=traj.v_comment,
        filename=str(trajectory_file),
        n_runs=n_runs,
        completed=int(done.sum()),
        runtimes=runtimes,
        first_start=float(starts.min()) if len(starts) else None,
        last_finish=float(finishes.max()) if len(finishes) else None,
        explored=[(name, comment, _values_text(values)) for name, comment, values in explored],
        constant=constant,
        plotted=[
            (r.name, r.comment, captions[r.name]["kind"] + " over " + captions[r.name]["over"])
            for r in results
        ],
        skipped=skipped,
        failed=failed,
        environments=environments,
        notes=notes,
    )
    atomic.write_text(Path(summary_path), summary_html(summary))
    logger.info(
        "report: summary and %d plots of %d runs in %.2f s",
        len(results) if plots else 0,
        n_runs,
        time.perf_counter() - started,
    )
