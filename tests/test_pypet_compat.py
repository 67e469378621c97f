"""pypet 0.7.0 itself against our trajectory files, side by side (issue 3).

For one exploration and job function (tests/pypet/compat_job.py) pypet's own Environment and
our Snakemake workflow each write a trajectory file; pypet loads both with the call README.md
documents, and everything it sees is compared (tests/pypet/compare.py), as are the overview
tables and the HDF5 trees. Every remaining difference must be one of `compare.KNOWN`, each
with the reason it is harmless. The other direction: `pypet_sm.load_trajectory` reads pypet's
files and must see what pypet sees.

pypet runs in its own Python 3.12 (tests/pypet/__init__.py says how it is found or built).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from . import pypet as pypet_runner
from .conftest import REPO, Project, assert_same
from .pypet import assert_explained, compare, our_project, pypet_file

# pypet Environment options = our storage: section (identical names)
SCENARIOS = {
    "defaults": {},  # purge_duplicate_comments, small tables, zlib 9 with shuffle
    "settings": {
        "purge_duplicate_comments": False,
        "small_overview_tables": False,
        "large_overview_tables": True,
        "results_per_run": 30,
        "derived_parameters_per_run": 6,
        "complib": "blosc",
        "complevel": 5,
        "shuffle": False,
        "fletcher32": True,
    },
    "uncompressed": {
        "complevel": 0,
        "large_overview_tables": True,
        "results_per_run": 2,
    },
}
RUNS = 4  # build_types explores 2 x 2 points
PARAMETERS = 19
RESULTS_PER_RUN = 22  # and odd_only in odd runs
DERIVED_PER_RUN = 6


@pytest.fixture(scope="session")
def pypet_python() -> Path:
    return pypet_runner.pypet_python_or_skip()


@dataclass
class SideBySide:
    name: str
    settings: dict
    ours: Project
    pypet_file: Path
    pypet_view: dict  # what pypet loads from its own file
    our_view: dict  # what pypet loads from ours

    @property
    def our_file(self) -> Path:
        return self.ours.trajectory_file


@pytest.fixture(scope="module", params=list(SCENARIOS))
def side_by_side(request, tmp_path_factory, pypet_python) -> SideBySide:
    name, settings = request.param, SCENARIOS[request.param]
    base = tmp_path_factory.mktemp(f"side_by_side_{name}")
    ours = our_project(base / "ours", name, "build_types", "job_types", storage=settings)
    theirs = pypet_file(base / "pypet", name, "build_types", "job_types", storage=settings)
    return SideBySide(
        name,
        settings,
        ours,
        theirs,
        pypet_runner.pypet_view(theirs, name, theirs.parent),
        pypet_runner.pypet_view(ours.trajectory_file, name, ours.path),
    )


def test_pypet_loads_our_file_as_it_loads_its_own(side_by_side):
    """Parameters (values, types, comments, ranges), f_get_explored_parameters, every run's
    results and derived parameters (f_get_from_runs, traj.results.crun.<name> after
    f_set_crun), comments, run information, config.hdf5: as in pypet's own file."""
    pypet_view, our_view = side_by_side.pypet_view, side_by_side.our_view
    # the views hold what they should, so the comparison below is not vacuous
    for view in (pypet_view, our_view):
        assert view["length"] == RUNS and view["run_names"] == [f"run_{i:08d}" for i in range(4)]
        assert len(view["parameters"]) == PARAMETERS
        assert len(view["results"]) == RUNS * RESULTS_PER_RUN + 2
        assert len(view["derived_parameters"]) == RUNS * DERIVED_PER_RUN
        assert len(view["from_runs"]["value"]) == RUNS and len(view["from_runs"]["odd_only"]) == 2
        assert len(view["crun"]) == RUNS
        assert all(info["completed"] == 1 for info in view["run_information"].values())
        assert view["version"] == "0.7.0"
        assert {name[len("config.hdf5.") :] for name in view["config"] if ".hdf5." in name} >= {
            "complib",
            "overview.results_overview",
            "purge_duplicate_comments",
        }
    assert_explained(compare.view_differences(pypet_view, our_view))


def test_values_come_back_with_their_types(side_by_side):
    """Spot checks of the comparison above against the values the job function stored."""
    job = pypet_runner.import_job_module()
    view = side_by_side.our_view
    big = view["parameters"]["parameters.big"]
    assert big["class"] == "ArrayParameter"
    assert_same(big["range"], [np.arange(5000.0)] * 4, "range of big")
    words = view["parameters"]["parameters.seq.words"]
    assert (words["class"], words["value"]) == ("Parameter", ["ab", "c"])
    assert_same(view["parameters"]["parameters.numpy.f32"]["value"], np.float32(0.5))
    assert_same(view["parameters"]["parameters.text.long"]["value"], job.LONG)
    run = view["crun"]["run_00000003"]
    assert_same(run["__explored__"]["parameters.seq.list"], [4, 5, 6], "seq.list in run 3")
    assert_same(run["results.crun.s_unicode"]["value"], "Grüße ∂ 日本 🐍")
    assert_same(run["results.crun.s_long"]["value"], job.LONG + "3")
    assert_same(run["results.crun.point"]["value"], job.Point(3, 2.5))
    assert_same(run["results.crun.np_i64"]["value"], np.int64(2**40 + 3))
    assert_same(run["results.crun.dct"]["value"], {"a": 3, "b": 2.5, "c": "s"})
    assert_same(run["results.crun.tup"]["value"], (0.5, 2.5))
    assert_same(run["derived_parameters.crun.d_tuple"]["value"], (3, 4))
    multi = run["results.crun.multi"]["value"]
    assert multi["__leaf__"] == "Result"
    assert_same(multi["values"], {"a": 3, "b": np.arange(3.0) * 2.5, "c": "text"}, "multi")


def test_comments_follow_purge_duplicate_comments(side_by_side):
    purge = side_by_side.settings.get("purge_duplicate_comments", True)
    for view in (side_by_side.pypet_view, side_by_side.our_view):
        results = view["results"]
        assert results["results.runs.run_00000000.value"]["comment"] == "a float"
        later = results["results.runs.run_00000002.value"]["comment"]
        assert later == ("" if purge else "a float")
        # a comment first seen in a later run is kept there
        assert results["results.runs.run_00000001.odd_only"]["comment"] == "only odd runs"
        assert results["results.runs.run_00000003.per_run"]["comment"] == "a comment of run 3"
        derived = view["derived_parameters"]["derived_parameters.runs.run_00000001.d_int"]
        assert derived["comment"] == ("" if purge else "a derived int")


def test_overview_tables_match(side_by_side):
    """Every overview table: same columns and rows (run times and SHA-1s ignored)."""
    differences = compare.overview_differences(
        side_by_side.pypet_file, side_by_side.our_file, side_by_side.name
    )
    assert_explained(differences)


def test_hdf5_trees_match(side_by_side):
    """Node paths, node kinds, SRVC_* attributes, dtypes, shapes and compression filters."""
    differences = compare.tree_differences(
        side_by_side.pypet_file, side_by_side.our_file, side_by_side.name
    )
    assert_explained(differences)


def test_storage_settings_reached_both_files(side_by_side):
    """The settings really were applied (the comparisons above are not of two defaults)."""
    import tables

    expected = {
        "complib": "zlib",
        "complevel": 9,
        "shuffle": True,
        "fletcher32": False,
        "purge_duplicate_comments": True,
        "results_per_run": 0,
        "derived_parameters_per_run": 0,
        "results_overview": False,
        "parameters_overview": True,
    }
    settings = dict(side_by_side.settings)
    small = settings.pop("small_overview_tables", True)
    large = settings.pop("large_overview_tables", False)
    expected.update(settings, results_overview=large, parameters_overview=small)
    for path in (side_by_side.pypet_file, side_by_side.our_file):
        with tables.open_file(str(path)) as h5:
            row = h5.get_node(f"/{side_by_side.name}/overview/hdf5_settings")[0]
            found = {key: row[key] for key in expected}
            found["complib"] = found["complib"].decode()
            assert found == expected, path
            array = h5.get_node(f"/{side_by_side.name}/results/runs/run_00000000/arr_f/arr_f")
            assert (array.filters.complevel, array.filters.fletcher32) == (
                expected["complevel"],
                expected["fletcher32"],
            )


def test_our_loader_reads_pypet_files_as_pypet_does(side_by_side):
    """pypet_sm.load_trajectory on pypet's file (and on ours) sees what pypet sees."""
    pypet_runner.import_job_module()  # the class of pickled results
    theirs = compare.loader_view(side_by_side.pypet_file)
    assert_explained(compare.view_differences(side_by_side.pypet_view, theirs))
    assert len(theirs["results"]) == RUNS * RESULTS_PER_RUN + 2
    ours = compare.loader_view(side_by_side.our_file)
    assert_explained(compare.view_differences(side_by_side.our_view, ours))
    # and file against file through our loader, which reads every stored value (pypet's
    # view keeps its own defaults for config.hdf5.*)
    assert ours["config"]["config.hdf5.complevel"]["value"] == side_by_side.settings.get(
        "complevel", 9
    )
    assert_explained(compare.view_differences(theirs, ours))


# ---------------------------------------------------------------------------------------------
# Values pypet's own Environment cannot store, in our files


def test_pypet_loads_values_its_environment_cannot_store(tmp_path, pypet_python):
    """Unicode str parameters, lists of different lengths, empty sequences, None, mixed and
    nested containers: we store them (Parameter, ArrayParameter, PickleParameter,
    PickleResult as needed), and pypet gives back what our loader gives back."""
    job = pypet_runner.import_job_module()
    project = our_project(tmp_path / "ours", "extra", "build_extra", "job_extra")
    pypet_view = pypet_runner.pypet_view(project.trajectory_file, "extra", project.path)
    our_view = compare.loader_view(project.trajectory_file)
    assert_explained(compare.view_differences(pypet_view, our_view))
    parameters = pypet_view["parameters"]
    for name, (value, explored) in job.EXTRA_PARAMETERS.items():
        entry = parameters[f"parameters.{name}"]
        assert_same(entry["value"], value, f"default of {name}")
        assert_same(entry["range"], explored, f"range of {name}")
    for idx in range(2):
        run = pypet_view["crun"][f"run_{idx:08d}"]
        for name, value in job.extra_results(idx).items():
            assert_same(run[f"results.crun.{name}"]["value"], value, f"run {idx} result {name}")


# ---------------------------------------------------------------------------------------------
# Version policy: what overview/info says, and the call README.md documents


def readme_pypet_snippet() -> str:
    """The fenced Python block after README's marker comment (the documented call)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- pypet-load-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its pypet loading example (<!-- pypet-load-example -->)"
    return match.group(1)


def test_readme_call_loads_the_shipped_example_in_pypet(tmp_path, pypet_python):
    """The README's pypet snippet, verbatim, in pypet's Python on the shipped example."""
    directory = tmp_path / "example"
    directory.mkdir()
    project = Project(directory)
    shutil.copytree(REPO / "examples", directory / "examples")
    shutil.copy(REPO / "config.yaml", directory / "config.yaml")
    project.config = yaml.safe_load((directory / "config.yaml").read_text(encoding="utf-8"))
    project.snakemake()
    (directory / "snippet.py").write_text(
        readme_pypet_snippet()
        + "\nimport json\n"
        + "print(json.dumps({'length': len(traj), 'rates': list(rates.values()), "
        + "'rate_3': float(rate_3), 'current_3': float(current_3)}))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [str(pypet_python), "snippet.py"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    with project.load() as traj:
        expected = list(traj.f_get_from_runs("neuron.rate").values())
        assert seen["length"] == len(traj) == 93
        assert seen["rates"] == expected
        assert seen["rate_3"] == expected[3]
        assert seen["current_3"] == traj.f_get("neuron.I").f_get_range()[3]


def test_info_records_format_version_and_python(side_by_side):
    """overview/info: pypet's format version 0.7.0 and the merge's Python. pypet refuses a
    different Python without force=True (hence force=True in README's call)."""
    import sys

    view = side_by_side.our_view
    ours = ".".join(map(str, sys.version_info[:3]))
    assert (view["version"], view["python"]) == ("0.7.0", ours)
    pypet_python_version = side_by_side.pypet_view["python"]
    if ours == pypet_python_version:
        assert view["without_force"] is None
    else:
        assert f"python {ours}" in view["without_force"]
        assert "force=True" in view["without_force"]
