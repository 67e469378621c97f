"""Queries on a loaded trajectory: pypet's f_find_idx, runs_where and a run subset for
f_get_from_runs, on a trajectory the real workflow wrote."""

from __future__ import annotations

import pytest

from pypet_sm.analysis.load import LoadError

from .conftest import SIM, multiply_config


@pytest.fixture
def traj(project):
    project.write_module(SIM)
    project.write_config(multiply_config())  # x in 1.0, 2.0 (slowest); y in 10, 20, 30
    project.snakemake()
    with project.load() as loaded:
        yield loaded


def test_find_idx_as_pypet(traj):
    assert list(
        traj.f_find_idx(["parameters.x", "parameters.y"], lambda x, y: x > 1 and y < 30)
    ) == [
        3,
        4,
    ]
    assert list(traj.f_find_idx(["x", "y"], lambda x, y: x > 1 and y < 30)) == [3, 4]
    assert list(traj.f_find_idx("y", lambda y: y == 20)) == [1, 4]
    # a parameter that is not explored gives its value in every run
    assert list(traj.f_find_idx(["offset", "y"], lambda o, y: o == 0.0 and y == 30)) == [2, 5]
    with pytest.raises(LoadError, match="nope"):
        list(traj.f_find_idx(["nope"], lambda v: True))


def test_runs_where(traj):
    assert traj.runs_where(x=2.0) == [3, 4, 5]
    assert traj.runs_where(x=2.0, y=10) == [3]
    assert traj.runs_where(**{"parameters.y": 30}) == [2, 5]
    assert traj.runs_where(x=3.0) == []
    with pytest.raises(LoadError, match="not explored"):
        traj.runs_where(offset=0.0)
    with pytest.raises(LoadError, match="nope"):
        traj.runs_where(nope=1)


def test_get_from_runs_subset(traj):
    runs = traj.runs_where(y=20)
    assert traj.f_get_from_runs("z", runs=runs) == {"run_00000001": 20.0, "run_00000004": 40.0}
    assert traj.f_get_from_runs("z", runs=["run_00000005", 0], use_indices=True) == {
        0: 10.0,
        5: 60.0,
    }
    assert traj.f_get_from_runs("z", runs=[]) == {}
    with pytest.raises(LoadError, match="out of range"):
        traj.f_get_from_runs("z", runs=[6])
