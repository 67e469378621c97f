"""pypet 0.7 doing what benchmarks/e2e.py asks of pypet_sm (run it with a pypet Python).

    python3.12 benchmarks/pypet_baseline.py RUNS DIRECTORY

Environment with multiprocessing on 2 cores, a pool and QUEUE wrap mode (pypet's fastest
documented setup for many runs), one float result per run.
"""

import sys

from pypet import Environment, cartesian_product


def job(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="the product")


def main():
    runs, directory = int(sys.argv[1]), sys.argv[2]
    env = Environment(
        trajectory="bench",
        comment="trivial runs",
        filename=f"{directory}/bench.hdf5",
        log_config=None,
        multiproc=True,
        ncores=2,
        use_pool=True,
        wrap_mode="QUEUE",
        report_progress=False,
    )
    traj = env.trajectory
    traj.f_add_parameter("x", 0.0, comment="first factor")
    traj.f_add_parameter("y", 0.0, comment="second factor")
    traj.f_explore(
        cartesian_product(
            {"x": [float(i) for i in range(runs // 10)], "y": [float(j) for j in range(10)]}
        )
    )
    env.run(job)
    env.disable_logging()


if __name__ == "__main__":
    main()
