"""Dependencies the routes declare: the stores, held by the application's lifespan.

Who calls is :data:`api.security.CurrentPrincipal` (and its role guards), not a store.
"""

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from api.settings import ApiSettings
from store.influx import InfluxStore
from store.sql import AccountStore, AlertStore, AlertViews, Registry

# Alerts and dead letters are numbered by SQL INTEGER columns: a larger id names no row, and
# PostgreSQL refuses to compare one with them, so it is a bad request (422), not a lookup.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
PageBefore = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, description="the next_before of the previous page")
]


def _influx(request: Request) -> InfluxStore:
    store: InfluxStore = request.app.state.influx
    return store


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _accounts(request: Request) -> AccountStore:
    accounts: AccountStore = request.app.state.accounts
    return accounts


def _alerts(request: Request) -> AlertStore:
    alerts: AlertStore = request.app.state.alerts
    return alerts


def _alert_views(request: Request) -> AlertViews:
    views: AlertViews = request.app.state.alert_views
    return views


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


InfluxDep = Annotated[InfluxStore, Depends(_influx)]
RegistryDep = Annotated[Registry, Depends(_registry)]
AccountsDep = Annotated[AccountStore, Depends(_accounts)]
AlertsDep = Annotated[AlertStore, Depends(_alerts)]
AlertViewsDep = Annotated[AlertViews, Depends(_alert_views)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
