"""`python -m pypet_sm.cli`: the `pypet-sm` command."""

import sys

from pypet_sm.cli import main

sys.exit(main())
