"""The gateway's durable spool: every batch is on disk, numbered, until the platform acks it.

A batch gets its sequence number in the same SQLite transaction that stores it, so numbers are
contiguous (1, 2, 3, ...), never reused and never lost to a crash between numbering and storing.
Batches leave the spool only through :meth:`Spool.acknowledge_through`, called with the
platform's watermark (every seq up to it is durably stored), never on the broker's PUBACK.

Durability: WAL journal with ``synchronous=FULL``. In WAL mode NORMAL survives a process crash
but may lose the last commits on power loss; a gateway in a factory cabinet loses power, and its
data is a regulator's record, so every commit is fsynced (one fsync per batch, every few
seconds, is cheap even on an SD card).

Quota (``quota_bytes``): the spooled readings' JSON, summed (kept as a running total, so the
check costs nothing; SQLite's pages, index and WAL add roughly half as much again on disk).
When a :meth:`Spool.put` leaves the spool over it, readings are dropped, oldest first, in this
order:

1. raw samples (readings without ``interval_s``);
2. interval aggregates;
3. whole batches, oldest first.

Steps 1 and 2 never take a batch's last reading, so every sequence number keeps a publishable
batch (the wire contract needs at least one reading) and the platform's watermark is never held
up by a hole: a batch is resent with the readings it still has. Only step 3, reached when the
spool holds nothing but one-reading batches, leaves holes; the platform then records them as
gaps after its gap timeout (protocol point 5) and its watermark moves on. Every dropped reading
and batch is written to the ``drops`` table (time, kind, seq, count) and counted.
"""

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from edge.sequence import SequenceStore, StateError
from telemetry import Reading, TelemetryBatch, encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, aggregate INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_by_seq ON readings (seq);
CREATE INDEX IF NOT EXISTS readings_by_kind ON readings (aggregate, id);  -- the quota's order
CREATE TABLE IF NOT EXISTS drops (
    at_ms INTEGER NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL,
    readings INTEGER NOT NULL, PRIMARY KEY (kind, seq)
);
"""
_DROP_CHUNK = 64  # readings deleted per step while over quota: small steps overshoot little
_KINDS = ("raw", "aggregate")  # drop order; the column ``aggregate`` is the index in it


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """A batch waiting for the platform's acknowledgement."""

    seq: int
    created_ms: int
    batch: TelemetryBatch


@dataclass(frozen=True, slots=True)
class SpoolCounters:
    """What the spool holds and what it had to give up."""

    depth: int  # batches not yet acknowledged
    readings: int
    used_bytes: int  # the readings' JSON, as the quota counts it
    oldest_created_ms: int | None
    last_seq: int  # the highest number handed out (0: none yet)
    dropped_raw: int  # readings dropped by the quota, per kind
    dropped_aggregate: int
    dropped_batches: int  # whole batches dropped (step 3), their seqs become gaps

    @classmethod
    def empty(cls) -> "SpoolCounters":
        """The counters of a spool not opened yet."""
        return cls(0, 0, 0, None, 0, 0, 0, 0)


class Spool:
    """One gateway's spool in one SQLite file. The constructor does no I/O; :meth:`open` does."""

    def __init__(
        self, path: Path, gateway: str, *, quota_bytes: int, legacy_state_dir: Path
    ) -> None:
        self.path = path
        self.gateway = gateway
        self.quota_bytes = quota_bytes
        self._legacy = SequenceStore(legacy_state_dir, gateway)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the agent, the sender and paho's thread share it

    def open(self) -> None:
        """Open (or create) the file; continue the numbering of an old ``<gw>.seq.json``.

        Raises:
            StateError: the file is not a usable spool, or belongs to another gateway.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: every transaction is an explicit BEGIN IMMEDIATE ... COMMIT
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            with db:
                db.execute("BEGIN IMMEDIATE")
                self._init_meta(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StateError(self.path, f"not a usable spool: {exc}") from None
        except StateError:
            db.close()
            raise
        self._db = db

    def _init_meta(self, db: sqlite3.Connection) -> None:
        rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if "last_seq" not in rows:
            # the old file held the NEXT number; an agent upgraded in place continues after it
            db.execute("INSERT INTO meta VALUES ('last_seq', ?)", (self._legacy.peek() - 1,))
            db.execute("INSERT INTO meta VALUES ('gateway', ?)", (self.gateway,))
            db.execute("INSERT INTO meta VALUES ('bytes', 0)")
        elif (
            db.execute(
                "SELECT 1 FROM meta WHERE key='gateway' AND value=?", (self.gateway,)
            ).fetchone()
            is None
        ):
            raise StateError(self.path, "belongs to another gateway")

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` succeeded and :meth:`close` has not been called since."""
        return self._db is not None

    def close(self) -> None:
        """Close the file; everything committed stays."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def put(self, readings: list[Reading], now_ms: int) -> int:
        """Store ``readings`` as the next batch and return its seq (same transaction)."""
        if not readings:
            raise ValueError("a batch needs at least one reading")
        with self._lock:
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                (seq,) = db.execute(
                    "UPDATE meta SET value = value + 1 WHERE key='last_seq' RETURNING value"
                ).fetchone()
                db.execute("INSERT INTO batches VALUES (?, ?)", (seq, now_ms))
                rows = [(seq, r.interval_s is not None, encode(r).decode()) for r in readings]
                db.executemany("INSERT INTO readings (seq, aggregate, body) VALUES (?, ?, ?)", rows)
                _add_bytes(db, sum(len(body) for _, _, body in rows))
                self._enforce_quota(db, now_ms)
            return int(seq)

    def unacknowledged(self, limit: int, *, after: int = 0) -> list[SpooledBatch]:
        """Up to ``limit`` spooled batches with seq > ``after``, in seq order."""
        with self._lock:
            db = self._conn()
            batches = db.execute(
                "SELECT seq, created_ms FROM batches WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
            result = []
            for seq, created_ms in batches:
                bodies = db.execute(
                    "SELECT body FROM readings WHERE seq = ? ORDER BY id", (seq,)
                ).fetchall()
                readings = [Reading.model_validate_json(body) for (body,) in bodies]
                batch = TelemetryBatch(gateway=self.gateway, seq=seq, readings=readings)
                result.append(SpooledBatch(seq, created_ms, batch))
            return result

    def acknowledge_through(self, seq: int) -> int:
        """Delete every batch with seq <= ``seq``; returns how many were deleted."""
        with self._lock:
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                (size,) = db.execute(
                    "SELECT coalesce(sum(length(body)), 0) FROM readings WHERE seq <= ?", (seq,)
                ).fetchone()
                db.execute("DELETE FROM readings WHERE seq <= ?", (seq,))
                _add_bytes(db, -size)
                deleted = db.execute("DELETE FROM batches WHERE seq <= ?", (seq,)).rowcount
            return int(deleted)

    def last_seq(self) -> int:
        """The highest seq handed out so far (0 before the first batch)."""
        with self._lock:
            (value,) = (
                self._conn().execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
            )
            return int(value)

    def skip_to(self, seq: int) -> None:
        """Number the next batch after ``seq`` (never backwards)."""
        with self._lock:
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("UPDATE meta SET value = max(value, ?) WHERE key='last_seq'", (seq,))

    def counters(self) -> SpoolCounters:
        """A snapshot of depth, size, age and drops."""
        with self._lock:
            db = self._conn()
            depth, oldest = db.execute("SELECT count(*), min(created_ms) FROM batches").fetchone()
            (readings,) = db.execute("SELECT count(*) FROM readings").fetchone()
            dropped = dict(db.execute("SELECT kind, sum(readings) FROM drops GROUP BY kind"))
            (batches_dropped,) = db.execute(
                "SELECT count(*) FROM drops WHERE kind='batch'"
            ).fetchone()
            (last,) = db.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
            return SpoolCounters(
                depth=depth,
                readings=readings,
                used_bytes=_used_bytes(db),
                oldest_created_ms=oldest,
                last_seq=last,
                dropped_raw=dropped.get("raw", 0),
                dropped_aggregate=dropped.get("aggregate", 0),
                dropped_batches=batches_dropped,
            )

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the spool is not open")
        return self._db

    def _enforce_quota(self, db: sqlite3.Connection, now_ms: int) -> None:
        for aggregate, kind in enumerate(_KINDS):
            while _used_bytes(db) > self.quota_bytes:
                victims = db.execute(
                    """SELECT id, seq, length(body) FROM readings AS r WHERE aggregate = ?
                       AND id <> (SELECT max(id) FROM readings WHERE seq = r.seq)
                       ORDER BY id LIMIT ?""",
                    (aggregate, _DROP_CHUNK),
                ).fetchall()
                if not victims:
                    break
                _drop_readings(db, victims, kind, now_ms)
        while _used_bytes(db) > self.quota_bytes:
            oldest = db.execute("SELECT min(seq) FROM batches").fetchone()[0]
            if oldest is None or oldest == db.execute("SELECT max(seq) FROM batches").fetchone()[0]:
                break  # the newest batch stays: it is the one being stored
            count, size = db.execute(
                "SELECT count(*), sum(length(body)) FROM readings WHERE seq = ?", (oldest,)
            ).fetchone()
            db.execute("DELETE FROM readings WHERE seq = ?", (oldest,))
            _add_bytes(db, -size)
            db.execute("DELETE FROM batches WHERE seq = ?", (oldest,))
            _record_drops(db, [(now_ms, "batch", oldest, count)])


def _drop_readings(
    db: sqlite3.Connection, victims: list[tuple[int, int, int]], kind: str, now_ms: int
) -> None:
    per_seq: dict[int, int] = {}
    for _, seq, _ in victims:
        per_seq[seq] = per_seq.get(seq, 0) + 1
    db.executemany("DELETE FROM readings WHERE id = ?", [(i,) for i, _, _ in victims])
    _add_bytes(db, -sum(size for _, _, size in victims))
    _record_drops(db, [(now_ms, kind, seq, n) for seq, n in per_seq.items()])


def _record_drops(db: sqlite3.Connection, rows: list[tuple[int, str, int, int]]) -> None:
    # one row per (kind, seq): a long outage cannot make the log grow faster than the batches
    db.executemany(
        """INSERT INTO drops (at_ms, kind, seq, readings) VALUES (?, ?, ?, ?)
           ON CONFLICT (kind, seq) DO UPDATE
           SET readings = readings + excluded.readings, at_ms = excluded.at_ms""",
        rows,
    )


def _add_bytes(db: sqlite3.Connection, delta: int) -> None:
    db.execute("UPDATE meta SET value = value + ? WHERE key = 'bytes'", (delta,))


def _used_bytes(db: sqlite3.Connection) -> int:
    (size,) = db.execute("SELECT value FROM meta WHERE key = 'bytes'").fetchone()
    return int(size)


__all__ = ["Spool", "SpoolCounters", "SpooledBatch"]
