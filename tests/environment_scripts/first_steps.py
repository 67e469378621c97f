"""First steps, without a main guard: multiply two explored numbers. The job function
marks each call in calls.txt so tests can count what was computed."""

import os
import time

from pypet_sm import Environment, cartesian_product


def multiply(traj, delay=0.0):
    with open("calls.txt", "a") as marks:
        marks.write(f"{traj.v_idx}\n")
    time.sleep(delay)
    z = traj.x * traj.y
    traj.f_add_result("z", z, comment="x times y")
    return z


env = Environment(
    trajectory="Multiplication",
    comment="Product of x and y",
    multiproc=True,
    ncores=2,
    log_stdout=False,
    wrap_mode="LOCK",
)
traj = env.trajectory
traj.f_add_parameter("x", 1.0, comment="First factor")
traj.f_add_parameter("y", 1, comment="Second factor")
traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [6, 7]}))
result = env.run(multiply, delay=float(os.environ.get("DELAY", "0")))
print("result", result)
print("name", env.name.startswith("environment_"), len(env.hexsha), len(env.time))
traj.f_load(load_data=2)
for run_name in traj.f_iter_runs():
    print(run_name, traj.x, traj.y, traj.crun.z)
print("z of run 1:", traj.res.runs.run_00000001.z)
