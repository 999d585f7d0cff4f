"""Dependencies the routes declare: the stores, held by the application's lifespan."""

from typing import Annotated

from fastapi import Depends, Request

from api.settings import ApiSettings
from store.influx import InfluxStore
from store.sql import Registry


def _influx(request: Request) -> InfluxStore:
    store: InfluxStore = request.app.state.influx
    return store


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


InfluxDep = Annotated[InfluxStore, Depends(_influx)]
RegistryDep = Annotated[Registry, Depends(_registry)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
