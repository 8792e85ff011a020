"""Command line of the local worker: `python -m devstack.localworker` (and `python -m core worker`).

Like `func start`, it loads `local.settings.json` `Values` into the environment first; a variable already
set in the environment wins. Exit codes: 0 stopped normally, 1 storage unreachable, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.azure.settings import SettingsError
from core.entry.local_host_flags import add_sign_in_arguments
from core.entry.local_settings import load_local_settings
from devstack.localworker.errors import WorkerConfigError
from devstack.localworker.sign_in import SignInStandIn
from devstack.localworker.worker import EXIT_CONFIG, run_worker

log = logging.getLogger("devstack.localworker")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.localworker",
        description="Serve the Function app's queue, timer, HTTP and Event Grid triggers "
        "without the Functions host.",
    )
    parser.add_argument(
        "--app", default="function_app", help="module that defines the FunctionApp (default: %(default)s)"
    )
    parser.add_argument(
        "--app-dir", type=Path, default=Path("."), help="folder of the app (default: current folder)"
    )
    parser.add_argument("--host-json", type=Path, help="host.json to honour (default: APP_DIR/host.json)")
    parser.add_argument(
        "--settings",
        type=Path,
        help="local.settings.json to load (default: APP_DIR/local.settings.json if present)",
    )
    parser.add_argument("--until-idle", action="store_true", help="stop once no trigger queue has work left")
    parser.add_argument(
        "--http-port", type=int, help="serve HTTP and Event Grid triggers on this port (e.g. 7071)"
    )
    parser.add_argument(
        "--http-host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    add_sign_in_arguments(parser)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def sign_in_of(args: argparse.Namespace) -> SignInStandIn | None:
    """The stand-in the arguments ask for (None: principal headers are removed); ValueError for a bad one."""
    if args.sign_in_as:
        return SignInStandIn.signed_in_as(args.sign_in_as)
    return SignInStandIn() if args.sign_in else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the worker with command-line arguments `argv` (default sys.argv[1:]); returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The SDKs log every HTTP request at INFO; keep the worker's own lines readable.
    logging.getLogger("azure").setLevel(max(logging.WARNING, logging.getLogger().level))
    app_dir = args.app_dir.resolve()
    try:
        settings = args.settings or app_dir / "local.settings.json"
        if args.settings or settings.exists():
            if not settings.exists():
                raise WorkerConfigError(f"--settings {settings} does not exist")
            skipped = load_local_settings(settings, os.environ)
            for name in skipped:
                log.info("Setting %r from %s skipped: already set in the environment", name, settings.name)
        if str(app_dir) not in sys.path:
            sys.path.insert(0, str(app_dir))
        sign_in = sign_in_of(args)
    except (WorkerConfigError, SettingsError, ValueError) as error:
        log.error("Configuration problem: %s", error)
        return EXIT_CONFIG
    return run_worker(
        args.app,
        host_json=args.host_json or app_dir / "host.json",
        until_idle=args.until_idle,
        http_port=args.http_port,
        http_host=args.http_host,
        sign_in=sign_in,
    )
