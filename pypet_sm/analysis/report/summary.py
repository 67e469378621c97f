"""The report's summary page (HTML): runs, failures, run times, explored parameters, results
and the environments that ran them."""

from __future__ import annotations

import html
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pypet_sm.analysis.report.axes import value_codes, value_label


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


def values_text(axis_values: list[Any]) -> str:
    _, distinct = value_codes(list(axis_values))
    shown = ", ".join(value_label(v) for v in distinct[:8])
    if len(distinct) > 8:
        shown += f", ... {value_label(distinct[-1])}"
    return f"{len(distinct)} values: {shown}"


def _table(rows: Sequence[Sequence[str]], header: tuple[str, ...] | None = None) -> str:
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
