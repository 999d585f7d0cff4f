"""Command line entry point of ``lantian-ingest``: run the service until SIGTERM or Ctrl-C."""

import argparse
import gc
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from ingest.service import IngestService
from ingest.settings import IngestSettings, settings_from
from store.sql import DeadLetterStore, DeliveryLedger, Registry, create_engine_for


def main(argv: list[str] | None = None) -> int:
    """Run ingest with settings from the environment (``LANTIAN_INGEST_*``) or ``--env-file``."""
    parser = argparse.ArgumentParser(prog="lantian-ingest", description=__doc__)
    parser.add_argument("--env-file", type=Path, help="settings file (KEY=value lines)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the log
    settings = settings_from(args.env_file)
    return run(settings)


def run(settings: IngestSettings) -> int:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with settings.influx.open() as influx:
        engine = create_engine_for(settings.sql_url)
        service = IngestService(
            settings,
            influx=influx,
            registry=Registry(engine),
            ledger=DeliveryLedger(engine),
            dead_letters=DeadLetterStore(engine),
        )
        service.start()
        tune_garbage_collector(settings.gc_gen0_threshold)
        stop.wait()
        logging.getLogger(__name__).info("stopping")
        service.stop()
    return 0


def tune_garbage_collector(gen0_threshold: int) -> None:
    """Collect the youngest generation every ``gen0_threshold`` allocations, not every 700.

    What exists once the service has started (modules, settings, the registry's placements) is
    moved out of the collector's reach with :func:`gc.freeze`, so no collection scans it again.
    Reference counting still frees every message's objects at once; only cycles wait longer.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)


if __name__ == "__main__":
    raise SystemExit(main())
