"""The alert state machine and actors, pure: the table the store and the API obey."""

import pytest

from store.sql import (
    OPEN_STATES,
    Actor,
    ActorKind,
    AlertAction,
    AlertState,
    InvalidAlertInputError,
    InvalidTransitionError,
)
from store.sql.alert_states import TRANSITIONS, next_state

P, F, A, R, C = (
    AlertState.PENDING,
    AlertState.FIRING,
    AlertState.ACKNOWLEDGED,
    AlertState.RESOLVED,
    AlertState.CLOSED,
)

# Every (action, state before) the machine allows, and the state after it; nothing else is.
ALLOWED = {
    (AlertAction.FIRED, P): F,
    (AlertAction.ACKNOWLEDGED, P): A,
    (AlertAction.ACKNOWLEDGED, F): A,
    (AlertAction.RESOLVED, F): R,
    (AlertAction.RESOLVED, A): R,
    (AlertAction.REOPENED, R): F,
    **{(AlertAction.CLOSED, state): C for state in (P, F, A, R)},
    **{(AlertAction.UPDATED, state): state for state in (P, F, A)},
    **{(AlertAction.SEVERITY_RAISED, state): state for state in (P, F, A)},
    **{(AlertAction.COMMENTED, state): state for state in AlertState},
    **{(AlertAction.ASSIGNED, state): state for state in (P, F, A, R)},
    (AlertAction.ESCALATED, F): F,
    (AlertAction.REMINDED, F): F,
}


@pytest.mark.parametrize("action", [a for a in AlertAction if a is not AlertAction.OPENED])
@pytest.mark.parametrize("state", list(AlertState))
def test_every_action_in_every_state_is_allowed_or_refused_as_the_table_says(state, action):
    expected = ALLOWED.get((action, state))
    if expected is None:
        with pytest.raises(InvalidTransitionError) as caught:
            next_state(7, state, action)
        assert (caught.value.alert_id, caught.value.state, caught.value.action) == (
            7,
            state,
            action,
        )
        assert f"alert 7: cannot be {action} while {state}" in str(caught.value)
    else:
        assert next_state(7, state, action) is expected


def test_the_table_lists_exactly_the_allowed_transitions():
    listed = {
        (action, before): after
        for action, row in TRANSITIONS.items()
        for before, after in row.items()
    }
    assert listed == ALLOWED


def test_a_reopened_alert_returns_to_acknowledged_when_it_had_been():
    assert next_state(1, R, AlertAction.REOPENED, acknowledged=True) is A
    assert next_state(1, R, AlertAction.REOPENED, acknowledged=False) is F


def test_open_states_are_pending_firing_and_acknowledged():
    assert frozenset({P, F, A}) == OPEN_STATES


@pytest.mark.parametrize(
    ("actor", "text"),
    [
        (Actor.system(), "system"),
        (Actor.staff("li.wei"), "user:li.wei"),
        (Actor.of_enterprise("ent-hengtong-al", "zhang"), "enterprise:ent-hengtong-al/zhang"),
    ],
)
def test_actors_are_written_and_read_back_in_the_audit_form(actor, text):
    assert str(actor) == text
    assert Actor.parse(text) == actor


def test_an_enterprise_actor_knows_its_enterprise():
    actor = Actor.parse("enterprise:ent-a/wang")
    assert (actor.kind, actor.enterprise, actor.name) == (ActorKind.ENTERPRISE, "ent-a", "wang")


@pytest.mark.parametrize(
    "text", ["", "root", "user:", "enterprise:ent-a", "enterprise:/x", "user:" + "x" * 121]
)
def test_malformed_actors_are_refused(text):
    with pytest.raises(InvalidAlertInputError):
        Actor.parse(text)
