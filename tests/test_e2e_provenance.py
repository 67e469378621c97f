"""End to end: the environment record in the trajectory file (pypet's config.environment).

Git integration, environments per invocation and log files are in test_provenance.py.
"""

from __future__ import annotations

import re

from pypet_sm.define.naming import Leaf

from .conftest import SIM, multiply_config

ENVIRONMENT_NAME = re.compile(r"^environment_([0-9a-f]{7})_\d{4}_\d{2}_\d{2}_\d{2}h\d{2}m\d{2}s$")


def test_environment_record_holds_pypets_items(project):
    project.write_module(SIM)
    project.write_config(
        multiply_config(name="envs", exploration={"zip": {"x": [1.0, 2.0], "y": [1, 2]}})
    )
    project.snakemake()
    with project.load() as traj:
        environments = traj.config.environment.f_get_children()
        assert len(environments) == 1
        ((name, environment),) = environments.items()
        match = ENVIRONMENT_NAME.match(name)
        assert match, name
        hexsha = environment.f_get("hexsha").f_get()
        assert hexsha.startswith(match.group(1))
        assert environment.f_get("timestamp").f_get() > 0
        assert environment.f_get("versions.pypet_sm").f_get()
        assert environment.f_get("versions.snakemake").f_get()
        assert environment.f_get("complevel").f_get() == 9
        # pypet's config.environment.<env>.trajectory is a group holding name and timestamp
        trajectory = environment.f_get_children()["trajectory"]
        assert not isinstance(trajectory, Leaf), f"trajectory is a leaf: {trajectory!r}"
        assert environment.f_get("trajectory.name").f_get() == "envs"
        assert environment.f_get("trajectory.timestamp").f_get() > 0
        short = [traj.f_get_run_information(i)["short_environment_hexsha"] for i in range(2)]
        assert short == [hexsha[:7]] * 2
