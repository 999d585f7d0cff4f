"""The alert book on SQLite and PostgreSQL, with a clock moved by hand: results open, update,
resolve and reopen alerts; groups, flapping, reminders and escalation write their notices."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from rules.alerts import AlertBook, AlertPolicy, Ignored
from store.sql import (
    Actor,
    AlertAction,
    AlertState,
    AlertStore,
    AlertTransaction,
    NoticeKind,
    Outbox,
    RuleResult,
    RuleResults,
    create_engine_for,
)
from store.sql.models import AlertEventRow, AlertRow, NotificationRow

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
S = timedelta(seconds=1)
HOUR = timedelta(hours=1)
POLICY = AlertPolicy(
    group_window_s=60, flap_window_s=900, escalate_after_s=1800, remind_every_s=3600
)
ZHANG = Actor.of_enterprise("ent-a", "zhang")


def window(hour=0, outcome="exceeding", rule="pm25-hourly", site="site-a", **changes):
    start = T0 + hour * HOUR
    fields = {
        "rule": rule,
        "rule_version": "2026.1+3f9a0c1b2d4e",
        "kind": "window_mean",
        "subject": f"site:{site}",
        "window_start": start,
        "window_end": start + HOUR,
        "outcome": outcome,
        "severity": "major",
        "value": 90.0 + hour,
        "limit": 75.0,
        "standard": "GB 3095-2012 Grade II 24h; validity GB 3095-2012 Table 4",
        "county": "chiping",
        "enterprise": "ent-a",
        "site": site,
        "evidence": {"window": "hour", "count": 58, "hour": hour},
    }
    return RuleResult(**(fields | changes))


@pytest.fixture
def engine(sql_url):
    engine = create_engine_for(sql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine):
    return AlertStore(engine)


@pytest.fixture
def book(store):
    return AlertBook(store, POLICY)


@pytest.fixture
def outbox(engine):
    return Outbox(engine)


def actions(store, alert_id):
    return [event.action for event in store.events(alert_id)]


def notices(outbox):
    return [(n.idempotency_key, n.kind, n.audience, n.alert_ids) for n in outbox.notifications()]


# --- opening and grouping --------------------------------------------------------------------


def test_an_exceeding_window_opens_an_alert_whose_notice_waits_for_its_site_s_group(
    book, store, outbox
):
    report = book.apply([window()], now=T0)

    [alert] = store.alerts()
    assert (alert.state, alert.opened_at, alert.evidence["evidence"]) == (
        AlertState.PENDING,
        T0,
        {"window": "hour", "count": 58, "hour": 0},
    )
    assert report.actions == {AlertAction.OPENED: 1}
    assert book.tick(now=T0 + 59 * S).notifications == ()

    report = book.tick(now=T0 + 60 * S)

    assert store.alert(alert.id).state is AlertState.FIRING
    assert notices(outbox) == [
        (f"alert-{alert.id}:firing", NoticeKind.FIRING, "ent-a", (alert.id,))
    ]
    assert report.actions == {AlertAction.FIRED: 1}
    assert actions(store, alert.id) == [AlertAction.OPENED, AlertAction.FIRED]


def test_five_metrics_exceeding_at_one_site_make_one_notice(book, store, outbox):
    for n, metric in enumerate(("pm25", "pm10", "tsp", "so2", "nox")):
        book.apply([window(rule=f"{metric}-hourly")], now=T0 + n * 10 * S)

    book.tick(now=T0 + 60 * S)

    [notice] = outbox.notifications()
    ids = tuple(sorted(a.id for a in store.alerts()))
    assert (notice.alert_ids, notice.site, len(notice.payload["alerts"])) == (ids, "site-a", 5)
    assert {store.events(i)[-1].details["notification"] for i in ids} == {notice.idempotency_key}


def test_two_sites_make_two_notices(book, outbox):
    book.apply([window(site="site-a"), window(site="site-b")], now=T0)
    book.tick(now=T0 + 60 * S)

    assert [(n.site, len(n.alert_ids)) for n in outbox.notifications()] == [
        ("site-a", 1),
        ("site-b", 1),
    ]


def test_an_alert_opened_after_its_site_s_group_closed_gets_a_notice_of_its_own(book, outbox):
    book.apply([window(rule="pm25-hourly")], now=T0)
    book.apply([window(rule="pm10-hourly")], now=T0 + 30 * S)
    book.tick(now=T0 + 60 * S)
    book.apply([window(rule="tsp-hourly")], now=T0 + 90 * S)
    book.tick(now=T0 + 149 * S)
    assert [len(n.alert_ids) for n in outbox.notifications()] == [2]

    book.tick(now=T0 + 150 * S)

    assert [len(n.alert_ids) for n in outbox.notifications()] == [2, 1]


def test_without_a_group_window_the_notice_is_written_in_the_same_call(store, outbox):
    book = AlertBook(store, AlertPolicy(group_window_s=0))

    report = book.apply([window(rule="pm25-hourly"), window(rule="pm10-hourly")], now=T0)

    assert [a.state for a in store.alerts()] == [AlertState.FIRING, AlertState.FIRING]
    assert [len(n.alert_ids) for n in report.notifications] == [2]


def test_an_alert_without_an_enterprise_goes_to_the_bureau(book, store, outbox):
    city = window(rule="pm25-city", subject="city", site=None, enterprise=None, county=None)
    book.apply([city], now=T0)
    book.tick(now=T0 + 60 * S)

    assert store.alerts()[0].audience == "bureau"
    assert [n.audience for n in outbox.notifications()] == ["bureau"]


# --- repeats, severity, evidence --------------------------------------------------------------


def test_repeats_update_the_one_open_alert_and_keep_the_first_evidence(book, store):
    book.apply([window(0)], now=T0 + HOUR)
    book.tick(now=T0 + HOUR + 60 * S)
    report = book.apply([window(1)], now=T0 + HOUR + 600 * S)  # before any timer is due

    [alert] = store.alerts()
    assert report.actions == {AlertAction.UPDATED: 1}
    assert (alert.trigger["evidence"]["hour"], alert.evidence["evidence"]["hour"]) == (0, 1)
    assert (alert.value, alert.last_window_start, alert.window_start) == (91.0, T0 + HOUR, T0)
    assert alert.evidence["standard"].startswith("GB 3095-2012")
    assert actions(store, alert.id) == [AlertAction.OPENED, AlertAction.FIRED, AlertAction.UPDATED]


def test_a_higher_severity_raises_the_alert_and_a_lower_one_does_not(book, store):
    book.apply([window(0)], now=T0)
    book.apply([window(1, severity="critical")], now=T0 + HOUR)
    book.apply([window(2, severity="warning")], now=T0 + 2 * HOUR)

    [alert] = store.alerts()
    assert alert.severity == "critical"
    [raised] = [e for e in store.events(alert.id) if e.action is AlertAction.SEVERITY_RAISED]
    assert raised.details == {"from": "major", "to": "critical"}


@pytest.mark.parametrize("outcome", ["insufficient_data", "no_limit"])
def test_outcomes_without_effect_never_open_or_resolve_an_alert(book, store, outcome):
    report = book.apply([window(0, outcome)], now=T0)
    assert store.alerts() == []
    assert report.ignored == {Ignored.NO_EFFECT: 1}

    book.apply([window(1)], now=T0 + HOUR)
    book.apply([window(2, outcome)], now=T0 + 2 * HOUR)

    [alert] = store.alerts()
    assert alert.state is AlertState.FIRING
    assert actions(store, alert.id) == [AlertAction.OPENED, AlertAction.FIRED]


def test_only_changed_results_are_handled_and_a_replay_changes_nothing(book, store, engine):
    results = RuleResults(engine)
    book.handle(results.record([window(0)], now=T0), now=T0)
    book.tick(now=T0 + 60 * S)
    unchanged = results.record([window(0)], now=T0 + 120 * S)
    assert not unchanged[0].changed

    assert book.handle(unchanged, now=T0 + 120 * S).actions == {}
    report = book.apply([r.result for r in unchanged], now=T0 + 120 * S)

    assert (report.actions, report.ignored) == ({}, {Ignored.SEEN: 1})
    [alert] = store.alerts()
    assert actions(store, alert.id) == [AlertAction.OPENED, AlertAction.FIRED]


def test_results_recorded_before_a_crash_are_caught_up_by_applying_them(book, store, engine):
    recorded = RuleResults(engine).record([window(0), window(1, "compliant")], now=T0)
    # the process died here: the results are stored, their alert changes are not

    book.apply([r.result for r in recorded], now=T0 + 5 * S)

    [alert] = store.alerts()
    assert alert.state is AlertState.RESOLVED
    assert actions(store, alert.id) == [AlertAction.OPENED, AlertAction.FIRED, AlertAction.RESOLVED]


def test_a_late_result_for_an_older_window_changes_nothing(book, store):
    book.apply([window(1)], now=T0)
    report = book.apply([window(0, "compliant", revision=2)], now=T0 + 10 * S)

    assert (report.actions, report.ignored) == ({}, {Ignored.SEEN: 1})
    assert store.alerts()[0].state is AlertState.PENDING


# --- resolving and flapping -----------------------------------------------------------------


def test_a_compliant_window_resolves_and_the_resolved_notice_waits_out_the_flap_window(
    book, store, outbox
):
    book.apply([window(0)], now=T0)
    book.tick(now=T0 + 60 * S)
    book.apply([window(1, "compliant")], now=T0 + HOUR)
    [alert] = store.alerts()
    assert (alert.state, alert.resolved_at, alert.live) == (AlertState.RESOLVED, T0 + HOUR, True)

    assert book.tick(now=T0 + HOUR + 899 * S).notifications == ()
    report = book.tick(now=T0 + HOUR + 900 * S)

    assert report.settled == 1
    assert [n.idempotency_key for n in report.notifications] == [f"alert-{alert.id}:resolved"]
    assert not store.alert(alert.id).live
    assert [n.kind for n in outbox.notifications()] == [NoticeKind.FIRING, NoticeKind.RESOLVED]


def test_firing_again_within_the_flap_window_reopens_the_same_alert_without_a_notice(
    book, store, outbox
):
    book.apply([window(0)], now=T0)
    book.tick(now=T0 + 60 * S)
    store.acknowledge(store.alerts()[0].id, ZHANG, "dust collector restarted", now=T0 + 120 * S)
    book.apply([window(1, "compliant")], now=T0 + HOUR)

    report = book.apply([window(2)], now=T0 + HOUR + 899 * S)

    [alert] = store.alerts()
    assert report.actions == {AlertAction.REOPENED: 1}
    assert (alert.state, alert.reopen_count, alert.resolved_at) == (
        AlertState.ACKNOWLEDGED,
        1,
        None,
    )
    assert actions(store, alert.id)[-2:] == [AlertAction.RESOLVED, AlertAction.REOPENED]
    book.tick(now=T0 + 5 * HOUR)
    assert [n.kind for n in outbox.notifications()] == [NoticeKind.FIRING]


def test_firing_after_the_flap_window_opens_a_new_alert_and_settles_the_old(book, store, outbox):
    book.apply([window(0)], now=T0)
    book.apply([window(1, "compliant")], now=T0 + HOUR)

    report = book.apply([window(2)], now=T0 + HOUR + 900 * S)

    new, old = store.alerts()
    assert (new.state, old.state, old.live, old.reopen_count) == (
        AlertState.PENDING,
        AlertState.RESOLVED,
        False,
        0,
    )
    assert (report.settled, report.actions) == (1, {AlertAction.OPENED: 1})
    assert notices(outbox)[-1][:2] == (f"alert-{old.id}:resolved", NoticeKind.RESOLVED)


def test_resolving_a_pending_alert_writes_its_group_s_firing_notice_first(book, store, outbox):
    episode = window(0, "firing", rule="pm25-spike", kind="threshold", window_end=None)
    other = window(0, "firing", rule="pm10-spike", kind="threshold", window_end=None)
    book.apply([episode, other], now=T0)

    book.apply([window(0, "resolved", rule="pm25-spike", revision=2)], now=T0 + 10 * S)

    resolved, still = sorted(store.alerts(), key=lambda a: a.rule, reverse=True)
    assert (resolved.rule, resolved.state, still.state) == (
        "pm25-spike",
        AlertState.RESOLVED,
        AlertState.FIRING,
    )
    assert notices(outbox) == [
        (f"alert-{resolved.id}:firing", NoticeKind.FIRING, "ent-a", (resolved.id, still.id))
    ]


# --- reminders and escalation ---------------------------------------------------------------


def fired(book, store):
    book.apply([window(0)], now=T0)
    book.tick(now=T0 + 60 * S)
    return store.alerts()[0].id, T0 + 60 * S


def test_an_unacknowledged_alert_is_escalated_to_the_bureau_once(book, store):
    alert_id, fired_at = fired(book, store)

    assert book.tick(now=fired_at + 1799 * S).notifications == ()
    report = book.tick(now=fired_at + 1800 * S)
    [escalation] = report.notifications
    assert (escalation.kind, escalation.audience, escalation.idempotency_key) == (
        NoticeKind.ESCALATION,
        "bureau",
        f"alert-{alert_id}:escalation",
    )
    assert store.alert(alert_id).escalated_at == fired_at + 1800 * S
    assert store.events(alert_id)[-1].action is AlertAction.ESCALATED

    later = book.tick(now=fired_at + 3000 * S)
    assert later.actions.get(AlertAction.ESCALATED) is None


def test_reminders_come_every_remind_every_s_while_unacknowledged(book, store, outbox):
    alert_id, fired_at = fired(book, store)

    reminded = []
    for seconds in (3599, 3600, 3601, 7199, 7200, 30_000, 30_001):
        report = book.tick(now=fired_at + seconds * S)
        reminded += [
            (seconds, n.idempotency_key) for n in report.notifications if n.kind == "reminder"
        ]

    k = f"alert-{alert_id}:reminder"
    assert reminded == [(3600, f"{k}:1"), (7200, f"{k}:2"), (30_000, f"{k}:3")]
    store.acknowledge(alert_id, ZHANG, "on it", now=fired_at + 30_100 * S)
    assert book.tick(now=fired_at + 100_000 * S).notifications == ()


def test_an_acknowledged_alert_is_neither_escalated_nor_reminded(book, store):
    alert_id, fired_at = fired(book, store)
    store.acknowledge(alert_id, ZHANG, "filter bag replaced", now=fired_at + 600 * S)

    report = book.tick(now=fired_at + 10 * HOUR)

    assert (report.actions, report.notifications) == ({}, ())


# --- people and atomicity --------------------------------------------------------------------


def test_a_closed_alert_stays_closed_but_a_new_window_opens_a_new_alert(book, store):
    alert_id, _ = fired(book, store)
    store.close(alert_id, Actor.staff("li"), comment="permit review", now=T0 + HOUR)

    revised = book.apply([window(0, value=120.0, revision=2)], now=T0 + 2 * HOUR)
    assert revised.ignored == {Ignored.SEEN: 1}
    book.apply([window(1)], now=T0 + 2 * HOUR)

    new, old = store.alerts()
    assert (old.id, old.state, new.state) == (alert_id, AlertState.CLOSED, AlertState.PENDING)


def test_a_failed_commit_leaves_no_alert_no_audit_row_and_no_notice(
    book, store, engine, monkeypatch
):
    def refuse_commit(dbapi_connection):  # as a server aborting the transaction at COMMIT
        dbapi_connection.rollback()
        raise engine.dialect.loaded_dbapi.OperationalError("could not serialize at COMMIT")

    eager = AlertBook(store, AlertPolicy(group_window_s=0))
    with monkeypatch.context() as patch:
        patch.setattr(engine.dialect, "do_commit", refuse_commit)
        with pytest.raises(DBAPIError, match="serialize"):
            eager.apply([window(0)], now=T0)

    with engine.connect() as connection:
        for model in (AlertRow, AlertEventRow, NotificationRow):
            assert connection.execute(select(func.count()).select_from(model)).scalar_one() == 0

    book.apply([window(0)], now=T0 + S)  # the batch is applied again, and only once
    assert len(store.alerts()) == 1


def test_a_batch_that_loses_the_race_to_open_an_alert_is_run_again(book, store, monkeypatch):
    book.apply([window(0)], now=T0)  # as if by another writer, just before
    look_up = AlertTransaction.latest
    looked = []

    def blind_the_first_time(self, keys):
        looked.append(True)
        return {} if len(looked) == 1 else look_up(self, keys)

    monkeypatch.setattr(AlertTransaction, "latest", blind_the_first_time)
    report = book.apply([window(1)], now=T0 + 10 * S)

    assert (len(looked), report.actions) == (2, {AlertAction.UPDATED: 1})
    assert len(store.alerts()) == 1
