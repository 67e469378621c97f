"""The table of value types (pypet_sm.define.value_types) and what both layouts give back.

Every supported kind goes through config typing (where a config can say it), a real
snakemake run in both storage layouts and the loader: both layouts must give back the same
value of the same type, and the value that was stored. Where we differ from pypet 0.7 on
purpose (values pypet's Result refuses are pickled here instead of failing), the table says
so and `test_table_matches_pypet` checks the rest against pypet itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pypet_sm.analysis.pypet_api import base_class
from pypet_sm.analysis.tree import PickledLeaf
from pypet_sm.define import value_types, values
from pypet_sm.define.naming import Leaf
from pypet_sm.execute import fragment

from .conftest import Project, assert_same

# ---------------------------------------------------------------------------------------------
# the table itself

F16 = np.float16(1.5)
DT = np.datetime64("2020-01-02")
TD = np.timedelta64(3, "s")

# value, parameter scalar, pypet class as result, as parameter, stack kind (None: not stacked)
ROWS = [
    (True, True, "Result", "Parameter", "bool"),
    (3, True, "Result", "Parameter", "int"),
    (2**70, True, "PickleResult", "PickleParameter", None),  # beyond int64
    (1.5, True, "Result", "Parameter", "float"),
    (1 + 2j, True, "Result", "Parameter", "complex"),
    ("s", True, "Result", "Parameter", None),
    ("s\0", True, "PickleResult", "PickleParameter", None),  # HDF5 drops trailing NULs
    (b"b", True, "Result", "Parameter", None),
    (np.bool_(True), True, "Result", "Parameter", "numpy"),
    (np.int8(-3), True, "Result", "Parameter", "numpy"),
    (np.uint64(2**63), True, "Result", "Parameter", "numpy"),
    (np.float32(0.5), True, "Result", "Parameter", "numpy"),
    (np.complex64(1j), True, "Result", "Parameter", "numpy"),
    (np.bytes_(b"x"), True, "Result", "Parameter", None),
    # pypet's Result refuses these scalars (TypeError): pickled, in both layouts
    (F16, True, "PickleResult", "PickleParameter", None),
    (np.longdouble(0.25), True, "PickleResult", "PickleParameter", None),
    (np.str_("u"), True, "PickleResult", "PickleParameter", None),
    (DT, True, "PickleResult", "PickleParameter", None),
    (TD, True, "PickleResult", "PickleParameter", None),
    (None, False, "PickleResult", "PickleParameter", None),
    ({1, 2}, False, "PickleResult", "PickleParameter", None),
    (np.arange(3.0), False, "Result", "Parameter", "ndarray"),
    (np.ones(2, dtype=np.float16), False, "Result", "Parameter", "ndarray"),
    (np.array(2.0), False, "Result", "ArrayParameter", "ndarray"),  # 0-d
    (np.array([]), False, "Result", "ArrayParameter", None),  # empty
    (np.array(["a", "bc"]), False, "Result", "ArrayParameter", None),
    (np.array([1, "a"], dtype=object), False, "PickleResult", "PickleParameter", None),
    (np.array([DT]), False, "PickleResult", "PickleParameter", None),
    (np.array([TD]), False, "PickleResult", "PickleParameter", None),
    ([1, 2], False, "Result", "Parameter", None),
    (("a", "b"), False, "Result", "Parameter", None),
    ([], False, "Result", "ArrayParameter", None),
    ([1, "a"], False, "PickleResult", "PickleParameter", None),
    ([F16], False, "PickleResult", "PickleParameter", None),
    ({"a": 1, "b": 2.5}, False, "Result", "PickleParameter", None),
    ({}, False, "Result", "PickleParameter", None),
    ({"a": {"b": 1}}, False, "PickleResult", "PickleParameter", None),
    ({"a": F16}, False, "PickleResult", "PickleParameter", None),
]


@pytest.mark.parametrize(("value", "scalar", "result", "parameter", "stack"), ROWS, ids=repr)
def test_table_answers(value, scalar, result, parameter, stack):
    assert value_types.is_parameter_scalar(value) is scalar
    assert value_types.result_class({"x": value}, None) == result
    assert value_types.parameter_class(value, None, None) == parameter
    signature = value_types.stack_signature(value)
    assert (signature[0] if signature else None) == stack
    if stack is not None:  # stacked exactly what pypet's layout stores natively
        assert result == "Result"


def test_real_numbers_and_runs_table_scalars():
    for value in (True, 1, 1.5, np.bool_(False), np.int16(2), F16, np.longdouble(1)):
        assert value_types.is_real(value), value
    for value in (1j, "1", b"1", None, np.arange(2), DT):
        assert not value_types.is_real(value), value
    assert not value_types.is_number(True) and not value_types.is_number(np.bool_(True))
    assert value_types.is_number(F16) and value_types.is_number(3)
    for value in (1, "s", 1j, F16, DT, np.bytes_(b"x")):
        assert value_types.is_runs_table_scalar(value), value
    for value in (b"x", None, [1], np.arange(2)):
        assert not value_types.is_runs_table_scalar(value), value


def test_subclasses_count_as_their_base_but_are_not_stored_natively():
    import enum

    class Level(enum.IntEnum):
        LOW = 1

    assert value_types.is_real(Level.LOW) and value_types.is_parameter_scalar(Level.LOW)
    assert value_types.encodes_once(Level)
    assert value_types.result_class({"x": Level.LOW}, None) == "PickleResult"
    assert value_types.stack_signature(Level.LOW) is None


def test_point_keys_encode_python_scalars_once():
    assert value_types.encodes_once(float) and value_types.encodes_once(np.float64)
    assert not value_types.encodes_once(np.int64) and not value_types.encodes_once(list)


def test_requested_classes_are_kept_unless_they_cannot_hold_the_values():
    assert value_types.result_class({"x": 1}, "PickleResult") == "PickleResult"
    assert value_types.result_class({"x": None}, "Result") == "PickleResult"
    assert value_types.parameter_class([1, 2], [[1]], "Parameter") == "ArrayParameter"
    assert value_types.parameter_class(1, None, "PickleParameter") == "PickleParameter"


def test_pypet_type_names_round_trip():
    for kind, name in value_types.PYPET_TYPE_NAMES.items():
        assert value_types.TYPES_BY_PYPET_NAME[name] is kind
    assert np.float16 not in value_types.PYPET_TYPE_NAMES


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("float16", 1.5, F16),
        ("bool_", True, np.bool_(True)),
        ("datetime64", "2020-01-02", DT.astype("datetime64[D]")),
        ("timedelta64", 3, np.timedelta64(3)),
        ("longdouble", 0.25, np.longdouble(0.25)),
        ("half", 1.5, F16),  # numpy's alias of a table type
        ("uint8", 7, np.uint8(7)),
    ],
)
def test_config_typing_of_numpy_scalars(kind, raw, expected):
    assert_same(values.convert(raw, kind), expected, kind)


def test_config_rejects_numpy_types_outside_the_table():
    with pytest.raises(values.ValueTypeError, match="numpy scalar types are"):
        values.convert(1, "void")


def test_point_keys_of_object_arrays_are_stable():
    first = np.array([1, "a"], dtype=object)
    second = np.array([1, "a".upper().lower()], dtype=object)  # another str object
    assert values.canonical(first) == values.canonical(second)
    assert values.canonical(first) != values.canonical(np.array([1, "b"], dtype=object))


# ---------------------------------------------------------------------------------------------
# a real run in both layouts

SIM = """
import numpy as np


class Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return type(other) is Point and other.x == self.x


def results(idx):
    return {
        "py_bool": idx == 0, "py_int": 3 + idx, "py_big": 2**70, "py_float": 1.5 + idx,
        "py_complex": complex(1, idx), "py_str": "s", "py_str_nul": "s\\0", "py_bytes": b"b",
        "py_none": None, "py_set": {1, 2}, "obj": Point(idx),
        "np_bool": np.bool_(idx == 1), "np_i8": np.int8(-3), "np_i64": np.int64(idx),
        "np_u64": np.uint64(2**63), "np_f32": np.float32(0.5), "np_f64": np.float64(idx),
        "np_c64": np.complex64(1j), "np_c128": np.complex128(idx), "np_bytes": np.bytes_(b"x"),
        "np_f16": np.float16(1.5 + idx), "np_longdouble": np.longdouble(0.25),
        "np_clongdouble": np.clongdouble(1j), "np_str": np.str_("u"),
        "np_dt": np.datetime64("2020-01-02") + idx, "np_td": np.timedelta64(3 + idx, "s"),
        "a_f": np.arange(3.0) + idx, "a_f16": np.ones(2, dtype=np.float16), "a_0d": np.array(2.0),
        "a_bool": np.array([True, False]), "a_i2d": np.arange(4).reshape(2, 2),
        "a_empty": np.array([]), "a_str": np.array(["a", "bc"]), "a_bytes": np.array([b"x"]),
        "a_obj": np.array([1, "a"], dtype=object), "a_dt": np.array(["2020-01-02"], "M8[D]"),
        "a_td": np.array([3], "m8[s]"), "a_longdouble": np.ones(2, dtype=np.longdouble),
        "l_int": [1, 2], "t_str": ("a", "b"), "l_empty": [], "l_mixed": [1, "a"],
        "l_f16": [np.float16(1)], "d_flat": {"a": 1, "b": 2.5}, "d_empty": {},
        "d_nested": {"a": {"b": 1}}, "d_f16": {"a": np.float16(1)},
    }


def derived(idx):
    return {
        "dp_f16": np.float16(idx), "dp_bool": np.bool_(True), "dp_dt": np.datetime64("2021-01-01"),
        "dp_0d": np.array(1.5), "dp_obj": np.array([None], dtype=object), "dp_arr": np.arange(2),
        "dp_list": [1.5, 2.5], "dp_int": idx,
    }


def job(traj):
    for name, value in results(traj.v_idx).items():
        traj.f_add_result(name, value)
    for name, value in derived(traj.v_idx).items():
        traj.f_add_derived_parameter(name, value)
"""

CONFIG = """
trajectory: {{name: kinds}}
parameters:
  p.f16: {{value: 1.5, type: float16}}
  p.bool_: {{value: true, type: bool_}}
  p.dt: {{value: "2020-01-02", type: datetime64}}
  p.td: {{value: 3, type: timedelta64}}
  p.longdouble: {{value: 0.25, type: longdouble}}
  p.obj: {{value: [1, a], type: array, dtype: object}}
  p.arr16: {{value: [1.5, 2], type: array, dtype: float16}}
  e.f16: {{value: 0, type: float16}}
exploration: {{zip: {{e.f16: [0.5, 1.5]}}}}
job: sim:job
storage: {{layout: {layout}}}
"""

PARAMETERS = {
    "p.f16": F16,
    "p.bool_": np.bool_(True),
    "p.dt": np.datetime64("2020-01-02"),
    "p.td": np.timedelta64(3),
    "p.longdouble": np.longdouble(0.25),
    "p.obj": np.array([1, "a"], dtype=object),
    "p.arr16": np.array([1.5, 2], dtype=np.float16),
    "e.f16": np.float16(0),
}


def _run(tmp_path, layout: str) -> Project:
    directory = tmp_path / layout
    directory.mkdir()
    project = Project(directory)
    project.write_module(SIM)
    project.write_config(CONFIG.format(layout=layout))
    project.snakemake()
    return project


def _contents(project: Project) -> dict[str, tuple[object, str | None]]:
    """Full name -> (value, pypet class) of every parameter, result and derived parameter,
    and the runs table's columns."""
    found: dict[str, tuple[object, str | None]] = {}
    with project.load() as traj:
        for name in PARAMETERS:
            leaf = traj.f_get(f"parameters.{name}")
            found[f"parameters.{name}"] = (leaf.f_get(), leaf.v_class_name)
        explored = traj.f_get_explored_parameters()["parameters.e.f16"].f_get_range()
        found["range e.f16"] = (explored, None)
        for idx in range(2):
            for branch in ("results", "derived_parameters"):
                for name, leaf in traj.run_leaves(branch, f"run_{idx:08d}"):
                    # a plain leaf, no user class (pickles load lazily: PickledLeaf)
                    assert base_class(leaf) in (Leaf, PickledLeaf)
                    found[f"{branch}.{idx}.{name}"] = (leaf.f_get(), leaf.v_class_name)
        table = traj.runs_table()
        found["runs_table"] = (sorted(table.columns), None)
    return found


@pytest.fixture(scope="module")
def both_layouts(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("kinds")
    return {layout: _run(tmp_path, layout) for layout in ("pypet", "stacked")}


def test_both_layouts_give_back_the_same_values_and_types(both_layouts, monkeypatch):
    monkeypatch.syspath_prepend(str(both_layouts["pypet"].path))
    monkeypatch.delitem(sys.modules, "sim", raising=False)
    import sim

    pypet_layout, stacked = (_contents(both_layouts[layout]) for layout in ("pypet", "stacked"))
    assert set(pypet_layout) == set(stacked)
    for name, (value, class_name) in pypet_layout.items():
        assert_same(stacked[name][0], value, f"stacked {name}")
        assert stacked[name][1] == class_name, f"{name}: class {stacked[name][1]} != {class_name}"

    for name, expected in PARAMETERS.items():
        assert_same(pypet_layout[f"parameters.{name}"][0], expected, name)
    assert_same(pypet_layout["range e.f16"][0], [np.float16(0.5), np.float16(1.5)], "range")
    for idx in range(2):
        for branch, made in (("results", sim.results(idx)), ("derived_parameters", sim.derived)):
            stored = made if branch == "results" else made(idx)
            for name, expected in stored.items():
                got, class_name = pypet_layout[f"{branch}.{idx}.{name}"]
                if name == "obj":
                    assert got == expected and class_name == "PickleResult"
                    continue
                assert_same(got, expected, f"{branch} {name} of run {idx}")
                if branch == "results":
                    assert class_name == value_types.result_class({name: expected}, None), name


def test_the_job_decides_the_class_and_the_fragment_carries_it(both_layouts, monkeypatch):
    project = both_layouts["stacked"]
    monkeypatch.syspath_prepend(str(project.path))  # the fragment pickles a sim.Point
    monkeypatch.delitem(sys.modules, "sim", raising=False)
    (_, body), *_ = project.fragments(fragment.COMPLETED).values()
    classes = {item["name"]: item["class_name"] for item in body["results"]}
    assert classes["np_f16"] == "PickleResult" and classes["py_float"] == "Result"
    assert classes["a_obj"] == "PickleResult" and classes["a_f16"] == "Result"
    derived = {item["name"]: item["class_name"] for item in body["derived_parameters"]}
    assert derived["dp_0d"] == "ArrayParameter" and derived["dp_int"] == "Parameter"
    assert derived["dp_f16"] == "PickleParameter"


# ---------------------------------------------------------------------------------------------
# the table against pypet 0.7 itself

PYPET_PROBE = """
import json, sys, warnings, logging
import numpy as np
warnings.simplefilter("ignore"); logging.disable(logging.CRITICAL)
from pypet import Trajectory
names = json.loads(sys.argv[1])
found = {}
for name in names:
    module, _, short = name.partition(".")
    kind = getattr(np, short) if module == "np" else getattr(__builtins__, short)
    value = kind(1, "s") if short in ("datetime64", "timedelta64") else kind(1)
    traj = Trajectory("t", filename=sys.argv[2], overwrite_file=True)
    try:
        traj.f_add_result("x", value)
        traj.f_store()
    except (TypeError, ValueError):
        found[name] = None
        continue
    loaded = Trajectory(filename=sys.argv[2])
    loaded.f_load(name="t", load_results=2, force=True)
    found[name] = type(loaded.f_get("results.x").f_get()).__name__
print(json.dumps(found))
"""


@pytest.mark.skipif(not os.environ.get("PYPET_PYTHON"), reason="needs PYPET_PYTHON (pypet 0.7)")
def test_table_matches_pypet(tmp_path):
    kinds = {
        ("np." if issubclass(kind, np.generic) else "py.") + row.name: kind
        for kind, row in value_types.SCALARS.items()
        if kind is not np.str_  # pypet accepts it at f_add_result, then cannot store it
    }
    out = subprocess.run(
        [os.environ["PYPET_PYTHON"], "-c", PYPET_PROBE, json.dumps(list(kinds)), "p.hdf5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    for name, kind in kinds.items():
        native = value_types.SCALARS[kind].pypet_name is not None
        if name == "np.bool_":  # KNOWN: pypet 0.7 gives back a Python bool
            assert found[name] == "bool"
        elif name == "np.bytes_":
            # pypet's Result refuses it at f_add_result, though its storage service writes
            # and reads it natively (PARAMETERTYPEDICT has bytes_): we store it natively
            assert found[name] is None
        elif native:
            assert found[name] == type(kind(1)).__name__, name
        else:  # pypet refuses it; we pickle it
            assert found[name] is None, name
