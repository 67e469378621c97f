"""The exploration of the differential loader suite (tests/test_pypet_loader.py), run unchanged
by pypet 0.7's Environment and by our workflow: 1,001 runs (11 x 91, two run sets), results
of one value, of several values, of a `data` entry, one only in some runs, derived parameters.

Under pypet the run items are named with its `$set` wildcard (`$set.$.z`: run sets of 1,000
runs); ours are named plainly and the config's `storage: run_sets_above` makes the same
layout.
"""

import numpy as np


def _prefix(traj):
    return "$set.$." if type(traj).__module__.startswith("pypet.") else ""


def build(traj):
    traj.f_add_parameter("x", 0.0, comment="explored, 11 values")
    traj.f_add_parameter("y", 0, comment="explored, 91 values")
    traj.f_add_parameter("model.tau", 5.0, comment="a default")
    traj.f_add_parameter("model.label", "lif", comment="a str")
    traj.f_add_parameter("model.weights", np.arange(3.0), comment="an array")
    xs = [float(i) / 2 for i in range(11)]
    ys = list(range(91))
    points = [(x, y) for x in xs for y in ys]
    traj.f_explore({"x": [p[0] for p in points], "y": [p[1] for p in points]})


def job(traj):
    p = _prefix(traj)
    idx = traj.v_idx
    x, y = traj.x, traj.y
    traj.f_add_result(p + "z", x * y, comment="x times y")
    traj.f_add_derived_parameter(p + "dz", 2 * idx, comment="a derived int")
    if idx < 10 or idx % 250 == 0:
        traj.f_add_result(p + "evolution", data=np.arange(3.0) * x, comment="a data entry")
        traj.f_add_result(p + "stats", mean=x + y, n=idx, comment="two entries")
        traj.f_add_result(p + "neuron.rate", y / 2, comment="a nested result")
        traj.f_add_result(p + "named", named=idx * 1.5, comment="one entry named like the result")
    if idx % 3 == 0 and idx < 10:
        traj.f_add_result(p + "every_third", idx, comment="only in runs 0, 3, 6 and 9")
