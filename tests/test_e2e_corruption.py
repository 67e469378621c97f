"""End to end: truncated, byte-flipped, torn, garbage-extended and discarded records of the
fragment store, damaged segment headers and damaged, empty or foreign manifests are found
at parse time, named, and computed again in their run jobs (never by the merge, which runs
on the submitting host); nothing damaged is ever merged."""

from __future__ import annotations

import os
import shutil

import pytest

from pypet_sm.errors import FragmentError
from pypet_sm.execute import plan as plans
from pypet_sm.execute import repair, segment, store

from .conftest import SIM, multiply_config

N_RUNS = 12


def _flip(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0x20
    path.write_bytes(bytes(data))


def _plan(project):
    return plans.load(max((project.state / "plans").glob("plan-*.pkl"), key=os.path.getmtime))


def _records(project, plan):
    """Run index -> (segment, offset, length) of every record."""
    found = {}
    for path in store.segment_files(project.state):
        scanned = segment.scan(path.read_bytes())
        for key, offset, length in zip(scanned.keys, scanned.offset, scanned.length, strict=True):
            found[plan.keys.index(key)] = (path, offset, length)
    return found


def _corrupt_config(name="corrupt"):
    xs = [float(i) for i in range(N_RUNS)]
    return multiply_config(
        name=name, exploration={"zip": {"x": xs, "y": [3] * N_RUNS}}, runs_per_job=3
    )


def test_damaged_records_and_manifests_are_recomputed_in_run_jobs_never_merged(project):
    project.write_module(SIM)
    project.write_config(_corrupt_config())
    project.snakemake()
    assert len(project.calls()) == N_RUNS
    plan = _plan(project)
    records = _records(project, plan)
    assert len(store.segment_files(project.state)) == 4, "one segment per job"
    manifests = sorted((project.state / "manifests").glob("job_*.json"))
    assert len(manifests) == 4

    # job 0: its manifest is gone (Snakemake runs it again); run 1's body has a flipped byte,
    # run 2's record is a torn tail (the end of its segment cut off)
    manifests[0].unlink()
    path, offset, length = records[1]
    _flip(path, offset + length - 3)
    path, offset, length = records[2]
    path.write_bytes(path.read_bytes()[: offset + length - 5])
    # jobs 1-3: damaged manifests, which Snakemake alone would take for done jobs
    shutil.copy(manifests[1], manifests[3])  # another job's (valid) manifest
    _flip(manifests[1], 10)
    manifests[2].write_text("")
    # job 1: run 4's record has a flipped magic: no key is known, its run is missing
    path, offset, _ = records[4]
    _flip(path, offset + 1)
    # job 2: its segment's header is damaged: none of its records can be read
    path, _, _ = records[6]
    _flip(path, 30)
    # job 3: garbage appended to its segment (costs nothing), run 10's record discarded,
    # and a copy of job 1's damaged segment under a job 3 name (its records are not job 3's)
    path, _, _ = records[9]
    with open(path, "ab") as handle:
        handle.write(b"PSMR" + b"\x00" * 40)
    assert project.discard(10) == 1
    copy = records[3][0].name.replace("job_00000003", "job_00000009")
    shutil.copy(records[3][0], project.state / "fragments" / copy.replace(".", ".c0py", 1))
    before = project.trajectory_file.read_bytes()

    dry = project.dry_run()
    assert "run_job" in dry.stdout, project.describe(dry)
    proc = project.snakemake()
    again = sorted(call[0] for call in project.calls()[N_RUNS:])
    assert again == [1, 2, 4, 6, 7, 8, 10], project.describe(proc)
    # the parse-time check named them and sent their jobs to the executor
    assert "pypet_sm: 3 finished run job(s) run again" in proc.stderr, project.describe(proc)
    assert "manifest of runs 3-5: checksum mismatch" in proc.stderr
    assert "run_00000004: its record is missing" in proc.stderr
    for job in range(4):
        assert "rule run_job" in proc.stdout + proc.stderr
        assert f"job_{job:06d}.json" in proc.stdout + proc.stderr, project.describe(proc)
    logs = project.path / "logs/corrupt/jobs"
    job_log = (logs / "job_000000.log").read_text()
    assert "run_00000001: its record is damaged" in job_log and "checksum mismatch" in job_log
    assert "run_00000002: its record is damaged" in job_log and "truncated" in job_log, job_log
    assert "job of runs 0-2 done: 2 computed, 1 skipped" in job_log, job_log
    job_log = (logs / "job_000002.log").read_text()
    assert "run_00000006: its record is damaged" in job_log, job_log
    assert "its segment's header" in job_log, job_log
    assert "job of runs 9-11 done: 1 computed, 2 skipped" in (logs / "job_000003.log").read_text()
    merge_log = (project.path / "logs/corrupt/merge.log").read_text()
    # the merge computes nothing: no job of runs, no "computing" (its decision line, a full
    # merge because runs were "computed again", is the only mention)
    assert "job of runs" not in merge_log and "computing" not in merge_log.lower(), merge_log
    assert "full merge: the first 12 runs are not those of the file" in merge_log, merge_log
    assert project.trajectory_file.read_bytes() != before
    with project.load() as traj:
        assert traj.f_get_from_runs("z", use_indices=True) == {i: i * 3.0 for i in range(12)}
        assert [traj.f_get_run_information(i)["completed"] for i in range(N_RUNS)] == [1] * 12
    # every record and manifest is valid again: nothing left to do
    proc = project.snakemake()
    assert "Nothing to be done" in proc.stdout + proc.stderr, project.describe(proc)
    assert len(project.calls()) == N_RUNS + 7

    # what is damaged after the parse-time check stops the merge, which names the runs and
    # how to compute them, and computes nothing itself
    from pypet_sm.merge import write as merges

    records = _records(project, _plan(project))
    path, offset, length = records[10]  # its only record: the one computed again
    _flip(path, offset + length - 2)
    # the no-op rerun above left its clean verdict: it is of the files as they were then
    assert (project.state / "fragments" / repair.CLEAN).is_file()
    dry = project.dry_run()
    assert "run_job" in dry.stdout, project.describe(dry)
    os.chdir(project.path)
    with pytest.raises(FragmentError, match="run_00000010: its record is damaged") as raised:
        merges.merge(_plan(project), project.trajectory_file)
    assert "run snakemake again, which computes them again in their run jobs" in str(raised.value)
    assert len(project.calls()) == N_RUNS + 7
