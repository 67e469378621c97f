"""Log files as pypet's Environment keeps them, in `<log_folder>/<trajectory>/`.

`main.txt` gets every message at INFO and above from every process, `warnings_and_errors.txt`
only warnings and errors; each process also logs to stderr, which the rules redirect (with the
job function's prints) into the rule's own `log:` file. Several processes append to the
shared files; each record is one short write in append mode, which POSIX keeps whole.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(name)s %(levelname)s [%(process)d] %(message)s"
MAIN = "main.txt"
WARNINGS = "warnings_and_errors.txt"


def setup(log_dir: Path, level: int = logging.INFO) -> logging.Logger:
    """Configure the `pypet_sm` logger (and the job function's root logging) for this process."""
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = []
    for path, handler_level in ((log_dir / MAIN, level), (log_dir / WARNINGS, logging.WARNING)):
        handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        handler.setLevel(handler_level)
        handlers.append(handler)
    handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    return logging.getLogger("pypet_sm")
