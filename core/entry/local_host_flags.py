"""The local Functions host's sign-in flags, shared by `python -m core worker` and `python -m devstack.localworker`.

A leaf module: the local host (devstack) imports it without importing the CLI, which reaches the local host.
"""

import argparse


def add_sign_in_arguments(parser: argparse.ArgumentParser) -> None:
    """--sign-in and --sign-in-as of the local host (`worker` here, `python -m devstack.localworker`): it stands in
    for App Service authentication, as devstack/localworker/sign_in.py says (the app needs API_AUTH=entra)."""
    parser.add_argument("--sign-in", action="store_true",
                        help="stand in for App Service authentication: pass the X-MS-CLIENT-PRINCIPAL headers "
                             "clients send (tests)")
    parser.add_argument("--sign-in-as", metavar="NAME=ROLE,ROLE",
                        help="stand in for App Service authentication, signing every request without a principal "
                             "in as NAME with these app roles, e.g. alice=Builds.Read,Builds.Submit")
