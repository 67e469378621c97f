"""The benchmark's explorations and job functions, shared by pypet_sm and pypet 0.7.

Plain Python, importable without pypet_sm: the pypet baseline imports this file in the pypet
venv, and the benchmark copies it into every temp project as `sim.py`. The realistic workload
is the shipped example's `examples.neuron:run_neuron` itself, with a short simulation.

Every exploration is a product of a first parameter with `runs // 10` values and a second
with 10 values (first slowest), so `runs` must be a multiple of 10.
"""

from __future__ import annotations

NEURON_DURATION_MS = 20.0


def trivial(traj):
    """One float result per run (the "trivial" workload)."""
    traj.f_add_result("z", traj.x * traj.y, comment="the product")


def three_scalars(traj):
    """Three scalar results per run, for the runs-table timing."""
    traj.f_add_result("z", traj.x * traj.y, comment="the product")
    traj.f_add_result("s", traj.x + traj.y, comment="the sum")
    traj.f_add_result("d", traj.x - traj.y, comment="the difference")


def _factors(parameters):
    return {"x": [0.0, "first factor"], "y": [0.0, "second factor"], **parameters}


# name -> parameters {dotted name: [default, comment]}, exploration {name: (kind, args)},
# job function (ours: module:function in the temp project; pypet: how to find it)
WORKLOADS = {
    "trivial": {
        "parameters": _factors({}),
        "exploration": lambda runs: {
            "x": ("range", [0, runs // 10, 1]),
            "y": ("range", [0, 10, 1]),
        },
        "job": "sim:trivial",
    },
    "3 scalars": {
        "parameters": _factors({}),
        "exploration": lambda runs: {
            "x": ("range", [0, runs // 10, 1]),
            "y": ("range", [0, 10, 1]),
        },
        "job": "sim:three_scalars",
    },
    "neuron": {
        # the shipped example's parameters (config.yaml), with a short simulation
        "parameters": {
            "neuron.V_init": [0.0, "Initial membrane potential"],
            "neuron.I": [0.0, "Input current"],
            "neuron.tau_V": [10.0, "Membrane time constant in ms"],
            "neuron.tau_ref": [0.0, "Absolute refractory period in ms"],
            "simulation.duration": [NEURON_DURATION_MS, "Simulation time in ms"],
            "simulation.dt": [0.1, "Euler integration step in ms"],
        },
        "exploration": lambda runs: {
            "neuron.I": ("linspace", [0.0, 1.5, runs // 10]),
            "neuron.tau_ref": ("linspace", [5.0, 10.0, 10]),
        },
        "job": "examples.neuron:run_neuron",
    },
}


def explored_values(kind, arguments):
    """The values of one `{range: ...}` or `{linspace: ...}` entry, as pypet_sm makes them."""
    import numpy as np

    if kind == "range":
        return [float(value) for value in range(*arguments)]
    return np.linspace(*arguments).tolist()
