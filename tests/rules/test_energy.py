"""Energy intensity, pure: periods due, consumption and coverage, output, and the verdicts."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from rules.consumption import (
    MeterDelta,
    bucket_day,
    consumption,
    metered_output,
    sites_in,
    submitted_output,
)
from rules.energy import (
    COMPLIANT,
    EXCEEDING,
    INSUFFICIENT,
    Period,
    due,
    judge,
    utc,
)
from rules.model import EnergyIntensityRule, Scope
from standards import day_bounds
from store.sql import Placement, ProductionPeriod, ProductionRecord

DAY_MS = 86_400_000
NOV26 = day_bounds(date(2026, 11, 26))
SUBMITTED = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def delta(quantity, minutes=1440, *, site="site-a", device="meter-1", flag="N", enterprise="ent-a"):
    return MeterDelta(enterprise, site, device, flag, quantity, minutes * 60_000)


def full_day(quantity):
    return consumption([delta(quantity)], DAY_MS)


def figure(quantity, day=date(2026, 11, 26), period=ProductionPeriod.DAY, unit="t"):
    return ProductionRecord("ent-a", period, day, quantity, unit, SUBMITTED)


def day_output(*figures):
    return submitted_output(list(figures), "ent-a", date(2026, 11, 26), date(2026, 11, 27))


# --- periods ----------------------------------------------------------------------------------


def test_a_local_day_starts_at_16_utc_the_evening_before():
    period = Period.day(date(2026, 11, 26))
    assert utc(period.start_ms) == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert period.end_ms - period.start_ms == DAY_MS
    assert (period.first_day, period.end_day) == (date(2026, 11, 26), date(2026, 11, 27))


def test_a_month_period_runs_to_the_first_of_the_next():
    period = Period.month(2026, 12)
    assert (period.first_day, period.end_day) == (date(2026, 12, 1), date(2027, 1, 1))
    assert period.end_ms - period.start_ms == 31 * DAY_MS


def test_due_lists_closed_days_within_the_lookback_and_the_months_they_close():
    now = day_bounds(date(2026, 12, 2)).start_ms + 3_600_000  # 2 December 01:00 local

    periods = due(now, lookback_days=3)

    assert periods == [
        Period.day(date(2026, 11, 29)),
        Period.day(date(2026, 11, 30)),
        Period.month(2026, 11),
        Period.day(date(2026, 12, 1)),
    ]


def test_a_day_is_due_only_once_it_has_ended():
    end = day_bounds(date(2026, 11, 26)).end_ms
    assert Period.day(date(2026, 11, 26)) not in due(end - 1, lookback_days=2)
    assert Period.day(date(2026, 11, 26)) in due(end, lookback_days=2)


def test_a_month_drops_out_of_due_after_the_lookback():
    first_of_december = day_bounds(date(2026, 12, 1)).start_ms
    assert Period.month(2026, 11) in due(first_of_december + 34 * DAY_MS, lookback_days=35)
    assert Period.month(2026, 11) not in due(first_of_december + 36 * DAY_MS, lookback_days=35)


def test_due_is_the_same_for_the_same_instant():
    now = day_bounds(date(2026, 3, 10)).start_ms + 5
    assert due(now) == due(now)
    assert len([p for p in due(now) if p.size == "month"]) == 1  # February; January is older


def test_a_day_bucket_must_start_at_a_local_midnight():
    assert bucket_day(NOV26.start_ms) == date(2026, 11, 26)
    with pytest.raises(ValueError, match="local midnight"):
        bucket_day(NOV26.start_ms + 3_600_000)


# --- consumption ------------------------------------------------------------------------------


def test_consumption_adds_every_flag_and_tells_them_apart():
    used = consumption(
        [delta(100.0, 1380), delta(5.0, 60, flag="M"), delta(50.0, site="site-b")], DAY_MS
    )

    assert used.quantity == 155.0
    assert used.by_flag == {"N": 150.0, "M": 5.0}
    assert used.coverage == {"site-a/meter-1": 1.0, "site-b/meter-1": 1.0}
    assert used.complete


def test_a_meter_covering_less_than_90_percent_makes_consumption_incomplete():
    assert consumption([delta(1.0, 1296)], DAY_MS).complete  # 90 %
    assert not consumption([delta(1.0, 1295)], DAY_MS).complete
    assert not consumption([delta(1.0), delta(1.0, 600, device="meter-2")], DAY_MS).complete


def test_coverage_is_capped_at_the_whole_window():
    # A delta after a gap spans intervals before the window started.
    assert consumption([delta(1.0, 1500)], DAY_MS).coverage == {"site-a/meter-1": 1.0}


def test_no_deltas_is_no_consumption():
    used = consumption([], DAY_MS)
    assert (used.quantity, used.coverage, used.complete) == (0.0, {}, False)


def test_evidence_rounds_to_six_decimals():
    shown = consumption([delta(0.1), delta(0.2, site="site-b")], DAY_MS).to_json("kWh")
    assert shown["quantity"] == 0.3
    assert shown["unit"] == "kWh"


def test_sites_in_keeps_the_sites_the_scope_names():
    a = Placement("gw-1", "site-a", "ent-a", "park-1", "county-1")
    b = Placement("gw-2", "site-b", "ent-b", None, "county-2")

    assert set(sites_in(Scope(), [a, b])) == {"site-a", "site-b"}
    assert set(sites_in(Scope(county="county-2"), [a, b])) == {"site-b"}
    assert set(sites_in(Scope(park="park-1"), [a, b])) == {"site-a"}


# --- output -----------------------------------------------------------------------------------


def test_a_days_figure_is_its_output():
    output = day_output(figure(400.0))
    assert (output.quantity, output.complete, output.problem) == (400.0, True, None)
    assert output.evidence["unit"] == "t"


def test_a_month_figure_says_nothing_about_one_of_its_days():
    output = day_output(figure(12_000.0, date(2026, 11, 1), ProductionPeriod.MONTH))
    assert output.quantity is None


def test_figures_in_mixed_units_are_a_problem():
    output = submitted_output(
        [figure(1.0, date(2026, 11, 1)), figure(2.0, date(2026, 11, 2), unit="pieces")],
        "ent-a",
        date(2026, 11, 1),
        date(2026, 12, 1),
    )
    assert output.problem is not None
    assert "pieces" in output.problem


def test_a_metered_output_has_the_catalog_unit():
    output = metered_output("energy_export_delta", consumption([delta(8.0, 1000)], DAY_MS))
    assert (output.quantity, output.complete) == (8.0, False)
    assert output.evidence["unit"] == "kWh"
    assert output.evidence["source"] == "metric:energy_export_delta"


# --- verdicts ---------------------------------------------------------------------------------

# 7200 kWh at 0.1229 kgce/kWh (GB/T 2589-2020) = 884.88 kgce.
KGCE = 884.88


@pytest.mark.parametrize(
    ("output", "target", "outcome", "value"),
    [
        (400.0, 2.0, EXCEEDING, 2.2122),
        (500.0, 2.0, COMPLIANT, 1.76976),
        (442.44, 2.0, COMPLIANT, 2.0),  # exactly on the target is not above it
    ],
)
def test_complete_data_is_compared_with_the_target(output, target, outcome, value):
    verdict = judge(full_day(7200.0), KGCE, day_output(figure(output)), target)
    assert (verdict.outcome, verdict.value) == (outcome, value)


@pytest.mark.parametrize(
    ("energy", "output", "reason"),
    [
        (consumption([], DAY_MS), day_output(figure(400.0)), "no energy data"),
        (full_day(7200.0), day_output(), "no output reported"),
        (full_day(7200.0), day_output(figure(0.0)), "zero output"),
    ],
)
def test_without_energy_or_output_nothing_is_compared(energy, output, reason):
    verdict = judge(energy, KGCE, output, 2.0)
    assert (verdict.outcome, verdict.value, verdict.reason) == (INSUFFICIENT, None, reason)


def test_incomplete_energy_above_the_target_is_certainly_exceeding():
    partial = consumption([delta(6000.0, 1200)], DAY_MS)

    above = judge(partial, 737.4, day_output(figure(300.0)), 2.0)
    within = judge(partial, 737.4, day_output(figure(400.0)), 2.0)

    assert (above.outcome, above.value) == (EXCEEDING, 2.458)
    assert "lower bound" in above.reason
    assert (within.outcome, within.value) == (INSUFFICIENT, None)


def test_incomplete_output_within_the_target_is_certainly_compliant():
    month = Period.month(2026, 11)
    energy = consumption([delta(216_000.0, 43_200)], month.end_ms - month.start_ms)
    days = [figure(500.0, date(2026, 11, d)) for d in range(1, 30)]  # 29 of 30 days
    output = submitted_output(days, "ent-a", month.first_day, month.end_day)

    within = judge(energy, 26_546.4, output, 2.0)
    above = judge(energy, 26_546.4, output, 1.8)

    assert (within.outcome, within.value) == (COMPLIANT, 1.830786)
    assert "upper bound" in within.reason
    assert above.outcome == INSUFFICIENT


# --- the rule model ---------------------------------------------------------------------------


def rule(**fields):
    return EnergyIntensityRule.model_validate(
        {"id": "ei", "kind": "energy_intensity", "window": "day", "target": 2.0} | fields
    )


def test_an_energy_rule_defaults_to_imported_electricity_and_submitted_output():
    made = rule()
    assert (made.metric, made.carrier, made.output_metric) == (
        "energy_import_delta",
        "electricity",
        None,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metric": "energy_import"}, "interval metric"),  # a counter, not a delta
        ({"output_metric": "pm25"}, "interval metric"),
        ({"carrier": "firewood"}, "GB/T 2589 energy carrier"),
        ({"carrier": "natural_gas"}, "energy_import_delta is in kWh, natural_gas in m³"),
        ({"target": 0}, "greater than 0"),
        ({"window": "hour"}, "day"),
    ],
)
def test_an_energy_rule_refuses_what_it_cannot_compute(fields, message):
    with pytest.raises(ValidationError, match=message):
        rule(**fields)
