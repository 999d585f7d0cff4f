"""Command line entry point of ``lantian-rules``."""

import sys


def main(argv: list[str] | None = None) -> int:
    """Say that this service has no commands yet, and fail so no one mistakes it for running."""
    del argv
    sys.stderr.write("lantian-rules: not built yet: it will run the rules engine\n")
    return 2
