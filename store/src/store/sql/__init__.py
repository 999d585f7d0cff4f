"""The SQL store: what the platform keeps that InfluxDB is bad at.

Now it holds the registry (:class:`Registry`): counties, industrial parks, enterprises, sites
and gateways, which ingest needs to tag readings and the API to know sites; the delivery
progress (:class:`DeliveryLedger`): each gateway's ack watermark and gaps; and the dead letters
(:class:`DeadLetterStore`): every message or reading ingest refused, with the reason; and the
rule results (:class:`RuleResults`): what the rules engine decided per rule, subject and window.
Later revisions add emission limits and energy targets, users, alerts with their audit trail
and the notification outbox, each as a module beside ``registry.py`` and a migration in
``migrations/versions/``.

SQLite is the embedded default, PostgreSQL the production option; both run the same Alembic
migrations, shipped in the package and applied with :func:`migrate`. Typical use::

    migrate(url)
    registry = Registry(create_engine_for(url))
    registry.placement("gw-0001")  # Placement(gateway='gw-0001', site=..., county=...)

The ORM models (:mod:`store.sql.models`) describe the schema; services use the records this
package returns (:class:`Placement`, :class:`SiteRecord`, ...), never live ORM objects.
"""

from store.sql.deadletters import DeadLetterRecord, DeadLetterStore
from store.sql.delivery import DeliveryLedger, GapRecord, StoredOutcome
from store.sql.engine import create_engine_for, database_url, session_factory
from store.sql.errors import (
    DuplicateError,
    InvalidRecordError,
    NotFoundError,
    RecordKind,
    RegistryError,
    SchemaVersionError,
    SqlStoreError,
    UnknownGatewayError,
    UnsupportedDatabaseError,
)
from store.sql.placements import PlacementCache
from store.sql.records import (
    CountyRecord,
    EnterpriseRecord,
    ParkRecord,
    Placement,
    SiteRecord,
)
from store.sql.registry import Registry
from store.sql.results import Recorded, RuleResult, RuleResults
from store.sql.schema import (
    current_revision,
    downgrade,
    head_revision,
    migrate,
    require_current_schema,
)

__all__ = [
    "CountyRecord",
    "DeadLetterRecord",
    "DeadLetterStore",
    "DeliveryLedger",
    "DuplicateError",
    "EnterpriseRecord",
    "GapRecord",
    "InvalidRecordError",
    "NotFoundError",
    "ParkRecord",
    "Placement",
    "PlacementCache",
    "RecordKind",
    "Recorded",
    "Registry",
    "RegistryError",
    "RuleResult",
    "RuleResults",
    "SchemaVersionError",
    "SiteRecord",
    "SqlStoreError",
    "StoredOutcome",
    "UnknownGatewayError",
    "UnsupportedDatabaseError",
    "create_engine_for",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "migrate",
    "require_current_schema",
    "session_factory",
]
