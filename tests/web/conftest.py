"""The enterprise page in a real headless Chromium against a real uvicorn server.

``api_server`` is the API on a free port of 127.0.0.1 (it can stop and start again there) over
the simulated city's SQL registry and people (tests/api/conftest.py, SQLite and PostgreSQL) and
the ``influx`` fixture's InfluxDB, which holds a PM2.5 episode of Hengtong's ``pm-1`` around
``T0`` for the charts; ``served`` is its address. ``page`` is a fresh browser tab in Chinese;
a script error or a Content-Security-Policy violation fails the test.
"""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import Engine
from tests.api import conftest as api_fixtures
from tests.api.conftest import HENGTONG, MINUTE_MS, T0, influx_settings, minutes, store

from api.app import create_app
from store.influx import InfluxStore

CHROMIUM = Path("/usr/bin/chromium")
WAIT_S = 10.0
EPISODE_START_MS = int(T0.timestamp() * 1000) - 20 * MINUTE_MS
EPISODE_MINUTES = 40

expect.set_options(timeout=15_000)

# The API tests' registry, people and InfluxDB, shared with this folder's tests.
city_sql = api_fixtures.city_sql
people = api_fixtures.people
rolled = api_fixtures.rolled


class ApiServer:
    """The API served by uvicorn on one port of 127.0.0.1; it can stop and start again there."""

    def __init__(self, engine: Engine, influx: InfluxStore) -> None:
        api_settings = influx_settings(influx, stream_poll_s=0.1, stream_keepalive_s=1.0)
        self.app = create_app(api_settings, influx=api_settings.influx.open, engine=lambda: engine)
        self.port = 0
        self._running: tuple[uvicorn.Server, threading.Thread, socket.socket] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        self._running = (server, thread, sock)
        deadline = time.monotonic() + WAIT_S
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert thread.is_alive(), "uvicorn stopped while starting"
            time.sleep(0.02)

    def stop(self) -> None:
        assert self._running is not None, "not running"
        server, thread, sock = self._running
        self._running = None
        server.should_exit = True
        thread.join(WAIT_S)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture
def api_server(city_sql, people, rolled) -> Iterator[ApiServer]:
    # A PM2.5 episode rising through the limit: one aggregate a minute, 100 to 217 µg/m³.
    readings = [
        reading
        for n in range(EPISODE_MINUTES)
        for reading in minutes(EPISODE_START_MS + n * MINUTE_MS, 1, 100.0 + 3 * n)
    ]
    store(rolled, HENGTONG, readings)
    server = ApiServer(city_sql, rolled)
    server.start()
    yield server
    if server._running:
        server.stop()


@pytest.fixture
def served(api_server: ApiServer) -> str:
    return api_server.base


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-packages` installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            problems.append(f"CSP violation: {message.text}")

    tab.on("console", on_console)
    yield tab
    context.close()
    assert not problems, problems
