"""Reports over a real InfluxDB and a real SQL store: monthly compliance and the energy year.

Readings are written the way ingest writes them and rolled up by the CQs' own statements;
rule results and production figures are recorded through the SQL store's own classes. Limits
are GB 3095-2012 Table 1 Grade II 24-hour values (PM2.5 75, PM10 150 µg/m³), AQI figures HJ
633-2012 Table 1 24-hour breakpoints, the electricity coefficient GB/T 2589-2020 (0.1229).
"""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import openpyxl  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.api.conftest import influx_settings, key_headers, make_client, minutes, store

from api.routes.reports import COMPLIANCE_COLUMNS
from devstack.city import CITY
from store.influx import InfluxStore
from store.sql import (
    ProductionPeriod,
    ProductionStore,
    RuleResult,
    RuleResults,
    create_engine_for,
)

pytestmark = pytest.mark.integration

HENGTONG = CITY[0]
SITE, ENTERPRISE = HENGTONG.site, HENGTONG.enterprise[0]
MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
# 2026-10-01 00:00 Asia/Shanghai.
OCT1 = int(datetime(2026, 9, 30, 16, tzinfo=UTC).timestamp() * 1000)
COMPLIANCE = f"/v1/reports/sites/{SITE}/compliance"
ENERGY = f"/v1/reports/enterprises/{ENTERPRISE}/energy"


@pytest.fixture
def api(rolled: InfluxStore, city_sql: Engine) -> Iterator[TestClient]:
    api_settings = influx_settings(rolled)
    # A bureau viewer reads every site; tests/api/test_route_boundary.py covers who reads what.
    with make_client(city_sql, api_settings, headers=key_headers(city_sql)) as client:
        yield client


@pytest.fixture
def engine(sql_url: str) -> Iterator[Engine]:
    engine = create_engine_for(sql_url)
    yield engine
    engine.dispose()


def record(engine: Engine, *results: RuleResult) -> None:
    RuleResults(engine).record(list(results), now=datetime.now(UTC))


def day_result(metric: str, day_ms: int, limit: float, standard: str) -> RuleResult:
    start = datetime.fromtimestamp(day_ms / 1000, UTC)
    return RuleResult(
        rule=f"{metric}-daily",
        rule_version="2026.1",
        kind="window_mean",
        subject=f"site:{SITE}",
        window_start=start,
        window_end=datetime.fromtimestamp((day_ms + DAY_MS) / 1000, UTC),
        outcome="exceeding",
        severity="major",
        value=30.0,
        limit=limit,
        standard=standard,
        site=SITE,
        enterprise=ENTERPRISE,
        evidence={"window": "day", "metric": metric},
    )


@pytest.fixture
def october(api: TestClient, rolled: InfluxStore, engine: Engine) -> None:
    readings = minutes(OCT1, 1440, 80.0) + minutes(OCT1, 1440, 100.0, metric="pm10")
    readings += minutes(OCT1 + DAY_MS, 1440, 30.0) + minutes(
        OCT1 + DAY_MS, 1440, 40.0, metric="pm10"
    )
    readings += minutes(OCT1 + 2 * DAY_MS, 19 * 60, 200.0)  # 19 hours: no daily value
    store(rolled, HENGTONG, readings)
    permit = "permit 91371500MA3C; validity GB 3095-2012 Table 4"
    record(engine, day_result("pm25", OCT1 + DAY_MS, 25.0, permit))


def test_compliance_judges_each_day_against_the_limit_in_force(api, october):
    response = api.get(COMPLIANCE, params={"year": 2026, "month": 10})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["subject"], body["period"]) == (SITE, "2026-10")
    rows = body["rows"]
    assert len(rows) == 31
    first, second, third = rows[:3]
    assert (first["day"], first["pm25_mean"], first["pm25_limit"], first["pm25_exceeding"]) == (
        "2026-10-01",
        80.0,
        75.0,
        True,
    )
    assert first["pm25_limit_source"].startswith("GB 3095-2012 Grade II 24h")
    assert (first["pm10_mean"], first["pm10_limit"], first["pm10_exceeding"]) == (
        100.0,
        150.0,
        False,
    )
    # PM2.5 80 is IAQI 107, PM10 100 is IAQI 75 (HJ 633-2012 formula 1, rounded up).
    assert (first["aqi"], first["aqi_category"], first["primary"]) == (107, "轻度污染", "pm25")
    # The permit the rules engine applied on the 2nd wins over the standard.
    assert (second["pm25_limit"], second["pm25_exceeding"], second["aqi"]) == (25.0, True, 43)
    assert second["pm25_limit_source"].startswith("permit 91371500MA3C")
    assert (third["pm25_valid"], third["pm25_hours"], third["pm25_exceeding"]) == (False, 19, None)
    assert third["aqi"] is None
    assert body["summary"] == {
        "days": 31,
        "pm25_valid_days": 2,
        "pm25_exceedance_days": 2,
        "pm10_valid_days": 2,
        "pm10_exceedance_days": 0,
        "exceedance_days": 2,
        "aqi_days_优": 1,
        "aqi_days_轻度污染": 1,
        "aqi_days_without_data": 29,
    }


def test_compliance_downloads_as_csv_with_a_bom_and_as_xlsx(api, october):
    as_csv = api.get(COMPLIANCE, params={"year": 2026, "month": 10, "format": "csv"})
    as_xlsx = api.get(COMPLIANCE, params={"year": 2026, "month": 10, "format": "xlsx"})

    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"] == (
        f'attachment; filename="compliance-{SITE}-2026-10.csv"'
    )
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert table[0] == list(COMPLIANCE_COLUMNS)
    assert len(table) == 32
    assert table[1][0] == "2026-10-01"
    assert "轻度污染" in table[1]
    assert as_xlsx.headers["content-disposition"].endswith(
        'compliance-site-hengtong-east-2026-10.xlsx"'
    )
    workbook = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    days, summary = workbook["days"], workbook["summary"]
    assert [c.value for c in days[1]] == list(COMPLIANCE_COLUMNS)
    assert days.cell(row=2, column=1).value == "2026-10-01"
    assert days.max_row == 32
    assert dict(summary.iter_rows(min_row=2, values_only=True))["exceedance_days"] == 2


def test_energy_report_tracks_intensity_against_the_recorded_target(api, rolled, engine):
    # 0.5 kWh per minute: 720 kWh on 1 October, 60 kWh in the first two hours of November.
    meter, delta = "meter-1", "energy_import_delta"
    store(
        rolled,
        HENGTONG,
        minutes(OCT1, 1440, 0.5, device=meter, metric=delta)
        + minutes(OCT1 + 31 * DAY_MS, 120, 0.5, device=meter, metric=delta),
    )
    production = ProductionStore(engine)
    now = datetime.now(UTC)
    production.submit(
        ENTERPRISE, ProductionPeriod.MONTH, date(2026, 10, 1), 100.0, "t", submitted_at=now
    )
    target = RuleResult(
        rule="energy-target",
        rule_version="2026.1",
        kind="annual_target",
        subject=f"enterprise:{ENTERPRISE}",
        window_start=datetime(2025, 12, 31, 16, tzinfo=UTC),
        outcome="on_track",
        severity="warning",
        enterprise=ENTERPRISE,
        evidence={
            "kgce": 88.488,
            "as_of": "2026-11-25",
            "path": {"baseline": [2020, 1.2], "target": [2030, 0.7], "value_for_year": 0.9},
        },
    )
    record(engine, target)

    body = api.get(ENERGY, params={"year": 2026}).json()

    months = {row["month"]: row for row in body["rows"]}
    october, november = months["2026-10"], months["2026-11"]
    assert (october["energy_kwh"], october["output"], october["output_unit"]) == (720.0, 100.0, "t")
    assert october["energy_kgce"] == pytest.approx(720 * 0.1229)
    assert october["intensity"] == pytest.approx(720 * 0.1229 / 100)
    assert (november["energy_kwh"], november["output"], november["intensity"]) == (60.0, None, None)
    assert months["2026-01"]["energy_kwh"] == 0.0
    summary = body["summary"]
    assert summary["energy_kwh"] == 780.0
    assert summary["intensity_ytd"] == pytest.approx(0.88488)
    assert summary["target_allowed"] == pytest.approx(0.9)  # 1.2 - 0.5 * 6/10
    assert summary["target_projected"] == pytest.approx(0.88488)
    assert summary["target_will_miss"] is False
    assert summary["target_recorded_outcome"] == "on_track"

    sheet = api.get(ENERGY, params={"year": 2026, "format": "xlsx"})
    assert (
        sheet.headers["content-disposition"]
        == f'attachment; filename="energy-{ENTERPRISE}-2026.xlsx"'
    )


def test_an_energy_report_without_a_target_leaves_the_target_empty(api):
    body = api.get(ENERGY, params={"year": 2026}).json()
    assert body["summary"]["target_rule"] is None
    assert body["summary"]["target_projected"] is None
    assert all(row["energy_kwh"] == 0.0 and row["intensity"] is None for row in body["rows"])


@pytest.mark.parametrize(
    ("url", "params", "code"),
    [
        ("/v1/reports/sites/site-nowhere/compliance", {"year": 2026, "month": 10}, 404),
        ("/v1/reports/enterprises/ent-nowhere/energy", {"year": 2026}, 404),
        (COMPLIANCE, {"year": 2099, "month": 1}, 422),
        (COMPLIANCE, {"year": 2026, "month": 13}, 422),
        (COMPLIANCE, {"year": 2026, "month": 10, "format": "pdf"}, 422),
        (ENERGY, {"year": 2099}, 422),
        (ENERGY, {}, 422),
    ],
)
def test_reports_refuse_unknown_subjects_and_bad_periods(api, url, params, code):
    assert api.get(url, params=params).status_code == code


def test_a_month_before_any_pm25_limit_is_422_saying_so(api):
    response = api.get(COMPLIANCE, params={"year": 2000, "month": 1})

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "no compliance report for 2000-01: no Grade II 24h limit for pm25 in force on 2000-01-01"
    )
