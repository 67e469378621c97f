"""End to end: what a run sees and stores is its own (issue 14, items 3, 4, 5, 6, 8).

* runs cannot change each other's parameters: arrays are read-only, mutable values are the
  run's own copies, assignments are refused as in pypet;
* a fragment whose run read its index is reused only at that index;
* job functions that compute nothing when called (async def, generators, returning a
  coroutine) and job modules that exit while being imported fail, named, and stay undone;
* values the trajectory file cannot hold fail their run, named, instead of the merge.
"""

from __future__ import annotations

import tables

from pypet_sm.execute import fragment

from .conftest import dump_config
from .test_cli import pypet_sm

SHARED = """
import os

import numpy as np
import pypet_sm


def build(traj):
    traj.f_add_parameter(pypet_sm.PickleParameter, "model.table", {"k": 0})


def _attempt(code, traj):
    try:
        exec(code, {"traj": traj})
    except Exception as error:
        return type(error).__name__
    return "accepted"


def job(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj.x, os.getpid())) + "\\n")
    w = traj.par.model.w
    try:
        w += 1  # in place: would change every later run's w
    except ValueError:
        pass
    items = traj.par.model.items
    items.append(traj.x)  # the run's own copy: later runs never see it
    table = traj.par.model.table
    table["k"] += 1
    traj.f_add_result("w_sum", float(traj.par.model.w.sum()))
    traj.f_add_result("n_items", len(traj.par.model.items))
    traj.f_add_result("k", traj.par.model.table["k"])
    traj.f_add_result("label", traj.par.model.label)
    refused = [
        _attempt(code, traj)
        for code in (
            "traj.par.model.label = 'changed'",
            "traj.model.label = 'changed'",
            "traj.label = 'changed'",
            "traj['model.label'] = 'changed'",
            "traj.f_get('model.label').f_set('changed')",
            "traj.f_get('model.label').v_comment = 'changed'",
            "traj.par.model.w[0] = 5.0",
        )
    ]
    traj.f_add_result("refused", ",".join(refused))
"""


def _shared_config(**overrides):
    config = {
        "trajectory": {"name": "isolated"},
        "parameters": {
            "model.w": {"value": [0.0, 0.0, 0.0], "type": "array"},
            "model.items": {"value": [1, 2]},
            "model.label": {"value": "original"},
            "x": {"value": 0},
        },
        "exploration": {"zip": {"x": [0, 1, 2, 3, 4]}},
        "build": "sim:build",
        "job": "sim:job",
        "runs_per_job": 5,  # every run in one process, one single-run view
    }
    config.update(overrides)
    return config


def test_runs_cannot_change_each_others_parameters(project):
    project.write_module(SHARED)
    project.write_config(_shared_config())
    proc = project.snakemake()
    with project.load() as traj:
        for name, expected in (("w_sum", 0.0), ("n_items", 3), ("k", 1), ("label", "original")):
            got = traj.f_get_from_runs(name, use_indices=True)
            assert got == {idx: expected for idx in range(5)}, (name, got, project.describe(proc))
        refused = set(traj.f_get_from_runs("refused", use_indices=True).values())
    expected = "ParameterLockedException," * 6 + "ValueError"
    assert refused == {expected}, refused

    # the unguarded in-place change fails its run, saying that parameters are read-only
    project.write_module(
        SHARED.replace(
            "    try:\n        w += 1  # in place: would change every later run's w\n"
            "    except ValueError:\n        pass\n",
            "    w += 1\n",
        )
    )
    project.write_config(_shared_config(exploration={"zip": {"x": [5]}}))  # a new point
    project.snakemake(expect=1)
    (body,) = [body for _, body in project.fragments(fragment.FAILED).values()]
    assert "output array is read-only" in body["exception"], body["exception"]
    assert "parameters are read-only in a run" in body["exception"], body["exception"]
    assert "parameters.model.w" in body["exception"], body["exception"]


INDEXED = """
import os


def job(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj.x, os.getpid())) + "\\n")
    if traj.x == 2:  # seeds from its index, a common pypet idiom
        traj.f_add_result("seed", traj.v_idx)
    else:
        traj.f_add_result("seed", -1)
"""


def test_a_fragment_that_read_its_index_is_reused_only_at_that_index(project):
    project.write_module(INDEXED)
    config = {
        "trajectory": {"name": "indexed"},
        "parameters": {"x": {"value": 0}},
        "exploration": {"zip": {"x": [1, 1, 1, 2]}},
        "job": "sim:job",
        "runs_per_job": 10,
    }
    project.write_config(config)
    project.snakemake()
    assert sorted(x for x, _ in project.calls()) == [1, 1, 1, 2]
    # x=2 moves from run 3 to run 0 and read its index: computed again; the first x=1 moves
    # from run 0 to run 1 without having read it: reused
    config["exploration"] = {"zip": {"x": [2, 1, 3]}}
    project.write_config(config)
    # pypet-sm status counts what snakemake will compute: only x=1's fragment stands
    status = pypet_sm(project, "status")
    assert "indexed: 1 done, 0 failed, 2 missing of 3 runs" in status.stdout, status
    proc = project.snakemake()
    again = sorted(x for x, _ in project.calls()[4:])
    assert again == [2, 3], (again, project.describe(proc))
    with project.load() as traj:
        assert traj.f_get_from_runs("seed", use_indices=True) == {0: 0, 1: -1, 2: -1}
    log = (project.path / "logs/indexed/jobs/job_000000.log").read_text()
    assert "run_00000000 computed again: it read its run index and now has index 0" in log, log


def test_job_functions_that_compute_nothing_fail_named_and_stay_undone(project):
    config = {
        "trajectory": {"name": "calls"},
        "parameters": {"x": {"value": 0}},
        "exploration": {"zip": {"x": [1, 2]}},
        "job": "sim:job",
        "runs_per_job": 2,
    }
    project.write_config(config)
    cases = {
        "async def job(traj):\n    traj.f_add_result('y', 1)\n": (
            "job function 'sim:job' is an async def function"
        ),
        "def job(traj):\n    yield\n    traj.f_add_result('y', 1)\n": (
            "job function 'sim:job' is a generator function"
        ),
        "import sys\nsys.exit(0)\ndef job(traj):\n    pass\n": (
            "config field 'job': importing module 'sim' called sys.exit(0)"
        ),
        "raise KeyboardInterrupt\n": (
            "config field 'job': importing module 'sim' was interrupted (Ctrl-C)"
        ),
    }
    for source, message in cases.items():
        project.write_module(source)
        proc = project.snakemake(expect=1)
        # refused when planning (the job module is imported there to check its signature);
        # the run job refuses it the same way (tests/test_run_values.py)
        assert message in proc.stderr, (source, project.describe(proc))
        assert "Traceback" not in proc.stderr, project.describe(proc)
        assert not project.fragment_files(), project.describe(proc)
        assert not project.trajectory_file.exists()
    # a plain function that returns a coroutine: its runs fail, so they are computed again
    project.write_module(
        "async def compute(traj):\n    traj.f_add_result('y', 1)\n\n"
        "def job(traj):\n    return compute(traj)\n"
    )
    project.snakemake(expect=1)
    failed = project.fragments(fragment.FAILED)
    assert sorted(failed) == [0, 1]
    assert "the job function returned a coroutine" in failed[0][1]["exception"]
    # fixed: every run is computed
    project.write_module("def job(traj):\n    traj.f_add_result('y', traj.x)\n")
    project.snakemake()
    with project.load() as traj:
        assert traj.f_get_from_runs("y", use_indices=True) == {0: 1, 1: 2}


UNWRITABLE = """
import numpy as np

CASES = [
    lambda t: t.f_add_result("y", 1, comment=5),
    lambda t: t.f_add_result("y", "surrogate \\udc80"),
    lambda t: t.f_add_result("y", 1, comment="surrogate \\udc80"),
    lambda t: t.f_add_result("y", **{"": 1}),
    lambda t: t.f_add_result("y", 1, comment="x" * 1_000_000),
    lambda t: t.f_add_derived_parameter("y", 1, comment=["a list"]),
    lambda t: t.f_add_result("y", **{"a": 1, "a.b": 2}),
    lambda t: t.f_add_result("y", np.array(["surrogate \\udc80"])),
    lambda t: t.f_add_result("y", **{"_v_x": 1}),
]
FIXED = False


def job(traj):
    if FIXED or traj.x >= len(CASES):
        traj.f_add_result("y", traj.x, comment="fine")
    else:
        CASES[traj.x](traj)
"""
MESSAGES = [
    "result 'y': its comment must be a string, got int 5",
    "result 'y': its value 'y' holds '\\udc80' at position 10, which UTF-8 cannot encode",
    "result 'y': its comment holds '\\udc80' at position 10, which UTF-8 cannot encode",
    "result 'y': it has a value named ''",
    "result 'y': its comment is 1,000,000 bytes",
    "derived parameter 'y': its comment must be a string, got list ['a list']",
    "result 'y': its value names 'a' and 'a.b' would be both a value and a group",
    "result 'y': its value 'y' holds a lone surrogate",
    "result 'y': its value name '_v_x' starts with one of PyTables' reserved prefixes",
]


def test_values_the_file_cannot_hold_fail_their_run_not_the_merge(project):
    project.write_module(UNWRITABLE)
    n_runs = len(MESSAGES) + 1  # and one good run
    config = {
        "trajectory": {"name": "unwritable"},
        "parameters": {"x": {"value": 0}},
        "exploration": {"zip": {"x": list(range(n_runs))}},
        "job": "sim:job",
        "runs_per_job": n_runs,
        "keep_going": True,
    }
    project.write_config(config)
    proc = project.snakemake()
    failed = project.fragments(fragment.FAILED)
    assert sorted(failed) == list(range(len(MESSAGES))), project.describe(proc)
    for idx, message in enumerate(MESSAGES):
        exception = failed[idx][1]["exception"]
        assert f"run_{idx:08d}: {message}" in exception, (idx, exception)
    with tables.open_file(project.trajectory_file) as h5:
        rows = h5.get_node("/unwritable/overview/failed_runs").read()
        assert [int(row["idx"]) for row in rows] == list(range(len(MESSAGES)))
    with project.load() as traj:
        assert traj.f_get_from_runs("y", use_indices=True) == {len(MESSAGES): len(MESSAGES)}
    # fixed: the failed runs are computed again, and the merge writes them all
    project.write_module(UNWRITABLE.replace("FIXED = False", "FIXED = True"))
    project.snakemake()
    with project.load() as traj:
        assert traj.f_get_from_runs("y", use_indices=True) == {i: i for i in range(n_runs)}
    assert dump_config  # the module's helpers stay importable
