"""Forgetting chosen runs on purpose, so that the next `snakemake` computes exactly them again.

A run is forgotten by removing its record from the fragment store (pypet_sm/execute/store.py)
and the manifest of its job: the manifest is the run job's Snakemake output, so Snakemake
runs the job again, and the job skips its runs whose records are still there. The merge
record (the merge's output) is moved aside, so the merge runs and needs those manifests.
Nothing else changes: other jobs keep their manifests and are not run. The merge record and
manifests go first, so an interrupted forget never leaves a run without its record in a job
Snakemake counts as done (forgetting again finishes it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pypet_sm.define import validate
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import manifest, store
from pypet_sm.execute.condition import Condition

if TYPE_CHECKING:
    from pypet_sm.execute.plan import Plan


class SelectionError(PypetSmError):
    """A selector of runs that names no run of the exploration or cannot be read."""


def discard(trajectory_state: Path, keys: Iterable[str]) -> int:
    """Remove the stored runs of these point keys; the number of records removed (the
    store's own `discard`, which rewrites the segments holding them atomically)."""
    return store.discard(trajectory_state, keys)


# selecting ---------------------------------------------------------------------------------
def parse_runs(text: str, n_runs: int) -> set[int]:
    """`3,7-9` -> {3, 7, 8, 9}; every index must be a run of the exploration."""
    selected: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        try:
            start = int(first)
            stop = int(last) if dash else start
        except ValueError:
            raise SelectionError(
                f"--runs {text!r}: {part!r} is not a run index or a range like 7-9"
            ) from None
        if start > stop:
            raise SelectionError(f"--runs {text!r}: the range {part!r} is empty")
        if start < 0 or stop >= n_runs:
            raise SelectionError(
                f"--runs {text!r}: {part!r} is outside the exploration's runs 0-{n_runs - 1}"
            )
        selected.update(range(start, stop + 1))
    return selected


def where(plan: Plan, text: str) -> set[int]:
    """The runs whose explored values satisfy the condition (pypet_sm.execute.condition)."""
    condition = Condition(text, plan.explored_names)
    columns = plan.explored_columns()
    return {
        idx
        for idx in plan.runs
        if condition.matches({name: column[idx] for name, column in columns.items()})
    }


def _entries(plan: Plan) -> dict[int, store.Entry]:
    """Run index -> its valid record (completed or failed) in the store."""
    index = store.scan(plan.settings.trajectory_state)
    found = {}
    for idx in plan.runs:
        state, _, entry = index.lookup(plan.key(idx))
        if entry is not None and state in (store.COMPLETED, store.FAILED):
            found[idx] = entry
    return found


def failed(plan: Plan) -> set[int]:
    """Runs whose record is a failure."""
    return {idx for idx, entry in _entries(plan).items() if not entry.completed}


def code_changed(plan: Plan, current: str) -> tuple[set[int], int]:
    """(completed runs computed by another version of the job module than `current`, the
    number of completed runs whose record does not say: written by an older pypet_sm)."""
    changed, unknown = set(), 0
    for idx, entry in _entries(plan).items():
        if not entry.completed or not entry.reusable_at(idx):
            continue
        if not entry.code:
            unknown += 1
        elif entry.code != current:
            changed.add(idx)
    return changed, unknown


# forgetting --------------------------------------------------------------------------------
@dataclass
class Forgotten:
    runs: list[int]
    jobs: list[int]
    fragments: int  # records removed (a run without one only had its job's manifest)


def forget(plan: Plan, runs: Iterable[int], dry_run: bool = False) -> Forgotten:
    """Remove the manifests of the jobs of `runs`, then the runs' fragments."""
    selected = sorted(set(runs))
    jobs = sorted({idx // plan.runs_per_job for idx in selected})
    state = plan.settings.trajectory_state
    if dry_run or not selected:
        index = store.scan(state)
        present = sum(index.entry(plan.key(i)) is not None for i in selected)
        return Forgotten(selected, jobs, present)
    # Snakemake leaves a job whose output is missing alone while the merge's output is there
    # ("Nothing to be done"), so the merge record goes too. Moved aside, not deleted: the
    # merge still knows the trajectory file as its own (validate.written_by_us).
    record = validate.merge_record(state)
    with contextlib.suppress(FileNotFoundError):
        os.replace(record, record.with_name(f"{record.name}.forgotten"))
    for job in jobs:
        with contextlib.suppress(FileNotFoundError):
            manifest.path(state, job).unlink()
    removed = discard(state, (plan.key(idx) for idx in selected))
    return Forgotten(selected, jobs, removed)
