"""The supervisor: a run job's process, which never runs the user's code itself.

It forks a worker (pypet_sm/execute/worker.py) that imports the job function and computes
the runs, and watches it: a worker that dies with a run in flight (`os._exit`, a segfault,
the out-of-memory killer) has that run recorded as failed, `crashed: killed by signal
SIGSEGV` or `crashed: exited with code 1`, and a new worker computes the runs after it. A
run that exceeds the `timeout` (seconds per run, config.yaml) is stopped, SIGTERM then
SIGKILL after `process.GRACE` seconds, and recorded as failed `timeout after N s`. A failed run's
traceback says where the run was: Python's faulthandler in the worker writes the stack of a
fatal signal or of the timeout's SIGTERM to a file the supervisor reads.

SIGTERM (Snakemake stopping the job, or `kill`), SIGHUP and SIGINT (Ctrl-C) stop the worker
the same way and then the job: the run in flight is not done and is computed at the next
invocation; nothing finished is lost. The worker dies with the supervisor (PR_SET_PDEATHSIG),
so a job killed with `kill -9` leaves no worker behind either.

Forking (pypet_sm/execute/process.py) costs about a millisecond a job; a run costs two
writes to the in-flight record (pypet_sm/execute/inflight.py), nothing else.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypet_sm.errors import PypetSmError
from pypet_sm.execute import cluster, process, worker
from pypet_sm.execute.inflight import NONE, InFlight
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.execute.store import Writer
from pypet_sm.hdf5.records import RunRecord
from pypet_sm.provenance import logs

if TYPE_CHECKING:
    from pypet_sm.execute.job import JobContext

logger = logging.getLogger("pypet_sm.execute.job")


class JobStopped(PypetSmError):
    """The job stopped before computing all its runs: a signal, Ctrl-C, a run job that
    cannot go on (cannot import, cannot write); the message says which."""


@dataclass
class Outcome:
    completed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    in_function: float = 0.0
    stopped: JobStopped | None = None


@dataclass
class Supervisor:
    plan: Plan
    writer: Writer
    tmp_dir: Path
    job: JobContext
    record: InFlight
    timeout: float | None
    outcome: Outcome = field(default_factory=Outcome)
    _workers: int = 0

    def run(self, todo: list[int]) -> Outcome:
        signals = process.StopSignals()
        with signals.caught():
            remaining = list(todo)
            while remaining and self.outcome.stopped is None:
                remaining = self._one_worker(remaining, signals)
        return self.outcome

    # starting ---------------------------------------------------------------------------
    def _start(self, todo: list[int]) -> process.Worker:
        self._workers += 1
        self.record.reset(0)

        def body(channel: worker.Channel) -> None:
            self.record.reset(os.getpid())
            worker.compute(self.plan, todo, self.writer, self.job, self.record, channel)

        return process.fork_worker(body, self.tmp_dir / f"worker_{self._workers}.faults")

    # watching ---------------------------------------------------------------------------
    def _one_worker(self, todo: list[int], signals: process.StopSignals) -> list[int]:
        """Run a worker on `todo` until it ends; the runs still to compute after it."""
        child = self._start(todo)
        timed_out: tuple[int, float] | None = None
        how = ""
        try:
            while not child.poll():
                if signals.received:
                    self._stop(child, signals.received[0])
                    break
                child.wait(self._next_check(child), signals.wake_fd)
                timed_out = self._check_timeout(child)
                if timed_out:
                    how = child.stop(signal.SIGTERM)
                    break
            if signals.received and self.outcome.stopped is None:
                self._stop(child, signals.received[0])  # it died of the same signal first
            child.read_messages()
            return self._after(child, todo, timed_out, how)
        finally:
            child.close()

    def _next_check(self, child: process.Worker) -> float | None:
        if self.timeout is None:
            return None
        state = self.record.read()
        if state.pid != child.pid or state.idx == NONE:
            return min(self.timeout, process.POLL)
        return max(0.0, state.started + self.timeout - time.monotonic())

    def _check_timeout(self, child: process.Worker) -> tuple[int, float] | None:
        if self.timeout is None:
            return None
        state = self.record.read()
        if state.pid != child.pid or state.idx == NONE:
            return None
        if time.monotonic() - state.started < self.timeout:
            return None
        return state.idx, state.started

    def _stop(self, child: process.Worker, number: int) -> None:
        """A stop signal: stop the worker, then the job; the run in flight is not done."""
        how = child.stop(signal.SIGINT if number == signal.SIGINT else signal.SIGTERM)
        state = self.record.read()
        in_flight = (
            f"; {run_name(state.idx)} was in flight and is computed again at the next invocation"
            if state.pid == child.pid and state.idx != NONE
            else ""
        )
        self.outcome.stopped = JobStopped(
            f"stopped by {signal.Signals(number).name}"
            + (f" (its worker stopped with {how})" if how else "")
            + in_flight
        )

    # after a worker ---------------------------------------------------------------------
    def _after(
        self, child: process.Worker, todo: list[int], timed_out: tuple[int, float] | None, how: str
    ) -> list[int]:
        state = self.record.read()
        mine = state.pid == child.pid
        if mine:
            self.outcome.completed += state.completed
            self.outcome.in_function += state.in_function
        failed_here = set()
        kinds = {kind for kind, _ in child.messages}
        for kind, value in child.messages:
            if kind == worker.FAILED:
                self.outcome.failed.append(value)
                failed_here.add(value["idx"])
            elif kind == worker.FATAL and self.outcome.stopped is None:
                self.outcome.stopped = JobStopped(value)
            elif kind == worker.INTERRUPTED and self.outcome.stopped is None:
                what = f"{run_name(value)} was interrupted" if value is not None else "interrupted"
                self.outcome.stopped = JobStopped(
                    f"{what} (KeyboardInterrupt): the job stops; the run in flight is not done "
                    "and is computed at the next invocation, every finished run is kept"
                )
        if self.outcome.stopped is not None or worker.DONE in kinds:
            return []
        done = state.done if mine else 0
        if timed_out is not None and state.idx == NONE:
            return todo[done:]  # the run ended just before it was stopped
        if not mine or state.idx == NONE:
            if done == 0:
                self.outcome.stopped = JobStopped(
                    f"the process computing the runs {child.ending()} before its first run "
                    f"(while importing the job function {self.plan.settings.job}?)"
                )
                return []
            logger.warning("the worker %s between runs; going on with a new one", child.ending())
            return todo[done:]
        idx = state.idx
        assert todo[done] == idx, (todo[done], idx)
        if timed_out is not None and timed_out != (idx, state.started):
            return todo[done:]  # stopped as another run began: that one is not at fault
        if idx not in failed_here:
            self._record_crash(child, state.start, idx, timed_out is not None, how)
        return todo[done + 1 :]

    def _record_crash(
        self, child: process.Worker, start: float, idx: int, timed_out: bool, how: str
    ) -> None:
        key = self.plan.key(idx)
        if self.writer.completed(key):  # it died just after writing
            self.outcome.completed += 1
            return
        name = run_name(idx)
        columns = self.plan.explored_columns()
        values = {column: items[idx - self.plan.first_run] for column, items in columns.items()}
        report = _user_frames(child.fault_report())
        if timed_out:
            assert self.timeout is not None
            exception = f"timeout after {self.timeout:g} s"
            text = (
                f"{name} did not return within the timeout of {self.timeout:g} s (config "
                f"`timeout`); its process (pid {child.pid}) was stopped with {how}."
            )
        else:
            exception = f"crashed: {child.ending()}"
            text = (
                f"{name} crashed: the process computing it (pid {child.pid}) "
                f"{'was ' if child.ending().startswith('killed') else ''}{child.ending()} "
                "while the run was in flight"
                + (" (SIGKILL: perhaps the out-of-memory killer)" if "SIGKILL" in exception else "")
                + "."
            )
        text += f"\nWhere the run was:\n{report}" if report else "\nNo Python traceback exists."
        run = RunRecord(
            idx=idx,
            name=name,
            start=start,
            finish=time.time(),
            completed=False,
            results=[],
            derived_parameters=[],
            environment=self.job.environment,
            host=socket.gethostname(),
            pid=child.pid,
            cluster_job_id=cluster.job_id(),
            cluster_node=cluster.node_name(),
            attempt=self.job.attempt,
            error=(exception, text),
            parameters=values,
        )
        self.writer.append(key, run)
        self.outcome.failed.append(
            {"idx": idx, "name": name, "exception": exception, "parameters": values}
        )
        logs_context = logs.context()
        logs.set_context(name)
        logging.getLogger(logs.PROGRESS).info("failed in %.3g s", time.time() - start)
        logger.error(
            "%s (idx %d, point %s, parameters %s) failed: %s\n%s",
            name,
            idx,
            key,
            values,
            exception,
            text,
        )
        logs.set_context(logs_context)


def _user_frames(report: str) -> str:
    """faulthandler's report without our own frames below the job function's."""
    kept, ours = [], False
    for line in report.splitlines():
        if line.startswith(("Thread ", "Current thread ")):
            ours = False
        elif "/pypet_sm/execute/worker.py" in line:
            ours = True
        if not ours and not line.startswith("Extension modules:"):
            kept.append(line)
    return "\n".join(kept).strip()
