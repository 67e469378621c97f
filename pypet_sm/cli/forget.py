"""`pypet-sm forget`: make the next `snakemake` compute chosen runs again, and only them.

Selectors (given several, a run must match all of them):
    --all              every run
    --failed           runs whose last computation failed
    --runs 3,7-9       runs by index
    --where "x > 0.5"  a condition on explored parameters (pypet_sm/execute/condition.py)
    --code-changed     runs computed by another version of the job module than today's
`--dry-run` says what would be forgotten and changes nothing. It takes the workflow lock,
so it never runs beside a snakemake of the same project (pypet_sm/execute/forget.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pypet_sm.cli.status import load_plan
from pypet_sm.cli.usage import UsageError
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import forget as forgetting
from pypet_sm.execute import job_function, workflow_lock
from pypet_sm.hdf5.layout import run_name

LIST_RUNS = 10


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "forget", help="make the next snakemake compute chosen runs again (and only them)"
    )
    parser.add_argument("config", nargs="?", default="config.yaml")
    parser.add_argument("--all", action="store_true", help="every run")
    parser.add_argument("--failed", action="store_true", help="the failed runs")
    parser.add_argument("--runs", help="run indices, e.g. 3,7-9")
    parser.add_argument("--where", help='a condition on explored parameters, e.g. "x > 0.5"')
    parser.add_argument(
        "--code-changed",
        action="store_true",
        help="runs computed by another version of the job function's module",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be forgotten, change nothing"
    )


def forget(arguments: argparse.Namespace) -> int:
    selectors = [
        name
        for name, given in (
            ("--all", arguments.all),
            ("--failed", arguments.failed),
            ("--runs", arguments.runs is not None),
            ("--where", arguments.where is not None),
            ("--code-changed", arguments.code_changed),
        )
        if given
    ]
    if not selectors:
        raise UsageError(
            'forget: say which runs: --all, --failed, --runs 3,7-9, --where "x > 0.5" or '
            "--code-changed (several: a run must match all)"
        )
    if arguments.all and len(selectors) > 1:
        raise UsageError(f"forget: --all selects every run; it cannot go with {selectors[1]}")
    plan = load_plan(Path(arguments.config))  # also enters the project folder
    try:
        lock = workflow_lock.acquire()
    except workflow_lock.WorkflowLocked as error:
        raise UsageError(f"forget: nothing forgotten: {error}") from None
    try:
        selected = set(plan.runs)
        try:
            if arguments.runs is not None:
                selected &= forgetting.parse_runs(arguments.runs, len(plan))
            if arguments.where is not None:
                selected &= forgetting.where(plan, arguments.where)
            if arguments.failed:
                selected &= forgetting.failed(plan)
            if arguments.code_changed:
                changed, _ = forgetting.code_changed(
                    plan, job_function.source_digest(plan.settings.job)
                )
                selected &= changed
        except PypetSmError as error:
            raise UsageError(f"forget: {error}") from None
        done = forgetting.forget(plan, selected, arguments.dry_run)
    finally:
        lock.close()
    _report(done, " and ".join(selectors), arguments.dry_run)
    return 0


def _report(done: forgetting.Forgotten, selectors: str, dry_run: bool) -> None:
    if not done.runs:
        print(f"no run matches {selectors}: nothing forgotten")
        return
    names = ", ".join(run_name(idx) for idx in done.runs[:LIST_RUNS])
    more = f" and {len(done.runs) - LIST_RUNS} more" if len(done.runs) > LIST_RUNS else ""
    verb = "would forget" if dry_run else "forgot"
    print(
        f"{verb} {len(done.runs)} runs ({selectors}): {names}{more}; {done.fragments} stored "
        f"results {'would be ' if dry_run else ''}removed, {len(done.jobs)} jobs to run again"
    )
    if dry_run:
        print("dry run: nothing changed")
    else:
        print("next: snakemake computes exactly these runs again (the other runs are kept)")
