"""End to end: every value type goes fragment -> trajectory file -> load_trajectory unchanged.

Values must come back equal and of the SAME Python type (numpy scalars as numpy scalars,
tuples as tuples, arrays with their dtype and shape).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from .conftest import assert_same

TYPES_SIM = '''
import numpy as np
import pypet_sm


class Point:
    """A user class: stored by pickling."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return f"Point({self.x}, {self.y})"


def plain_results(idx):
    """Results of types pypet stores natively."""
    return {
        "b_true": True,
        "b_false": False,
        "i": 42 + idx,
        "i_neg": -7,
        "i_big": 2**40,
        "f": 3.25 + idx,
        "c": complex(1, 2 + idx),
        "s": "hello",
        "s_empty": "",
        "s_unicode": "Grüße ∂ 日本 🐍",
        "by": b"raw bytes",
        "by_empty": b"",
        "np_f32": np.float32(1.5),
        "np_f64": np.float64(2.5),
        "np_i16": np.int16(-3),
        "np_i32": np.int32(7),
        "np_i64": np.int64(2**40),
        "np_u8": np.uint8(200),
        "np_c64": np.complex64(1 - 1j),
        "np_bool": np.bool_(True),
        "arr_f": np.linspace(0, 1, 5) + idx,
        "arr_i2d": np.arange(6, dtype=np.int64).reshape(2, 3),
        "arr_b": np.array([True, False, True]),
        "arr_f32_2d": np.ones((2, 2), dtype=np.float32),
        "arr_i16": np.array([1, -2], dtype=np.int16),
        "arr_empty": np.array([]),
        "arr_0d": np.array(3.0),
        "l_i": [1, 2, 3 + idx],
        "l_f": [1.5, 2.5],
        "l_s": ["a", "bé"],
        "l_b": [True, False],
        "l_empty": [],
        "t_i": (1, 2),
        "t_s": ("x",),
        "t_f": (0.5, 1.5, 2.5),
        "t_empty": (),
        "d": {"a": 1, "b": 2.5, "c": "s"},
        "d_arr": {"arr": np.arange(3), "lst": [1, 2]},
        "d_empty": {},
    }


def pickled_results(idx):
    """Results pypet's plain Result cannot hold: they need pickling."""
    return {
        "point": Point(1, idx),
        "none": None,
        "l_mixed": [1, "a", 2.5],
        "l_nested": [[1, 2], [3]],
        "t_mixed": (1.0, "a"),
        "d_nested": {"inner": {"x": 1}},
        "d_keys": {"a b": 1, 3: "x"},
    }


def derived(idx):
    return {
        "dp_i": 3 + idx,
        "dp_f": 0.25,
        "dp_b": False,
        "dp_c": 1j,
        "dp_s": "dé",
        "dp_arr": np.arange(4.0),
        "dp_l": [1, 2],
        "dp_t": (1.5, 2.5),
        "dp_np": np.int16(5),
    }


def store_plain(traj, echo):
    for name, value in plain_results(traj.v_idx).items():
        traj.f_add_result(name, value, comment=f"{name}: a {type(value).__name__}")
    traj.f_add_result("multi", a=1, b=np.arange(3), c="s", comment="several values")
    traj.f_add_result(pypet_sm.PickleResult, "pickled", Point(3, traj.v_idx))
    traj.f_add_result("nested.group.value", 5.5)
    for name, value in derived(traj.v_idx).items():
        traj.f_add_derived_parameter(name, value)
    traj.f_add_derived_parameter(pypet_sm.PickleParameter, "dp_obj", Point(5, 6))
    for name in echo:
        traj.f_add_result("echo." + name, traj[name])


def store_pickled(traj):
    for name, value in pickled_results(traj.v_idx).items():
        traj.f_add_result(name, value)
'''

PARAMETERS = """
parameters:
  p.bool: {value: true, comment: a bool}
  p.int: {value: 3}
  p.float: 2.5
  p.complex: {value: "1+2j", type: complex}
  p.complex_pair: {value: [0.5, -1.0], type: complex}
  p.str: {value: héllo}
  p.str_empty: ""
  p.list: [1, 2, 3]
  p.tuple: {value: [1.0, 2.0], type: tuple}
  p.array: {value: [[1, 2], [3, 4]], type: array, dtype: int16}
  p.array_f: {value: [0.5, 1.5], type: array}
  p.bytes: {value: abc, type: bytes}
  p.float32: {value: 0.5, type: float32}
  e.int: 0
  e.float: 0.0
  e.str: ""
  e.bool: false
  e.complex: {value: 0, type: complex}
  e.array: {value: [0, 0], type: array, dtype: int16}
  e.tuple: {value: [0, 0], type: tuple}
  e.list: [0.0]
  e.float32: {value: 0, type: float32}
"""

EXPLORED = {
    "e.int": [1, 2],
    "e.float": [0.5, 1.0],
    "e.str": ["a", "bé"],
    "e.bool": [True, False],
    "e.complex": [complex(1, 1), complex(2, -1)],
    "e.array": [np.array([1, 2], dtype=np.int16), np.array([3, 4], dtype=np.int16)],
    "e.tuple": [(1, 2), (3, 4)],
    "e.list": [[1.5, 0.5], [2.5, 3.5]],
    "e.float32": [np.float32(1.5), np.float32(2.5)],
}

EXPLORATION = """
exploration:
  zip:
    e.int: [1, 2]
    e.float: [0.5, 1]
    e.str: [a, bé]
    e.bool: [true, false]
    e.complex: ["1+1j", [2, -1]]
    e.array: [[1, 2], [3, 4]]
    e.tuple: [[1, 2], [3, 4]]
    e.list: [[1.5, 0.5], [2.5, 3.5]]
    e.float32: [1.5, 2.5]
"""

DEFAULTS = {
    "p.bool": True,
    "p.int": 3,
    "p.float": 2.5,
    "p.complex": complex(1, 2),
    "p.complex_pair": complex(0.5, -1.0),
    "p.str": "héllo",
    "p.str_empty": "",
    "p.list": [1, 2, 3],
    "p.tuple": (1.0, 2.0),
    "p.array": np.array([[1, 2], [3, 4]], dtype=np.int16),
    "p.array_f": np.array([0.5, 1.5]),
    "p.bytes": b"abc",
    "p.float32": np.float32(0.5),
    "e.int": 0,
    "e.float": 0.0,
    "e.str": "",
    "e.bool": False,
    "e.complex": complex(0, 0),
    "e.array": np.array([0, 0], dtype=np.int16),
    "e.tuple": (0, 0),
    "e.list": [0.0],
    "e.float32": np.float32(0.0),
}


def _import_sim(project, monkeypatch):
    """The project's job module, imported here too (the expected values and the class that
    pickled results refer to)."""
    monkeypatch.syspath_prepend(str(project.path))
    monkeypatch.delitem(sys.modules, "sim", raising=False)
    import sim

    return sim


@pytest.fixture
def typed_project(project):
    project.write_module(TYPES_SIM)
    return project


def test_plain_values_parameters_and_explored_values_round_trip(typed_project, monkeypatch):
    project = typed_project
    echo = list(EXPLORED) + ["p.complex", "p.tuple", "p.array", "p.bytes", "p.float32"]
    project.write_config(
        "trajectory: {name: types}\n"
        + PARAMETERS
        + EXPLORATION
        + "job: sim:store_plain\n"
        + f"kwargs: {{echo: [{', '.join(echo)}]}}\n"
        + "runs_per_job: 1\n"
    )
    project.snakemake()
    sim = _import_sim(project, monkeypatch)
    with project.load() as traj:
        assert len(traj) == 2
        # parameter defaults
        for name, expected in DEFAULTS.items():
            assert_same(traj.f_get(f"parameters.{name}").f_get(), expected, f"default of {name}")
            assert_same(traj.par[name], expected, f"traj.par[{name!r}]")
        assert traj.f_get("parameters.p.bool").v_comment == "a bool"
        # explored ranges
        explored = traj.f_get_explored_parameters()
        assert set(explored) == {f"parameters.{name}" for name in EXPLORED}
        for name, expected in EXPLORED.items():
            assert_same(explored[f"parameters.{name}"].f_get_range(), expected, f"range {name}")
        for idx in range(2):
            run = f"run_{idx:08d}"
            results = traj.f_get(f"results.runs.{run}")
            for name, expected in sim.plain_results(idx).items():
                assert_same(results[name], expected, f"{run} result {name}")
                if idx == 0:
                    comment = results.f_get(name).v_comment
                    assert comment == f"{name}: a {type(expected).__name__}", f"{name} comment"
            multi = results.f_get("multi")
            assert set(multi.values) == {"a", "b", "c"}
            assert_same(multi.a, 1, "multi.a")
            assert_same(multi.f_get("b"), np.arange(3), "multi.b")
            assert_same(multi.c, "s", "multi.c")
            assert_same(results.pickled, sim.Point(3, idx), "pickled")
            assert_same(results.nested.group.value, 5.5, "nested.group.value")
            assert_same(traj[f"results.runs.{run}.nested.group.value"], 5.5, "by full name")
            derived = traj.f_get(f"derived_parameters.runs.{run}")
            for name, expected in sim.derived(idx).items():
                assert_same(derived[name], expected, f"{run} derived {name}")
            assert_same(derived.dp_obj, sim.Point(5, 6), "derived dp_obj")
            # what the job function saw: explored values of the run, defaults otherwise
            for name in echo:
                expected = EXPLORED[name][idx] if name in EXPLORED else DEFAULTS[name]
                assert_same(results.echo[name], expected, f"{run}: traj[{name!r}] in the job")


def test_values_that_need_pickling_round_trip(typed_project, monkeypatch):
    # results pypet's Result cannot store as they are (objects, None, mixed or nested
    # containers), and an explored list parameter whose lists differ in length, must be
    # stored by a class that can hold them (pickled or ArrayParameter), not crash the merge
    project = typed_project
    project.write_config(
        """
        trajectory: {name: pickled}
        parameters: {x: 0, lengths: [0.0]}
        exploration: {zip: {x: [0, 1], lengths: [[1.5], [2.5, 3.5]]}}
        job: sim:store_pickled
        """
    )
    project.snakemake()
    sim = _import_sim(project, monkeypatch)
    with project.load() as traj:
        lengths = traj.f_get_explored_parameters()["parameters.lengths"].f_get_range()
        assert_same(lengths, [[1.5], [2.5, 3.5]], "range of lengths")
        for idx in range(2):
            results = traj.f_get(f"results.runs.run_{idx:08d}")
            for name, expected in sim.pickled_results(idx).items():
                assert_same(results[name], expected, f"run {idx} result {name}")
