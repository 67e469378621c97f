"""The differential loader suite: pypet-style analysis snippets (`def name(traj): ...`), each
run under pypet 0.7 and under our loader on the same file (tests/test_pypet_loader.py).

This module imports neither pypet nor pypet_sm: `run_snippets.py` runs it under pypet's
Python, the tests under ours. `describe` turns what a snippet returns (or raises) into plain
data that compares across the two: values with their type names, nodes by kind and full name,
exceptions by class name.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

SNIPPETS: dict[str, Callable[[Any], Any]] = {}
timings: dict[str, float] = {}
FILES = ("ours", "pypet")


def snippet(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    SNIPPETS[function.__name__] = function
    return function


def open_trajectory(package: Any, filename: str) -> Any:
    """pypet's way in: Trajectory(filename=...) then f_load (results as a skeleton, loaded
    when touched: pypet's usual analysis setup)."""
    traj = package.Trajectory(filename=filename)
    traj.f_load(index=-1, load_parameters=2, load_derived_parameters=1, load_results=1, force=True)
    traj.v_auto_load = True
    return traj


def describe(value: Any, depth: int = 0) -> Any:
    """Plain data for comparing: [type name, value] for values, ["leaf"|"group", full name]
    for nodes."""
    if depth > 6:
        return ["deep", repr(value)[:40]]
    name = type(value).__name__
    if hasattr(value, "v_full_name") and hasattr(value, "f_get"):
        is_leaf = getattr(value, "v_is_leaf", None)
        return ["leaf" if is_leaf else "group", value.v_full_name]
    if value is None or isinstance(value, (bool, int, float, str)):
        return [name, value]
    if isinstance(value, complex):
        return [name, [value.real, value.imag]]
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy arrays and scalars
        if getattr(value, "shape", ()) == ():
            return [name, value.item()]
        return [name, str(value.dtype), value.tolist()]
    if isinstance(value, dict):
        return [name, [[describe(k, depth + 1), describe(v, depth + 1)] for k, v in value.items()]]
    if isinstance(value, (list, tuple)):
        return [name, [describe(v, depth + 1) for v in value]]
    return ["object", name]


def run_all(traj: Any) -> dict[str, Any]:
    """Every snippet, in order, on one trajectory -> its description, or ["raised", exception
    class name]. Between snippets the current run and fast access are reset; nothing else, so
    an answer that depends on what an earlier snippet read shows as a difference."""
    out: dict[str, Any] = {}
    for name, function in SNIPPETS.items():
        started = time.perf_counter()
        try:
            out[name] = describe(function(traj))
        except Exception as error:  # the class names are what is compared
            out[name] = ["raised", type(error).__name__, [c.__name__ for c in type(error).__mro__]]
        traj.v_idx = -1
        traj.v_fast_access = True
        timings[name] = time.perf_counter() - started
    return out


def same(pypet: Any, ours: Any) -> bool:
    """pypet's description against ours: equal, or both raised and ours is (a subclass of)
    the class pypet raised (pypet_sm's errors derive from pypet's builtin bases)."""
    if pypet == ours:
        return True
    raised = isinstance(pypet, list) and pypet[:1] == ["raised"]
    return raised and isinstance(ours, list) and ours[:1] == ["raised"] and pypet[1] in ours[2]


def _load_rich(traj: Any, name: str) -> None:
    """pypet's leaves of `name` hold data once loaded (f_load_item); ours are read anyway."""
    for node in traj.f_get_from_runs(name, fast_access=False).values():
        traj.f_load_item(node)


def first(mapping: dict, count: int = 3) -> list:
    items = list(mapping.items())
    return [len(items), items[:count], items[-1:]]


# the trajectory and its parameters -----------------------------------------------------------
@snippet
def length(traj):
    return len(traj)


@snippet
def name(traj):
    return traj.v_name


@snippet
def comment(traj):
    return traj.v_comment


@snippet
def idx_default(traj):
    return [traj.v_idx, traj.v_crun]


@snippet
def par_default(traj):
    return [traj.x, traj.y, traj.par.x, traj.parameters.y]


@snippet
def par_nested(traj):
    return [traj.parameters.model.tau, traj.model.tau, traj.tau, traj.par.model.label]


@snippet
def par_getitem(traj):
    return [traj["model.tau"], traj["tau"], traj.par["label"]]


@snippet
def par_node(traj):
    return traj.f_get("tau")


@snippet
def par_fast(traj):
    return traj.f_get("tau", fast_access=True)


@snippet
def par_full_name(traj):
    return traj.f_get("parameters.model.tau").v_full_name


@snippet
def par_range(traj):
    return traj.f_get("x").f_get_range()[:14]


@snippet
def par_has_range(traj):
    return [traj.f_get("x").f_has_range(), traj.f_get("tau").f_has_range()]


@snippet
def par_explored(traj):
    return [traj.f_get("x").v_explored, traj.f_get("tau").v_explored]


@snippet
def par_get(traj):
    return [traj.f_get("tau").f_get(), traj.f_get("weights").f_get()]


@snippet
def par_comment(traj):
    return [traj.f_get("tau").v_comment, traj.f_get("x").v_comment]


@snippet
def par_name(traj):
    return [traj.f_get("tau").v_name, traj.f_get("tau").v_location]


@snippet
def par_supports_fast(traj):
    return traj.f_get("tau").f_supports_fast_access()


@snippet
def par_is_empty(traj):
    return traj.f_get("tau").f_is_empty()


@snippet
def par_class_name(traj):
    return [traj.f_get("tau").f_get_class_name(), traj.f_get("weights").f_get_class_name()]


@snippet
def par_annotations(traj):
    return traj.f_get("tau").v_annotations.f_to_dict()


@snippet
def par_is_leaf(traj):
    return [traj.f_get("tau").v_is_leaf, traj.par.model.v_is_leaf]


@snippet
def explored_names(traj):
    return list(traj.f_get_explored_parameters())


@snippet
def explored_fast(traj):
    return traj.f_get_explored_parameters(fast_access=True)


@snippet
def parameters_names(traj):
    return sorted(traj.f_get_parameters())


@snippet
def parameters_fast(traj):
    return sorted(traj.f_get_parameters(fast_access=True).items())


# runs ----------------------------------------------------------------------------------------
@snippet
def run_names(traj):
    names = traj.f_get_run_names()
    return [len(names), names[:2], names[-1]]


@snippet
def run_information(traj):
    info = traj.f_get_run_information(3)
    return [info["idx"], info["name"]]


@snippet
def run_information_by_name(traj):
    return traj.f_get_run_information("run_00000005")["idx"]


@snippet
def run_information_missing(traj):
    return traj.f_get_run_information("run_99999999")


@snippet
def v_idx_setter(traj):
    traj.v_idx = 7
    return [traj.v_idx, traj.v_crun, traj.x, traj.y]


@snippet
def set_crun_idx(traj):
    traj.f_set_crun(100)
    return [traj.v_idx, traj.v_crun, traj.x, traj.y, traj.par.y]


@snippet
def set_crun_name(traj):
    traj.f_set_crun("run_00000012")
    return [traj.v_idx, traj.v_crun, traj.y]


@snippet
def restore_default(traj):
    traj.v_idx = 9
    traj.f_restore_default()
    return [traj.v_idx, traj.v_crun, traj.x, traj.y]


@snippet
def v_idx_minus_one(traj):
    traj.v_idx = 9
    traj.v_idx = -1
    return [traj.v_idx, traj.v_crun, traj.y]


@snippet
def range_under_crun(traj):
    traj.v_idx = 9
    return traj.f_get("y").f_get_range()[:3]


@snippet
def iter_runs_names(traj):
    names = list(itertools.islice(traj.f_iter_runs(), 3))
    return names


@snippet
def iter_runs_values(traj):
    return [[traj.v_idx, traj.x, traj.y, traj.z] for _ in itertools.islice(traj.f_iter_runs(), 4)]


@snippet
def iter_runs_after(traj):
    for _ in traj.f_iter_runs(start=2, stop=5):
        pass
    return [traj.v_idx, traj.v_crun, traj.y]


@snippet
def iter_runs_start_stop(traj):
    return list(traj.f_iter_runs(start=998, stop=1001))


@snippet
def iter_runs_step(traj):
    return list(traj.f_iter_runs(start=0, stop=10, step=4, yields="idx"))


@snippet
def iter_runs_self(traj):
    return [t.y for t in itertools.islice(traj.f_iter_runs(yields="self"), 3)]


@snippet
def iter_runs_bad_yields(traj):
    return list(traj.f_iter_runs(yields="nonsense"))


@snippet
def find_idx(traj):
    return list(traj.f_find_idx(["x", "y"], lambda x, y: x == 1.0 and y < 3))


@snippet
def find_idx_one(traj):
    return list(traj.f_find_idx("y", lambda y: y == 90))


# current-run shortcuts -----------------------------------------------------------------------
@snippet
def crun_results(traj):
    traj.v_idx = 7
    return [traj.res.crun.z, traj.results.crun.z]


@snippet
def crun_root(traj):
    traj.v_idx = 7
    return traj.crun.z


@snippet
def crun_runs(traj):
    traj.v_idx = 7
    return traj.res.runs.crun.z


@snippet
def crunset(traj):
    traj.v_idx = 1000
    return traj.res.crunset.crun.z


@snippet
def crun_derived(traj):
    traj.v_idx = 7
    return [traj.dpar.crun.dz, traj.derived_parameters.crun.dz]


@snippet
def crun_without_run(traj):
    return traj.res.crun.z


@snippet
def run_by_name(traj):
    return traj.res.runs.run_00000003.z


@snippet
def run_by_name_root(traj):
    return traj.run_00000003.z


@snippet
def run_by_r(traj):
    return traj.res.r_3.z


@snippet
def run_by_rts(traj):
    return traj.res.rts_1000.r_1000.z


@snippet
def run_by_runtoset(traj):
    return traj.res.runtoset_5.run_00000005.z


@snippet
def run_by_f_get(traj):
    return traj.results.f_get("run_00000004").z


@snippet
def run_full_path(traj):
    return traj.f_get("results.runs.run_set_00000.run_00000004.z", fast_access=True)


@snippet
def run_set_children(traj):
    return sorted(traj.res.runs.f_get_children())


@snippet
def run_set_size(traj):
    return len(traj.res.runs.run_set_00001.f_get_children())


@snippet
def run_r_last(traj):
    return traj.res.r_1000.neuron.rate


# short names ---------------------------------------------------------------------------------
@snippet
def short_fresh(traj):
    return traj.z


@snippet
def short_after_run(traj):
    _ = traj.res.runs.run_00000003.z  # read a run first
    return traj.z


@snippet
def short_after_two(traj):
    _ = traj.res.runs.run_00000003.z  # read a run first
    _ = traj.res.runs.run_00000004.z  # read a run first
    return traj.f_get("z")


@snippet
def short_crun(traj):
    traj.v_idx = 5
    return [traj.z, traj.f_get("z").v_full_name]


@snippet
def short_crun_nested(traj):
    traj.v_idx = 5
    return [traj.neuron.rate, traj.rate, traj.res.crun.neuron.rate]


@snippet
def short_crun_derived(traj):
    traj.v_idx = 6
    return traj.dz


@snippet
def short_crun_missing(traj):
    traj.v_idx = 4
    return traj.every_third


@snippet
def short_crun_present(traj):
    traj.v_idx = 6
    return traj.every_third


@snippet
def short_missing(traj):
    return traj.nothing_here


@snippet
def f_get_missing(traj):
    return traj.f_get("nothing_here")


@snippet
def f_get_ambiguous(traj):
    return traj.f_get("rate")


# results -------------------------------------------------------------------------------------
@snippet
def result_fast(traj):
    traj.v_idx = 5
    return traj.z


@snippet
def result_fast_crun(traj):
    traj.v_idx = 5
    return [traj.res.crun.z, traj.res.crun.f_get("z", fast_access=True)]


@snippet
def result_data_entry(traj):
    traj.v_idx = 5
    return traj.res.crun.evolution


@snippet
def result_data_value(traj):
    traj.v_idx = 5
    return [traj.res.crun.evolution.data, traj.res.crun.evolution.f_get()]


@snippet
def result_data_supports_fast(traj):
    traj.v_idx = 5
    return [
        traj.res.crun.f_get("evolution").f_supports_fast_access(),
        traj.res.crun.f_get("z").f_supports_fast_access(),
    ]


@snippet
def result_named_entry(traj):
    traj.v_idx = 5
    return [
        traj.res.crun.named,
        traj.res.crun.f_get("named").f_get(),
        traj.res.crun.f_get("named").named,
    ]


@snippet
def result_several(traj):
    traj.v_idx = 5
    return [traj.res.crun.stats, traj.res.crun.stats.mean, traj.res.crun.stats.n]


@snippet
def result_in(traj):
    traj.v_idx = 5
    return ["mean" in traj.res.crun.stats, "monty" in traj.res.crun.stats]


@snippet
def result_to_dict(traj):
    traj.v_idx = 5
    return traj.res.crun.stats.f_to_dict()


@snippet
def result_f_get_name(traj):
    traj.v_idx = 5
    return [traj.res.crun.stats.f_get("mean"), traj.res.crun.stats.f_get("mean", "n")]


@snippet
def result_f_get_several(traj):
    traj.v_idx = 5
    return traj.res.crun.stats.f_get()


@snippet
def result_f_get_missing(traj):
    traj.v_idx = 5
    return traj.res.crun.stats.f_get("monty")


@snippet
def result_translate_key(traj):
    traj.v_idx = 5
    return [
        traj.res.crun.stats.f_translate_key(0),
        traj.res.crun.stats.f_translate_key(2),
        traj.res.crun.stats.f_translate_key("n"),
    ]


@snippet
def result_val(traj):
    traj.v_idx = 5
    return traj.res.crun.f_get("z").f_val()


@snippet
def result_comment(traj):
    traj.v_idx = 5
    return [traj.res.crun.f_get("stats").v_comment, traj.res.crun.f_get("z").v_comment]


@snippet
def result_annotations(traj):
    traj.v_idx = 5
    return traj.res.crun.f_get("stats").v_annotations.f_to_dict()


@snippet
def result_is_empty(traj):
    traj.v_idx = 5
    return traj.res.crun.f_get("stats").f_is_empty()


@snippet
def result_class_name(traj):
    traj.v_idx = 5
    return traj.res.crun.f_get("stats").f_get_class_name()


@snippet
def result_name(traj):
    traj.v_idx = 5
    node = traj.res.crun.f_get("stats")
    return [node.v_name, node.v_location, node.v_full_name, node.v_is_leaf]


@snippet
def result_fast_access_off(traj):
    traj.v_idx = 5
    traj.v_fast_access = False
    return [traj.res.crun.z, traj.tau]


@snippet
def v_fast_access_default(traj):
    return traj.v_fast_access


@snippet
def v_auto_load(traj):
    return traj.v_auto_load


@snippet
def result_by_path(traj):
    return traj.res.runs.run_00000002.stats.f_to_dict()


# f_get_from_runs -----------------------------------------------------------------------------
@snippet
def from_runs(traj):
    return first(traj.f_get_from_runs("z"))


@snippet
def from_runs_indices(traj):
    return first(traj.f_get_from_runs("z", use_indices=True))


@snippet
def from_runs_some(traj):
    return first(traj.f_get_from_runs("every_third", use_indices=True))


@snippet
def from_runs_data(traj):
    return first(traj.f_get_from_runs("evolution"), 2)


@snippet
def from_runs_items(traj):
    return first(traj.f_get_from_runs("z", fast_access=False), 2)


@snippet
def from_runs_several(traj):
    return first(traj.f_get_from_runs("stats"), 2)


@snippet
def from_runs_named(traj):
    return first(traj.f_get_from_runs("named"))


@snippet
def from_runs_fast(traj):
    return first(traj.f_get_from_runs("z", fast_access=True))


@snippet
def from_runs_fast_several(traj):
    _load_rich(traj, "stats")
    return first(traj.f_get_from_runs("stats", fast_access=True), 1)


@snippet
def from_runs_fast_data(traj):
    _load_rich(traj, "evolution")
    return first(traj.f_get_from_runs("evolution", fast_access=True), 1)


@snippet
def from_runs_fast_named(traj):
    _load_rich(traj, "named")
    return first(traj.f_get_from_runs("named", fast_access=True, use_indices=True))


@snippet
def from_runs_fast_derived(traj):
    return first(traj.f_get_from_runs("dz", fast_access=True, use_indices=True))


@snippet
def from_runs_fast_nested(traj):
    _load_rich(traj, "rate")
    return first(traj.f_get_from_runs("rate", fast_access=True))


@snippet
def par_val(traj):
    return traj.f_get("tau").f_val()


@snippet
def from_runs_entry(traj):
    return first(traj.f_get_from_runs("stats.mean"))


@snippet
def from_runs_derived(traj):
    return first(traj.f_get_from_runs("dz"))


@snippet
def from_runs_nested(traj):
    return first(traj.f_get_from_runs("neuron.rate"))


@snippet
def from_runs_nested_short(traj):
    return first(traj.f_get_from_runs("rate"))


@snippet
def from_runs_no_default(traj):
    return first(traj.f_get_from_runs("z", include_default_run=False))


@snippet
def from_runs_no_shortcuts(traj):
    return first(traj.f_get_from_runs("z", shortcuts=False))


@snippet
def from_runs_max_depth(traj):
    return first(traj.f_get_from_runs("rate", max_depth=1))


@snippet
def from_runs_max_depth_enough(traj):
    return first(traj.f_get_from_runs("rate", max_depth=2))


@snippet
def from_runs_missing(traj):
    return traj.f_get_from_runs("nothing_here")


@snippet
def from_runs_keeps_crun(traj):
    traj.v_idx = 3
    traj.f_get_from_runs("z")
    return [traj.v_idx, traj.y]


# groups --------------------------------------------------------------------------------------
@snippet
def group_children(traj):
    return sorted(traj.par.f_get_children())


@snippet
def group_children_model(traj):
    return sorted(traj.par.model.f_get_children())


@snippet
def root_children(traj):
    return sorted(traj.f_get_children())


@snippet
def results_children(traj):
    return sorted(traj.res.f_get_children())


@snippet
def group_to_dict(traj):
    return sorted(traj.par.model.f_to_dict())


@snippet
def group_to_dict_fast(traj):
    return sorted(traj.par.f_to_dict(fast_access=True).items())


@snippet
def group_to_dict_short(traj):
    return sorted(traj.par.f_to_dict(short_names=True))


@snippet
def group_iter_nodes(traj):
    return sorted(node.v_full_name for node in traj.par.f_iter_nodes())


@snippet
def group_iter_nodes_flat(traj):
    return sorted(node.v_full_name for node in traj.par.f_iter_nodes(recursive=False))


@snippet
def group_iter_leaves(traj):
    return sorted(node.v_full_name for node in traj.par.f_iter_leaves())


@snippet
def group_contains(traj):
    return [traj.par.f_contains("tau"), traj.par.f_contains("model.tau"), traj.par.f_contains("zz")]


@snippet
def group_contains_shortcuts(traj):
    return [
        traj.par.f_contains("tau", shortcuts=False),
        traj.par.f_contains("model", shortcuts=False),
    ]


@snippet
def group_in(traj):
    return ["tau" in traj.par, "model.tau" in traj, "parameters.model" in traj, "zz" in traj]


@snippet
def group_node(traj):
    return [traj.par.model, traj.par, traj.res]


@snippet
def group_comment(traj):
    return traj.par.model.v_comment


@snippet
def group_annotations(traj):
    return traj.par.model.v_annotations.f_to_dict()


@snippet
def group_name(traj):
    group = traj.par.model
    return [group.v_name, group.v_full_name, group.v_location]


@snippet
def group_is_empty(traj):
    return [traj.par.model.f_is_empty(), traj.f_is_empty()]


@snippet
def group_has_children(traj):
    return [traj.par.model.f_has_children(), traj.par.f_children()]


@snippet
def group_get_child(traj):
    return traj.par.f_get_child("model")


@snippet
def root_annotations(traj):
    return traj.v_annotations.f_to_dict()


# loading -------------------------------------------------------------------------------------
@snippet
def load_child(traj):
    return traj.par.f_load_child("model", recursive=True)


@snippet
def load_items(traj):
    traj.f_load_items([traj.f_get("results.runs.run_set_00000.run_00000004.z")])
    return traj.res.runs.run_00000004.z


@snippet
def load_item(traj):
    traj.f_load_item("results.runs.run_set_00000.run_00000004.stats")
    return traj.res.runs.run_00000004.stats.mean


@snippet
def missing_api(traj):
    return traj.f_no_such_call()
