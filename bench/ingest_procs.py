"""The processes of the ingest benchmark as it watches them: ingest's metrics, everyone's CPU.

Ingest is read through its Prometheus endpoint (``/metrics``), summed over label values; the
servers are found in ``/proc`` by the configuration file in their command line, so their CPU
time can be read like ingest's (:mod:`bench.procstat`).
"""

import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.procstat import CpuSample, cpu_sample, cpu_share

WRITTEN = "lantian_ingest_readings_written_total"
DUPLICATES = "lantian_ingest_duplicates_total"
REJECTED = "lantian_ingest_messages_rejected_total"
MESSAGES = "lantian_ingest_messages_received_total"
SUBSCRIBED = "lantian_ingest_subscribed"
READINGS_REJECTED = "lantian_ingest_readings_rejected_total"
LATE = "lantian_ingest_late_readings_total"
BATCHES = "lantian_ingest_batch_seconds_count"


class MetricsReader:
    """Reads ingest's metrics over one kept-alive HTTP client (a new one per read costs CPU)."""

    def __init__(self) -> None:
        # Uncompressed: the benchmark reads ten times a second, and compressing every answer
        # would be work inside ingest that only the benchmark asks for (Prometheus scrapes
        # every 15 s or so).
        self._client = httpx.Client(timeout=1.0, headers={"Accept-Encoding": "identity"})

    def read(self, metrics_url: str) -> dict[str, float] | None:
        """Every sample summed over its labels; None while ingest does not answer."""
        try:
            text = self._client.get(metrics_url).text
        except httpx.HTTPError:
            return None
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
        return totals

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def summed(samples: list[dict[str, float]], name: str) -> int:
    """One metric summed over several workers."""
    return int(sum(sample.get(name, 0.0) for sample in samples))


def pid_with(fragment: str) -> int:
    """The process whose command line contains ``fragment`` (a server's configuration file)."""
    wanted = fragment.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    raise LookupError(f"no process with {fragment!r} in its command line")


class CpuWatch:
    """CPU shares of named processes between :meth:`mark` (per process) and :meth:`shares`."""

    def __init__(self) -> None:
        self._before: dict[str, tuple[int, CpuSample]] = {}

    def mark(self, name: str, pid: int) -> None:
        """Start counting ``pid``'s CPU time now, under ``name``."""
        self._before[name] = (pid, cpu_sample(pid))

    def shares(self) -> dict[str, float]:
        """CPU seconds per wall second of each process since its mark (1.0 = one core)."""
        return {
            name: cpu_share(before, cpu_sample(pid)) for name, (pid, before) in self._before.items()
        }


def settle(pids: Mapping[str, int], *, quiet: float = 0.1, timeout_s: float = 20.0) -> None:
    """Wait until the servers are idle (below ``quiet`` of a core), e.g. InfluxDB compacting."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = {name: cpu_sample(pid) for name, pid in pids.items()}
        time.sleep(0.5)
        if all(cpu_share(before[name], cpu_sample(pid)) < quiet for name, pid in pids.items()):
            return
