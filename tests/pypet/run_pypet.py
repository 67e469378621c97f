"""Run pypet 0.7's own Environment on a build hook and job function (run with pypet's Python).

    python3.12 run_pypet.py SPEC.json

SPEC: {"directory": where the job module is, "module", "build", "job", "args", "kwargs",
"name", "comment", "filename", "storage": {pypet's storage options}}. Single process, no log
files: the file is what counts. Prints {"seconds": ...} as JSON.
"""

import importlib
import json
import sys
import time


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    sys.path.insert(0, spec["directory"])
    from pypet import Environment

    module = importlib.import_module(spec["module"])
    started = time.perf_counter()
    env = Environment(
        trajectory=spec["name"],
        comment=spec.get("comment", ""),
        filename=spec["filename"],
        log_config=None,
        report_progress=False,
        multiproc=False,
        **spec.get("storage", {}),
    )
    getattr(module, spec["build"])(env.trajectory)
    env.run(getattr(module, spec["job"]), *spec.get("args", []), **spec.get("kwargs", {}))
    env.disable_logging()
    print(json.dumps({"seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
