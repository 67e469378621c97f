"""The post-processing rules' commands: `python -m pypet_sm.postproc merge|round|done ...`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pypet_sm import __main__ as commands
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import plan as plans
from pypet_sm.postproc.search import write_marker
from pypet_sm.provenance import environment, logs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pypet_sm.postproc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    merge = sub.add_parser("merge", help="merge a round's runs, then mark the round merged")
    merge.add_argument("--marker", required=True, help="the rule's output")
    merge.add_argument("--output", required=True, help="trajectory HDF5 file")
    run = sub.add_parser("round", help="post-process a round (the checkpoint)")
    run.add_argument("--round", type=int, required=True)
    run.add_argument("--record", required=True, help="the round's record (the rule's output)")
    for command in (merge, run):
        command.add_argument("--state", required=True, help="the project's state folder")
        command.add_argument("--plan", required=True, help="digest of the round's plan file")
        command.add_argument("--notices-fd", type=int, help="where the user's notices go")
    done = sub.add_parser("done", help="the search's summary, from its last round's record")
    done.add_argument("--record", required=True)
    done.add_argument("--output", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "merge":
        argv_merge = ["merge", "--state", arguments.state, "--plan", arguments.plan]
        argv_merge += ["--output", arguments.output]
        if arguments.notices_fd is not None:
            argv_merge += ["--notices-fd", str(arguments.notices_fd)]
        status = commands.main(argv_merge)
        if status == 0:
            write_marker(arguments.marker, plan=arguments.plan)
        return status
    if arguments.command == "done":
        record = json.loads(Path(arguments.record).read_text())
        write_marker(arguments.output, **record)
        print(
            f"pypet_sm: the search {'stopped at max_rounds' if record['stopped'] else 'converged'}"
            f" after post-processing round {record['round']}: "
            f"{record['runs_before']} runs",
            file=sys.stderr,
        )
        return 0
    try:
        plan = plans.load(plans.file_in_state(arguments.state, "plan", arguments.plan))
        settings = plan.settings
        env = environment.current(settings)
    except PypetSmError as error:
        print(f"pypet_sm: {error}", file=sys.stderr)
        return 1
    logs.set_context(f"postproc_{arguments.round}")
    logs.setup(settings.environment_log_dir(env.name), settings.log_level)
    notice = logging.getLogger("pypet_sm.notice")
    if arguments.notices_fd is not None:
        commands._show_notices(arguments.notices_fd)
    try:
        from pypet_sm.postproc.run import run_round

        run_round(plan, Path(arguments.record).parent, arguments.round)
    except PypetSmError as error:  # on the terminal too (the notices' fd), not only the log
        notice.error("%s", error)
        return 1
    except OSError as error:  # the trajectory file could not be read or written
        notice.error("post-processing round %d: %s", arguments.round, error)
        return 1
    finally:
        logging.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
