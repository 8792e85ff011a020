"""`python -m core <verb> ...`: see core.entry.cli."""

import sys

from core.entry.cli import main

sys.exit(main())
