"""Ingest benchmark: telemetry at a city's scale through Mosquitto and ingest into InfluxDB.

    uv run --no-sync python -m bench.ingest [--readings 1000000] [--messages 100000]
        [--workers 1 2] [--latency-seconds 30] [--gateways 6] [--setting KEY=VALUE ...]

Goals (issue "Ingest at scale"), all measured in one run against real servers on this machine,
with zero loss checked by counting in InfluxDB:

- Lantian ingest at 100 readings per message: at least 50 % of the raw ceiling, the same
  readings written straight to the same InfluxDB as line protocol (5,000 lines a request, one
  thread, a database of its own). The machine is shared, so the ceiling is measured before and
  after the drains and ingest is quoted against the higher of the two;
- at 1 reading per message: at least 8,000 messages/s;
- publish-to-queryable latency at 20,000 readings/s: p99 at most 1 s;
- one worker against two (an MQTT 5 shared subscription, a client id each).

Throughput is measured as a drain, so that what is timed is ingest and not the benchmark's own
Python publishing on the same 2 cores: ingest starts once (its persistent session subscribes),
stops, the whole backlog is published at QoS 1 into Mosquitto (persistence on, queues large
enough that nothing is dropped) and held there for ingest's session, then ingest starts again
and the clock runs from its first answer on ``/metrics`` (its start-up left out, printed apart)
until it has written every reading; InfluxDB's count then has to match exactly, ingest's own
counters must show no duplicate and no refusal, or the command exits with 1. The broker's
receiving half is therefore not in the window; the latency phase has it: live, paced publishing
while ingest runs. See :mod:`bench.ingest_latency` for how the latency is read and how exact it
is, :mod:`bench.ingest_load` for what the gateways send.

Ingest runs as an operator runs it (``lantian-ingest``, settings in the environment, its own
SQL store with the city registered), with its default settings unless ``--setting`` says
otherwise; each phase has a fresh broker, a fresh copy of the SQL store and a database of its
own in the one InfluxDB. Sizes of 0 skip a phase; ``--readings 1000 --messages 200
--latency-seconds 1`` is a smoke run of under a minute.
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.ingest_latency import percentile
from bench.ingest_load import backlog, backlog_lines, gateway_ids, prepare_registry
from bench.ingest_phases import Drain, IngestBench, IngestStartError, Latency, Outcome
from devstack.servers import InfluxServer

PER_MESSAGE = 100
MAX_QUEUED = 1_000_000  # Mosquitto's max_queued_messages in devstack: more would be dropped


@dataclass(frozen=True, slots=True)
class Ceiling:
    """The same readings written straight to InfluxDB as line protocol."""

    when: str  # before or after the drains: the machine is shared, so it is measured twice
    readings: int
    seconds: float
    stored: int

    @property
    def readings_per_s(self) -> float:
        """Readings written per second."""
        return self.readings / self.seconds


@dataclass
class Results:
    """Everything one run measured."""

    ceilings: list[Ceiling] = field(default_factory=list)
    drains: list[Drain] = field(default_factory=list)
    latency: Latency | None = None

    @property
    def best_ceiling(self) -> Ceiling | None:
        """The higher ceiling: ingest is quoted against the less flattering one."""
        return max(self.ceilings, key=lambda c: c.readings_per_s, default=None)

    def problems(self) -> list[str]:
        """Loss, duplicates and rejections anywhere in the run."""
        outcomes = [drain.outcome for drain in self.drains]
        if self.latency is not None:
            outcomes.append(self.latency.outcome)
        found = [problem for outcome in outcomes for problem in outcome.problems()]
        found += [
            f"ceiling {c.when}: InfluxDB counts {c.stored:,} of {c.readings:,}"
            for c in self.ceilings
            if c.stored != c.readings
        ]
        return found


def now_ms() -> int:
    """The wall clock in epoch milliseconds, as gateways stamp their readings."""
    return int(time.time() * 1000)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; sizes of 0 skip a phase."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument(
        "--readings",
        type=int,
        default=1_000_000,
        help="readings of the 100-per-message drain and of the ceiling (0 skips both)",
    )
    parser.add_argument(
        "--messages", type=int, default=100_000, help="messages of the 1-per-message drain"
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="ingest workers, per drain"
    )
    parser.add_argument("--gateways", type=int, default=6, help="gateways publishing")
    parser.add_argument("--latency-rate", type=float, default=20_000.0, help="readings/s")
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--latency-workers", type=int, default=1)
    parser.add_argument(
        "--poll", type=float, default=0.025, help="seconds between the latency probe's queries"
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an ingest setting, LANTIAN_INGEST_ left out (BATCH_MAX_READINGS=10000)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep servers' data and logs in a new folder in here"
    )
    args = parser.parse_args(argv)
    if args.readings % PER_MESSAGE:
        parser.error(f"--readings must be a multiple of {PER_MESSAGE}")
    if max(args.readings // PER_MESSAGE, args.messages) > MAX_QUEUED:
        parser.error(f"a backlog of more than {MAX_QUEUED:,} messages would not fit the broker")
    if any("=" not in setting for setting in args.setting):
        parser.error("--setting takes KEY=VALUE")
    return args


@contextmanager
def workdir_for(kept: Path | None) -> Iterator[Path]:
    """A new folder inside ``kept``, left afterwards; or a temporary one, removed afterwards."""
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="ingest-bench-", dir=kept))
        print(f"servers' data and logs: {folder}")
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="lantian-ingest-bench-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures; 1 when anything was lost or duplicated."""
    args = parse_args(argv)
    settings = dict(setting.split("=", 1) for setting in args.setting)
    with workdir_for(args.workdir) as workdir:
        try:
            return run(args, workdir, settings)
        except IngestStartError as exc:
            print(f"ingest did not start and subscribe:\n{exc}", file=sys.stderr)
            return 2


def run(args: argparse.Namespace, workdir: Path, settings: dict[str, str]) -> int:
    """Every phase in turn, then the summary."""
    gateways = gateway_ids(args.gateways)
    placements = prepare_registry(f"sqlite:///{workdir / 'registry.db'}", gateways)
    if settings:
        print(f"ingest settings: {settings}")
    with InfluxServer(workdir / "influxdb") as influx:
        bench = IngestBench(workdir, influx, placements, settings)
        try:
            results = phases(bench, args)
        finally:
            bench.close()
    print()
    print(summary(results, args))
    problems = results.problems()
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def phases(bench: IngestBench, args: argparse.Namespace) -> Results:
    """The ceiling, the drains, the ceiling again and the latency phase, each printed at its end."""
    ids = bench.gateways
    results = Results()
    count = args.readings // PER_MESSAGE
    lines = backlog_lines(bench.placements, count, PER_MESSAGE, now_ms()) if count else []
    if lines:
        results.ceilings.append(ceiling(bench, lines, "before the drains"))
        for workers in args.workers:  # encoded anew: source times stay recent
            messages = backlog(ids, count, PER_MESSAGE, now_ms())
            results.drains.append(bench.drain(f"{PER_MESSAGE} readings/message", messages, workers))
            print(drain_line(results.drains[-1]), flush=True)
            del messages
    if args.messages:
        for workers in args.workers:
            messages = backlog(ids, args.messages, 1, now_ms())
            results.drains.append(bench.drain("1 reading/message", messages, workers))
            print(drain_line(results.drains[-1]), flush=True)
            del messages
    if lines:
        results.ceilings.append(ceiling(bench, lines, "after the drains"))
        del lines
    if args.latency_seconds > 0:
        results.latency = bench.latency(
            args.latency_rate, args.latency_seconds, args.latency_workers, args.poll
        )
        print(latency_line(results.latency, args.latency_rate), flush=True)
    return results


def ceiling(bench: IngestBench, lines: list[str], when: str) -> Ceiling:
    """Measure the ceiling once and print it."""
    seconds, counted = bench.ceiling(lines, "ceiling_" + when.split(maxsplit=1)[0])
    found = Ceiling(when, len(lines), seconds, counted)
    print(
        f"ceiling {when}: {found.readings:,} readings in {seconds:.2f} s = "
        f"{found.readings_per_s:,.0f} readings/s",
        flush=True,
    )
    return found


def cpu_text(outcome: Outcome) -> str:
    """CPU shares of the processes during a phase (1.00 = one core)."""
    ingest = sum(share for name, share in outcome.cpu.items() if name.startswith("ingest"))
    others = ", ".join(
        f"{name} {share:.2f}"
        for name, share in outcome.cpu.items()
        if not name.startswith("ingest")
    )
    return f"ingest {ingest:.2f}, {others}"


def late_text(outcome: Outcome) -> str:
    """A warning when ingest took readings for late ones: then it did extra rollup work."""
    return f"; {outcome.late:,} readings taken for late" if outcome.late else ""


def drain_line(drain: Drain) -> str:
    """One drain, as it finishes."""
    outcome = drain.outcome
    mean_batch = outcome.written / outcome.batches if outcome.batches else 0.0
    return (
        f"drain {drain.label}, {drain.workers} worker(s): {outcome.readings:,} readings "
        f"({drain.messages:,} messages) in {drain.seconds:.2f} s = "
        f"{drain.readings_per_s:,.0f} readings/s, {drain.messages_per_s:,.0f} messages/s; "
        f"stored {outcome.stored:,}; start-up {drain.startup_s:.1f} s; "
        f"{outcome.batches:,} writes of {mean_batch:,.0f} readings; "
        f"CPU (cores): {cpu_text(outcome)}{late_text(outcome)}"
    )


def latency_line(latency: Latency, rate: float) -> str:
    """The latency phase, as it finishes."""
    values = latency.latencies
    readings = latency.outcome.readings
    return (
        f"latency at {rate:,.0f} readings/s, {latency.workers} worker(s): "
        f"{latency.messages:,} messages ({readings:,} readings, "
        f"{readings / latency.published_s:,.0f}/s published) — "
        f"p50 {percentile(values, 0.5):.3f} s, p95 {percentile(values, 0.95):.3f} s, "
        f"p99 {percentile(values, 0.99):.3f} s, max {max(values):.3f} s "
        f"(probe cycle {latency.cycle_s * 1000:.0f} ms); stored {latency.outcome.stored:,}; "
        f"CPU (cores): {cpu_text(latency.outcome)}{late_text(latency.outcome)}"
    )


def table(rows: list[tuple[str, ...]]) -> str:
    """Rows as left-aligned text columns, the first row the header."""
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def summary(results: Results, args: argparse.Namespace) -> str:
    """The figures of the run and the goals, as the run's last words."""
    header = ("phase", "workers", "messages", "readings", "seconds", "readings/s", "messages/s")
    rows: list[tuple[str, ...]] = [(*header, "stored")]
    rows += [
        (
            f"ceiling {c.when}: line protocol",
            "-",
            "-",
            f"{c.readings:,}",
            f"{c.seconds:.2f}",
            f"{c.readings_per_s:,.0f}",
            "-",
            f"{c.stored:,}",
        )
        for c in results.ceilings
    ]
    rows += [
        (
            f"ingest, {drain.label}",
            str(drain.workers),
            f"{drain.messages:,}",
            f"{drain.outcome.readings:,}",
            f"{drain.seconds:.2f}",
            f"{drain.readings_per_s:,.0f}",
            f"{drain.messages_per_s:,.0f}",
            f"{drain.outcome.stored:,}",
        )
        for drain in results.drains
    ]
    text = [table(rows), "", f"gateways: {args.gateways}", "goals:"]
    best = results.best_ceiling
    for drain in results.drains:
        if best is not None and drain.label.startswith(f"{PER_MESSAGE} "):
            share = drain.readings_per_s / best.readings_per_s
            text.append(
                f"  {drain.label}, {drain.workers} worker(s): {share:.0%} of the higher "
                f"ceiling (goal ≥ 50 %): {_met(share >= 0.5)}"
            )
        if drain.label.startswith("1 "):
            rate = drain.messages_per_s
            text.append(
                f"  {drain.label}, {drain.workers} worker(s): {rate:,.0f} messages/s "
                f"(goal ≥ 8,000): {_met(rate >= 8000)}"
            )
    latency = results.latency
    if latency is not None and latency.latencies:
        p99 = percentile(latency.latencies, 0.99)
        text.append(
            f"  latency at {args.latency_rate:,.0f} readings/s, {latency.workers} worker(s): "
            f"p99 {p99:.3f} s (goal ≤ 1 s): {_met(p99 <= 1.0)}"
        )
    by_label: dict[str, dict[int, Drain]] = {}
    for drain in results.drains:
        by_label.setdefault(drain.label, {})[drain.workers] = drain
    for label, runs in by_label.items():
        if 1 in runs and 2 in runs:
            gain = runs[2].readings_per_s / runs[1].readings_per_s
            text.append(f"  two workers against one, {label}: {gain:.2f} times the rate")
    return "\n".join(text)


def _met(met: bool) -> str:  # noqa: FBT001 - a plain predicate
    return "met" if met else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
