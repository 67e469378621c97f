"""The live view (`load_trajectory(project, live=True)`, `pypet-sm show|table --live`) while a
real `snakemake` runs and after it was killed with SIGKILL: the runs finished so far, with the
merged file's values, read without writing anything into the project."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import pypet_sm
from pypet_sm.analysis.tree import LoadError

from .conftest import multiply_config
from .test_cli import FAILING
from .test_cli import pypet_sm as cli

# each run waits for its flag file go/<idx>: the test says when which run finishes
GATED = """
import os
import time

import numpy as np


def multiply(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj._idx, os.getpid(), traj.x, traj.y)) + "\\n")
    flag = os.path.join("go", str(traj._idx))
    deadline = time.time() + 120
    while not os.path.exists(flag) and time.time() < deadline:
        time.sleep(0.05)
    traj.f_add_result("z", traj.x * traj.y, comment="x * y")
    traj.f_add_result("trace", np.arange(3) * traj.x)
    traj.f_add_derived_parameter("double_y", 2 * traj.y)
"""
N_RUNS = 6


def _release(project, *runs: int) -> None:
    (project.path / "go").mkdir(exist_ok=True)
    for idx in runs:
        (project.path / "go" / str(idx)).touch()


def _wait_finished(project, count: int, timeout: float = 60.0) -> pypet_sm.LoadedTrajectory:
    """The live view, once it shows `count` finished runs."""
    deadline = time.time() + timeout
    while True:
        traj = pypet_sm.load_trajectory(project.path, live=True)
        if traj.v_live_finished >= count or time.time() > deadline:
            return traj
        traj.f_close()
        time.sleep(0.2)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file below `root`: (size, mtime)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def _finished(traj, runs: list[str]) -> dict[str, tuple]:
    """What the runs `runs` hold, through several calls of the analysis API."""
    rates = traj.f_get_from_runs("z")
    return {
        run: (
            rates[run],
            traj.results.runs[run].z,
            list(traj.f_get_from_runs("trace")[run]),
            traj.f_get_from_runs("double_y")[run],
            traj.f_get_run_information(run)["completed"],
        )
        for run in runs
    }


def test_live_view_while_snakemake_runs_and_after_sigkill(project, tmp_path):
    project.write_module(GATED)
    xs = [float(i) for i in range(N_RUNS)]
    config = multiply_config(name="live", runs_per_job=3)
    config["exploration"] = {"zip": {"x": xs, "y": [10 * i for i in range(N_RUNS)]}}
    project.write_config(config)
    # before anything ran: every run planned, none finished
    with pypet_sm.load_trajectory(project.path / "config.yaml", live=True) as traj:
        assert (traj.v_live_finished, traj.v_live_failed, traj.v_live_missing) == (0, 0, 6)
        assert len(traj) == N_RUNS and traj.f_get_finished_run_names() == []
        assert list(traj.f_get("x").f_get_range()) == xs
    running = project.start_snakemake(log=tmp_path / "snakemake.log", new_session=True)
    try:
        _release(project, 0, 3)  # the first run of each of the two jobs
        with _wait_finished(project, 2) as traj:
            assert traj.f_get_finished_run_names() == ["run_00000000", "run_00000003"]
            assert traj.v_live_missing == 4 and traj.v_live_failed == 0
            assert traj.f_get_from_runs("z") == {"run_00000000": 0.0, "run_00000003": 90.0}
            assert traj.runs_where(x=3.0) == [3]  # parameters of all runs, from the plan
            table = traj.runs_table()
            assert list(table["z"][[0, 3]]) == [0.0, 90.0]
            assert table["z"][[1, 2, 4, 5]].isna().all()  # not finished yet
            assert "2 finished, 0 failed, 4 not finished of 6 runs" in repr(traj)
        _release(project, 1)
        with _wait_finished(project, 3) as traj:
            assert traj.f_get_finished_run_names() == [f"run_0000000{i}" for i in (0, 1, 3)]
        assert running.poll() is None  # the runs 2, 4 and 5 are still waiting
    finally:
        os.killpg(running.pid, signal.SIGKILL)
        running.wait(timeout=30)
    # after the kill (its jobs die with it: same process group): what finished, unchanged
    time.sleep(0.5)
    # a record torn mid-write: the live view skips it, as the merge would compute it again
    segment = max(project.fragment_files(), key=lambda path: path.stat().st_size)
    data = segment.read_bytes()
    with open(segment, "ab") as handle:
        handle.write(data[-40:-10])  # the tail bytes of a record: no valid prefix
        handle.write(data[data.rfind(b"PSMR") :][:-7])  # a whole record but its last bytes
    before = _snapshot(project.path)
    with pypet_sm.load_trajectory(project.path, live=True) as traj:
        assert (traj.v_live_finished, traj.v_live_failed, traj.v_live_missing) == (3, 0, 3)
        live = _finished(traj, traj.f_get_finished_run_names())
        live_table = traj.runs_table()
    show = cli(project, "show", "--live", project.path).stdout
    table_out = cli(project, "table", "--live", "config.yaml").stdout
    assert _snapshot(project.path) == before  # nothing written, not even a cache or bytecode
    assert "runs: 3 completed of 6 so far (0 failed, 3 not finished)" in show
    assert "z: Result {z: float 0.0}" in show  # of the first finished run
    assert len(table_out.splitlines()) == 1 + N_RUNS
    assert set(live) == {"run_00000000", "run_00000001", "run_00000003"}

    # the sweep finished: the merged file holds the same values for these runs, which were
    # not computed again
    calls = len(project.calls())
    _release(project, *range(N_RUNS))
    project.snakemake("--unlock", cores=None)
    project.snakemake()
    assert sorted(call[0] for call in project.calls()[calls:]) == [2, 4, 5]
    with project.load() as merged:
        assert _finished(merged, list(live)) == live
        table = merged.runs_table()
        finished = [0, 1, 3]
        for column in ("idx", "name", "x", "y", "z"):
            assert list(table[column][finished]) == list(live_table[column][finished]), column
    with pypet_sm.load_trajectory(project.path, live=True) as traj:  # everything finished
        assert traj.v_live_finished == N_RUNS
        assert np.array_equal(traj.runs_table()["z"], table["z"])


def test_live_view_bad_input(project, tmp_path):
    with pytest.raises(LoadError, match=f"project folder {tmp_path} has no config.yaml"):
        pypet_sm.load_trajectory(tmp_path, live=True)
    (tmp_path / "run.hdf5").write_bytes(b"")
    with pytest.raises(LoadError, match="not .*run.hdf5; load a trajectory file without live"):
        pypet_sm.load_trajectory(tmp_path / "run.hdf5", live=True)
    project.write_config(multiply_config(name="bad", job="nosuchmodule:f"))
    with pytest.raises(LoadError, match="nosuchmodule"):
        pypet_sm.load_trajectory(project.path, live=True)
    assert os.getcwd() != str(project.path)  # planning gave the working directory back
    with pytest.raises(LoadError, match="is a config, not a trajectory file: live=True"):
        pypet_sm.load_trajectory(project.path / "config.yaml")
    out = cli(project, "table", "--live", tmp_path / "nothing", expect=2).stderr
    assert out.startswith("pypet-sm: live=True reads a project") and len(out.splitlines()) == 1


def test_live_view_of_failed_runs_is_the_merged_file(project):
    """Failed runs (keep_going) are in the live view as the merge writes them: not
    completed, their errors in the failed-runs table; everything else as in the file."""
    project.write_module(FAILING)
    project.write_config(multiply_config(name="fails", keep_going=True, runs_per_job=3))
    project.snakemake()
    with pypet_sm.load_trajectory(project.path, live=True) as live:
        with project.load() as merged:
            assert (live.v_live_finished, live.v_live_failed, live.v_live_missing) == (4, 2, 0)
            names = merged.f_get_run_names()
            assert live.f_get_run_names() == names
            assert live.f_get_finished_run_names() == [names[i] for i in (0, 1, 3, 4)]
            for idx in range(len(names)):
                want, got = merged.f_get_run_information(idx), live.f_get_run_information(idx)
                assert got == want, idx  # times, completed, summary, environment's hexsha
            assert live.f_get_from_runs("z") == merged.f_get_from_runs("z")
            assert live.runs_table(provenance=True).equals(merged.runs_table(provenance=True))
            assert live.f_get_environments() == merged.f_get_environments()
