"""Production output on SQLite and PostgreSQL: submissions, corrections, lists and totals."""

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from store.sql import (
    InvalidSubmissionError,
    MixedUnitsError,
    NotFoundError,
    ProductionPeriod,
    ProductionRecord,
    ProductionStore,
    Registry,
    SubmitOutcome,
    create_engine_for,
    output_total,
)
from store.sql.models import ProductionOutput

DAY = ProductionPeriod.DAY
MONTH = ProductionPeriod.MONTH
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


@pytest.fixture
def engine(sql_url):
    engine = create_engine_for(sql_url)
    registry = Registry(engine)
    registry.add_county("chiping", name="Chiping", name_zh="茌平区")
    registry.add_enterprise("ent-a", name="A Aluminium", county_id="chiping")
    registry.add_enterprise("ent-b", name="B Bearings", county_id="chiping")
    yield engine
    engine.dispose()


@pytest.fixture
def production(engine):
    return ProductionStore(engine)


def record(period, start, quantity, unit="t", enterprise="ent-a"):
    return ProductionRecord(enterprise, period, start, quantity, unit, T0)


# --- submitting -----------------------------------------------------------------------------


def test_a_figure_is_recorded_and_reads_back(production):
    shanghai = timezone(timedelta(hours=8))
    submitted = production.submit(
        "ent-a",
        DAY,
        date(2026, 11, 26),
        412.5,
        " t ",
        submitted_at=datetime(2026, 11, 27, 9, 0, tzinfo=shanghai),
        submitted_by="ehs@ent-a",
        note="two furnaces",
    )

    expected = ProductionRecord(
        "ent-a", DAY, date(2026, 11, 26), 412.5, "t", T0, "ehs@ent-a", "two furnaces"
    )
    assert submitted.outcome is SubmitOutcome.CREATED
    assert submitted.record == expected
    assert production.list("ent-a", date(2026, 11, 1), date(2026, 12, 1)) == [expected]
    assert production.list("ent-a", date(2026, 11, 1), date(2026, 12, 1))[0].submitted_at.tzinfo


def test_a_correction_replaces_the_figure_and_keeps_the_newest_time(production):
    production.submit("ent-a", DAY, date(2026, 11, 26), 412.5, "t", submitted_at=T0)
    later = T0 + timedelta(hours=3)

    corrected = production.submit(
        "ent-a", DAY, date(2026, 11, 26), 402.5, "t", submitted_at=later, note="typo"
    )

    assert corrected.outcome is SubmitOutcome.REPLACED
    [stored] = production.list("ent-a", date(2026, 11, 26), date(2026, 11, 27))
    assert (stored.quantity, stored.submitted_at, stored.note) == (402.5, later, "typo")


def test_a_submission_older_than_the_recorded_one_changes_nothing(production):
    later = T0 + timedelta(hours=3)
    production.submit("ent-a", DAY, date(2026, 11, 26), 402.5, "t", submitted_at=later)

    stale = production.submit("ent-a", DAY, date(2026, 11, 26), 412.5, "t", submitted_at=T0)

    assert stale.outcome is SubmitOutcome.SUPERSEDED
    assert stale.record.quantity == 402.5
    [stored] = production.list("ent-a", date(2026, 11, 26), date(2026, 11, 27))
    assert (stored.quantity, stored.submitted_at) == (402.5, later)


def test_the_same_figure_again_is_unchanged_but_newer(production):
    production.submit("ent-a", DAY, date(2026, 11, 26), 402.5, "t", submitted_at=T0)
    later = T0 + timedelta(days=1)

    again = production.submit("ent-a", DAY, date(2026, 11, 26), 402.5, "t", submitted_at=later)

    assert again.outcome is SubmitOutcome.UNCHANGED
    [stored] = production.list("ent-a", date(2026, 11, 26), date(2026, 11, 27))
    assert stored.submitted_at == later


def test_a_day_and_a_month_starting_on_the_same_date_are_two_figures(production):
    production.submit("ent-a", DAY, date(2026, 11, 1), 10.0, "t", submitted_at=T0)
    production.submit("ent-a", MONTH, date(2026, 11, 1), 300.0, "t", submitted_at=T0)

    listed = production.list("ent-a", date(2026, 11, 1), date(2026, 11, 2))
    assert [(r.period, r.quantity) for r in listed] == [(DAY, 10.0), (MONTH, 300.0)]


def test_an_enterprise_the_registry_does_not_know_is_refused(production):
    with pytest.raises(NotFoundError) as caught:
        production.submit("ent-nobody", DAY, date(2026, 11, 26), 1.0, "t", submitted_at=T0)
    assert caught.value.identifier == "ent-nobody"


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("period", {"period": "week"}),
        ("period_start", {"period": MONTH, "period_start": date(2026, 11, 2)}),
        ("quantity", {"quantity": -1.0}),
        ("quantity", {"quantity": math.nan}),
        ("quantity", {"quantity": math.inf}),
        ("unit", {"unit": "  "}),
        ("unit", {"unit": "t" * 33}),
        ("submitted_by", {"submitted_by": ""}),
        ("note", {"note": "n" * 2001}),
        ("submitted_at", {"submitted_at": datetime(2026, 11, 27, 9, 0)}),  # noqa: DTZ001
    ],
)
def test_invalid_submissions_are_refused_naming_the_field(production, field, changes):
    submission = {
        "period": DAY,
        "period_start": date(2026, 11, 26),
        "quantity": 1.0,
        "unit": "t",
        "submitted_at": T0,
    } | changes
    period = submission.pop("period")
    start = submission.pop("period_start")
    quantity = submission.pop("quantity")
    unit = submission.pop("unit")

    with pytest.raises(InvalidSubmissionError) as caught:
        production.submit("ent-a", period, start, quantity, unit, **submission)

    assert caught.value.field == field
    assert production.list(None, date(2026, 1, 1), date(2027, 1, 1)) == []


@pytest.mark.parametrize(
    "values",
    [
        {"period": "week", "quantity": 1.0},  # not a period the check allows
        {"period": "day", "quantity": -1.0},  # below zero
    ],
)
def test_the_database_itself_refuses_what_the_store_refuses(engine, values):
    row = {
        "enterprise_id": "ent-a",
        "period_start": date(2026, 11, 26),
        "unit": "t",
        "submitted_at": T0,
        "note": "",
    } | values
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(ProductionOutput).values(**row))


def test_the_database_keeps_one_figure_per_period(engine, production):
    production.submit("ent-a", DAY, date(2026, 11, 26), 1.0, "t", submitted_at=T0)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(ProductionOutput).values(
                enterprise_id="ent-a",
                period="day",
                period_start=date(2026, 11, 26),
                quantity=2.0,
                unit="t",
                submitted_at=T0,
                note="",
            )
        )


# --- reading --------------------------------------------------------------------------------


def test_list_is_half_open_ordered_and_filtered_by_enterprise(production):
    for enterprise, day, quantity in [
        ("ent-b", 25, 5.0),
        ("ent-a", 27, 3.0),
        ("ent-a", 25, 1.0),
        ("ent-a", 26, 2.0),
    ]:
        production.submit(enterprise, DAY, date(2026, 11, day), quantity, "t", submitted_at=T0)

    mine = production.list("ent-a", date(2026, 11, 25), date(2026, 11, 27))
    everyone = production.list(None, date(2026, 11, 25), date(2026, 11, 28))

    assert [r.quantity for r in mine] == [1.0, 2.0]
    assert [(r.enterprise_id, r.quantity) for r in everyone] == [
        ("ent-a", 1.0),
        ("ent-a", 2.0),
        ("ent-a", 3.0),
        ("ent-b", 5.0),
    ]


def test_total_prefers_a_month_figure_and_counts_the_days_it_covers(production):
    production.submit("ent-a", MONTH, date(2026, 10, 1), 3100.0, "t", submitted_at=T0)
    for day in range(1, 32):  # daily figures of a month with a monthly one are not added
        production.submit("ent-a", DAY, date(2026, 10, day), 99.0, "t", submitted_at=T0)
    for day in (1, 2):
        production.submit("ent-a", DAY, date(2026, 11, day), 50.0, "t", submitted_at=T0)

    total = production.total("ent-a", date(2026, 10, 1), date(2026, 11, 4))

    assert (total.quantity, total.unit) == (3200.0, "t")
    assert (total.days_covered, total.days, total.complete) == (33, 34, False)
    assert total.periods[0] == (date(2026, 10, 1), date(2026, 11, 1))


def test_figures_groups_every_enterprise_in_one_read(production):
    production.submit("ent-a", MONTH, date(2026, 11, 1), 300.0, "t", submitted_at=T0)
    production.submit("ent-b", DAY, date(2026, 11, 26), 7.0, "pieces", submitted_at=T0)

    figures = production.figures(date(2026, 11, 26), date(2026, 11, 27))

    assert set(figures) == {"ent-a", "ent-b"}
    assert output_total(figures["ent-a"], "ent-a", date(2026, 11, 26), date(2026, 11, 27)) == (
        output_total([], "ent-a", date(2026, 11, 26), date(2026, 11, 27))
    )
    assert production.total("ent-b", date(2026, 11, 26), date(2026, 11, 27)).quantity == 7.0


# --- totals, pure ---------------------------------------------------------------------------


def test_a_month_figure_counts_only_when_the_whole_month_is_inside_the_range():
    records = [record(MONTH, date(2026, 11, 1), 300.0), record(DAY, date(2026, 11, 26), 9.0)]

    day = output_total(records, "ent-a", date(2026, 11, 26), date(2026, 11, 27))
    month = output_total(records, "ent-a", date(2026, 11, 1), date(2026, 12, 1))

    assert (day.quantity, day.days_covered, day.complete) == (9.0, 1, True)
    assert (month.quantity, month.days_covered, month.complete) == (300.0, 30, True)


def test_a_month_of_daily_figures_is_complete_only_with_every_day():
    days = [record(DAY, date(2026, 2, d), 10.0) for d in range(1, 29)]

    whole = output_total(days, "ent-a", date(2026, 2, 1), date(2026, 3, 1))
    missing_one = output_total(days[1:], "ent-a", date(2026, 2, 1), date(2026, 3, 1))

    assert (whole.quantity, whole.complete) == (280.0, True)
    assert (missing_one.quantity, missing_one.days_covered, missing_one.complete) == (
        270.0,
        27,
        False,
    )


def test_nothing_submitted_is_an_empty_total_without_a_unit():
    total = output_total([], "ent-a", date(2026, 11, 26), date(2026, 11, 27))
    assert (total.quantity, total.unit, total.days_covered, total.periods) == (0.0, None, 0, ())


def test_figures_in_different_units_cannot_be_added():
    records = [record(DAY, date(2026, 11, 25), 1.0, "t"), record(DAY, date(2026, 11, 26), 2, "kg")]

    with pytest.raises(MixedUnitsError) as caught:
        output_total(records, "ent-a", date(2026, 11, 25), date(2026, 11, 27))

    assert caught.value.units == ("kg", "t")


def test_other_enterprises_figures_are_ignored():
    records = [record(DAY, date(2026, 11, 26), 1.0, enterprise="ent-b")]
    assert output_total(records, "ent-a", date(2026, 11, 26), date(2026, 11, 27)).quantity == 0


def test_a_months_period_ends_on_the_first_of_the_next():
    assert record(MONTH, date(2026, 12, 1), 1.0).period_end == date(2027, 1, 1)
    assert record(MONTH, date(2028, 2, 1), 1.0).period_end == date(2028, 3, 1)
    assert record(DAY, date(2026, 12, 31), 1.0).period_end == date(2027, 1, 1)
