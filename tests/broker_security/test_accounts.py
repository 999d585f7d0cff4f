"""Broker accounts in the SQL store, on SQLite and PostgreSQL: issue, rotate, revoke, refuse."""

# ruff: noqa: S105, S106 - the passwords here are test values, not secrets

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.broker import (
    AccountKind,
    BrokerAccounts,
    InvalidAccountError,
    UnknownAccountError,
    WeakPasswordError,
    issue_enterprise_account,
    issue_gateway_account,
    verify_password,
)
from store.sql import NotFoundError, RecordKind, UnknownGatewayError
from store.sql.models import BrokerAccountRow

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def accounts(engine, clock):
    return BrokerAccounts(engine, clock=clock)


def count_rows(engine):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(BrokerAccountRow))


def test_issuing_stores_only_the_hash_and_returns_the_password_once(accounts):
    credential = accounts.issue_gateway("gw-0001")

    stored = accounts.get("gw-0001")
    assert credential.username == "gw-0001"
    assert len(credential.password) == 32
    assert credential.password not in repr(credential)
    assert credential.password not in stored.password_hash
    assert verify_password(credential.password, stored.password_hash)
    assert (stored.kind, stored.owner) == (AccountKind.GATEWAY, "gw-0001")
    assert (stored.created_at, stored.password_set_at, stored.revoked_at) == (T0, T0, None)


def test_usernames_of_the_three_kinds(accounts):
    assert accounts.issue_gateway("gw-0002").username == "gw-0002"
    assert accounts.issue_enterprise("e-shiye").username == "ent@e-shiye"
    assert accounts.issue_service("ingest").username == "svc-ingest"

    listed = [(a.username, a.kind, a.owner) for a in accounts.accounts()]
    assert listed == [
        ("ent@e-shiye", AccountKind.ENTERPRISE, "e-shiye"),
        ("gw-0002", AccountKind.GATEWAY, "gw-0002"),
        ("svc-ingest", AccountKind.SERVICE, "ingest"),
    ]


def test_reissuing_rotates_the_password(accounts, clock):
    first = accounts.issue_enterprise("e-huagong")
    clock.now = T0 + timedelta(days=90)

    second = accounts.issue_enterprise("e-huagong")

    stored = accounts.get("ent@e-huagong")
    assert first.password != second.password
    assert verify_password(second.password, stored.password_hash)
    assert not verify_password(first.password, stored.password_hash)
    assert (stored.created_at, stored.password_set_at) == (T0, clock.now)


def test_revoking_keeps_the_row_and_leaves_the_active_list(accounts, clock, engine):
    accounts.issue_gateway("gw-0001")
    accounts.issue_gateway("gw-0002")
    clock.now = T0 + timedelta(hours=1)

    revoked = accounts.revoke("gw-0001")
    clock.now = T0 + timedelta(hours=2)
    again = accounts.revoke("gw-0001")

    assert revoked.revoked_at == again.revoked_at == T0 + timedelta(hours=1)
    assert [a.username for a in accounts.accounts()] == ["gw-0002"]
    assert [a.username for a in accounts.accounts(include_revoked=True)] == ["gw-0001", "gw-0002"]
    assert count_rows(engine) == 2


def test_reissuing_a_revoked_account_restores_it_with_a_new_password(accounts):
    old = accounts.issue_gateway("gw-0001")
    accounts.revoke("gw-0001")

    new = accounts.issue_gateway("gw-0001")

    stored = accounts.get("gw-0001")
    assert stored.active
    assert verify_password(new.password, stored.password_hash)
    assert not verify_password(old.password, stored.password_hash)


def test_unknown_gateway_is_refused_and_nothing_is_written(accounts, engine):
    with pytest.raises(UnknownGatewayError) as caught:
        accounts.issue_gateway("gw-9999")

    assert str(caught.value) == "no gateway 'gw-9999'"
    assert count_rows(engine) == 0


def test_unknown_enterprise_is_refused_and_nothing_is_written(accounts, engine):
    with pytest.raises(NotFoundError) as caught:
        accounts.issue_enterprise("e-nowhere")

    assert (caught.value.kind, caught.value.identifier) == (RecordKind.ENTERPRISE, "e-nowhere")
    assert count_rows(engine) == 0


def test_unknown_role_names_the_known_ones(accounts, engine):
    with pytest.raises(InvalidAccountError, match="known roles: ingest, rules, api, monitor"):
        accounts.issue_service("admin")
    assert count_rows(engine) == 0


def test_gateway_ids_in_the_services_namespace_get_no_account(accounts, engine):
    with pytest.raises(InvalidAccountError, match="name service accounts"):
        accounts.issue_gateway("svc-ingest")
    assert count_rows(engine) == 0


def test_service_password_from_the_deployment(accounts):
    credential = accounts.issue_service("rules", password="sixteen-chars-ok")

    assert credential.password == "sixteen-chars-ok"
    assert verify_password("sixteen-chars-ok", accounts.get("svc-rules").password_hash)


def test_short_service_password_is_refused_and_the_old_one_kept(accounts):
    old = accounts.issue_service("rules")

    with pytest.raises(WeakPasswordError):
        accounts.issue_service("rules", password="fifteen-chars-x")

    assert verify_password(old.password, accounts.get("svc-rules").password_hash)


def test_revoking_an_unknown_username_is_an_error(accounts):
    with pytest.raises(UnknownAccountError, match="no broker account 'gw-0003'"):
        accounts.revoke("gw-0003")


def test_issue_in_the_caller_s_transaction_follows_its_fate(engine):
    with Session(engine) as session:
        credential = issue_gateway_account(session, "gw-0001")
        session.rollback()
    assert count_rows(engine) == 0

    with Session(engine) as session, session.begin():
        credential = issue_gateway_account(session, "gw-0001")
        issue_enterprise_account(session, "e-shiye")
    assert verify_password(credential.password, BrokerAccounts(engine).get("gw-0001").password_hash)
    assert count_rows(engine) == 2


def test_database_refuses_an_account_whose_owner_does_not_match_its_kind(engine):
    row = BrokerAccountRow(
        username="gw-0001",
        kind="gateway",
        gateway_id="gw-0001",
        enterprise_id="e-shiye",
        password_hash="$7$1$AAAA$BBBB",
        created_at=T0,
        password_set_at=T0,
    )
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(row)
