"""Typed errors of the SQL store.

    SqlStoreError
    ├── UnsupportedDatabaseError  a database URL of a kind the store does not run on
    ├── SchemaVersionError        the database is not at the schema revision this code expects
    └── RegistryError
        ├── DuplicateError        a record with this kind and id already exists
        ├── NotFoundError         no record of this kind and id (a lookup, or a missing parent)
        │   └── UnknownGatewayError   a gateway id the registry does not know (ingest's question)
        └── InvalidRecordError    a value outside its domain: a bad identifier, a latitude of 91°

Each error carries the facts a log line, an HTTP problem response or a dead-letter record needs
(kind, id, field), not only a sentence. Errors of later parts of the store (alerts, outbox) join
the tree as siblings of :class:`RegistryError`.
"""

from enum import StrEnum


class RecordKind(StrEnum):
    """The kinds of record the registry holds; the value is how errors and logs name them."""

    COUNTY = "county"
    PARK = "park"
    ENTERPRISE = "enterprise"
    SITE = "site"
    GATEWAY = "gateway"


class SqlStoreError(Exception):
    """Base of every error raised by the SQL store."""


class UnsupportedDatabaseError(SqlStoreError):
    """A database URL whose dialect the store is not built and tested for.

    Attributes:
        dialect: the dialect named by the URL (``mysql``), never the URL, which may hold a password.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        super().__init__(
            f"unsupported database {dialect!r}: use sqlite:///path or postgresql+psycopg://..."
        )


class SchemaVersionError(SqlStoreError):
    """The database's schema revision is not the one this code was written for.

    Attributes:
        found: the revision recorded in the database, ``None`` for a database never migrated.
        expected: the head revision of the migrations shipped with this code.
    """

    def __init__(self, found: str | None, expected: str) -> None:
        self.found = found
        self.expected = expected
        shown = "no revision (never migrated)" if found is None else f"revision {found!r}"
        super().__init__(
            f"database schema is at {shown}, this code expects {expected!r}; "
            "run store.sql.migrate(url)"
        )


class RegistryError(SqlStoreError):
    """Base of the errors raised by :class:`store.sql.Registry`."""


class DuplicateError(RegistryError):
    """A record of this kind with this id already exists; ids are never reused."""

    def __init__(self, kind: RecordKind, identifier: str) -> None:
        self.kind = kind
        self.identifier = identifier
        super().__init__(f"{kind} {identifier!r} already exists")


class NotFoundError(RegistryError):
    """No record of this kind with this id: a lookup that failed, or a parent that is missing."""

    def __init__(self, kind: RecordKind, identifier: str) -> None:
        self.kind = kind
        self.identifier = identifier
        super().__init__(f"no {kind} {identifier!r}")


class UnknownGatewayError(NotFoundError):
    """A gateway that is not in the registry, so its readings cannot be placed on the map."""

    def __init__(self, gateway_id: str) -> None:
        self.gateway_id = gateway_id
        super().__init__(RecordKind.GATEWAY, gateway_id)


class InvalidRecordError(RegistryError):
    """A value outside its domain, refused before it reaches the database.

    Attributes:
        kind: the kind of record being written.
        identifier: the id of that record (as given, possibly itself the invalid value).
        field: the name of the offending argument.
        why: what the value should have been.
    """

    def __init__(self, kind: RecordKind, identifier: str, field: str, why: str) -> None:
        self.kind = kind
        self.identifier = identifier
        self.field = field
        self.why = why
        super().__init__(f"{kind} {identifier!r}: {field}: {why}")
