"""The SQL store's tables the reports read beyond the registry: rule results, production output.

One engine per application, opened from ``settings.sql_url`` by :func:`report_stores` (the
reports router's lifespan, which FastAPI runs inside the application's own, after the settings
are in place) and disposed when the application stops.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine

from store.sql import ProductionStore, RuleResults, create_engine_for


@asynccontextmanager
async def report_stores(app: FastAPI) -> AsyncIterator[None]:
    """Open the reports' engine for the application's life."""
    engine = create_engine_for(app.state.settings.sql_url)
    app.state.report_engine = engine
    try:
        yield
    finally:
        engine.dispose()


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.report_engine
    return engine


def _results(engine: Annotated[Engine, Depends(_engine)]) -> RuleResults:
    return RuleResults(engine)


def _production(engine: Annotated[Engine, Depends(_engine)]) -> ProductionStore:
    return ProductionStore(engine)


RuleResultsDep = Annotated[RuleResults, Depends(_results)]
ProductionDep = Annotated[ProductionStore, Depends(_production)]
