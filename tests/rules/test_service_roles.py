"""The rules service split in two (``only``): one process judges the stream, the other the
stored data; on a real Mosquitto, InfluxDB and SQLite store, sharing the broker and the store."""

import time

import pytest
from tests.rules.conftest import HENGTONG, wait_for
from tests.rules.test_service_windows import FAST, RULES, connection, minute, result_at

from rules.settings import RulesSettings
from rules.windows import RegulatoryWindow
from store.readings import reading_point
from store.sql import RuleResults

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000


def test_a_windows_process_judges_stored_data_and_late_readings_and_never_the_stream(
    tmp_path, influx, rules_service, publisher, city_sql
):
    hour = RegulatoryWindow.hour(int(time.time() * 1000) - 2 * 3_600_000)
    influx.write(
        reading_point(HENGTONG, minute(hour.start_ms + n * MINUTE_MS, 80.0)) for n in range(50)
    )
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    common = {"influx": connection(influx), "mqtt_client_id": "rules-split", **FAST}
    stream = rules_service.start([rule_file], only="stream", **common)
    windows = rules_service.start([rule_file], only="windows", **common)
    assert (stream.settings.client_id, windows.settings.client_id) == (
        "rules-split",
        "rules-split-windows",
    )

    first = wait_for(lambda: result_at(city_sql, "pm25-hourly", hour))
    assert (first.outcome, first.revision) == ("exceeding", 1)
    now = int(time.time() * 1000)
    publisher.readings("gw-0001", [minute(now - MINUTE_MS, 600.0)])
    [spike] = wait_for(lambda: RuleResults(city_sql).results(rule="pm25-spike"))
    assert spike.outcome == "firing"

    late = minute(hour.start_ms + 55 * MINUTE_MS, 200.0)
    influx.write([reading_point(HENGTONG, late)])
    publisher.readings("gw-0001", [late])
    wait_for(lambda: (r := result_at(city_sql, "pm25-hourly", hour)) and r.revision == 2)

    def value(service, counter) -> float:
        return service.counters.registry.get_sample_value(counter) or 0.0

    # The stream process recorded the spike alone and ran no window round; the windows
    # process judged no reading and was the one told of the late minute.
    assert value(stream, "lantian_rules_results_recorded_total") == 1
    assert value(windows, "lantian_rules_results_recorded_total") == 0
    assert value(windows, "lantian_rules_readings_evaluated_total") == 0
    assert value(stream, "lantian_rules_late_readings_total") == 0
    # The late minute, and the spike's minute too: a minute old is past the 1 s settle time.
    assert value(windows, "lantian_rules_late_readings_total") == 2
    windows_runs = "lantian_rules_window_runs_total"
    assert stream.counters.registry.get_sample_value(windows_runs, {"evaluator": "windows"}) is None
    assert windows.counters.registry.get_sample_value(windows_runs, {"evaluator": "windows"}) >= 2
    assert len(stream.engine.rules) == 1
    assert len(windows.engine.rules) == 0


def test_only_a_windows_role_has_a_client_id_of_its_own(tmp_path):
    files = [tmp_path / "a.yaml"]
    assert RulesSettings(rule_files=files, only="stream").client_id == "lantian-rules"
    windows = RulesSettings(rule_files=files, only="windows", partitions=2, partition=1)
    assert windows.client_id == "lantian-rules-1-windows"
