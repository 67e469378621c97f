"""pypet_sm.Environment's runs: a script killed with SIGKILL resumes without computing its
finished runs again; what cannot reach a run job is refused before anything runs; the same
script through the SLURM profile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import REPO
from .test_environment import _ours_environment, place, run_script
from .test_slurm import _slurm_problem

RESULT = "result [(0, 6.0), (1, 7.0), (2, 12.0), (3, 14.0), (4, 18.0), (5, 21.0)]"


def _calls(folder) -> list[str]:
    path = folder / "calls.txt"
    return path.read_text().split() if path.exists() else []


def test_killed_script_resumes_without_computing_finished_runs(tmp_path):
    folder = place(tmp_path, "first_steps")
    env = {**_ours_environment(), "DELAY": "0.4"}
    process = subprocess.Popen(
        [sys.executable, "first_steps.py"], cwd=folder, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 60
    while len(_calls(folder)) < 3 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the script, its snakemake and the run jobs
    process.wait()
    started = _calls(folder)
    assert 3 <= len(started) < 6, started  # killed mid-sweep
    done = run_script(sys.executable, folder, "first_steps", env={**env, "DELAY": "0"})
    assert RESULT in done.stdout
    calls = _calls(folder)
    assert sorted(set(calls)) == [str(idx) for idx in range(6)]
    # only the runs in flight at the kill (at most the 2 cores) are computed a second time
    assert len(calls) - 6 <= 2, calls


BAD = """
from pypet_sm import Environment

env = Environment(trajectory="Bad")
env.traj.f_add_parameter("x", 1.0)
env.traj.f_explore({"x": [1.0, 2.0]})
CALL
"""


def test_what_cannot_reach_a_run_job_is_refused_before_anything_runs(tmp_path):
    cases = {
        "lambda": ("env.run(lambda traj: traj.x)", "not defined at the top level"),
        "file": (
            "def job(traj, handle):\n    pass\nenv.run(job, open(__file__))",
            "args[0] (TextIOWrapper",
        ),
        "unknown": ("Environment(trajectory='t', use_threads=True)", "'use_threads'"),
    }
    for case, (call, message) in cases.items():
        folder = tmp_path / case
        folder.mkdir()
        (folder / "bad.py").write_text(BAD.replace("CALL", call))
        done = run_script(sys.executable, folder, "bad", expect=1)
        last = done.stderr.strip().splitlines()[-1]
        assert message in last, (case, done.stderr[-2000:])
        assert not (folder / ".pypet_sm").exists(), case  # nothing planned, nothing ran


def test_the_same_script_through_the_slurm_profile(tmp_path):
    problem = _slurm_problem()
    if problem:
        import pytest

        pytest.skip(problem)
    folder = place(tmp_path, "first_steps")
    env = {
        **_ours_environment(),
        "PYPET_SM_PROFILE": str(REPO / "workflow" / "profiles" / "slurm"),
        "PYPET_SM_SNAKEMAKE_ARGS": "--slurm-status-command squeue "
        "--slurm-init-seconds-before-status-checks 2 --config runs_per_job=3",
    }
    done = run_script(sys.executable, folder, "first_steps", env=env)
    assert RESULT in done.stdout
    assert "Submitted" in done.stderr and "slurm" in done.stderr.lower()
    assert sorted(_calls(folder)) == [str(idx) for idx in range(6)]


def test_init_from_script_writes_a_project_plain_snakemake_runs(tmp_path):
    """`pypet-sm init --from script.py` computes nothing; plain `snakemake` then runs the
    script's trajectory, and the script afterwards finds every run done."""
    folder = place(tmp_path, "first_steps")
    pypet_sm_cli = [str(Path(sys.executable).parent / "pypet-sm")]
    env = _ours_environment()
    subprocess.run([*pypet_sm_cli, "init", "--from", "first_steps.py"], cwd=folder, env=env,
                   check=True)  # fmt: skip
    assert (folder / "config.yaml").is_file() and (folder / "Snakefile").is_file()
    assert not _calls(folder)
    subprocess.run(["snakemake", "--cores", "2", "-q"], cwd=folder, env=env, check=True)
    assert sorted(_calls(folder)) == [str(idx) for idx in range(6)]
    assert RESULT in run_script(sys.executable, folder, "first_steps").stdout
    assert len(_calls(folder)) == 6  # the script computed nothing again
    again = subprocess.run([*pypet_sm_cli, "init", "--from", "first_steps.py"], cwd=folder,
                           env=env, capture_output=True, text=True)  # fmt: skip
    assert again.returncode == 1 and "overwrites nothing" in again.stderr


def test_objects_of_the_scripts_classes_come_back_as_those_classes(tmp_path):
    """Pickled in the run jobs as `script_objects.Spike`, unpickled by the merge (which
    imports the script, stopping at env.run) and in the script as its own class."""
    folder = place(tmp_path, "script_objects")
    printed = run_script(sys.executable, folder, "script_objects").stdout.splitlines()
    assert printed == ["[(0, Spike(2)), (1, Spike(4))] True", "Spike(2) True"]
