"""Command line entry point of ``lantian-dashboards``."""

import sys


def main(argv: list[str] | None = None) -> int:
    """Say that this service has no commands yet, and fail so no one mistakes it for running."""
    del argv
    sys.stderr.write("lantian-dashboards: not built yet: it will push the Grafana dashboards\n")
    return 2
