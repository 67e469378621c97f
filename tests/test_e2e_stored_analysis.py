"""What a user stores in the trajectory file after a merge (issue 14, item 1) survives the
next merge: carried over into the new file, or, where that cannot be done safely, the old
file kept beside the new one, said in the merge log and on the terminal."""

from __future__ import annotations

import subprocess
import textwrap

import numpy as np
import pytest
import tables

from . import pypet as pypet_runner
from .conftest import SIM, multiply_config

PYPET_STORE = """
from pypet import Trajectory

traj = Trajectory(filename="hdf5/kept.hdf5")
traj.f_load(name="kept", load_parameters=2, load_derived_parameters=2, load_results=2, force=True)
traj.f_add_result("analysis.mean_z", 35.0, comment="mean of z")
traj.f_add_derived_parameter("post.scale", 2.0)
traj.f_store()
"""

PYPET_LOAD = """
from pypet import Trajectory

traj = Trajectory(filename="hdf5/kept.hdf5")
traj.f_load(name="kept", load_parameters=2, load_derived_parameters=2, load_results=2, force=True)
print("runs", len(traj))
print("mean_z", traj.results.analysis.mean_z)
print("scale", traj.derived_parameters.post.scale)
print("z8", traj.f_get_from_runs("z", fast_access=True)["run_00000008"])
"""


def _pypet(python, project, script: str) -> str:
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(script)],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_what_the_user_stored_survives_extending_and_shrinking(project):
    try:
        pypet_python = pypet_runner.pypet_python_or_skip()
    except pytest.skip.Exception:
        pypet_python = None
    project.write_module(SIM)
    project.write_config(multiply_config(name="kept"))
    project.snakemake()
    path = project.trajectory_file
    if pypet_python is not None:  # pypet's own f_store of a result added in an analysis
        _pypet(pypet_python, project, PYPET_STORE)
    with tables.open_file(path, "a") as h5:
        h5.create_group("/", "analysis")
        h5.create_array("/analysis", "histogram", obj=np.arange(5))
        h5.create_table("/", "notes", {"run": tables.IntCol(), "ok": tables.BoolCol()})
        h5.root._v_attrs.analysed_by = "me"
        h5.create_array("/kept/results", "by_pytables", obj=[1.0, 2.0])
        h5.get_node("/kept/parameters/x")._v_attrs.unit = "mV"

    # extended: x gets a third value, three new runs
    project.write_config(
        multiply_config(
            name="kept", exploration={"product": {"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}}
        )
    )
    proc = project.snakemake()
    shown = proc.stdout + proc.stderr
    assert "carried over into the new hdf5/kept.hdf5" in shown, project.describe(proc)
    assert "/analysis" in (project.path / f"logs/{project.name}/merge.log").read_text()
    assert not list(path.parent.glob("kept.hdf5.bak-*")), "everything could be carried"
    with tables.open_file(path) as h5:
        assert h5.get_node("/analysis/histogram").read().tolist() == [0, 1, 2, 3, 4]
        assert "/notes" in h5
        assert h5.root._v_attrs.analysed_by == "me"
        assert list(h5.get_node("/kept/results/by_pytables").read()) == [1.0, 2.0]
        assert h5.get_node("/kept/parameters/x")._v_attrs.unit == "mV"
        assert h5.get_node("/kept/overview/runs").nrows == 9
    with project.load() as traj:  # our loader: the user's group beside it is no trajectory
        assert len(traj) == 9
        assert traj.f_get_from_runs("z", use_indices=True)[8] == 90.0
        if pypet_python is not None:
            assert traj.results.analysis.mean_z == 35.0
    if pypet_python is not None:
        out = _pypet(pypet_python, project, PYPET_LOAD)
        assert "runs 9" in out and "mean_z 35.0" in out and "scale 2.0" in out, out
        assert "z8 90.0" in out, out

    # a node inside a single run cannot be carried (the run may be another point now): the
    # exploration shrinks, the old file is kept beside the new one and the terminal says so
    with tables.open_file(path, "a") as h5:
        h5.create_array("/kept/results/runs/run_00000001", "checked", obj=[1])
    project.write_config(
        multiply_config(name="kept", exploration={"product": {"x": [1.0], "y": [10, 20, 30]}})
    )
    proc = project.snakemake()
    shown = proc.stdout + proc.stderr
    backups = list(path.parent.glob("kept.hdf5.bak-*"))
    assert len(backups) == 1, project.describe(proc)
    assert f"kept the previous trajectory file as {backups[0].relative_to(project.path)}" in shown
    assert "/kept/results/runs/run_00000001/checked: inside a single run" in shown
    with tables.open_file(backups[0]) as h5:  # the old file as it was
        assert "/kept/results/runs/run_00000001/checked" in h5
        assert h5.get_node("/kept/overview/runs").nrows == 9
    with tables.open_file(path) as h5:
        assert h5.get_node("/kept/overview/runs").nrows == 3
        assert "/kept/results/runs/run_00000005" not in h5, "removed runs stay removed"
        assert "/kept/results/runs/run_00000001/checked" not in h5
        assert "/analysis/histogram" in h5 and "/notes" in h5
    with project.load() as traj:
        assert sorted(traj.f_get_from_runs("z").values()) == [10.0, 20.0, 30.0]


def test_a_carry_over_that_fails_keeps_the_old_file_beside(tmp_path, monkeypatch, caplog):
    """Whatever goes wrong while copying the user's nodes, the old file is kept, not lost."""
    import logging

    from pypet_sm.hdf5 import carry

    from .conftest import compute_in_process, write_unique_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = write_unique_module(tmp_path, "def job(traj):\n    traj.f_add_result('z', traj.x)\n")
    config = multiply_config(name="odd", job=f"{module}:job")
    compute_in_process(config)
    path = tmp_path / "hdf5" / "odd.hdf5"
    with tables.open_file(path, "a") as h5:
        h5.create_array("/", "mine", obj=[1])

    def broken(*args, **kwargs):
        raise RuntimeError("something odd\nin the file")

    monkeypatch.setattr(carry, "carry_over", broken)
    config["exploration"] = {"product": {"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}}
    with caplog.at_level(logging.INFO, logger="pypet_sm.notice"):
        compute_in_process(config)
    [backup] = path.parent.glob("odd.hdf5.bak-*")
    with tables.open_file(backup) as h5:
        assert "/mine" in h5
    assert "could not be copied into the new" in caplog.text and "in the file" in caplog.text
