"""End to end: bad input, each answered by one message that names the field, run, result or
file, without a traceback, before anything is computed (or, for run-time mistakes, in the
run's log and the workflow's summary)."""

from __future__ import annotations

import pytest
import tables

from .conftest import SIM, multiply_config

TRACEBACK = "Traceback (most recent call last)"

MODULE = (
    SIM
    + """

CONSTANT = 3


def no_arguments():
    pass


def build_fails(traj):
    raise ValueError("no parameters today")


def unpicklable(traj):
    traj.f_add_result("fine", 1.0)
    traj.f_add_result("callback", lambda: traj.x)
"""
)

BASE = """
trajectory: {name: bad}
parameters: {x: 1.0, y: 2}
job: sim:multiply
"""


def _with(**fields: str) -> str:
    return BASE + "".join(f"{key}: {value}\n" for key, value in fields.items())


def _trajectory(extra: str) -> str:
    return BASE.replace("{name: bad}", "{name: bad, " + extra + "}")


def _parameters(text: str) -> str:
    return BASE.replace("{x: 1.0, y: 2}", text)


CASES = [
    ("unknown-key", _with(runs_per_jobs="2"), ["'runs_per_jobs'", "unknown key", "runs_per_job"]),
    ("unknown-trajectory-key", _trajectory("commnt: hi"), ["'trajectory.commnt'", "unknown"]),
    ("unknown-storage-key", _with(storage="{compression: 1}"), ["storage.compression"]),
    ("runs-per-job-type", _with(runs_per_job="two"), ["'runs_per_job'", "'two'"]),
    ("args-type", _with(args="3"), ["'args'", "array"]),
    ("kwargs-type", _with(kwargs="[1]"), ["'kwargs'", "object"]),
    ("keep-going-type", _with(keep_going="maybe"), ["'keep_going'", "boolean"]),
    ("comment-type", _trajectory("comment: [1, 2]"), ["'trajectory.comment'", "string"]),
    ("layout-enum", _with(storage="{layout: flat}"), ["storage.layout", "'flat'"]),
    ("job-pattern", BASE.replace("sim:multiply", "sim.multiply"), ["'job'", "sim.multiply"]),
    ("empty-exploration", _with(exploration="{}"), ["'exploration'", "non-empty"]),
    ("empty-range", _with(exploration="{product: {x: []}}"), ["exploration", "empty"]),
    (
        "empty-factor-named",
        _with(exploration="{product: {x: [1.0, 2.0], y: []}}"),
        ["'exploration.product[1].y'", "no values for 'y'"],
    ),
    (
        "range-step-0",
        _with(exploration="{product: {y: {range: [0, 1, 0]}}}"),
        ["'exploration.product[0].y.range'", "step 0 in [0, 1, 0]"],
    ),
    (
        "float-range-step-0",
        _with(exploration="{product: {x: {range: [0.0, 1.0, 0.0]}}}"),
        ["'exploration.product[0].x.range'", "step 0 in [0.0, 1.0, 0.0]"],
    ),
    (
        "range-too-long",
        _with(exploration="{product: {x: {range: [0, 1.0e+12, 1]}}}"),
        ["'exploration.product[0].x.range'", "more than 100,000,000 values"],
    ),
    ("empty-product", _with(exploration="{product: []}"), ["exploration"]),
    (
        "product-and-zip",
        _with(exploration="{product: {x: [1.0]}, zip: {y: [1]}}"),
        ["'exploration'"],
    ),
    (
        "unequal-zip",
        _with(exploration="{zip: {x: [1.0, 2.0], y: [1]}}"),
        ["exploration.zip", "equal lengths"],
    ),
    (
        "explored-twice",
        _with(exploration="{product: [{x: [1.0]}, {x: [2.0]}]}"),
        ["exploration", "x"],
    ),
    ("explore-undefined", _with(exploration="{product: {z: [1]}}"), ["exploration", "'z'"]),
    ("group-and-leaf", _parameters("{a: 1, a.b: 2}"), ["parameters.a.b", "leaf", "group"]),
    ("leaf-and-group", _parameters("{a.b: 1, a: 2}"), ["'parameters.a'", "group already"]),
    ("name-1x", _parameters("{1x: 1}"), ["parameters.1x", "traj.1x"]),
    ("name-f_add_result", _parameters("{f_add_result: 1}"), ["f_add_result", "pypet's method"]),
    ("name-v_idx", _parameters("{v_idx: 1}"), ["v_idx", "pypet's method"]),
    ("name-keyword", _parameters("{group.class: 1}"), ["group.class", "traj.class"]),
    ("name-hyphen", _parameters("{a-b: 1}"), ["a-b"]),
    ("name-reserved", _parameters("{par: 1}"), ["'par'", "reserved"]),
    ("value-dict", _parameters("{d: {value: {a: 1}}}"), ["parameters.d"]),
    (
        "bad-dtype",
        _parameters("{v: {value: [1, 2], type: array, dtype: float99}}"),
        ["parameters.v", "float99"],
    ),
    ("job-module-missing", BASE.replace("sim:multiply", "nomodule:f"), ["'job'", "nomodule"]),
    ("job-not-callable", BASE.replace("sim:multiply", "sim:CONSTANT"), ["'job'", "not callable"]),
    (
        "job-signature",
        BASE.replace("sim:multiply", "sim:no_arguments"),
        ["'job'", "no_arguments(traj)", "too many positional"],
    ),
    ("job-kwargs", _with(kwargs="{speed: 2}"), ["'job'", "speed=2", "unexpected keyword"]),
    ("job-args", _with(args="[1, 2, 3]"), ["'job'", "multiply(traj, 1, 2, 3)"]),
    ("job-syntax-error", BASE.replace("sim:multiply", "broken:f"), ["'job'", "SyntaxError"]),
    ("build-not-callable", _with(build="sim:CONSTANT"), ["'build'", "not callable"]),
    (
        "build-raises",
        _with(build="sim:build_fails"),
        ["'build'", "ValueError: no parameters today", "sim.py:"],
    ),
    (
        "filename-unwritable",
        _trajectory("filename: /proc/no/such/t.hdf5"),
        ["trajectory.filename", "cannot write to the folder /proc/no/such"],
    ),
    (
        "filename-under-file",
        _trajectory("filename: sim.py/t.hdf5"),
        ["trajectory.filename", "sim.py is a file"],
    ),
    ("filename-is-folder", _trajectory("filename: workflow"), ["workflow is a folder"]),
    (
        "filename-not-hdf5",
        _trajectory("filename: sim.py"),
        ["trajectory.filename", "sim.py is not an HDF5 file", "never replaces"],
    ),
    (
        "filename-other-trajectory",
        _trajectory("filename: other.hdf5"),
        ["other.hdf5 holds 'someone_else', not trajectory 'bad'", "never replaces"],
    ),
    ("state-dir-file", _with(state_dir="sim.py"), ["state_dir", "sim.py is a file"]),
]


@pytest.mark.parametrize("config, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_message(project, config, expected):
    project.write_module(MODULE)
    project.write_module("def f(traj)\n    pass\n", name="broken")
    with tables.open_file(project.path / "other.hdf5", "w") as h5:
        h5.create_group("/", "someone_else")
    project.write_config(config)
    proc = project.dry_run(expect=1)
    shown = proc.stdout + proc.stderr
    for text in expected:
        assert text in shown, f"{text!r} not in the error:\n{project.describe(proc)}"
    assert TRACEBACK not in shown, project.describe(proc)
    assert "Failed validating" not in shown, project.describe(proc)
    assert not project.calls()
    # the file that is not ours is untouched
    with tables.open_file(project.path / "other.hdf5") as h5:
        assert "/someone_else" in h5


def test_an_unpicklable_result_is_named(project):
    project.write_module(MODULE)
    project.write_config(
        multiply_config(name="pickle", job="sim:unpicklable", exploration={"zip": {"x": [1.0]}})
    )
    proc = project.snakemake(expect=1)
    shown = proc.stdout + proc.stderr
    # refused where it is added (hdf5/writable.py), naming the result and why
    named = "run_00000000: result 'callback': its value 'callback' cannot be pickled"
    assert named in shown, project.describe(proc)
    assert "'fine'" not in shown.split(named)[1].split("\n")[0]
    log = (project.path / "logs/pickle/jobs/job_000000.log").read_text()
    assert named in log


def test_two_explorations_cannot_write_the_same_file(project):
    project.write_module(SIM)
    first = multiply_config(name="first", trajectory={"name": "first", "filename": "shared.hdf5"})
    project.write_config(first)
    project.snakemake()
    before = (project.path / "shared.hdf5").read_bytes()
    second = multiply_config(trajectory={"name": "second", "filename": "shared.hdf5"})
    project.write_config(second)
    proc = project.snakemake(expect=1)
    shown = proc.stdout + proc.stderr
    assert "shared.hdf5 holds 'first', not trajectory 'second'" in shown, project.describe(proc)
    assert TRACEBACK not in shown
    assert (project.path / "shared.hdf5").read_bytes() == before
    # the first exploration still runs (and re-merges) into its own file
    project.write_config(first)
    project.snakemake()


def test_a_merge_waits_for_another_into_the_same_folder_then_refuses_its_file(
    tmp_path, monkeypatch
):
    """Two explorations (from two folders) naming the same file: the merge checks and
    replaces the file under a lock, so the second one cannot replace the first's."""
    import threading

    from pypet_sm.errors import PypetSmError
    from pypet_sm.merge import write as merges

    from .conftest import compute_in_process, write_unique_module

    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, SIM)
    config = multiply_config(
        name="second", job=f"{module}:multiply", trajectory={"name": "second", "filename": "t.h5"}
    )
    plan = compute_in_process(config)
    target = tmp_path / "t.h5"
    target.unlink()
    outcome = {}

    def second_merge():
        try:
            merges.merge(plan, target)
            outcome["result"] = "merged"
        except PypetSmError as error:
            outcome["result"] = str(error)

    with merges.target_lock(target):  # the first exploration's merge, in progress
        thread = threading.Thread(target=second_merge)
        thread.start()
        thread.join(timeout=1.5)
        assert thread.is_alive(), "the second merge waits for the first"
        with tables.open_file(target, "w") as h5:  # the first one's file appears
            h5.create_group("/", "first")
    thread.join(timeout=60)
    assert "t.h5 holds 'first', not trajectory 'second'" in outcome["result"]
    with tables.open_file(target) as h5:
        assert "/first" in h5
