"""End to end: the `pypet-sm` console commands (status, show, table) on projects the real
workflow ran: complete, partly failed (keep_going) and with runs still missing."""

from __future__ import annotations

import csv
import subprocess
import sys

from .conftest import SIM, multiply_config

FAILING = """
def multiply(traj):
    if traj.v_idx in (2, 5):
        raise ValueError(f"boom in run {traj.v_idx}")
    traj.f_add_result("z", traj.x * traj.y, comment="x * y")
"""


def pypet_sm(project, *args, expect=0):
    proc = subprocess.run(
        [sys.executable, "-m", "pypet_sm.cli", *map(str, args)],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=120,
        env=project.environment(),
    )
    assert proc.returncode == expect, f"{proc.args}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_complete_project(project):
    project.write_module(SIM)
    project.write_config(multiply_config())
    project.snakemake()

    out = pypet_sm(project, "status").stdout
    assert "prod: 6 done, 0 failed, 0 missing of 6 runs" in out
    assert "[" + "#" * 40 + "] 100.0%" in out
    assert "median run time" in out and "left" not in out
    assert "(last merge: 6 of 6 runs completed)" in out

    out = pypet_sm(project, "show", project.trajectory_file).stdout
    assert "trajectory prod in" in out and "comment: x times y" in out
    assert "runs: 6 completed of 6" in out
    assert "x = 0.0  explored 1.0..2.0 (6 runs, 2 distinct)  # first factor" in out
    assert "y = 0  explored 10..30 (6 runs, 3 distinct)" in out
    assert "offset = 0.0  # added to the product" in out
    assert "z: Result {z: float 10.0}  # x * y + offset" in out
    assert "environment_" in out

    out = pypet_sm(project, "table", project.trajectory_file).stdout
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["idx", "name", "environment"] and "z" in lines[0].split()
    assert len(lines) == 7 and lines[-1].split()[:2] == ["5", "run_00000005"]

    target = project.path / "out" / "runs.csv"
    out = pypet_sm(project, "table", project.trajectory_file, "--csv", target).stdout
    assert f"wrote 6 runs to {target}" in out
    rows = list(csv.DictReader(target.open()))
    assert [float(row["z"]) for row in rows] == [10.0, 20.0, 30.0, 20.0, 40.0, 60.0]
    assert rows[0]["host"] and rows[0]["runtime"]


def test_failed_runs(project):
    project.write_module(FAILING)
    config = multiply_config(name="fails", keep_going=True, runs_per_job=3)
    project.write_config(config)
    project.snakemake()

    out = pypet_sm(project, "status").stdout
    assert "fails: 4 done, 2 failed, 0 missing of 6 runs" in out
    assert "failed runs (2):" in out
    assert "(last merge: 4 of 6 runs completed)" in out
    for idx, job in ((2, 0), (5, 1)):
        line = next(line for line in out.splitlines() if f"run_0000000{idx}:" in line)
        assert f"ValueError: boom in run {idx}" in line
        log = line.split("(log ")[1].rstrip(")")
        assert log.endswith(f"jobs/job_{job:06d}.txt") and (project.path / log).is_file()
        assert f"boom in run {idx}" in (project.path / log).read_text()

    out = pypet_sm(project, "show", project.trajectory_file).stdout
    assert "runs: 4 completed of 6" in out
    assert "results (of run_00000000):" in out and "z: Result {z: float 10.0}" in out

    out = pypet_sm(project, "table", project.trajectory_file).stdout
    row = next(line for line in out.splitlines() if "run_00000002" in line)
    assert row.split()[-1] in ("None", "NaN")


def test_status_with_missing_runs(project):
    project.write_module(SIM)
    project.write_config(multiply_config(name="partial"))
    project.snakemake()
    segments = sorted(project.fragment_files())
    assert len(segments) == 3, "one segment per job of two runs"
    segments[0].unlink()
    segments[2].write_bytes(segments[2].read_bytes()[:-3])  # its last record half-written

    out = pypet_sm(project, "status", "config.yaml", "--cores", "2").stdout
    assert "partial: 3 done, 0 failed, 3 missing of 6 runs" in out
    assert "[" + "#" * 20 + "." * 20 + "] 50.0%" in out
    assert "time left: about 0 s for 3 runs on 2 cores" in out
    assert "record damaged (" in out
    # the jobs wrote their manifests, so Snakemake alone would see nothing to do; status
    # says how to get the runs back (the parse-time check runs those jobs), and that works
    assert "3 of the missing runs belong to jobs that finished" in out
    assert "`snakemake --cores N` runs those jobs again" in out
    project.snakemake()
    out = pypet_sm(project, "status").stdout
    assert "partial: 6 done, 0 failed, 0 missing of 6 runs" in out
    assert "belong to jobs that finished" not in out


def test_bad_input(project):
    out = pypet_sm(project, "status", expect=2).stderr
    assert out.strip() == "pypet-sm: config file config.yaml does not exist"
    (project.path / "config.yaml").write_text("trajectory: [1, 2\n")
    assert "config.yaml line 2, column 1: expected" in pypet_sm(project, "status", expect=2).stderr
    project.write_module(SIM)
    config = multiply_config()
    config["parameters"]["x"] = {"valeu": 1}
    project.write_config(config)
    err = pypet_sm(project, "status", expect=2).stderr
    assert err.startswith("pypet-sm: config.yaml: ") and len(err.strip().splitlines()) == 1

    err = pypet_sm(project, "show", "missing.hdf5", expect=2).stderr
    assert err.strip() == "pypet-sm: trajectory file missing.hdf5 does not exist"
    err = pypet_sm(project, "table", "config.yaml", expect=2).stderr
    assert err.strip() == "pypet-sm: config.yaml is not an HDF5 trajectory file"
    import tables

    with tables.open_file(project.path / "empty.h5", "w"):
        pass
    err = pypet_sm(project, "show", "empty.h5", expect=2).stderr
    assert "empty.h5" in err and len(err.strip().splitlines()) == 1


def test_recent_rate_only_while_runs_finish():
    import time

    from pypet_sm.cli import status as cli

    now = time.time()
    assert cli._recent_rate([now - 10 + i * 0.5 for i in range(20)]) == 2.0
    assert cli._recent_rate([now - 1000 + i for i in range(20)]) is None  # stale: not running
    assert cli._recent_rate([now] * 20) is None and cli._recent_rate([now]) is None


def test_status_while_snakemake_runs(project):
    import re

    project.write_module(SIM)
    config = multiply_config(name="live", kwargs={"delay": 0.3}, runs_per_job=1)
    config["exploration"] = {"product": {"x": [1.0, 2.0, 3.0, 4.0], "y": [10, 20, 30]}}
    project.write_config(config)
    running = project.start_snakemake()
    seen = []
    try:
        while running.poll() is None:
            out = pypet_sm(project, "status", "--cores", "2").stdout
            done, failed, missing, total = map(
                int, re.search(r"(\d+) done, (\d+) failed, (\d+) missing of (\d+)", out).groups()
            )
            assert done + missing == total == 12 and failed == 0, out
            seen.append(done)
    finally:
        assert running.wait(timeout=300) == 0
    assert seen == sorted(seen) and any(done < 12 for done in seen), seen
    assert "12 done, 0 failed, 0 missing" in pypet_sm(project, "status").stdout


def test_show_and_table_while_a_continuation_runs(project):
    """While snakemake extends a sweep, show and table read the last merge's file, which the
    new merge replaces whole under them; afterwards they see the new runs."""
    project.write_module(SIM)
    config = multiply_config(name="grows", kwargs={"delay": 0.3}, runs_per_job=1)
    project.write_config(config)
    project.snakemake()
    config["exploration"] = {"product": {"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}}
    project.write_config(config)
    running = project.start_snakemake()
    shown = []
    try:
        while running.poll() is None:
            show = pypet_sm(project, "show", project.trajectory_file).stdout
            rows = pypet_sm(project, "table", project.trajectory_file).stdout.splitlines()
            shown.append((show.splitlines()[2].strip(), len(rows) - 1))
    finally:
        assert running.wait(timeout=300) == 0
    # each call sees one whole file, the old or the new one (the merge may replace it between
    # the two calls)
    assert shown and {line for line, _ in shown} <= {
        "runs: 6 completed of 6",
        "runs: 9 completed of 9",
    }
    assert {rows for _, rows in shown} <= {6, 9}
    assert shown[0] == ("runs: 6 completed of 6", 6), shown
    out = pypet_sm(project, "show", project.trajectory_file).stdout
    assert "runs: 9 completed of 9" in out
    assert "explored 1.0..3.0 (9 runs, 3 distinct)" in out
