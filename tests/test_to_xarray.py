"""traj.to_xarray(): the results over the exploration as labelled arrays, on files the real
plan, run jobs and merge wrote (in process), on pypet 0.7's own file, without xarray."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pypet_sm
from pypet_sm.analysis.load import LoadError

from . import pypet as pypet_runner
from .conftest import compute_in_process, write_unique_module

xr = pytest.importorskip("xarray")

JOB = """
import numpy as np


def job(traj):
    if traj.x == 2.0 and traj.y == 20:
        raise ValueError("this run fails")
    traj.f_add_result("z", traj.x * traj.y, comment="x times y")
    traj.f_add_result("n", int(traj.y) + 1, comment="an int")
    traj.f_add_result("trace", np.arange(3) * traj.x, comment="a trace")
    traj.f_add_result("label", f"y={traj.y}", comment="text")
"""


def _load(tmp_path, monkeypatch, exploration, layout="pypet", name="xr"):
    """The loaded trajectory of JOB over `exploration` (x, y, offset defined)."""
    directory = tmp_path / layout
    directory.mkdir()
    monkeypatch.chdir(directory)
    module = write_unique_module(directory, JOB)
    config = {
        "trajectory": {"name": name, "comment": "labelled"},
        "parameters": {
            "x": {"value": 0.0, "comment": "first factor"},
            "y": {"value": 0, "comment": "second factor"},
            "offset": {"value": 0.0, "comment": "an offset"},
        },
        "exploration": exploration,
        "job": f"{module}:job",
        "runs_per_job": 3,
        "storage": {"layout": layout},
    }
    compute_in_process(config, keep_going=True)
    return pypet_sm.load_trajectory(f"hdf5/{name}.hdf5")


def _check_against_runs(traj, ds):
    """Every variable's cell holds what f_get_from_runs gives for the run of that cell; a
    failed run's cells are NaN."""
    runs = ds["run"].values
    for variable in ("z", "n", "trace", "label"):
        by_run = traj.f_get_from_runs(variable, use_indices=True)
        data = ds[variable].values
        for cell in np.ndindex(runs.shape):
            run = int(runs[cell])
            if run in by_run:
                np.testing.assert_array_equal(data[cell], by_run[run])
            else:
                value = data[cell]
                assert np.all(np.isnan(np.asarray(value, dtype=float))), (variable, cell)
    assert ds["z"].attrs["comment"] == "x times y"
    assert ds.attrs == {"trajectory": traj.v_name, "comment": "labelled"}


@pytest.mark.parametrize("layout", ["pypet", "stacked"])
def test_product_dims_in_exploration_order_with_a_failed_run(tmp_path, monkeypatch, layout):
    exploration = {"product": {"y": [10, 20, 30], "x": [1.0, 2.0]}}
    with _load(tmp_path, monkeypatch, exploration, layout) as traj:
        ds = traj.to_xarray()
        assert list(ds["z"].dims) == ["y", "x"]  # y first: it varies slowest
        assert ds["y"].values.tolist() == [10, 20, 30]
        assert ds["x"].values.tolist() == [1.0, 2.0]
        assert ds["x"].attrs["comment"] == "first factor"
        assert ds["trace"].dims == ("y", "x", "trace_dim_0")
        # the failed run (x=2, y=20) is NaN; the int result became float for it
        assert np.isnan(ds["z"].sel(x=2.0, y=20).item())
        assert ds["n"].dtype == np.float64
        assert ds["label"].sel(x=1.0, y=30).item() == "y=30"
        assert ds["run"].sel(x=2.0, y=20).item() == traj.runs_where(x=2.0, y=20)[0]
        _check_against_runs(traj, ds)
        # over runs on request: each explored parameter a coordinate on `run`
        flat = traj.to_xarray(results=["z"], grid=False)
        assert list(flat["z"].dims) == ["run"]
        assert flat["x"].values.tolist() == traj.f_get("x").f_get_range()
        assert list(flat.data_vars) == ["z"]


def test_zip_is_one_dimension_with_a_coordinate_per_parameter(tmp_path, monkeypatch):
    exploration = {"zip": {"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}}
    with _load(tmp_path, monkeypatch, exploration) as traj:
        ds = traj.to_xarray()
        assert dict(ds.sizes) == {"x+y": 3, "trace_dim_0": 3}
        assert ds["x"].dims == ("x+y",) and ds["y"].dims == ("x+y",)
        assert ds["y"].values.tolist() == [10, 20, 30]
        assert np.isnan(ds["z"].values[1])  # x=2, y=20 failed
        _check_against_runs(traj, ds)


def test_product_of_a_parameter_and_a_zip(tmp_path, monkeypatch):
    exploration = {"product": [{"offset": [0.0, 0.5]}, {"zip": {"x": [1.0, 2.0], "y": [10, 20]}}]}
    with _load(tmp_path, monkeypatch, exploration) as traj:
        ds = traj.to_xarray(results=["z", "n", "trace", "label"])
        assert list(ds["z"].dims) == ["offset", "x+y"]
        assert ds["offset"].values.tolist() == [0.0, 0.5]
        assert ds["x"].values.tolist() == [1.0, 2.0]
        assert np.isnan(ds["z"].values[:, 1]).all()  # x=2, y=20 failed at both offsets
        _check_against_runs(traj, ds)


def test_irregular_exploration_lies_over_runs(tmp_path, monkeypatch):
    # three of the four points of a 2 x 2 grid, one twice: no grid
    exploration = {"zip": {"x": [1.0, 1.0, 2.0, 1.0], "y": [10, 20, 20, 10]}}
    with _load(tmp_path, monkeypatch, exploration) as traj:
        ds = traj.to_xarray()
        assert list(ds["z"].dims) == ["run"]
        assert ds["run"].values.tolist() == list(range(4))
        assert ds["y"].values.tolist() == traj.f_get("y").f_get_range()
        assert ds["y"].attrs == {"comment": "second factor", "full_name": "parameters.y"}
        assert np.isnan(ds["z"].values[2])
        _check_against_runs(traj, ds)


def test_bad_requests_name_the_result(tmp_path, monkeypatch):
    with _load(tmp_path, monkeypatch, {"zip": {"x": [1.0, 2.0], "y": [10, 30]}}) as traj:
        with pytest.raises(LoadError, match="'nope'"):
            traj.to_xarray(results=["nope"])
        with pytest.raises(TypeError, match="list of result names"):
            traj.to_xarray(results="z")


PYPET_SCRIPT = """
import sys
from pypet import Trajectory, cartesian_product

traj = Trajectory("theirs", comment="pypet's", filename=sys.argv[1], add_time=False)
traj.f_add_parameter("x", 0.0, comment="first factor")
traj.f_add_parameter("y", 0, comment="second factor")
traj.f_explore(cartesian_product({"x": [1.0, 2.0], "y": [10, 20, 30]}))
for idx in range(len(traj)):
    traj.f_set_crun(idx)
    if idx != 4:  # run 4 stores nothing, as a failed run
        traj.f_add_result("runs.$.z", traj.x * traj.y, comment="x times y")
traj.f_restore_default()
traj.f_store()
"""


def test_pypets_own_file(tmp_path):
    python = pypet_runner.pypet_python_or_skip()
    filename = tmp_path / "theirs.hdf5"
    script = tmp_path / "write.py"
    script.write_text(PYPET_SCRIPT)
    done = subprocess.run(
        [str(python), str(script), str(filename)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with pypet_sm.load_trajectory(filename) as traj:
        ds = traj.to_xarray()
        z = traj.f_get_from_runs("z", use_indices=True)
        assert list(ds["z"].dims) == ["x", "y"]
        assert ds["y"].values.tolist() == [10, 20, 30]
        expected = [z.get(run, np.nan) for run in range(6)]
        np.testing.assert_array_equal(ds["z"].values.reshape(-1), expected)
        assert ds["z"].attrs["comment"] == "x times y"
        flat = traj.to_xarray(grid=False)
        assert flat["x"].dims == ("run",) and len(flat["run"]) == 6


def test_without_xarray_the_error_names_the_extra(tmp_path, monkeypatch):
    _load(tmp_path, monkeypatch, {"zip": {"x": [1.0], "y": [10]}}).close()
    filename = json.dumps(str(tmp_path / "pypet" / "hdf5" / "xr.hdf5"))
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["xarray"] = None  # importing xarray fails as where it is not installed
        import pypet_sm
        from pypet_sm.analysis.labelled import XarrayNotInstalled
        with pypet_sm.load_trajectory({filename}) as t:
            try:
                t.to_xarray()
            except ImportError as error:
                assert isinstance(error, XarrayNotInstalled)
                print(error)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pip install 'pypet_sm[xarray]'" in done.stdout
