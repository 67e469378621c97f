"""The incremental merge (issue 15, item 4): an extended exploration is appended to the
trajectory file the last merge wrote, with the content a full merge of the same plan writes;
anything else is merged in full, and the merge log says which merge ran and why."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tables

from pypet_sm.execute import plan as plans
from pypet_sm.merge import incremental, write

from . import pypet as pypet_runner
from .conftest import Project
from .pypet import compare

# results of every kind the merge stores: stackable scalars and arrays, strings (pypet's
# layout in both), a comment repeated over runs (purged, one summary row), a derived
# parameter, an item only some runs have, one that changes type between runs
SIM = """
import os

import numpy as np


def extend(traj):
    if os.path.exists("fail") and (traj.x, traj.y) == (3.0, 20):
        raise RuntimeError("asked to fail")
    traj.f_add_result("z", traj.x * traj.y, comment="the product")
    traj.f_add_result("vec", np.arange(3) * traj.x)
    traj.f_add_result("label", f"run {traj.v_idx}")
    traj.f_add_derived_parameter("twice", 2 * traj.x, comment="two x")
    if traj.y > 15:
        traj.f_add_result("big.flag", True)
    traj.f_add_result("mixed", 1.5 if traj.v_idx % 2 else "text")
"""


def _config(name: str, layout: str, xs: list[float]) -> dict[str, Any]:
    return {
        "trajectory": {"name": name, "comment": "extended"},
        "parameters": {
            "x": {"value": 0.0, "comment": "first factor"},
            "y": {"value": 0, "comment": "second factor"},
            "offset": {"value": 0.0, "comment": "a default, in every point"},
        },
        # the first parameter varies slowest: new x values are new runs at the end
        "exploration": {"product": {"x": xs, "y": [10, 20]}},
        "job": "sim:extend",
        "runs_per_job": 2,
        "storage": {"layout": layout, "large_overview_tables": True},
    }


def _merge_log(project: Project) -> str:
    return (project.path / "logs" / project.name / "merge.log").read_text()


def _merges(project: Project) -> list[str]:
    """'incremental' or 'full' for each merge so far, with the reason."""
    lines = []
    for directory in project.environment_log_dirs():
        for path in sorted(directory.glob("main.txt")):
            for line in path.read_text().splitlines():
                if " merge: " in line and ("incremental merge" in line or "full merge" in line):
                    lines.append(line.split("] ", 1)[-1].split(" (fragments checked")[0])
    return lines


def _plan(project: Project) -> plans.Plan:
    """The plan of the project's last snakemake invocation."""
    return plans.load(
        max((project.state / "plans").glob("plan-*"), key=lambda p: p.stat().st_mtime)
    )


def _full_merge(project: Project, target: Path) -> None:
    """A full merge of the project's current plan to `target`, in this process: the same
    environments and fragments as the snakemake merge."""
    cwd = os.getcwd()
    os.chdir(project.path)
    try:
        plan = _plan(project)
        record = write.trajectory_record(plan)
        write._write_all(target, record, incremental.Fingerprint(plan))
    finally:
        os.chdir(cwd)


def _contents(path: Path, name: str) -> dict[str, Any]:
    """Every node below the root: its kind, title, user attributes and data."""
    found: dict[str, Any] = {}
    with tables.open_file(str(path)) as h5:
        root = h5.root._v_attrs
        found["/"] = (h5.title, {key: repr(root[key]) for key in root._v_attrnamesuser})
        for node in h5.walk_nodes("/"):
            attrs = node._v_attrs
            entry: dict[str, Any] = {
                "kind": type(node).__name__,
                "attrs": {key: repr(attrs[key]) for key in attrs._v_attrnamesuser},
            }
            if isinstance(node, tables.Leaf):
                data = node.read()
                entry["dtype"] = str(getattr(data, "dtype", type(data)))
                entry["data"] = data.tolist() if isinstance(data, np.ndarray) else repr(data)
                entry["filters"] = repr(node.filters)
            found[node._v_pathname] = entry
    return found


def _differences(a: Path, b: Path, name: str) -> list[str]:
    first, second = _contents(a, name), _contents(b, name)
    lines = [f"only in the incremental file: {p}" for p in sorted(set(first) - set(second))]
    lines += [f"only in the full merge: {p}" for p in sorted(set(second) - set(first))]
    for path in sorted(set(first) & set(second)):
        if first[path] != second[path]:
            lines.append(f"{path}: incremental {first[path]} | full {second[path]}")
    return lines


@pytest.mark.parametrize("layout", ["pypet", "stacked"])
def test_an_extension_is_appended_with_the_content_of_a_full_merge(tmp_path, layout):
    project = Project(_fresh(tmp_path / layout))
    project.write_module(SIM)
    name = f"incr_{layout}"
    project.write_config(_config(name, layout, [1.0, 2.0, 3.0]))
    project.snakemake()
    project.write_config(_config(name, layout, [1.0, 2.0, 3.0, 4.0, 5.0]))
    project.snakemake()
    merges = _merges(project)
    assert [m.split()[0] for m in merges] == ["full", "incremental"], merges
    assert "the file's 6 runs are the first of 10; 4 appended" in merges[1]

    full = tmp_path / f"{layout}-full.hdf5"
    _full_merge(project, full)
    assert _differences(project.trajectory_file, full, name) == []

    # a second extension appends to an appended file; pypet loads it as a full merge's
    project.write_config(_config(name, layout, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    project.snakemake()
    assert _merges(project)[-1].startswith("incremental"), _merges(project)
    _full_merge(project, full)
    assert _differences(project.trajectory_file, full, name) == []
    if layout == "pypet":  # pypet does not read the stacked layout's results
        pypet_runner.pypet_python_or_skip()
        ours = pypet_runner.pypet_view(project.trajectory_file, name, project.path)
        theirs = pypet_runner.pypet_view(full, name, project.path)
        assert compare.view_differences(theirs, ours) == []
        with project.load() as traj:
            assert traj.f_get_from_runs("z", use_indices=True) == {
                i: (1.0 + i // 2) * (10, 20)[i % 2] for i in range(12)
            }


def _fresh(directory: Path) -> Path:
    directory.mkdir(parents=True)
    return directory


def _set(config: dict[str, Any], section: str, key: str, value: Any) -> dict[str, Any]:
    return {**config, section: {**config[section], key: value}}


def test_anything_but_new_runs_is_merged_in_full_and_the_log_says_why(project):
    project.write_module(SIM)
    name = "fallback"
    (project.path / "fail").touch()  # run 5 fails, is merged as not completed
    project.write_config({**_config(name, "pypet", [1.0, 2.0, 3.0]), "keep_going": True})
    project.snakemake(expect=None)
    assert _merges(project) == ["full merge: there is no trajectory file yet"]
    (project.path / "fail").unlink()

    def merged(changed: dict[str, Any]) -> str:
        project.write_config(changed)
        project.snakemake()
        with project.load() as traj:
            assert len(traj) == len(changed["exploration"]["product"]["x"]) * 2
        return _merges(project)[-1]

    # the failed run is computed again: the file's run 5 is not the plan's run 5 any more
    config = _config(name, "pypet", [1.0, 2.0, 3.0, 4.0])
    assert merged(config).startswith("full merge: the first 6 runs are not those of the file")
    shrunk = _config(name, "pypet", [1.0, 2.0])
    assert merged(shrunk) == "full merge: the exploration has 4 runs, the file 8"
    # back to 8: nothing is computed, the 4 points are appended from their fragments
    assert merged(config).startswith("incremental merge: the file's 4 runs are the first of 8")
    # a point inserted before others moves them to other indices
    moved = _config(name, "pypet", [0.5, 1.0, 2.0, 3.0, 4.0])
    assert merged(moved).startswith("full merge: the first 8 runs are not those of the file")
    moved = _set(moved, "storage", "complevel", 5)
    assert merged(moved) == "full merge: the storage settings changed"
    # a changed default changes every point: all runs are computed and merged again
    changed = {**moved, "parameters": {**moved["parameters"], "offset": {"value": 1.0}}}
    assert merged(changed).startswith("full merge: the first 10 runs are not those")

    # what a user stored since the last merge: the full merge carries it over
    with tables.open_file(str(project.trajectory_file), "a") as h5:
        h5.create_array("/", "analysis", np.arange(3))
    xs = [0.5, 1.0, 2.0, 3.0, 4.0, 5.0]
    extended = {**changed, "exploration": {"product": {"x": xs, "y": [10, 20]}}}
    assert merged(extended) == (
        "full merge: the trajectory file changed since the last merge wrote it"
    )
    with tables.open_file(str(project.trajectory_file)) as h5:
        assert h5.root.analysis.read().tolist() == [0, 1, 2]
    assert not list(project.trajectory_file.parent.glob("*.bak-*"))
    # and the next extension appends to that file, the user's array with it
    xs = [*xs, 6.0]
    extended = {**changed, "exploration": {"product": {"x": xs, "y": [10, 20]}}}
    assert merged(extended).startswith("incremental merge: the file's 12 runs")
    with tables.open_file(str(project.trajectory_file)) as h5:
        assert h5.root.analysis.read().tolist() == [0, 1, 2]


KILL_SIM = """
def trivial(traj):
    traj.f_add_result("z", traj.x)
"""


def test_a_killed_incremental_merge_leaves_the_old_file_and_the_rerun_finishes_it(tmp_path):
    project = Project(_fresh(tmp_path / "kill"))
    project.write_module(KILL_SIM)

    def config(runs: int) -> dict[str, Any]:
        return {
            "trajectory": {"name": "killed"},
            "parameters": {"x": {"value": 0}},
            "exploration": {"zip": {"x": {"range": [0, runs, 1]}}},
            "job": "sim:trivial",
            "runs_per_job": 1000,
        }

    project.write_config(config(100))
    project.snakemake()
    before = project.trajectory_file.read_bytes()
    # enough new runs for the merge to last a few seconds (about 1 ms a run in pypet's layout)
    project.write_config(config(1600))
    log = project.path / "killed.log"
    proc = project.start_snakemake(log=log, new_session=True)
    temps = f".{project.trajectory_file.name}.*.tmp"
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            copied = [
                p
                for p in project.trajectory_file.parent.glob(temps)
                if p.stat().st_size > len(before)  # the copy is made, runs are appended
            ]
            if copied:
                time.sleep(0.3)
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the merge finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert _merges(project)[-1].startswith("incremental merge"), _merges(project)
    assert project.trajectory_file.read_bytes() == before
    with project.load() as traj:
        assert len(traj) == 100

    project.snakemake("--unlock", cores=None)
    project.snakemake("--rerun-incomplete")
    assert _merges(project)[-1].startswith("incremental merge: the file's 100 runs"), _merges(
        project
    )
    assert not list(project.trajectory_file.parent.glob(temps))
    full = tmp_path / "full.hdf5"
    _full_merge(project, full)
    assert _differences(project.trajectory_file, full, "killed") == []
