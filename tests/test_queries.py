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


CLASHING = """
def job(traj):
    traj.f_add_result("model.y", traj.par.model.y * 2, comment="named like a parameter")
    traj.f_add_result("x", traj.par.x + 0.5, comment="named like the other parameter")
    traj.f_add_result("runtime", 7.0, comment="named like a provenance column")
    traj.f_add_result("a.z", 1.0)
    traj.f_add_result("b.z", 2.0, comment="the same leaf name in another group")
"""


def test_runs_table_columns_never_replace_each_other(project):
    """(issue 14, item 7) A result named like a parameter (or a provenance column) replaced
    its column: both are there now, under their full names."""
    import csv
    import subprocess
    import sys

    project.write_module(CLASHING)
    project.write_config(
        multiply_config(
            name="clash",
            parameters={"x": 0.0, "model.y": 0},
            exploration={"product": {"x": [1.0, 2.0], "model.y": [10, 20]}},
            job="sim:job",
        )
    )
    project.snakemake()
    with project.load() as traj:
        table = traj.runs_table(provenance=True)
        assert list(table["parameters.model.y"]) == [10, 20, 10, 20]
        assert list(table["results.model.y"]) == [20, 40, 20, 40]
        assert list(table["parameters.x"]) == [1.0, 1.0, 2.0, 2.0]
        assert list(table["results.x"]) == [1.5, 1.5, 2.5, 2.5]
        assert list(table["results.runtime"]) == [7.0] * 4
        assert all(value != 7.0 for value in table["runtime"])  # the run's own runtime
        assert list(table["a.z"]) == [1.0] * 4 and list(table["b.z"]) == [2.0] * 4
        for clashing in ("x", "model.y"):
            assert clashing not in table.columns
        plain = traj.runs_table(results=["a.z"])  # without a clash the short names stay
        assert list(plain.columns) == ["idx", "name", "x", "model.y", "a.z"]
    done = subprocess.run(
        [sys.executable, "-m", "pypet_sm.cli", "table", project.trajectory_file, "--csv", "t.csv"],
        cwd=project.path,
        capture_output=True,
        text=True,
        env=project.environment(),
    )
    assert done.returncode == 0, done.stderr
    with open(project.path / "t.csv") as handle:
        header = next(csv.reader(handle))
    for column in ("parameters.model.y", "results.model.y", "parameters.x", "results.x"):
        assert column in header, header
