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
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.define import classes, value_types
from pypet_sm.define.config import import_object
from pypet_sm.define.naming import Leaf, NamingError, check_natural_name
from pypet_sm.define.values import check_parameter_value
from pypet_sm.define.view import TrajectoryView
from pypet_sm.errors import PypetSmError, TrajectoryError
from pypet_sm.execute import cluster, failures, fragment
from pypet_sm.execute import manifest as manifests
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.hdf5.records import Item, RunRecord
from pypet_sm.provenance import environment, logs

logger = logging.getLogger("pypet_sm.execute.job")


class RunFailures(PypetSmError):
    """Some runs of a job raised; their tracebacks are in the log and their fragments."""


class SingleRun(TrajectoryView):
    """The `traj` a job function gets: one point of the exploration, pypet-style.

    Parameters read as values (`traj.x`, `traj.par.neuron.tau`, `traj['neuron.tau']`,
    unique short names), results and derived parameters are added with pypet's calls.
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan.settings.name, plan.settings.comment)
        object.__setattr__(self, "_exploration_order", list(plan.explored_names))
        object.__setattr__(self, "_explored", {})  # name without `parameters.` -> leaf
        object.__setattr__(self, "_added", {})  # full name -> (where added, comment)
        object.__setattr__(
            self,
            "_custom_classes",
            classes.import_classes(plan.settings.dynamically_imported_classes),
        )
        self.add_group("parameters")
        self.add_group("config")
        for spec in plan.parameters:
            # a parameter of the user's class is an instance of it, restored by its _load
            leaf = classes.make_leaf(
                f"parameters.{spec.name}",
                {"data": spec.value},
                spec.comment,
                spec.class_name,
                spec.explored,
                self._custom_classes,
            )
            self.add_leaf(leaf.v_full_name, leaf)
            if spec.explored is not None:
                self._explored[spec.name] = leaf
        for spec in plan.config_items:
            self.add_leaf(
                f"config.{spec.name}",
                Leaf(f"config.{spec.name}", {"data": spec.value}, spec.comment),
            )

    def __setattr__(self, name: str, value: Any) -> None:
        raise TrajectoryError(
            f"cannot set traj.{name} in a run; use traj.f_add_result({name!r}, value) "
            f"or traj.f_add_derived_parameter({name!r}, value)"
        )

    def __len__(self) -> int:
        return 1

    def _explored_leaves(self) -> list[Leaf]:
        return [self._explored[name] for name in self._exploration_order]

    def start_run(self, idx: int, explored_values: dict[str, Any]) -> None:
        """Point the view at run `idx`: explored values set, previous run's items removed."""
        self._set_current(idx, run_name(idx))
        for name, value in explored_values.items():
            self._show_value(self._explored[name], value)
        for branch in ("results", "derived_parameters"):
            self._children.pop(branch, None)
        self._added.clear()

    def _add_item(self, branch: str, args: tuple, comment: str, kwargs: dict) -> Leaf:
        if self.v_crun is None:
            raise TrajectoryError(f"f_add_{branch} is only possible inside a run")
        kind = classes.Result if branch == "results" else classes.Parameter
        args_list = list(args)
        cls = args_list[0] if args_list else None
        try:
            class_name = classes.class_name_for(cls, kind, self._custom_classes)
        except TypeError as error:
            raise TrajectoryError(f"{self.v_crun}: f_add_{branch[:-1]}: {error}") from None
        if class_name:
            args_list.pop(0)
        if not args_list or not isinstance(args_list[0], str):
            raise TrajectoryError(f"{self.v_crun}: f_add_{branch} needs a name as first argument")
        name = args_list.pop(0)
        for prefix in (f"{branch}.runs.{self.v_crun}.", f"{branch}.runs.$.", f"{branch}."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        full_name = f"{branch}.runs.{self.v_crun}.{name}"
        caller = sys._getframe(2)
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        if full_name in self._added:
            first = self._added[full_name]
            raise TrajectoryError(
                f"{self.v_crun}: {branch[:-1].replace('_', ' ')} {name!r} added twice: "
                f"first at {first}, again at {where}"
            )
        if branch == "results":
            values = {
                name.rpartition(".")[2] if i == 0 else f"{name.rpartition('.')[2]}_{i}": v
                for i, v in enumerate(args_list)
            }
            values.update(kwargs)
            if not values:
                raise TrajectoryError(f"{self.v_crun}: result {name!r} has no value")
        else:
            if len(args_list) + len(kwargs) != 1:
                raise TrajectoryError(
                    f"{self.v_crun}: derived parameter {name!r} takes exactly one value"
                )
            value = args_list[0] if args_list else next(iter(kwargs.values()))
            if class_name != "PickleParameter" and not classes.is_custom(cls):
                try:
                    check_parameter_value(value)
                except ValueError as error:
                    raise TrajectoryError(
                        f"{self.v_crun}: derived parameter {name!r}: {error}; "
                        "use PickleParameter for other objects"
                    ) from None
            values = {"data": value}
        leaf: Leaf
        if classes.is_custom(cls):  # the job function gets an instance of the user's class
            leaf = cls(full_name, values, comment, class_name)
        else:
            # how the value will be stored, decided here once (the table's answer): the leaf's
            # v_class_name is the pypet class it gets (Result or PickleResult, Parameter,
            # ArrayParameter or PickleParameter), the fragment carries it to the merge
            leaf = Leaf(full_name, values, comment, _storage_class(branch, values, class_name))
        try:
            check_natural_name(name)
            self.add_leaf(full_name, leaf)
        except NamingError as error:
            raise TrajectoryError(f"{self.v_crun}: cannot add {name!r}: {error}") from None
        self._added[full_name] = where
        return leaf

    def f_add_result(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        """`f_add_result(name, value)`, `f_add_result(name, a=..., b=...)`, pypet's signatures."""
        return self._add_item("results", args, comment, kwargs)

    def f_add_derived_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        return self._add_item("derived_parameters", args, comment, kwargs)

    def collected(self, branch: str) -> list[Item]:
        """This run's items of `branch`, named below the run group; the user's classes give
        what their `_store()` returns (a TrajectoryError if unstorable)."""
        if branch not in self._children:
            return []
        prefix = len(f"{branch}.runs.{self.v_crun}.")
        found: list[Item] = []
        for leaf in self.f_get(branch).f_iter_leaves():
            values = leaf.values
            if type(leaf) is not Leaf:
                try:
                    values = classes.stored_values(leaf)
                    classes.check_storable(leaf.v_class_name, values, parameter=branch != "results")
                except TypeError as error:
                    raise TrajectoryError(f"{self.v_crun}: {error}") from None
            name = leaf.v_full_name[prefix:]
            found.append(Item(name, values, leaf.v_comment or "", leaf.v_class_name))
        return found


def _storage_class(branch: str, values: dict[str, Any], requested: str | None) -> str:
    """The pypet class a run's result or derived parameter is stored as (see value_types)."""
    if branch == "results":
        return value_types.result_class(values, requested)
    return value_types.parameter_class(values["data"], None, requested)


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
    function = import_object(settings.job, "job")
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
            function(traj, *settings.args, **settings.kwargs)
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
            fragment.write(paths[idx], plan.key(idx), run, tmp_dir)
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
