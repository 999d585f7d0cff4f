"""The alert store on SQLite and PostgreSQL: transitions and their audit rows, one live alert
per key, people's permissions, and notices written in the same transaction as the change."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from store.sql import (
    Actor,
    AlertAction,
    AlertNotFoundError,
    AlertState,
    AlertStore,
    ForbiddenActionError,
    InvalidAlertInputError,
    InvalidTransitionError,
    NoticeKind,
    Outbox,
    RuleResult,
    create_engine_for,
)
from store.sql.alert_states import TRANSITIONS
from store.sql.models import AlertEventRow, AlertRow, NotificationRow

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
NOW = T0 + timedelta(minutes=5)
ZHANG = Actor.of_enterprise("ent-a", "zhang")
STRANGER = Actor.of_enterprise("ent-b", "wang")
LI = Actor.staff("li")


def result(device="pm-1", outcome="firing", revision=1, **changes) -> RuleResult:
    base = RuleResult(
        rule="pm25-spike",
        rule_version="2026.1+3f9a0c1b2d4e",
        kind="threshold",
        subject=f"site:site-a/device:{device}",
        window_start=T0,
        outcome=outcome,
        severity="major",
        value=180.0,
        limit=150.0,
        standard=None,
        county="chiping",
        enterprise="ent-a",
        site="site-a",
        device=device,
        gateway="gw-0001",
        evidence={"metric": "pm25", "readings": {"count": 12, "first": [], "last": []}},
        revision=revision,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def engine(sql_url):
    engine = create_engine_for(sql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine):
    return AlertStore(engine, clock=lambda: NOW)


def opened(store, *results, fire=False):
    with store.transaction(T0) as alerts:
        ids = [alerts.open(r).id for r in results or [result()]]
        if fire:
            alerts.fire(ids)
    return ids


def count(engine, model):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


# --- opening, evidence, audit ---------------------------------------------------------------


def test_an_opened_alert_is_pending_keeps_its_evidence_and_is_audited(store):
    [alert_id] = opened(store)

    alert = store.alert(alert_id)
    assert (alert.state, alert.live, alert.severity, alert.audience) == (
        AlertState.PENDING,
        True,
        "major",
        "ent-a",
    )
    assert (alert.rule, alert.subject, alert.site, alert.device) == (
        "pm25-spike",
        "site:site-a/device:pm-1",
        "site-a",
        "pm-1",
    )
    assert alert.trigger == alert.evidence
    assert alert.evidence["evidence"] == result().evidence
    assert alert.evidence["limit"] == 150.0
    assert alert.evidence["rule_version"] == "2026.1+3f9a0c1b2d4e"
    assert alert.evidence["window_start"] == T0.isoformat()
    [opened_event] = store.events(alert_id)
    assert (opened_event.action, opened_event.actor, opened_event.state, opened_event.at) == (
        AlertAction.OPENED,
        "system",
        AlertState.PENDING,
        T0,
    )
    assert opened_event.details["value"] == 180.0


def test_an_update_keeps_the_trigger_and_replaces_the_evidence(store):
    [alert_id] = opened(store)
    later = result(window_start=T0 + timedelta(hours=1), value=210.0, revision=1)

    with store.transaction(NOW) as alerts:
        alerts.update(alert_id, later)

    alert = store.alert(alert_id)
    assert alert.trigger["value"] == 180.0
    assert alert.evidence["value"] == 210.0
    assert (alert.last_window_start, alert.window_start) == (later.window_start, T0)
    assert [e.action for e in store.events(alert_id)] == [AlertAction.OPENED, AlertAction.UPDATED]


# --- every transition and its audit row -----------------------------------------------------


def in_state(store, state):
    """A fresh alert (its own device, so its own key) brought to ``state``."""
    [alert_id] = opened(store, result(device=f"pm-{state}-{len(store.alerts())}"))
    with store.transaction(T0) as alerts:
        if state in (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.RESOLVED):
            alerts.fire([alert_id])
        if state is AlertState.ACKNOWLEDGED:
            alerts.acknowledge(alert_id, ZHANG, "seen")
        if state is AlertState.RESOLVED:
            alerts.resolve(alert_id, result(outcome="resolved", revision=2))
        if state is AlertState.CLOSED:
            alerts.close(alert_id, LI)
    return alert_id


ACTIONS = {
    AlertAction.FIRED: lambda tx, a: tx.fire([a]),
    AlertAction.ACKNOWLEDGED: lambda tx, a: tx.acknowledge(a, ZHANG, "filter replaced"),
    AlertAction.RESOLVED: lambda tx, a: tx.resolve(a, result(outcome="resolved", revision=5)),
    AlertAction.REOPENED: lambda tx, a: tx.reopen(a, result(revision=6)),
    AlertAction.CLOSED: lambda tx, a: tx.close(a, LI, "handled on site"),
    AlertAction.UPDATED: lambda tx, a: tx.update(a, result(revision=5)),
    AlertAction.SEVERITY_RAISED: lambda tx, a: tx.raise_severity(a, "critical"),
    AlertAction.COMMENTED: lambda tx, a: tx.comment(a, LI, "called the plant"),
    AlertAction.ASSIGNED: lambda tx, a: tx.assign(a, LI, "zhao"),
    AlertAction.ESCALATED: lambda tx, a: tx.escalate([a]),
    AlertAction.REMINDED: lambda tx, a: tx.remind([a]),
}
ACTORS = {
    AlertAction.ACKNOWLEDGED: str(ZHANG),
    AlertAction.CLOSED: str(LI),
    AlertAction.COMMENTED: str(LI),
    AlertAction.ASSIGNED: str(LI),
}


@pytest.mark.parametrize("state", list(AlertState))
def test_every_action_moves_the_alert_as_the_table_says_and_leaves_one_audit_row(store, state):
    for action, do in ACTIONS.items():
        alert_id = in_state(store, state)
        before = store.events(alert_id)
        after = TRANSITIONS[action].get(state)
        if after is None:
            with pytest.raises(InvalidTransitionError), store.transaction(NOW) as alerts:
                do(alerts, alert_id)
            assert store.alert(alert_id).state is state, action
            assert store.events(alert_id) == before, action
            continue
        with store.transaction(NOW) as alerts:
            do(alerts, alert_id)
        assert store.alert(alert_id).state is after, action
        [*same, audit] = store.events(alert_id)
        assert same == before, action
        assert (audit.action, audit.state, audit.at) == (action, after, NOW), action
        assert audit.actor == ACTORS.get(action, "system"), action


def test_people_s_comments_are_kept_in_the_audit_row(store):
    [alert_id] = opened(store, fire=True)

    store.acknowledge(alert_id, ZHANG, "Filter bag replaced at 10:40")

    alert = store.alert(alert_id)
    assert (alert.acknowledged_at, alert.acknowledged_by) == (NOW, "enterprise:ent-a/zhang")
    assert store.events(alert_id)[-1].comment == "Filter bag replaced at 10:40"


def test_a_reopened_alert_goes_back_to_acknowledged_when_it_had_been(store):
    alert_id = in_state(store, AlertState.ACKNOWLEDGED)
    with store.transaction(NOW) as alerts:
        alerts.resolve(alert_id, result(outcome="resolved", revision=2))
        alerts.reopen(alert_id, result(revision=3))

    alert = store.alert(alert_id)
    assert (alert.state, alert.reopen_count, alert.resolved_at) == (
        AlertState.ACKNOWLEDGED,
        1,
        None,
    )
    assert store.events(alert_id)[-1].details["reopen"] == 1


def test_a_settled_alert_no_longer_reopens(store):
    alert_id = in_state(store, AlertState.RESOLVED)
    with store.transaction(NOW) as alerts:
        alerts.settle([alert_id])

    with (
        pytest.raises(InvalidTransitionError, match="flap window is over"),
        store.transaction(NOW) as alerts,
    ):
        alerts.reopen(alert_id, result(revision=3))
    assert not store.alert(alert_id).live


def test_an_alert_is_escalated_once(store):
    [alert_id] = opened(store, fire=True)
    with store.transaction(NOW) as alerts:
        alerts.escalate([alert_id])

    with (
        pytest.raises(InvalidTransitionError, match="escalated once"),
        store.transaction(NOW) as alerts,
    ):
        alerts.escalate([alert_id])


def test_an_unknown_alert_is_not_found(store):
    with pytest.raises(AlertNotFoundError) as caught:
        store.acknowledge(404, ZHANG, "seen")
    assert caught.value.alert_id == 404


# --- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "act"),
    [
        (STRANGER, lambda s, a, who: s.acknowledge(a, who, "not mine")),
        (STRANGER, lambda s, a, who: s.comment(a, who, "not mine")),
        (ZHANG, lambda s, a, who: s.assign(a, who, "zhang")),
        (ZHANG, lambda s, a, who: s.close(a, who)),
        (Actor.system(), lambda s, a, who: s.acknowledge(a, who, "automatic")),
    ],
)
def test_people_may_only_do_what_their_role_allows(store, actor, act):
    [alert_id] = opened(store, fire=True)

    with pytest.raises(ForbiddenActionError) as caught:
        act(store, alert_id, actor)

    assert caught.value.actor == str(actor)
    assert store.alert(alert_id).state is AlertState.FIRING
    assert len(store.events(alert_id)) == 2


def test_bureau_staff_may_acknowledge_for_an_enterprise(store):
    [alert_id] = opened(store, fire=True)
    assert store.acknowledge(alert_id, LI, "phoned the plant").acknowledged_by == "user:li"


@pytest.mark.parametrize("comment", ["", "   ", "x" * 2001])
def test_an_acknowledgement_needs_a_comment(store, comment):
    [alert_id] = opened(store, fire=True)
    with pytest.raises(InvalidAlertInputError):
        store.acknowledge(alert_id, ZHANG, comment)


def test_assigning_records_from_whom_to_whom(store):
    [alert_id] = opened(store, fire=True)
    store.assign(alert_id, LI, "zhao")
    store.assign(alert_id, LI, None, comment="back to the pool")

    assert store.alert(alert_id).assignee is None
    assert [e.details for e in store.events(alert_id)[-2:]] == [
        {"from": None, "to": "zhao"},
        {"from": "zhao", "to": None},
    ]


# --- one live alert per key ------------------------------------------------------------------


def test_the_database_refuses_a_second_live_alert_of_one_key(store, engine):
    [first] = opened(store)

    with pytest.raises(IntegrityError), store.transaction(NOW) as alerts:
        alerts.open(result(revision=2))

    assert [a.id for a in store.alerts()] == [first]
    assert count(engine, AlertEventRow) == 1


@pytest.mark.parametrize("end", ["settle", "close"])
def test_a_settled_or_closed_alert_frees_its_key_for_a_new_one(store, end):
    alert_id = in_state(store, AlertState.RESOLVED)
    with store.transaction(NOW) as alerts:
        if end == "settle":
            alerts.settle([alert_id])
        else:
            alerts.close(alert_id, LI)
        key = alerts.alert(alert_id).key
        newer = alerts.open(result(device=key[1].rpartition(":")[2], revision=9))

    assert newer.id != alert_id
    assert [a.live for a in store.alerts(subject=key[1])] == [True, False]
    assert store.alerts(live=True) == [store.alert(newer.id)]


def test_the_latest_alert_of_each_key_is_found_live_or_not(store):
    old = in_state(store, AlertState.CLOSED)
    subject = store.alert(old).subject
    with store.transaction(NOW) as alerts:
        new = alerts.open(result(device=subject.rpartition(":")[2]))
        other = alerts.open(result(device="pm-9"))
        found = alerts.latest([("pm25-spike", subject), other.key, ("pm25-spike", "site:nowhere")])

    assert {key: a.id for key, a in found.items()} == {
        ("pm25-spike", subject): new.id,
        other.key: other.id,
    }


# --- notices in the same transaction ---------------------------------------------------------


def test_firing_writes_one_notice_per_audience_and_site_and_audits_its_key(store, engine):
    ids = opened(
        store,
        *(result(device=f"pm-{n}") for n in range(3)),
        result(device="pm-b", site="site-b", subject="site:site-b/device:pm-b"),
        result(device="pm-c", enterprise="ent-c", site="site-c", subject="site:site-c/device:pm-c"),
    )

    with store.transaction(NOW) as alerts:
        notices = alerts.fire(ids)

    assert [(n.idempotency_key, n.audience, n.site, n.alert_ids) for n in notices] == [
        (f"alert-{ids[0]}:firing", "ent-a", "site-a", tuple(ids[:3])),
        (f"alert-{ids[3]}:firing", "ent-a", "site-b", (ids[3],)),
        (f"alert-{ids[4]}:firing", "ent-c", "site-c", (ids[4],)),
    ]
    payload = notices[0].payload
    assert (payload["kind"], payload["key"], payload["enterprise"]) == (
        "firing",
        f"alert-{ids[0]}:firing",
        "ent-a",
    )
    assert [a["device"] for a in payload["alerts"]] == ["pm-0", "pm-1", "pm-2"]
    assert payload["alerts"][0]["limit"] == 150.0
    assert store.events(ids[1])[-1].details == {"notification": f"alert-{ids[0]}:firing"}
    assert Outbox(engine).notifications(alert_id=ids[2]) == [notices[0]]


def test_notice_keys_name_the_lead_alert_the_kind_and_the_reminder_number(store, engine):
    [alert_id] = opened(store, fire=True)
    with store.transaction(NOW) as alerts:
        alerts.remind([alert_id])
    with store.transaction(NOW + timedelta(hours=1)) as alerts:
        alerts.remind([alert_id])
        alerts.escalate([alert_id])
        alerts.resolve(alert_id, result(outcome="resolved", revision=2))
        alerts.settle([alert_id])

    keys = [n.idempotency_key for n in Outbox(engine).notifications()]
    k = f"alert-{alert_id}"
    assert keys == [
        f"{k}:firing",
        f"{k}:reminder:1",
        f"{k}:reminder:2",
        f"{k}:escalation",
        f"{k}:resolved",
        f"{k}:resolved:bureau",
    ]
    audiences = [n.audience for n in Outbox(engine).notifications()]
    assert audiences == ["ent-a", "ent-a", "ent-a", "bureau", "ent-a", "bureau"]
    assert store.events(alert_id)[2].details == {
        "notification": f"{k}:reminder:1",
        "reminder": 1,
    }


def test_closing_tells_the_audience_only_of_an_alert_it_was_told_of(store, engine):
    pending = in_state(store, AlertState.PENDING)
    firing = in_state(store, AlertState.FIRING)
    settled = in_state(store, AlertState.RESOLVED)
    with store.transaction(NOW) as alerts:
        alerts.settle([settled])
    before = len(Outbox(engine).notifications())

    for alert_id in (pending, firing, settled):
        store.close(alert_id, LI, comment="permit suspended")

    [closed] = Outbox(engine).notifications()[before:]
    assert (closed.kind, closed.alert_ids) == (NoticeKind.CLOSED, (firing,))
    assert (closed.payload["closed_by"], closed.payload["comment"]) == (
        "user:li",
        "permit suspended",
    )
    assert store.events(firing)[-1].details == {"notification": f"alert-{firing}:closed"}


def test_an_exception_in_the_transaction_leaves_no_alert_audit_row_or_notice(store, engine):
    def crash_before_commit():
        with store.transaction(T0) as alerts:
            alerts.fire([alerts.open(result()).id])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        crash_before_commit()

    assert [count(engine, m) for m in (AlertRow, AlertEventRow, NotificationRow)] == [0, 0, 0]


def test_a_failing_commit_leaves_neither_the_change_nor_its_notice(store, engine, monkeypatch):
    [alert_id] = opened(store)

    def refuse_commit(dbapi_connection):  # as a server aborting the transaction at COMMIT
        dbapi_connection.rollback()
        raise engine.dialect.loaded_dbapi.OperationalError("could not serialize at COMMIT")

    with monkeypatch.context() as patch:
        patch.setattr(engine.dialect, "do_commit", refuse_commit)
        with pytest.raises(DBAPIError, match="serialize"), store.transaction(NOW) as alerts:
            alerts.fire([alert_id])

    assert store.alert(alert_id).state is AlertState.PENDING
    assert count(engine, NotificationRow) == 0
    assert len(store.events(alert_id)) == 1


def test_the_database_refuses_a_second_notice_with_the_same_key(store, engine):
    [alert_id] = opened(store, fire=True)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(NotificationRow).values(
                idempotency_key=f"alert-{alert_id}:firing",
                kind="firing",
                audience="ent-a",
                payload="{}",
                created_at=NOW,
            )
        )


@pytest.mark.parametrize(
    "statement",
    [update(AlertEventRow).values(comment="rewritten"), text("DELETE FROM alert_events")],
)
def test_the_database_refuses_to_change_or_delete_the_audit_trail(store, engine, statement):
    [alert_id] = opened(store, fire=True)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(statement)

    assert [e.comment for e in store.events(alert_id)] == [None, None]


def test_a_naive_time_is_refused(store):
    with pytest.raises(InvalidAlertInputError), store.transaction(datetime(2026, 11, 26)):  # noqa: DTZ001
        pass


def test_alerts_are_listed_newest_first_and_filtered(store):
    first, second = opened(store, result(device="pm-1"), result(device="pm-2"))
    with store.transaction(NOW) as alerts:
        alerts.fire([second])

    assert [a.id for a in store.alerts()] == [second, first]
    assert [a.id for a in store.alerts(state=AlertState.PENDING)] == [first]
    assert [a.id for a in store.alerts(site="site-a", enterprise="ent-a", limit=1)] == [second]
    assert store.alerts(site="site-b") == []
