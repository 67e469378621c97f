"""End to end: user mistakes give messages that name the field or the run, without tracebacks;
a failing run keeps every other run's work."""

from __future__ import annotations

import pytest

from .conftest import SIM, multiply_config

TRACEBACK = "Traceback (most recent call last)"

BASE = """
trajectory: {name: bad}
parameters: {x: 1.0, n: 2}
job: sim:multiply
"""


@pytest.mark.parametrize(
    "config, expected",
    [
        pytest.param(
            "trajectory: {comment: no name}\njob: sim:multiply\n",
            ["name", "trajectory"],
            id="missing-trajectory-name",
        ),
        pytest.param(
            "job: sim:multiply\n",
            ["trajectory"],
            id="missing-trajectory",
        ),
        pytest.param(
            "trajectory: {name: bad name}\njob: sim:multiply\n",
            ["name", "bad name"],
            id="bad-trajectory-name",
        ),
        pytest.param(
            BASE + "exploration: {zip: {x: [1.0, a]}}\n",
            ["exploration", "parameters.x", "'a'"],
            id="explored-str-for-float",
        ),
        pytest.param(
            BASE + "exploration: {product: {n: [1, 2.5]}}\n",
            ["exploration", "parameters.n", "2.5"],
            id="explored-float-for-int",
        ),
        pytest.param(
            BASE + "exploration: {zip: {x: [1.0, 2.0], n: [1]}}\n",
            ["exploration.zip", "equal lengths"],
            id="unequal-zip-lengths",
        ),
        pytest.param(
            BASE + "exploration: {product: {x: {linspace: [0, 1]}}}\n",
            ["exploration.product[0].x.linspace"],
            id="bad-linspace",
        ),
        pytest.param(
            BASE + "exploration: {product: {y: [1, 2]}}\n",
            ["exploration", "'y'"],
            id="explored-unknown-parameter",
        ),
        pytest.param(
            "trajectory: {name: bad}\nparameters: {c: {value: abc, type: complex}}\n"
            "job: sim:multiply\n",
            ["parameters.c.value"],
            id="bad-complex",
        ),
        pytest.param(
            "trajectory: {name: bad}\nparameters: {q: {value: 1, type: quaternion}}\n"
            "job: sim:multiply\n",
            ["parameters.q", "quaternion"],
            id="unknown-type",
        ),
        pytest.param(BASE + "storage: {complib: foo}\n", ["storage.complib", "foo"], id="complib"),
        pytest.param(BASE + "storage: {complevel: 12}\n", ["complevel", "12"], id="complevel"),
        pytest.param(BASE + "storage: {compression: 1}\n", ["compression"], id="unknown-storage"),
        pytest.param(
            BASE + "storage: {purge_duplicate_comments: maybe}\n",
            ["purge_duplicate_comments", "maybe"],
            id="storage-type",
        ),
        pytest.param(BASE + "runs_per_job: 0\n", ["runs_per_job"], id="runs-per-job"),
        pytest.param(
            BASE.replace("sim:multiply", "nomodule:func"),
            ["job", "nomodule"],
            id="job-module-missing",
        ),
        pytest.param(
            BASE.replace("sim:multiply", "sim:nofunction"),
            ["job", "nofunction"],
            id="job-function-missing",
        ),
        pytest.param(
            BASE + "build: nomodule:build\n",
            ["build", "nomodule"],
            id="build-module-missing",
        ),
    ],
)
def test_config_errors_name_the_field(project, config, expected):
    project.write_module(SIM)
    project.write_config(config)
    proc = project.dry_run(expect=1)
    # Snakemake 9 prints errors raised while parsing the workflow on stdout
    shown = proc.stdout + proc.stderr
    for text in expected:
        assert text in shown, f"{text!r} not in the error:\n{project.describe(proc)}"
    assert TRACEBACK not in proc.stderr + proc.stdout, project.describe(proc)
    assert not project.calls()


FAILING = """
import os
import time

BROKEN = True


def multiply(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj.v_idx, os.getpid(), traj.x, traj.y)) + "\\n")
    if BROKEN and traj.v_idx == 2:
        raise ValueError(f"boom in run {traj.v_idx}")
    traj.f_add_result("z", traj.x * traj.y)
"""


def test_a_failing_run_keeps_the_other_runs(project):
    project.write_module(FAILING)
    project.write_config(
        multiply_config(
            name="failing",
            exploration={"zip": {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1, 1, 1, 1, 1]}},
            runs_per_job=2,
        )
    )
    proc = project.snakemake(expect=1)
    assert not project.trajectory_file.exists()
    # run 3 shares the failing run's job; it and every other run that ran is done and kept
    # (the workflow stops at the failed job, so other jobs may not have started)
    done = set(project.fragments_by_idx())
    assert {3} <= done <= {0, 1, 3, 4}, project.describe(proc)
    assert sorted(call[0] for call in project.calls()) == sorted([2, *done])
    n_calls = len(project.calls())
    logs = project.logs()
    assert "run_00000002" in logs, project.describe(proc)
    assert "boom in run 2" in logs, project.describe(proc)
    (log_dir,) = project.environment_log_dirs()
    errors = (log_dir / "warnings_and_errors.txt").read_text()
    assert "run_00000002" in errors and "ValueError: boom in run 2" in errors
    # the job's own log names the failed run too
    job_log = (project.path / "logs" / "failing" / "jobs" / "job_000001.log").read_text()
    assert "run_00000002" in job_log

    # fix the function: the rerun computes only the failed run
    project.write_module(FAILING.replace("BROKEN = True", "BROKEN = False"))
    project.snakemake()
    assert sorted(call[0] for call in project.calls()[n_calls:]) == sorted(set(range(5)) - done)
    with project.load() as traj:
        assert traj.f_get_from_runs("z", use_indices=True) == {
            0: 1.0,
            1: 2.0,
            2: 3.0,
            3: 4.0,
            4: 5.0,
        }


DUPLICATE = """
def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y)
    traj.f_add_result("other", 1)
    traj.f_add_result("z", 0.0)
"""


def test_a_result_added_twice_names_both_places(project):
    project.write_module(DUPLICATE)
    project.write_config(
        multiply_config(name="twice", exploration={"zip": {"x": [1.0], "y": [2]}}, runs_per_job=1)
    )
    proc = project.snakemake(expect=1)
    lines = DUPLICATE.splitlines()
    first = lines.index('    traj.f_add_result("z", traj.x * traj.y)') + 1
    again = lines.index('    traj.f_add_result("z", 0.0)') + 1
    logs = project.logs()
    assert "run_00000000" in logs and "'z'" in logs, project.describe(proc)
    assert f"sim.py:{first}" in logs, project.describe(proc)
    assert f"sim.py:{again}" in logs, project.describe(proc)
    assert not project.fragments_by_idx()


def test_job_that_cannot_be_imported_fails_at_run_time_with_the_field(project):
    project.write_module(SIM)
    project.write_config(
        multiply_config(name="noimport", job="sim:no_such_function", runs_per_job=6)
    )
    proc = project.snakemake(expect=None)
    if proc.returncode != 0 and "no_such_function" in proc.stdout + proc.stderr:
        return  # rejected when planning, which is better still
    assert proc.returncode != 0, project.describe(proc)
    logs = project.logs()
    assert "config field 'job'" in logs and "no_such_function" in logs, project.describe(proc)
    assert TRACEBACK not in logs, project.describe(proc)
