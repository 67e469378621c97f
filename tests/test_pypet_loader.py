"""The differential loader suite: every snippet of tests/pypet/snippets.py (pypet-style
analysis calls) runs under pypet 0.7 and under `pypet_sm.Trajectory(filename=...).f_load`, on
(a) our merged file and (b) pypet's own file of the same exploration (tests/pypet/
loader_job.py: 1,001 runs in run sets, pypet's written with its `$set.$.name` wildcards).
The outputs are compared as data; each difference is fixed or explained in `compare.KNOWN`.

pypet writes its file in a subprocess while our workflow writes ours; one pypet process runs
all snippets on both files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import warnings

import pytest

import pypet_sm

from . import pypet as pypet_runner
from .conftest import Project
from .pypet import HERE, assert_explained

sys.path.insert(0, str(HERE))
import snippets  # noqa: E402  (tests/pypet/snippets.py, shared with pypet's Python)

NAME = "sweep"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{label: trajectory file} for both writers (built once for the module)."""
    python = pypet_runner.pypet_python_or_skip()
    base = tmp_path_factory.mktemp("loader")
    theirs = base / "pypet" / f"{NAME}.hdf5"
    theirs.parent.mkdir()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"filename": str(theirs), "name": NAME}, spec)
    writer = subprocess.Popen(
        [str(python), str(HERE / "write_pypet_sweep.py"), spec.name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (base / "ours").mkdir()
        project = Project(base / "ours")
        shutil.copy(HERE / "loader_job.py", project.path / "loader_job.py")
        project.write_config(
            {
                "trajectory": {"name": NAME, "comment": "loader"},
                "build": "loader_job:build",
                "job": "loader_job:job",
                "runs_per_job": 1001,
                "storage": {"run_sets_above": 1000},
            }
        )
        project.snakemake()
    finally:
        out, err = writer.communicate(timeout=pypet_runner.SCRIPT_TIMEOUT)
    assert writer.returncode == 0, f"pypet's writer failed:\n{out}\n{err[-5000:]}"
    return {"ours": str(project.trajectory_file), "pypet": str(theirs)}


@pytest.fixture(scope="module")
def outputs(files):
    """(pypet's outputs, ours): {label: {snippet: description}}."""
    theirs = pypet_runner.run_script("run_snippets.py", {"files": files})
    ours = {}
    for label, filename in files.items():
        traj = snippets.open_trajectory(pypet_sm, filename)
        ours[label] = snippets.run_all(traj)
        traj.f_close()
    return theirs, ours


def test_the_library_covers_the_calls():
    assert len(snippets.SNIPPETS) >= 80


@pytest.mark.parametrize("label", snippets.FILES)
def test_snippets_answer_as_pypet(outputs, label):
    theirs, ours = outputs
    differences = [
        f"loader {label} {name}: pypet {json.dumps(expected)[:200]} | ours "
        f"{json.dumps(ours[label].get(name))[:200]}"
        for name, expected in theirs[label].items()
        if not snippets.same(expected, ours[label].get(name))
    ]
    assert_explained(differences)


def test_a_trajectory_used_without_with_closes_its_file(files):
    """No UnclosedFileWarning: the file is closed when the trajectory goes away."""
    script = (
        "import warnings, pypet_sm\n"
        "warnings.simplefilter('error')\n"
        f"traj = pypet_sm.load_trajectory({files['ours']!r})\n"
        "traj.tau\n"
        f"other = pypet_sm.Trajectory(filename={files['pypet']!r})\n"
        "other.f_load(index=-1)\n"
        "other.x\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_close_closes_once(files):
    traj = pypet_sm.load_trajectory(files["ours"])
    traj.close()
    traj.f_close()  # a second close is harmless
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pypet_sm.load_trajectory(files["ours"]) as again:
            assert again.tau == 5.0
