"""End to end: runs that kill their own process (os._exit, a segfault, SIGKILL as the
out-of-memory killer sends it), raise SystemExit or another BaseException, have an exception
whose __str__ raises, or change the working directory. Each such run is named as failed —
in the terminal summary, its fragment and overview/failed_runs — and the job's other runs
are computed; fixing the job function and running again computes only them."""

from __future__ import annotations

import os
import subprocess

import pytest
import tables

from pypet_sm.execute import fragment

from .conftest import multiply_config

TRACEBACK = "Traceback (most recent call last)"

FAULTY = """
import ctypes
import os
import signal
import sys

FIXED = False


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no text")


class Stop(BaseException):
    pass


def multiply(traj):
    with open("calls.txt", "a") as handle:  # relative: the project directory, every run
        handle.write(repr((traj.v_idx, os.getpid(), traj.x, traj.y)) + "\\n")
    idx = traj.v_idx
    if idx == 0:
        os.makedirs("elsewhere", exist_ok=True)
        os.chdir("elsewhere")  # the runs after it and the job's own files must not care
    if not FIXED:
        if idx == 1:
            os._exit(1)
        if idx == 2:
            ctypes.string_at(0)  # a segfault
        if idx == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # what the out-of-memory killer sends
        if idx == 4:
            sys.exit(3)
        if idx == 5:
            raise Stop("stop here")
        if idx == 6:
            raise Unprintable()
    traj.f_add_result("z", traj.x * traj.y)
"""
N_RUNS = 9
EXPECTED = {
    1: "crashed: exited with code 1",
    2: "crashed: killed by signal SIGSEGV",
    3: "crashed: killed by signal SIGKILL",
    4: "SystemExit: 3",
    5: "Stop: stop here",
    6: "Unprintable: <str() of the exception raised RuntimeError>",
}


def _config(**overrides):
    xs = [float(i) for i in range(N_RUNS)]
    config = multiply_config(
        name="crash",
        exploration={"zip": {"x": xs, "y": [2] * N_RUNS}},
        runs_per_job=N_RUNS,  # one job: every fault must let the runs after it be computed
    )
    config.update(overrides)
    return config


def _failed_runs_table(path):
    with tables.open_file(path) as h5:
        return {
            int(row["idx"]): (row["exception"].decode(), row["traceback"].decode())
            for row in h5.get_node("/crash/overview/failed_runs").read()
        }


def test_crashing_runs_are_named_and_the_job_goes_on(project):
    project.write_module(FAULTY)
    project.write_config(_config())
    # default: the workflow stops, naming every failed run with its exception
    proc = project.snakemake(expect=1)
    shown = proc.stdout + proc.stderr
    assert f"pypet_sm: {len(EXPECTED)} run(s) failed" in shown, project.describe(proc)
    for idx, exception in EXPECTED.items():
        assert f"run_{idx:08d}: {exception}" in shown, project.describe(proc)
    failed = {idx: body for idx, (_, body) in project.fragments(fragment.FAILED).items()}
    assert {idx: body["exception"] for idx, body in failed.items()} == EXPECTED
    # the crashes say where the run was (faulthandler) and how the process ended
    assert "Segmentation fault" in failed[2]["traceback"]
    assert "string_at" in failed[2]["traceback"], failed[2]["traceback"]
    assert "perhaps the out-of-memory killer" in failed[3]["traceback"]
    assert TRACEBACK in failed[4]["traceback"] and "sys.exit(3)" in failed[4]["traceback"]
    assert failed[1]["parameters"] == {"x": 1.0, "y": 2}
    # every other run was computed, in the project directory despite run 0's chdir
    assert set(project.fragments_by_idx()) == {0, 7, 8}, project.describe(proc)
    assert sorted({call[0] for call in project.calls()}) == list(range(N_RUNS))
    assert not (project.path / "elsewhere" / "calls.txt").exists()

    # keep going: the same faults again, merged as not completed
    project.write_config(_config(keep_going=True))
    proc = project.snakemake()
    table = _failed_runs_table(project.trajectory_file)
    assert {idx: exception for idx, (exception, _) in table.items()} == EXPECTED
    assert "Segmentation fault" in table[2][1]
    with project.load() as traj:
        assert [traj.f_get_run_information(i)["completed"] for i in range(N_RUNS)] == [
            int(i not in EXPECTED) for i in range(N_RUNS)
        ]

    # fixed: only the failed runs are computed again
    n_calls = len(project.calls())
    project.write_module(FAULTY.replace("FIXED = False", "FIXED = True"))
    project.snakemake()
    assert sorted(call[0] for call in project.calls()[n_calls:]) == sorted(EXPECTED)
    with project.load() as traj:
        assert len(traj) == N_RUNS
        assert all(traj.f_get_run_information(i)["completed"] for i in range(N_RUNS))
        assert [traj.f_get_from_runs("z")[f"run_{i:08d}"] for i in range(N_RUNS)] == [
            2.0 * i for i in range(N_RUNS)
        ]


INTERRUPTED = """
import os

FIXED = False


def multiply(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj.v_idx, os.getpid(), traj.x, traj.y)) + "\\n")
    if traj.v_idx == 2 and not FIXED:
        raise KeyboardInterrupt
    traj.f_add_result("z", traj.x * traj.y)
"""


def _last_job_log_line(project, job: int = 0) -> str:
    text = (project.path / f"logs/{project.name}/jobs/job_{job:06d}.log").read_text()
    return text.strip().splitlines()[-1]


def test_keyboard_interrupt_in_a_run_stops_the_job_and_keeps_what_finished(project):
    project.write_module(INTERRUPTED)
    project.write_config(_config(keep_going=True))
    proc = project.snakemake(expect=1)
    last = _last_job_log_line(project)
    assert last.startswith("pypet_sm: job of runs 0-8: run_00000002 was interrupted"), (
        project.describe(proc)
    )
    # Ctrl-C is no failure of the run: nothing recorded for it, the runs before it kept
    assert set(project.fragments_by_idx()) == {0, 1}
    assert not project.fragments(fragment.FAILED)
    project.write_module(INTERRUPTED.replace("FIXED = False", "FIXED = True"))
    n_calls = len(project.calls())
    project.snakemake()
    assert sorted(call[0] for call in project.calls()[n_calls:]) == list(range(2, N_RUNS))


BIG = """
import numpy as np


def run(traj):
    size = 400_000 if traj.v_idx == 2 else 10  # run 2's fragment: 3.2 MB
    traj.f_add_result("noise", np.random.default_rng(traj.v_idx).random(size))
"""


def _disk_config(**overrides):
    return _config(
        job="sim:run", runs_per_job=4, exploration={"zip": {"x": [0.0, 1.0, 2.0, 3.0]}}, **overrides
    )


def _check_write_failure(project, proc, reason: str) -> None:
    last = _last_job_log_line(project)
    assert last.startswith(
        "pypet_sm: job of runs 0-3: cannot write the fragment of run_00000002"
    ), project.describe(proc)
    assert reason in last, last
    # the terminal names the job and the reason its log ends with (onerror)
    assert (
        "pypet_sm: run job 000000 failed: job of runs 0-3: cannot write the fragment of "
        "run_00000002"
    ) in proc.stderr, project.describe(proc)
    assert TRACEBACK not in (project.path / "logs/crash/jobs/job_000000.log").read_text()
    assert set(project.fragments_by_idx()) == {0, 1}  # what finished is kept
    assert not project.fragments(fragment.FAILED)


def test_a_fragment_that_cannot_be_written_stops_the_job_with_one_line(project):
    project.write_module(BIG)
    project.write_config(_disk_config())
    limit = 1_500_000  # plans, logs and small fragments fit; run 2's fragment does not

    proc = project.snakemake(cores=1, expect=1, file_size_limit=limit)
    assert proc.returncode != 0, project.describe(proc)
    _check_write_failure(project, proc, "the file size limit (ulimit -f) is exceeded")
    project.snakemake()  # with room again: the rest of the job
    with project.load() as traj:
        assert len(traj) == 4


def test_a_full_disk_while_writing_a_fragment_stops_the_job_with_one_line(project, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "small_disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        project.write_module(BIG)
        project.write_config(_disk_config(state_dir=str(disk)))
        proc = project.snakemake(expect=1)
        _check_write_failure(project, proc, "the disk is full")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
