"""Sub-commands of the CLI other than ``bench``: validate, schema, compare."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the scenario commands on the CLI's sub-parser."""
