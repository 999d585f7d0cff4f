"""Revisions of the SQL store's schema; Alembic loads each file by path, in revision order."""
