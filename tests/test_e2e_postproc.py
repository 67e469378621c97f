"""Post-processing in the workflow and iterative exploration through Snakemake checkpoints
(issue 18): real snakemake on temp projects, the file checked with our loader and pypet 0.7."""

from __future__ import annotations

from collections import Counter

from .conftest import multiply_config

# The job squares x; post-processing bisects for the x where x**2 crosses `target`, adding
# the interval's midpoint each round until it is shorter than `tol` (or, with `never`, keeps
# adding points). Each round stores its interval as a trajectory-level result.
BISECT = """
import os


def square(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj._idx, os.getpid(), traj.x)) + "\\n")
    traj.f_add_result("rate", traj.x ** 2, comment="x squared")
    return traj.x ** 2


def bisect(traj, result_list, target, tol=0.1, never=False):
    xs = traj.f_get("x").f_get_range()
    points = sorted((xs[idx], rate) for idx, rate in result_list)
    below = max(x for x, rate in points if rate < target)
    above = min(x for x, rate in points if rate >= target)
    number = traj.v_postproc_round
    traj.f_add_result(f"search.round_{number}", below=below, above=above, comment="interval")
    if never:
        return {"x": [float(len(result_list)) + 100.0]}
    if above - below < tol:
        traj.f_add_result("search.crossing", (below + above) / 2, comment="the estimate")
        traj.f_add_derived_parameter("search.target", float(target), comment="what was searched")
        return None
    traj.f_expand({"x": [(below + above) / 2]})
"""


def _config(name: str = "search", tol: float = 0.1, **postproc):
    config = multiply_config(
        name=name,
        parameters={"x": {"value": 0.0, "comment": "input"}},
        exploration={"zip": {"x": [0.0, 2.0]}},
        job="sim:square",
        runs_per_job=1,
    )
    config["postprocessing"] = {
        "function": "sim:bisect",
        "kwargs": {"target": 2.0, "tol": tol, **postproc.pop("kwargs", {})},
        **postproc,
    }
    return config


def test_a_bisection_runs_round_after_round_in_one_invocation(project):
    project.write_module(BISECT)
    project.write_config(_config(tol=0.3))
    project.snakemake()
    calls = Counter(call[0] for call in project.calls())
    with project.load() as traj:
        n = len(traj)
        assert calls == Counter(range(n))
        print(n, traj.results.search.crossing)
