"""`pypet-sm init DIR`: a new project outside the repository that runs the installed rules.

End to end with the real `pypet-sm` and `snakemake` commands: once with this checkout's
(editable) install, once with pypet_sm built as a wheel and installed into a folder of its
own, as a user's `pip install pypet_sm` would, so the workflow really ships as package data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pypet_sm
from pypet_sm import project

from .conftest import REPO, SNAKEMAKE_TIMEOUT

BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, expect: int = 0):
    environment = dict(os.environ if env is None else env)
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SNAKEMAKE_TIMEOUT,
    )
    assert proc.returncode == expect, (
        f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def check_new_project(directory: Path, env: dict[str, str] | None = None) -> None:
    """The made project runs, gives the right trajectory, resumes with nothing to do."""
    # the rules are not copied into the project
    assert not list(directory.rglob("*.smk"))
    assert not (directory / "workflow").exists()
    first = run(["snakemake", "--cores", "2"], directory, env)
    assert "Using workflow specific profile profiles/default" in first.stderr + first.stdout

    traj = pypet_sm.load_trajectory(directory / "hdf5" / f"{directory.name}.hdf5")
    try:
        assert len(traj) == 15
        explored = traj.f_get_explored_parameters()
        xs = np.array(explored["parameters.model.x"].f_get_range())
        ys = np.array(explored["parameters.model.y"].f_get_range())
        zs = np.array(list(traj.f_get_from_runs("z").values()))
    finally:
        traj.f_close()
    assert sorted(set(xs.tolist())) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert sorted(set(ys.tolist())) == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(zs, xs * ys)

    status = run(["pypet-sm", "status"], directory, env)
    assert status.stdout.startswith(f"{directory.name}: 15 done, 0 failed, 0 missing of 15 runs")
    again = run(["snakemake", "--cores", "2"], directory, env)
    assert "Nothing to be done" in again.stdout + again.stderr


RUNS_CSV_RULE = """

rule runs_csv:
    input:
        PYPET_SM_OUTPUTS,
    output:
        "runs.csv",
    log:
        "logs/runs_csv.log",
    shell:
        "pypet-sm table hdf5/my_sweep.hdf5 --csv {output} > {log} 2>&1"
"""


def test_init_makes_a_project_that_runs(tmp_path):
    directory = tmp_path / "my_sweep"
    made = run(["pypet-sm", "init", str(directory)], tmp_path)
    assert made.stdout.splitlines()[0] == f"new pypet_sm project in {directory}:"
    assert f"workflow: {project.snakefile()}" in made.stdout
    assert sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")) == [
        ".gitignore",
        "Snakefile",
        "config.yaml",
        "profiles",
        "profiles/default",
        "profiles/default/config.yaml",
        "profiles/slurm",
        "profiles/slurm/config.yaml",
        "sim.py",
    ]
    assert "include: pypet_sm.project.snakefile()" in (directory / "Snakefile").read_text()
    assert "name: my_sweep" in (directory / "config.yaml").read_text()
    for profile in ("default", "slurm"):
        text = (directory / "profiles" / profile / "config.yaml").read_text()
        shipped = (project.workflow_dir() / "profiles" / profile / "config.yaml").read_text()
        assert text.endswith(shipped) and "workflow/profiles" not in shipped
    # lint-clean as made, as the repository's own workflow
    lint = run(["snakemake", "--lint"], directory)
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr
    check_new_project(directory)
    # the project's own rules go below the included workflow and use its outputs
    with (directory / "Snakefile").open("a") as snakefile:
        snakefile.write(RUNS_CSV_RULE)
    run(["snakemake", "--cores", "1", "runs.csv"], directory)
    rows = (directory / "runs.csv").read_text().splitlines()
    assert len(rows) == 16 and "model.x" in rows[0] and "z" in rows[0].split(",")


def test_init_overwrites_nothing(tmp_path):
    directory = tmp_path / "existing"
    directory.mkdir()
    (directory / "config.yaml").write_text("mine")
    proc = run(["pypet-sm", "init", str(directory)], tmp_path, expect=2)
    assert proc.stderr.strip() == (
        f"pypet-sm: {directory} already has config.yaml; pypet-sm init writes a new project "
        "and overwrites nothing (nothing was written)"
    )
    assert sorted(p.name for p in directory.iterdir()) == ["config.yaml"]
    assert (directory / "config.yaml").read_text() == "mine"


def test_init_names_the_trajectory(tmp_path):
    assert project.trajectory_name(tmp_path / "2024 runs-v2") == "sweep_2024_runs_v2"
    assert project.trajectory_name(tmp_path / "Neuron sweep") == "Neuron_sweep"
    bad = run(["pypet-sm", "init", str(tmp_path / "p"), "--name", "my-sweep"], tmp_path, expect=2)
    assert "--name: expected letters, digits and _" in bad.stderr
    assert "'my-sweep'" in bad.stderr
    assert not (tmp_path / "p").exists()
    run(["pypet-sm", "init", str(tmp_path / "q"), "--name", "custom"], tmp_path)
    assert "name: custom\n" in (tmp_path / "q" / "config.yaml").read_text()


def test_init_project_runs_the_installed_wheel(tmp_path):
    """pypet_sm as a wheel in a folder of its own: the project includes ITS workflow."""
    source = tmp_path / "source"
    source.mkdir()
    for item in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / item, source / item)
    for item in ("pypet_sm", "workflow"):
        shutil.copytree(REPO / item, source / item, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], tmp_path)
    (wheel,) = wheels.glob("pypet_sm-*.whl")
    site = tmp_path / "site"
    run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], tmp_path)
    installed = site / "pypet_sm" / "workflow"

    def files(folder: Path) -> set[str]:
        return {
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }

    # every file of the workflow ships, and nothing else
    assert files(installed) == files(REPO / "workflow")

    # PYTHONPATH's pypet_sm comes before the editable install of this checkout
    env = dict(os.environ, PYTHONPATH=str(site))
    directory = tmp_path / "elsewhere"
    made = run(["pypet-sm", "init", str(directory)], tmp_path, env)
    assert f"workflow: {installed / 'Snakefile'}" in made.stdout
    where = run(
        [sys.executable, "-c", "import pypet_sm.project as p; print(p.snakefile())"],
        directory,
        env,
    )
    assert where.stdout.strip() == str(installed / "Snakefile")
    check_new_project(directory, env)


def test_workflow_dir_missing_is_a_clear_error(tmp_path, monkeypatch):
    package = tmp_path / "pypet_sm"
    package.mkdir()
    monkeypatch.setattr(project, "__file__", str(package / "project.py"))
    with pytest.raises(pypet_sm.PypetSmError, match="pypet_sm's workflow is missing"):
        project.workflow_dir()
