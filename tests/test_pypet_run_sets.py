"""Run sets: large trajectories keep runs in pypet's `run_set_%05d` groups of 1,000 runs.

HDF5 groups with more than ~16k children get slow, so a trajectory with more runs than
`storage: run_sets_above` stores `results/runs/run_set_00000/run_00000000/...` -- exactly what
pypet 0.7 writes for results named `runs.$set.$.<name>`. These tests lower the threshold
instead of writing 16k runs, and check that pypet itself finds every run in such files.
"""

from __future__ import annotations

import pytest
import tables

import pypet_sm
from pypet_sm.define.config import storage_settings
from pypet_sm.errors import ConfigError
from pypet_sm.hdf5.records import StorageSettings
from pypet_sm.hdf5.writer import run_group_path, uses_run_sets

from . import pypet as pypet_runner
from .conftest import assert_same, compute_in_process, write_unique_module
from .pypet import assert_explained, compare, our_project, pypet_file

SET_PREFIX = "runs.$set.$."  # pypet's names for results in run sets


@pytest.fixture(scope="session")
def pypet_python():
    return pypet_runner.pypet_python_or_skip()


def test_run_group_path_follows_pypets_set_wildcard():
    assert run_group_path("run_00000003") == ["runs", "run_00000003"]
    assert run_group_path("run_00000003", 3, run_sets=True) == [
        "runs",
        "run_set_00000",
        "run_00000003",
    ]
    assert run_group_path("run_00000999", 999, True)[1] == "run_set_00000"
    assert run_group_path("run_00001000", 1000, True)[1] == "run_set_00001"
    assert run_group_path("run_00123456", 123456, True)[1] == "run_set_00123"


def test_run_sets_start_above_the_threshold():
    default = StorageSettings()
    assert default.run_sets_above == 16384  # PyTables' MAX_GROUP_WIDTH
    assert tables.parameters.MAX_GROUP_WIDTH == default.run_sets_above
    assert not uses_run_sets(16384, default)
    assert uses_run_sets(16385, default)
    assert uses_run_sets(1, StorageSettings(run_sets_above=0))
    assert not uses_run_sets(3, StorageSettings(run_sets_above=3))


@pytest.mark.parametrize(
    "value, message",
    [(-1, "expected an integer >= 0, got -1"), ("many", "expected a int"), (True, "a int")],
)
def test_bad_run_sets_above_is_a_config_error(value, message):
    with pytest.raises(ConfigError, match=message) as error:
        storage_settings({"run_sets_above": value})
    assert "storage.run_sets_above" in str(error.value)


JOB = """
def run(traj):
    traj.f_add_result("z", traj.x * 2, comment="twice x")
    traj.f_add_result("stats.mean", traj.x / 2, comment="half x")
    traj.f_add_derived_parameter("dz", traj.v_idx)
"""


@pytest.mark.parametrize("above, sets", [(3, False), (2, True), (0, True)])
def test_threshold_decides_the_layout_and_our_loader_reads_both(tmp_path, monkeypatch, above, sets):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, JOB)
    config = {
        "trajectory": {"name": "sets"},
        "parameters": {"x": 0.0},
        "exploration": {"zip": {"x": [0.0, 1.0, 2.0]}},
        "job": f"{module}:run",
        "storage": {"run_sets_above": above},
    }
    compute_in_process(config)
    path = tmp_path / "hdf5" / "sets.hdf5"
    with tables.open_file(str(path)) as h5:
        for branch in ("results", "derived_parameters"):
            runs = h5.get_node(f"/sets/{branch}/runs")
            if sets:
                assert list(runs._v_children) == ["run_set_00000"]
                runs = runs.run_set_00000
            assert sorted(runs._v_children) == [f"run_{i:08d}" for i in range(3)]
        summary = h5.get_node("/sets/overview/results_summary").col("location").tolist()
        set_part = "run_set_00000." if sets else ""
        run_0 = f"results.runs.{set_part}run_00000000"
        assert summary == [run_0.encode(), f"{run_0}.stats".encode()]
    with pypet_sm.load_trajectory(path) as traj:
        assert traj.f_get_from_runs("z") == {f"run_{i:08d}": 2.0 * i for i in range(3)}
        assert traj.f_get_from_runs("stats.mean", use_indices=True) == {0: 0.0, 1: 0.5, 2: 1.0}
        assert traj.f_get_from_runs("dz") == {f"run_{i:08d}": i for i in range(3)}
        assert traj.results.runs.run_00000002.z == 4.0
        traj.f_set_crun(1)
        assert (traj.crun.z, traj.results.crun.stats.mean, traj.dpar.crun.dz) == (2.0, 0.5, 1)
        assert list(traj.runs_table()["z"]) == [0.0, 2.0, 4.0]


def test_run_sets_match_pypets_set_wildcard_side_by_side(tmp_path, pypet_python):
    """Our run sets (threshold 0) against pypet writing `runs.$set.$.<name>`: the same tree,
    the same view in pypet; and our loader reads pypet's file with run sets."""
    ours = our_project(
        tmp_path / "ours", "sets", "build_3_runs", "job_many", storage={"run_sets_above": 0}
    )
    theirs = pypet_file(
        tmp_path / "pypet", "sets", "build_3_runs", "job_many", kwargs={"prefix": SET_PREFIX}
    )
    pypet_view = pypet_runner.pypet_view(theirs, "sets", theirs.parent)
    our_view = pypet_runner.pypet_view(ours.trajectory_file, "sets", ours.path)
    assert "results.runs.run_set_00000.run_00000002.stats.mean" in pypet_view["results"]
    assert_explained(compare.view_differences(pypet_view, our_view))
    assert_explained(compare.overview_differences(theirs, ours.trajectory_file, "sets"))
    assert_explained(compare.tree_differences(theirs, ours.trajectory_file, "sets"))
    # the other direction: our loader on pypet's run sets sees what pypet sees
    assert_explained(
        compare.view_differences(pypet_view, compare.loader_view(theirs), merge_run_sets=True)
    )


def test_pypet_finds_every_run_in_several_run_sets(tmp_path, pypet_python):
    """1,001 runs with the threshold at 1,000: two run sets; pypet's f_get_from_runs and
    traj.results.crun find every run, and our loader sees the same."""
    runs = 1001
    ours = our_project(
        tmp_path / "ours",
        "many",
        "build_1001_runs",
        "job_many",
        storage={"run_sets_above": 1000},
    )
    with tables.open_file(str(ours.trajectory_file)) as h5:
        for branch in ("results", "derived_parameters"):
            sets = h5.get_node(f"/many/{branch}/runs")
            assert sorted(sets._v_children) == ["run_set_00000", "run_set_00001"]
            assert len(sets.run_set_00000._v_children) == 1000
            assert list(sets.run_set_00001._v_children) == ["run_00001000"]
    checked = [0, 999, 1000]
    view = pypet_runner.pypet_view(ours.trajectory_file, "many", ours.path, crun_runs=checked)
    names = [f"run_{i:08d}" for i in range(runs)]
    assert view["length"] == runs
    assert view["from_runs"]["z"] == {name: 2.0 * i for i, name in enumerate(names)}
    assert view["from_runs"]["stats.mean"] == {name: i / 2 for i, name in enumerate(names)}
    assert view["from_runs"]["dz"] == {name: i for i, name in enumerate(names)}
    for idx in checked:
        seen = view["crun"][names[idx]]
        assert_same(seen["results.crun.z"]["value"], 2.0 * idx)
        assert_same(seen["results.crun.stats.mean"]["value"], idx / 2)
        assert_same(seen["derived_parameters.crun.dz"]["value"], idx)
    assert "results.runs.run_set_00001.run_00001000.z" in view["results"]
    ours_loaded = compare.loader_view(ours.trajectory_file, crun_runs=checked)
    assert_explained(compare.view_differences(view, ours_loaded, merge_run_sets=True))
