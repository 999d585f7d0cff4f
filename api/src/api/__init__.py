"""The Lantian HTTP API (FastAPI, versioned under ``/v1``)."""
