"""Build hooks and job functions that run unchanged under pypet 0.7 and under pypet_sm.

The compatibility checks (tests/test_pypet_*.py) run pypet's Environment and our Snakemake
workflow on these same functions and compare the two trajectory files. pypet's and our `traj`
share the calls used here (f_add_parameter, f_explore, f_add_result, f_add_derived_parameter,
v_idx, natural naming); only the parameter and result classes come from the package that runs.
"""

import numpy as np

LONG = "a long string " * 6  # longer than the overview tables' 64-character value column


class Point:
    """A user class: results holding it are pickled."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return f"Point({self.x!r}, {self.y!r})"


def api(traj):
    """The package running `traj`: pypet or pypet_sm (for ArrayParameter, PickleResult...)."""
    if type(traj).__module__.startswith("pypet."):
        import pypet as package
    else:
        import pypet_sm as package
    return package


def build_types(traj):
    """Parameters of every type pypet's Environment can store, four runs explored."""
    pp = api(traj)
    traj.f_add_parameter("flags.on", True, comment="a bool")
    traj.f_add_parameter("counts.n", 3, comment="an int")
    traj.f_add_parameter("x", 1.5, comment="a float, explored")
    traj.f_add_parameter("z", 1 + 2j, comment="a complex")
    traj.f_add_parameter("text.empty", "")
    traj.f_add_parameter("text.long", LONG, comment="longer than the value column " * 3)
    traj.f_add_parameter("text.label", "a", comment="an explored str")
    traj.f_add_parameter("raw", b"bytes", comment="bytes")
    traj.f_add_parameter("numpy.f32", np.float32(0.5), comment="numpy float32")
    traj.f_add_parameter("numpy.i16", np.int16(-3), comment="numpy int16")
    traj.f_add_parameter("numpy.c128", np.complex128(1j), comment="numpy complex128")
    traj.f_add_parameter("arrays.f1", np.linspace(0.0, 1.0, 4), comment="1-d float array")
    traj.f_add_parameter("arrays.i2", np.arange(6, dtype=np.int32).reshape(2, 3), comment="2-d")
    traj.f_add_parameter("arrays.b1", np.array([True, False]), comment="bool array")
    traj.f_add_parameter("seq.list", [1, 2, 3], comment="a list, explored")
    traj.f_add_parameter("seq.tuple", (0.5, 1.5), comment="a tuple")
    traj.f_add_parameter("seq.words", ["ab", "c"], comment="a list of str")
    traj.f_add_parameter("deep.nested.group.value", 7, comment="nested groups")
    traj.f_add_parameter(pp.ArrayParameter, "big", np.arange(5000.0), comment="a large array")
    # exploration order differs from definition order on purpose
    traj.f_explore(
        pp.cartesian_product(
            {
                "x": [1.0, 2.5],
                "text.label": ["a", "bb"],
                "seq.list": [[1, 2, 3], [4, 5, 6]],
                "arrays.f1": [np.zeros(4), np.ones(4)],
                "big": [np.arange(5000.0), np.arange(5000.0)],  # equal: stored once
            },
            ("x", ("text.label", "seq.list", "arrays.f1", "big")),
        )
    )


def job_types(traj):
    """Results and derived parameters of every type, some comments repeated across runs."""
    pp = api(traj)
    idx = traj.v_idx
    x = traj.x
    traj.f_add_result("flag", idx % 2 == 0, comment="a bool")
    traj.f_add_result("count", 10 + idx, comment="an int")
    traj.f_add_result("value", x * 2.0, comment="a float")
    traj.f_add_result("cplx", complex(x, idx), comment="a complex")
    traj.f_add_result("s_empty", "", comment="an empty str")
    traj.f_add_result("s_unicode", "Grüße ∂ 日本 🐍", comment="unicode: Grüße")
    traj.f_add_result("s_long", LONG + str(idx), comment="a long str " * 60)
    traj.f_add_result("raw", b"raw\x01bytes", comment="bytes")
    traj.f_add_result("np_f32", np.float32(x), comment="numpy float32")
    traj.f_add_result("np_i64", np.int64(2**40 + idx), comment="numpy int64")
    traj.f_add_result("np_u8", np.uint8(200), comment="numpy uint8")
    traj.f_add_result("np_bool", np.bool_(idx % 2 == 1), comment="numpy bool")
    traj.f_add_result("arr_f", np.linspace(0, x, 5), comment="1-d float array")
    traj.f_add_result("arr_i2", np.arange(6, dtype=np.int64).reshape(2, 3) + idx, comment="2-d")
    traj.f_add_result("arr_b", np.array([True, False, idx % 2 == 1]), comment="bool array")
    traj.f_add_result("lst", [1, 2, idx], comment="a list")
    traj.f_add_result("tup", (0.5, x), comment="a tuple")
    traj.f_add_result("dct", {"a": idx, "b": 2.5, "c": "s"}, comment="a dict")
    traj.f_add_result("multi", a=idx, b=np.arange(3.0) * x, c="text", comment="several values")
    traj.f_add_result("group.sub.leaf", x + 1, comment="a nested result")
    traj.f_add_result("per_run", idx, comment=f"a comment of run {idx}")  # never a duplicate
    traj.f_add_result(pp.PickleResult, "point", Point(idx, x), comment="a user class")
    if idx % 2:
        traj.f_add_result("odd_only", idx, comment="only odd runs")
    traj.f_add_derived_parameter("d_int", 3 * idx, comment="a derived int")
    traj.f_add_derived_parameter("d_float", x / 2, comment="a derived float")
    traj.f_add_derived_parameter("d_arr", np.arange(3.0) + idx, comment="a derived array")
    traj.f_add_derived_parameter("d_str", f"run {idx}", comment="a derived str")
    traj.f_add_derived_parameter("d_tuple", (idx, idx + 1), comment="a derived tuple")
    traj.f_add_derived_parameter("d.nested", idx > 1, comment="a nested derived bool")


def _build_runs(traj, runs):
    traj.f_add_parameter("x", 0.0, comment="explored")
    traj.f_add_parameter("offset", 0.5, comment="a default")
    traj.f_explore({"x": [float(i) for i in range(runs)]})


def build_3_runs(traj):
    _build_runs(traj, 3)


def build_1001_runs(traj):
    """More than 1,000 runs: two run sets."""
    _build_runs(traj, 1001)


def job_many(traj, prefix=""):
    """A result, a nested result and a derived parameter per run. pypet writes run sets when
    the names carry its `$set` wildcard: pass prefix="runs.$set.$." under pypet."""
    traj.f_add_result(prefix + "z", traj.x * 2, comment="twice x")
    traj.f_add_result(prefix + "stats.mean", traj.x / 2, comment="half x")
    traj.f_add_derived_parameter(prefix + "dz", traj.v_idx, comment="the run index")


# Values pypet's own Environment cannot store (it fails on them), but reads from our files.
# name -> (default, explored range or None)
EXTRA_PARAMETERS = {
    "text.unicode": ("Grüße ∂ 日本 🐍", None),
    "text.explored": ("", ["é", "日本語, longer"]),
    "lengths": ([0.0], [[1.5], [2.5, 3.5]]),
    "seq.empty_list": ([], None),
    "seq.empty_tuple": ((), None),
    "seq.unicode_words": (["ä", "日本"], None),
    "arrays.empty": (np.array([]), None),
    "arrays.words": (np.array(["a", "bé"]), None),
    "big_int": (2**40, None),
    "nul": ("ends with NUL\0", None),
}


def extra_results(idx):
    return {
        "none": None,
        "mixed": [1, "a", 2.5 + idx],
        "nested_list": [[1, 2], [3, idx]],
        "nested_dict": {"inner": {"x": idx}},
        "odd_keys": {"a b": 1, 3: "x"},
        "huge_int": 2**70 + idx,
        "empty_list": [],
        "empty_tuple": (),
        "empty_dict": {},
        "empty_array": np.array([]),
        "array_0d": np.array(3.0 + idx),
        "unicode_array": np.array(["a", "日本"]),
        "unicode_list": ["ä", "bb" * idx],
        "nul_str": "x\0",
        "dict_of_arrays": {"arr": np.arange(3) + idx, "lst": [1, 2]},
        "point_in_list": [Point(idx, 0)],
    }


def build_extra(traj):
    for name, (value, _) in EXTRA_PARAMETERS.items():
        traj.f_add_parameter(name, value, comment=f"{name}: not storable by pypet itself")
    traj.f_add_parameter(api(traj).PickleParameter, "obj", {"a": [1, 2]}, comment="pickled")
    traj.f_explore(
        {name: explored for name, (_, explored) in EXTRA_PARAMETERS.items() if explored is not None}
        | {"obj": [{"n": 1}, Point(1, 2)]}
    )


def job_extra(traj):
    for name, value in extra_results(traj.v_idx).items():
        traj.f_add_result(name, value, comment=name)
    traj.f_add_derived_parameter("d_unicode", f"Grüße {traj.v_idx}", comment="unicode")
