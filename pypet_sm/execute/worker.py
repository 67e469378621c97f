"""The worker: the process that imports the job function and computes a job's runs.

It is forked by the supervisor (pypet_sm/execute/supervisor.py) and tells it, through the
in-flight record (pypet_sm/execute/inflight.py), which run it is computing, and through a
pipe, the runs that failed and why it stopped. Each run's record is appended to the job
attempt's segment of the fragment store here, as soon as the run ends. What a run raises,
`SystemExit` and other `BaseException`s included, is that run's failure; `KeyboardInterrupt`
(Ctrl-C) stops the job instead: the run is not done, it is computed at the next invocation.
A run that changes the working directory gets it back after the run, so the next runs do not
depend on it.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import struct
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pypet_sm.errors import PypetSmError
from pypet_sm.execute import cluster, failures, job_function
from pypet_sm.execute.inflight import InFlight
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.execute.single_run import SingleRun
from pypet_sm.execute.store import Writer
from pypet_sm.hdf5.records import RunRecord
from pypet_sm.provenance import logs

if TYPE_CHECKING:
    from pypet_sm.execute.job import JobContext

logger = logging.getLogger("pypet_sm.execute.job")

FRAME = struct.Struct("<I")
# messages to the supervisor: (kind, value)
FAILED = "failed"  # a run failed: its failure dict (idx, name, exception, parameters)
INTERRUPTED = "interrupted"  # KeyboardInterrupt in run idx: stop the job
FATAL = "fatal"  # the job cannot go on (cannot import, cannot write): the one-line reason
DONE = "done"  # every run given was computed


@dataclass
class Channel:
    """The worker's end of the pipe to the supervisor: length-prefixed pickles."""

    fd: int

    def send(self, kind: str, value: Any = None) -> None:
        data = pickle.dumps((kind, value), protocol=5)
        view = memoryview(FRAME.pack(len(data)) + data)
        while view:
            view = view[os.write(self.fd, view) :]


def describe(error: BaseException) -> str:
    """`Name: message` of any exception, also one whose `__str__` raises or is empty."""
    name = type(error).__name__
    try:
        text = str(error)
    except BaseException as str_error:  # the user's __str__ may do anything
        text = f"<str() of the exception raised {type(str_error).__name__}>"
    return f"{name}: {text}" if text else name


def format_traceback() -> str:
    try:
        return traceback.format_exc()
    except BaseException as error:  # a broken exception must not stop the job
        return f"(the traceback cannot be formatted: {type(error).__name__})"


def compute(
    plan: Plan,
    todo: list[int],
    writer: Writer,
    job: JobContext,
    record: InFlight,
    channel: Channel,
) -> None:
    """Call the job function for each run of `todo` and store its record."""
    settings = plan.settings
    try:
        function = job_function.load(settings.job)
        # once per job, in the segment's header: which version of the job module computed
        writer.code = job_function.source_digest(settings.job)
        traj = SingleRun(plan)  # imports the user's classes
    except PypetSmError as import_error:
        channel.send(FATAL, str(import_error))
        return
    host, pid, cluster_id = socket.gethostname(), os.getpid(), cluster.job_id()
    node = cluster.node_name()
    columns = plan.explored_columns()
    outside_runs = logs.context()
    progress = logging.getLogger(logs.PROGRESS)
    cwd = os.getcwd()
    for idx in todo:
        offset = idx - plan.first_run
        run_values = {name: column[offset] for name, column in columns.items()}
        traj.start_run(idx, run_values)
        logs.set_context(traj.v_crun)
        start = time.time()
        called = time.perf_counter()
        record.begin(idx, start, time.monotonic())
        error = exception = returned = None
        try:
            returned = traj.call(function, settings.args, settings.kwargs)
            results, derived = traj.collected("results"), traj.collected("derived_parameters")
        except KeyboardInterrupt:
            channel.send(INTERRUPTED, idx)
            return
        except BaseException as raised:  # SystemExit too: the run's failure, not the job's
            error = format_traceback()
            exception = describe(raised)
            results, derived = [], []
        finally:
            logs.flush_streams()
            _restore_directory(cwd)
        in_function = time.perf_counter() - called
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
            returned=returned,
        )
        try:
            try:
                writer.append(plan.key(idx), run, traj.read_index)
            except (pickle.PicklingError, TypeError, AttributeError) as write_error:
                exception = error = failures.unpicklable(traj, write_error)
                run.completed, run.results, run.derived_parameters = False, [], []
                run.returned = None
                run.error = (error, error)
                writer.append(plan.key(idx), run)
        except OSError as write_error:
            channel.send(
                FATAL, failures.fragment_write_failure(traj.v_crun, writer.path, write_error)
            )
            return
        progress.info(
            "%s in %.3g s", "finished" if error is None else "failed", time.time() - start
        )
        if error is not None:
            channel.send(
                FAILED,
                {"idx": idx, "name": traj.v_crun, "exception": exception, "parameters": run_values},
            )
            logger.error(
                "%s (idx %d, point %s, parameters %s) failed:\n%s",
                traj.v_crun,
                idx,
                plan.key(idx),
                run_values,
                error,
            )
        record.end(error is None, in_function)
        logs.set_context(outside_runs)
    channel.send(DONE)


def _restore_directory(cwd: str) -> None:
    """The job's working directory again, after a run that changed it."""
    try:
        if os.getcwd() == cwd:
            return
    except OSError:  # the run removed the directory it went to
        pass
    os.chdir(cwd)
