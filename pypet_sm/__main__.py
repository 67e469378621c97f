"""Command line used by the workflow's rules: `python -m pypet_sm run-job|merge ...`."""

from __future__ import annotations

import argparse
import logging
import sys

from . import logs
from . import plan as plans
from .errors import PypetSmError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pypet_sm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_job = commands.add_parser("run-job", help="compute the runs of one job of a plan")
    run_job.add_argument("--plan", required=True, help="the job's plan file")
    run_job.add_argument("--manifest", required=True, help="manifest path (the rule's output)")
    run_job.add_argument("--retry-token", default="", help="token of the job's failure record")
    merge = commands.add_parser("merge", help="merge all fragments into the trajectory file")
    merge.add_argument("--plan", required=True)
    merge.add_argument("--output", required=True, help="trajectory HDF5 file")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    plan = plans.load(arguments.plan)
    logger = logs.setup(plan.settings.log_dir)
    try:
        if arguments.command == "run-job":
            from .run import run_job

            run_job(plan, arguments.manifest, arguments.retry_token)
        else:
            from .merge import merge

            merge(plan, arguments.output)
    except PypetSmError as error:
        logger.error("%s", error)
        return 1
    finally:
        logging.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
