"""Rule results on SQLite and PostgreSQL: one per rule, subject and window; changes detected."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from store.sql import RuleResult, RuleResults, create_engine_for

T0 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 2026-11-26 00:00 in Asia/Shanghai
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


@pytest.fixture
def results(sql_url):
    engine = create_engine_for(sql_url)
    yield RuleResults(engine)
    engine.dispose()


def daily(value: float | None, outcome: str = "compliant", **changes) -> RuleResult:
    result = RuleResult(
        rule="pm25-daily",
        rule_version="2026.1+abc",
        kind="window_mean",
        subject="site:site-a",
        window_start=T0,
        window_end=T0 + timedelta(days=1),
        outcome=outcome,
        severity="major",
        value=value,
        limit=75.0,
        standard="GB 3095-2012 Grade II",
        site="site-a",
        enterprise="ent-a",
        county="chiping",
        evidence={"hours": 22, "valid": True},
    )
    return dataclasses.replace(result, **changes)


def test_a_new_result_is_recorded_and_reads_back(results):
    [recorded] = results.record([daily(60.0)], now=NOW)
    assert recorded.changed
    assert recorded.result == daily(60.0)
    assert results.results() == [daily(60.0)]


def test_recording_the_same_result_again_changes_nothing(results):
    results.record([daily(60.0)], now=NOW)
    [again] = results.record([daily(60.0)], now=NOW + timedelta(hours=1))
    assert not again.changed
    assert again.result.revision == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"outcome": "exceeding", "severity": "critical"},
        {"rule_version": "2026.2+def"},
        {"evidence": {"hours": 23, "valid": True}},
        {"limit": 50.0, "standard": "permit 1"},
    ],
)
def test_a_window_evaluated_again_differently_is_updated_with_a_new_revision(results, changes):
    results.record([daily(60.0)], now=NOW)
    [updated] = results.record([daily(60.0, **changes)], now=NOW)
    assert updated.changed
    assert updated.result.revision == 2
    assert results.results() == [dataclasses.replace(daily(60.0, **changes), revision=2)]


def test_results_are_filtered_and_ordered_by_window(results):
    later = daily(None, "insufficient_data", window_start=T0 + timedelta(days=1))
    other = daily(90.0, "exceeding", subject="site:site-b", site="site-b")
    results.record([later, daily(60.0), other], now=NOW)
    assert [r.window_start for r in results.results(subject="site:site-a")] == [
        T0,
        T0 + timedelta(days=1),
    ]
    assert results.results(outcome="exceeding") == [other]
    assert results.results(site="site-b") == [other]
    assert results.results(since=T0 + timedelta(hours=1)) == [later]
    assert results.results(until=T0 + timedelta(hours=1), rule="pm25-daily", limit=1) == [
        daily(60.0)
    ]
