"""Parameter objects, groups, presets and a config item, with a main guard."""

import numpy as np

from pypet_sm import ArrayParameter, Environment, Parameter, cartesian_product


def simulate(traj):
    rate = traj.par.neuron.gain * traj.input.current - traj.threshold
    traj.f_add_result("neuron.$.rate", rate, comment="Firing rate")
    traj.f_add_result("trace", np.arange(3) * traj.input.current, comment="A trace")
    traj.f_add_derived_parameter("doubled", 2 * traj.input.current, comment="Twice I")
    return {"rate": rate}


def main():
    env = Environment(trajectory="Neuron", comment="Parameter objects", filename="out/")
    traj = env.traj
    traj.f_preset_parameter("neuron.gain", 3.0)
    traj.f_add_parameter(Parameter("neuron.gain", 2.0, "Gain"))
    group = traj.f_add_parameter_group("input")
    group.f_add_parameter("current", 0.5, comment="Input current")
    traj.f_add_parameter(ArrayParameter, "weights", np.ones(3), comment="Weights")
    traj.par.threshold = Parameter("threshold", 1.0, "Threshold")
    traj.f_add_config("seed", 42, comment="Random seed")
    traj.f_explore(cartesian_product({"input.current": [0.5, 1.0, 1.5]}))
    result = env.run(simulate)
    print("result", result)
    traj = env.traj
    traj.f_load(load_data=2)
    print("gain", traj.par.neuron.gain, "seed", traj.config.seed)
    print("rates", [traj.results.neuron.f_get(name).rate for name in traj.f_get_run_names()])
    print("doubled", sorted(traj.f_get_from_runs("doubled", fast_access=True).items()))


if __name__ == "__main__":
    main()
