"""The application factory. Each capability adds its router here, one line each."""

from __future__ import annotations

from fastapi import FastAPI

from privacyops import __version__
from privacyops.settings import Settings, get_settings
from privacyops.web.errors import install_error_handlers
from privacyops.web.routes import consent


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI application for ``settings`` (default: the process settings)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="privacyops",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: answers when the process serves requests."""
        return {"status": "ok"}

    # Routers register here, one line each.
    app.include_router(consent.router)
    return app
