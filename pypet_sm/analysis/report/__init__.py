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

import json
import logging
import time
from pathlib import Path

from pypet_sm import atomic
from pypet_sm.analysis.load import load_trajectory
from pypet_sm.analysis.report.axes import Axis, explored_axes, plot_kind
from pypet_sm.analysis.report.captions import CAPTIONS, Captions, caption
from pypet_sm.analysis.report.plots import plot
from pypet_sm.analysis.report.results import Result, scalar_results
from pypet_sm.analysis.report.summary import Summary, summary_html, values_text
from pypet_sm.execute import failures

LIST_FAILED = 20
MAX_PLOTS = 50  # the config's default (report: max_plots)
LIST_LEFT_OUT = 20  # names of results left out that the summary lists
INSTALL_HINT = "pip install 'pypet_sm[report]'"
logger = logging.getLogger("pypet_sm.analysis.report")

__all__ = ["CAPTIONS", "Captions", "Result", "caption", "explored_axes", "plot_kind", "write"]


def _over(axes: list[Axis], kind: str) -> str:
    if kind == "runs":
        return "run index"
    return " × ".join(axis.name for axis in axes)


def write(
    trajectory_file: str | Path,
    summary_path: str | Path,
    plots_dir: str | Path,
    plots: bool = True,
    max_plots: int = MAX_PLOTS,
) -> None:
    """Write the summary page and (with matplotlib and `plots`) a figure per scalar result,
    of at most `max_plots` results (the summary names the others)."""
    started = time.perf_counter()
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    for old in plots_dir.glob("*.png"):
        old.unlink()
    # the file the merge just wrote from this project's runs: its pickles are the project's
    with load_trajectory(trajectory_file, allow_pickle=True) as traj:
        n_runs = len(traj)
        rows = traj._runs()
        done = rows["completed"].astype(bool)
        starts, finishes = rows["timestamp"][done], rows["finish_timestamp"][done]
        runtimes = [float(v) for v in finishes - starts]
        explored = [
            (leaf.v_full_name.partition(".")[2], leaf.v_comment or "", leaf.f_get_range())
            for leaf in traj.f_get_explored_parameters().values()
        ]
        axes, constant = explored_axes(explored)
        kind = plot_kind(axes, n_runs)
        results, skipped, left_out = scalar_results(traj, max_plots)
        environments = traj.f_get_environments()
    failed = [
        (run["name"], (run["exception"].strip().splitlines() or [""])[-1])
        for run in failures.failed_runs(trajectory_file)[:LIST_FAILED]
    ]
    notes = []
    if left_out:
        shown = ", ".join(left_out[:LIST_LEFT_OUT]) + (
            ", ..." if len(left_out) > LIST_LEFT_OUT else ""
        )
        notes.append(
            f"{len(left_out)} more scalar results are not plotted: the report draws at most "
            f"{max_plots} figures (config: report: max_plots). Left out: {shown}."
        )
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
        explored=[(name, comment, values_text(values)) for name, comment, values in explored],
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
