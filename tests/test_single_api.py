"""Unit tests: pypet's single-run API in the build hook (`define.trajectory`) and in a run
(`execute.single_run`, `execute.wildcards`): Parameter / Result objects, attribute
assignment, groups and group-level adds, f_preset_parameter, f_to_dict, wildcards, and the
one-line errors for pypet calls pypet_sm does not offer."""

from __future__ import annotations

import pytest

import pypet_sm
from pypet_sm import Parameter, PickleParameter, Result, Trajectory
from pypet_sm.define.config import build_trajectory
from pypet_sm.errors import ConfigError, TrajectoryError
from pypet_sm.execute import plan
from pypet_sm.execute.single_run import SingleRun
from pypet_sm.execute.wildcards import Placement, place
from pypet_sm.hdf5.records import Item, RunRecord

CONFIG = {
    "trajectory": {"name": "api"},
    "parameters": {"x": 1.0, "neuron.tau": 10.0},
    "exploration": {"zip": {"x": [1.0, 2.0, 3.0]}},
    "job": "math:prod",  # planning imports the job to check it; it is never run here
}


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    the_plan = plan.from_config(CONFIG)
    view = SingleRun(the_plan)
    view.start_run(2, the_plan.run_values(2))
    return view


# the build hook ------------------------------------------------------------------------------
def test_parameter_objects_and_assignment_in_the_build_hook():
    traj = Trajectory("t")
    traj.f_add_parameter(Parameter("x", 1.0, "x's comment"))
    traj.par.y = Parameter("y", 2, "y's comment")  # was a plain attribute, lost
    traj.f_add_parameter(PickleParameter("obj", {"a": 1}))
    traj.f_add_parameter(Parameter, "seed", 42, "class first")
    assert traj.f_get("x").v_comment == "x's comment"
    assert (traj.y, traj.f_get("y").v_comment) == (2, "y's comment")
    assert traj.f_get("obj").v_class_name == "PickleParameter"
    assert traj.f_get("seed").v_comment == "class first"
    traj.y = 5  # pypet's f_set of the default
    traj.par.x = 1.5
    assert (traj.y, traj.x) == (5, 1.5)


def test_assigning_what_cannot_be_kept_is_an_error_naming_it():
    traj = Trajectory("t")
    traj.f_add_parameter("x", 1.0)
    traj.f_explore({"x": [1.0, 2.0]})
    for assign, message in [
        (lambda: setattr(traj.par, "zz", 5), r"cannot set traj.parameters.zz: add a parameter"),
        (lambda: setattr(traj, "x", 5.0), "parameters.x is explored"),
        (lambda: setattr(traj.par, "q", Parameter("r", 1)), "the names differ"),
        (lambda: setattr(traj.par, "r", Result("r", 1)), "results are added in the job"),
        (lambda: setattr(traj.par, "w", Parameter("w", object())), "PickleParameter"),
    ]:
        with pytest.raises(TrajectoryError, match=message):
            assign()
    assert "zz" not in traj.par.f_to_dict(short_names=True)


def test_groups_group_level_adds_presets_and_f_to_dict():
    traj = Trajectory("t")
    group = traj.f_add_parameter_group("neuron")
    group.f_add_parameter("tau", 10.0, comment="on the group")
    group.f_add_parameter_group("syn").f_add_parameter("w", 0.5)
    traj.f_preset_parameter("neuron.gain", 3.0)
    traj.f_add_parameter("neuron.gain", 1.0)
    assert traj.par.neuron.f_to_dict(short_names=True, fast_access=True) == {
        "tau": 10.0,
        "w": 0.5,
        "gain": 3.0,
    }
    assert list(traj.par.f_to_dict()) == [
        "parameters.neuron.tau",
        "parameters.neuron.syn.w",
        "parameters.neuron.gain",
    ]
    nested = traj.par.neuron.f_to_dict(nested=True, fast_access=True)
    assert nested == {"tau": 10.0, "syn": {"w": 0.5}, "gain": 3.0}
    with pytest.raises(TrajectoryError, match="exists already"):
        traj.f_preset_parameter("neuron.tau", 1.0)
    with pytest.raises(TrajectoryError, match="group comments are not stored"):
        traj.f_add_parameter_group("other", comment="lost otherwise")


def test_a_preset_never_added_fails_the_build_hook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "hook_preset.py").write_text(
        "def build(traj):\n    traj.f_preset_parameter('never', 1)\n"
    )
    config = {"trajectory": {"name": "p"}, "build": "hook_preset:build", "job": "math:prod"}
    with pytest.raises(ConfigError, match=r"parameters.never preset but never added"):
        build_trajectory(config)


def test_pypet_calls_not_offered_say_so_and_what_instead():
    traj = Trajectory("t")
    traj.f_add_parameter("x", 1.0)
    with pytest.raises(TrajectoryError, match="trajectory-level results"):
        traj.f_add_result("r", 1)
    with pytest.raises(TrajectoryError, match="trajectory-level results"):
        traj.f_add_derived_parameter("d", 1)
    with pytest.raises(AttributeError, match="pypet's f_add_link is not offered.*links"):
        traj.f_add_link("l", traj.par)
    with pytest.raises(AttributeError, match="v_annotations is not offered.*comment"):
        traj.f_get("x").v_annotations.note = "x"
    assert traj.v_fast_access is True
    traj.v_fast_access = True
    with pytest.raises(TrajectoryError, match="v_fast_access = False is not offered"):
        traj.v_fast_access = False
    with pytest.raises(TrajectoryError, match="cannot set traj.v_comment: it is pypet's"):
        traj.v_comment = "x"


# a run -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "branch, start, name, placement",
    [
        ("results", "", "z", Placement("z", None)),
        ("results", "", "runs.$.z", Placement("z", None)),
        ("results", "", "results.runs.crun.a.z", Placement("a.z", None)),
        ("results", "", "runs.run_00000002.z", Placement("z", None)),
        ("results", "", "$set.$.w", Placement("w", "$set.$")),
        ("results", "", "crunset.crun.w", Placement("w", "$set.$")),
        ("results", "", "results.runs.$set.$.v", Placement("v", "runs.$set.$")),
        ("results", "", "neuron.$.rate", Placement("rate", "neuron.$")),
        ("results", "", "crun.alone", Placement("alone", "$")),
        ("results", "results", "z", Placement("z", None)),
        ("results", "results.runs", "z", Placement("z", None)),
        ("results", "results.stats.run_00000002", "mean", Placement("mean", "stats.$")),
        ("derived_parameters", "", "dpar.neuron.$.d", Placement("d", "neuron.$")),
    ],
)
def test_wildcards_place_items_where_pypet_does(branch, start, name, placement):
    assert place(branch, start, name, 2, "f_add_x") == placement


@pytest.mark.parametrize(
    "start, name, message",
    [
        ("", "runs.run_00000001.z", "names another run"),
        ("results.stats", "mean", "names no run"),
        ("parameters", "z", "not a results group"),
    ],
)
def test_wildcard_places_outside_the_run_are_errors(start, name, message):
    with pytest.raises(TrajectoryError, match=message):
        place("results", start, name, 2, "f_add_result")


def test_result_and_parameter_objects_and_group_level_adds_in_a_run(run):
    run.f_add_result(Result("pair", 1, b=2, comment="an object"))
    run.f_add_derived_parameter(Parameter("double", 4.0, "a parameter object"))
    run.res.f_add_result("on_group", 1)
    run.f_add_group("results.stats.$").f_add_result("mean", 0.5)
    run.f_add_result("neuron.$.rate", 3.0)
    assert run.results.stats.run_00000002.mean == 0.5
    items = {(item.name, item.where): item for item in run.collected("results")}
    assert sorted(items) == [
        ("mean", "stats.$"),
        ("on_group", None),
        ("pair", None),
        ("rate", "neuron.$"),
    ]
    assert items["pair", None].values == {"pair": 1, "b": 2}
    assert items["pair", None].comment == "an object"
    [derived] = run.collected("derived_parameters")
    assert (derived.name, derived.values, derived.comment) == (
        "double",
        {"data": 4.0},
        "a parameter object",
    )
    with pytest.raises(TrajectoryError, match="added twice"):
        run.f_add_result("runs.$.on_group", 2)
    with pytest.raises(TrajectoryError, match="is not a Result"):
        run.f_add_result(Parameter("p", 1))
    with pytest.raises(AttributeError, match="pypet's f_store is not offered"):
        run.f_store()


def test_placed_items_survive_the_fragment_and_old_fragments_still_read():
    placed = Item("rate", {"rate": 1.0}, "", "Result", where="neuron.$")
    assert Item.from_builtins(placed.to_builtins()) == placed
    old = {"name": "z", "values": {"z": 1}, "comment": "", "class_name": None}
    assert Item.from_builtins(old).where is None
    record = RunRecord(0, "run_00000000", 0.0, 1.0, True, results=[placed])
    assert RunRecord.from_builtins(record.to_builtins()).results == [placed]
    assert "where" not in Item("z", {"z": 1}).to_builtins()  # old fragments' bytes kept


def test_exports():
    assert pypet_sm.Parameter is Parameter and pypet_sm.Result is Result


# the job function's return value ------------------------------------------------------------
RETURNING = """
def job(traj):
    traj.f_add_result("z", traj.x)
    return None if traj.x == 2.0 else {"twice": 2 * traj.x}
"""


def test_return_values_are_kept_for_post_processing(tmp_path, monkeypatch):
    from pypet_sm.merge.results import result_list

    from .conftest import compute_in_process, write_unique_module

    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, RETURNING)
    the_plan = compute_in_process({**CONFIG, "job": f"{module}:job"})
    assert result_list(the_plan) == [(0, {"twice": 2.0}), (1, None), (2, {"twice": 6.0})]


def test_a_return_value_that_cannot_be_pickled_fails_the_run_named(run):
    assert run.call(lambda traj: [traj.x], [], {}) == [3.0]
    with pytest.raises(TrajectoryError, match=r"run_00000002: the job function's return value"):
        run.call(lambda traj: lambda: 1, [], {})
