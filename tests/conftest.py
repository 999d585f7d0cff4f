"""Fixtures shared by every test: real servers from :mod:`devstack.fixtures`."""

pytest_plugins = ["devstack.fixtures"]
