"""The enterprise web page: static HTML, CSS and JS served at ``/app/`` (docs/api.md).

The files run no inline script and load nothing from elsewhere, so every answer carries a
Content-Security-Policy of ``default-src 'self'``: injected markup could run nothing.
"""

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PAGE_PATH: Final = "/app"
FILES: Final = Path(__file__).parent / "static"
POLICY: Final = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


class PageFiles(StaticFiles):
    """The page's files, each answered with the page's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file at ``path`` with the security headers added."""
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def mount_page(app: FastAPI) -> None:
    """Serve the page at ``/app/`` and send ``/`` there."""

    @app.get("/", include_in_schema=False)
    def to_page() -> RedirectResponse:
        return RedirectResponse(f"{PAGE_PATH}/")

    app.mount(PAGE_PATH, PageFiles(directory=FILES, html=True), name="page")
