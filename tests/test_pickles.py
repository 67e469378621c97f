"""Loading a trajectory file runs no code from it (issue 14, item 12): what the file holds as
pickles (PickleResult, PickleParameter, object arrays, pickled attributes) is unpickled only
when asked for and only with `load_trajectory(..., allow_pickle=True)`; `pypet-sm show` and
`table` never unpickle."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import tables

import pypet_sm
from pypet_sm.analysis.load import LoadError
from pypet_sm.cli import show as cli

from .conftest import compute_in_process, multiply_config, write_unique_module

# Unpickling a Canary writes a line to unpickled.txt in the working directory: the stand-in
# for a pickle that runs anything at all.
CANARY = """
import pypet_sm


class Canary:
    def __init__(self, n):
        self.n = n

    def __setstate__(self, state):
        with open("unpickled.txt", "a") as handle:
            handle.write(f"{state['n']}\\n")
        self.__dict__.update(state)


def build(traj):
    traj.f_add_parameter(pypet_sm.PickleParameter, "obj", Canary(0), comment="an object")
    traj.f_explore({"obj": [Canary(1), Canary(2)], "x": [1.0, 2.0]})


def job(traj):
    traj.f_add_result(pypet_sm.PickleResult, "canary", Canary(10 + traj.v_idx))
    traj.f_add_result("plain", traj.x * 2, comment="not a pickle")
"""


@pytest.fixture
def pickled_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = write_unique_module(tmp_path, CANARY)
    config = multiply_config(name="pickled", build=f"{module}:build", job=f"{module}:job")
    config["parameters"] = {"x": {"value": 0.0}}
    config.pop("exploration")
    compute_in_process(config)
    path = tmp_path / "hdf5" / "pickled.hdf5"
    with tables.open_file(path, "a") as h5:
        # an object array as pypet's storage may leave it (PyTables pickles its rows), and a
        # pickled attribute (PyTables unpickles those whenever they are read)
        group = h5.get_node("/pickled/results/runs/run_00000000")
        leaf = h5.create_group(group, "objects")
        leaf._v_attrs.SRVC_LEAF = True
        leaf._v_attrs.SRVC_INIT_CLASS_NAME = "Result"
        rows = h5.create_vlarray(leaf, "objects", tables.ObjectAtom())
        rows.append(Canary(20))
        rows._v_attrs.SRVC_STORE = "VLARRAY"
        plain = h5.get_node("/pickled/results/runs/run_00000001/plain")
        plain._v_attrs.SRVC_INIT_COMMENT = Canary(30)
    Path("unpickled.txt").unlink(missing_ok=True)  # the merge's own (trusted) reads
    return path


class Canary:  # the same name as the module's, for the hand-made nodes above
    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self):
        return (_record, (self.n,))


def _record(n: int) -> None:
    with open("unpickled.txt", "a") as handle:
        handle.write(f"{n}\n")


def _unpickled() -> list[str]:
    path = Path("unpickled.txt")
    return path.read_text().split() if path.exists() else []


def test_loading_unpickles_nothing_by_default(pickled_file):
    with pypet_sm.load_trajectory(pickled_file) as traj:
        assert traj.f_get_from_runs("plain") == {"run_00000000": 2.0, "run_00000001": 4.0}
        for run in traj.f_iter_runs():  # an explored pickled parameter follows the runs
            assert traj.x in (1.0, 2.0), run
        table = traj.runs_table()
        assert list(table["x"]) == [1.0, 2.0] and "canary" not in table
        assert repr(table["obj"][0]).startswith("<pickle, ")
        assert traj.results.runs.run_00000001.f_get("plain").v_comment is not None
        with pytest.raises(LoadError, match=r"^parameters\.obj is a PickleParameter .*"):
            _ = traj.par.obj
        with pytest.raises(LoadError, match="allow_pickle=True"):
            traj.f_get_from_runs("canary")
        with pytest.raises(LoadError, match="run_00000000.objects is a Result"):
            _ = traj.results.runs.run_00000000.objects
        with pytest.raises(LoadError, match="allow_pickle=True"):
            traj.f_get("obj").f_get_range()
    assert _unpickled() == [], "loading ran code from the file"


def test_the_cli_never_unpickles(pickled_file):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.show(pickled_file)
        cli.table(pickled_file, None)
    text = out.getvalue()
    assert "canary: PickleResult {canary: pickle of " in text, text
    assert "obj = <pickle, " in text, text
    assert _unpickled() == [], "show/table ran code from the file"


def test_allow_pickle_unpickles_on_access_only(pickled_file):
    with pypet_sm.load_trajectory(pickled_file, allow_pickle=True) as traj:
        assert _unpickled() == [], "nothing is unpickled before it is asked for"
        canaries = traj.f_get_from_runs("canary")
        assert [c.n for c in canaries.values()] == [10, 11]
        assert [c.n for c in traj.f_get("obj").f_get_range()] == [1, 2]
        assert traj.par.obj.n == 0
        assert _unpickled() == ["10", "11", "1", "2", "0"]
        assert traj.results.runs.run_00000000.objects == [None]  # what _record gave
        assert _unpickled()[-1] == "20"
        # a pickled attribute stays its bytes even so: attributes never run code
        comment = traj.results.runs.run_00000001.f_get("plain").v_comment
        assert "_record" in comment and _unpickled()[-1] == "20"


def test_plain_pickled_attributes_still_read(tmp_path, monkeypatch):
    """PyTables pickles list attributes (the stacked layout's PSM_KEYS): plain data is read
    without a class, anything else stays bytes."""
    from pypet_sm.hdf5 import attributes

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "a.h5"
    with tables.open_file(path, "w") as h5:
        h5.root._v_attrs.keys = ["a", "b"]
        h5.root._v_attrs.evil = Canary(1)
        h5.root._v_attrs.number = np.int64(3)
    with attributes.open_file(path) as h5:
        assert attributes.read(h5.root, "keys") == ["a", "b"]
        assert isinstance(attributes.read(h5.root, "evil"), bytes)
        assert attributes.read(h5.root, "number") == 3
    assert _unpickled() == []
    with tables.open_file(path) as h5:  # PyTables' own behaviour is left as it is
        assert h5.root._v_attrs.evil is None and _unpickled() == ["1"]
