"""The repository's own workflow: lint-clean, and the shipped example plans, runs and loads."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from pypet_sm.execute import plan

from .conftest import REPO, job_stats


@pytest.fixture
def example(project):
    """The project with the repository's config.yaml and examples package."""
    shutil.copy(REPO / "config.yaml", project.path / "config.yaml")
    shutil.copytree(REPO / "examples", project.path / "examples")
    project.config = yaml.safe_load((REPO / "config.yaml").read_text())
    return project


def test_lint_has_nothing_to_say(example):
    proc = example.snakemake("--lint", cores=None, expect=None)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, example.describe(proc)
    assert "Lints for" not in output, example.describe(proc)
    assert "Congratulations, your workflow is in a good condition!" in output


def test_example_plans_as_configured(example, monkeypatch):
    dry = example.dry_run()
    monkeypatch.chdir(example.path)
    expected = plan.from_config(example.config)
    assert len(expected) == 31 * 3
    stats = job_stats(dry.stdout + dry.stderr)
    assert stats == {
        "run_job": expected.n_jobs,
        "merge": 1,
        "sweep_report": 1,
        "all": 1,
        "total": expected.n_jobs + 3,
    }
    assert not example.trajectory_file.exists()


def test_example_runs_and_rate_increases_with_current(example):
    example.snakemake()
    with example.load() as traj:
        assert len(traj) == 93
        assert traj.v_name == "neuron_sweep"
        table = traj.runs_table()
        assert list(table["idx"]) == list(range(93))
        assert {"neuron.I", "neuron.tau_ref", "neuron.rate"} <= set(table.columns)
        currents = np.linspace(0.0, 1.5, 31)
        assert np.allclose(table["neuron.I"].to_numpy(), np.repeat(currents, 3))
        assert list(table["neuron.tau_ref"]) == [5.0, 7.5, 10.0] * 31
        for tau_ref, runs in table.groupby("neuron.tau_ref"):
            rates = runs.sort_values("neuron.I")["neuron.rate"].to_numpy()
            assert (np.diff(rates) >= 0).all(), f"rate not increasing with I at {tau_ref}"
            assert rates[0] == 0.0 and rates[-1] > 0.0
        # a longer refractory period lowers the rate at high current
        top = table[table["neuron.I"] == table["neuron.I"].max()]
        assert list(top.sort_values("neuron.tau_ref")["neuron.rate"]) == sorted(
            top["neuron.rate"], reverse=True
        )
        run = traj.results.runs.run_00000092
        assert run.neuron.voltage.shape == (3000,)
        assert traj.derived_parameters.runs.run_00000092.simulation.n_steps == 3000
        assert run.neuron.rate == pytest.approx(1000.0 * len(run.neuron.spike_times) / 300.0)
