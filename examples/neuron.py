"""A leaky integrate-and-fire neuron, the shipped example (after pypet's tutorial).

Euler integration of dV/dt = -V/tau_V + I over `duration` ms with step `dt`; when V reaches 1
the neuron spikes, V is reset to 0 and held there for the refractory period `tau_ref`.
"""

from __future__ import annotations

import numpy as np

import pypet_sm


def run_neuron(traj) -> float:
    """Job function: simulate one parameter point and store trace, spikes and rate."""
    n_steps = int(traj.par.simulation.duration / traj.par.simulation.dt)
    dt = traj.simulation.dt
    tau_v = traj.neuron.tau_V
    current = traj.neuron.I
    tau_ref = traj.neuron.tau_ref
    voltage = np.zeros(n_steps)
    spike_times = []
    refractory_until = -1.0
    v = 0.0
    for step in range(1, n_steps):
        t = step * dt
        if t < refractory_until:
            v = 0.0
        else:
            v = v + dt * (-v / tau_v + current)
            if v >= 1.0:
                spike_times.append(t)
                v = 0.0
                refractory_until = t + tau_ref
        voltage[step] = v
    rate = len(spike_times) / (n_steps * dt) * 1000.0  # spikes per second, dt in ms
    traj.f_add_derived_parameter("simulation.n_steps", n_steps, comment="Number of time steps")
    traj.f_add_result("neuron.voltage", voltage, comment="Membrane potential trace")
    traj.f_add_result("neuron.spike_times", np.array(spike_times), comment="Spike times in ms")
    traj.f_add_result("neuron.rate", rate, comment="Firing rate in Hz")
    return rate


def add_parameters(traj) -> None:
    """Build hook: the parameter section of a pypet script, unchanged."""
    traj.f_add_parameter("neuron.V_init", 0.0, comment="Initial membrane potential")
    traj.f_add_parameter("neuron.I", 0.0, comment="Input current")
    traj.f_add_parameter("neuron.tau_V", 10.0, comment="Membrane time constant in ms")
    traj.f_add_parameter("neuron.tau_ref", 0.0, comment="Absolute refractory period in ms")
    traj.f_add_parameter("simulation.duration", 300.0, comment="Simulation time in ms")
    traj.f_add_parameter("simulation.dt", 0.1, comment="Euler integration step in ms")
    traj.f_explore(
        pypet_sm.cartesian_product(
            {
                "neuron.I": np.arange(0, 1.51, 0.05).tolist(),
                "neuron.tau_ref": [5.0, 7.5, 10.0],
            }
        )
    )
