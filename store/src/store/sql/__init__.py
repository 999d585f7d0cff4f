"""The SQL store: what the platform keeps that InfluxDB is bad at.

Now it holds the registry (:class:`Registry`): counties, industrial parks, enterprises, sites
and gateways, which ingest needs to tag readings and the API to know sites; the delivery
progress (:class:`DeliveryLedger`): each gateway's ack watermark and gaps; and the dead letters
(:class:`DeadLetterStore`): every message or reading ingest refused, with the reason; and the
rule results (:class:`RuleResults`): what the rules engine decided per rule, subject and window;
and the production output (:class:`ProductionStore`) enterprises submit, the denominator of
their energy intensity; and the alerts (:class:`AlertStore`) with their audit trail, the
notification outbox (:class:`Outbox`) and the contacts notices go to (:class:`Contacts`),
with read-only views for people (:class:`AlertViews`); and the API's accounts
(:class:`AccountStore`): users and machine keys; and the permits and targets in force
(:class:`RulesInForce`), the rules service's published copy of its rule files.

SQLite is the embedded default, PostgreSQL the production option; both run the same Alembic
migrations, shipped in the package and applied with :func:`migrate`. Typical use::

    migrate(url)
    registry = Registry(create_engine_for(url))
    registry.placement("gw-0001")  # Placement(gateway='gw-0001', site=..., county=...)

The ORM models (:mod:`store.sql.models`) describe the schema; services use the records this
package returns (:class:`Placement`, :class:`SiteRecord`, ...), never live ORM objects.
"""

from store.sql.account_records import (
    AccountError,
    AccountNotFoundError,
    ApiKeyRecord,
    DuplicateUsernameError,
    InvalidAccountError,
    InvalidApiKeyError,
    Role,
    UnknownEnterpriseError,
    UserRecord,
)
from store.sql.accounts import AccountStore
from store.sql.alert_changes import AlertTransaction
from store.sql.alert_records import AlertEventRecord, AlertRecord
from store.sql.alert_states import (
    BUREAU,
    OPEN_STATES,
    Actor,
    ActorKind,
    AlertAction,
    AlertError,
    AlertNotFoundError,
    AlertState,
    ForbiddenActionError,
    InvalidAlertInputError,
    InvalidTransitionError,
    NoticeKind,
)
from store.sql.alert_views import AlertEventView, AlertFilter, AlertPage, AlertViews
from store.sql.alerts import AlertStore
from store.sql.contacts import (
    Channel,
    ContactNotFoundError,
    ContactRecord,
    Contacts,
    InvalidContactError,
)
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
from store.sql.in_force import PermitInForce, RulesInForce, TargetInForce
from store.sql.outbox import (
    Delivery,
    DeliveryNotFoundError,
    DeliveryState,
    Notification,
    Outbox,
)
from store.sql.placements import PlacementCache
from store.sql.production import (
    InvalidSubmissionError,
    MixedUnitsError,
    OutputTotal,
    ProductionError,
    ProductionPeriod,
    ProductionRecord,
    ProductionStore,
    SubmitOutcome,
    Submitted,
    output_total,
)
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
    "BUREAU",
    "OPEN_STATES",
    "AccountError",
    "AccountNotFoundError",
    "AccountStore",
    "Actor",
    "ActorKind",
    "AlertAction",
    "AlertError",
    "AlertEventRecord",
    "AlertEventView",
    "AlertFilter",
    "AlertNotFoundError",
    "AlertPage",
    "AlertRecord",
    "AlertState",
    "AlertStore",
    "AlertTransaction",
    "AlertViews",
    "ApiKeyRecord",
    "Channel",
    "ContactNotFoundError",
    "ContactRecord",
    "Contacts",
    "CountyRecord",
    "DeadLetterRecord",
    "DeadLetterStore",
    "Delivery",
    "DeliveryLedger",
    "DeliveryNotFoundError",
    "DeliveryState",
    "DuplicateError",
    "DuplicateUsernameError",
    "EnterpriseRecord",
    "ForbiddenActionError",
    "GapRecord",
    "InvalidAccountError",
    "InvalidAlertInputError",
    "InvalidApiKeyError",
    "InvalidContactError",
    "InvalidRecordError",
    "InvalidSubmissionError",
    "InvalidTransitionError",
    "MixedUnitsError",
    "NotFoundError",
    "NoticeKind",
    "Notification",
    "Outbox",
    "OutputTotal",
    "ParkRecord",
    "PermitInForce",
    "Placement",
    "PlacementCache",
    "ProductionError",
    "ProductionPeriod",
    "ProductionRecord",
    "ProductionStore",
    "RecordKind",
    "Recorded",
    "Registry",
    "RegistryError",
    "Role",
    "RuleResult",
    "RuleResults",
    "RulesInForce",
    "SchemaVersionError",
    "SiteRecord",
    "SqlStoreError",
    "StoredOutcome",
    "SubmitOutcome",
    "Submitted",
    "TargetInForce",
    "UnknownEnterpriseError",
    "UnknownGatewayError",
    "UnsupportedDatabaseError",
    "UserRecord",
    "create_engine_for",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "migrate",
    "output_total",
    "require_current_schema",
    "session_factory",
]
