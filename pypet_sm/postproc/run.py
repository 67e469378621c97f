"""One post-processing round: the checkpoint's command.

`function(traj, result_list, *args, **kwargs)` on the merged file; what it adds at trajectory
level and the round's own record (`config.postprocessing.round_<r>`: function, points added,
first run, duplicates, time) go into the file atomically, then the round's points
(`round_<r>.pkl`) and record (`round_<r>.json`, the checkpoint's output). Killed after the
file was written, the next attempt finds the round in the file and only writes its record, so
post-processing never runs twice for a round and never adds its items twice.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import Any

from pypet_sm.define.user_code import import_object
from pypet_sm.execute import identity
from pypet_sm.execute.plan import Plan
from pypet_sm.hdf5 import trajectory_items
from pypet_sm.hdf5.layout import CONFIG
from pypet_sm.hdf5.records import Item
from pypet_sm.merge.results import result_list
from pypet_sm.postproc import rounds
from pypet_sm.postproc.rounds import PostprocError
from pypet_sm.postproc.settings import PostprocSettings, from_dict
from pypet_sm.postproc.traj import PostprocTrajectory

logger = logging.getLogger("pypet_sm.postproc")
notice = logging.getLogger("pypet_sm.notice")


def record_name(number: int) -> str:
    return f"postprocessing.round_{number:04d}"


def run_round(plan: Plan, search_folder: Path, number: int) -> dict[str, Any]:
    """Post-process round `number` of the search in `search_folder`; its JSON record."""
    settings = plan.settings
    postproc = from_dict(settings.postprocessing)
    if postproc is None:
        raise PostprocError("the plan has no postprocessing: run snakemake again")
    filename = settings.filename
    expansion = rounds.load_expansion(search_folder, number)
    in_file = trajectory_items.holds(filename, settings.name, CONFIG, record_name(number))
    if expansion is not None and in_file:
        logger.info("round %d was post-processed before it was killed: its record only", number)
        duplicates = _duplicates(plan, expansion)
    else:
        if in_file:
            raise PostprocError(
                f"{filename} holds {CONFIG}.{record_name(number)} but {search_folder} not the "
                f"points of round {number}: merge again (remove {filename}) and rerun snakemake"
            )
        expansion, items = _call(plan, postproc, search_folder, number)
        duplicates = _duplicates(plan, expansion)
        stopped = bool(expansion) and number + 1 >= postproc.max_rounds
        items[CONFIG] = _round_items(postproc, number, len(plan), expansion, duplicates, stopped)
        rounds.save_expansion(search_folder, number, expansion)
        trajectory_items.add_items(filename, settings.name, items, settings.storage)
    added = len(next(iter(expansion.values()))) if expansion else 0
    stopped = added > 0 and number + 1 >= postproc.max_rounds
    if duplicates:
        notice.warning(
            "post-processing round %d (%s) expanded the trajectory with %d point(s) already "
            "present (%s): they run again as new runs, as pypet's f_expand does",
            number,
            postproc.function,
            len(duplicates),
            ", ".join(duplicates[:5]),
        )
    if stopped:
        notice.warning(
            "post-processing round %d (%s) expanded the trajectory again, but max_rounds = %d "
            "is reached: the search stops without converging and its %d new point(s) are not "
            "computed (raise postprocessing.max_rounds to go on)",
            number,
            postproc.function,
            postproc.max_rounds,
            added,
        )
    record = {
        "format": rounds.FORMAT,
        "round": number,
        "function": postproc.function,
        "runs_before": len(plan),
        "added": added,
        "duplicates": len(duplicates),
        "stopped": stopped,
        "finished": time.time(),
    }
    rounds.save_record(search_folder, number, record)
    logger.info("post-processing round %d added %d point(s)", number, added)
    return record


def _call(
    plan: Plan, postproc: PostprocSettings, search_folder: Path, number: int
) -> tuple[dict[str, list[Any]], dict[str, list[Item]]]:
    """The user's function on the merged file; what it expanded and added."""
    from pypet_sm.analysis.load import load_trajectory

    settings = plan.settings
    config = rounds.load_config(search_folder)
    earlier = []
    for previous in range(number):
        expansion = rounds.load_expansion(search_folder, previous)
        if expansion is None:
            raise PostprocError(f"round {previous}'s points are missing in {search_folder}")
        earlier.append(expansion)
    definition = rounds.definition(config, settings, earlier)
    if len(definition) != len(plan):
        raise PostprocError(
            f"round {number}: the rounds recorded in {search_folder} give {len(definition)} "
            f"runs, the plan {len(plan)}; run snakemake again"
        )
    function = import_object(postproc.function, "postprocessing.function")
    results = result_list(plan)
    seed = int(search_folder.name, 16) % 2**63
    with load_trajectory(
        settings.filename, settings.name, settings.dynamically_imported_classes, True
    ) as loaded:
        traj = PostprocTrajectory(loaded, definition, number, seed)
        try:
            returned = function(traj, results, *postproc.args, **postproc.kwargs)
            _expand(traj, returned, postproc.function)
        except Exception as error:  # the user's code may fail in any way
            shown = "".join(traceback.format_exception(error)[1:]).rstrip()
            raise PostprocError(
                f"post-processing function {postproc.function} raised in round {number} "
                f"(after {len(plan)} runs; the merged {settings.filename} holds them): "
                f"{type(error).__name__}: {error}\n{shown}"
            ) from None
    return traj.expansion(), traj.added


def _expand(traj: PostprocTrajectory, returned: Any, function: str) -> None:
    """pypet's handling of what post-processing returns: None, or a dict for f_expand."""
    if isinstance(returned, tuple) and returned:
        if len(returned) > 1:
            raise PostprocError(
                f"{function} returned a tuple of {len(returned)}: new job or post-processing "
                "arguments (pypet's longer tuples) are not supported; change args/kwargs in "
                "the config instead"
            )
        returned = returned[0]
    if returned is None:
        return
    if not isinstance(returned, dict):
        raise PostprocError(
            f"{function} returned {type(returned).__name__} {returned!r:.80}: pypet expects "
            "None or a dict of parameter ranges to f_expand"
        )
    if returned:
        traj.f_expand(returned)


def _duplicates(plan: Plan, expansion: dict[str, list[Any]]) -> list[str]:
    """The new points equal to a point before them (described by their values)."""
    if not expansion:
        return []
    names = plan.explored_names
    columns = plan.explored_columns()
    seen = {identity.encode([columns[n][i] for n in names]) for i in range(len(plan))}
    found = []
    for position in range(len(expansion[names[0]])):
        values = [expansion[n][position] for n in names]
        encoded = identity.encode(values)
        if encoded in seen:
            found.append(", ".join(f"{n}={v!r}" for n, v in zip(names, values, strict=True)))
        seen.add(encoded)
    return found


def _round_items(
    postproc: PostprocSettings,
    number: int,
    first_run: int,
    expansion: dict[str, list[Any]],
    duplicates: list[str],
    stopped: bool,
) -> list[Item]:
    """The round's environment-like record in the file."""
    added = len(next(iter(expansion.values()))) if expansion else 0
    now = time.time()
    values = {
        "function": (postproc.function, "the post-processing function"),
        "added": (added, "points it added (runs first_run ... first_run + added - 1)"),
        "first_run": (first_run, "index of the first run it added"),
        "duplicates": (len(duplicates), "added points equal to earlier ones"),
        "stopped": (stopped, "max_rounds reached: its points are not computed"),
        "timestamp": (now, "when it finished"),
        "time": (time.strftime("%Y_%m_%d_%Hh%Mm%Ss", time.gmtime(now)), "when, UTC"),
    }
    name = record_name(number)
    return [Item(f"{name}.{key}", {"data": v}, c) for key, (v, c) in values.items()]
