"""End to end: `runs_per_job` groups consecutive runs into Snakemake jobs."""

from __future__ import annotations

from collections import defaultdict

import pytest

from pypet_sm.execute import plan

from .conftest import SIM, job_stats, multiply_config


def _config(n_runs: int, runs_per_job):
    return multiply_config(
        name="jobs",
        exploration={"zip": {"x": [float(i) for i in range(n_runs)], "y": [1] * n_runs}},
        runs_per_job=runs_per_job,
    )


def _runs_by_process(project) -> list[list[int]]:
    by_pid = defaultdict(list)
    for idx, pid, *_ in project.calls():
        by_pid[pid].append(idx)
    return sorted(sorted(runs) for runs in by_pid.values())


@pytest.mark.parametrize(
    "n_runs, runs_per_job, groups",
    [
        (5, 1, [[0], [1], [2], [3], [4]]),
        (7, 3, [[0, 1, 2], [3, 4, 5], [6]]),
    ],
)
def test_runs_per_job_groups_consecutive_runs(project, n_runs, runs_per_job, groups):
    project.write_module(SIM)
    project.write_config(_config(n_runs, runs_per_job))
    dry = project.dry_run()
    stats = job_stats(dry.stdout + dry.stderr)
    assert stats.get("run_job") == len(groups), project.describe(dry)
    assert stats.get("merge") == 1
    assert not project.calls(), "a dry run computes nothing"

    project.snakemake()
    # one process per job, computing exactly its consecutive runs
    assert _runs_by_process(project) == groups
    manifests = sorted(project.manifests(), key=lambda m: m["first_run"])
    assert [(m["first_run"], m["last_run"]) for m in manifests] == [
        (group[0], group[-1]) for group in groups
    ]
    assert [m["completed"] for m in manifests] == [len(group) for group in groups]
    with project.load() as traj:
        assert len(traj) == n_runs
        assert traj.f_get_from_runs("z", use_indices=True) == {
            idx: float(idx) for idx in range(n_runs)
        }


def test_runs_per_job_auto_groups_runs_into_fewer_jobs(project, monkeypatch):
    project.write_module(SIM)
    config = _config(20, "auto")
    project.write_config(config)
    dry = project.dry_run()
    monkeypatch.chdir(project.path)
    expected = plan.from_config(config)
    assert 1 < expected.n_jobs < 20
    assert job_stats(dry.stdout + dry.stderr).get("run_job") == expected.n_jobs, project.describe(
        dry
    )
