"""Unit tests: pypet's cartesian_product, the config's exploration section, build hooks, plans."""

from __future__ import annotations

import pytest

import pypet_sm
from pypet_sm.define import exploration
from pypet_sm.errors import ConfigError, TrajectoryError
from pypet_sm.execute import plan

from .conftest import write_unique_module

# cartesian_product --------------------------------------------------------------------------


def test_cartesian_product_first_parameter_varies_slowest():
    result = pypet_sm.cartesian_product({"a": [1, 2], "b": ["x", "y", "z"]})
    assert result == {
        "a": [1, 1, 1, 2, 2, 2],
        "b": ["x", "y", "z", "x", "y", "z"],
    }


def test_cartesian_product_combined_parameters_like_pypet():
    # pypet's documented example: cartesian_product(d, ('param3', ('param1', 'param2')))
    build = {"param1": [42.0, 52.5], "param2": ["a", "b"], "param3": [1, 2, 3]}
    result = pypet_sm.cartesian_product(build, ("param3", ("param1", "param2")))
    assert result["param3"] == [1, 1, 2, 2, 3, 3]
    assert result["param1"] == [42.0, 52.5, 42.0, 52.5, 42.0, 52.5]
    assert result["param2"] == ["a", "b", "a", "b", "a", "b"]


def test_cartesian_product_order_given_by_combined_parameters():
    result = pypet_sm.cartesian_product({"a": [1, 2], "b": [3, 4]}, ("b", "a"))
    assert result == {"a": [1, 2, 1, 2], "b": [3, 3, 4, 4]}


def test_cartesian_product_single_parameter_and_three_factors():
    assert pypet_sm.cartesian_product({"a": [5, 6, 7]}) == {"a": [5, 6, 7]}
    result = pypet_sm.cartesian_product({"a": [0, 1], "b": [0, 1], "c": [0, 1]})
    points = list(zip(result["a"], result["b"], result["c"], strict=True))
    assert points == [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]


@pytest.mark.parametrize(
    "combined",
    [("a",), ("a", "b", "c"), ("a", "a", "b"), (("a", "b"), "b")],
)
def test_cartesian_product_rejects_bad_combined_parameters(combined):
    with pytest.raises(ValueError, match="combined_parameters"):
        pypet_sm.cartesian_product({"a": [1], "b": [2]}, combined)


def test_cartesian_product_rejects_unequal_zipped_lengths():
    with pytest.raises(ValueError, match="equal lengths"):
        pypet_sm.cartesian_product({"a": [1, 2], "b": [3]}, (("a", "b"),))


# exploration.from_config -------------------------------------------------------------------


def test_from_config_empty_is_no_exploration():
    assert exploration.from_config(None) == {}
    assert exploration.from_config({}) == {}


def test_from_config_product_mapping():
    result = exploration.from_config({"product": {"x": [1, 2], "y": [10, 20, 30]}})
    assert result == {"x": [1, 1, 1, 2, 2, 2], "y": [10, 20, 30, 10, 20, 30]}


def test_from_config_product_with_zip_factor_is_pypets_combined_product():
    spec = {
        "product": [
            {"param3": [1, 2, 3]},
            {"zip": {"param1": [42.0, 52.5], "param2": ["a", "b"]}},
        ]
    }
    result = exploration.from_config(spec)
    expected = pypet_sm.cartesian_product(
        {"param1": [42.0, 52.5], "param2": ["a", "b"], "param3": [1, 2, 3]},
        ("param3", ("param1", "param2")),
    )
    assert result == expected
    assert result["param3"] == [1, 1, 2, 2, 3, 3]


def test_from_config_zip():
    result = exploration.from_config({"zip": {"x": [1, 2, 3], "y": ["a", "b", "c"]}})
    assert result == {"x": [1, 2, 3], "y": ["a", "b", "c"]}


def test_from_config_range_helpers():
    assert exploration.expand_values("f", {"range": [0, 5]}) == [0, 1, 2, 3, 4]
    assert exploration.expand_values("f", {"range": [0, 10, 3]}) == [0, 3, 6, 9]
    floats = exploration.expand_values("f", {"range": [0.0, 1.0, 0.25]})
    assert floats == [0.0, 0.25, 0.5, 0.75]
    assert all(type(v) is float for v in floats)
    ints = exploration.expand_values("f", {"range": [0, 5]})
    assert all(type(v) is int for v in ints)
    linspace = exploration.expand_values("f", {"linspace": [0.0, 1.5, 4]})
    assert linspace == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert all(type(v) is float for v in linspace)
    logspace = exploration.expand_values("f", {"logspace": [0, 3, 4]})
    assert logspace == pytest.approx([1.0, 10.0, 100.0, 1000.0])
    assert all(type(v) is float for v in logspace)
    assert exploration.expand_values("f", {"values": [3, "a"]}) == [3, "a"]


def test_from_config_helpers_inside_product_and_zip():
    result = exploration.from_config(
        {"product": {"x": {"range": [0, 3]}, "y": {"linspace": [0.0, 1.0, 2]}}}
    )
    assert result == {"x": [0, 0, 1, 1, 2, 2], "y": [0.0, 1.0] * 3}
    zipped = exploration.from_config(
        {"zip": {"x": {"logspace": [0, 2, 3]}, "y": {"range": [0.0, 1.5, 0.5]}}}
    )
    assert zipped["x"] == pytest.approx([1.0, 10.0, 100.0])
    assert zipped["y"] == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"zip": {"x": [1, 2], "y": [1]}}, "exploration.zip"),
        ({"product": {"x": {"linspace": [0, 1]}}}, "exploration.product[0].x.linspace"),
        ({"product": {"x": {"linspace": [0, 1, 2.5]}}}, "exploration.product[0].x.linspace"),
        ({"product": {"x": {"range": ["a", 2]}}}, "exploration.product[0].x.range"),
        ({"product": {"x": {"arange": [0, 2]}}}, "exploration.product[0].x"),
        ({"product": {"x": 3}}, "exploration.product[0].x"),
        ({"product": [{"x": [1]}, {"x": [2]}]}, "exploration.product[1]"),
        ({"product": [{"zip": {"a": [1, 2], "b": [1]}}]}, "exploration.product[0].zip"),
        ({"product": {"x": [1]}, "zip": {"y": [1]}}, "exploration"),
        ({"cartesian": {"x": [1]}}, "exploration"),
    ],
)
def test_from_config_errors_name_the_field(spec, field):
    with pytest.raises(ConfigError) as caught:
        exploration.from_config(spec)
    assert caught.value.field == field
    assert f"'{field}'" in str(caught.value)


HUGE = 10**400


@pytest.mark.parametrize(
    "spec, field, message",
    [
        ({"y": {"range": [0, 1, 0]}}, "y.range", "step 0 in [0, 1, 0]"),
        ({"y": {"range": [0.0, 1.0, 0.0]}}, "y.range", "step 0 in [0.0, 1.0, 0.0]"),
        (
            {"y": {"range": [0, 1, -1]}},
            "y.range",
            "[0, 1, -1] is empty: step -1 needs start > stop",
        ),
        ({"y": {"range": [1.0, 0.0, 0.5]}}, "y.range", "step 0.5 needs start < stop"),
        ({"y": {"range": [3, 3]}}, "y.range", "is empty"),
        ({"y": {"range": [0, float("nan"), 1]}}, "y.range", "expected finite numbers, got nan"),
        ({"y": {"range": [0.0, float("inf")]}}, "y.range", "got inf"),
        ({"y": {"linspace": [0, float("-inf"), 3]}}, "y.linspace", "got -inf"),
        ({"y": {"range": [0, 1e12, 1]}}, "y.range", "more than 100,000,000 values"),
        ({"y": {"range": [0, HUGE]}}, "y.range", "more than 100,000,000 values"),
        ({"y": {"range": [-1e308, 1e308, 1e-300]}}, "y.range", "more than 100,000,000"),
        ({"y": {"linspace": [0, 1, 10**9]}}, "y.linspace", "1,000,000,000 values; an explora"),
        ({"y": {"logspace": [0, 400, 3]}}, "y.logspace", "too large for a float (inf)"),
        ({"x": [1.0, 2.0], "y": []}, "y", "is empty: no values for 'y'"),
        ({"x": {"values": []}}, "x", "no values for 'x'"),
    ],
)
def test_ranges_and_empty_factors_name_the_parameter(spec, field, message):
    """Each message names the one parameter and helper at fault (not every parameter)."""
    position = list(spec).index(field.partition(".")[0])
    field = f"exploration.product[{position}].{field}"
    with pytest.raises(ConfigError) as caught:
        exploration.from_config({"product": spec})
    assert caught.value.field == field
    assert message in str(caught.value)
    if len(spec) > 1:
        assert "'x'" not in str(caught.value)


def test_empty_zip_member_and_too_large_products(monkeypatch):
    with pytest.raises(ConfigError) as caught:
        exploration.from_config({"zip": {"x": [], "y": []}})
    assert caught.value.field == "exploration.zip.x"
    big = {"a": {"range": [0, 10000]}, "b": {"range": [0, 10000]}, "c": [1, 2]}
    with pytest.raises(ConfigError) as caught:
        exploration.from_config({"product": big})
    assert caught.value.field == "exploration.product"
    assert "10,000 x 10,000 x 2 = 200,000,000 runs" in str(caught.value)
    with pytest.raises(ValueError, match="no values for 'b'"):
        exploration.cartesian_product({"a": [1], "b": []})
    import pypet_sm.define.trajectory

    monkeypatch.setattr(pypet_sm.define.trajectory, "MAX_RUNS", 3)  # a build hook's runs
    traj = pypet_sm.Trajectory("t")
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1]})
    with pytest.raises(TrajectoryError, match="4 runs; an exploration has at most 3"):
        traj.f_expand({"x": [2, 3, 4]})


def test_ranges_still_give_their_values():
    assert exploration.expand_values("f", {"range": [0, 3]}) == [0, 1, 2]
    assert exploration.expand_values("f", {"range": [3, 0, -1]}) == [3, 2, 1]
    assert exploration.expand_values("f", {"range": [0.0, 1.0, 0.25]}) == [0.0, 0.25, 0.5, 0.75]
    assert exploration.expand_values("f", {"range": [1.0, 0.0, -0.5]}) == [1.0, 0.5]
    assert exploration.expand_values("f", {"linspace": [0, 1, 3]}) == [0.0, 0.5, 1.0]


# plans from config and build hooks ----------------------------------------------------------


# Planning imports the job function to check it; these tests never run it, so any importable
# callable will do.
JOB = "math:prod"


def _config(**overrides):
    config = {
        "trajectory": {"name": "t"},
        "parameters": {"x": 1.0, "n": 2, "label": "a"},
        "job": JOB,
        "runs_per_job": 1,
    }
    config.update(overrides)
    return config


def test_plan_from_config_order_and_types(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    the_plan = plan.from_config(
        _config(exploration={"product": {"x": [1, 2.5], "label": ["p", "q", "r"]}})
    )
    assert len(the_plan) == 6
    assert the_plan.explored_names == ["x", "label"]
    columns = the_plan.explored_columns()
    assert columns["x"] == [1.0, 1.0, 1.0, 2.5, 2.5, 2.5]
    # an int explored for a float parameter becomes a float, as the parameter holds floats
    assert all(type(v) is float for v in columns["x"])
    assert columns["label"] == ["p", "q", "r"] * 2
    assert the_plan.run_values(4) == {"x": 2.5, "label": "q"}
    assert len(set(the_plan.keys)) == 6
    assert plan.run_name(4) == "run_00000004"


def test_plan_without_exploration_has_one_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    the_plan = plan.from_config(_config())
    assert len(the_plan) == 1
    assert the_plan.n_jobs == 1


def test_point_keys_depend_on_defaults_and_values_not_on_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = plan.from_config(_config(exploration={"zip": {"n": [1, 2, 3]}}))
    reordered = plan.from_config(_config(exploration={"zip": {"n": [3, 1, 2]}}))
    assert reordered.keys == [base.keys[2], base.keys[0], base.keys[1]]
    extended = plan.from_config(_config(exploration={"zip": {"n": [1, 2, 3, 4]}}))
    assert extended.keys[:3] == base.keys
    changed_default = plan.from_config(
        _config(
            parameters={"x": 1.5, "n": 2, "label": "a"},
            exploration={"zip": {"n": [1, 2, 3]}},
        )
    )
    assert not set(changed_default.keys) & set(base.keys)
    renamed = plan.from_config(
        _config(trajectory={"name": "other"}, exploration={"zip": {"n": [1, 2, 3]}})
    )
    assert not set(renamed.keys) & set(base.keys)
    # equal values of another type are another point
    as_float = plan.from_config(
        _config(parameters={"x": 1.0, "n": 2.0, "label": "a"}, exploration={"zip": {"n": [1]}})
    )
    assert as_float.keys[0] != base.keys[0]


def test_repeated_points_get_distinct_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    the_plan = plan.from_config(_config(exploration={"zip": {"n": [1, 1, 1]}}))
    assert len(set(the_plan.keys)) == 3


@pytest.mark.parametrize(
    "requested, n_runs, expected_jobs",
    [(1, 5, 5), (3, 7, 3), (10, 7, 1), ("auto", 93, 8), ("auto", 3, 3)],
)
def test_runs_per_job(tmp_path, monkeypatch, requested, n_runs, expected_jobs):
    monkeypatch.chdir(tmp_path)
    the_plan = plan.from_config(
        _config(runs_per_job=requested, exploration={"zip": {"n": list(range(n_runs))}})
    )
    assert the_plan.n_jobs == expected_jobs
    covered = [idx for job in range(the_plan.n_jobs) for idx in the_plan.job_runs(job)]
    assert covered == list(range(n_runs))
    if requested != "auto":
        assert the_plan.job_runs(1 if expected_jobs > 1 else 0)[0] == (
            requested if expected_jobs > 1 else 0
        )


BUILD_HOOK = """
import numpy as np
import pypet_sm


def build(traj):
    traj.f_add_parameter("neuron.tau", 10.0, comment="time constant")
    traj.f_add_parameter("neuron.n", 1, comment="count")
    traj.f_add_parameter(pypet_sm.Parameter, "label", "a", "the label")
    traj.f_add_parameter(pypet_sm.ArrayParameter, "weights", np.zeros(2))
    traj.f_explore(
        pypet_sm.cartesian_product(
            {"neuron.tau": [1.0, 2.0], "neuron.n": [1, 2, 3], "label": ["p", "q"]},
            ("neuron.tau", ("neuron.n",), "label"),
        )
    )
    traj.f_expand({"neuron.tau": [9.0], "neuron.n": [9], "label": ["z"]})
    traj.f_add_config("note", "hello", comment="a config item")


def bad_type(traj):
    traj.f_add_parameter("x", 1.0)
    traj.f_explore({"x": [1.0, "a"]})


def duplicate(traj):
    traj.f_add_parameter("x", 1.0)
    traj.f_add_parameter("x", 2.0)
"""


def test_build_hook_like_a_pypet_script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, BUILD_HOOK)
    the_plan = plan.from_config(
        {"trajectory": {"name": "hooked"}, "build": f"{module}:build", "job": JOB}
    )
    assert len(the_plan) == 2 * 3 * 2 + 1
    columns = the_plan.explored_columns()
    assert columns["neuron.tau"] == [1.0] * 6 + [2.0] * 6 + [9.0]
    assert columns["neuron.n"] == [1, 1, 2, 2, 3, 3] * 2 + [9]
    assert columns["label"] == ["p", "q"] * 6 + ["z"]
    specs = {p.name: p for p in the_plan.parameters}
    assert specs["neuron.tau"].comment == "time constant"
    assert specs["label"].comment == "the label"
    assert specs["weights"].class_name == "ArrayParameter"
    assert [(c.name, c.value) for c in the_plan.config_items] == [("note", "hello")]


def test_build_hook_runs_after_config_parameters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(
        tmp_path,
        """
        def build(traj):
            assert traj.par.x == 3.0
            traj.f_explore({"x": [traj.x, 2 * traj.x]})
        """,
    )
    the_plan = plan.from_config(
        {
            "trajectory": {"name": "t"},
            "parameters": {"x": 3.0},
            "build": f"{module}:build",
            "job": JOB,
        }
    )
    assert the_plan.explored_columns() == {"x": [3.0, 6.0]}


@pytest.mark.parametrize(
    "function, message",
    [("bad_type", "position 1"), ("duplicate", "exists already")],
)
def test_build_hook_errors_name_the_build_field(tmp_path, monkeypatch, function, message):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, BUILD_HOOK)
    with pytest.raises(ConfigError) as caught:
        plan.from_config({"trajectory": {"name": "t"}, "build": f"{module}:{function}", "job": JOB})
    assert caught.value.field == "build"
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "build, message",
    [("no_such_module_xyz:build", "cannot import"), ("{module}:missing", "no attribute")],
)
def test_build_hook_that_cannot_be_imported(tmp_path, monkeypatch, build, message):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, BUILD_HOOK)
    with pytest.raises(ConfigError) as caught:
        plan.from_config(
            {"trajectory": {"name": "t"}, "build": build.format(module=module), "job": JOB}
        )
    assert caught.value.field == "build"
    assert message in str(caught.value)


def test_trajectory_api_errors():
    traj = pypet_sm.Trajectory("t")
    traj.f_add_parameter("x", 1.0)
    traj.f_add_parameter("group.y", 2)
    with pytest.raises(TrajectoryError, match=r"'a' \(position 1\) is a str"):
        traj.f_explore({"x": [1.0, "a"]})
    with pytest.raises(TrajectoryError, match="equal lengths"):
        traj.f_explore({"x": [1.0, 2.0], "y": [1]})
    with pytest.raises(TrajectoryError, match="no item"):
        traj.f_explore({"nothere": [1]})
    with pytest.raises(TrajectoryError):
        traj.f_add_parameter("z", object())
    traj.f_explore({"x": [1.0, 2.0], "y": [1, 2]})
    assert traj.explored_ranges == {"parameters.x": [1.0, 2.0], "parameters.group.y": [1, 2]}
    assert len(traj) == 2
    with pytest.raises(TrajectoryError, match="explored already"):
        traj.f_explore({"x": [3.0]})
    with pytest.raises(TrajectoryError, match="cannot set"):
        traj.x = 5
