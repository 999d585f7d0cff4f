"""Alembic migrations of the SQL store, one file per revision in ``versions/``.

Run them with :func:`store.sql.migrate`; ``env.py`` is Alembic's entry point, not a module to
import. Revisions are written by hand, numbered ``0001``, ``0002``, ... and name every
constraint explicitly, so the schema is the same on SQLite and PostgreSQL and a later batch
migration on SQLite can find what it alters.
"""
