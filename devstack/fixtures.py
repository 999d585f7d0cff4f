"""pytest fixtures that start real Mosquitto and InfluxDB servers on free ports.

- ``mosquitto``: a broker of its own for one test.
- ``mosquitto_factory``: start brokers with options (persistence, passwords, ACLs, a
  configuration file of the test's own) in a test.
- ``influx_server``: one InfluxDB for the whole run; it starts in a fraction of a second, but
  a database per test is cheaper still and isolates as well.
- ``influx``: a fresh, uniquely named database on it, as an :class:`InfluxStore`, dropped after.

Every server started here is stopped at teardown, also when the test fails.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from devstack.servers import InfluxServer, MosquittoServer
from store.influx import InfluxStore


class MosquittoFactory(Protocol):
    """Starts a broker with :class:`MosquittoServer`'s options; the fixture stops it."""

    def __call__(  # noqa: PLR0913 - the broker's options, all keyword-only
        self,
        *,
        port: int | None = None,
        persistence: bool = False,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        extra_config: str = "",
        config_file: Path | None = None,
    ) -> MosquittoServer:
        """Start a broker in a folder of its own and return it, already answering."""
        ...


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """A callable that starts brokers, each in a folder of its own under ``tmp_path``."""
    started: list[MosquittoServer] = []

    def start(  # noqa: PLR0913 - the broker's options, all keyword-only
        *,
        port: int | None = None,
        persistence: bool = False,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        extra_config: str = "",
        config_file: Path | None = None,
    ) -> MosquittoServer:
        server = MosquittoServer(
            tmp_path / f"mosquitto-{len(started)}",
            port=port,
            persistence=persistence,
            password_file=password_file,
            acl_file=acl_file,
            extra_config=extra_config,
            config_file=config_file,
        )
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    """A started broker with anonymous access and no persistence."""
    return mosquitto_factory()


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """One InfluxDB server for the whole test run."""
    with InfluxServer(tmp_path_factory.mktemp("influxdb")) as server:
        yield server


@pytest.fixture
def influx(influx_server: InfluxServer) -> Iterator[InfluxStore]:
    """A database of the test's own on the shared server, dropped after the test."""
    store = InfluxStore(influx_server.url, f"test_{uuid.uuid4().hex[:12]}")
    store.create_database()
    try:
        yield store
    finally:
        store.drop_database()
        store.close()
