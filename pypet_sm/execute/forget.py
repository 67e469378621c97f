"""Forgetting chosen runs on purpose, so that the next `snakemake` computes exactly them again.

A run is forgotten by removing its fragment and the manifest of its job: the manifest is the
run job's Snakemake output, so Snakemake runs the job again, and the job skips its runs whose
fragments are still there. The merge record (the merge's output) is moved aside, so the merge
runs and needs those manifests. Nothing else changes: other jobs keep their manifests and are
not run. The record and manifests go first, so an interrupted forget never leaves a run
without its fragment in a job Snakemake counts as done (forgetting again finishes it).
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
from pypet_sm.execute import fragment, manifest
from pypet_sm.execute.condition import Condition

if TYPE_CHECKING:
    from pypet_sm.execute.plan import Plan


class SelectionError(PypetSmError):
    """A selector of runs that names no run of the exploration or cannot be read."""


def discard(trajectory_state: Path, keys: Iterable[str]) -> int:
    """Remove the stored runs of these point keys; the number of fragments removed.

    The one place that knows how runs are stored (one file per run today)."""
    directory = fragment.fragment_dir(trajectory_state)
    removed = 0
    for key in keys:
        with contextlib.suppress(FileNotFoundError):
            fragment.fragment_path(directory, key).unlink()
            removed += 1
    return removed


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


def _headers(plan: Plan) -> dict[int, dict]:
    """Run index -> header of its valid fragment (completed or failed) at that index."""
    directory = fragment.fragment_dir(plan.settings.trajectory_state)
    found = {}
    for idx in plan.runs:
        state, _, header = fragment.inspect(
            fragment.fragment_path(directory, plan.key(idx)), plan.key(idx)
        )
        if header is not None and state in (fragment.COMPLETED, fragment.FAILED):
            found[idx] = header
    return found


def failed(plan: Plan) -> set[int]:
    """Runs whose fragment records a failure."""
    return {idx for idx, h in _headers(plan).items() if h.get("status") == fragment.FAILED}


def code_changed(plan: Plan, current: str) -> tuple[set[int], int]:
    """(completed runs computed by another version of the job module than `current`, the
    number of completed runs whose fragment does not say: written by an older pypet_sm)."""
    changed, unknown = set(), 0
    for idx, header in _headers(plan).items():
        if header.get("status") != fragment.COMPLETED or not fragment.reusable_at(header, idx):
            continue
        code = header.get(fragment.CODE)
        if not code:
            unknown += 1
        elif code != current:
            changed.add(idx)
    return changed, unknown


# forgetting --------------------------------------------------------------------------------
@dataclass
class Forgotten:
    runs: list[int]
    jobs: list[int]
    fragments: int  # fragments removed (a run without one only had its job's manifest)


def forget(plan: Plan, runs: Iterable[int], dry_run: bool = False) -> Forgotten:
    """Remove the manifests of the jobs of `runs`, then the runs' fragments."""
    selected = sorted(set(runs))
    jobs = sorted({idx // plan.runs_per_job for idx in selected})
    state = plan.settings.trajectory_state
    if dry_run or not selected:
        directory = fragment.fragment_dir(state)
        present = sum(fragment.fragment_path(directory, plan.key(i)).exists() for i in selected)
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
