"""The FastAPI application: routes under ``/v1``, stores opened for the application's life.

It refuses to be built without a safe token secret (:func:`api.settings.jwt_secret_of`).
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from api.errors import document_errors
from api.routes import (
    alert_stream,
    alerts,
    auth,
    completeness,
    devices,
    health,
    in_force,
    operations,
    production,
    readings,
    registry,
    registry_admin,
    reports,
    series,
    users,
)
from api.settings import ApiSettings, jwt_secret_of
from api.web import mount_page
from store.errors import InfluxQueryError, InfluxUnavailableError
from store.influx import InfluxStore
from store.sql import AccountStore, AlertStore, AlertViews, Registry


def create_app(
    settings: ApiSettings,
    *,
    influx: Callable[[], InfluxStore],
    engine: Callable[[], Engine],
) -> FastAPI:
    """Build the application; the stores are made by the factories when it starts.

    Raises:
        UnsafeSettingsError: the token secret is missing, short, or a default.
    """
    jwt_secret_of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        sql = engine()
        app.state.engine = sql
        app.state.registry = Registry(sql)
        app.state.accounts = AccountStore(sql)
        app.state.alerts = AlertStore(sql)
        app.state.alert_views = AlertViews(sql)
        with influx() as store:
            app.state.influx = store
            yield

    lifespan_cm: Callable[[FastAPI], AbstractAsyncContextManager[None]] = lifespan
    app = FastAPI(
        title="Lantian API",
        summary="Air quality and energy monitoring of enterprises and industrial parks.",
        version="0.1.0",
        lifespan=lifespan_cm,
    )
    app.add_exception_handler(InfluxUnavailableError, _influx_unavailable)
    app.add_exception_handler(InfluxQueryError, _influx_query_failed)
    app.include_router(health.router)
    app.include_router(auth.router, prefix="/v1")
    app.include_router(readings.router, prefix="/v1")
    app.include_router(series.router, prefix="/v1")
    app.include_router(completeness.router, prefix="/v1")
    app.include_router(reports.router, prefix="/v1")
    # The stream first: /alerts/events must not be read as the alert with id "events".
    app.include_router(alert_stream.router, prefix="/v1")
    app.include_router(alerts.router, prefix="/v1")
    app.include_router(production.router, prefix="/v1")
    app.include_router(in_force.router, prefix="/v1")
    app.include_router(operations.router, prefix="/v1")
    app.include_router(registry.router, prefix="/v1")
    app.include_router(devices.router, prefix="/v1")
    app.include_router(registry_admin.router, prefix="/v1")
    app.include_router(users.router, prefix="/v1")
    mount_page(app)
    document_errors(app)
    return app


async def _influx_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """InfluxDB down is the service being unavailable, not a bug in the request: 503."""
    return JSONResponse(
        {"detail": f"the time-series store is unavailable: {exc}"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def _influx_query_failed(request: Request, exc: Exception) -> JSONResponse:
    """A missing database is a store not ready yet (ingest creates it): 503, not a bug."""
    if isinstance(exc, InfluxQueryError) and exc.database_missing:
        return await _influx_unavailable(request, exc)
    raise exc
