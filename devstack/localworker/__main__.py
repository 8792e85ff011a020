"""`python -m devstack.localworker`: see devstack.localworker.command."""

import sys

from devstack.localworker.command import main

sys.exit(main())
