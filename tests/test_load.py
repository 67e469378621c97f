"""Unit tests of the analysis API on a trajectory file made in-process (plan, run, merge)."""

from __future__ import annotations

import numpy as np
import pandas
import pytest

import pypet_sm
from pypet_sm.analysis.load import LoadError
from pypet_sm.define.naming import Leaf, NamingError

from .conftest import compute_in_process, write_unique_module

JOB = """
import numpy as np


def run(traj):
    traj.f_add_result("z", traj.x * traj.group.y, comment="x * y")
    traj.f_add_result("label", f"run {traj.v_idx}")
    traj.f_add_result("stats.mean", float(traj.group.y) / 2)
    traj.f_add_result("trace", np.arange(3) * traj.x)
    traj.f_add_result("pair", a=1, b=2)
    if traj.v_idx % 2:
        traj.f_add_result("odd_only", traj.v_idx)
    traj.f_add_derived_parameter("twice_y", 2 * traj.group.y)
"""

X = [1.0, 1.0, 2.0, 2.0]
Y = [3, 4, 3, 4]


@pytest.fixture
def trajectory_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, JOB)
    config = {
        "trajectory": {"name": "loaded", "comment": "for loading"},
        "parameters": {"x": {"value": 0.5, "comment": "x"}, "group.y": 0, "fixed": "same"},
        "exploration": {"product": {"x": [1.0, 2.0], "group.y": [3, 4]}},
        "job": f"{module}:run",
        "runs_per_job": 3,
    }
    compute_in_process(config)
    return tmp_path / "hdf5" / "loaded.hdf5"


@pytest.fixture
def traj(trajectory_file):
    with pypet_sm.load_trajectory(trajectory_file) as loaded:
        yield loaded


def test_parameters_and_ranges(traj):
    assert traj.v_name == "loaded"
    assert traj.v_comment == "for loading"
    assert len(traj) == 4
    assert traj.f_get_run_names() == [f"run_{i:08d}" for i in range(4)]
    # outside any run, parameters hold their defaults
    assert traj.par.x == 0.5
    assert traj.x == 0.5
    assert traj.parameters.group.y == 0
    assert traj["group.y"] == 0
    assert traj.fixed == "same"
    assert traj.f_get("parameters.x").v_comment == "x"
    explored = traj.f_get_explored_parameters()
    assert set(explored) == {"parameters.x", "parameters.group.y"}
    assert explored["parameters.x"].f_get_range() == X
    assert traj.f_get("group.y").f_get_range() == Y
    with pytest.raises(NamingError):
        traj.f_get("fixed").f_get_range()


def test_results_by_natural_naming(traj):
    run = traj.results.runs.run_00000002
    assert run.z == 6.0
    assert run.label == "run 2"
    assert run.stats.mean == 1.5
    np.testing.assert_array_equal(run.trace, np.arange(3) * 2.0)
    pair = run.pair
    assert isinstance(pair, Leaf) and (pair.a, pair.b) == (1, 2)
    assert traj["results.runs.run_00000003.odd_only"] == 3
    assert traj.derived_parameters.runs.run_00000001.twice_y == 8
    assert traj.f_get("results.runs.run_00000000.z").v_comment == "x * y"


def test_f_get_from_runs(traj):
    z = traj.f_get_from_runs("z")
    assert list(z) == traj.f_get_run_names()
    assert list(z.values()) == [x * y for x, y in zip(X, Y, strict=True)]
    assert traj.f_get_from_runs("z", use_indices=True) == dict(enumerate(z.values()))
    assert traj.f_get_from_runs("mean", use_indices=True) == {0: 1.5, 1: 2.0, 2: 1.5, 3: 2.0}
    assert traj.f_get_from_runs("stats.mean") == traj.f_get_from_runs("mean")
    leaves = traj.f_get_from_runs("z", fast_access=False)
    assert all(isinstance(leaf, Leaf) for leaf in leaves.values())
    assert traj.f_get_from_runs("twice_y", use_indices=True) == {0: 6, 1: 8, 2: 6, 3: 8}
    with pytest.raises(LoadError):
        traj.f_get_from_runs("no_such_result")


def test_f_get_from_runs_leaves_out_runs_without_the_item(traj):
    # as in pypet: an item only some runs have (here not the first) comes from those runs
    assert traj.f_get_from_runs("odd_only", use_indices=True) == {1: 1, 3: 3}


def test_f_iter_runs_and_crun(traj):
    seen = []
    for name in traj.f_iter_runs():
        assert traj.v_crun == name
        seen.append((name, traj.par.x, traj.group.y, traj.crun.z, traj.crun.stats.mean))
    assert seen == [(f"run_{i:08d}", X[i], Y[i], X[i] * Y[i], Y[i] / 2) for i in range(4)]
    # afterwards the defaults are back and there is no current run
    assert traj.par.x == 0.5
    assert traj.v_crun is None
    with pytest.raises(NamingError):
        traj.crun  # noqa: B018
    traj.f_set_crun(3)
    assert (traj.x, traj.crun.z) == (2.0, 8.0)
    traj.f_set_crun("run_00000001")
    assert traj.v_idx == 1 and traj.crun.z == 4.0
    traj.f_restore_default()
    assert traj.x == 0.5
    with pytest.raises(LoadError):
        traj.f_set_crun(4)
    with pytest.raises(LoadError):
        traj.f_set_crun("run_00000009")


def test_crun_without_a_current_run_says_so(traj):
    with pytest.raises(NamingError, match="no current run"):
        traj.crun  # noqa: B018


def test_run_information(traj):
    info = traj.f_get_run_information(2)
    assert info["name"] == "run_00000002"
    assert info["idx"] == 2
    assert info["completed"] == 1
    assert info["finish_timestamp"] >= info["timestamp"] > 0
    assert traj.f_get_run_information("run_00000002") == info


def test_runs_table(traj):
    table = traj.runs_table()
    assert isinstance(table, pandas.DataFrame)
    assert list(table["idx"]) == [0, 1, 2, 3]
    assert list(table["name"]) == [f"run_{i:08d}" for i in range(4)]
    assert list(table["x"]) == X
    assert list(table["group.y"]) == Y
    assert list(table["z"]) == [x * y for x, y in zip(X, Y, strict=True)]
    assert list(table["label"]) == [f"run {i}" for i in range(4)]
    assert list(table["stats.mean"]) == [1.5, 2.0, 1.5, 2.0]
    # arrays and results of several values are not columns
    assert "trace" not in table.columns
    assert "pair" not in table.columns
    assert len(table) == 4
    chosen = traj.runs_table(results=["z"])
    assert list(chosen.columns)[:2] == ["idx", "name"]
    assert set(chosen.columns) == {"idx", "name", "x", "group.y", "z"}


def test_explored_parameters_in_exploration_order(traj):
    # pypet restores the order of the `explorations` table (x was explored first)
    assert list(traj.f_get_explored_parameters()) == ["parameters.x", "parameters.group.y"]
    assert list(traj.runs_table(results=["z"]).columns) == ["idx", "name", "x", "group.y", "z"]


def test_load_errors(tmp_path):
    with pytest.raises(LoadError, match="does not exist"):
        pypet_sm.load_trajectory(tmp_path / "missing.hdf5")
    not_hdf5 = tmp_path / "text.hdf5"
    not_hdf5.write_text("not a trajectory")
    with pytest.raises(LoadError):
        pypet_sm.load_trajectory(not_hdf5)


def test_load_by_name(trajectory_file):
    with pypet_sm.load_trajectory(trajectory_file, name="loaded") as traj:
        assert len(traj) == 4
    with pytest.raises(LoadError, match="no trajectory"):
        pypet_sm.load_trajectory(trajectory_file, name="other")
