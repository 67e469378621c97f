"""The merge: every run's fragment, in run order, into one pypet-layout trajectory file.

The only writer of the trajectory file. It first checks that every run has a completed
fragment (reading only headers), then streams the fragments through the writer into a temp
file and renames it into place: a crash leaves the previous file untouched.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from pathlib import Path

from . import environment, fragment
from .atomic import atomic_path
from .errors import FragmentError
from .plan import Plan, run_name
from .records import Item, Parameter, RunRecord, TrajectoryRecord

logger = logging.getLogger("pypet_sm.merge")


def _check_fragments(plan: Plan, paths: list[Path]) -> dict[str, float | None]:
    """Environments that computed the runs -> when their last run finished; error when a
    run is not done."""
    missing, failed, environments = [], [], {}
    for idx, (key, path) in enumerate(zip(plan.keys, paths, strict=True)):
        header = fragment.read_header(path)
        if header is None or header["key"] != key:
            missing.append((idx, path))
        elif header["status"] != fragment.COMPLETED:
            failed.append((idx, path))
        else:
            name, finish = header["environment"], header.get("finish")
            known = environments.get(name)
            environments[name] = finish if known is None else max(known, finish or known)
    problems = [("has no completed fragment", missing), ("failed", failed)]
    lines = [
        f"{len(found)} runs {what}, e.g. " + ", ".join(f"{run_name(i)} ({p})" for i, p in found[:3])
        for what, found in problems
        if found
    ]
    if lines:
        raise FragmentError(
            "cannot merge: " + "; ".join(lines) + ". Run snakemake again to compute them."
        )
    return environments


def _items(entries: list[tuple]) -> list[Item]:
    return [
        Item(name, values, comment, class_name) for name, values, comment, class_name in entries
    ]


def _runs(plan: Plan, paths: list[Path], hexshas: dict[str, str]) -> Iterator[RunRecord]:
    for idx, path in enumerate(paths):
        try:
            header, body = fragment.read(path)
        except Exception as error:  # damaged after the header check: say which file
            raise FragmentError(
                f"fragment of {run_name(idx)} is unreadable ({path}): {error}; delete it and "
                "run snakemake again to recompute that run"
            ) from None
        yield RunRecord(
            idx=idx,
            name=run_name(idx),
            start=body["start"],
            finish=body["finish"],
            completed=True,
            results=_items(body["results"]),
            derived_parameters=_items(body["derived_parameters"]),
            environment_hexsha=hexshas.get(header["environment"]),
            environment=header["environment"],
            host=body.get("host", ""),
            pid=body.get("pid", 0),
            cluster_job_id=body.get("cluster_job_id", ""),
            attempt=body.get("attempt", 0),
            cluster_node=body.get("cluster_node", ""),
        )


def trajectory_record(plan: Plan) -> TrajectoryRecord:
    """The record the writer needs, with runs streamed from the fragments."""
    settings = plan.settings
    directory = fragment.fragment_dir(settings.trajectory_state)
    paths = [fragment.fragment_path(directory, key) for key in plan.keys]
    finished = _check_fragments(plan, paths)
    # the environment merging now is part of the trajectory's history even when it only
    # merged (e.g. an extension whose new points were all computed before)
    merging = environment.current(settings)
    environments = environment.load(settings, set(finished) | {merging.name})
    for record in environments:
        record.finish_timestamp = finished.get(record.name)
    return TrajectoryRecord(
        name=settings.name,
        comment=settings.comment,
        file_title=settings.file_title,
        timestamp=environments[0].timestamp if environments else time.time(),
        parameters=[
            Parameter(p.name, {"data": p.value}, p.comment, p.class_name, p.explored)
            for p in plan.parameters
        ],
        runs=_runs(plan, paths, {env.name: env.hexsha for env in environments}),
        length=len(plan),
        explored_order=list(plan.explored_names),
        settings=settings.storage,
        environments=environments,
        config=[
            Item(c.name, {"data": c.value}, c.comment, c.class_name) for c in plan.config_items
        ],
    )


def merge(plan: Plan, output: str | Path) -> Path:
    """Write the trajectory file of `plan` to `output` atomically."""
    from .trajectory_file import write_trajectory

    started = time.perf_counter()
    record = trajectory_record(plan)
    output = Path(output)
    with atomic_path(output) as tmp:
        write_trajectory(tmp, record)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    logger.info(
        "merged %d runs into %s in %.2f s, peak memory %.0f MB",
        len(plan),
        output,
        time.perf_counter() - started,
        peak_mb,
    )
    return output
