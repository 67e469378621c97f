"""Command line used by the workflow's rules: `python -m pypet_sm run-job|merge|report ...`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from pypet_sm.errors import PypetSmError
from pypet_sm.execute import plan as plans
from pypet_sm.execute.job import RunFailures, run_job
from pypet_sm.provenance import environment, logs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pypet_sm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_job = commands.add_parser("run-job", help="compute the runs of one job of a plan")
    run_job.add_argument("--plan", required=True, help="digest of the job's plan file")
    run_job.add_argument(
        "--settings",
        required=True,
        help="digest of the current settings file (comment, logs, folders)",
    )
    run_job.add_argument("--manifest", required=True, help="manifest path (the rule's output)")
    run_job.add_argument("--attempt", type=int, default=1, help="Snakemake's attempt number")
    run_job.add_argument("--retry-token", default="", help="token of the job's failure record")
    merge = commands.add_parser("merge", help="merge all fragments into the trajectory file")
    merge.add_argument("--plan", required=True, help="digest of the plan file")
    merge.add_argument("--output", required=True, help="trajectory HDF5 file")
    merge.add_argument(
        "--notices-fd",
        type=int,
        help="file descriptor (the terminal, while stderr goes to the log) for what the "
        "user must see: what the merge carried over or kept beside the trajectory file",
    )
    run_job.add_argument(
        "--keep-going",
        action="store_true",
        help="failed runs do not fail the job: they are merged as not completed",
    )
    report = commands.add_parser("report", help="sweep summary and plots for snakemake --report")
    report.add_argument("--plan", required=True, help="digest of the plan file")
    report.add_argument("--trajectory", required=True, help="trajectory HDF5 file")
    report.add_argument("--summary", required=True, help="summary page (HTML) to write")
    report.add_argument("--plots", required=True, help="directory of the plots")
    report.add_argument(
        "--draw-plots", choices=("True", "False"), default="True", help="False: summary only"
    )
    report.add_argument(
        "--max-plots", type=int, default=50, help="at most this many figures (report: max_plots)"
    )
    for command in (run_job, merge, report):
        command.add_argument(
            "--state",
            required=True,
            help="the project's state folder: plan files are read from its plans/ only",
        )
    return parser


def _load_plan(arguments: argparse.Namespace) -> plans.Plan:
    """The plan the command names by digest, read from the state folder it names, which
    must be the state folder of the plan's own settings."""
    state = arguments.state
    if arguments.command == "run-job":
        plan = plans.load_job(
            plans.file_in_state(state, "job", arguments.plan),
            plans.file_in_state(state, "settings", arguments.settings),
        )
    else:
        plan = plans.load(plans.file_in_state(state, "plan", arguments.plan))
    if Path(state).resolve() != plan.settings.trajectory_state.resolve():
        raise plans.PlanError(
            f"--state {state} is not the state folder of the plan it holds "
            f"({plan.settings.trajectory_state}); run snakemake again"
        )
    return plan


def _show_notices(fd: int) -> None:
    """Copy the `pypet_sm.notice` messages to `fd` as well as to the logs."""
    try:
        stream = os.fdopen(fd, "w", buffering=1, closefd=False)
    except OSError:  # not open: the rule did not pass it on
        return
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("pypet_sm: %(message)s"))
    logging.getLogger("pypet_sm.notice").addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        plan = _load_plan(arguments)
        settings = plan.settings
        env = environment.current(settings)
    except PypetSmError as error:
        print(f"pypet_sm: {error}", file=sys.stderr)
        return 1
    log_dir = settings.environment_log_dir(env.name)
    if arguments.command == "run-job":
        job = Path(arguments.manifest).stem  # job_000003, the rule's job
        logs.set_context(f"{job}")
        logger = logs.setup(
            log_dir, settings.log_level, logs.job_log_path(log_dir, job), capture_output=True
        )
    else:
        logs.set_context(arguments.command)
        logger = logs.setup(log_dir, settings.log_level)
        if getattr(arguments, "notices_fd", None) is not None:
            _show_notices(arguments.notices_fd)
    try:
        if arguments.command == "run-job":
            run_job(
                plan,
                arguments.manifest,
                env.name,
                arguments.attempt,
                arguments.retry_token,
                arguments.keep_going,
            )
        elif arguments.command == "merge":
            from pypet_sm.merge.write import merge

            merge(plan, arguments.output)
        else:
            from pypet_sm.analysis import report

            report.write(
                arguments.trajectory,
                arguments.summary,
                arguments.plots,
                arguments.draw_plots == "True",
                arguments.max_plots,
            )
    except PypetSmError as error:
        logger.error("%s", error)
        if arguments.command == "run-job" and not isinstance(error, RunFailures):
            _last_line(error)
        return 1
    finally:
        logging.shutdown()
    return 0


def _last_line(error: PypetSmError) -> None:
    """Why the job failed, as the last line of the rule's log (its stderr), so the workflow
    can show it (failed runs have their own summary)."""
    text = " ".join(str(error).split())
    with contextlib.suppress(OSError):  # a full disk may refuse this line too
        print(f"pypet_sm: {text}", file=sys.__stderr__ or sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
