"""The SQL store's tables the reports read beyond the registry: rule results, production output.

One engine per application, opened from ``settings.sql_url`` on first use and kept on the
application's state, so a report costs no new connection pool.
"""

from threading import Lock
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from store.sql import ProductionStore, RuleResults, create_engine_for

_OPENING = Lock()


def _engine(request: Request) -> Engine:
    state = request.app.state
    with _OPENING:
        engine: Engine | None = getattr(state, "report_engine", None)
        if engine is None:
            settings = state.settings
            engine = create_engine_for(settings.sql_url)
            state.report_engine = engine
    return engine


def _results(engine: Annotated[Engine, Depends(_engine)]) -> RuleResults:
    return RuleResults(engine)


def _production(engine: Annotated[Engine, Depends(_engine)]) -> ProductionStore:
    return ProductionStore(engine)


RuleResultsDep = Annotated[RuleResults, Depends(_results)]
ProductionDep = Annotated[ProductionStore, Depends(_production)]
