"""Objects of a class defined in the script: a result and the return value."""

from pypet_sm import Environment


class Spike:
    def __init__(self, t):
        self.t = t

    def __repr__(self):
        return f"Spike({self.t})"


def job(traj):
    traj.f_add_result("spike", Spike(traj.x), comment="an object")
    return Spike(traj.x * 2)


env = Environment(trajectory="Pk")
env.traj.f_add_parameter("x", 1)
env.traj.f_explore({"x": [1, 2]})
res = env.run(job)
print(res, type(res[0][1]) is Spike)
env.traj.f_load(load_data=2)
s = env.traj.res.runs.run_00000001.spike
print(s, type(s) is Spike)
