"""Run jobs: call the job function once per single run and store each run's record.

A job covers consecutive runs of the plan. Its process is a supervisor
(pypet_sm/execute/supervisor.py) that forks a worker (pypet_sm/execute/worker.py): the
worker imports the job function once, builds one single-run view of the trajectory, and per
run only swaps in the explored values, so the framework's cost per run stays far below a
millisecond. Runs with a completed record in the fragment store (pypet_sm/execute/store.py)
are skipped; a failing run (an exception, a crash of its process, a timeout) is recorded
(traceback in its record and the logs) and
the job goes on with its other runs, then fails, so nothing computed is lost and a rerun
retries only the failed runs. Every path the job writes is absolute from the start: a job
function may change the working directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import failures, store
from pypet_sm.execute import manifest as manifests
from pypet_sm.execute.inflight import NONE, InFlight
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.execute.supervisor import JobStopped, Supervisor
from pypet_sm.provenance import environment

logger = logging.getLogger("pypet_sm.execute.job")


class RunFailures(PypetSmError):
    """Some runs of a job raised; their tracebacks are in the log and their fragments."""


@contextlib.contextmanager
def _job_directory(state: Path, first_run: int) -> Iterator[Path]:
    """The job's own temp directory, held under an exclusive lock while the job runs.

    Named by the job's first run. After `kill -9` of Snakemake its job processes live on;
    the lock makes a resumed job wait for such an orphan instead of computing the same runs
    beside it (it then skips what the orphan finished). Temps left by a killed attempt are
    removed once the lock is ours.
    """
    tmp_dir = state / "tmp" / f"job_{first_run:08d}"
    tmp_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp_dir.with_suffix(".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for an earlier process still running these runs to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)
        tmp_dir.mkdir()
        try:
            yield tmp_dir
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


@dataclasses.dataclass
class JobContext:
    """Who runs a job: the environment (invocation) and Snakemake's attempt number."""

    environment: str
    attempt: int = 1


@dataclasses.dataclass
class RunStats:
    completed: int = 0
    failed: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    in_function: float = 0.0


def run_job(
    plan: Plan,
    manifest: Path,
    environment_name: str | None = None,
    attempt: int = 1,
    retry_token: str = "",
    keep_going: bool = False,
) -> RunStats:
    """Compute the runs of a job's plan that have no completed fragment; write the manifest.

    `environment_name` None: the environment the current invocation started (`onstart`).
    `retry_token` is the token of the job's failure record when Snakemake started it (see
    `failures`). `keep_going`: failed runs do not fail the job; its manifest is written and
    the merge marks them not completed.
    """
    job_started = time.perf_counter()
    runs = plan.runs
    label = f"runs {runs.start}-{runs.stop - 1}"
    if environment_name is None:
        environment_name = environment.current(plan.settings).name
    job = JobContext(environment_name, attempt)
    # absolute from the start: the job function may change the working directory
    state = Path(os.path.abspath(plan.settings.trajectory_state))
    manifest = Path(os.path.abspath(manifest))
    with _job_directory(state, plan.first_run) as tmp_dir:
        # read once the lock is ours: an orphan of this job on this host has finished
        index = store.job_index(state, plan.first_run, plan.keys)
        todo = store.to_compute(runs, plan.key, index, run_name, logger)
        logger.info("job of %s: %d already done", label, len(runs) - len(todo))
        _in_flight_before(tmp_dir, index, plan)
        stats = RunStats()
        if todo:
            record = InFlight(tmp_dir.with_suffix(".run"))
            writer = store.Writer(state, plan.first_run)
            try:
                supervisor = Supervisor(plan, writer, tmp_dir, job, record, plan.settings.timeout)
                outcome = supervisor.run(todo)
            except OSError as error:  # writing the record of a crashed run
                raise JobStopped(failures.write_failure("a fragment", error)) from None
            finally:
                record.close()
            stats = RunStats(outcome.completed, outcome.failed, outcome.in_function)
            if outcome.stopped is not None:
                if stats.failed:
                    _write_quietly(
                        failures.write_record, state, runs.start, plan.digest, stats.failed
                    )
                raise JobStopped(f"job of {label}: {outcome.stopped}")
            (tmp_dir.with_suffix(".run")).unlink(missing_ok=True)
    try:
        return _finish(
            plan, manifest, state, job, stats, todo, retry_token, keep_going, job_started
        )
    except OSError as error:
        raise JobStopped(f"job of {label}: {failures.write_failure('its state', error)}") from None


def _finish(
    plan: Plan,
    manifest: Path,
    state: Path,
    job: JobContext,
    stats: RunStats,
    todo: list[int],
    retry_token: str,
    keep_going: bool,
    job_started: float,
) -> RunStats:
    """The failure record and the manifest of a job that computed all its runs."""
    runs = plan.runs
    label = f"runs {runs.start}-{runs.stop - 1}"
    if stats.failed:
        failures.write_record(state, runs.start, plan.digest, stats.failed)
        names = [run["name"] for run in stats.failed]
        shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        message = (
            f"job of {label}: {len(names)} of {len(runs)} runs failed ({shown}); "
            f"tracebacks are in {plan.settings.environment_log_dir(job.environment)}/"
            "warnings_and_errors.txt; finished runs "
            "are kept and a rerun computes only the failed ones"
        )
        if not keep_going:
            raise RunFailures(message)
        logger.warning("%s; keep going: they are merged as not completed", message)
    else:
        failures.clear_record(state, runs.start, retry_token)
    record = {
        "first_run": runs.start,
        "last_run": runs.stop - 1,
        "plan": plan.digest,
        "runs": len(runs),
        "skipped": len(runs) - len(todo),
        "completed": stats.completed,
        "failed": len(stats.failed),
        # measured in this process, so benchmarks can tell framework time from user time
        "seconds_total": time.perf_counter() - job_started,
        "seconds_in_function": stats.in_function,
    }
    atomic.write_text(manifest, manifests.dumps(record))
    logger.info(
        "job of %s done: %d computed, %d skipped", label, stats.completed, record["skipped"]
    )
    return stats


def _write_quietly(write: Any, *args: Any) -> None:
    """Record failed runs of a job that stops anyway; a second error is only logged."""
    try:
        write(*args)
    except OSError as error:
        logger.warning("cannot record the failed runs: %s", error)


def _in_flight_before(tmp_dir: Path, index: store.Index, plan: Plan) -> None:
    """Name the run an earlier attempt of this job was computing when it was killed."""
    before = InFlight.previous(tmp_dir.with_suffix(".run"))
    if before is None or before.idx == NONE or before.idx not in plan.runs:
        return
    if index.lookup(plan.key(before.idx))[0] == store.COMPLETED:
        return
    logger.warning(
        "%s was in flight when an earlier attempt of this job (worker pid %d, run started "
        "%s) was stopped or killed; computing it again",
        run_name(before.idx),
        before.pid,
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(before.start)),
    )
