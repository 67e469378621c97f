"""pypet's single-run API side by side with pypet 0.7: a pypet-style build hook and job
function (tests/pypet/single_job.py) run by pypet's Environment and by our workflow, the files
compared: Parameter and Result objects, attribute assignment, parameter groups, group-level
adds, f_preset_parameter and the wildcards `$`, `$set`, `crun` (stored where pypet stores
them: `results/neuron/run_00000003/rate`, `results/run_set_00001/run_00001000/w`, ...).

pypet needs about 0.35 s a run for this job, so the side-by-side run has 4 runs; the 1,001
runs (two run sets) are ours only, loaded by pypet."""

from __future__ import annotations

import pytest
import tables

from . import pypet as pypet_runner
from .pypet import assert_explained, compare, our_project, pypet_file

NAME = "single"


@pytest.fixture(scope="session")
def pypet_python():
    return pypet_runner.pypet_python_or_skip()


def test_single_run_api_matches_pypet(tmp_path, pypet_python):
    ours = our_project(tmp_path / "ours", NAME, "build_few", "job", module="single_job")
    theirs = pypet_file(tmp_path / "pypet", NAME, "build_few", "job", module="single_job")
    pypet_view = pypet_runner.pypet_view(theirs, NAME, theirs.parent)
    our_view = pypet_runner.pypet_view(ours.trajectory_file, NAME, ours.path)
    assert "results.neuron.run_00000003.rate" in our_view["results"]
    assert_explained(compare.view_differences(pypet_view, our_view))
    assert_explained(compare.overview_differences(theirs, ours.trajectory_file, NAME))
    assert_explained(compare.tree_differences(theirs, ours.trajectory_file, NAME))
    # a second merge writes the placed items again: none is taken for a node of the
    # user's (carried over, or the old file kept beside the new one)
    folder = ours.trajectory_file.parent
    listed = sorted(path.name for path in folder.iterdir())
    before = ours.trajectory_file.stat().st_mtime_ns
    proc = ours.snakemake("--forcerun", "merge")
    assert ours.trajectory_file.stat().st_mtime_ns != before
    assert sorted(path.name for path in folder.iterdir()) == listed, proc.stderr[-2000:]


def test_wildcards_over_two_run_sets_are_where_pypet_finds_them(tmp_path, pypet_python):
    ours = our_project(tmp_path / "ours", NAME, "build_many", "job_sets", module="single_job")
    with tables.open_file(str(ours.trajectory_file)) as h5:
        results = h5.get_node(f"/{NAME}/results")
        assert sorted(results._v_children) == ["neuron", "run_set_00000", "run_set_00001", "runs"]
        assert len(results.run_set_00000._v_children) == 1000
        assert results.run_set_00001.run_00001000.w.w.read() == 3000
        assert results.runs.run_set_00000.run_00000999.v.v.read() == 1000
        assert len(results.neuron._v_children) == 1001
    view = pypet_runner.pypet_view(ours.trajectory_file, NAME, ours.path, crun_runs=[1000])
    seen = view["results"]
    for full_name in (
        "results.run_set_00000.run_00000999.w",
        "results.run_set_00001.run_00001000.w",
        "results.runs.run_set_00001.run_00001000.v",
        "results.neuron.run_00001000.rate",
    ):
        assert full_name in seen, full_name
