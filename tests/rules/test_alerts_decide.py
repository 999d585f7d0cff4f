"""The alert lifecycle's pure decisions: outcome effects, one result against its alert, timers."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from rules.alerts import (
    AlertPolicy,
    Effect,
    Ignored,
    Step,
    decide,
    due_escalations,
    due_groups,
    due_reminders,
    due_settlements,
    effect_of,
    outranks,
)
from store.sql import AlertRecord, AlertState, RuleResult

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = AlertPolicy(
    group_window_s=60, flap_window_s=900, escalate_after_s=1800, remind_every_s=3600
)
NOW = T0 + 3 * HOUR


def result(outcome="exceeding", hour=1, revision=1, severity="major") -> RuleResult:
    return RuleResult(
        rule="pm25-hourly",
        rule_version="2026.1",
        kind="window_mean",
        subject="site:site-a",
        window_start=T0 + hour * HOUR,
        outcome=outcome,
        severity=severity,
        revision=revision,
    )


def alert(state=AlertState.FIRING, hour=1, revision=1, **changes) -> AlertRecord:
    record = AlertRecord(
        id=1,
        rule="pm25-hourly",
        subject="site:site-a",
        kind="window_mean",
        rule_version="2026.1",
        state=state,
        severity="major",
        audience="ent-a",
        live=state is not AlertState.CLOSED,
        window_start=T0,
        last_window_start=T0 + hour * HOUR,
        result_revision=revision,
        trigger={},
        evidence={},
        opened_at=T0,
        updated_at=T0,
        last_seen_at=T0,
        reminders=0,
        reopen_count=0,
        site="site-a",
        fired_at=T0,
    )
    return dataclasses.replace(record, **changes)


@pytest.mark.parametrize(
    ("outcome", "effect"),
    [
        ("firing", Effect.RAISE),
        ("exceeding", Effect.RAISE),
        ("projected_miss", Effect.RAISE),
        ("resolved", Effect.CLEAR),
        ("compliant", Effect.CLEAR),
        ("on_track", Effect.CLEAR),
        ("insufficient_data", Effect.NONE),
        ("no_limit", Effect.NONE),
        ("something_new", Effect.NONE),
    ],
)
def test_each_outcome_has_one_effect(outcome, effect):
    assert effect_of(outcome) is effect


RESOLVED_RECENTLY = {"state": AlertState.RESOLVED, "resolved_at": NOW - timedelta(seconds=899)}
RESOLVED_LONG_AGO = {"state": AlertState.RESOLVED, "resolved_at": NOW - timedelta(seconds=900)}


@pytest.mark.parametrize(
    ("latest", "given", "step", "ignored", "settle_first"),
    [
        (None, result(), Step.OPEN, None, False),
        (None, result("compliant"), Step.IGNORE, Ignored.NOTHING_OPEN, False),
        (None, result("insufficient_data"), Step.IGNORE, Ignored.NO_EFFECT, False),
        ({}, result(hour=2), Step.UPDATE, None, False),
        ({}, result(revision=2), Step.UPDATE, None, False),
        ({"state": AlertState.PENDING}, result(hour=2), Step.UPDATE, None, False),
        ({}, result(), Step.IGNORE, Ignored.SEEN, False),
        ({}, result(hour=0, revision=9), Step.IGNORE, Ignored.SEEN, False),
        ({}, result("compliant", hour=2), Step.RESOLVE, None, False),
        ({}, result("compliant", revision=2), Step.RESOLVE, None, False),
        ({"state": AlertState.PENDING}, result("resolved", revision=2), Step.RESOLVE, None, False),
        (
            {"state": AlertState.ACKNOWLEDGED},
            result("compliant", hour=2),
            Step.RESOLVE,
            None,
            False,
        ),
        ({}, result("compliant", hour=0), Step.IGNORE, Ignored.SEEN, False),
        ({}, result("no_limit", hour=2), Step.IGNORE, Ignored.NO_EFFECT, False),
        (RESOLVED_RECENTLY, result(hour=2), Step.REOPEN, None, False),
        (RESOLVED_RECENTLY, result("compliant", hour=2), Step.IGNORE, Ignored.NOTHING_OPEN, False),
        (RESOLVED_LONG_AGO, result(hour=2), Step.OPEN, None, True),
        (RESOLVED_LONG_AGO, result("compliant", hour=2), Step.IGNORE, Ignored.NOTHING_OPEN, True),
        ({**RESOLVED_LONG_AGO, "live": False}, result(hour=2), Step.OPEN, None, False),
        ({"state": AlertState.CLOSED}, result(revision=2), Step.IGNORE, Ignored.SEEN, False),
        ({"state": AlertState.CLOSED}, result(hour=2), Step.OPEN, None, False),
    ],
)
def test_a_result_against_the_newest_alert_of_its_key(latest, given, step, ignored, settle_first):
    newest = None if latest is None else alert(**latest)

    decision = decide(given, newest, NOW, POLICY)

    assert (decision.step, decision.ignored, decision.settle_first) == (
        step,
        ignored,
        settle_first,
    )
    if step in (Step.UPDATE, Step.REOPEN, Step.RESOLVE):
        assert decision.alert == newest


@pytest.mark.parametrize(
    ("severity", "raised"), [("critical", True), ("major", False), ("warning", False)]
)
def test_a_repeat_raises_the_severity_only_upwards(severity, raised):
    decision = decide(result(hour=2, severity=severity), alert(), NOW, POLICY)
    assert (decision.step, decision.raise_severity) == (Step.UPDATE, raised)


def test_severities_rank_as_the_rule_model_orders_them():
    assert outranks("critical", "major")
    assert outranks("warning", "info")
    assert not outranks("info", "warning")
    assert outranks("info", "unheard-of")


# --- timers ---------------------------------------------------------------------------------


def test_a_group_fires_once_its_first_alert_waited_the_group_window():
    first = alert(AlertState.PENDING, id=1, opened_at=T0)
    second = alert(AlertState.PENDING, id=2, opened_at=T0 + timedelta(seconds=50))
    elsewhere = alert(AlertState.PENDING, id=3, opened_at=T0, site="site-b")
    other_enterprise = alert(
        AlertState.PENDING, id=4, opened_at=T0 + timedelta(seconds=30), audience="ent-b"
    )
    pending = [first, second, elsewhere, other_enterprise]

    assert due_groups(pending, T0 + timedelta(seconds=59), POLICY) == []
    assert due_groups(pending, T0 + timedelta(seconds=60), POLICY) == [[1, 2], [3]]
    assert due_groups(pending, T0 + timedelta(seconds=90), POLICY) == [[1, 2], [3], [4]]


def test_escalation_is_due_escalate_after_s_after_firing_and_only_once():
    fresh = alert(id=1, fired_at=T0)
    escalated = alert(id=2, fired_at=T0, escalated_at=T0 + timedelta(seconds=1800))

    assert due_escalations([fresh, escalated], T0 + timedelta(seconds=1799), POLICY) == []
    assert due_escalations([fresh, escalated], T0 + timedelta(seconds=1800), POLICY) == [1]
    never = dataclasses.replace(POLICY, escalate_after_s=None)
    assert due_escalations([fresh], T0 + timedelta(days=9), never) == []


def test_reminders_are_due_every_remind_every_s_after_the_last():
    never_reminded = alert(id=1, fired_at=T0)
    reminded = alert(id=2, fired_at=T0, reminded_at=T0 + timedelta(seconds=3600))

    assert due_reminders([never_reminded, reminded], T0 + timedelta(seconds=3599), POLICY) == []
    assert due_reminders([never_reminded, reminded], T0 + timedelta(seconds=3600), POLICY) == [1]
    assert due_reminders([never_reminded, reminded], T0 + timedelta(seconds=7200), POLICY) == [1, 2]
    silent = dataclasses.replace(POLICY, remind_every_s=None)
    assert due_reminders([never_reminded], T0 + timedelta(days=9), silent) == []


def test_a_resolved_alert_settles_when_its_flap_window_is_over():
    resolved = alert(AlertState.RESOLVED, resolved_at=T0)

    assert due_settlements([resolved], T0 + timedelta(seconds=899), POLICY) == []
    assert due_settlements([resolved], T0 + timedelta(seconds=900), POLICY) == [1]


@pytest.mark.parametrize(
    "changes",
    [
        {"group_window_s": -1},
        {"flap_window_s": float("inf")},
        {"escalate_after_s": float("nan")},
        {"remind_every_s": 0},
    ],
)
def test_a_policy_refuses_times_that_make_no_sense(changes):
    with pytest.raises(ValueError, match="_s"):
        AlertPolicy(**changes)
