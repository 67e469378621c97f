"""End to end: runs whose job function raises. By default the workflow stops with a message
naming the failed runs and their logs, keeping every finished run; with --keep-going (or
`keep_going: true`) every other run finishes and the trajectory is merged with the failed runs
marked not completed. The next invocation computes only failed and missing runs."""

from __future__ import annotations

import tables

from pypet_sm.execute import failures, fragment

from .conftest import multiply_config

FAILING = """
import os

BROKEN = {2, 5}


def multiply(traj):
    fd = os.open("calls.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (repr((traj.v_idx, os.getpid(), traj.x, traj.y)) + "\\n").encode())
    os.close(fd)
    if traj.v_idx in BROKEN:
        raise ValueError(f"boom in run {traj.v_idx} at x={traj.x}")
    traj.f_add_result("z", traj.x * traj.y)
"""
N_RUNS = 8


def _config(**overrides):
    xs = [float(i) for i in range(N_RUNS)]
    config = multiply_config(
        name="fails", exploration={"zip": {"x": xs, "y": [2] * N_RUNS}}, runs_per_job=3
    )
    config.update(overrides)
    return config


def _idx_called(project, since=0):
    return sorted(call[0] for call in project.calls()[since:])


def _failed_fragments(project):
    return {idx: body for idx, (_, body) in project.fragments(fragment.FAILED).items()}


def _failed_runs_table(path):
    with tables.open_file(path) as h5:
        node = "/fails/overview/failed_runs"
        if node not in h5:
            return None
        return [
            (int(row["idx"]), row["name"].decode(), row["exception"].decode(), row["traceback"])
            for row in h5.get_node(node).read()
        ]


def test_default_stops_names_failed_runs_and_their_logs(project):
    project.write_module(FAILING)
    project.write_config(_config(runs_per_job=2))
    proc = project.snakemake("--cores", "1", cores=None, expect=1)
    shown = proc.stdout + proc.stderr
    assert not project.trajectory_file.exists()
    # the first job with a failed run stops the workflow; that job's other run is kept
    failed = _failed_fragments(project)
    assert len(failed) == 1 and set(failed) <= {2, 5}, project.describe(proc)
    (idx,) = failed
    job = idx // 2
    assert idx ^ 1 in project.fragments_by_idx(), project.describe(proc)
    body = failed[idx]
    assert body["exception"] == f"ValueError: boom in run {idx} at x={idx}.0"
    assert "Traceback (most recent call last)" in body["traceback"]
    assert "raise ValueError" in body["traceback"]
    assert body["parameters"] == {"x": float(idx), "y": 2}
    # one message names the failed run, its exception, parameters and job log
    assert "pypet_sm: 1 run(s) failed" in shown, project.describe(proc)
    assert f"run_{idx:08d}: ValueError: boom in run {idx}" in shown, project.describe(proc)
    assert f"logs/fails/jobs/job_{job:06d}.log" in shown, project.describe(proc)
    job_log = (project.path / f"logs/fails/jobs/job_{job:06d}.log").read_text()
    assert f"run_{idx:08d}" in job_log and f"ValueError: boom in run {idx}" in job_log
    assert f"{{'x': {idx}.0, 'y': 2}}" in job_log and "Traceback" in job_log
    done = set(project.fragments_by_idx())

    # still broken: the next invocation computes the failed run and the missing ones only
    n_calls = len(project.calls())
    project.snakemake("--cores", "1", cores=None, expect=1)
    again = _idx_called(project, n_calls)
    assert again and not set(again) & done, again


def _check_kept_going(project, proc):
    assert project.trajectory_file.exists(), project.describe(proc)
    assert _idx_called(project) == list(range(N_RUNS))
    with project.load() as traj:
        completed = [traj.f_get_run_information(i)["completed"] for i in range(N_RUNS)]
        assert completed == [0 if i in (2, 5) else 1 for i in range(N_RUNS)]
        zs = traj.f_get_from_runs("z", use_indices=True)
        assert zs == {i: i * 2.0 for i in range(N_RUNS) if i not in (2, 5)}
    rows = _failed_runs_table(project.trajectory_file)
    assert [row[:3] for row in rows] == [
        (2, "run_00000002", "ValueError: boom in run 2 at x=2.0"),
        (5, "run_00000005", "ValueError: boom in run 5 at x=5.0"),
    ]
    assert all(b"Traceback (most recent call last)" in row[3] for row in rows)
    listed = failures.failed_runs(project.trajectory_file)
    assert [(run["idx"], run["exception"]) for run in listed] == [row[::2][:2] for row in rows]
    assert "raise ValueError" in listed[0]["traceback"]


def test_keep_going_config_merges_failed_runs_then_recomputes_only_them(project):
    project.write_module(FAILING)
    project.write_config(_config(keep_going=True))
    proc = project.snakemake()
    _check_kept_going(project, proc)
    # exit status 0, but the terminal names the failed runs and says why it is 0
    shown = proc.stdout + proc.stderr
    assert "pypet_sm: 2 run(s) failed:" in shown, project.describe(proc)
    assert "run_00000002: ValueError: boom in run 2 at x=2.0" in shown
    assert "the exit status is 0 because of keep_going: true in the config" in shown
    assert "hdf5/fails.hdf5 holds them with completed = 0" in shown
    assert "2 runs failed" in (project.path / "logs/fails/merge.log").read_text()

    # the next invocation computes only the failed runs (still failing) and merges again
    first = project.trajectory_file.stat().st_mtime_ns
    proc = project.snakemake()
    assert _idx_called(project, N_RUNS) == [2, 5]
    assert project.trajectory_file.stat().st_mtime_ns != first

    # fixed: only the failed runs are computed; the trajectory is complete
    project.write_module(FAILING.replace("BROKEN = {2, 5}", "BROKEN = set()"))
    proc = project.snakemake()
    assert "run(s) failed" not in proc.stdout + proc.stderr, project.describe(proc)
    assert _idx_called(project, N_RUNS + 2) == [2, 5]
    with project.load() as traj:
        assert [traj.f_get_run_information(i)["completed"] for i in range(N_RUNS)] == [1] * 8
        assert traj.f_get_from_runs("z", use_indices=True) == {i: i * 2.0 for i in range(8)}
    assert _failed_runs_table(project.trajectory_file) is None
    assert failures.failed_runs(project.trajectory_file) == []
    proc = project.snakemake()
    assert "Nothing to be done" in proc.stdout + proc.stderr, project.describe(proc)


def test_snakemake_keep_going_flag_does_the_same(project):
    project.write_module(FAILING)
    project.write_config(_config())
    proc = project.snakemake("--keep-going")
    _check_kept_going(project, proc)
    shown = proc.stdout + proc.stderr
    assert "pypet_sm: 2 run(s) failed:" in shown, project.describe(proc)
    assert "the exit status is 0 because of snakemake's --keep-going" in shown


RETRIED = """
import os


def multiply(traj):
    fd = os.open("calls.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (repr((traj.v_idx, os.getpid(), traj.x, traj.y)) + "\\n").encode())
    os.close(fd)
    if traj.v_idx == 4 and not os.path.exists("failed_once"):
        open("failed_once", "w").close()
        raise RuntimeError("transient failure")
    traj.f_add_result("z", traj.x * traj.y)
"""


def test_snakemake_retries_recompute_only_the_failed_run(project):
    project.write_module(RETRIED)
    project.write_config(_config())
    proc = project.snakemake("--retries", "1")
    # run 4 failed once and was retried; its job's other runs were not computed again
    assert _idx_called(project) == [0, 1, 2, 3, 4, 4, 5, 6, 7], project.describe(proc)
    with project.load() as traj:
        assert traj.f_get_from_runs("z", use_indices=True) == {i: i * 2.0 for i in range(8)}
    assert not (project.state / "failures" / "job_00000003.json").exists()
