"""Post-processing after the runs, with its own args and kwargs."""

from pypet_sm import Environment


def square(traj):
    traj.f_add_result("sq", traj.n**2, comment="n squared")
    return traj.n**2


def summarise(traj, result_list, label, scale=1):
    print(label, "post-processing", len(traj), sorted(result_list))
    print("total", scale * sum(value for _, value in result_list))


if __name__ == "__main__":
    env = Environment(trajectory="Squares", comment="Post-processing")
    env.traj.f_add_parameter("n", 0, comment="A number")
    env.traj.f_explore({"n": [1, 2, 3, 4, 5]})
    env.add_postprocessing(summarise, "squares", scale=2)
    print("result", env.run(square))
