"""Run jobs' resources from config.yaml's per-run estimates, and job sizes for clusters."""

from __future__ import annotations

import re

import pytest

from pypet_sm.errors import ConfigError
from pypet_sm.execute import cluster, plan

from .conftest import multiply_config


def _plan(tmp_path, monkeypatch, n_runs: int, **overrides):
    monkeypatch.chdir(tmp_path)
    xs = [float(i) for i in range(n_runs)]
    config = multiply_config(job="operator:truth", exploration={"zip": {"x": xs}})
    config.update(overrides)
    return plan.from_config(config)


@pytest.mark.parametrize(
    "n_runs, resources, expected_jobs",
    [
        (10_000, {}, 8),  # no estimate: about 2,000 runs a job, at least 8 jobs
        (10_000, {"seconds_per_run": 1.0}, 17),  # 10,000 s in jobs of 10 minutes
        (10_000, {"seconds_per_run": 1.0, "job_minutes": 30}, 8),  # 6 of 30 min; 8 busy
        (10_000, {"seconds_per_run": 60.0}, 250),  # 1,000 jobs of 10 min: at most 256
        (93, {"seconds_per_run": 0.001}, 1),  # 0.1 s of work: one job, not 8 of seconds
        (93, {"seconds_per_run": 2.0}, 4),  # 186 s: jobs of at least a minute
        (5, {"seconds_per_run": 600.0}, 5),  # never more jobs than runs
    ],
)
def test_auto_runs_per_job_from_the_estimates(
    tmp_path, monkeypatch, n_runs, resources, expected_jobs
):
    the_plan = _plan(tmp_path, monkeypatch, n_runs, runs_per_job="auto", resources=resources)
    assert the_plan.n_jobs == expected_jobs
    covered = [idx for job in range(the_plan.n_jobs) for idx in the_plan.job_runs(job)]
    assert covered == list(range(n_runs))


def test_job_resources_scale_with_runs_per_job_and_attempt():
    estimates = cluster.ResourceSettings(seconds_per_run=4.0, mem_mb_per_run=300, cpus_per_task=2)
    # 1.5 x 100 runs x 4 s = 10 min, plus 2 min for the job's start
    assert estimates.runtime_minutes(100) == 12
    assert estimates.runtime_minutes(100, attempt=2) == 24
    assert estimates.runtime_minutes(1) == 3
    assert estimates.mem_mb() == 800 and estimates.mem_mb(attempt=3) == 2400
    assert estimates.walltime(100) == "00:12:00" and estimates.walltime(1000, 2) == "03:24:00"
    unknown = cluster.ResourceSettings()
    assert unknown.runtime_minutes(5000) == cluster.UNKNOWN_RUNTIME_MINUTES

    resources = cluster.run_job_resources(estimates, 100)
    assert resources["runtime"](None, 1) == 12 and resources["mem_mb"](None, 2) == 1600
    assert resources["cpus_per_task"] == 2


def test_account_and_partition_from_slurms_own_variables(monkeypatch):
    monkeypatch.delenv("SBATCH_ACCOUNT", raising=False)
    monkeypatch.delenv("SBATCH_PARTITION", raising=False)
    settings = cluster.ResourceSettings()
    assert "slurm_account" not in cluster.run_job_resources(settings, 1)
    monkeypatch.setenv("SBATCH_ACCOUNT", "proj42")
    monkeypatch.setenv("SBATCH_PARTITION", "short")
    resources = cluster.run_job_resources(settings, 1)
    assert resources["slurm_account"] == "proj42" and resources["slurm_partition"] == "short"


@pytest.mark.parametrize(
    "resources, field",
    [
        ({"seconds_per_run": 0}, "resources.seconds_per_run"),
        ({"seconds_per_run": "long"}, "resources.seconds_per_run"),
        ({"mem_mb_per_run": 1.5}, "resources.mem_mb_per_run"),
        ({"cpus_per_task": True}, "resources.cpus_per_task"),
        ({"job_minutes": -1}, "resources.job_minutes"),
        ({"runtime": 10}, "resources.runtime"),
        ([1], "resources"),
    ],
)
def test_bad_resources_name_the_field(tmp_path, monkeypatch, resources, field):
    with pytest.raises(ConfigError) as error:
        _plan(tmp_path, monkeypatch, 3, resources=resources)
    assert error.value.field == field


def test_new_estimates_alone_rerun_no_job(tmp_path, monkeypatch):
    base = _plan(tmp_path, monkeypatch, 6, runs_per_job=2)
    more_memory = _plan(tmp_path, monkeypatch, 6, runs_per_job=2, resources={"mem_mb_per_run": 9})
    assert [base.job_digest(j) for j in range(3)] == [more_memory.job_digest(j) for j in range(3)]
    assert base.digest == more_memory.digest
    other_size = _plan(tmp_path, monkeypatch, 6, runs_per_job=3)
    assert other_size.digest != base.digest


def _job_resources(output: str) -> list[dict[str, str]]:
    found = []
    for block in output.split("rule run_job:")[1:]:
        line = re.search(r"resources: (.*)", block).group(1)
        found.append(dict(part.split("=", 1) for part in line.split(", ")))
    return found


def test_run_jobs_get_the_resources_snakemake_submits(project):
    project.write_module("def multiply(traj):\n    traj.f_add_result('z', traj.x)\n")
    project.write_config(
        multiply_config(
            runs_per_job=3,
            exploration={"zip": {"x": [float(i) for i in range(6)]}},
            resources={"seconds_per_run": 40.0, "mem_mb_per_run": 1500, "cpus_per_task": 2},
        )
    )
    dry = project.snakemake("-n", cores=4)
    jobs = _job_resources(dry.stdout)
    assert len(jobs) == 2
    for resources in jobs:
        # 1.5 x 3 runs x 40 s = 3 min, plus 2; 1500 + 500 MB; 2 cores
        assert resources["runtime"] == "5" and resources["walltime"] == "00:05:00", resources
        assert resources["mem_mb"] == "2000" and resources["cpus_per_task"] == "2"
    assert "threads: 2" in dry.stdout


def test_a_profile_overrides_the_job_size(project):
    """`config:` in a (cluster) profile overrides config.yaml; here as on the command line."""
    project.write_module("def multiply(traj):\n    traj.f_add_result('z', traj.x)\n")
    project.write_config(
        multiply_config(runs_per_job=1, exploration={"zip": {"x": [1.0, 2.0, 3.0, 4.0]}})
    )
    profile = project.path / "myprofile"
    profile.mkdir()
    (profile / "config.yaml").write_text("config:\n  runs_per_job: 2\n")
    dry = project.dry_run("--profile", "myprofile")
    assert len(_job_resources(dry.stdout)) == 2
