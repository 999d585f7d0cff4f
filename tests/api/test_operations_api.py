"""Operations through the API: gateways' health from a real InfluxDB, dead letters from real
SQLite and PostgreSQL, written the way the rules service and ingest write them.

Bureau viewers and admins read; enterprise users get 403 on every route, whatever the id.
"""

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import HENGTONG, QINGYUAN, influx_settings, key_headers, make_client
from tests.api.conftest import sign_in as sign_in_as

from devstack.city import CITY, SimSite
from store.influx import InfluxStore
from store.result_points import gateway_health_points
from store.sql import DeadLetterRecord, DeadLetterStore, Placement, Role
from telemetry.payload import ClockSync, DeviceHealth, GatewayState, GatewayStatus, SpoolHealth

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
GW_A, GW_B = HENGTONG.gateway, QINGYUAN.gateway
QUIET = CITY[2]  # reported once, three hours ago


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def placement(sim: SimSite) -> Placement:
    park = sim.park[0] if sim.park else None
    return Placement(sim.gateway, sim.site, sim.enterprise[0], park, sim.county[0])


def report(gateway: str, *, readings: int, oldest: float, dropped: int) -> GatewayStatus:
    return GatewayStatus(
        gateway=gateway,
        state=GatewayState.ONLINE,
        ts=ms(NOW),
        uptime_s=3600.0,
        spool=SpoolHealth(
            batches=3,
            readings=readings,
            oldest_unacked_s=oldest,
            in_flight=1,
            dropped_raw=dropped,
        ),
        devices={"pm-1": DeviceHealth(state="ok"), "meter-1": DeviceHealth(state="timeout")},
        clock=ClockSync.SYNCED,
    )


@pytest.fixture
def ops(influx: InfluxStore, city_sql, people) -> Iterator[TestClient]:
    with make_client(city_sql, influx_settings(influx)) as client:
        yield client


@pytest.fixture
def health(influx: InfluxStore) -> None:
    """A reports then goes away (its last will); B reports and stays."""
    a_report = report(GW_A, readings=120, oldest=95.5, dropped=4)
    influx.write(gateway_health_points(placement(HENGTONG), a_report, ms(NOW - timedelta(hours=2))))
    will = GatewayStatus(gateway=GW_A, state=GatewayState.OFFLINE)
    influx.write(gateway_health_points(placement(HENGTONG), will, ms(NOW - timedelta(hours=1))))
    b_report = report(GW_B, readings=0, oldest=0.0, dropped=0)
    influx.write(
        gateway_health_points(placement(QINGYUAN), b_report, ms(NOW - timedelta(minutes=1)))
    )


def test_gateways_list_status_last_seen_and_spool(ops, health):
    answer = ops.get("/v1/gateway-health", headers=sign_in_as(ops, "viewer"))
    assert answer.status_code == 200, answer.text
    items = {i["gateway"]: i for i in answer.json()["items"]}
    a, b = items[GW_A], items[GW_B]
    assert a["state"] == "offline"
    assert datetime.fromisoformat(a["last_seen"]) == NOW - timedelta(hours=1)
    assert a["enterprise"] == HENGTONG.enterprise[0]
    assert a["spool"]["readings"] == 120
    assert a["spool"]["oldest_unacked_s"] == 95.5
    assert a["spool"]["dropped_raw"] == 4
    assert datetime.fromisoformat(a["spool"]["at"]) == NOW - timedelta(hours=2)
    assert (a["devices"], a["devices_ok"], a["clock_synced"]) == (2, 1, True)
    assert b["state"] == "online"
    assert b["spool"]["readings"] == 0
    others = [i for g, i in items.items() if g not in {GW_A, GW_B}]
    assert others
    assert all(i["state"] == "unknown" and i["last_seen"] is None for i in others)
    assert list(items) == sorted(items)


def test_gateways_filters(ops, health):
    viewer = sign_in_as(ops, "viewer")
    online = ops.get("/v1/gateway-health", params={"state": "online"}, headers=viewer).json()
    assert [i["gateway"] for i in online["items"]] == [GW_B]
    mine = ops.get(
        "/v1/gateway-health", params={"enterprise": QINGYUAN.enterprise[0]}, headers=viewer
    )
    assert {i["gateway"] for i in mine.json()["items"]} == {GW_B}
    assert (
        ops.get("/v1/gateway-health", params={"state": "asleep"}, headers=viewer).status_code == 422
    )


def test_one_gateways_health(ops, health):
    admin = sign_in_as(ops, "admin")
    answer = ops.get(f"/v1/gateways/{GW_A}/health", headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "offline"
    assert answer.json()["spool"]["batches"] == 3
    missing = ops.get("/v1/gateways/gw-nowhere/health", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no gateway 'gw-nowhere'"


def test_health_older_than_the_lookback_is_not_read(influx, city_sql, people, health):
    quiet = report(QUIET.gateway, readings=7, oldest=1.0, dropped=0)
    influx.write(gateway_health_points(placement(QUIET), quiet, ms(NOW - timedelta(hours=3))))
    lookback = influx_settings(influx, gateway_health_lookback_s=90 * 60)
    with make_client(city_sql, lookback) as client:
        viewer = sign_in_as(client, "viewer")
        items = {
            i["gateway"]: i
            for i in client.get("/v1/gateway-health", headers=viewer).json()["items"]
        }
        alone = client.get(f"/v1/gateways/{QUIET.gateway}/health", headers=viewer).json()
    assert items[QUIET.gateway] == alone
    assert (alone["state"], alone["last_seen"], alone["spool"]) == ("unknown", None, None)
    a, b = items[GW_A], items[GW_B]
    # A's last will (an hour ago) is inside the lookback, its last report (two hours) is not.
    assert a["state"] == "offline"
    assert datetime.fromisoformat(a["last_seen"]) == NOW - timedelta(hours=1)
    assert (a["spool"], a["uptime_s"], a["devices"]) == (None, None, None)
    assert b["state"] == "online"
    assert datetime.fromisoformat(b["last_seen"]) == NOW - timedelta(minutes=1)
    assert b["spool"]["batches"] == 3


def test_enterprise_callers_may_not_read_operations(ops, health, city_sql):
    zhang = sign_in_as(ops, "zhang")
    machine = key_headers(city_sql, Role.ENTERPRISE_USER, HENGTONG.enterprise[0])
    for headers in (zhang, machine):
        for url in (
            "/v1/gateway-health",
            f"/v1/gateways/{GW_A}/health",
            "/v1/gateways/gw-nowhere/health",
            "/v1/dead-letters",
            "/v1/dead-letters/1",
        ):
            assert ops.get(url, headers=headers).status_code == 403, url
    assert ops.get("/v1/gateway-health").status_code == 401
    assert ops.get("/v1/dead-letters").status_code == 401


def letter(n: int, *, reason: str, gateway: str | None, payload: bytes) -> DeadLetterRecord:
    return DeadLetterRecord(
        received_at=NOW - timedelta(minutes=10 - n),
        reason=reason,
        detail=f"letter {n}",
        topic=f"lantian/v1/{gateway or 'unknown'}/data",
        payload=payload,
        gateway=gateway,
        seq=n,
    )


@pytest.fixture
def letters(city_sql) -> list[int]:
    """Six letters, as ingest keeps them: ids in the order they arrived."""
    store = DeadLetterStore(city_sql)
    for n in range(6):
        reason = "invalid_json" if n % 2 else "out_of_range"
        payload = b"\xff\xfe{broken" if n == 5 else f'{{"n": {n}, "pm": "\u7a7a"}}'.encode()
        store.record([letter(n, reason=reason, gateway=GW_A if n < 4 else GW_B, payload=payload)])
    return [r.id or 0 for r in store.page(limit=10)]


def test_dead_letters_newest_first_in_pages(ops, letters):
    admin = sign_in_as(ops, "admin")
    first = ops.get("/v1/dead-letters", params={"limit": 4}, headers=admin).json()
    assert [i["id"] for i in first["items"]] == letters[:4]
    assert first["next_before"] == letters[3]
    rest = ops.get(
        "/v1/dead-letters", params={"limit": 4, "before": first["next_before"]}, headers=admin
    ).json()
    assert [i["id"] for i in rest["items"]] == letters[4:]
    assert rest["next_before"] is None
    assert "payload" not in first["items"][0]
    assert first["items"][0]["payload_bytes"] == len(b"\xff\xfe{broken")


def test_dead_letters_filters(ops, letters):
    viewer = sign_in_as(ops, "viewer")

    def details(**params: object) -> list[str]:
        answer = ops.get("/v1/dead-letters", params=params, headers=viewer)
        assert answer.status_code == 200, answer.text
        return [i["detail"] for i in answer.json()["items"]]

    assert details(reason="invalid_json") == ["letter 5", "letter 3", "letter 1"]
    assert details(gateway=GW_B) == ["letter 5", "letter 4"]
    assert details(reason="out_of_range", gateway=GW_A) == ["letter 2", "letter 0"]
    since = (NOW - timedelta(minutes=8)).isoformat()
    until = (NOW - timedelta(minutes=6)).isoformat()
    assert details(received_from=since, received_until=until) == ["letter 3", "letter 2"]
    bad = ops.get(
        "/v1/dead-letters", params={"received_from": until, "received_until": since}, headers=viewer
    )
    assert bad.status_code == 422
    assert bad.json()["detail"] == "received_from must be before received_until"
    naive = ops.get(
        "/v1/dead-letters", params={"received_from": "2026-11-01T00:00"}, headers=viewer
    )
    assert naive.status_code == 422
    assert ops.get("/v1/dead-letters", params={"limit": 0}, headers=viewer).status_code == 422


def test_one_dead_letter_with_its_payload(ops, letters):
    admin = sign_in_as(ops, "admin")
    text = ops.get(f"/v1/dead-letters/{letters[1]}", headers=admin).json()
    assert text["payload_encoding"] == "utf-8"
    assert text["payload"] == '{"n": 4, "pm": "\u7a7a"}'
    assert (text["reason"], text["gateway"], text["seq"]) == ("out_of_range", GW_B, 4)
    raw = ops.get(f"/v1/dead-letters/{letters[0]}", headers=admin).json()
    assert raw["payload_encoding"] == "base64"
    assert base64.b64decode(raw["payload"]) == b"\xff\xfe{broken"
    missing = ops.get(f"/v1/dead-letters/{max(letters) + 100}", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"no dead letter {max(letters) + 100}"


def test_a_dead_letter_id_beyond_the_integer_column_is_422(ops, letters):
    admin = sign_in_as(ops, "admin")

    one = ops.get("/v1/dead-letters/2147483648", headers=admin)
    page = ops.get("/v1/dead-letters", params={"before": 2**31}, headers=admin)

    assert (one.status_code, page.status_code) == (422, 422)
    assert one.json()["detail"][0]["loc"] == ["path", "letter_id"]
    assert page.json()["detail"][0]["loc"] == ["query", "before"]
