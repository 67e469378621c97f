"""A custom parameter class defined in the script itself."""

from pypet_sm import Environment, Parameter


class Millivolt(Parameter):
    """A voltage stored as its number of millivolts."""


def integrate(traj):
    voltage = traj.par.rest + 10.0 * traj.par.step
    traj.f_add_result("voltage", voltage, comment="Voltage after the step")
    return voltage


env = Environment(trajectory="Custom", dynamic_imports=[Millivolt], multiproc=False)
traj = env.traj
traj.f_add_parameter(Millivolt, "rest", -65.0, comment="Resting potential")
traj.f_add_parameter("step", 1, comment="Step")
traj.f_explore({"step": [1, 2, 3, 4]})
print("result", env.run(integrate))
traj.f_load(load_data=2)
print("class", type(traj.f_get("rest")).__name__, traj.rest)
print("voltages", [traj.res.runs.f_get(name).voltage for name in traj.f_get_run_names()])
