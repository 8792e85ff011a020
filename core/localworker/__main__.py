"""`python -m core.localworker`: see core.localworker.command."""

import sys

from core.localworker.command import main

sys.exit(main())
