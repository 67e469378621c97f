"""Unit checks of the choices that make our files match pypet's (no pypet needed here; the
side-by-side comparison with pypet itself is tests/test_pypet_compat.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tables

import pypet_sm
from pypet_sm.define.naming import NamingError
from pypet_sm.hdf5 import records
from pypet_sm.hdf5.codec import parameter_class_name
from pypet_sm.hdf5.writer import write_trajectory

from .conftest import assert_same


def parameter(value, explored=None, class_name=None) -> records.Parameter:
    return records.Parameter("p", {"data": value}, "", class_name, explored)


@pytest.mark.parametrize(
    "value, explored, expected",
    [
        (1.5, [2.0, 3.0], "Parameter"),
        ("s", None, "Parameter"),
        (np.zeros(3), [np.ones(3), np.zeros(3)], "Parameter"),  # pypet's default class
        (np.zeros((2, 2), dtype=np.int16), None, "Parameter"),
        ([1, 2], [[3, 4]], "Parameter"),
        ((0.5, 1.5), None, "Parameter"),
        (["a", "bc"], [["d", "longer"]], "Parameter"),
        (np.zeros(3), [np.zeros(4)], "ArrayParameter"),  # one column cannot hold both shapes
        (np.zeros(3), [np.zeros(3, dtype=np.float32)], "ArrayParameter"),
        ([1.0], [[1.0, 2.0]], "ArrayParameter"),
        ([], None, "ArrayParameter"),  # pypet's Parameter refuses empty sequences
        (np.array([]), None, "ArrayParameter"),
        (np.array(["a", "b"]), None, "ArrayParameter"),
        ([1, "a"], None, "PickleParameter"),
        (1, [2.5], "PickleParameter"),
    ],
)
def test_parameter_class_is_pypets_where_it_stores_the_values_faithfully(value, explored, expected):
    assert parameter_class_name(parameter(value, explored)) == expected
    # the user's explicit choice wins where it can hold the values
    assert parameter_class_name(parameter(value, explored, "PickleParameter")) == (
        "PickleParameter"
    )


def record(tmp_parameters, runs, explored_order=None, **settings) -> records.TrajectoryRecord:
    length = len(next(p.explored for p in tmp_parameters if p.explored is not None))
    return records.TrajectoryRecord(
        name="layout",
        comment="a comment",
        file_title="layout",
        timestamp=1.7e9,
        parameters=tmp_parameters,
        runs=runs,
        length=length,
        settings=records.StorageSettings(**settings),
        explored_order=explored_order,
    )


def run(idx: int, **results) -> records.RunRecord:
    items = [records.Item(name, {name.rpartition(".")[2]: v}) for name, v in results.items()]
    derived = [records.Item("d", {"data": idx})]
    return records.RunRecord(idx, f"run_{idx:08d}", 1.7e9, 1.7e9 + 1, True, items, derived)


def test_explored_order_sets_explorations_and_summaries(tmp_path):
    parameters = [
        records.Parameter("a", {"data": 0}, "", None, [1, 2]),
        records.Parameter("b", {"data": ""}, "", None, ["x", "y"]),
    ]
    path = tmp_path / "order.hdf5"
    write_trajectory(path, record(parameters, [run(0), run(1)], explored_order=["b", "a"]))
    with tables.open_file(str(path)) as h5:
        explorations = h5.get_node("/layout/overview/explorations").col("explorations")
        assert explorations.tolist() == [b"parameters.b", b"parameters.a"]
        summary = h5.get_node("/layout/overview/runs").col("parameter_summary")[1]
        assert summary == b"b: 'y',   a: 2"
    with pypet_sm.load_trajectory(path) as traj:
        assert list(traj.f_get_explored_parameters()) == ["parameters.b", "parameters.a"]
    with pytest.raises(ValueError, match="exactly once"):
        write_trajectory(path, record(parameters, [run(0), run(1)], explored_order=["a"]))


def test_lists_of_strings_are_as_wide_as_their_longest_string(tmp_path):
    # one table column holds the default and every explored list: a later, longer string
    # must not be cut, and non-ASCII strings are stored as UTF-8
    parameters = [
        records.Parameter("w", {"data": ["a", "b"]}, "", None, [["é", "x"], ["日本語", "y" * 40]])
    ]
    path = tmp_path / "words.hdf5"
    write_trajectory(path, record(parameters, [run(0), run(1)]))
    with pypet_sm.load_trajectory(path) as traj:
        leaf = traj.f_get("parameters.w")
        assert leaf.v_class_name == "Parameter"
        assert_same(leaf.values["data"], ["a", "b"])
        assert_same(leaf.f_get_range(), [["é", "x"], ["日本語", "y" * 40]])


def test_loader_has_pypets_crun_per_branch(tmp_path):
    parameters = [records.Parameter("x", {"data": 0.0}, "", None, [1.0, 2.0])]
    path = tmp_path / "crun.hdf5"
    write_trajectory(path, record(parameters, [run(0, z=1.5), run(1, z=2.5)]))
    with pypet_sm.load_trajectory(path) as traj:
        assert type(traj.v_comment) is str and traj.v_comment == "a comment"
        with pytest.raises(NamingError, match="no current run"):
            traj.results.crun  # noqa: B018
        traj.f_set_crun(1)
        assert traj.results.crun.z == 2.5
        assert traj.res.crun.z == 2.5
        assert traj.derived_parameters.crun.d == 1
        assert traj.dpar.crun.d == 1
        assert traj.crun.z == 2.5  # ours: the results group (pypet: ambiguous)


def test_runs_provenance_rows_follow_the_runs_table(tmp_path):
    """overview/runs_provenance has one row per run like `runs`; a run that did not run has
    only its index and name there."""
    parameters = [records.Parameter("x", {"data": 0.0}, "", None, [1.0, 2.0, 3.0])]
    ran = run(1, z=1.5)
    ran.environment, ran.host, ran.pid = "environment_abcdef0_2024_01_31_12h00m00s", "node7", 42
    ran.cluster_job_id, ran.attempt, ran.cluster_node = "123", 2, "n007"
    path = tmp_path / "provenance.hdf5"
    write_trajectory(path, record(parameters, [ran]))
    with pypet_sm.load_trajectory(path) as traj:
        table = traj.runs_table(provenance=True)
        assert list(table["name"]) == ["run_00000000", "run_00000001", "run_00000002"]
        assert list(table["host"]) == ["", "node7", ""]
        assert list(table["attempt"]) == [0, 2, 0]
        assert traj.f_get_run_provenance(1) == {
            "idx": 1,
            "name": "run_00000001",
            "environment": "environment_abcdef0_2024_01_31_12h00m00s",
            "host": "node7",
            "pid": 42,
            "cluster_job_id": "123",
            "attempt": 2,
            "start": 1.7e9,
            "finish": 1.7e9 + 1,
            "runtime": "0:00:01",
            "cluster_node": "n007",
        }
        assert list(table["cluster_node"]) == ["", "n007", ""]
        assert traj.f_get_run_provenance(0)["environment"] == ""


def test_provenance_written_before_the_node_column_reads_as_empty(tmp_path):
    parameters = [records.Parameter("x", {"data": 0.0}, "", None, [1.0, 2.0])]
    ran = run(0, z=1.5)
    ran.cluster_job_id = "77"
    path = tmp_path / "old.hdf5"
    write_trajectory(path, record(parameters, [ran, run(1, z=2.5)]))
    with tables.open_file(str(path), "r+") as h5:  # the table as files before it had the node
        old = h5.get_node("/layout/overview/runs_provenance")
        rows, description = old.read(), dict(old.coldescrs)
        description.pop("cluster_node")
        old.remove()
        table = h5.create_table("/layout/overview", "runs_provenance", description)
        table.append([tuple(row[name] for name in table.colnames) for row in rows])
    with pypet_sm.load_trajectory(path) as traj:
        table = traj.runs_table(provenance=True)
        assert list(table["cluster_job_id"]) == ["77", ""]
        assert list(table["cluster_node"]) == ["", ""]
