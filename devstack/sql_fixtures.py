"""pytest fixtures for the SQL store; filled in by the SQL store work."""
