"""The SQL store's tables the reports read beyond the registry: rule results, production output.

Both are read through the application's engine (``app.state.engine``, made by
:func:`api.app.create_app`'s ``engine`` factory when the application starts).
"""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from store.sql import ProductionStore, RuleResults


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _results(engine: Annotated[Engine, Depends(_engine)]) -> RuleResults:
    return RuleResults(engine)


def _production(engine: Annotated[Engine, Depends(_engine)]) -> ProductionStore:
    return ProductionStore(engine)


RuleResultsDep = Annotated[RuleResults, Depends(_results)]
ProductionDep = Annotated[ProductionStore, Depends(_production)]
