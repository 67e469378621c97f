"""The user's own Parameter and Result classes (pypet's dynamically_imported_classes): listed in
config.yaml, stored under their class name, loaded into the class again; names must be unique.
pypet 0.7 loads them when given a class of that name (its dynamic_imports)."""

from __future__ import annotations

import itertools
import os
import subprocess
import textwrap

import numpy as np
import pytest
import tables

import pypet_sm
from pypet_sm.analysis.pypet_api import base_class
from pypet_sm.define.naming import Leaf
from pypet_sm.errors import ConfigError, TrajectoryError
from pypet_sm.execute import plan as plans
from pypet_sm.execute.single_run import SingleRun

from . import pypet as pypet_runner
from .conftest import multiply_config, write_unique_module

_numbers = itertools.count()

CLASSES = """
import numpy as np
import pypet_sm


class SpikeTrain(pypet_sm.Result):
    \"\"\"Spikes as (time, neuron) pairs, stored as two arrays.\"\"\"

    def _store(self):
        spikes = self.values["spikes"]
        return {
            "times": np.array([t for t, _ in spikes], dtype=float),
            "neurons": np.array([n for _, n in spikes], dtype=np.int64),
        }

    def _load(self, values):
        self.values = {
            "spikes": list(zip(values["times"].tolist(), values["neurons"].tolist()))
        }

    def rate(self, duration):
        return len(self.values["spikes"]) / duration


class Millivolt(pypet_sm.Parameter):
    \"\"\"A voltage written as text ('12.5 mV'), stored as a float.\"\"\"

    def _store(self):
        return {"data": float(self.values["data"].split()[0])}

    def _load(self, values):
        self.values = {"data": f"{values['data']} mV"}


def build(traj):
    traj.f_add_parameter(Millivolt, "neuron.threshold", "12.5 mV", comment="custom parameter")


def job(traj):
    assert isinstance(traj.f_get("neuron.threshold"), Millivolt)
    assert traj.neuron.threshold == "12.5 mV", traj.neuron.threshold
    spikes = [(0.5 * i, i % 3) for i in range(traj.y // 10)]
    train = traj.f_add_result(SpikeTrain, "train", spikes=spikes, comment="custom result")
    assert train.rate(2.0) == len(spikes) / 2.0
    traj.f_add_derived_parameter(Millivolt, "reset", f"-{traj.x} mV")
    traj.f_add_result("z", traj.x * traj.y)
"""

PYPET_SIDE = """
from pypet import Parameter, Result


class SpikeTrain(Result):
    pass


class Millivolt(Parameter):
    pass
"""


def _module_name() -> str:
    return f"user_classes_{os.getpid()}_{next(_numbers)}"


@pytest.fixture
def custom_project(project):
    """A project whose job and build hook use the two classes above."""
    module = _module_name()
    project.write_module(CLASSES, name=module)
    config = multiply_config(name="custom", job=f"{module}:job", build=f"{module}:build")
    config["dynamically_imported_classes"] = [f"{module}:SpikeTrain", f"{module}:Millivolt"]
    project.write_config(config)
    project.module = module
    project.snakemake()
    return project


def test_custom_classes_round_trip(custom_project, monkeypatch):
    project = custom_project
    with tables.open_file(project.trajectory_file) as h5:
        train = h5.get_node("/custom/results/runs/run_00000001/train")
        assert train._v_attrs.SRVC_INIT_CLASS_NAME == "SpikeTrain"
        assert set(train._v_children) == {"times", "neurons"}  # what _store gave
        reset = h5.get_node("/custom/derived_parameters/runs/run_00000001/reset")
        assert reset._v_attrs.SRVC_INIT_CLASS_NAME == "Millivolt"
        threshold = h5.get_node("/custom/parameters/neuron/threshold")
        assert threshold._v_attrs.SRVC_INIT_CLASS_NAME == "Millivolt"
    # from the project directory the classes the file's config.yaml listed are found
    monkeypatch.chdir(project.path)
    with pypet_sm.load_trajectory(project.trajectory_file) as traj:
        module = __import__(project.module)
        train = traj.results.runs.run_00000001.f_get("train")
        assert type(train) is module.SpikeTrain
        assert train.spikes == [(0.0, 0), (0.5, 1)]  # x=1.0, y=20
        assert train.rate(2.0) == 1.0
        first = traj.results.runs.run_00000000.f_get("train")  # has the comment (purged later)
        assert first.v_comment == "custom result" and first.spikes == [(0.0, 0)]
        threshold = traj.f_get("neuron.threshold")
        assert type(threshold) is module.Millivolt and traj.neuron.threshold == "12.5 mV"
        resets = traj.f_get_from_runs("reset")
        assert resets["run_00000005"] == "-2.0 mV"
        trains = traj.f_get_from_runs("train")
        assert trains["run_00000002"].spikes == [(0.5 * i, i % 3) for i in range(3)]


def test_unknown_classes_load_as_stored_values(custom_project, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the module is not importable here
    with pypet_sm.load_trajectory(custom_project.trajectory_file) as traj:
        train = traj.results.runs.run_00000001.f_get("train")
        # pypet_sm's own leaf classes come back with pypet's leaf calls mixed in (README,
        # "pypet compatibility"): the class is ours, of the same name
        assert base_class(train) is Leaf and isinstance(train, Leaf)
        assert train.v_class_name == "SpikeTrain"
        assert train.f_get("times").tolist() == [0.0, 0.5]
        assert traj.neuron.threshold == 12.5


def test_classes_given_to_the_loader_win(custom_project, tmp_path, monkeypatch):
    name = write_unique_module(
        tmp_path,
        """
        import pypet_sm

        class SpikeTrain(pypet_sm.Result):
            def count(self):
                return len(self.values["times"])
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(custom_project.path)
    with pypet_sm.load_trajectory(
        custom_project.trajectory_file, dynamic_imports=[f"{name}.SpikeTrain"]
    ) as traj:
        train = traj.results.runs.run_00000002.f_get("train")
        assert type(train).__module__ == name and train.count() == 3


def test_two_classes_of_one_name_are_an_error_naming_both_modules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = "import pypet_sm\n\nclass Rate(pypet_sm.Result):\n    pass\n"
    first, second = (write_unique_module(tmp_path, source) for _ in range(2))
    sim = write_unique_module(tmp_path, "def job(traj):\n    pass\n")
    config = multiply_config(name="clash", job=f"{sim}:job")
    config["dynamically_imported_classes"] = [f"{first}:Rate", f"{second}:Rate"]
    with pytest.raises(ConfigError) as error:
        plans.from_config(config)
    message = str(error.value)
    assert "dynamically_imported_classes[1]" in message
    assert f"{first}.Rate" in message and f"{second}.Rate" in message and "unique" in message


@pytest.mark.parametrize(
    "listed, expected",
    [
        ("{module}:NotAClass", "not a subclass"),
        ("{module}:Plain", "not a subclass"),
        ("{module}:Result", "one of pypet's classes"),
        ("{module}:Missing", "has no attribute"),
    ],
)
def test_bad_class_entries_name_the_field(tmp_path, monkeypatch, listed, expected):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(
        tmp_path,
        """
        import pypet_sm

        def NotAClass():
            pass

        class Plain:
            pass

        class Result(pypet_sm.Result):
            pass

        def job(traj):
            pass
        """,
    )
    config = multiply_config(name="bad", job=f"{module}:job")
    config["dynamically_imported_classes"] = [listed.format(module=module)]
    with pytest.raises(ConfigError) as error:
        plans.from_config(config)
    assert "dynamically_imported_classes[0]" in str(error.value)
    assert expected in str(error.value)


def _single_run(tmp_path, monkeypatch, source: str):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, source + "\ndef job(traj):\n    pass\n")
    config = multiply_config(name="single", job=f"{module}:job")
    config["dynamically_imported_classes"] = [f"{module}:Listed"]
    plan = plans.from_config(config)
    traj = SingleRun(plan.job_plan(0))
    traj.start_run(0, plan.run_values(0))
    return traj, __import__(module)


CLASSES_FOR_A_RUN = """
import pypet_sm

class Listed(pypet_sm.Result):
    def _store(self):
        return {"value": object()}

class Unlisted(pypet_sm.Result):
    pass
"""


def test_a_class_not_listed_is_refused_in_the_run(tmp_path, monkeypatch):
    traj, module = _single_run(tmp_path, monkeypatch, CLASSES_FOR_A_RUN)
    with pytest.raises(TrajectoryError) as error:
        traj.f_add_result(module.Unlisted, "r", 1.0)
    assert "run_00000000" in str(error.value)
    assert "dynamically_imported_classes" in str(error.value) and "Unlisted" in str(error.value)
    with pytest.raises(TrajectoryError, match="not a subclass of Parameter"):
        traj.f_add_derived_parameter(module.Listed, "p", 1.0)


def test_a_class_whose_store_gives_no_plain_data_fails_its_run(tmp_path, monkeypatch):
    traj, module = _single_run(tmp_path, monkeypatch, CLASSES_FOR_A_RUN)
    traj.f_add_result(module.Listed, "r", value=np.arange(3))
    with pytest.raises(TrajectoryError) as error:
        traj.collected("results")
    assert "Listed" in str(error.value) and "_store" in str(error.value)


# ---------------------------------------------------------------------------------------------
# pypet 0.7 itself


@pytest.fixture(scope="module")
def pypet_python():
    return pypet_runner.pypet_python_or_skip()


def test_pypet_loads_custom_classes_given_its_dynamic_imports(custom_project, pypet_python):
    """pypet finds a leaf's class by the stored name among its dynamic_imports; a pypet
    Result/Parameter subclass of that name loads what our class's _store() wrote."""
    project = custom_project
    (project.path / "pypet_side.py").write_text(textwrap.dedent(PYPET_SIDE))
    view = pypet_runner.pypet_view(
        project.trajectory_file,
        "custom",
        project.path,
        dynamic_imports=["pypet_side.SpikeTrain", "pypet_side.Millivolt"],
    )
    first = view["results"]["results.runs.run_00000000.train"]
    assert first["class"] == "SpikeTrain" and first["comment"] == "custom result"
    train = view["results"]["results.runs.run_00000001.train"]
    assert train["values"]["times"].tolist() == [0.0, 0.5]
    assert train["values"]["neurons"].tolist() == [0, 1]
    threshold = view["parameters"]["parameters.neuron.threshold"]
    assert (threshold["class"], threshold["value"]) == ("Millivolt", 12.5)
    reset = view["derived_parameters"]["derived_parameters.runs.run_00000005.reset"]
    assert (reset["class"], reset["value"]) == ("Millivolt", -2.0)
    assert view["from_runs"]["z"]["run_00000005"] == 60.0


def test_pypet_without_the_class_refuses_to_load(custom_project, pypet_python):
    """What pypet 0.7 does with a class it was not given: f_load raises ImportError
    ("Could not create the class named `Millivolt`"), at the first such leaf it meets."""
    script = (
        "from pypet import Trajectory\n"
        "traj = Trajectory(filename='hdf5/custom.hdf5')\n"
        "try:\n"
        "    traj.f_load(name='custom', load_parameters=2, load_derived_parameters=2,\n"
        "                load_results=2, force=True)\n"
        "except ImportError as error:\n"
        "    print('ImportError:', error)\n"
    )
    done = subprocess.run(
        [str(pypet_python), "-c", script],
        cwd=custom_project.path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ImportError: Could not create the class named `" in done.stdout
    assert "Millivolt" in done.stdout or "SpikeTrain" in done.stdout


def test_an_explored_parameter_of_a_custom_class(tmp_path, monkeypatch):
    """Ranges hold stored values; runs and the loader's f_set_crun see them through _load."""
    from .conftest import compute_in_process

    monkeypatch.chdir(tmp_path)
    module = write_unique_module(
        tmp_path,
        """
        import pypet_sm

        class Volt(pypet_sm.Parameter):
            def _store(self):
                return {"data": float(self.values["data"].split()[0])}

            def _load(self, values):
                self.values = {"data": f"{values['data']} V"}

        def build(traj):
            traj.f_add_parameter(Volt, "v", "0.5 V")
            traj.f_explore({"v": [1.0, 2.0]})  # in stored form

        def job(traj):
            traj.f_add_result("seen", traj.v)
        """,
    )
    config = {
        "trajectory": {"name": "volts"},
        "build": f"{module}:build",
        "job": f"{module}:job",
        "dynamically_imported_classes": [f"{module}:Volt"],
    }
    compute_in_process(config)
    with pypet_sm.load_trajectory("hdf5/volts.hdf5") as traj:
        assert traj.f_get_from_runs("seen") == {"run_00000000": "1.0 V", "run_00000001": "2.0 V"}
        assert traj.v == "0.5 V" and traj.f_get("v").f_get_range() == [1.0, 2.0]
        traj.f_set_crun(1)
        assert traj.v == "2.0 V"
        traj.f_restore_default()
        assert traj.v == "0.5 V"
