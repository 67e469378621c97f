"""End to end: the overview tables of the trajectory file and comment purging."""

from __future__ import annotations

import tables

from .conftest import SIM, multiply_config

X = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
Y = [10, 20, 30, 10, 20, 30]


def _decoded(column) -> list[str]:
    return [value.decode("utf-8") for value in column]


def _run_project(project, storage=None):
    project.write_module(SIM)
    config = multiply_config()
    if storage is not None:
        config["storage"] = storage
    project.write_config(config)
    project.snakemake()
    return tables.open_file(project.trajectory_file, "r")


def _z_comments(h5) -> list:
    comments = []
    for idx in range(6):
        node = h5.get_node(f"/prod/results/runs/run_{idx:08d}/z")
        comments.append(getattr(node._v_attrs, "SRVC_INIT_COMMENT", None))
    return comments


def test_overview_tables_default_storage(project):
    with _run_project(project) as h5:
        overview = h5.get_node("/prod/overview")
        present = set(overview._v_children)
        assert {
            "runs",
            "info",
            "explorations",
            "parameters_overview",
            "explored_parameters_overview",
            "config_overview",
            "results_summary",
            "derived_parameters_summary",
            "hdf5_settings",
        } <= present
        # large overview tables are off by default
        assert "results_overview" not in present
        assert "derived_parameters_overview" not in present

        runs = overview.runs.read()
        assert len(runs) == 6
        assert runs["idx"].tolist() == list(range(6))
        assert _decoded(runs["name"]) == [f"run_{idx:08d}" for idx in range(6)]
        assert runs["completed"].tolist() == [1] * 6
        assert (runs["timestamp"] > 0).all()
        assert (runs["finish_timestamp"] >= runs["timestamp"]).all()
        assert all(_decoded(runs["time"])), "human-readable start times"
        assert all(_decoded(runs["runtime"])), "run times"
        summaries = _decoded(runs["parameter_summary"])
        for idx, summary in enumerate(summaries):
            assert f"x: {X[idx]!r}" in summary and f"y: {Y[idx]!r}" in summary, summary

        info = overview.info.read()
        assert len(info) == 1
        assert info["name"][0].decode() == "prod"
        assert info["length"][0] == 6
        assert info["comment"][0].decode() == "x times y"

        explorations = overview.explorations.read()
        assert _decoded(explorations["explorations"]) == ["parameters.x", "parameters.y"]

        parameters = overview.parameters_overview.read()
        assert sorted(_decoded(parameters["name"])) == ["offset", "x", "y"]
        assert set(_decoded(parameters["location"])) == {"parameters"}
        by_name = dict(zip(_decoded(parameters["name"]), parameters, strict=True))
        assert by_name["x"]["comment"].decode() == "first factor"

        explored = overview.explored_parameters_overview.read()
        assert sorted(_decoded(explored["name"])) == ["x", "y"]
        assert explored["length"].tolist() == [6, 6]
        ranges = dict(zip(_decoded(explored["name"]), _decoded(explored["range"]), strict=True))
        assert ranges["y"] == ", ".join(map(repr, Y))

        # one row per distinct comment, from the first run that has it
        summary = overview.results_summary.read()
        assert len(summary) == 1
        assert summary["name"][0].decode() == "z"
        assert summary["location"][0].decode() == "results.runs.run_00000000"
        assert summary["comment"][0].decode() == "x * y + offset"

        # purge_duplicate_comments (default on): only the first run's z keeps its comment
        comments = _z_comments(h5)
        assert comments[0] == "x * y + offset"
        assert comments[1:] == [None] * 5


def test_large_overview_tables_and_no_comment_purging(project):
    storage = {"large_overview_tables": True, "purge_duplicate_comments": False}
    with _run_project(project, storage) as h5:
        overview = h5.get_node("/prod/overview")
        results = overview.results_overview.read()
        assert len(results) == 6
        assert _decoded(results["location"]) == [f"results.runs.run_{idx:08d}" for idx in range(6)]
        assert set(_decoded(results["name"])) == {"z"}
        assert _decoded(results["value"]) == [f"z={x * y!r}" for x, y in zip(X, Y, strict=True)]
        assert "derived_parameters_overview" in overview
        # every run's result keeps its comment
        assert _z_comments(h5) == ["x * y + offset"] * 6
        settings = overview.hdf5_settings.read()
        assert settings["results_overview"].tolist() == [True]
        assert settings["purge_duplicate_comments"].tolist() == [False]


def test_small_overview_tables_off(project):
    storage = {"small_overview_tables": False}
    with _run_project(project, storage) as h5:
        present = set(h5.get_node("/prod/overview")._v_children)
        assert "parameters_overview" not in present
        assert "explored_parameters_overview" not in present
        assert "config_overview" not in present
        # runs, info and the summaries do not depend on the switch
        assert {"runs", "info", "results_summary"} <= present
