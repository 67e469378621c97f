"""The stacked storage layout: same values through load_trajectory as pypet's layout.

Each test computes one exploration with both layouts (real snakemake) and compares what
`load_trajectory` gives back, value for value and type for type.
"""

from __future__ import annotations

import numpy as np
import pandas
import pytest
import tables

from pypet_sm.define.naming import NamingError

from .conftest import Project, assert_same

SIM = """
import numpy as np


def job(traj):
    i = traj.v_idx
    traj.f_add_result("z", traj.x * 2.0, comment="twice x")
    traj.f_add_result("count", i, comment="an int")
    traj.f_add_result("flag", i % 2 == 0, comment="a bool")
    traj.f_add_result("c", complex(i, 1), comment="a complex")
    traj.f_add_result("f32", np.float32(i) / 2, comment="a numpy scalar")
    traj.f_add_result("trace", np.arange(4) * i, comment="an array")
    traj.f_add_result("grid", np.ones((2, 3), dtype=bool), comment="a 2-d bool array")
    traj.f_add_result("spikes", np.arange(i % 3) * 1.5, comment="empty in some runs")
    traj.f_add_result("stats", mean=float(i), spread=np.float64(0.5), comment="two values")
    traj.f_add_result("neuron.rate", 10.0 * i, comment="nested name")
    traj.f_add_result("label", f"run {i}", comment="a string: per-run layout")
    traj.f_add_result("names", ["a", "b"] * i, comment="a list: per-run layout")
    if i % 3 == 0:
        traj.f_add_result("sometimes", float(i), comment="only every third run")
    # the shape changes at run 4: from there these runs fall back to pypet's layout
    traj.f_add_result("growing", np.zeros(2 if i < 4 else 3), comment="shape changes")
    traj.f_add_derived_parameter("steps", 100 + i, comment="a derived int")
"""

CONFIG = {
    "parameters": {"x": {"value": 0.0, "comment": "the value"}},
    "exploration": {"zip": {"x": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]}},
    "job": "sim:job",
    "runs_per_job": 3,
}


def _compute(tmp_path, layout: str) -> Project:
    directory = tmp_path / layout
    directory.mkdir()
    project = Project(directory)
    project.write_module(SIM)
    storage = {"layout": layout} if layout != "pypet" else {}
    project.write_config({"trajectory": {"name": "t"}, **CONFIG, "storage": storage})
    project.snakemake()
    return project


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("layouts")
    return _compute(tmp_path, "pypet"), _compute(tmp_path, "stacked")


def _stacks_under(h5, root: str) -> set[str]:
    """Names (relative to `root`) of the stacked items below it."""
    return {
        group._v_pathname.removeprefix(f"{root}/")
        for group in h5.walk_groups(root)
        if getattr(group._v_attrs, "PSM_STACK", False)
    }


def test_stacked_file_stacks_what_it_can(both):
    _, stacked = both
    with tables.open_file(stacked.trajectory_file) as h5:
        stacks = _stacks_under(h5, "/t/stacked")
        run_groups = h5.get_node("/t/results/runs")._v_children
        run3 = set(h5.get_node("/t/results/runs/run_00000003")._v_children)
        run5 = set(h5.get_node("/t/results/runs/run_00000005")._v_children)
    assert {"results/z", "results/stats", "results/neuron/rate", "results/trace"} <= stacks
    assert "results/sometimes" in stacks and "derived_parameters/steps" in stacks
    assert not {"results/label", "results/names"} & stacks
    assert len(run_groups) == 7
    # per-run groups hold only what could not be stacked
    # spikes: empty in run 0, so never stacked (an empty array has no shape to stack)
    assert run3 == {"label", "names", "spikes"}
    assert run5 == {"label", "names", "growing", "spikes"}


def test_every_value_loads_the_same_from_both_layouts(both):
    pypet_project, stacked_project = both
    with pypet_project.load() as expected, stacked_project.load() as actual:
        assert len(actual) == len(expected) == 7
        for run in expected.f_get_run_names():
            for branch in ("results", "derived_parameters"):
                want = expected.f_get(f"{branch}.runs.{run}")
                got = actual.f_get(f"{branch}.runs.{run}")
                for leaf in want.f_iter_leaves():
                    relative = leaf.v_full_name.split(f"{run}.", 1)[1]
                    other = got.f_get(relative)
                    assert_same(other.values, leaf.values, f"{run} {relative}")
                    if leaf.v_comment:
                        assert other.v_comment == leaf.v_comment, f"{run} {relative}"
                names = {leaf.v_full_name for leaf in got.f_iter_leaves()}
                assert names == {leaf.v_full_name for leaf in want.f_iter_leaves()}
        # fast access through natural naming
        assert actual.results.runs.run_00000003.z == 4.0
        assert actual.results.runs.run_00000003.neuron.rate == 30.0
        assert actual.f_get("results.runs.run_00000003.stats").mean == 3.0


def test_from_runs_and_runs_table_agree(both):
    pypet_project, stacked_project = both
    with pypet_project.load() as expected, stacked_project.load() as actual:
        for name in ("z", "count", "flag", "c", "f32", "rate", "sometimes", "label", "steps"):
            want = expected.f_get_from_runs(name)
            got = actual.f_get_from_runs(name)
            assert list(got) == list(want), name
            for run in want:
                assert_same(got[run], want[run], f"{name} {run}")
        assert list(actual.f_get_from_runs("sometimes")) == [
            "run_00000000",
            "run_00000003",
            "run_00000006",
        ]
        growing = actual.f_get_from_runs("growing")
        assert [value.shape for value in growing.values()] == [(2,)] * 4 + [(3,)] * 3
        table_pypet = expected.runs_table()
        table_stacked = actual.runs_table()
        assert list(table_stacked.columns) == list(table_pypet.columns)
        pandas.testing.assert_frame_equal(table_stacked, table_pypet)


def test_parameters_and_runs_table_are_still_pypet_readable(both):
    """pypet's overview tables and parameters do not depend on the layout."""
    pypet_project, stacked_project = both
    with tables.open_file(pypet_project.trajectory_file) as a:
        with tables.open_file(stacked_project.trajectory_file) as b:
            runs_a = a.get_node("/t/overview/runs").read()
            runs_b = b.get_node("/t/overview/runs").read()
            assert runs_a["name"].tolist() == runs_b["name"].tolist()
            assert runs_b["completed"].tolist() == [1] * 7
            explored_b = b.get_node("/t/parameters/x/explored_data").read()
            assert np.array_equal(explored_b, a.get_node("/t/parameters/x/explored_data").read())


def test_unknown_layout_names_the_field(tmp_path):
    project = Project(tmp_path)
    project.write_module(SIM)
    project.write_config({"trajectory": {"name": "t"}, **CONFIG, "storage": {"layout": "rows"}})
    proc = project.dry_run(expect=1)
    output = proc.stdout + proc.stderr
    assert "config field 'storage.layout'" in output, project.describe(proc)
    assert "'rows'" in output and "Traceback (most recent call last)" not in output


def test_run_scalars_index_of_pypets_layout_gives_what_the_run_groups_hold(both):
    """pypet's layout keeps an index of scalar results (overview/run_scalars) for reading
    across runs; what it gives must equal reading every run's own group."""
    pypet_project, _ = both
    with tables.open_file(pypet_project.trajectory_file) as h5:
        indexed = _stacks_under(h5, "/t/overview/run_scalars")
    assert indexed == {
        "results/z",
        "results/count",
        "results/flag",
        "results/c",
        "results/f32",
        "results/stats",
        "results/neuron/rate",
        "results/sometimes",
        "derived_parameters/steps",
    }
    with pypet_project.load() as traj:
        assert traj._columns.stacks and not traj._stacked.stacks
        for name, branch in [("z", "results"), ("f32", "results"), ("rate", "results")] + [
            ("sometimes", "results"),
            ("steps", "derived_parameters"),
            ("flag", "results"),
            ("c", "results"),
        ]:
            path = "neuron.rate" if name == "rate" else name
            want = {}
            for run in traj.f_get_run_names():
                group = traj.f_get(f"{branch}.runs.{run}")
                try:
                    want[run] = group.f_get(path, fast_access=True)
                except NamingError:  # the run lacks it
                    continue
            got = traj.f_get_from_runs(name)
            assert list(got) == list(want), name
            for run in want:
                assert_same(got[run], want[run], f"{name} {run}")
