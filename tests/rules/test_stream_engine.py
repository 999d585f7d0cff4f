"""The engine as a whole: deterministic, ordered per series, restartable, reloadable."""

import dataclasses
import random
from typing import Any

from tests.rules.conftest import (
    HENGTONG,
    QINGYUAN,
    T0_UTC,
    at,
    engine_for,
    evidence,
    feed,
    outcomes,
    reading,
    rule_set,
    utc,
)

from rules.stream import StreamEngine
from store.sql import RuleResults, create_engine_for

RULES = """
version: "2026.1"
rules:
  - {id: pm25-spike, kind: threshold, metric: pm25, above: 150, for: 5m, clear_below: 115}
  - {id: stuck, kind: flatline, metric: pm10, for: 10m}
  - {id: range, kind: out_of_range}
  - {id: pm-order, kind: pm25_above_pm10}
  - {id: quiet, kind: no_data, subject: device, for: 15m}
  - {id: offline, kind: gateway_offline, for: 2m}
  - {id: pm25-daily, kind: window_mean, metric: pm25, window: day}
"""
SPIKE_DEVICE = "site:site-hengtong-east/device:pm-1"


def day_of_events(seed: int = 7):
    """A reproducible stream: PM readings of two sites with spikes, a stuck sensor, faults,
    gaps, duplicates and out-of-order readings, gateway status changes and ticks."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible stream, not a secret
    events: list[tuple[Any, ...]] = []
    for minute in range(240):
        for placement in (HENGTONG, QINGYUAN):
            if placement is QINGYUAN and 100 <= minute < 140:
                continue  # a silent stretch
            pm25 = rng.uniform(20, 60) + (120 if 30 <= minute % 90 < 45 else 0)
            pm10 = 66.0 if placement is QINGYUAN and minute < 60 else pm25 * rng.uniform(0.9, 1.6)
            if minute % 53 == 0:
                pm25 = 1500.0
            batch = [reading(pm25, minute), reading(pm10, minute, metric="pm10")]
            if minute % 17 == 0:
                batch.append(reading(pm25, minute - 3))  # late, out of order
            events.append(("readings", placement, batch))
        if minute % 5 == 0:
            events.append(("tick", at(minute)))
        if minute in (70, 200):
            events.append(("status", QINGYUAN, False, at(minute)))
        if minute in (80, 230):
            events.append(("status", QINGYUAN, True, at(minute)))
    return events


def run(engine: StreamEngine, events):
    results = []
    for event in events:
        if event[0] == "readings":
            results += engine.on_readings(event[1], event[2])
        elif event[0] == "tick":
            results += engine.tick(event[1])
        else:
            results += engine.on_status(event[1], online=event[2], ts_ms=event[3])
    return results


def test_the_same_events_give_the_same_results():
    first = run(StreamEngine([rule_set(RULES)]), day_of_events())
    second = run(StreamEngine([rule_set(RULES)]), day_of_events())
    assert first == second
    kinds = {r.kind for r in first}
    assert kinds == {
        "threshold",
        "flatline",
        "out_of_range",
        "pm25_above_pm10",
        "no_data",
        "gateway_offline",
    }
    assert {r.outcome for r in first} == {"firing", "resolved"}


def test_each_episode_is_one_key_that_fires_then_resolves():
    results = run(StreamEngine([rule_set(RULES)]), day_of_events())
    by_key: dict[tuple[Any, ...], list[str]] = {}
    for result in results:
        by_key.setdefault(result.key, []).append(result.outcome)
    assert set(map(tuple, by_key.values())) <= {("firing",), ("firing", "resolved")}


def test_replayed_and_out_of_order_readings_are_ignored_and_counted():
    engine = engine_for(RULES)
    batch = [reading(160, n) for n in range(6)]
    [fired] = engine.on_readings(HENGTONG, batch)
    assert engine.on_readings(HENGTONG, batch) == []  # a replay of the same batch
    assert engine.on_reading(HENGTONG, reading(10, 2.5)) == []  # older than 5: not a clear
    assert (engine.counts.readings, engine.counts.stale) == (6, 7)
    [resolved] = engine.on_reading(HENGTONG, reading(10, 6))
    assert resolved.key == fired.key


def test_raw_samples_and_aggregates_are_ordered_separately():
    engine = engine_for(RULES)
    engine.on_reading(HENGTONG, reading(30, 1.5))
    engine.on_reading(HENGTONG, reading(30, 1, interval_s=60.0, count=12))  # ends at 2
    assert engine.counts.stale == 0


def test_readings_taken_with_an_unsynchronised_clock_are_ignored_and_counted():
    engine = engine_for(RULES)
    assert feed(engine, [1500.0] * 3, time_unsynced=True) == []
    assert (engine.counts.readings, engine.counts.unsynced) == (0, 3)


def test_rules_of_other_kinds_are_left_to_their_own_engine():
    engine = engine_for(RULES)
    assert "pm25-daily" not in engine.rules
    assert len(engine.rules) == 6


def test_a_restart_that_restores_open_episodes_creates_no_new_one(sqlite_url):
    sql = create_engine_for(sqlite_url)
    store = RuleResults(sql)
    events = day_of_events()
    cut = len(events) // 2
    before = StreamEngine([rule_set(RULES)])
    store.record(run(before, events[:cut]), now=T0_UTC)
    assert before.open_episodes() > 0

    after = StreamEngine([rule_set(RULES)])
    restored = after.restore(store.results(outcome="firing", limit=10_000))
    assert restored == before.open_episodes() > 0
    replay = events[cut - 40 :]  # the broker redelivers some of what was seen
    recorded = store.record(run(after, replay), now=T0_UTC)
    open_before = {r.key for r in store.results(outcome="firing", limit=10_000)} - {
        r.result.key for r in recorded
    }
    assert not [
        r
        for r in recorded
        if r.changed and r.result.outcome == "firing" and r.result.key in open_before
    ]
    assert all(r.result.revision <= 2 for r in recorded)  # fired once, resolved once at most

    uninterrupted = StreamEngine([rule_set(RULES)])
    expected = {r.key: r.outcome for r in run(uninterrupted, events)}
    stored = {r.key: r.outcome for r in store.results(limit=10_000)}
    assert stored == expected  # the same episodes, opened and closed the same
    sql.dispose()


def test_a_restored_threshold_episode_resolves_into_the_same_row_and_ignores_its_evidence():
    engine = engine_for(RULES)
    [fired] = feed(engine, [160] * 6)
    again = engine_for(RULES)
    assert again.restore([fired]) == 1
    assert feed(again, [160] * 6) == []  # replayed: stale
    assert again.counts.stale == 6
    [resolved] = feed(again, [100], start=6)
    assert (resolved.key, resolved.outcome, resolved.window_end) == (fired.key, "resolved", utc(6))
    assert evidence(resolved)["readings"]["count"] == 6


def test_restored_health_episodes_resolve_instead_of_firing_again():
    engine = engine_for(RULES)
    feed(engine, [30])
    engine.on_status(QINGYUAN, online=False, ts_ms=at(0))
    open_results = engine.tick(at(20))
    assert {r.kind for r in open_results} == {"no_data", "gateway_offline"}
    again = engine_for(RULES)
    assert again.restore(open_results) == 2
    assert again.tick(at(40)) == []
    again.on_status(QINGYUAN, online=False, ts_ms=at(41))  # the retained last will, again
    assert again.tick(at(50)) == []
    back = [*again.on_status(QINGYUAN, online=True, ts_ms=at(60)), *feed(again, [30], start=61)]
    assert outcomes(back) == [
        ("gateway:gw-0002", "resolved", utc(0), utc(60)),
        (SPIKE_DEVICE, "resolved", utc(0), utc(61)),
    ]


def test_a_reload_keeps_the_state_of_unchanged_rules_and_records_the_new_version():
    engine = engine_for(RULES)
    feed(engine, [160] * 3)
    edited = RULES.replace('"2026.1"', '"2026.2"').replace("pm-order, kind", "pm-order2, kind")
    assert engine.replace_rules([rule_set(edited)], now_ms=at(3)) == []
    [fired] = feed(engine, [160] * 3, start=3)
    assert fired.window_start == utc(0)  # the hold began before the reload
    assert fired.rule_version.startswith("2026.2+")
    assert "pm-order2" in engine.rules
    assert "pm-order" not in engine.rules


def test_a_changed_rule_starts_afresh_and_a_removed_one_ends_its_episodes():
    engine = engine_for(RULES)
    [spike] = feed(engine, [160] * 6)
    [out] = feed(engine, [2500.0], start=6, metric="pm10")
    edited = RULES.replace("above: 150", "above: 200").replace(
        "  - {id: range, kind: out_of_range}\n", ""
    )
    ended = engine.replace_rules([rule_set(edited)], now_ms=at(8))
    assert [(r.key, r.outcome, r.window_end, evidence(r)["ended_by"]) for r in ended] == [
        (spike.key, "resolved", utc(8), "rule_changed"),
        (out.key, "resolved", utc(8), "rule_removed"),
    ]
    assert ended[0].rule_version == spike.rule_version  # the version that opened it
    assert feed(engine, [160] * 10, start=10) == []  # below the new level


def test_a_reloaded_scope_applies_to_gateways_already_seen():
    scoped = "rules: [{id: spike, kind: threshold, metric: pm25, above: 150, scope: {site: %s}}]"
    engine = engine_for(scoped % "site-qingyuan-stack")
    assert feed(engine, [160]) == []  # Hengtong is not in the scope
    engine.replace_rules([rule_set(scoped % "site-hengtong-east")], now_ms=at(1))
    [fired] = feed(engine, [160], start=1)
    assert (fired.site, fired.window_start) == ("site-hengtong-east", utc(1))
    assert feed(engine, [160], start=2, placement=QINGYUAN) == []  # no longer in it


def test_an_id_used_in_two_files_is_in_force_once_and_reported():
    engine = engine_for(
        "rules: [{id: spike, kind: threshold, metric: pm25, above: 150}]",
        "rules: [{id: spike, kind: threshold, metric: pm10, above: 150}]",
    )
    assert engine.conflicts == [
        "rules-1.yaml: rule spike: id: used by another rule file already; this rule is not in force"
    ]
    assert [evidence(r)["metric"] for r in feed(engine, [160])] == ["pm25"]


def test_an_episode_of_a_rule_not_in_force_waits_for_its_rule():
    engine = engine_for(RULES)
    [fired] = feed(engine, [160] * 6)
    empty = StreamEngine([])
    assert empty.restore([fired]) == 0
    assert empty.replace_rules([rule_set(RULES)], now_ms=at(7)) == []
    [resolved] = feed(empty, [100], start=7)
    assert resolved.key == fired.key


def test_an_incomplete_result_cannot_be_restored():
    engine = engine_for(RULES)
    [fired] = feed(engine, [160] * 6)
    assert engine_for(RULES).restore([dataclasses.replace(fired, county=None)]) == 0


def test_readings_of_a_recorded_resolved_episode_are_stale_after_a_restart():
    # Results recorded, then a crash before the messages were acknowledged: they come again.
    rules = "rules: [{id: r, kind: threshold, metric: pm25, above: 150}]"
    engine = engine_for(rules)
    recorded = feed(engine, [160, 170, 100])
    assert [r.outcome for r in recorded] == ["firing", "resolved"]
    again = engine_for(rules)
    assert again.restore(recorded[1:]) == 0  # nothing open, but its readings were seen
    assert feed(again, [170, 100], start=1) == []
    assert again.counts.stale == 2
    assert [r.window_start for r in feed(again, [160], start=3)] == [utc(3)]
