"""Unit tests: natural naming on the single-run view a job function gets, and on the tree."""

from __future__ import annotations

import pytest

import pypet_sm
from pypet_sm.define.naming import Group, Leaf, NamingError
from pypet_sm.errors import TrajectoryError
from pypet_sm.execute import plan
from pypet_sm.execute.single_run import SingleRun

CONFIG = {
    "trajectory": {"name": "naming", "comment": "names"},
    "parameters": {
        "x": {"value": 1.0, "comment": "top level"},
        "neuron.tau": {"value": 10.0, "comment": "time constant"},
        "neuron.I": 0.5,
        "synapse.tau": 2.0,
        "deep.group.leafy": "bottom",
    },
    "exploration": {"zip": {"x": [1.5, 2.5], "neuron.tau": [20.0, 30.0]}},
    "job": "math:prod",  # planning imports the job to check it; it is never run here
}


@pytest.fixture
def the_plan(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return plan.from_config(CONFIG)


@pytest.fixture
def traj(the_plan):
    view = SingleRun(the_plan)
    view.start_run(1, the_plan.run_values(1))
    return view


def test_parameters_by_natural_naming(traj):
    assert traj.v_name == "naming"
    assert traj.v_idx == 1
    assert traj.v_crun == "run_00000001"
    # explored values of this run
    assert traj.x == 2.5
    assert traj.par.x == 2.5
    assert traj.parameters.x == 2.5
    assert traj.parameters.neuron.tau == 30.0
    assert traj.par.neuron.tau == 30.0
    assert traj["neuron.tau"] == 30.0
    assert traj["parameters.neuron.tau"] == 30.0
    assert traj.neuron.tau == 30.0
    # defaults of parameters that are not explored
    assert traj.neuron.I == 0.5
    assert traj.I == 0.5  # unique short name
    assert traj.leafy == "bottom"  # unique short name several groups down
    assert traj["deep.leafy"] == "bottom"  # a dotted name may skip groups
    assert traj.synapse.tau == 2.0
    # the leaf itself, with its comment
    leaf = traj.f_get("neuron.tau")
    assert isinstance(leaf, Leaf)
    assert leaf.v_comment == "time constant"
    assert leaf.f_get() == 30.0
    assert traj.f_get("neuron.tau", fast_access=True) == 30.0
    assert "neuron.tau" in traj
    assert "neuron.nothing" not in traj


def test_ambiguous_short_name_is_an_error(traj):
    # tau exists as neuron.tau and synapse.tau at the same depth
    with pytest.raises(NamingError, match="ambiguous") as caught:
        traj.tau  # noqa: B018
    assert "parameters.neuron.tau" in str(caught.value)
    assert "parameters.synapse.tau" in str(caught.value)
    with pytest.raises(NamingError, match="ambiguous"):
        traj["tau"]
    with pytest.raises(AttributeError):  # NamingError is an AttributeError, for hasattr
        traj.nothing_here  # noqa: B018
    assert not hasattr(traj, "nothing_here")


def test_shortest_depth_wins():
    # pypet's rule: a name found at a shallower depth hides deeper ones
    root = Group("")
    root.add_leaf("a.value", Leaf("a.value", {"data": 1}, class_name="Parameter"))
    root.add_leaf("b.c.value", Leaf("b.c.value", {"data": 2}, class_name="Parameter"))
    assert root.value == 1
    assert root.b.value == 2
    assert root["c.value"] == 2


def test_start_run_switches_values_and_clears_results(the_plan):
    traj = SingleRun(the_plan)
    seen = []
    for idx in range(len(the_plan)):
        traj.start_run(idx, the_plan.run_values(idx))
        traj.f_add_result("z", traj.x * 2, comment="double x")
        traj.f_add_result("group.pair", a=1, b=2)
        traj.f_add_derived_parameter("d", traj.neuron.tau + 1)
        seen.append((traj.v_crun, traj.x, traj.neuron.tau))
        assert traj.results.runs[traj.v_crun].z == traj.x * 2
        assert traj[f"results.runs.{traj.v_crun}.z"] == traj.x * 2
        assert traj.res.z == traj.x * 2
        assert traj.dpar.d == traj.neuron.tau + 1
        collected = {item.name: item.values for item in traj.collected("results")}
        assert collected == {"z": {"z": traj.x * 2}, "group.pair": {"a": 1, "b": 2}}
        derived = traj.collected("derived_parameters")
        assert [(item.name, item.values) for item in derived] == [
            ("d", {"data": traj.neuron.tau + 1})
        ]
    assert seen == [("run_00000000", 1.5, 20.0), ("run_00000001", 2.5, 30.0)]


def test_result_signatures_like_pypet(traj):
    traj.f_add_result("a", 1)
    traj.f_add_result(pypet_sm.Result, "b", 2, comment="with class")
    traj.f_add_result("results.c", 3)
    traj.f_add_result("d", x=1, y=2)
    traj.f_add_result("e", 5, 6)
    collected = {item.name: (item.values, item.comment) for item in traj.collected("results")}
    assert collected["a"] == ({"a": 1}, "")
    assert collected["b"] == ({"b": 2}, "with class")
    assert collected["c"] == ({"c": 3}, "")
    assert collected["d"] == ({"x": 1, "y": 2}, "")
    assert collected["e"] == ({"e": 5, "e_1": 6}, "")
    leaf = traj.f_get("results.runs.run_00000001.d")
    assert leaf.x == 1 and leaf.f_get("y") == 2
    with pytest.raises(NamingError, match="several values"):
        leaf.f_get()


def test_result_added_twice_names_both_places(traj):
    traj.f_add_result("z", 1)
    with pytest.raises(TrajectoryError) as caught:
        traj.f_add_result("z", 2)
    message = str(caught.value)
    assert "run_00000001" in message and "'z'" in message
    assert message.count("test_naming.py:") == 2


def test_single_run_view_rejects_misuse(traj):
    # a parameter is locked as in pypet (ParameterLockedException is a TrajectoryError)
    with pytest.raises(TrajectoryError, match="Parameter `parameters.x` is locked!"):
        traj.x = 3
    with pytest.raises(TrajectoryError, match="cannot set"):
        traj.not_a_parameter = 3
    with pytest.raises(TrajectoryError, match="exactly one value"):
        traj.f_add_derived_parameter("d", 1, 2)
    with pytest.raises(TrajectoryError, match="PickleParameter"):
        traj.f_add_derived_parameter("o", object())
    with pytest.raises(TrajectoryError, match="no value"):
        traj.f_add_result("empty")
    traj.f_add_result("x.y", 1)
    with pytest.raises(TrajectoryError, match="cannot add"):
        traj.f_add_result("x.y.z", 1)  # x.y is a leaf, it cannot hold z


def test_view_outside_a_run_refuses_results(the_plan):
    traj = SingleRun(the_plan)
    with pytest.raises(TrajectoryError, match="inside a run"):
        traj.f_add_result("z", 1)
