"""pytest fixtures; filled in by the harness work."""
