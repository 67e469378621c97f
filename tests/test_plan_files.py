"""Plan, job plan and settings files are read only from the project's state folder: the
commands the rules run name them by digest, and a path (or a state folder that is not the
plan's own) is refused with one line, before anything is unpickled."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import multiply_config


class _Evil:
    """Unpickling it creates a file: the proof that a pickle was loaded."""

    def __init__(self, proof: Path) -> None:
        self.proof = proof

    def __reduce__(self):
        return (Path.touch, (self.proof,))


def _command(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pypet_sm", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> tuple[Path, Path]:
    """(the project, a foreign pickle outside its state folder) after one snakemake."""
    from .conftest import Project

    directory = tmp_path_factory.mktemp("plans") / "project"
    directory.mkdir()
    project = Project(directory)
    project.write_module("def work(traj):\n    traj.f_add_result('z', traj.x * 2)\n")
    project.write_config(multiply_config("plans", job="sim:work", runs_per_job=2))
    project.snakemake()
    evil = directory.parent / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Evil(directory.parent / "unpickled")))
    return project, evil


def _one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pypet_sm: "), proc.stderr
    return lines[0]


def test_a_plan_outside_the_state_folder_is_refused(planned):
    project, evil = planned
    state = str(project.state.relative_to(project.path))
    (settings,) = (project.state / "plans").glob("settings-*.pkl")
    settings_digest = settings.stem.split("-", 1)[1]
    (plan,) = (project.state / "plans").glob("plan-*.pkl")
    plan_digest = plan.stem.split("-", 1)[1]
    manifest = f"{state}/manifests/job_000000.json"
    cases = {
        "run-job plan path": [
            "run-job", "--state", state, "--plan", str(evil),
            "--settings", settings_digest, "--manifest", manifest,
        ],
        "run-job settings path": [
            "run-job", "--state", state, "--plan", plan_digest,
            "--settings", str(evil), "--manifest", manifest,
        ],
        "run-job relative path": [
            "run-job", "--state", state, "--plan", "../../../evil",
            "--settings", settings_digest, "--manifest", manifest,
        ],
        "merge plan path": [
            "merge", "--state", state, "--plan", str(evil), "--output", "hdf5/x.hdf5",
        ],
        "report plan path": [
            "report", "--state", state, "--plan", str(evil), "--trajectory", "x.hdf5",
            "--summary", "s.html", "--plots", "plots",
        ],
    }  # fmt: skip
    for case, args in cases.items():
        line = _one_line(_command(project.path, *args))
        assert "read only from the project's state folder" in line, (case, line)
        assert "digest" in line, (case, line)
    assert not (evil.parent / "unpickled").exists(), "a pickle from outside was loaded"


def test_a_state_folder_not_the_plans_own_is_refused(planned):
    project, evil = planned
    (plan,) = (project.state / "plans").glob("plan-*.pkl")
    digest = plan.stem.split("-", 1)[1]
    # another folder holding a copy of the plan: not the state folder of the plan's settings
    other = project.path.parent / "other_state"
    (other / "plans").mkdir(parents=True, exist_ok=True)
    (other / "plans" / plan.name).write_bytes(plan.read_bytes())
    line = _one_line(
        _command(project.path, "merge", "--state", str(other), "--plan", digest, "--output", "x")
    )
    assert f"--state {other} is not the state folder of the plan" in line, line


def test_the_rules_name_plans_by_digest(planned):
    """The rules' commands name the state folder and digests, no plan file path."""
    project, _ = planned
    proc = project.dry_run("--forceall", "-p")
    output = proc.stdout + proc.stderr
    commands = [line for line in output.splitlines() if "python -m pypet_sm " in line]
    assert any(" run-job --state .pypet_sm/plans --plan " in c for c in commands), output
    assert any(" merge --state .pypet_sm/plans --plan " in c for c in commands), output
    assert not any(".pkl" in c for c in commands), commands
