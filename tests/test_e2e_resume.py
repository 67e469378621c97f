"""End to end: continuing after kill -9, and editing an exploration, never recompute a
finished run; changing a default value recomputes everything."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from .conftest import SIM, job_stats, multiply_config, processes_in


def _wait_until_quiet(project, timeout: float = 120.0) -> None:
    """Wait until no process runs in the project and calls.txt stopped growing."""
    deadline = time.monotonic() + timeout
    last_size, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        calls = project.path / "calls.txt"
        size = calls.stat().st_size if calls.exists() else 0
        if size != last_size:
            last_size, quiet_since = size, time.monotonic()
        if not processes_in(project.path) and time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.1)
    pytest.fail(f"job processes still running in {project.path}: {processes_in(project.path)}")


def test_kill_9_and_resume_without_recomputation(project):
    n_runs = 24
    project.write_module(SIM)
    project.write_config(
        multiply_config(
            name="killed",
            exploration={"zip": {"x": [float(i) for i in range(n_runs)], "y": list(range(n_runs))}},
            runs_per_job=2,
            kwargs={"delay": 0.3},
        )
    )
    proc = project.start_snakemake(log=project.path / "first_attempt.log", new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(project.fragments_by_idx()) < 3:
            assert proc.poll() is None, (
                "snakemake ended before it could be killed:\n"
                + (project.path / "first_attempt.log").read_text()
            )
            assert time.monotonic() < deadline, "no records appeared"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # job processes may survive their snakemake; let them finish (they only add fragments)
    _wait_until_quiet(project)
    assert not project.trajectory_file.exists()
    before = project.fragments_by_idx()
    assert 3 <= len(before) < n_runs, "the kill must interrupt the exploration"
    calls_before = len(project.calls())

    # resume as documented: unlock, then rerun the jobs that were cut off
    project.snakemake("--unlock", cores=None)
    project.snakemake("--rerun-incomplete")

    resumed = Counter(call[0] for call in project.calls()[calls_before:])
    # every run whose fragment existed before the resume is not called again ...
    assert not set(resumed) & set(before), sorted(set(resumed) & set(before))
    # ... and every other run is computed exactly once
    assert resumed == Counter(set(range(n_runs)) - set(before))
    # over both attempts a run was called twice only when it was in flight at the kill
    # (called, no fragment): at most one per core
    total = Counter(call[0] for call in project.calls())
    assert set(total) == set(range(n_runs))
    twice = {idx for idx, count in total.items() if count > 1}
    assert all(count <= 2 for count in total.values()), total
    assert twice.isdisjoint(before)
    assert len(twice) <= 2, twice

    with project.load() as traj:
        assert len(traj) == n_runs
        assert traj.f_get_from_runs("z", use_indices=True) == {
            idx: float(idx) * idx for idx in range(n_runs)
        }
        completed = [traj.f_get_run_information(idx)["completed"] for idx in range(n_runs)]
        assert completed == [1] * n_runs

    # everything is done now
    proc = project.snakemake()
    assert "Nothing to be done" in proc.stderr + proc.stdout
    assert len(project.calls()) == sum(total.values())


def _z(traj) -> dict[tuple, float]:
    """(x, y) -> z of every run, and a check that runs are in exploration order."""
    explored = traj.f_get_explored_parameters()
    xs = explored["parameters.x"].f_get_range()
    ys = explored["parameters.y"].f_get_range()
    zs = traj.f_get_from_runs("z", use_indices=True)
    assert sorted(zs) == list(range(len(traj)))
    return {(xs[idx], ys[idx]): zs[idx] for idx in range(len(traj))}


def test_editing_the_exploration_computes_only_new_points(project):
    project.write_module(SIM)

    def configure(xs, ys, offset=0.0):
        config = multiply_config(name="edited", exploration={"product": {"x": xs, "y": ys}})
        config["parameters"]["offset"]["value"] = offset
        config["runs_per_job"] = "auto"
        project.write_config(config)

    def new_calls(since: int) -> list[tuple]:
        return sorted((call[2], call[3]) for call in project.calls()[since:])

    configure([1.0, 2.0], [10, 20])
    project.snakemake()
    assert new_calls(0) == [(1.0, 10), (1.0, 20), (2.0, 10), (2.0, 20)]

    # a rerun without changes has nothing to do
    proc = project.snakemake()
    assert "Nothing to be done" in proc.stderr + proc.stdout, project.describe(proc)
    assert len(project.calls()) == 4

    # adding points (appended at the end) computes only them
    configure([1.0, 2.0, 3.0], [10, 20])
    project.snakemake()
    assert new_calls(4) == [(3.0, 10), (3.0, 20)]
    with project.load() as traj:
        assert len(traj) == 6
        assert _z(traj) == {(x, y): x * y for x in (1.0, 2.0, 3.0) for y in (10, 20)}

    # a new value in front changes the index of every old run, but old points are reused
    configure([1.0, 2.0, 3.0], [5, 10, 20])
    project.snakemake()
    assert new_calls(6) == [(1.0, 5), (2.0, 5), (3.0, 5)]
    with project.load() as traj:
        assert len(traj) == 9
        assert traj.f_get_explored_parameters()["parameters.y"].f_get_range() == [5, 10, 20] * 3
        assert _z(traj) == {(x, y): x * y for x in (1.0, 2.0, 3.0) for y in (5, 10, 20)}

    # removing points computes nothing and leaves them out of the trajectory
    configure([3.0, 1.0], [20])
    project.snakemake()
    assert len(project.calls()) == 9
    with project.load() as traj:
        assert len(traj) == 2
        assert traj.f_get_explored_parameters()["parameters.x"].f_get_range() == [3.0, 1.0]
        assert _z(traj) == {(3.0, 20): 60.0, (1.0, 20): 20.0}

    # changing a value that is not explored changes every point: all are recomputed
    configure([3.0, 1.0], [20], offset=1.0)
    project.snakemake()
    assert new_calls(9) == [(1.0, 20), (3.0, 20)]
    with project.load() as traj:
        assert traj.par.offset == 1.0
        assert _z(traj) == {(3.0, 20): 61.0, (1.0, 20): 21.0}

    # and changing it back finds the old fragments again
    configure([3.0, 1.0], [20], offset=0.0)
    project.snakemake()
    assert len(project.calls()) == 11
    with project.load() as traj:
        assert _z(traj) == {(3.0, 20): 60.0, (1.0, 20): 20.0}


def test_changing_a_default_value_recomputes_every_run(project):
    # the set of jobs stays the same; only the plan they compute with changes
    project.write_module(SIM)
    config = multiply_config(name="defaults")
    project.write_config(config)
    project.snakemake()
    assert len(project.calls()) == 6
    config["parameters"]["offset"]["value"] = 100.0
    project.write_config(config)
    dry = project.dry_run()
    assert job_stats(dry.stdout + dry.stderr).get("run_job") == 3, project.describe(dry)
    project.snakemake()
    assert sorted(call[0] for call in project.calls()[6:]) == list(range(6))
    with project.load() as traj:
        assert traj.par.offset == 100.0
        xs = traj.f_get_explored_parameters()["parameters.x"].f_get_range()
        ys = traj.f_get_explored_parameters()["parameters.y"].f_get_range()
        assert traj.f_get_from_runs("z", use_indices=True) == {
            idx: xs[idx] * ys[idx] + 100.0 for idx in range(6)
        }


def test_a_deleted_trajectory_is_merged_again_a_changed_one_is_kept(project):
    import tables

    project.write_module(SIM)
    project.write_config(multiply_config(name="again"))
    project.snakemake()
    # the merge's Snakemake output is a record of the file, not the file itself
    assert (project.state / "merged.json").exists()
    project.trajectory_file.unlink()
    proc = project.snakemake()
    assert "again.hdf5 is missing; merging again" in proc.stderr, project.describe(proc)
    assert len(project.calls()) == 6, "only the merge runs"
    with project.load() as traj:
        assert traj.f_get_from_runs("z", use_indices=True)[5] == 60.0
    # a file changed afterwards (analysis stored into it) is not merged over
    with tables.open_file(project.trajectory_file, "a") as h5:
        h5.create_array("/again", "analysis", obj=[1, 2, 3])
    proc = project.snakemake()
    assert "Nothing to be done" in proc.stdout + proc.stderr, project.describe(proc)
    with tables.open_file(project.trajectory_file) as h5:
        assert "/again/analysis" in h5
