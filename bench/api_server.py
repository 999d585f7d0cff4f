"""What the API benchmarks share: a real ``lantian-api serve`` process and timed requests.

``lantian-api serve`` runs as its own process (uvicorn, as deployed) against a real InfluxDB and
SQL store; callers send a key of their own in ``X-API-Key`` (checked against the SQL store on
every request, as deployed). A request is timed from sending it to its last byte, and every
answer goes through the caller's check before it counts.
"""

import math
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from devstack.servers import free_port

Check = Callable[[int, dict[str, Any]], str | None]  # (n, n-th JSON body) -> what is wrong


def say(text: str) -> None:
    """Print a line of the benchmark's progress at once."""
    print(text, flush=True)


def serve(
    workdir: Path, influx_url: str, database: str, sql_url: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``lantian-api serve`` and return it once ``/healthz`` answers, with its base URL."""
    port = free_port()
    env = os.environ | {
        "LANTIAN_API_PORT": str(port),
        "LANTIAN_API_INFLUX__URL": influx_url,
        "LANTIAN_API_INFLUX__DATABASE": database,
        "LANTIAN_API_SQL_URL": sql_url,
        "LANTIAN_API_JWT_SECRET": secrets.token_urlsafe(48),
    }
    log = (workdir / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--log-level", "WARNING", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"lantian-api did not answer; see {workdir / 'api.log'}")


@contextmanager
def serving(workdir: Path, influx_url: str, database: str, sql_url: str) -> Iterator[str]:
    """:func:`serve` for the block: its base URL; the process is stopped afterwards."""
    process, base = serve(workdir, influx_url, database, sql_url)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def timed(
    client: httpx.Client,
    paths: Sequence[str],
    check: Check,
    headers: Sequence[Mapping[str, str]] | None = None,
) -> list[float]:
    """Milliseconds of each request; each answer must be 200 and pass ``check``.

    ``headers``, one per path, are sent besides the client's own.

    Raises:
        RuntimeError: an answer that is not 200, or that ``check`` finds wrong.
    """
    latencies = []
    for n, path in enumerate(paths):
        started = time.perf_counter()
        response = client.get(path, headers=None if headers is None else headers[n])
        body = response.json()
        latencies.append((time.perf_counter() - started) * 1000)
        wrong = check(n, body) if response.status_code == 200 else response.text[:200]
        if wrong is not None:
            raise RuntimeError(f"{path}: HTTP {response.status_code}, {wrong}")
    return latencies


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def iso(epoch_ms: int) -> str:
    """``epoch_ms`` as an ISO 8601 UTC time to the second, as query strings carry it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms / 1000))
