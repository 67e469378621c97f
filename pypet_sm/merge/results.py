"""pypet's `result_list`: what the job function returned in each run, for post-processing.

pypet hands `[(run_idx, return value), ...]` to post-processing functions; the runs' return
values are kept in their fragments (`RunRecord.returned`), so this reads them back.
"""

from __future__ import annotations

from typing import Any

from pypet_sm.execute import fragment
from pypet_sm.execute.plan import Plan


def result_list(plan: Plan) -> list[tuple[int, Any]]:
    """`(run index, return value)` of every completed run of `plan`, in index order (None
    for a run whose function returned nothing); runs not computed or failed are left out,
    as pypet leaves out runs that did not finish."""
    directory = fragment.fragment_dir(plan.settings.trajectory_state)
    found: list[tuple[int, Any]] = []
    for idx, key in enumerate(plan.keys):
        path = fragment.fragment_path(directory, key)
        if fragment.is_completed(path, key):
            found.append((idx, fragment.read_run(path).returned))
    return found
