"""Fixtures shared by every test: real servers, databases and device fleets from :mod:`devstack`."""

pytest_plugins = ["devstack.fixtures", "devstack.fleet_fixtures", "devstack.sql_fixtures"]
