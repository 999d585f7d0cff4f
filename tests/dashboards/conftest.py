"""The rules and ingest test harnesses, for running every panel's query on data they wrote."""

from tests.ingest.conftest import city, city_url, ingest
from tests.rules.conftest import city_sql, publisher, rules_service

__all__ = ["city", "city_sql", "city_url", "ingest", "publisher", "rules_service"]
