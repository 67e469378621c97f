"""Unit tests of a run's own semantics (issue 14): parameters locked and isolated between
runs, the run's index recorded when read, job functions that compute nothing refused, and
the format layer's check of what the trajectory file can hold."""

from __future__ import annotations

import logging
import re
import shutil
import time

import numpy as np
import pytest

import pypet_sm
from pypet_sm.errors import ConfigError, ParameterLockedException, PypetSmError, TrajectoryError
from pypet_sm.execute import job_function, plan, store
from pypet_sm.execute.run_values import protect
from pypet_sm.execute.single_run import SingleRun
from pypet_sm.hdf5 import writable
from pypet_sm.hdf5.records import Item, RunRecord

from .conftest import write_unique_module

CONFIG = {
    "trajectory": {"name": "own"},
    "parameters": {
        "w": {"value": [0.0, 1.0], "type": "array"},
        "items": {"value": [1, 2]},
        "label": "a",
        "x": 0,
    },
    "exploration": {"zip": {"x": [1, 2, 3], "items": [[1], [2], [3]]}},
    "job": "math:prod",  # planning imports the job to check it; it is never run here
}


@pytest.fixture
def traj(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    the_plan = plan.from_config(CONFIG)
    view = SingleRun(the_plan)
    view.start_run(0, the_plan.run_values(0))
    return view


@pytest.fixture
def run_view(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    the_plan = plan.from_config(CONFIG)
    view = SingleRun(the_plan)
    return the_plan, view


def test_protect_hands_out_immutables_read_only_arrays_and_copies():
    for value in (1, 1.5, "s", b"b", (1, "a"), np.float32(1), None):
        assert protect(value) is value
    array = np.zeros(3)
    view = protect(array)
    assert not view.flags.writeable and not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        view += 1
    with pytest.raises(ValueError):
        view.flags.writeable = True  # cannot be switched back on: its base is read-only too
    for value in ([1, [2]], {"a": [1]}, {1, 2}, (1, [2]), np.array([[1], None], dtype=object)):
        copied = protect(value)
        assert copied is not value


def test_no_run_sees_another_runs_changes(run_view):
    the_plan, traj = run_view
    seen = []
    for idx in range(3):
        traj.start_run(idx, the_plan.run_values(idx))
        items, w = traj.par.items, traj.w
        assert traj.items is items  # one copy per run: the run sees its own changes
        items.append(99)
        with pytest.raises(ValueError, match="read-only"):
            w[0] = 5.0
        seen.append((list(traj.items), float(traj.w.sum()), traj.label))
        assert traj.f_get("items").f_get_range() == [[1], [2], [3]]
        traj.f_get("items").f_get_range()[idx].append(7)  # a copy, too
    assert seen == [([1, 99], 1.0, "a"), ([2, 99], 1.0, "a"), ([3, 99], 1.0, "a")]
    assert the_plan.run_values(0) == {"x": 1, "items": [1]}  # the plan is untouched


@pytest.mark.parametrize(
    "code",
    [
        "traj.label = 'b'",
        "traj.par.label = 'b'",
        "traj.parameters.label = 'b'",
        "traj['label'] = 'b'",
        "del traj.label",
        "del traj.par.label",
        "traj.f_get('label').f_set('b')",
        "traj.f_get('label').f_empty()",
        "traj.f_get('label').v_comment = 'b'",
        "traj.f_get('label').values['data'] = 'b'",
        "traj.f_get('w').values = {}",
    ],
)
def test_assignments_to_parameters_are_refused_as_in_pypet(traj, code):
    name = "w" if "'w'" in code else "label"
    with pytest.raises(ParameterLockedException, match=f"Parameter `parameters.{name}` is locked!"):
        exec(code, {"traj": traj})
    assert traj.label == "a"
    assert traj.f_get("label").v_locked


def test_other_assignments_name_what_to_do(traj):
    with pytest.raises(TrajectoryError, match=r"cannot set traj.plan in a run; use traj.f_add"):
        traj.plan = 1
    with pytest.raises(TrajectoryError, match="cannot set traj.v_idx in a run: it is pypet's"):
        traj.v_idx = 3
    traj.f_add_result("z", 1)
    with pytest.raises(TrajectoryError, match="cannot set traj.results.new"):
        traj.results.new = 1


def test_the_run_records_whether_the_job_function_read_its_index(run_view):
    the_plan, traj = run_view
    traj.start_run(0, the_plan.run_values(0))
    for reader, read in (
        (lambda t: t.f_add_result("z", t.x), False),
        (lambda t: t.f_add_result("z", t.v_idx), True),
        (lambda t: t.f_add_result("z", t.v_crun), True),
        (lambda t: t.f_add_result("z", t.v_crun_), True),
        (lambda t: t.f_add_result("z", t.f_add_result("name", 1).v_full_name), True),
        (lambda t: t.f_add_result("z", t.f_add_result("name", 1).v_name), False),
        (lambda t: (t.f_add_result("name", 1), t.f_add_result("z", list(t.res.runs))), True),
        (lambda t: (t.f_add_result("name", 1), t.f_add_result("z", t.res.name)), False),
    ):
        traj.start_run(1, the_plan.run_values(1))
        assert traj.v_idx == 1  # the driver's own reads do not count
        traj.call(reader, [], {})
        assert traj.read_index is read
        assert traj.collected("results")[-1].name == "z"


def test_arguments_are_the_runs_own(run_view):
    the_plan, traj = run_view
    args, kwargs = [[1]], {"option": {"a": 1}}
    for idx in range(2):
        traj.start_run(idx, the_plan.run_values(idx))
        traj.call(lambda t, lst, option: (lst.append(2), option.update(b=2)), args, kwargs)
    assert args == [[1]] and kwargs == {"option": {"a": 1}}


def test_read_only_errors_name_the_arrays_the_run_read(run_view):
    the_plan, traj = run_view
    traj.start_run(0, the_plan.run_values(0))

    def change(t):
        w = t.par.w
        w += 1

    with pytest.raises(TrajectoryError, match=r"read-only.*parameters.w.*copy"):
        traj.call(change, [], {})


def test_job_modules_that_exit_while_imported_are_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for source, message in (
        ("import sys\nsys.exit(0)\n", "called sys.exit(0)"),
        ("import sys\nsys.exit('bye')\n", "called sys.exit('bye')"),
        ("raise KeyboardInterrupt\n", "was interrupted (Ctrl-C)"),
        ("raise GeneratorExit('odd')\n", "raised GeneratorExit: odd"),
    ):
        module = write_unique_module(tmp_path, source + "def job(traj):\n    pass\n")
        expected = re.escape(f"config field 'job': importing module '{module}' {message}")
        with pytest.raises(ConfigError, match=expected):
            job_function.load(f"{module}:job")


class _AsyncCall:
    async def __call__(self, traj):
        pass


async def _coroutine_function(traj):
    pass


def _generator_function(traj):
    yield


async def _async_generator(traj):
    yield


_ASYNC_CALL = _AsyncCall()


@pytest.mark.parametrize(
    ("function", "kind"),
    [
        ("_coroutine_function", "an async def function"),
        ("_generator_function", "a generator function"),
        ("_async_generator", "an async generator function"),
        ("_ASYNC_CALL", "an async def function"),
    ],
)
def test_job_functions_that_compute_nothing_are_refused(function, kind):
    spec = f"{__name__}:{function}"
    with pytest.raises(job_function.JobFunctionError, match=f"'{spec}' is {kind}"):
        job_function.load(spec)


@pytest.mark.parametrize(
    ("returned", "kind"),
    [
        (lambda t: _coroutine_function(t), "a coroutine"),
        (lambda t: _generator_function(t), "a generator"),
        (lambda t: _async_generator(t), "an async generator"),
    ],
)
def test_a_returned_coroutine_or_generator_fails_the_run(run_view, returned, kind):
    the_plan, traj = run_view
    traj.start_run(0, the_plan.run_values(0))
    with pytest.raises(TrajectoryError, match=f"run_00000000: the job function returned {kind}"):
        traj.call(returned, [], {})


def _header(tmp_path, read_index: bool, idx: int = 3):
    key = "ab" * 20
    shutil.rmtree(tmp_path / "fragments", ignore_errors=True)
    run = RunRecord(idx, f"run_{idx:08d}", 1.7e9, 1.7e9 + 1, True, [], [], None, "env")
    store.Writer(tmp_path, 0).append(key, run, read_index)
    return store.scan(tmp_path), key


def test_a_record_that_read_its_index_is_reused_at_that_index_only(tmp_path, caplog):
    logger = logging.getLogger("test")
    for read in (False, True):
        index, key = _header(tmp_path, read)
        entry = index.entry(key)
        assert entry is not None and (store.READ_INDEX in entry.header) is read
        for idx in (3, 0):
            todo = store.to_compute([idx], lambda _, key=key: key, index, str, logger)
            assert todo == ([idx] if read and idx != 3 else [])
    assert "0 computed again: it read its run index and now has index 0" in caplog.text


def test_writable_accepts_what_the_writer_stores():
    for values in (
        {"z": 1.0},
        {"a": "é", "b": ["x", "y"], "c": np.array(["ü"]), "d": {"k": 1.0}},
        {"nested.value": 1, "nested.other": 2},
        {"z": np.zeros((2,) * 5)},
    ):
        writable.check_item(Item("z", values, "a comment é", "Result"), parameter=False)
    writable.check_item(Item("p", {"data": 1}, "x" * 60_000, "Parameter"), parameter=True)


def test_writable_costs_microseconds_for_a_few_scalar_results():
    items = [Item(f"r{i}", {f"r{i}": float(i)}, "a comment", "Result") for i in range(5)]
    started = time.perf_counter()
    for _ in range(1000):
        for item in items:
            writable.check_item(item, parameter=False)
    per_run = (time.perf_counter() - started) / 1000
    assert per_run < 1e-4, f"{per_run * 1e6:.1f} µs per run of 5 scalar results"


def test_the_merge_names_an_old_fragment_it_cannot_store():
    run = RunRecord(0, "run_00000000", 1.7e9, 1.7e9, True, [Item("z", {"": 1})], [])
    assert writable.check_run(run) == "result 'z': it has a value named '' (HDF5 nodes need a name)"
    assert isinstance(job_function.JobFunctionError("x"), PypetSmError)
    assert pypet_sm.PickleParameter  # the classes a build hook uses stay exported


CUSTOM = """
import pypet_sm


class Tagged(pypet_sm.Parameter):
    def _load(self, values):
        self.values = {"data": list(values["data"])}
        self.loads = getattr(self, "loads", 0) + 1


def build(traj):
    traj.f_add_parameter(Tagged, "tags", [1, 2])
    traj.f_explore({"tags": [[1], [2]]})
"""


def test_parameters_of_the_users_classes_are_locked_and_the_runs_own(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, CUSTOM)
    config = {
        "trajectory": {"name": "custom"},
        "build": f"{module}:build",
        "job": "math:prod",
        "dynamically_imported_classes": [f"{module}:Tagged"],
    }
    the_plan = plan.from_config(config)
    traj = SingleRun(the_plan)
    for idx in range(2):
        traj.start_run(idx, the_plan.run_values(idx))
        leaf = traj.f_get("tags")
        assert type(leaf).__name__ == "Tagged" and isinstance(leaf, traj._custom_classes["Tagged"])
        traj.tags.append(9)  # the run's own copy
        assert traj.tags == [idx + 1, 9]
        with pytest.raises(ParameterLockedException, match="`parameters.tags` is locked"):
            leaf.loads = 0
        with pytest.raises(ParameterLockedException):
            traj.tags = [5]
        assert leaf.loads == idx + 2  # its own _load ran for each run (once when built)
        assert leaf.f_get_range() == [[1], [2]]
