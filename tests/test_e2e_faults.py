"""The fault harness: over a 500-run sweep, runs chosen by a seeded RNG raise, call
sys.exit(), os._exit(), segfault or hang past the run timeout. Every fault is named on the
terminal and in `overview/failed_runs` of the `--keep-going` merge; after a rerun with the
job function fixed, the trajectory holds exactly what an uninterrupted run gives.

`PYPET_SM_FAULT_SEED` chooses the faulty runs (default 14).
"""

from __future__ import annotations

import os
import random
import time

import numpy as np
import tables

from .conftest import Project, multiply_config

SEED = int(os.environ.get("PYPET_SM_FAULT_SEED", "14"))
XS = [float(x) for x in range(50)]
YS = list(range(10))
N_RUNS = len(XS) * len(YS)
TIMEOUT = 2
# 20 faults: the failure summary on the terminal names up to 20 runs one by one
KINDS = ["hang"] * 3 + ["raise"] * 5 + ["exit"] * 4 + ["_exit"] * 4 + ["segfault"] * 4

SIM = """
import ctypes
import os
import sys
import time

import numpy as np

FAULTS = {faults!r}


def run(traj):
    kind = FAULTS.get(traj.v_idx)
    if kind == "raise":
        raise ValueError(f"fault in run {{traj.v_idx}}")
    if kind == "exit":
        sys.exit(traj.v_idx % 5 + 1)
    if kind == "_exit":
        os._exit(traj.v_idx % 5 + 1)
    if kind == "segfault":
        ctypes.string_at(0)
    if kind == "hang":
        time.sleep(120)
    traj.f_add_result("z", traj.x * traj.y, comment="x * y")
    traj.f_add_result("trace", np.arange(4) * traj.x)
"""


def _faults(rng: random.Random) -> dict[int, str]:
    kinds = list(KINDS)
    rng.shuffle(kinds)
    return dict(zip(sorted(rng.sample(range(N_RUNS), len(kinds))), kinds, strict=True))


def _expected(idx: int, kind: str) -> str:
    return {
        "raise": f"ValueError: fault in run {idx}",
        "exit": f"SystemExit: {idx % 5 + 1}",
        "_exit": f"crashed: exited with code {idx % 5 + 1}",
        "segfault": "crashed: killed by signal SIGSEGV",
        "hang": f"timeout after {TIMEOUT} s",
    }[kind]


def _project(path, faults: dict[int, str], **config) -> Project:
    path.mkdir()
    project = Project(path)
    project.write_module(SIM.format(faults=faults))
    project.write_config(
        multiply_config(
            name="faults",
            exploration={"product": {"x": XS, "y": YS}},
            job="sim:run",
            runs_per_job=50,
            timeout=TIMEOUT,
            **config,
        )
    )
    return project


def _runs(project: Project) -> dict[str, tuple]:
    """Run name -> (explored parameters, z, trace) of every run, by our loader."""
    with project.load() as traj:
        explored = traj.f_get_explored_parameters()
        ranges = {name: list(parameter.f_get_range()) for name, parameter in explored.items()}
        z = traj.f_get_from_runs("z")
        trace = traj.f_get_from_runs("trace")
        assert len(traj) == N_RUNS
        assert all(traj.f_get_run_information(i)["completed"] for i in range(N_RUNS))
        names = [f"run_{i:08d}" for i in range(N_RUNS)]
        return {
            name: (
                tuple(values[i] for values in ranges.values()),
                z[name],
                np.asarray(trace[name]).tolist(),
            )
            for i, name in enumerate(names)
        }


def _failed_runs(project: Project) -> dict[int, str]:
    with tables.open_file(project.trajectory_file) as h5:
        rows = h5.get_node("/faults/overview/failed_runs").read()
        return {int(row["idx"]): row["exception"].decode() for row in rows}


def test_faults_are_named_and_a_fixed_rerun_equals_an_uninterrupted_run(tmp_path):
    rng = random.Random(SEED)
    faults = _faults(rng)
    expected = {idx: _expected(idx, kind) for idx, kind in faults.items()}
    context = f"(PYPET_SM_FAULT_SEED={SEED}; faults {faults})"
    started = time.monotonic()

    reference = _project(tmp_path / "reference", {})
    reference.snakemake()

    project = _project(tmp_path / "faulty", faults, keep_going=False)
    # every job runs (--keep-going), but keep_going: false merges nothing: the workflow
    # fails and names every failed run on the terminal
    proc = project.snakemake("--keep-going", expect=1)
    assert f"pypet_sm: {len(faults)} run(s) failed" in proc.stderr, project.describe(proc)
    for idx, exception in expected.items():
        assert f"run_{idx:08d}: {exception} " in proc.stderr, (context, project.describe(proc))

    # keep going: the same faults again, merged and named in overview/failed_runs
    project.write_config({**project.config, "keep_going": True})
    proc = project.snakemake("--keep-going")
    assert _failed_runs(project) == expected, context
    with project.load() as traj:
        completed = [traj.f_get_run_information(i)["completed"] for i in range(N_RUNS)]
        assert [i for i, done in enumerate(completed) if not done] == sorted(faults), context

    # fixed: the trajectory equals the uninterrupted run's, run by run
    project.write_module(SIM.format(faults={}))
    project.snakemake()
    assert _runs(project) == _runs(reference), context
    elapsed = time.monotonic() - started
    print(f"fault harness: {len(faults)} faults over {N_RUNS} runs in {elapsed:.1f} s")
