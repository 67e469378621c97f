"""End to end: truncated, empty, byte-flipped and foreign fragments and manifests are detected,
named with their run and computed again; nothing damaged is ever merged."""

from __future__ import annotations

import shutil

from pypet_sm.execute import plan as plans

from .conftest import SIM, multiply_config

N_RUNS = 12


def _flip(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0x20
    path.write_bytes(bytes(data))


def test_damaged_fragments_and_manifests_are_recomputed_never_merged(project):
    project.write_module(SIM)
    xs = [float(i) for i in range(N_RUNS)]
    project.write_config(
        multiply_config(
            name="corrupt", exploration={"zip": {"x": xs, "y": [3] * N_RUNS}}, runs_per_job=3
        )
    )
    project.snakemake()
    assert len(project.calls()) == N_RUNS
    fragments = project.fragments_by_idx()
    manifests = sorted((project.state / "manifests").glob("job_*.json"))
    assert len(manifests) == 4

    # job 0: its manifest is gone (Snakemake runs it again) and all its fragments are bad
    manifests[0].unlink()
    fragments[0].write_bytes(fragments[0].read_bytes()[:40])  # truncated
    _flip(fragments[1], -5)  # one flipped byte in the body
    fragments[2].write_bytes(b"")  # empty
    # jobs 1-3: damaged manifests (newer than the trajectory, so the merge runs again)
    shutil.copy(manifests[1], manifests[3])  # another job's (valid) manifest
    _flip(manifests[1], 10)
    manifests[2].write_text("")
    shutil.copy(fragments[5], fragments[4])  # a valid fragment, of another run
    _flip(fragments[9], 7)  # a flipped byte in the header's length
    before = project.trajectory_file.read_bytes()

    proc = project.snakemake()
    again = sorted(call[0] for call in project.calls()[N_RUNS:])
    assert again == [0, 1, 2, 4, 9], project.describe(proc)
    job_log = (project.path / "logs/corrupt/jobs/job_000000.log").read_text()
    for idx, what in ((0, "truncated"), (1, "checksum mismatch"), (2, "empty")):
        assert f"run_{idx:08d}: its fragment" in job_log and what in job_log, job_log
    merge_log = (project.path / "logs/corrupt/merge.log").read_text()
    assert "run_00000004: fragment" in merge_log and "is foreign" in merge_log, merge_log
    assert "run_00000009: fragment" in merge_log and "is damaged" in merge_log
    assert "manifest of runs 3-5: checksum mismatch" in merge_log, merge_log
    assert "manifest of runs 6-8: unreadable or damaged" in merge_log, merge_log
    assert "manifest of runs 9-11: belongs to another job" in merge_log, merge_log
    assert project.trajectory_file.read_bytes() != before
    with project.load() as traj:
        assert traj.f_get_from_runs("z", use_indices=True) == {i: i * 3.0 for i in range(12)}
        assert [traj.f_get_run_information(i)["completed"] for i in range(N_RUNS)] == [1] * 12
    # every fragment and manifest is valid again: nothing left to do
    proc = project.snakemake()
    assert "Nothing to be done" in proc.stdout + proc.stderr, project.describe(proc)
    plan = plans.load(next((project.state / "plans").glob("plan-*.pkl")))
    assert len(plan) == N_RUNS
    assert len(project.calls()) == N_RUNS + 5
