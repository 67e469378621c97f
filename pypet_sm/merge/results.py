"""pypet's `result_list`: what the job function returned in each run, for post-processing.

pypet hands `[(run_idx, return value), ...]` to post-processing functions; the runs' return
values are kept in their records in the fragment store (`RunRecord.returned`), so this reads
them back.
"""

from __future__ import annotations

from typing import Any

from pypet_sm.execute import store
from pypet_sm.execute.plan import Plan


def result_list(plan: Plan) -> list[tuple[int, Any]]:
    """`(run index, return value)` of every completed run of `plan`, in index order (None
    for a run whose function returned nothing); runs not computed or failed are left out,
    as pypet leaves out runs that did not finish."""
    index = store.scan(plan.settings.trajectory_state)
    found: list[tuple[int, Any]] = []
    for idx, key in enumerate(plan.keys):
        entry = index.entry(key)
        if entry is not None and entry.completed and entry.reusable_at(idx):
            found.append((idx, index.read_run(entry).returned))
    return found
