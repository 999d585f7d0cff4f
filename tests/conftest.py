"""Fixtures shared by every test: real servers and databases from :mod:`devstack`."""

pytest_plugins = ["devstack.fixtures", "devstack.sql_fixtures"]
