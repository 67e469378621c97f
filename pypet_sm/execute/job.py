"""Run jobs: call the job function once per single run and write each run's fragment.

A job covers consecutive runs of the plan. It imports the job function once, builds one
single-run view of the trajectory, and per run only swaps in the explored values, so the
framework's cost per run stays far below a millisecond. Runs whose completed fragment exists
are skipped; a failing run is recorded (traceback in its fragment and the logs) and the job
goes on with its other runs, then fails, so nothing computed is lost and a rerun retries only
the failed runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import pickle
import shutil
import socket
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import cluster, failures, fragment, job_function
from pypet_sm.execute import manifest as manifests
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.execute.single_run import SingleRun
from pypet_sm.hdf5.records import RunRecord
from pypet_sm.provenance import environment, logs

logger = logging.getLogger("pypet_sm.execute.job")


class RunFailures(PypetSmError):
    """Some runs of a job raised; their tracebacks are in the log and their fragments."""


@contextlib.contextmanager
def _job_directory(plan: Plan) -> Iterator[Path]:
    """The job's own temp directory, held under an exclusive lock while the job runs.

    Named by the job's first run. After `kill -9` of Snakemake its job processes live on;
    the lock makes a resumed job wait for such an orphan instead of computing the same runs
    beside it (it then skips what the orphan finished). Temps left by a killed attempt are
    removed once the lock is ours.
    """
    tmp_dir = plan.settings.trajectory_state / "tmp" / f"job_{plan.first_run:08d}"
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


def _compute(
    plan: Plan, todo: list[int], paths: dict[int, Path], tmp_dir: Path, job: JobContext
) -> RunStats:
    """Call the job function for each run of `todo` and write its fragment."""
    settings = plan.settings
    stats = RunStats()
    function = job_function.load(settings.job)
    traj = SingleRun(plan)
    host, pid, cluster_id = socket.gethostname(), os.getpid(), cluster.job_id()
    node = cluster.node_name()
    columns = plan.explored_columns()
    outside_runs = logs.context()
    progress = logging.getLogger(logs.PROGRESS)
    for shard in {paths[idx].parent for idx in todo}:
        shard.mkdir(parents=True, exist_ok=True)
    for idx in todo:
        offset = idx - plan.first_run
        run_values = {name: column[offset] for name, column in columns.items()}
        traj.start_run(idx, run_values)
        logs.set_context(traj.v_crun)
        start = time.time()
        called = time.perf_counter()
        error = exception = None
        try:
            traj.call(function, settings.args, settings.kwargs)
            results, derived = traj.collected("results"), traj.collected("derived_parameters")
        except Exception as raised:
            error = traceback.format_exc()
            exception = f"{type(raised).__name__}: {raised}"
            results, derived = [], []
        finally:
            logs.flush_streams()
        stats.in_function += time.perf_counter() - called
        run = RunRecord(
            idx=idx,
            name=run_name(idx),
            start=start,
            finish=time.time(),
            completed=error is None,
            results=results,
            derived_parameters=derived,
            environment=job.environment,
            host=host,
            pid=pid,
            cluster_job_id=cluster_id,
            attempt=job.attempt,
            cluster_node=node,
            error=None if error is None else (exception or "", error),
            parameters=run_values,
        )
        try:
            fragment.write(paths[idx], plan.key(idx), run, tmp_dir, traj.read_index)
        except (pickle.PicklingError, TypeError, AttributeError) as write_error:
            exception = error = failures.unpicklable(traj, write_error)
            run.completed, run.results, run.derived_parameters = False, [], []
            run.error = (error, error)
            fragment.write(paths[idx], plan.key(idx), run, tmp_dir)
        progress.info(
            "%s in %.3g s", "finished" if error is None else "failed", time.time() - start
        )
        if error is None:
            stats.completed += 1
        else:
            stats.failed.append(
                {"idx": idx, "name": traj.v_crun, "exception": exception, "parameters": run_values}
            )
            logger.error(
                "%s (idx %d, point %s, parameters %s) failed:\n%s",
                traj.v_crun,
                idx,
                plan.key(idx),
                run_values,
                error,
            )
        logs.set_context(outside_runs)
    return stats


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
    directory = fragment.fragment_dir(plan.settings.trajectory_state)
    paths = {idx: fragment.fragment_path(directory, plan.key(idx)) for idx in runs}
    with _job_directory(plan) as tmp_dir:
        todo = fragment.to_compute(runs, plan.key, paths, run_name, logger)
        logger.info("job of %s: %d already done", label, len(runs) - len(todo))
        stats = _compute(plan, todo, paths, tmp_dir, job) if todo else RunStats()
    state = plan.settings.trajectory_state
    if stats.failed:
        failures.write_record(state, runs.start, plan.digest, stats.failed)
        names = [run["name"] for run in stats.failed]
        shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        message = (
            f"job of {label}: {len(names)} of {len(runs)} runs failed ({shown}); "
            f"tracebacks are in {plan.settings.environment_log_dir(environment_name)}/"
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
