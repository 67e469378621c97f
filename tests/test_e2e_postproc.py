"""Post-processing in the workflow and iterative exploration through Snakemake checkpoints
(issue 18): real snakemake on temp projects, the file checked with our loader and pypet 0.7."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

from .conftest import multiply_config
from .pypet import pypet_python_or_skip

# The job squares x; post-processing bisects for the x where x**2 crosses `target`, adding
# the interval's midpoint each round until it is shorter than `tol`. Each round stores its
# interval as a trajectory-level result; every call of either function is counted in a file.
BISECT = """
import os


def square(traj):
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj._idx, os.getpid(), traj.x)) + "\\n")
    traj.f_add_result("rate", traj.x ** 2, comment="x squared")
    return traj.x ** 2


def bisect(traj, result_list, target, tol=0.1, mode=""):
    number = traj.v_postproc_round
    with open("postproc_calls.txt", "a") as handle:
        handle.write(repr((number, [idx for idx, _ in result_list])) + "\\n")
    if os.path.exists(f"fail_in_round_{number}"):
        raise RuntimeError(f"asked to fail in round {number}")
    xs = traj.f_get("x").f_get_range()
    points = sorted((xs[idx], rate) for idx, rate in result_list)
    below = max(x for x, rate in points if rate < target)
    above = min(x for x, rate in points if rate >= target)
    traj.f_add_result(f"search.round_{number}", below=below, above=above, comment="interval")
    if mode == "never":
        return {"x": [100.0 + number]}
    if mode == "unknown":
        traj.f_expand({"nonexistent": [1.0]})
    if mode == "untyped":
        traj.f_expand({"x": ["not a number"]})
    if mode == "duplicate" and number == 0:
        return {"x": [below]}
    if above - below < tol:
        traj.f_add_result("search.crossing", (below + above) / 2, comment="the estimate")
        traj.f_add_derived_parameter("search.target", float(target), comment="searched for")
        traj.f_store()
        return None
    traj.f_expand({"x": [(below + above) / 2]})
"""

# what pypet 0.7 loads of the search: runs, rates, the trajectory-level items, the rounds
PYPET_LOAD = """
import json, sys
from pypet import Trajectory
traj = Trajectory(filename=sys.argv[1])
traj.f_load(name=sys.argv[2], load_all=2, force=True)
rounds = traj.f_get("config.postprocessing")
print(json.dumps({
    "runs": len(traj),
    "x": [float(v) for v in traj.f_get("x").f_get_range()],
    "rate": list(traj.f_get_from_runs("rate", fast_access=True).values()),
    "crossing": traj.results.search.crossing,
    "target": traj.derived_parameters.search.target,
    "intervals": {name: [traj.results.search[name].below, traj.results.search[name].above]
                  for name in traj.results.search.f_get_children() if name.startswith("round_")},
    "added": {name: rounds[name].added for name in rounds.f_get_children()},
    "functions": sorted({rounds[name].function for name in rounds.f_get_children()}),
}))
"""


def _config(
    name: str = "search", tol: float = 0.1, max_rounds: int = 100, mode: str = "", report=False
):
    config = multiply_config(
        name=name,
        report={"enabled": report},
        parameters={"x": {"value": 0.0, "comment": "input"}},
        exploration={"zip": {"x": [0.0, 2.0]}},
        job="sim:square",
        runs_per_job=1,
    )
    config["postprocessing"] = {
        "function": "sim:bisect",
        "kwargs": {"target": 2.0, "tol": tol, "mode": mode},
        "max_rounds": max_rounds,
    }
    return config


def _bisection(tol: float) -> tuple[list[float], float]:
    """The points the search must compute, and its estimate (computed here independently)."""
    xs, below, above = [0.0, 2.0], 0.0, 2.0
    while above - below >= tol:
        middle = (below + above) / 2
        xs.append(middle)
        below, above = (middle, above) if middle**2 < 2.0 else (below, middle)
    return xs, (below + above) / 2


def _postproc_calls(project) -> list[tuple]:
    import ast

    path = project.path / "postproc_calls.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [ast.literal_eval(line) for line in lines]


def test_one_round_sees_every_run_in_order_and_stores_trajectory_level_items(project):
    project.write_module(BISECT)
    project.write_config(_config(tol=5.0))
    project.snakemake()
    assert _postproc_calls(project) == [(0, [0, 1])]  # result_list in run order
    with project.load() as traj:
        assert len(traj) == 2
        assert traj.results.search.crossing == 1.0
        assert traj.results.search.round_0.below == 0.0
        assert traj.f_get("results.search.round_0").v_comment == "interval"
        assert traj.derived_parameters.search.target == 2.0
        assert traj.f_get("config.postprocessing.round_0000.added").f_get() == 0
    # what a SIGKILL between the file's replacement and the checkpoint's record leaves: the
    # round's points and items stored, no record, no end of the search. The next snakemake
    # finishes the round without calling post-processing again (nor adding its items twice)
    (record,) = project.state.glob("postproc/*/round_0.json")
    record.unlink()
    (record.parent / "done.json").unlink()
    project.snakemake()
    assert _postproc_calls(project) == [(0, [0, 1])]
    assert len(project.calls()) == 2 and record.exists()
    with project.load() as traj:
        assert traj.results.search.crossing == 1.0
        assert sorted(traj.f_get("config.postprocessing").f_get_children()) == ["round_0000"]


def test_ten_rounds_in_one_invocation_compute_each_point_once_and_pypet_loads_them(project):
    tol = 0.005  # nine midpoints: ten rounds of post-processing
    xs, estimate = _bisection(tol)
    assert len(xs) == 11
    project.write_module(BISECT)
    project.write_config(_config(tol=tol, report=True))
    proc = project.snakemake()
    assert "converged after post-processing round 9: 11 runs" in proc.stderr
    assert Counter(call[0] for call in project.calls()) == Counter(range(11))
    assert [call[2] for call in sorted(project.calls())] == xs
    assert [number for number, _ in _postproc_calls(project)] == list(range(10))
    with project.load() as traj:
        assert len(traj) == 11
        assert traj.f_get_from_runs("rate", use_indices=True, fast_access=True) == {
            idx: x**2 for idx, x in enumerate(xs)
        }
        assert traj.results.search.crossing == estimate
    done = subprocess.run(
        [str(pypet_python_or_skip()), "-c", PYPET_LOAD, str(project.trajectory_file), "search"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    loaded = json.loads(done.stdout)
    assert loaded["runs"] == 11 and loaded["x"] == xs
    assert loaded["rate"] == [x**2 for x in xs]
    assert loaded["crossing"] == estimate and loaded["target"] == 2.0
    assert sorted(loaded["intervals"]) == [f"round_{r}" for r in range(10)]
    assert loaded["added"] == {f"round_{r:04d}": int(r < 9) for r in range(10)}
    assert loaded["functions"] == ["sim:bisect"]
    # everything is done: no run, no post-processing, no report again
    assert (project.state / "report" / "summary.html").exists()
    assert "Nothing to be done" in project.snakemake().stderr
    assert len(project.calls()) == 11 and len(_postproc_calls(project)) == 10


def test_a_failed_round_keeps_the_rounds_so_far_and_resumes_without_repeating(project):
    tol = 0.6  # three rounds
    xs, estimate = _bisection(tol)
    project.write_module(BISECT)
    project.write_config(_config(tol=tol))
    (project.path / "fail_in_round_1").write_text("")
    proc = project.snakemake(expect=1)
    assert "post-processing function sim:bisect raised in round 1" in proc.stderr
    assert "RuntimeError: asked to fail in round 1" in proc.stderr
    assert "sim.py" in proc.stderr  # the traceback reaches the terminal
    with project.load() as traj:  # round 0's runs and items, merged and loadable
        assert len(traj) == 3
        assert traj.results.search.round_0.above == 2.0
        assert "round_1" not in traj.results.search
    (project.path / "fail_in_round_1").unlink()
    project.snakemake()
    assert Counter(call[0] for call in project.calls()) == Counter(range(len(xs)))
    assert [number for number, _ in _postproc_calls(project)] == [0, 1, 1, 2]
    with project.load() as traj:
        assert len(traj) == len(xs)
        assert traj.results.search.crossing == estimate
        assert sorted(traj.results.search.f_get_children()) == [
            "crossing",
            "round_0",
            "round_1",
            "round_2",
        ]


def test_a_search_that_never_converges_stops_at_max_rounds(project):
    project.write_module(BISECT)
    project.write_config(_config(max_rounds=2, mode="never"))
    proc = project.snakemake()
    assert "max_rounds = 2 is reached" in proc.stderr
    assert "stopped at max_rounds after post-processing round 1" in proc.stderr
    assert len(project.calls()) == 3  # the initial 2 and the point of round 0
    with project.load() as traj:
        assert len(traj) == 3
        assert traj.f_get("config.postprocessing.round_0001.stopped").f_get() is True


def test_expanding_with_an_unknown_or_untyped_parameter_names_the_call(project):
    project.write_module(BISECT)
    project.write_config(_config(mode="unknown"))
    proc = project.snakemake(expect=1)
    assert "post-processing function sim:bisect raised in round 0" in proc.stderr
    assert "nonexistent" in proc.stderr
    project.write_config(_config(mode="untyped"))
    proc = project.snakemake(expect=1)
    assert "post-processing function sim:bisect raised in round 0" in proc.stderr
    assert "not a number" in proc.stderr


def test_duplicate_points_are_reported_and_run_as_pypet_runs_them(project):
    project.write_module(BISECT)
    project.write_config(_config(tol=5.0, mode="duplicate"))
    proc = project.snakemake()
    assert "1 point(s) already present (x=0.0)" in proc.stderr
    with project.load() as traj:
        assert len(traj) == 3
        assert traj.f_get("config.postprocessing.round_0000.duplicates").f_get() == 1


def test_bad_postprocessing_config_is_one_message_naming_the_field(project):
    project.write_module(BISECT)
    config = _config()
    config["postprocessing"]["max_rounds"] = 0
    project.write_config(config)
    proc = project.snakemake(expect=1)
    assert "postprocessing.max_rounds" in proc.stderr and "Traceback" not in proc.stderr
    config = _config()
    config["runs_per_job"] = 3
    project.write_config(config)
    proc = project.snakemake(expect=1)
    assert "runs_per_job" in proc.stderr and "postprocessing" in proc.stderr
