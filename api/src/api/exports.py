"""Reports as files: CSV for any tool, XLSX for Excel, each with a download file name.

The CSV holds the report's rows; it starts with a UTF-8 byte order mark, without which Excel
reads UTF-8 as the local code page and garbles Chinese (轻度污染) and µg/m³. The XLSX workbook
(openpyxl) has the rows on one sheet and the summary on another.
"""

import csv
import io
from collections.abc import Mapping, Sequence
from enum import StrEnum

from fastapi import Response

Cell = str | int | float | bool | None

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOM = "\ufeff"


class ReportFormat(StrEnum):
    """How a report is delivered."""

    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


def csv_bytes(rows: Sequence[Mapping[str, Cell]], columns: Sequence[str]) -> bytes:
    """The rows as CSV with a header line, UTF-8 with a byte order mark."""
    buffer = io.StringIO()
    buffer.write(_BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(
    rows: Sequence[Mapping[str, Cell]],
    columns: Sequence[str],
    summary: Mapping[str, Cell],
    *,
    sheet: str,
) -> bytes:
    """A workbook: the rows on ``sheet``, the summary as (item, value) pairs on ``summary``."""
    import openpyxl  # type: ignore[import-untyped]  # noqa: PLC0415 - only reports need it

    workbook = openpyxl.Workbook(write_only=True)
    table = workbook.create_sheet(sheet)
    table.append(list(columns))
    for row in rows:
        table.append([row.get(c) for c in columns])
    totals = workbook.create_sheet("summary")
    totals.append(["item", "value"])
    for key, value in summary.items():
        totals.append([key, value])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def download(  # noqa: PLR0913 - the report's parts and how to name it
    rows: Sequence[Mapping[str, Cell]],
    columns: Sequence[str],
    summary: Mapping[str, Cell],
    *,
    report_format: ReportFormat,
    filename: str,
    sheet: str,
) -> Response:
    """The report as a CSV or XLSX attachment named ``filename`` plus the extension."""
    if report_format is ReportFormat.CSV:
        body, media_type = csv_bytes(rows, columns), CSV_MEDIA_TYPE
    else:
        body, media_type = xlsx_bytes(rows, columns, summary, sheet=sheet), XLSX_MEDIA_TYPE
    name = f"{filename}.{report_format.value}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
