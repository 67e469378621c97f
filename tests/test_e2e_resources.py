"""End to end: a full disk (or a file size limit) during the merge leaves the previous
trajectory file intact and says what happened; a second snakemake in the same folder while
one runs is refused with a clear message."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from .conftest import SIM, multiply_config

TRACEBACK = "Traceback (most recent call last)"

BIG = """
import numpy as np


def run(traj):
    rng = np.random.default_rng(traj.v_idx)
    traj.f_add_result("noise", rng.random(2000), comment="incompressible")
"""


def _config(n_runs: int, **trajectory) -> dict:
    return multiply_config(
        name="big",
        trajectory={"name": "big", **trajectory},
        exploration={"zip": {"x": [float(i) for i in range(n_runs)]}},
        job="sim:run",
        # 40 runs of 16 KB: a segment of the fragment store stays below the file size
        # limit of the merge test, the trajectory file does not
        runs_per_job=40,
    )


def _temps(directory) -> list:
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def _check_failed_merge(project, proc, before: bytes, reason: str) -> None:
    shown = proc.stdout + proc.stderr
    assert proc.returncode != 0, project.describe(proc)
    assert "pypet_sm: the merge failed: cannot write the trajectory file" in shown, (
        project.describe(proc)
    )
    assert f"{project.trajectory_file.name}: " in shown, project.describe(proc)
    assert reason in shown, project.describe(proc)
    assert "is unchanged" in shown, project.describe(proc)
    assert TRACEBACK not in shown
    assert project.trajectory_file.read_bytes() == before
    assert not _temps(project.trajectory_file.parent)
    with project.load() as traj:
        assert len(traj) == 4


def test_file_size_limit_during_merge_keeps_the_previous_file(project):
    project.write_module(BIG)
    project.write_config(_config(4))
    project.snakemake()
    before = project.trajectory_file.read_bytes()
    assert len(before) < 500_000

    project.write_config(_config(200))  # 3.2 MB of random numbers
    limit = 1_500_000  # segments, plans and logs fit; the new trajectory file does not

    proc = project.snakemake(cores=2, expect=None, file_size_limit=limit)
    _check_failed_merge(project, proc, before, "file size limit")
    assert len(project.fragments_by_idx()) == 200

    # with room again, the next invocation only merges
    n_calls = len(project.calls())
    project.snakemake()
    assert len(project.calls()) == n_calls
    with project.load() as traj:
        assert len(traj) == 200


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MB tmpfs (needs root and mount); skipped where it cannot be mounted."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_during_merge_keeps_the_previous_file(project, small_tmpfs):
    project.write_module(BIG)
    filename = str(small_tmpfs / "big.hdf5")
    project.write_config(_config(4, filename=filename))
    project.snakemake()
    before = project.trajectory_file.read_bytes()
    project.write_config(_config(200, filename=filename))
    proc = project.snakemake(expect=1)
    _check_failed_merge(project, proc, before, "the disk is full")
    # after making room elsewhere (another filename), the runs are merged without recomputing
    n_calls = len(project.calls())
    project.write_config(_config(200))
    project.snakemake()
    assert len(project.calls()) == n_calls


def test_a_second_snakemake_in_the_same_folder_is_refused(project):
    project.write_module(SIM)
    project.write_config(
        multiply_config(
            name="busy",
            exploration={"zip": {"x": [1.0] * 8, "y": list(range(8))}},
            runs_per_job=1,
            kwargs={"delay": 2.0},  # 16 s: outlasts the three refused invocations on a busy machine
        )
    )
    first = project.start_snakemake(cores=1, log=project.path / "first.log")
    try:
        deadline = time.monotonic() + 120
        while not project.calls():
            assert first.poll() is None, (project.path / "first.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for command in (["--cores", "2"], ["--unlock"], ["--cores", "2", "--rerun-incomplete"]):
            proc = project.snakemake(*command, cores=None, expect=1)
            shown = proc.stdout + proc.stderr
            assert "another snakemake is running this workflow in" in shown, project.describe(proc)
            assert f"pid {first.pid}" in shown, project.describe(proc)
            assert "do not use --unlock" in shown
            assert TRACEBACK not in shown
        assert first.poll() is None, "the running snakemake is not disturbed"
    finally:
        returncode = first.wait(timeout=300)
    assert returncode == 0, (project.path / "first.log").read_text()
    assert sorted(call[0] for call in project.calls()) == list(range(8))
    # afterwards the folder is free again
    proc = project.snakemake()
    assert "Nothing to be done" in proc.stdout + proc.stderr
