"""pypet 0.7's analysis API on a loaded trajectory, without pypet itself (the differential
suite tests/test_pypet_loader.py compares call by call with pypet): the cases of issue 16."""

from __future__ import annotations

import builtins
from collections import OrderedDict

import numpy as np
import pytest

import pypet_sm
from pypet_sm import NotOfferedError, NotUniqueNodeError, PypetSmError
from pypet_sm.define.naming import Leaf

from .conftest import compute_in_process, write_unique_module

JOB = """
import numpy as np


def run(traj):
    traj.f_add_result("z", traj.x * 10, comment="x * 10")
    traj.f_add_result("evolution", data=np.arange(3.0) * traj.x)
    traj.f_add_result("stats", mean=traj.x / 2, n=traj.v_idx)
    traj.f_add_derived_parameter("dz", traj.v_idx)
"""


@pytest.fixture(scope="module")
def trajectory_file(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("pypet_api")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        module = write_unique_module(tmp_path, JOB)
        compute_in_process(
            {
                "trajectory": {"name": "api"},
                "parameters": {"x": 0.5},
                "exploration": {"zip": {"x": [1.0, 2.0, 3.0]}},
                "job": f"{module}:run",
            }
        )
    return tmp_path / "hdf5" / "api.hdf5"


@pytest.fixture
def traj(trajectory_file):
    with pypet_sm.load_trajectory(trajectory_file) as loaded:
        yield loaded


def test_v_idx_makes_a_run_current(traj):
    traj.v_idx = 2
    assert (traj.v_idx, traj.v_crun, traj.x) == (2, "run_00000002", 3.0)
    assert traj.res.crun.z == 30.0 and traj.res.runs.crun.z == 30.0
    traj.v_idx = -1
    assert (traj.v_idx, traj.v_crun, traj.x) == (-1, None, 0.5)
    traj.f_set_crun("run_00000001")
    assert traj.x == 2.0
    traj.f_restore_default()
    assert traj.x == 0.5


def test_a_result_is_fast_accessed_only_by_an_entry_named_like_it(traj):
    evolution = traj.res.r_1.evolution
    assert isinstance(evolution, Leaf) and not evolution.f_supports_fast_access()
    assert np.array_equal(evolution.data, [0.0, 2.0, 4.0])
    assert traj.res.r_1.z == 20.0
    stats = traj.res.r_1.stats
    assert ("mean" in stats, "monty" in stats) == (True, False)
    assert stats.f_to_dict() == {"mean": 1.0, "n": 1}
    assert stats.f_get("mean", "n") == [1.0, 1]
    with pytest.raises(ValueError):
        stats.f_get()


def test_short_names_do_not_depend_on_what_was_read(traj):
    for read in (None, "run_00000001", "run_00000002"):
        if read:
            assert traj.results.f_get(read).z > 0
        with pytest.raises(NotUniqueNodeError) as error:
            _ = traj.z
        assert isinstance(error.value, AttributeError) and isinstance(error.value, PypetSmError)
    assert traj.res.runs.r_2.z == 30.0  # (rts_N: run sets, in files of more runs)
    with pytest.raises(NotUniqueNodeError):  # results and derived parameters hold the run
        _ = traj.run_00000001


def test_pypets_way_in_and_f_get_from_runs(trajectory_file):
    traj = pypet_sm.Trajectory(filename=trajectory_file)
    traj.f_load(index=-1, load_parameters=2, load_results=1, force=True)
    items = traj.f_get_from_runs("z")
    assert isinstance(items, OrderedDict) and all(isinstance(v, Leaf) for v in items.values())
    assert traj.f_get_from_runs("z", fast_access=True, use_indices=True) == {
        0: 10.0,
        1: 20.0,
        2: 30.0,
    }
    assert traj.f_get_from_runs("nothing") == {}
    with pytest.raises(NotUniqueNodeError):  # pypet's traj.crun: a node named like the run
        traj.v_idx = 0
        _ = traj.crun
    traj.f_close()


def test_load_trajectorys_f_get_from_runs_fast_access_false_gives_items(traj):
    assert all(isinstance(v, Leaf) for v in traj.f_get_from_runs("z", fast_access=False).values())
    assert list(traj.f_get_from_runs("z").values()) == [10.0, 20.0, 30.0]


def test_a_pypet_call_we_lack_says_so(traj):
    with pytest.raises(NotOfferedError, match=r"Trajectory\.f_merge is pypet API"):
        _ = traj.f_merge
    with pytest.raises(NotOfferedError, match="f_store"):
        traj.f_store()
    for name in ("NotUniqueNodeError", "DataNotInStorageError", "VersionMismatchError"):
        cls = getattr(pypet_sm, name)
        assert issubclass(cls, PypetSmError)
    assert issubclass(pypet_sm.DataNotInStorageError, builtins.OSError)
    assert traj.f_is_empty() is False
