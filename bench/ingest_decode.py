"""Where one telemetry message's CPU goes in ingest, stage by stage, without servers.

    uv run --no-sync python -m bench.ingest_decode [--per-message 100] [--messages 200]

The per-message half of ingest's hot path (:func:`ingest.messages.decode_delivery`) on the
batches the drain of :mod:`bench.ingest` publishes (``PER_MESSAGE`` readings of distinct series,
as :func:`bench.ingest_load.batch_readings` builds them), timed stage by stage in CPU time
(``time.process_time``), the best of ``--repeats`` rounds, so other load on the machine counts
as little as it can:

- ``json.loads``: the standard library's parser alone, turning the payload into dicts and
  checking nothing: the floor of any decoder written in Python on top of it;
- ``json.loads + model_construct``: the same dicts made into :class:`~telemetry.Reading` models
  by pydantic's unchecked constructor: the floor of such a decoder that builds the models
  ingest works with;
- ``decode_batch_partial``: the strict pydantic decoding into :class:`~telemetry.Reading`
  models;
- ``checks``: :meth:`ingest.validation.ReadingChecks.check` of the decoded readings;
- ``lines``: :meth:`store.readings.ReadingLines.lines` of the decoded readings;
- ``decode_delivery``: the whole, with the topic parsed and the message assembled.
"""

import argparse
import json
import time
from collections.abc import Callable

from bench.ingest_load import batch_readings
from ingest.broker import Delivery
from ingest.messages import decode_delivery
from ingest.validation import ReadingChecks
from store.readings import ReadingLines
from store.sql import Placement
from telemetry import Reading, TelemetryBatch, decode_batch_partial, encode, topics

GATEWAY = "gw-bench"
PLACEMENT = Placement(GATEWAY, "site-1", "ent-1", "park-1", "county-1")


def best_us(step: Callable[[], object], rounds: int, per_round: int) -> float:
    """The best of ``rounds`` rounds of CPU time, in µs per call of ``step``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(per_round):
            step()
        best = min(best, time.process_time() - started)
    return best / per_round * 1e6


def main(argv: list[str] | None = None) -> None:
    """Time each stage and print µs per message and per reading."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_decode", description=__doc__)
    parser.add_argument("--per-message", type=int, default=100, help="readings per message")
    parser.add_argument("--messages", type=int, default=200, help="distinct messages")
    parser.add_argument("--repeats", type=int, default=15, help="rounds; the best is kept")
    args = parser.parse_args(argv)
    now_ms = int(time.time() * 1000)
    payloads = [
        encode(
            TelemetryBatch(
                gateway=GATEWAY, seq=k, readings=batch_readings(k, args.per_message, now_ms)
            )
        )
        for k in range(args.messages)
    ]
    decoded = [decode_batch_partial(payload).readings for payload in payloads]
    checks = ReadingChecks(clock_skew_s=300, late_after_s=600)
    lines = ReadingLines()
    topic = topics.telemetry(GATEWAY)
    deliveries = [Delivery(topic, payload, 1, 1, 1, 0.0) for payload in payloads]

    def each(work: Callable[[int], object]) -> Callable[[], None]:
        def step() -> None:
            for index in range(args.messages):
                work(index)

        return step

    stages: dict[str, Callable[[int], object]] = {
        "json.loads": lambda i: json.loads(payloads[i]),
        "json.loads + model_construct": lambda i: [
            Reading.model_construct(**fields) for fields in json.loads(payloads[i])["readings"]
        ],
        "decode_batch_partial": lambda i: decode_batch_partial(payloads[i]),
        "checks": lambda i: checks.check(decoded[i], now_ms=now_ms),
        "lines": lambda i: lines.lines(PLACEMENT, decoded[i]),
        "decode_delivery": lambda i: decode_delivery(
            deliveries[i], placement_of=lambda _gateway: PLACEMENT, checks=checks, lines=lines
        ),
    }
    print(f"{args.per_message} readings a message, {len(payloads[0]):,} bytes; CPU, best round")
    for name, work in stages.items():
        per_message = best_us(each(work), args.repeats, 1) / args.messages
        per_reading = per_message / args.per_message
        print(f"{name:28s} {per_message:9.1f} µs/message {per_reading:7.2f} µs/reading")


if __name__ == "__main__":
    main()
