"""Reports: a site's monthly compliance and an enterprise's energy year, as JSON, CSV or XLSX."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel

from api.compliance import (
    Cell,
    compliance_rows,
    compliance_summary,
    month_days,
    month_span,
    recorded_limits,
)
from api.deps import InfluxDep, RegistryDep
from api.energy_report import energy_rows, energy_summary, recorded_target
from api.errors import STORE_UNAVAILABLE
from api.exports import ReportFormat, download
from api.queries import epoch_ms
from api.security import CurrentPrincipal, visible_enterprise, visible_site
from api.sql_stores import ProductionDep, RuleResultsDep
from standards import NoLimitError
from standards.windows import local_date, year_bounds

router = APIRouter(prefix="/reports", tags=["reports"], responses=STORE_UNAVAILABLE)

_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        },
        "description": "the report; with format=csv or xlsx, as an attachment",
    },
    401: {"description": "not signed in"},
    404: {"description": "no such site or enterprise, or not the caller's enterprise's"},
    422: {"description": "bad query"},
}
# Enough for a month of every rule's hourly and daily results of one site.
_RESULTS_LIMIT = 100_000
Year = Annotated[int, Query(ge=2000, le=2100, description="calendar year, Asia/Shanghai")]
Format = Annotated[ReportFormat, Query(alias="format", description="json, csv or xlsx")]

COMPLIANCE_COLUMNS = (
    "day",
    *(
        f"{metric}_{part}"
        for metric in ("pm25", "pm10")
        for part in ("mean", "valid", "hours", "limit", "limit_source", "exceeding")
    ),
    "aqi",
    "aqi_category",
    "aqi_category_en",
    "primary",
)
ENERGY_COLUMNS = (
    "month",
    "energy_kwh",
    "energy_kgce",
    "coefficient",
    "output",
    "output_unit",
    "output_days_covered",
    "intensity",
)


class Report(BaseModel):
    """A report: what it covers, its rows (days or months) and its summary."""

    subject: str
    period: str
    summary: dict[str, Cell]
    rows: list[dict[str, Cell]]


@router.get("/sites/{site_id}/compliance", response_model=Report, responses=_FILES)
def get_site_compliance(  # noqa: PLR0913 - one parameter per query field
    site_id: str,
    *,
    principal: CurrentPrincipal,
    influx: InfluxDep,
    registry: RegistryDep,
    results: RuleResultsDep,
    year: Year,
    month: Annotated[int, Query(ge=1, le=12)],
    report_format: Format = ReportFormat.JSON,
) -> Report | Response:
    """Daily PM means against the 24-hour limits in force, and the daily AQI, of a month."""
    today = _today()
    if date(year, month, 1) > today:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{year}-{month:02d} has not begun"
        )
    visible_site(registry, principal, site_id)
    days = [day for day in month_days(year, month) if day <= today]
    since, until = month_span(year, month)
    limits = recorded_limits(
        results.results(site=site_id, since=since, until=until, limit=_RESULTS_LIMIT)
    )
    try:
        rows = compliance_rows(influx, site=site_id, days=days, limits=limits)
    except NoLimitError as error:
        # Before GB 3095-2012 took effect (2016) there is no PM2.5 limit to report against.
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"no compliance report for {year}-{month:02d}: {error}",
        ) from None
    report = Report(
        subject=site_id,
        period=f"{year}-{month:02d}",
        summary=compliance_summary(rows),
        rows=rows,
    )
    if report_format is ReportFormat.JSON:
        return report
    return download(
        rows,
        COMPLIANCE_COLUMNS,
        report.summary,
        report_format=report_format,
        filename=f"compliance-{site_id}-{year}-{month:02d}",
        sheet="days",
    )


@router.get("/enterprises/{enterprise_id}/energy", response_model=Report, responses=_FILES)
def get_enterprise_energy(  # noqa: PLR0913 - one parameter per query field
    enterprise_id: str,
    *,
    principal: CurrentPrincipal,
    influx: InfluxDep,
    registry: RegistryDep,
    results: RuleResultsDep,
    production: ProductionDep,
    year: Year,
    report_format: Format = ReportFormat.JSON,
) -> Report | Response:
    """Monthly consumption, kgce, output and intensity, and the year against its target."""
    today = _today()
    if date(year, 1, 1) > today:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{year} has not begun")
    visible_enterprise(registry, principal, enterprise_id)
    as_of = min(today, date(year, 12, 31))
    bounds = year_bounds(year)
    target = recorded_target(
        results.results(
            subject=f"enterprise:{enterprise_id}",
            since=datetime.fromtimestamp(bounds.start_ms / 1000, UTC),
            until=datetime.fromtimestamp(bounds.end_ms / 1000, UTC),
            limit=_RESULTS_LIMIT,
        )
    )
    rows = energy_rows(influx, production, enterprise=enterprise_id, year=year, as_of=as_of)
    report = Report(
        subject=enterprise_id,
        period=str(year),
        summary=energy_summary(rows, target, year=year, as_of=as_of),
        rows=rows,
    )
    if report_format is ReportFormat.JSON:
        return report
    return download(
        rows,
        ENERGY_COLUMNS,
        report.summary,
        report_format=report_format,
        filename=f"energy-{enterprise_id}-{year}",
        sheet="months",
    )


def _today() -> date:
    return local_date(epoch_ms(datetime.now(UTC)))
