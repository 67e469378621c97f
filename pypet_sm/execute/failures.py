"""Failed runs: what a job records about them, and what the workflow tells the user.

A job whose job function raised for some runs writes a failure record
(`<state>/failures/job_<first run>.json`): every failed run's index, name, exception and
parameters. The runs' fragments hold the full traceback. The record is removed when the job
later finishes without failures.

- Default: the job fails after finishing its other runs; Snakemake stops and the workflow's
  `onerror` prints `summary()`: the failed runs, their exceptions and their job logs.
- Keep going (`snakemake --keep-going` or `keep_going: true` in config.yaml; the workflow
  passes `--keep-going` to the job's command, pypet_sm/execute/workflow.py): the job writes
  its manifest anyway, so the merge writes the trajectory with the failed runs marked
  `completed = 0` and listed in `overview/failed_runs`.

Each record carries a token, new whenever runs failed; the run rule passes it as a param, so
a changed token is a changed param and Snakemake runs the job again at the next invocation
(it skips its finished runs and computes only the failed ones). When a job that had failed
runs succeeds, its record keeps the token the job ran with (and no failed runs), so the
param stays the same and the job is not run again after that.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypet_sm import atomic

if TYPE_CHECKING:
    from pypet_sm.execute.plan import Plan
    from pypet_sm.execute.single_run import SingleRun


def directory(trajectory_state: Path) -> Path:
    return Path(trajectory_state) / "failures"


def record_path(trajectory_state: Path, first_run: int) -> Path:
    return directory(trajectory_state) / f"job_{first_run:08d}.json"


def write_record(
    trajectory_state: Path, first_run: int, digest: str, failed: list[dict[str, Any]]
) -> Path:
    """Record a job's failed runs under a new token."""
    path = record_path(trajectory_state, first_run)
    record = {"first_run": first_run, "plan": digest, "failed": failed, "token": uuid.uuid4().hex}
    atomic.write_text(path, json.dumps(record, default=repr), fsync=False)
    return path


def clear_record(trajectory_state: Path, first_run: int, token: str = "") -> None:
    """The job has no failed runs (any more); keep the token it ran with, if any."""
    path = record_path(trajectory_state, first_run)
    if token:
        record = {"first_run": first_run, "failed": [], "token": token}
        atomic.write_text(path, json.dumps(record), fsync=False)
    else:
        path.unlink(missing_ok=True)


def repair_tokens(trajectory_state: Path, first_runs: list[int]) -> dict[int, str]:
    """Tokens that make Snakemake run jobs whose output exists but must run again (their
    records or manifest are damaged, foreign or missing: pypet_sm/execute/repair.py). A
    job's token stays the same until the job has run, so a dry run and the run after it
    agree; the job's success keeps it as its plain token (`clear_record`)."""
    found = {}
    for first_run in first_runs:
        path = record_path(trajectory_state, first_run)
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = {}
        if not isinstance(record, dict):
            record = {}
        if record.get("repair") and record.get("token"):
            found[first_run] = str(record["token"])
            continue
        failed = record.get("failed") if isinstance(record.get("failed"), list) else []
        token = uuid.uuid4().hex
        record = {**record, "first_run": first_run, "failed": failed, "token": token}
        atomic.write_text(path, json.dumps({**record, "repair": True}, default=repr), fsync=False)
        found[first_run] = token
    return found


def tokens(trajectory_state: Path) -> dict[int, str]:
    """First run of a job -> the token of its failure record (the run rule's `retry` param)."""
    return {
        record["first_run"]: str(record.get("token", ""))
        for record in read_records(trajectory_state)
        if isinstance(record.get("first_run"), int)
    }


def read_records(trajectory_state: Path) -> list[dict[str, Any]]:
    """Every readable failure record, in run order (damaged ones are skipped)."""
    records = []
    found = directory(trajectory_state)
    for path in sorted(found.glob("job_*.json")) if found.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("failed"), list):
            records.append(record)
    return records


def current_records(plan: Plan) -> list[tuple[int, dict[str, Any]]]:
    """(job number, record) of the records of failed runs of the plan's current jobs."""
    found = []
    for record in read_records(plan.settings.trajectory_state):
        first = record.get("first_run")
        if not record["failed"] or not isinstance(first, int):
            continue
        if first % plan.runs_per_job or first >= len(plan):
            continue
        job = first // plan.runs_per_job
        if plan.job_digest(job) == record.get("plan"):
            found.append((job, record))
    return found


def summary(plan: Plan, job_log: Callable[[int], str], limit: int = 20) -> str:
    """A message naming the failed runs, their exceptions and their job logs ('' if none)."""
    lines: list[str] = []
    total = 0
    for job, record in current_records(plan):
        for run in record["failed"]:
            total += 1
            if len(lines) < limit:
                lines.append(
                    f"  {run.get('name')}: {run.get('exception')} "
                    f"(parameters {run.get('parameters')}; log {job_log(job)})"
                )
    if not total:
        return ""
    more = [f"  ... and {total - limit} more"] if total > limit else []
    log_dir = plan.settings.log_dir
    return "\n".join(
        [
            f"pypet_sm: {total} run(s) failed:",
            *lines,
            *more,
            f"Tracebacks are in the job logs and in {log_dir}/<environment>/"
            "warnings_and_errors.txt. Every "
            "finished run is kept: fix the job function and run snakemake again to compute only "
            "the failed and missing runs, or add --keep-going (or `keep_going: true` in the "
            "config) to merge the trajectory with the failed runs marked completed = 0.",
        ]
    )


def merge_failure(merge_log: Path, since: float) -> str:
    """The error a merge that ran since `since` (a time) logged last, or ''."""
    try:
        if Path(merge_log).stat().st_mtime < since:
            return ""
        lines = Path(merge_log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line for line in lines if " ERROR " in line]
    if not errors:
        return ""
    message = errors[-1].split(" ERROR ", 1)[1]
    if message.startswith("[") and "] " in message:  # the process id
        message = message.split("] ", 1)[1]
    return f"pypet_sm: the merge failed: {message}"


def failed_runs(trajectory_file: str | os.PathLike) -> list[dict[str, Any]]:
    """The failed runs a trajectory file was merged with (`keep_going`): idx, name,
    exception and traceback per run, from its `overview/failed_runs` table ([] if none)."""
    from pypet_sm.hdf5.reader import TrajectoryFile

    with TrajectoryFile(trajectory_file) as stored:
        return stored.failed_runs()


def unpicklable(traj: SingleRun, error: Exception) -> str:
    """Which result or derived parameter of the run cannot be pickled, and why."""
    bad = []
    for branch in ("results", "derived_parameters"):
        for item in traj.collected(branch):
            name = item.name
            for key, value in item.values.items():
                try:
                    pickle.dumps(value, protocol=5)
                except Exception as value_error:
                    shown = name if key in (name.rpartition(".")[2], "data") else f"{name}.{key}"
                    kind = branch[:-1].replace("_", " ")
                    bad.append(f"{kind} {shown!r} ({type(value).__name__}: {value_error})")
    what = ", ".join(bad) or f"the run's data ({error})"
    return f"{traj.v_crun}: cannot store {what}: it cannot be pickled"


# why writing failed, in the words the merge uses too
_WRITE_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file size limit (ulimit -f) is exceeded",
}


def write_failure(what: str, error: OSError) -> str:
    """One line: what could not be written, why, and that nothing finished is lost."""
    reason = _WRITE_REASONS.get(error.errno or 0) or (error.strerror or type(error).__name__)
    where = f" {error.filename}" if error.filename else ""
    return (
        f"cannot write {what}{where}: {reason} ({error.strerror or error}); every finished run "
        "is kept: make room and run snakemake again"
    )


def fragment_write_failure(run: str | None, path: Path, error: OSError) -> str:
    """The job stops: the fragment of `run` at `path` cannot be written."""
    reason = _WRITE_REASONS.get(error.errno or 0) or (error.strerror or type(error).__name__)
    return (
        f"cannot write the fragment of {run} ({path}): {reason} ({error.strerror or error}); "
        "the runs finished before are kept, this one is computed again: make room and run "
        "snakemake again"
    )
