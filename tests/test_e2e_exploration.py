"""End to end: explorations run with real snakemake give pypet's run order and run names."""

from __future__ import annotations

import pytest

import pypet_sm

from .conftest import SIM, multiply_config

DESCRIBE = """
def describe(traj, names):
    traj.f_add_result("point", "|".join(repr(traj[name]) for name in names))
    traj.f_add_result("idx", traj.v_idx)
    traj.f_add_result("current", traj.v_crun)
"""


def _check_runs(traj, names, expected_columns):
    n_runs = len(next(iter(expected_columns.values())))
    assert len(traj) == n_runs
    assert traj.f_get_run_names() == [f"run_{idx:08d}" for idx in range(n_runs)]
    explored = traj.f_get_explored_parameters()
    assert set(explored) == {f"parameters.{name}" for name in expected_columns}
    for name, column in expected_columns.items():
        assert explored[f"parameters.{name}"].f_get_range() == column
    for idx in range(n_runs):
        run = traj.results.runs[f"run_{idx:08d}"]
        expected = "|".join(repr(expected_columns[name][idx]) for name in names)
        assert run.point == expected, f"run {idx}"
        assert run.idx == idx
        assert run.current == f"run_{idx:08d}"


def test_product_first_parameter_varies_slowest(project):
    project.write_module(SIM)
    project.write_config(multiply_config())
    project.snakemake()
    with project.load() as traj:
        assert len(traj) == 6
        x = traj.f_get_explored_parameters()["parameters.x"].f_get_range()
        y = traj.f_get_explored_parameters()["parameters.y"].f_get_range()
        assert x == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        assert y == [10, 20, 30, 10, 20, 30]
        assert all(type(v) is float for v in x)
        assert all(type(v) is int for v in y)
        for idx in range(6):
            z = traj.results.runs[f"run_{idx:08d}"].z
            assert z == x[idx] * y[idx]
            assert traj.f_get(f"results.runs.run_{idx:08d}.z").f_get() == x[idx] * y[idx]
    calls = project.calls()
    assert sorted(call[0] for call in calls) == list(range(6))
    assert {(call[0], call[2], call[3]) for call in calls} == {
        (idx, x[idx], y[idx]) for idx in range(6)
    }


def test_zip_explores_equal_length_lists(project):
    project.write_module(DESCRIBE)
    names = ["x", "label"]
    project.write_config(
        {
            "trajectory": {"name": "zipped"},
            "parameters": {"x": 0.0, "label": ""},
            "exploration": {"zip": {"x": [0.5, 1.5, 2.5, 3.5], "label": ["a", "b", "c", "d"]}},
            "job": "sim:describe",
            "kwargs": {"names": names},
            "runs_per_job": 3,
        }
    )
    project.snakemake()
    with project.load() as traj:
        _check_runs(traj, names, {"x": [0.5, 1.5, 2.5, 3.5], "label": ["a", "b", "c", "d"]})


def test_product_with_zip_factor_is_pypets_combined_product(project):
    project.write_module(DESCRIBE)
    names = ["param1", "param2", "param3"]
    project.write_config(
        """
        trajectory: {name: combined}
        parameters:
          param1: 0.0
          param2: ""
          param3: 0
        exploration:
          product:
            - param3: [1, 2, 3]
            - zip: {param1: [42.0, 52.5], param2: [a, b]}
        job: sim:describe
        kwargs: {names: [param1, param2, param3]}
        runs_per_job: 2
        """
    )
    project.snakemake()
    expected = pypet_sm.cartesian_product(
        {"param1": [42.0, 52.5], "param2": ["a", "b"], "param3": [1, 2, 3]},
        ("param3", ("param1", "param2")),
    )
    assert expected["param3"] == [1, 1, 2, 2, 3, 3]
    assert expected["param1"] == [42.0, 52.5] * 3
    with project.load() as traj:
        _check_runs(traj, names, expected)


def test_range_helpers_in_config(project):
    project.write_module(DESCRIBE)
    names = ["n", "v"]
    project.write_config(
        {
            "trajectory": {"name": "ranges"},
            "parameters": {"n": 0, "v": 0.0},
            "exploration": {"product": {"n": {"range": [0, 6, 3]}, "v": {"logspace": [0, 1, 2]}}},
            "job": "sim:describe",
            "kwargs": {"names": names},
        }
    )
    project.snakemake()
    with project.load() as traj:
        _check_runs(traj, names, {"n": [0, 0, 3, 3], "v": [1.0, 10.0, 1.0, 10.0]})


BUILD = """
import numpy as np
import pypet_sm


def build(traj):
    traj.f_add_parameter("factors.x", 0.0, comment="first factor")
    traj.f_add_parameter("factors.y", 0, comment="second factor")
    traj.f_add_parameter("offset", 0.5, comment="added")
    traj.f_explore(
        pypet_sm.cartesian_product({"factors.x": np.arange(1.0, 3.5, 1.0).tolist(),
                                    "factors.y": [5, 7]})
    )


def multiply(traj):
    traj.f_add_result("z", traj.x * traj.factors.y + traj.par.offset)
"""


def test_build_hook_explores_like_a_pypet_script(project):
    project.write_module(BUILD)
    project.write_config(
        {"trajectory": {"name": "hooked"}, "build": "sim:build", "job": "sim:multiply"}
    )
    project.snakemake()
    xs = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    ys = [5, 7, 5, 7, 5, 7]
    with project.load() as traj:
        assert len(traj) == 6
        explored = traj.f_get_explored_parameters()
        assert explored["parameters.factors.x"].f_get_range() == xs
        assert explored["parameters.factors.y"].f_get_range() == ys
        assert traj.par.offset == 0.5
        assert traj.f_get("parameters.factors.x").v_comment == "first factor"
        assert traj.f_get_from_runs("z", use_indices=True) == {
            idx: xs[idx] * ys[idx] + 0.5 for idx in range(6)
        }


@pytest.mark.parametrize("runs_per_job", [1, 4])
def test_explored_values_reach_the_job_function(project, runs_per_job):
    # the single-run view must show each run its own values, also when one process
    # computes several runs in a row
    project.write_module(SIM)
    project.write_config(
        multiply_config(
            exploration={"zip": {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [5, 4, 3, 2, 1]}},
            runs_per_job=runs_per_job,
        )
    )
    project.snakemake()
    calls = sorted(project.calls())
    assert [(c[0], c[2], c[3]) for c in calls] == [
        (0, 1.0, 5),
        (1, 2.0, 4),
        (2, 3.0, 3),
        (3, 4.0, 2),
        (4, 5.0, 1),
    ]
    with project.load() as traj:
        assert traj.f_get_from_runs("z", use_indices=True) == {
            0: 5.0,
            1: 8.0,
            2: 9.0,
            3: 8.0,
            4: 5.0,
        }
