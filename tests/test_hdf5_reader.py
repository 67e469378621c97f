"""The format layer: layout names, the one reader, HDF5 errors as OSError, and the rule that
only pypet_sm.hdf5 imports PyTables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pypet_sm
from pypet_sm.analysis.load import LoadError
from pypet_sm.errors import HDF5Error
from pypet_sm.hdf5 import layout, records
from pypet_sm.hdf5.reader import TrajectoryFile, is_hdf5_file, run_locations
from pypet_sm.hdf5.writer import write_trajectory

PACKAGE = Path(pypet_sm.__file__).parent


def test_run_names_and_time_stamps_follow_pypet():
    assert layout.run_name(3) == "run_00000003"
    assert layout.run_set_name(999) == "run_set_00000" and layout.run_set_name(1000) == (
        "run_set_00001"
    )
    assert re.fullmatch(r"\d{4}_\d\d_\d\d_\d\dh\d\dm\d\ds", layout.local_time(1.7e9))
    assert layout.environment_name("abcdef123456", 1.7e9).startswith("environment_abcdef1_")
    assert layout.git_commit_name("0123456789", 1.7e9).startswith("commit_0123456_")


def test_only_the_format_layer_imports_pytables():
    importing = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"^\s*(import tables|from tables\b)", path.read_text(), re.MULTILINE)
    )
    assert importing and all(name.startswith("hdf5/") for name in importing), importing


def _write(path: Path, n_runs: int, run_sets_above: int = 16384) -> None:
    def runs():
        for idx in range(n_runs):
            if idx == 1:  # a failed run: no items, a row in failed_runs
                error = ("ValueError: boom", "Traceback ...")
                yield records.RunRecord(idx, layout.run_name(idx), 1.0, 2.0, False, error=error)
                continue
            items = [records.Item("z", {"z": float(idx)})]
            yield records.RunRecord(
                idx, layout.run_name(idx), 1.7e9, 1.7e9 + 1, True, items, host="node1"
            )

    explored = records.Parameter("x", {"data": 0}, "", None, list(range(n_runs)))
    record = records.TrajectoryRecord(
        name="t",
        comment="the comment",
        file_title="t",
        timestamp=1.7e9,
        parameters=[explored],
        runs=runs(),
        length=n_runs,
        settings=records.StorageSettings(run_sets_above=run_sets_above),
    )
    write_trajectory(path, record)


@pytest.mark.parametrize("run_sets_above", [16384, 0])
def test_the_reader_answers_what_the_callers_ask(tmp_path, run_sets_above):
    path = tmp_path / "t.hdf5"
    _write(path, 3, run_sets_above)
    assert is_hdf5_file(path)
    with TrajectoryFile(path) as stored:
        assert stored.names == ["t"]
        trajectory = stored.trajectory("t")
        assert trajectory.comment == "the comment"
        assert trajectory.runs_count() == 3
        assert trajectory.completed().tolist() == [1, 0, 1]
        assert trajectory.exploration_order() == ["parameters.x"]
        assert trajectory.provenance_rows()["host"].tolist() == [b"node1", b"", b"node1"]
        failed = stored.failed_runs()
        assert [(run["idx"], run["name"], run["exception"]) for run in failed] == [
            (1, "run_00000001", "ValueError: boom")
        ]
        runs = trajectory.runs_group(layout.RESULTS)
        assert [run for run, _ in run_locations(runs)] == ["run_00000000", "run_00000002"]
        parent = trajectory.run_parent(layout.RESULTS, 2)
        assert parent is not None and "run_00000002" in parent
        assert trajectory.run_parent(layout.RESULTS, 1) is None  # the failed run stored nothing
        leaf = parent.child("run_00000002").child("z")
        assert leaf.is_leaf() and leaf.load_leaf().values == {"z": 2.0}
        index = trajectory.run_scalars()
        indices, values = index.column(layout.RESULTS, "z")
        assert indices.tolist() == [0, 2] and values == [0.0, 2.0]
        assert not trajectory.stacked()


def test_hdf5_errors_are_oserrors_of_one_line_naming_the_file(tmp_path):
    # (issue 14, item 13: the message was HDF5's 20-line back trace)
    text = tmp_path / "not.hdf5"
    text.write_text("not HDF5")
    assert not is_hdf5_file(text)
    with pytest.raises(OSError) as raised:
        TrajectoryFile(text)
    assert isinstance(raised.value, HDF5Error)
    assert str(raised.value) == f"{text} is not an HDF5 file"
    with pytest.raises(LoadError, match="not.hdf5 is not an HDF5 file$"):
        pypet_sm.load_trajectory(text)


def test_the_writer_gives_hdf5_failures_as_oserrors(tmp_path, monkeypatch):
    import tables

    def failing_open(*args, **kwargs):
        raise tables.HDF5ExtError("H5Fcreate: unable to truncate a file which is already open")

    monkeypatch.setattr(tables, "open_file", failing_open)
    with pytest.raises(HDF5Error, match="unable to truncate") as raised:
        _write(tmp_path / "t.hdf5", 2)
    assert isinstance(raised.value, OSError) and raised.value.errno is None
