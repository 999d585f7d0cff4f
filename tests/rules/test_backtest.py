"""``lantian-rules backtest`` against a real InfluxDB and a registered city in SQLite."""

import json
from pathlib import Path
from typing import Any

import pytest
from tests.rules.conftest import HENGTONG, QINGYUAN

from devstack.city import CITY, register
from rules.backtest import moment_ms
from rules.cli import main
from store.influx import InfluxStore
from store.readings import reading_point
from store.sql import Placement, Registry, RuleResults, create_engine_for
from telemetry import Reading

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"
DAY_START = moment_ms("2026-11-26")
MINUTE = 60_000


@pytest.fixture
def city_db(sqlite_url):
    """Hengtong east and Qingyuan registered; the URL of the store."""
    engine = create_engine_for(sqlite_url)
    register(Registry(engine), [s for s in CITY if s.gateway in {"gw-0001", "gw-0002"}])
    engine.dispose()
    return sqlite_url


def minutes(placement: Placement, values: list[float], metric: str = "pm25"):
    return [
        reading_point(
            placement,
            Reading(
                device="pm-1",
                metric=metric,
                value=value,
                ts=DAY_START + n * MINUTE,
                interval_s=60,
                count=60,
                valid=True,
            ),
        )
        for n, value in enumerate(values)
    ]


def write_history(influx: InfluxStore) -> int:
    """Hengtong: PM2.5 80 all day but 16 minutes at 200 from 10:00; Qingyuan: 40 until noon."""
    hengtong = [80.0] * 1440
    hengtong[600:616] = [200.0] * 16
    points = minutes(HENGTONG, hengtong) + minutes(QINGYUAN, [40.0] * 720)
    influx.write(points)
    return len(points)


def backtest(influx, sql_url, *extra: str) -> list[str]:
    return [
        "backtest",
        "--rules",
        str(EXAMPLES / "liaocheng.yaml"),
        "--from",
        "2026-11-26",
        "--to",
        "2026-11-27",
        "--influx-url",
        influx.url,
        "--influx-database",
        influx.database,
        "--sql-url",
        sql_url,
        *extra,
    ]


def by_rule(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["rule"]: rule for rule in report["rules"]}


def test_a_day_of_history_is_replayed_and_counted_per_rule(influx, city_db, capsys):
    written = write_history(influx)

    assert main(backtest(influx, city_db, "--json")) == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["from"], report["to"]) == (
        "2026-11-26T00:00:00+08:00",
        "2026-11-27T00:00:00+08:00",
    )
    assert report["readings"] == written
    rules = by_rule(report)
    hengtong_pm = "site:site-hengtong-east/device:pm-1"
    qingyuan_pm = "site:site-qingyuan-stack/device:pm-1"
    spike = rules["pm25-spike"]
    assert (spike["fired"], spike["subjects"]) == (1, [hengtong_pm])
    # stuck at 80 before and after the spike, and Qingyuan at 40: three runs of 30 minutes
    flat = rules["pm25-flatline"]
    assert (flat["fired"], flat["subjects"]) == (3, [hengtong_pm, qingyuan_pm])
    # Qingyuan went quiet at noon: one episode (device subjects only)
    assert (rules["pm-no-data"]["fired"], rules["pm-no-data"]["subjects"]) == (1, [qingyuan_pm])
    assert rules["pm-order"]["fired"] == 0
    daily = rules["pm25-daily"]
    assert (daily["windows"], daily["fired"]) == (2, 1)
    assert daily["outcomes"] == {"exceeding": 1, "insufficient_data": 1}
    assert daily["subjects"] == ["site:site-hengtong-east"]
    hourly = rules["aqi-hourly"]
    assert hourly["windows"] == 48  # 24 hours at two sites
    # 10:00 has 16 minutes at 200 and 44 at 80: mean 112, IAQI 147 — lightly polluted
    assert hourly["fired"] == 0
    assert rules["aqi-daily"]["outcomes"] == {"exceeding": 1, "insufficient_data": 1}
    offline = rules["gateway-offline"]
    assert (offline["replayed"], offline["note"]) == (
        False,
        "not replayed: gateway status messages are not stored",
    )
    target = rules["city-pm25-path"]
    assert (target["outcomes"], target["note"]) == (
        {"insufficient_data": 1},  # a day of a year is too few
        "the year through 2026-11-26",
    )
    assert rules["hengtong-energy-intensity"]["windows"] == 0  # monthly: no whole month


def test_the_text_report_has_a_line_per_rule_and_the_results_store_is_untouched(
    influx, city_db, capsys
):
    write_history(influx)

    assert main(backtest(influx, city_db)) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "backtest 2026-11-26T00:00+08:00 to 2026-11-27T00:00+08:00: 2160 readings replayed"
    )
    lines = {line.split()[0]: line for line in out[1:]}
    assert lines["pm25-spike"].endswith("threshold         fired 1 time, on 1 subject")
    assert lines["pm25-daily"].endswith(
        "exceeding in 1 of 2 site windows, at 1 site; insufficient data in 1"
    )
    assert lines["gateway-offline"].endswith("not replayed: gateway status messages are not stored")
    engine = create_engine_for(city_db)
    try:
        assert RuleResults(engine).results() == []
    finally:
        engine.dispose()


def test_energy_intensity_is_judged_per_whole_day_and_month(influx, city_db, capsys, tmp_path):
    rules = tmp_path / "energy.yaml"
    rules.write_text(
        "rules:\n"
        "  - {id: daily, kind: energy_intensity, window: day, target: 1,\n"
        "     scope: {enterprise: ent-hengtong-al}}\n"
        "  - {id: monthly, kind: energy_intensity, window: month, target: 1}\n"
    )
    args = ["backtest", "--rules", str(rules), "--json", "--sql-url", city_db]
    args += ["--influx-url", influx.url, "--influx-database", influx.database]

    assert main([*args, "--from", "2026-11-01", "--to", "2026-12-01T06:00+08:00"]) == 0

    tallies = by_rule(json.loads(capsys.readouterr().out))
    # nothing metered, nothing submitted: insufficient, never compliant
    assert tallies["daily"]["outcomes"] == {"insufficient_data": 30}
    assert tallies["monthly"]["outcomes"] == {"insufficient_data": 2}  # two enterprises


def test_raw_samples_are_paired_and_unusable_points_are_counted(influx, city_db, capsys, tmp_path):
    rules = tmp_path / "order.yaml"
    rules.write_text("rules: [{id: order, kind: pm25_above_pm10, tolerance: 2}]\n")
    at = moment_ms("2026-11-26T08:00+08:00")
    samples = [
        ("pm25", 60, at),
        ("pm10", 50, at),
        ("pm25", 30, at + 10_000),
        ("pm10", 50, at + 10_000),
    ]
    influx.write(
        reading_point(HENGTONG, Reading(device="pm-1", metric=metric, value=value, ts=ts))
        for metric, value, ts in samples
    )
    tags = "county=chiping,enterprise=ent-hengtong-al,gateway=gw-0001,site=site-hengtong-east"
    influx.write_lines(
        [
            f"pm25,device=pm-9,quality=N,interval=raw value=5 {at + 20_000}",  # no placement
            f"pm25,{tags},device=pm-2,quality=N,interval=raw value=5,min=9 {at}",  # min > value
        ]
    )
    args = ["backtest", "--rules", str(rules), "--json", "--sql-url", city_db]
    args += ["--influx-url", influx.url, "--influx-database", influx.database]

    assert main([*args, "--from", "2026-11-26T08:00+08:00", "--to", "2026-11-26T09:00+08:00"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["readings"] == 4
    assert report["ignored"] == {"invalid": 1, "stale": 0, "unplaced": 1, "unsynced": 0}
    order = by_rule(report)["order"]
    assert (order["fired"], order["subjects"]) == (1, ["site:site-hengtong-east/device:pm-1"])


def test_settings_come_from_the_environment_like_the_service(influx, city_db, capsys, monkeypatch):
    write_history(influx)
    monkeypatch.setenv("LANTIAN_RULES_INFLUX__URL", influx.url)
    monkeypatch.setenv("LANTIAN_RULES_INFLUX__DATABASE", influx.database)
    monkeypatch.setenv("LANTIAN_RULES_SQL_URL", city_db)
    monkeypatch.setenv("LANTIAN_RULES_RULE_FILES", "ignored.yaml")  # the service's, ignored
    args = ["backtest", "--rules", str(EXAMPLES / "liaocheng.yaml"), "--json"]

    assert main([*args, "--from", "2026-11-26T12:00+08:00", "--to", "2026-11-26T13:00"]) == 0

    rules = by_rule(json.loads(capsys.readouterr().out))
    assert rules["aqi-hourly"]["windows"] == 2  # 12:00 at both sites; no whole day
    assert rules["pm25-daily"]["windows"] == 0


def test_unusable_arguments_and_settings_are_refused(tmp_path, capsys, monkeypatch):
    rules = str(EXAMPLES / "liaocheng.yaml")
    assert main(["backtest", "--rules", rules, "--from", "yesterday", "--to", "2026-11-27"]) == 2
    assert "--from, --to: Invalid isoformat string: 'yesterday'" in capsys.readouterr().err
    assert main(["backtest", "--rules", rules, "--from", "2026-11-27", "--to", "2026-11-26"]) == 2
    assert capsys.readouterr().err == "--to must come after --from\n"
    monkeypatch.setenv("LANTIAN_RULES_INFLUX__TIMEOUT_S", "soon")
    assert main(["backtest", "--rules", rules, "--from", "2026-11-26", "--to", "2026-11-27"]) == 1
    assert capsys.readouterr().err.startswith("LANTIAN_RULES_INFLUX__TIMEOUT_S: Input should be")


def test_a_broken_rule_file_is_reported_and_nothing_is_read(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - {id: x, kind: threshold, metric: pm2.5, above: 1}\n")
    args = ["backtest", "--rules", str(broken), "--from", "2026-11-26", "--to", "2026-11-27"]
    assert main([*args, "--influx-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err.startswith(f"{broken}:2: rule x: rules[0].metric:")


def test_an_unreachable_influxdb_fails_with_the_reason(city_db, capsys):
    args = ["backtest", "--rules", str(EXAMPLES / "liaocheng.yaml")]
    args += ["--from", "2026-11-26", "--to", "2026-11-27", "--sql-url", city_db]
    assert main([*args, "--influx-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err.startswith("backtest failed: ")
