"""The results a report plots: those holding one real number in every run, read over all
runs at once (the run-scalars index or the stacked layout), never run by run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pypet_sm.analysis.load import LoadedTrajectory
from pypet_sm.define import value_types


@dataclass
class Result:
    name: str
    comment: str
    values: np.ndarray  # one float per run, NaN where a run has none (failed, or not stored)


def _real_scalar(value: Any) -> bool:
    return value_types.is_real(value)


def scalar_results(
    traj: LoadedTrajectory, limit: int | None = None
) -> tuple[list[Result], list[tuple[str, str]], list[str]]:
    """The results holding one real number (bool, int, float) in every run, with their
    values over the runs (at most `limit` of them, in name order); (name, why not) of the
    others; and the names of the scalar results beyond `limit`, whose values are not read."""
    plottable: list[Result] = []
    skipped: list[tuple[str, str]] = []
    left_out: list[str] = []
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
        if limit is not None and len(plottable) >= limit:
            left_out.append(name)
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
    return plottable, skipped, left_out
