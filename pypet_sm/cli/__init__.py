"""`pypet-sm`: everyday commands for users.

    pypet-sm status [CONFIG]      runs done / failed / missing, time left, the failed runs
    pypet-sm show FILE [--name T]     a trajectory file at a glance
    pypet-sm table FILE [--csv OUT] [--name T]   the runs table, printed or written as CSV
    pypet-sm show|table --live [PROJECT]   the same over the runs finished so far (a project
                                  folder or config, default .; read while snakemake runs)
    pypet-sm init DIR [--name N]  a new project whose Snakefile includes the installed rules
    pypet-sm forget [CONFIG] --all|--failed|--runs 3,7-9|--where "x > 0.5"|--code-changed
                                  [--dry-run]  the next snakemake computes these runs again

`status` only reads: it takes no lock and works while snakemake runs (fragments appear,
vanish or are half-written under it; a file that fails its checks counts as missing).
`forget` takes the workflow lock: refused while a snakemake runs in the project.
`show` and `table` never unpickle: a pickled item shows its class and size.
Bad input (a missing file, a file that is not a trajectory, a bad config) gives one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pypet_sm.cli import forget, show, status
from pypet_sm.cli.usage import UsageError
from pypet_sm.errors import PypetSmError


# init ------------------------------------------------------------------------------------
def init(directory: Path, name: str | None) -> int:
    from pypet_sm import project

    written = project.init(directory, name)
    print(f"new pypet_sm project in {directory}:")
    for path in written:
        print(f"  {path.relative_to(directory)}")
    print(f"workflow: {project.snakefile()} (the installed pypet_sm's)")
    print(f"next: cd {directory} && snakemake --cores 2 && pypet-sm status")
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="pypet-sm",
        description="Inspect pypet_sm explorations and trajectory files; start a new project.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    status_parser = commands.add_parser(
        "status", help="runs done / failed / missing of a config's exploration"
    )
    status_parser.add_argument("config", nargs="?", default="config.yaml")
    status_parser.add_argument(
        "--cores",
        type=int,
        default=os.cpu_count() or 1,
        help="cores the time estimate assumes (default: this machine's)",
    )
    show_parser = commands.add_parser("show", help="a trajectory file at a glance")
    table_parser = commands.add_parser("table", help="the runs table of a trajectory file")
    table_parser.add_argument("--csv", help="write the table as CSV to this file")
    for command in (show_parser, table_parser):
        command.add_argument("file", nargs="?", help="the file (with --live: a project, or .)")
        command.add_argument(
            "--name", help="the trajectory to read in a file holding several (default: the one)"
        )
        command.add_argument(
            "--live",
            action="store_true",
            help="read the runs a project (its folder or config.yaml) has finished so far, "
            "while snakemake runs or after a crash, instead of its trajectory file",
        )
    init_parser = commands.add_parser(
        "init", help="a new project (Snakefile, config.yaml, job function) in a folder"
    )
    init_parser.add_argument("directory", nargs="?")
    init_parser.add_argument(
        "--from", dest="script", help="a pypet-style script: its project, in its folder"
    )
    init_parser.add_argument("--name", help="the trajectory's name (default: the folder's)")
    forget.add_parser(commands)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        if arguments.command == "status":
            return status.status(Path(arguments.config), arguments.cores)
        if arguments.command in ("show", "table") and arguments.file is None:
            if not arguments.live:
                raise UsageError(f"pypet-sm {arguments.command} needs a FILE (or --live)")
            arguments.file = "."
        if arguments.command == "show":
            return show.show(Path(arguments.file), arguments.name, arguments.live)
        if arguments.command == "init" and arguments.script:
            from pypet_sm.environment.project import init_from_script

            return init_from_script(Path(arguments.script))
        if arguments.command == "init":
            if arguments.directory is None:
                raise UsageError("pypet-sm init DIR, or pypet-sm init --from script.py")
            return init(Path(arguments.directory), arguments.name)
        if arguments.command == "forget":
            return forget.forget(arguments)
        csv = Path(arguments.csv) if arguments.csv else None
        return show.table(Path(arguments.file), csv, arguments.name, arguments.live)
    except (UsageError, PypetSmError) as error:
        print(f"pypet-sm: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `pypet-sm table x | head`
        return 0
