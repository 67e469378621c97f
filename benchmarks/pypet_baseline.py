"""pypet 0.7 doing what the benchmark asks of pypet_sm (run it with a pypet 0.7 Python).

    python3.12 benchmarks/pypet_baseline.py run WORKLOAD RUNS DIRECTORY
    python3.12 benchmarks/pypet_baseline.py load FILE

`run`: an Environment with multiprocessing on 2 cores, a pool and QUEUE wrap mode (pypet's
fastest documented setup for many runs), the same parameters, exploration and job function
as the pypet_sm side (benchmarks/workloads.py; the neuron workload is the shipped example's
`run_neuron`). `load`: `f_load` of everything, then `f_get_from_runs('z')`. Both print their
own timings as JSON on stdout.
"""

import json
import sys
import time
import types
from pathlib import Path

STARTED = time.perf_counter()

import numpy as np  # noqa: E402
from pypet import Environment, Trajectory, cartesian_product  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import workloads  # noqa: E402

IMPORTED = time.perf_counter()


def job_function(workload):
    spec = workloads.WORKLOADS[workload]["job"]
    module, _, name = spec.partition(":")
    if module == "sim":
        return getattr(workloads, name)
    # examples/neuron.py imports pypet_sm only for its build hook; pypet's own
    # cartesian_product stands in, so the job function runs unchanged
    sys.modules.setdefault("pypet_sm", types.SimpleNamespace(cartesian_product=cartesian_product))
    sys.path.insert(0, str(HERE.parent))
    __import__(module)
    return getattr(sys.modules[module], name)


def run(workload, runs, directory):
    spec = workloads.WORKLOADS[workload]
    function = job_function(workload)
    started = time.perf_counter()
    env = Environment(
        trajectory="bench",
        comment=f"{workload} runs",
        filename=f"{directory}/bench.hdf5",
        log_config=None,
        multiproc=True,
        ncores=2,
        use_pool=True,
        wrap_mode="QUEUE",
        report_progress=False,
    )
    traj = env.trajectory
    for name, (value, comment) in spec["parameters"].items():
        traj.f_add_parameter(name, value, comment=comment)
    exploration = {
        name: workloads.explored_values(kind, arguments)
        for name, (kind, arguments) in spec["exploration"](runs).items()
    }
    traj.f_explore(cartesian_product(exploration, tuple(exploration)))
    env.run(function)
    env.disable_logging()
    return {"import s": IMPORTED - STARTED, "run s": time.perf_counter() - started}


def load(path):
    started = time.perf_counter()
    traj = Trajectory(filename=path)
    traj.f_load(index=-1, load_parameters=2, load_derived_parameters=2, load_results=2, force=True)
    loaded = time.perf_counter()
    values = traj.f_get_from_runs("z", fast_access=True)
    got = time.perf_counter()
    assert len(values) == len(traj), (len(values), len(traj))
    assert isinstance(np.asarray(list(values.values())), np.ndarray)
    return {
        "import s": IMPORTED - STARTED,
        "load s": loaded - started,
        "f_get_from_runs s": got - loaded,
        "runs": len(values),
    }


def main():
    command, *arguments = sys.argv[1:]
    if command == "run":
        workload, runs, directory = arguments
        figures = run(workload, int(runs), directory)
    elif command == "load":
        figures = load(*arguments)
    else:
        sys.exit(f"unknown command {command!r}: use run or load")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
