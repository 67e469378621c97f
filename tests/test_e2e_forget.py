"""End to end: `pypet-sm forget` makes the next snakemake compute exactly the chosen runs again
(each selector, the code digest, the lock, bad selectors), and `pypet-sm status` says how many
runs were computed by code that changed and gives a correct hint after an extension."""

from __future__ import annotations

import time

from pypet_sm.define import validate

from .conftest import SIM
from .test_cli import pypet_sm

# SIM's record_call and a job function that fails while the file `failing` exists (for x < 2)
# and sleeps while the file `slow` exists
MODULE = (
    SIM
    + """

def work(traj):
    record_call(traj, traj.x, traj.y)
    if os.path.exists("slow"):
        time.sleep(2.0)
    if os.path.exists("failing") and traj.x < 2:
        raise ValueError(f"failing for x = {traj.x}")
    traj.f_add_result("z", traj.x * traj.y, comment="x * y")
"""
)
X = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
Y = [10, 20]


def _config() -> dict:
    return {
        "trajectory": {"name": "forget"},
        "parameters": {"x": 0.0, "y": 0},
        "exploration": {"product": {"x": X, "y": Y}},
        "job": "sim:work",
        "runs_per_job": 3,  # 12 runs in 4 jobs
        "keep_going": True,
    }


def _points() -> list[tuple[float, int]]:
    return [(x, y) for x in X for y in Y]  # product order: the last parameter varies fastest


class Calls:
    """Which runs each snakemake computed: the new lines of calls.txt."""

    def __init__(self, project) -> None:
        self.project = project
        self.seen = 0

    def new(self) -> list[int]:
        calls = self.project.calls()
        fresh = sorted(call[0] for call in calls[self.seen :])
        self.seen = len(calls)
        return fresh


def _nothing_to_do(project) -> bool:
    proc = project.dry_run()
    return "Nothing to be done" in proc.stdout + proc.stderr


def _fragment_times(project) -> dict[int, float]:
    """Run index -> finish time of its completed record in the fragment store."""
    return {idx: body["finish"] for idx, (_, body) in project.fragments("completed").items()}


def _recomputed_exactly(project, calls: Calls, expected: set[int]) -> None:
    """snakemake computes exactly `expected`; the other runs' fragments stay untouched."""
    before = _fragment_times(project)
    proc = project.snakemake()
    assert calls.new() == sorted(expected)
    # the merge knows the file it replaces as its own: nothing to carry over or keep beside
    assert "carried over" not in proc.stderr, proc.stderr
    assert "kept the previous trajectory file" not in proc.stderr, proc.stderr
    after = _fragment_times(project)
    assert len(after) == len(_points()), after
    kept = {idx: t for idx, t in before.items() if idx not in expected}
    assert {idx: after[idx] for idx in kept} == kept
    with project.load() as traj:  # merged: every run completed
        assert [float(z) for z in traj.runs_table()["z"]] == [x * y for x, y in _points()]


def test_each_selector_recomputes_exactly_its_runs(project):
    project.write_module(MODULE)
    project.write_config(_config())
    (project.path / "failing").touch()
    project.snakemake()
    calls = Calls(project)
    assert calls.new() == list(range(12))
    failed = {i for i, (x, _) in enumerate(_points()) if x < 2}
    assert set(project.fragments("failed")) == failed

    # --failed (the failures are fixed meanwhile); --dry-run first changes nothing
    (project.path / "failing").unlink()
    manifests = sorted((project.state / "manifests").iterdir())
    out = pypet_sm(project, "forget", "--failed", "--dry-run").stdout
    assert "would forget 4 runs (--failed): run_00000000, run_00000001, run_00000002" in out
    assert "dry run: nothing changed" in out
    assert sorted((project.state / "manifests").iterdir()) == manifests
    assert set(project.fragments("failed")) == failed
    out = pypet_sm(project, "forget", "--failed").stdout
    assert "forgot 4 runs (--failed)" in out and "2 jobs to run again" in out, out
    _recomputed_exactly(project, calls, failed)

    # --runs
    pypet_sm(project, "forget", "--runs", "1,7-8")
    # the merge record is moved aside (so snakemake merges again), and the merge still knows
    # the trajectory file as the one it wrote, not as a file the user stored things in
    assert not validate.merge_record(project.state).exists()
    assert validate.written_by_us(project.state, project.trajectory_file)
    _recomputed_exactly(project, calls, {1, 7, 8})

    # --where, and two selectors together: a run must match both
    pypet_sm(project, "forget", "--where", "x > 3.5 and y == 20")
    _recomputed_exactly(
        project, calls, {i for i, (x, y) in enumerate(_points()) if x > 3.5 and y == 20}
    )
    pypet_sm(project, "forget", "--where", "not (x < 4) or x == 0", "--runs", "0-9")
    _recomputed_exactly(project, calls, {0, 1, 8, 9})

    # --all: the recipe to recompute everything
    out = pypet_sm(project, "forget", "--all").stdout
    assert "forgot 12 runs (--all)" in out and "12 stored results removed" in out, out
    _recomputed_exactly(project, calls, set(range(12)))

    # a selection matching nothing changes nothing
    out = pypet_sm(project, "forget", "--failed").stdout
    assert "no run matches --failed: nothing forgotten" in out
    assert _nothing_to_do(project)


def test_code_changed_runs_are_counted_and_recomputed(project):
    project.write_module(MODULE)
    project.write_config(_config())
    project.snakemake()
    calls = Calls(project)
    calls.new()
    out = pypet_sm(project, "status").stdout
    assert "computed by another version" not in out
    assert "no run matches --code-changed" in pypet_sm(project, "forget", "--code-changed").stdout

    # an edit of the job module: every done run was computed by the old version
    project.write_module(MODULE + "\n# edited\n")
    out = pypet_sm(project, "status").stdout
    assert "12 of the done runs were computed by another version of the job module (sim)" in out
    pypet_sm(project, "forget", "--runs", "0-2")
    _recomputed_exactly(project, calls, {0, 1, 2})  # these with the new code
    out = pypet_sm(project, "status").stdout
    assert "9 of the done runs were computed by another version" in out
    pypet_sm(project, "forget", "--code-changed")
    _recomputed_exactly(project, calls, set(range(3, 12)))
    out = pypet_sm(project, "status").stdout
    assert "computed by another version" not in out


def test_bad_selectors_and_a_running_snakemake_are_refused(project):
    project.write_module(MODULE)
    project.write_config(_config())
    project.snakemake()
    manifests = sorted((project.state / "manifests").iterdir())
    fragments = _fragment_times(project)
    cases = {
        (): "say which runs",
        ("--all", "--failed"): "--all selects every run; it cannot go with --failed",
        ("--runs", "12"): "'12' is outside the exploration's runs 0-11",
        ("--runs", "3-a"): "'3-a' is not a run index or a range like 7-9",
        ("--runs", "5-2"): "the range '5-2' is empty",
        ("--where", "z > 1"): "'z' is not an explored parameter (explored: x, y)",
        ("--where", "x >"): "not a condition",
        ("--where", "__import__('os').system('touch hacked')"): "is not accepted",
        ("--where", "x.real > 1"): "'x.real' is not an explored parameter",
        ("--where", "x + 1 > 2"): "'x + 1' is not accepted",
        ("--where", "x > 'a'"): "cannot be decided for the run with {'x': 0.0, 'y': 10}",
    }
    for args, message in cases.items():
        proc = pypet_sm(project, "forget", *args, expect=2)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pypet-sm: forget: "), (args, proc.stderr)
        assert message in lines[0], (args, lines[0])
    assert not (project.path / "hacked").exists()
    assert sorted((project.state / "manifests").iterdir()) == manifests
    assert _fragment_times(project) == fragments

    # while a snakemake runs in the project, forget is refused and changes nothing
    pypet_sm(project, "forget", "--all")
    (project.path / "slow").touch()
    running = project.start_snakemake(log=project.path / "running.log")
    try:
        deadline = time.monotonic() + 120
        while not (project.path / "calls.txt").exists() or len(project.calls()) <= 12:
            assert running.poll() is None, (project.path / "running.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        during = _fragment_times(project)
        proc = pypet_sm(project, "forget", "--runs", "0", expect=2)
        assert "forget: nothing forgotten: another snakemake is running" in proc.stderr
    finally:
        (project.path / "slow").unlink()
        assert running.wait(timeout=300) == 0, (project.path / "running.log").read_text()
    after = _fragment_times(project)
    assert {idx: after.get(idx) for idx in during} == during  # what was there stays
    assert len(after) == 12


EXTENDED = {
    "trajectory": {"name": "extended"},
    "parameters": {"x": 0.0},
    "exploration": {"zip": {"x": [float(i) for i in range(10)]}},
    "job": "sim:multiply",
    "runs_per_job": 4,  # runs 8-9 in a job of their own, which the extension grows
}


def test_status_after_an_extension_and_after_removed_fragments(project):
    project.write_module(SIM)
    config = {**EXTENDED, "parameters": {"x": 0.0, "y": 2, "offset": 0.0}}
    project.write_config(config)
    project.snakemake()
    calls = Calls(project)
    calls.new()
    # extended: run 10 joins the last job, whose manifest is now another plan's; a plain
    # snakemake computes it, and status must not send the user elsewhere
    config["exploration"] = {"zip": {"x": [float(i) for i in range(11)]}}
    project.write_config(config)
    out = pypet_sm(project, "status").stdout
    assert "extended: 10 done, 0 failed, 1 missing of 11 runs" in out
    assert "belong to jobs that finished" not in out and "--forcerun" not in out, out
    project.snakemake()
    assert calls.new() == [10]

    # records removed by hand (a segment deleted) after their job finished: status counts
    # them and says that a plain snakemake runs their jobs again, which it does
    sorted(project.fragment_files())[0].unlink()
    gone = sorted(set(range(11)) - set(project.fragments_by_idx()))
    assert gone and not _nothing_to_do(project)
    out = pypet_sm(project, "status").stdout
    line = next(line for line in out.splitlines() if "belong to jobs that finished" in line)
    assert f"{len(gone)} of the missing runs" in line, line
    assert "`snakemake --cores N` runs those jobs again" in line, line
    project.snakemake()
    assert calls.new() == gone
