"""Run every snippet of snippets.py under pypet 0.7 (run with pypet's Python).

    python3.12 run_snippets.py SPEC.json

SPEC: {"files": {label: trajectory file}}. Prints {label: {snippet: description}} as JSON.
"""

import json
import sys
import warnings
from pathlib import Path


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pypet
    import snippets

    warnings.simplefilter("ignore")
    out = {}
    for label, filename in spec["files"].items():
        traj = snippets.open_trajectory(pypet, filename)
        out[label] = snippets.run_all(traj)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
