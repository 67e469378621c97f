"""A run job's identity is what it computes with (issue 13): settings only the merge or the
report read rerun the merge or the report alone, yet reach a job that runs later; changing
what the jobs compute with reruns them."""

from __future__ import annotations

import copy

import tables

from tests.conftest import job_stats, multiply_config

# the SIM job function, plus the trajectory comment the job sees, stored as a result
SHOWN = """
import os


def multiply(traj, delay=0.0):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj.v_idx, os.getpid(), traj.x, traj.y)) + "\\n")
    traj.f_add_result("z", traj.x * traj.y + traj.offset)
    traj.f_add_result("seen", traj.v_comment)


def other(traj, delay=0.0):
    multiply(traj, delay)
"""

N_RUNS, N_JOBS = 6, 3


def _set(config: dict, dotted: str, value) -> dict:
    changed = copy.deepcopy(config)
    *path, last = dotted.split(".")
    section = changed
    for key in path:
        section = section.setdefault(key, {})
    section[last] = value
    return changed


def _complevel(path) -> int:
    with tables.open_file(str(path)) as h5:
        return next(iter(h5.walk_nodes("/", "Leaf"))).filters.complevel


def test_merge_and_report_settings_rerun_no_run_job(project):
    project.write_module(SHOWN)
    config = multiply_config(name="ident", runs_per_job=2)
    project.write_config(config)
    project.snakemake()
    assert len(project.calls()) == N_RUNS

    changes = [
        ("storage.complevel", 5, lambda: _complevel(project.trajectory_file) == 5),
        ("trajectory.comment", "a new comment", lambda: _comment() == "a new comment"),
        ("trajectory.file_title", "A title", lambda: _title() == "A title"),
        ("trajectory.filename", "hdf5/other.hdf5", lambda: project.trajectory_file.exists()),
        ("log_level", "DEBUG", lambda: True),
    ]

    def _comment() -> str:
        with project.load() as traj:
            return traj.v_comment

    def _title() -> str:
        with tables.open_file(str(project.trajectory_file)) as h5:
            return h5.title

    for dotted, value, shows in changes:
        config = _set(config, dotted, value)
        project.write_config(config)
        stats = job_stats(project.dry_run().stdout)
        assert stats.get("run_job", 0) == 0, (dotted, stats)
        assert stats.get("merge") == 1, (dotted, stats)
        project.snakemake()
        assert shows(), dotted
        assert len(project.calls()) == N_RUNS, f"{dotted}: runs were computed again"

    config = _set(config, "report.plots", False)
    project.write_config(config)
    stats = job_stats(project.dry_run().stdout)
    assert stats == {"all": 1, "sweep_report": 1, "total": 2}, stats
    project.snakemake()
    assert not list((project.state / "report" / "plots").glob("*.png"))
    assert "Nothing to be done" in project.dry_run().stdout
    assert len(project.calls()) == N_RUNS

    # a job that runs later (here: asked for again, one of its records lost) sees the
    # settings of now, not those it was first planned with
    assert project.discard(0) == 1
    manifest = project.state / "manifests" / "job_000000.json"
    proc = project.snakemake("--forcerun", str(manifest.relative_to(project.path)))
    assert [call[0] for call in project.calls()[N_RUNS:]] == [0], project.describe(proc)
    with project.load() as traj:
        assert traj.f_get_from_runs("seen", use_indices=True) == {
            0: "a new comment",
            **{i: "x times y" for i in range(1, N_RUNS)},
        }


def test_what_jobs_compute_with_reruns_them(project):
    project.write_module(SHOWN)
    config = multiply_config(name="ident", runs_per_job=2)
    project.write_config(config)
    project.snakemake()
    for dotted, value in [
        ("parameters.offset.value", 1.0),
        ("parameters.offset.comment", "another comment"),  # the job's leaf.v_comment
        ("kwargs", {"delay": 0.0}),
        ("args", [0.0]),
        ("job", "sim:other"),
    ]:
        project.write_config(_set(config, dotted, value))
        stats = job_stats(project.dry_run().stdout)
        assert stats.get("run_job") == N_JOBS, (dotted, stats)
    project.write_config(config)
    assert "Nothing to be done" in project.dry_run().stdout
