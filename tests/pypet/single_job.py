"""A pypet-style build hook and job function for pypet's single-run API (test_pypet_single).

They run unchanged under pypet 0.7 and under pypet_sm: Parameter and Result objects, attribute
assignment, parameter groups, group-level adds, f_preset_parameter, f_to_dict, and pypet's
wildcards `$`, `$set`, `crun` in result names; `build_many` explores 1,001 runs (two run
sets of `$set`).
"""


def api(traj):
    """The package running `traj`: pypet or pypet_sm."""
    if type(traj).__module__.startswith("pypet."):
        import pypet as package
    else:
        import pypet_sm as package
    return package


def build_few(traj):
    _build(traj, 4)


def build_many(traj):
    _build(traj, 1001)


def _build(traj, runs):
    pp = api(traj)
    traj.f_add_parameter(pp.Parameter("x", 0, "explored, as an object"))
    traj.par.y = pp.Parameter("y", 2.5, "assigned to traj.par")
    group = traj.f_add_parameter_group("neuron")
    group.f_add_parameter("tau", 10.0, comment="added on the group")
    traj.f_preset_parameter("neuron.gain", 3.0)
    traj.f_add_parameter("neuron.gain", 1.0, comment="preset to 3.0")
    traj.f_add_parameter(pp.Parameter, "seed", 42, "class first")
    traj.y = 4.5  # pypet's f_set of a default before the runs
    assert traj.par.neuron.f_to_dict(short_names=True, fast_access=True) == {
        "tau": 10.0,
        "gain": 3.0,
    }
    traj.f_explore({"x": list(range(runs))})


def job(traj):
    pp = api(traj)
    x = traj.x
    traj.f_add_result("runs.$.z", 2 * x, comment="runs.$")
    traj.f_add_result("$set.$.w", 3 * x, comment="$set.$")
    traj.f_add_result("results.runs.$set.$.v", x + 1)
    traj.f_add_result("neuron.$.rate", x * traj.neuron.gain, comment="neuron.$")
    traj.f_add_result("crun.alone", x - 1)
    traj.f_add_result(pp.Result("pair", a=x, b=traj.y, comment="a Result object"))
    traj.f_add_derived_parameter(pp.Parameter("double", 2 * x, "a Parameter object"))
    traj.res.f_add_result("on_group", x, comment="added on traj.res")
    group = traj.f_add_group("results.stats.$")
    group.f_add_result("mean", x / 2)
    params = traj.par.f_to_dict(short_names=True, fast_access=True)
    assert params["x"] == x and params["tau"] == 10.0, params


def job_sets(traj):
    """The wildcards that depend on the run set, alone (cheap over 1,001 runs)."""
    traj.f_add_result("$set.$.w", 3 * traj.x)
    traj.f_add_result("results.runs.$set.$.v", traj.x + 1)
    traj.f_add_result("neuron.$.rate", traj.x * traj.neuron.gain)
