"""Figure captions: the reStructuredText caption of each plot, and `Captions`, the report
rule's param through which the caption template finds them when the report is made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pypet_sm.analysis.report.axes import Axis
from pypet_sm.analysis.report.results import Result

CAPTIONS = "captions.json"


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
