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


def _check_fragments(plan: Plan, paths: list[Path]) -> set[str]:
    """Names of the environments that computed the runs; error when a run is not done.

    Failed runs are merged (marked not completed): their jobs only succeed when the workflow
    keeps going past failed runs.
    """
    missing, failed, environments = [], [], set()
    for idx, (key, path) in enumerate(zip(plan.keys, paths, strict=True)):
        header = fragment.read_header(path)
        if header is None or header["key"] != key:
            missing.append((idx, path))
        else:
            if header["status"] != fragment.COMPLETED:
                failed.append(run_name(idx))
            environments.add(header["environment"])
    if failed:
        shown = ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else "")
        logger.warning(
            "%d runs failed (%s): merged with completed = 0, their errors in "
            "overview/failed_runs; the next snakemake invocation computes them again",
            len(failed),
            shown,
        )
    problems = [("has no completed fragment", missing)]
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
        completed = header["status"] == fragment.COMPLETED
        yield RunRecord(
            idx=idx,
            name=run_name(idx),
            start=body["start"],
            finish=body["finish"],
            completed=completed,
            results=_items(body["results"]) if completed else [],
            derived_parameters=_items(body["derived_parameters"]) if completed else [],
            environment_hexsha=hexshas.get(header["environment"]),
            error=None if completed else (body.get("exception") or "", body.get("traceback") or ""),
        )


def trajectory_record(plan: Plan) -> TrajectoryRecord:
    """The record the writer needs, with runs streamed from the fragments."""
    settings = plan.settings
    directory = fragment.fragment_dir(settings.trajectory_state)
    paths = [fragment.fragment_path(directory, key) for key in plan.keys]
    environments = environment.load(settings, _check_fragments(plan, paths))
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
