"""``lantian-dashboards push`` against a real HTTP server that keeps state as Grafana does.

No Grafana binary runs here, so the server implements the endpoints grafana-client calls for a
push (data sources, folders and dashboards by uid) with Grafana's status codes: 404 for an
unknown uid, 409 for creating what exists, 412 for saving over a dashboard without
``overwrite``, 400 for an unknown folder, 401 without the right credentials. It records every
request, so pushing twice shows that the second push only updates.
"""

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dashboards.boards import DASHBOARDS
from dashboards.cli import main
from dashboards.model import DATASOURCE_UID
from dashboards.provisioning import FOLDERS

TOKEN = "glsa_test_token"  # noqa: S105 - the test server's own token
USER, PASSWORD = "admin", "s3cret"


@dataclass
class GrafanaState:
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        del format, args

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        with self.state.lock:
            self.state.requests.append((method, self.path))
            if not self._authorised():
                self._answer(401, {"message": "Unauthorized"})
                return
            status, answer = self._route(method, self.path.split("?")[0], body)
        self._answer(status, answer)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return header in {f"Bearer {TOKEN}", f"Basic {basic}"}

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:  # noqa: PLR0911, PLR0912, C901 - one router
        state = self.state
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "datasources", "uid"] and len(parts) == 4:
            uid = parts[3]
            if uid not in state.datasources:
                return 404, {"message": "Data source not found"}
            if method == "GET":
                return 200, state.datasources[uid]
            state.datasources[uid] = body | {"version": state.datasources[uid]["version"] + 1}
            return 200, {"message": "Datasource updated"}
        if parts == ["api", "datasources"] and method == "POST":
            if body["uid"] in state.datasources:
                return 409, {"message": "data source with the same uid already exists"}
            state.datasources[body["uid"]] = body | {"version": 1}
            return 200, {"message": "Datasource added"}
        if parts[:2] == ["api", "folders"] and len(parts) == 3:
            uid = parts[2]
            if uid not in state.folders:
                return 404, {"message": "folder not found"}
            if method == "GET":
                return 200, state.folders[uid]
            state.folders[uid] = state.folders[uid] | {"title": body["title"]}
            return 200, state.folders[uid]
        if parts == ["api", "folders"] and method == "POST":
            if body["uid"] in state.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            state.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
            return 200, state.folders[body["uid"]]
        if parts[:3] == ["api", "dashboards", "uid"] and len(parts) == 4:
            found = state.dashboards.get(parts[3])
            return (404, {"message": "Dashboard not found"}) if found is None else (200, found)
        if parts == ["api", "dashboards", "db"] and method == "POST":
            dashboard, folder = body["dashboard"], body.get("folderUid")
            if folder not in state.folders:
                return 400, {"message": "folder not found"}
            old = state.dashboards.get(dashboard["uid"])
            if old is not None and not body.get("overwrite"):
                return 412, {"status": "version-mismatch"}
            version = 1 if old is None else old["meta"]["version"] + 1
            state.dashboards[dashboard["uid"]] = {
                "dashboard": dashboard,
                "meta": {"folderUid": folder, "version": version},
            }
            return 200, {"uid": dashboard["uid"], "version": version, "status": "success"}
        return 404, {"message": "Not found"}

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def grafana() -> Iterator[tuple[str, GrafanaState]]:
    state = GrafanaState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


INFLUX = ["--influx-url", "http://influxdb:8086", "--influx-database", "lantian"]


def test_pushing_twice_creates_once_then_updates_in_place(grafana, capsys):
    url, state = grafana
    assert main(["push", "--url", url, "--token", TOKEN, *INFLUX]) == 0
    first = list(state.requests)
    assert set(state.datasources) == {DATASOURCE_UID}
    assert state.datasources[DATASOURCE_UID]["jsonData"]["dbName"] == "lantian"
    assert state.datasources[DATASOURCE_UID]["url"] == "http://influxdb:8086"
    assert {uid: f["title"] for uid, f in state.folders.items()} == {
        f"lantian-{folder}": title for folder, title in FOLDERS.items()
    }
    assert {uid: d["meta"]["folderUid"] for uid, d in state.dashboards.items()} == {
        d.uid: f"lantian-{d.folder}" for d in DASHBOARDS
    }
    assert ("POST", "/api/datasources") in first
    assert "created" in capsys.readouterr().out

    assert main(["push", "--url", url, "--token", TOKEN, *INFLUX]) == 0
    second = state.requests[len(first) :]
    assert ("POST", "/api/datasources") not in second
    assert ("POST", "/api/folders") not in second
    assert ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}") in second
    assert len(state.datasources) == 1
    assert state.datasources[DATASOURCE_UID]["version"] == 2
    assert len(state.folders) == len(FOLDERS)
    assert len(state.dashboards) == len(DASHBOARDS)
    assert {d["meta"]["version"] for d in state.dashboards.values()} == {2}
    out = capsys.readouterr().out
    assert "created" not in out
    assert out.count("updated") == 1 + len(FOLDERS) + len(DASHBOARDS)


def test_push_with_a_user_and_password(grafana):
    url, state = grafana
    args = ["push", "--url", url, "--user", USER, "--password", PASSWORD, *INFLUX]
    assert main(args) == 0
    assert len(state.dashboards) == len(DASHBOARDS)


def test_refused_credentials_fail_clearly_and_change_nothing(grafana, capsys):
    url, state = grafana
    assert main(["push", "--url", url, "--token", "wrong", *INFLUX]) == 1
    assert "refused" in capsys.readouterr().err
    assert not state.datasources
    assert not state.folders
    assert not state.dashboards


def test_a_user_without_a_password_is_a_usage_error(grafana):
    url, _ = grafana
    with pytest.raises(SystemExit) as stopped:
        main(["push", "--url", url, "--user", USER])
    assert stopped.value.code == 2
