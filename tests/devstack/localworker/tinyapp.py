"""The tiny app as an importable module, for a worker in another process (`--app tests.devstack.localworker.tinyapp`).

Invocations are appended as JSON lines to the file named by TINY_RECORD_FILE.
"""

import os
from pathlib import Path

from tests.devstack.localworker.apps import Recorder, build_app

app = build_app(Recorder(Path(os.environ["TINY_RECORD_FILE"]))).app
