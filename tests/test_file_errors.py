"""Trajectory files that cannot be read say so in one line naming the file and what is
wrong (issue 14, item 13): a file open in another program (HDF5's lock) is not "damaged" and
needs no moving away; a truncated file is damaged; a folder is a folder, not "does not exist";
`show`/`table` on a file of two trajectories offer their `--name`; `table --csv` to a path
that cannot be written names it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tables

import pypet_sm
from pypet_sm.analysis.load import LoadError
from pypet_sm.define import validate
from pypet_sm.errors import PypetSmError
from pypet_sm.hdf5.reader import LOCKED, TRUNCATED, TrajectoryFile

from .conftest import compute_in_process, multiply_config, write_unique_module

JOB = """
def job(traj):
    traj.f_add_result("z", traj.x * traj.y)
"""


@pytest.fixture(scope="module")
def trajectory(tmp_path_factory) -> Path:
    """A small trajectory file, merged in this process."""
    import os

    folder = tmp_path_factory.mktemp("files")
    cwd = os.getcwd()
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    try:
        module = write_unique_module(folder, JOB)
        compute_in_process(multiply_config(name="one", job=f"{module}:job"))
    finally:
        os.chdir(cwd)
        sys.path.remove(str(folder))
    return folder / "hdf5" / "one.hdf5"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pypet_sm.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "H5F" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


HOLD = """
import sys, time
import tables
h5 = tables.open_file(sys.argv[1], "a")
print("open", flush=True)
time.sleep(60)
"""


def test_a_file_open_in_another_program(trajectory, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), str(trajectory)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(OSError) as raised:
            TrajectoryFile(trajectory)
        assert raised.value.kind == LOCKED
        message = str(raised.value)
        assert message.startswith(f"{trajectory} is open in another program")
        assert "\n" not in message and "H5F" not in message
        with pytest.raises(LoadError, match="is open in another program"):
            pypet_sm.load_trajectory(trajectory)
        for command in ("show", "table"):
            line = one_line(cli(tmp_path, command, trajectory))
            assert "is open in another program" in line and "close it there" in line
        # what the merge checks first: no "move it away" for a file that is only open
        with pytest.raises(PypetSmError) as refused:
            validate.existing_trajectory(trajectory, "one")
        assert "is open in another program" in str(refused.value)
        assert "move it away" not in str(refused.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_truncated_file(trajectory, tmp_path):
    truncated = tmp_path / "cut.hdf5"
    truncated.write_bytes(trajectory.read_bytes()[:5000])
    with pytest.raises(OSError) as raised:
        TrajectoryFile(truncated)
    assert raised.value.kind == TRUNCATED
    with pytest.raises(LoadError, match=r"cut.hdf5 is truncated: .*damaged$"):
        pypet_sm.load_trajectory(truncated)
    assert "is truncated" in one_line(cli(tmp_path, "show", truncated))
    with pytest.raises(PypetSmError, match="cut.hdf5 is truncated.*move it away"):
        validate.existing_trajectory(truncated, "one")


def test_a_folder_is_not_a_missing_file(tmp_path):
    with pytest.raises(LoadError, match=f"^{tmp_path} is a folder, not a trajectory file$"):
        pypet_sm.load_trajectory(tmp_path)
    for command in ("show", "table"):
        assert "is a folder, not a trajectory file" in one_line(cli(tmp_path, command, "."))


def test_two_trajectories_and_the_name_option(trajectory, tmp_path):
    both = tmp_path / "both.hdf5"
    both.write_bytes(trajectory.read_bytes())
    with tables.open_file(both, "a") as h5:
        h5.copy_node("/one", newparent=h5.root, newname="two", recursive=True)
    line = one_line(cli(tmp_path, "show", both))
    assert (
        line
        == f"pypet-sm: {both} holds trajectories one, two: choose one with --name (e.g. --name one)"
    )
    assert "name=" not in line
    shown = cli(tmp_path, "show", both, "--name", "two")
    assert shown.returncode == 0 and "trajectory two in" in shown.stdout, shown.stderr
    table = cli(tmp_path, "table", both, "--name", "one")
    assert table.returncode == 0 and "run_00000005" in table.stdout, table.stderr
    with pytest.raises(LoadError, match="pass name="):  # the API's own keyword
        pypet_sm.load_trajectory(both)


def test_table_csv_to_a_path_that_cannot_be_written(trajectory, tmp_path):
    (tmp_path / "a_file").write_text("")
    line = one_line(cli(tmp_path, "table", trajectory, "--csv", "a_file/runs.csv"))
    assert line.startswith("pypet-sm: cannot write --csv a_file/runs.csv: "), line
    line = one_line(cli(tmp_path, "table", trajectory, "--csv", str(tmp_path)))
    assert "is a folder" in line
