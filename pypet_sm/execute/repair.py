"""Which finished jobs must run again: their manifest exists (so Snakemake counts them done)
but is damaged or foreign, or some of their runs have no valid record in the fragment store
(damaged, foreign or missing).

Found at parse time (`prepare`, pypet_sm/execute/workflow.py), so these jobs go to the
executor like any other job: each gets a new retry token (pypet_sm/execute/failures.py), a
changed param that makes Snakemake run it; nothing is deleted, so a dry run shows the same.
The merge checks the same and, if it still finds something broken, stops and names it: user
code never runs on the submitting host.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pypet_sm import atomic
from pypet_sm.execute import manifest as manifests
from pypet_sm.execute import store
from pypet_sm.execute.plan import Plan, run_name


@dataclass
class Check:
    """jobs -> what is wrong with them, failed runs, environments -> their last finish,
    and the point key of every run with a valid record (None for the others), in run order:
    their entries are made when the writer reads them (an incremental merge reads few)."""

    broken: dict[int, list[str]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    environments: dict[str, float | None] = field(default_factory=dict)
    keys: list[str | None] = field(default_factory=list)

    def runs(self) -> list[str]:
        return [problem for problems in self.broken.values() for problem in problems]


def _replanned(manifest: Path, runs: range, problem: str | None) -> bool:
    """A valid manifest of the same runs under another plan: the job's plan file (a param,
    named by the job's identity) changed, so Snakemake runs the job anyway."""
    if problem != manifests.OTHER_PLAN:
        return False
    try:
        record = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    return (record.get("first_run"), record.get("last_run")) == (runs.start, runs.stop - 1)


def check(plan: Plan, index: store.Index, finished_only: bool) -> Check:
    """Every manifest and run of `plan`; `finished_only` (parse time): only jobs whose
    manifest file exists (Snakemake runs the others anyway), and only `broken` (the merge
    needs every run's record, the failed runs and the environments too). Reads the index's
    raw tuples: 10^5 runs in a fraction of a second."""
    state = plan.settings.trajectory_state
    result = Check()
    raw, keys = index.raw, plan.keys
    last: dict[int, float | None] = {}  # source -> its last finish
    for job in range(plan.n_jobs):
        runs = plan.job_runs(job)
        manifest = manifests.path(state, job)
        problem = manifests.problem(manifest, plan.job_digest(job), runs.start, runs.stop - 1)
        if finished_only and (problem == "missing" or _replanned(manifest, runs, problem)):
            continue
        if problem:
            what = f"manifest of runs {runs.start}-{runs.stop - 1}: {problem}"
            result.broken.setdefault(job, []).append(what)
        for idx in runs:
            record = raw.get(keys[idx])
            if record is None and index.legacy is not None and index.entry(keys[idx]):
                record = raw.get(keys[idx])  # an old store's file, now in the index
            if record is not None and (not record[0] or record[2] is None or record[2] == idx):
                if finished_only:
                    continue
                source, finish = record[3], record[1]
                known = last.get(source)
                last[source] = finish if known is None else max(known, finish or known)
                if not record[0]:
                    result.failed.append(run_name(idx))
                result.keys.append(keys[idx])
                continue
            status, reason, _ = index.lookup(keys[idx])
            if record is not None:
                status, reason = store.MISSING, "its record read another run index"
            what = f"{run_name(idx)}: its record is {status}" + (f" ({reason})" if reason else "")
            result.broken.setdefault(job, []).append(what)
            if not finished_only:
                result.keys.append(None)
    for source, finish in last.items():
        name = index.environment(source)
        known = result.environments.get(name)
        result.environments[name] = finish if known is None else max(known, finish or known)
    return result


# The last parse-time check that found nothing wrong, as a fingerprint of what it read:
# a no-op rerun of 10^5 runs skips the scan and the check (a sixth of its time).
CLEAN = "parse-check"


def fingerprint(plan: Plan) -> str:
    """The plan's digest and the size and mtime of every file `check` reads (segments,
    manifests, the scan cache): the store's scan trusts the same (see store_index.scan_file)."""
    state = plan.settings.trajectory_state
    hasher = hashlib.sha1(plan.digest.encode())
    directory = store.store_dir(state)
    paths = [
        directory / store.CACHE,
        *store.segment_files(state),
        *(manifests.path(state, job) for job in range(plan.n_jobs)),
    ]
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            hasher.update(b"%s -\0" % os.fsencode(path))
            continue
        hasher.update(b"%s %d %d\0" % (os.fsencode(path), stat.st_size, stat.st_mtime_ns))
    return hasher.hexdigest()


def known_clean(plan: Plan, seen: str) -> bool:
    """Whether the last parse-time check found nothing wrong in exactly these files."""
    try:
        return (store.store_dir(plan.settings.trajectory_state) / CLEAN).read_text() == seen
    except OSError:
        return False


def remember_clean(plan: Plan, seen: str) -> None:
    directory = store.store_dir(plan.settings.trajectory_state)
    if directory.is_dir():
        atomic.write_bytes(directory / CLEAN, seen.encode(), fsync=False)
