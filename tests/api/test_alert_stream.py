"""The live alert stream over real HTTP: a real uvicorn server on a free port, a real client.

The rules service is another process, so these tests write alerts through the store (as it
does) and watch them arrive; people's actions go through the API itself.
"""

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from tests.api.conftest import ENT_A, ENT_B, PASSWORD, SITE_A, SITE_B, open_alert, settings

from api.app import create_app
from store.connection import InfluxConnection
from store.sql import Actor, AlertStore

pytestmark = pytest.mark.integration

STREAM = "/v1/alerts/events"
WAIT_S = 10.0


@contextmanager
def serving(engine) -> Iterator[str]:
    """The API served by uvicorn on a free port of 127.0.0.1; stops when the block ends."""
    app = create_app(
        settings(stream_poll_s=0.05, stream_keepalive_s=0.3),
        influx=lambda: InfluxConnection().open(),
        engine=lambda: engine,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped while starting"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(WAIT_S)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


class EventReader:
    """Reads one SSE response in a thread; frames come out of :meth:`next` as dicts."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._frames: queue.Queue[dict[str, str]] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        frame: dict[str, str] = {}
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if frame:
                        self._frames.put(frame)
                    frame = {}
                elif line.startswith(":"):
                    self._frames.put({"comment": line[1:].strip()})
                else:
                    name, _, value = line.partition(":")
                    frame[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            return  # the test closed the stream

    def next(self, *, skip_comments: bool = True) -> dict[str, str]:
        deadline = time.monotonic() + WAIT_S
        while True:
            frame = self._frames.get(timeout=max(0.0, deadline - time.monotonic()))
            if not (skip_comments and "comment" in frame):
                return frame

    def events(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` events (comments and retry hints skipped), data decoded."""
        found: list[dict[str, Any]] = []
        while len(found) < count:
            frame = self.next()
            if "id" in frame:
                found.append(
                    {"id": int(frame["id"]), "event": frame["event"]} | json.loads(frame["data"])
                )
        return found

    def nothing_for(self, seconds: float) -> bool:
        """No event (comments aside) arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self._frames.get(timeout=left)
            except queue.Empty:
                return True
            if "id" in frame:
                return False
        return True


def token(base: str, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@contextmanager
def stream(base: str, headers: dict[str, str]) -> Iterator[EventReader]:
    with (
        httpx.Client(base_url=base, timeout=httpx.Timeout(WAIT_S, read=WAIT_S)) as client,
        client.stream("GET", STREAM, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = EventReader(response)
        assert reader.next() == {"retry": "50"}  # the stream is open and polling
        yield reader


def test_alert_events_arrive_live_and_a_client_resumes_after_its_last_event(city_sql, people):
    with serving(city_sql) as base:
        zhang = token(base, "zhang")
        with stream(base, zhang) as live:
            open_alert(city_sql, ENT_B, SITE_B)  # another enterprise's: never shown to zhang
            alert_id = open_alert(city_sql, ENT_A, SITE_A)

            opened, fired = live.events(2)
            assert (opened["event"], fired["event"]) == ("opened", "fired")
            assert opened["alert_id"] == fired["alert_id"] == alert_id
            assert opened["alert"] == {
                "rule": "pm25-spike",
                "subject": f"site:{SITE_A}/device:pm-1",
                "severity": "major",
                "enterprise": ENT_A,
                "site": SITE_A,
            }
            assert fired["id"] > opened["id"]

            acknowledged = httpx.post(
                f"{base}/v1/alerts/{alert_id}/acknowledge",
                json={"comment": "Filter bag replaced"},
                headers=zhang,
            )
            assert acknowledged.status_code == 200
            [event] = live.events(1)
            assert (event["event"], event["actor"], event["comment"], event["state"]) == (
                "acknowledged",
                f"enterprise:{ENT_A}/zhang",
                "Filter bag replaced",
                "acknowledged",
            )
            last_seen = event["id"]

        # While zhang is away, the bureau comments twice; the stream resumes after last_seen.
        staff = AlertStore(city_sql)
        staff.comment(alert_id, Actor.staff("admin"), "Inspection booked")
        staff.comment(alert_id, Actor.staff("admin"), "Inspector on the way")
        with stream(base, zhang | {"Last-Event-ID": str(last_seen)}) as resumed:
            first, second = resumed.events(2)
            assert (first["comment"], second["comment"]) == (
                "Inspection booked",
                "Inspector on the way",
            )
            assert first["id"] > last_seen

        # Without Last-Event-ID a client starts at the newest event: nothing old comes again.
        with stream(base, zhang) as fresh:
            assert fresh.nothing_for(0.5)


def test_a_quiet_stream_sends_keep_alive_comments(city_sql, people):
    with serving(city_sql) as base, stream(base, token(base, "viewer")) as live:
        assert live.next(skip_comments=False) == {"comment": "keep-alive"}


def test_bureau_callers_get_every_enterprises_events(city_sql, people):
    with serving(city_sql) as base, stream(base, token(base, "viewer")) as live:
        a = open_alert(city_sql, ENT_A, SITE_A)
        b = open_alert(city_sql, ENT_B, SITE_B)

        assert [(e["alert_id"], e["event"]) for e in live.events(4)] == [
            (a, "opened"),
            (a, "fired"),
            (b, "opened"),
            (b, "fired"),
        ]


def test_the_stream_needs_a_signed_in_caller(city_sql, people):
    with serving(city_sql) as base:
        response = httpx.get(f"{base}{STREAM}", timeout=WAIT_S)
        bad_resume = httpx.get(
            f"{base}{STREAM}", headers=token(base, "viewer") | {"Last-Event-ID": "x"}
        )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="lantian"'
    assert bad_resume.status_code == 422
