"""What the workflow's onerror and onsuccess hooks print (pypet_sm/execute/workflow.py): the
reason a run job gave in the last line of its log; the failed runs of a keep-going
invocation, which exits 0."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pypet_sm.execute import failures, manifest
from pypet_sm.execute import plan as plans
from pypet_sm.execute.workflow import Sweep


def _sweep(tmp_path, monkeypatch, keep_going=None) -> Sweep:
    monkeypatch.chdir(tmp_path)
    config = {
        "trajectory": {"name": "t"},
        "parameters": {"x": 1.0},
        "exploration": {"zip": {"x": [1.0, 2.0, 3.0, 4.0]}},
        "job": "math:prod",
        "runs_per_job": 1,
    }
    plan = plans.from_config(config)
    return Sweep(plan, True, keep_going, {}, started=time.time() - 5)


def _log(sweep: Sweep, job: int, text: str, age: float = 0.0) -> None:
    path = Path(sweep.job_log(job))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if age:
        then = time.time() - age
        os.utime(path, (then, then))


def test_onerror_names_the_jobs_that_gave_a_reason(tmp_path, monkeypatch, capsys):
    sweep = _sweep(tmp_path, monkeypatch)
    reason = "pypet_sm: cannot write the fragment of run_00000000: No space left on device"
    _log(sweep, 0, f"2026-12-02 INFO starting\n{reason}\n\n")
    _log(sweep, 1, "2026-12-02 INFO the job's last ordinary line\n")  # no reason: not shown
    _log(sweep, 2, "pypet_sm: an earlier invocation's reason\n", age=60)  # not this invocation
    _log(sweep, 3, "pypet_sm: a job that then finished\n")
    path = manifest.path(sweep.settings.trajectory_state, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    assert sweep.job_errors() == [
        "pypet_sm: run job 000000 failed: cannot write the fragment of run_00000000: No space "
        "left on device (log logs/t/jobs/job_000000.log)"
    ]
    sweep.onerror()
    assert capsys.readouterr().err.splitlines() == sweep.job_errors()


def _failed_run(sweep: Sweep, job: int) -> None:
    failures.write_record(
        sweep.settings.trajectory_state,
        job,
        sweep.plan.job_digest(job),
        [{"idx": job, "name": f"run_{job:08d}", "exception": "ValueError: boom"}],
    )


def test_onsuccess_names_failed_runs_merged_by_keep_going(tmp_path, monkeypatch, capsys):
    sweep = _sweep(tmp_path, monkeypatch, keep_going=True)
    sweep.onsuccess()
    assert capsys.readouterr().err == ""  # no failed runs: nothing to say
    _failed_run(sweep, 1)
    sweep.onsuccess()
    shown = capsys.readouterr().err
    assert shown.startswith("pypet_sm: 1 run(s) failed:\n  run_00000001: ValueError: boom")
    assert shown.rstrip().endswith(
        "pypet_sm: the exit status is 0 because of keep_going: true in the config, although "
        "runs failed: no trajectory file was merged in this invocation; run snakemake again "
        "to compute them"
    )
    Path(sweep.merged).write_text("{}")  # the merge's record: the merge ran just now
    sweep.onsuccess()
    assert "hdf5/t.hdf5 holds them with completed = 0" in capsys.readouterr().err


def test_onsuccess_with_snakemakes_keep_going_and_without_keep_going(tmp_path, monkeypatch, capsys):
    sweep = _sweep(tmp_path, monkeypatch)
    _failed_run(sweep, 0)
    sweep.snakemake_keep_going = True
    sweep.onsuccess()
    assert "the exit status is 0 because of snakemake's --keep-going" in capsys.readouterr().err
    sweep.snakemake_keep_going = False  # not kept going: onerror says it, not onsuccess
    sweep.onsuccess()
    assert capsys.readouterr().err == ""
