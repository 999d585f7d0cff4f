"""The alert lists the dashboards ask for, and what each answer must be.

Each :class:`Query` gives the n-th request's query fields; requests take turns over the sites'
enterprises, parks, severities and time windows. The expected answer is worked out in Python
from every alert the store holds (filter, newest first, one page), and an answer must list
exactly those alerts, each matching the filter, with ``next_before`` set only when more are
left; a list that should not be empty must not be.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bench.api_server import Check
from store.sql import AlertRecord

Fields = dict[str, str]
OPEN_STATES = ("pending", "firing", "acknowledged")  # what the enterprise page asks for
SEVERITIES = ("critical", "major", "warning")
PAGE = 50  # the API's default limit


@dataclass(frozen=True, slots=True)
class Query:
    """One kind of request: its name, the n-th request's fields, whose key sends it."""

    name: str
    fields: Callable[[int], Fields]
    enterprise_user: bool = False  # sent with the key of the n-th site's enterprise
    may_be_empty: bool = False


def queries(
    enterprises: Sequence[str], parks: Sequence[str], start: datetime, end: datetime, ids: list[int]
) -> list[Query]:
    """The bureau dashboard's and the enterprise page's lists over alerts ``ids``."""
    third = (end - start) / 3

    def week(n: int) -> Fields:
        since = start + third + timedelta(hours=n % 24)
        return {"opened_from": _iso(since), "opened_until": _iso(since + third)}

    def later(n: int) -> Fields:
        return {"before": str(sorted(ids)[len(ids) // 2 + n % PAGE])}

    return [
        Query("default list", lambda _: {}),
        Query("state=firing", lambda _: {"state": "firing"}),
        Query("enterprise", lambda n: {"enterprise": enterprises[n % len(enterprises)]}),
        Query("park", lambda n: {"park": parks[n % len(parks)]}),
        Query("severity", lambda n: {"severity": SEVERITIES[n % len(SEVERITIES)]}),
        Query("opened in a time range", week),
        Query("a later page", later),
        Query("enterprise user: own list", lambda _: {}, enterprise_user=True),
        Query(
            "enterprise user: open, 200",
            lambda n: {"state": OPEN_STATES[n % len(OPEN_STATES)], "limit": "200"},
            enterprise_user=True,
            may_be_empty=True,  # pending lasts a minute: none is left at the end
        ),
    ]


def path(fields: Fields) -> str:
    """The request of ``fields``."""
    return f"/v1/alerts?{urlencode(fields)}" if fields else "/v1/alerts"


def expected(
    alerts: Sequence[AlertRecord], fields: Fields, scope: str | None
) -> tuple[list[int], bool]:
    """The ids of the page ``fields`` asks for, newest first, and whether more are left.

    ``alerts`` are newest first; ``scope`` is the enterprise of an enterprise user's key.
    """
    chosen = [alert.id for alert in alerts if _matches(alert, fields, scope)]
    limit = int(fields.get("limit", PAGE))
    return chosen[:limit], len(chosen) > limit


def checker(answers: Sequence[tuple[list[int], bool, Fields, str | None]]) -> Check:
    """A check of the n-th answer against ``answers[n]``: ids, more left, fields, scope."""

    def check(n: int, body: dict[str, Any]) -> str | None:
        ids, more, fields, scope = answers[n]
        got = [item["id"] for item in body["items"]]
        if got != ids:
            return f"ids {got[:5]}… ({len(got)}), expected {ids[:5]}… ({len(ids)})"
        if (body["next_before"] is not None) != more:
            return f"next_before {body['next_before']}, expected more: {more}"
        for item in body["items"]:
            if not _item_matches(item, fields, scope):
                return f"alert {item['id']} does not match {fields}"
        return None

    return check


_COMPARED = ("state", "severity", "enterprise", "park")


def _matches(alert: AlertRecord, fields: Fields, scope: str | None) -> bool:
    values = {name: getattr(alert, name) for name in (*_COMPARED, "id", "opened_at")}
    return _belongs(values | {"state": str(alert.state)}, fields, scope)


def _item_matches(item: dict[str, Any], fields: Fields, scope: str | None) -> bool:
    """The answer's own fields say it belongs: checked apart from the expected ids."""
    return _belongs(item | {"opened_at": datetime.fromisoformat(item["opened_at"])}, fields, scope)


def _belongs(values: Mapping[str, Any], fields: Fields, scope: str | None) -> bool:
    """Whether an alert's ``values`` pass the filter ``fields`` within ``scope``."""
    opened = values["opened_at"]
    return (
        all(values[name] == fields[name] for name in _COMPARED if name in fields)
        and (scope is None or values["enterprise"] == scope)
        and ("before" not in fields or values["id"] < int(fields["before"]))
        and ("opened_from" not in fields or opened >= datetime.fromisoformat(fields["opened_from"]))
        and (
            "opened_until" not in fields or opened < datetime.fromisoformat(fields["opened_until"])
        )
    )


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
