"""End to end: runs that never return. With `timeout` (seconds per run) such a run is stopped
(SIGTERM, then SIGKILL for one that ignores SIGTERM) and recorded as failed `timeout after N
s`, and the job computes its other runs; SIGTERM to snakemake then does not wait for ever.
SIGTERM to the job (what Snakemake sends to stop it) stops its worker too, leaves no process
behind, says so in the job log's last line, and the next attempt names the run that was in
flight and computes it again."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import tables

from pypet_sm.execute import fragment

from .conftest import multiply_config, processes_in

HANGING = """
import os
import signal
import time

FIXED = False


def multiply(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj.v_idx, os.getpid(), traj.x, traj.y)) + "\\n")
    if not FIXED:
        if traj.v_idx == 1:
            time.sleep(60)  # hangs (60 s: the test's bound, were it never stopped)
        if traj.v_idx == 3:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # deaf to SIGTERM: needs SIGKILL
            time.sleep(60)
    traj.f_add_result("z", traj.x * traj.y)
"""
N_RUNS = 5


def _config(**overrides):
    xs = [float(i) for i in range(N_RUNS)]
    return multiply_config(
        name="hang",
        exploration={"zip": {"x": xs, "y": [2] * N_RUNS}},
        runs_per_job=N_RUNS,
        **overrides,
    )


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _started(project, idx: int) -> bool:
    return any(call[0] == idx for call in project.calls())


def _job_processes(project) -> list[int]:
    """The run job's processes (supervisor and worker share the command line)."""
    found = []
    for pid in processes_in(project.path):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"run-job" in command:
            found.append(pid)
    return found


def _workers(project) -> list[int]:
    """The worker: the job process whose parent is a job process and that has no child."""
    jobs = _job_processes(project)  # the rule's shell, the supervisor and its worker
    parents = [_parent(pid) for pid in jobs]
    return [pid for pid in jobs if _parent(pid) in jobs and pid not in parents]


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_runs_over_the_timeout_are_stopped_and_recorded(project):
    project.write_module(HANGING)
    project.write_config(_config(timeout=1))
    # SIGTERM to snakemake while run 1 hangs: Snakemake lets the running job finish, and
    # the job ends because its hung runs time out
    log = project.path / "terminated.log"
    proc = project.start_snakemake(log=log)
    try:
        _wait_for(lambda: _started(project, 1), 120, "run 1 to start")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    failed = {idx: body for idx, (_, body) in project.fragments(fragment.FAILED).items()}
    assert {idx: body["exception"] for idx, body in failed.items()} == {
        1: "timeout after 1 s",
        3: "timeout after 1 s",
    }, log.read_text()
    # where the run was when it was stopped; the one deaf to SIGTERM got SIGKILL
    assert "time.sleep(60)" in failed[1]["traceback"] or "in multiply" in failed[1]["traceback"]
    assert "stopped with SIGTERM." in failed[1]["traceback"]
    assert "SIGTERM, then SIGKILL after 3 s" in failed[3]["traceback"]
    assert set(project.fragments_by_idx()) == {0, 2, 4}
    _wait_for(lambda: not _job_processes(project), 10, "no job process left")

    # keep going: merged with the timeouts named in overview/failed_runs
    project.write_config(_config(timeout=1, keep_going=True))
    started = time.monotonic()
    project.snakemake()
    assert time.monotonic() - started < 120
    with tables.open_file(project.trajectory_file) as h5:
        rows = h5.get_node("/hang/overview/failed_runs").read()
        assert {int(row["idx"]): row["exception"].decode() for row in rows} == {
            1: "timeout after 1 s",
            3: "timeout after 1 s",
        }
    # fixed: the timed-out runs only
    n_calls = len(project.calls())
    project.write_module(HANGING.replace("FIXED = False", "FIXED = True"))
    project.snakemake()
    assert sorted(call[0] for call in project.calls()[n_calls:]) == [1, 3]
    with project.load() as traj:
        assert all(traj.f_get_run_information(i)["completed"] for i in range(N_RUNS))


def test_sigterm_of_the_job_stops_its_worker_and_the_next_attempt_names_the_run(project):
    project.write_module(HANGING)
    project.write_config(_config())  # no timeout: run 1 hangs until stopped
    log = project.path / "stopped.log"
    proc = project.start_snakemake(log=log, new_session=True)
    try:
        _wait_for(lambda: _started(project, 1), 120, "run 1 to start")
        (worker,) = _workers(project)
        supervisor = _parent(worker)
        os.kill(supervisor, signal.SIGTERM)  # what Snakemake's kill of a job sends
        _wait_for(lambda: not _job_processes(project), 15, "the job and its worker to stop")
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    job_log = (project.path / "logs/hang/jobs/job_000000.log").read_text()
    last = job_log.strip().splitlines()[-1]
    assert last.startswith("pypet_sm: job of runs 0-4: stopped by SIGTERM"), job_log
    assert "run_00000001 was in flight" in last, last
    # the finished run is kept, the run in flight is not recorded as failed
    assert set(project.fragments_by_idx()) == {0}
    assert not project.fragments(fragment.FAILED)

    # kill -9 of the job (its supervisor): the worker dies with it (no orphan computing)
    proc = project.start_snakemake(log=log, new_session=True)
    try:
        _wait_for(lambda: sum(call[0] == 1 for call in project.calls()) == 2, 120, "run 1")
        (worker,) = _workers(project)
        os.kill(_parent(worker), signal.SIGKILL)
        _wait_for(lambda: not _job_processes(project), 15, "the worker to die with the job")
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    project.write_module(HANGING.replace("FIXED = False", "FIXED = True"))
    n_calls = len(project.calls())
    project.snakemake()
    assert sorted(call[0] for call in project.calls()[n_calls:]) == [1, 2, 3, 4]
    job_log = (project.path / "logs/hang/jobs/job_000000.log").read_text()
    assert "run_00000001 was in flight when an earlier attempt of this job" in job_log


def test_timeout_must_be_a_positive_number(project):
    project.write_module(HANGING)
    project.write_config(_config(timeout=0))
    proc = project.dry_run(expect=1)
    assert "timeout" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, project.describe(proc)
