"""The application factory. Each capability adds its router here, one line each."""

from __future__ import annotations

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from privacyops import __version__
from privacyops.ratelimit import RateLimiter, shared_counts
from privacyops.settings import Settings, get_settings
from privacyops.store import Database
from privacyops.web import metrics
from privacyops.web.errors import install_error_handlers
from privacyops.web.pages import STATIC_DIR
from privacyops.web.routes import (
    account,
    breaches,
    consent,
    dashboard,
    dashboard_breaches,
    dashboard_consent,
    dashboard_desk,
    dashboard_home,
    dashboard_identity,
    dashboard_outbox,
    dashboard_recipients,
    dashboard_requests,
    dashboard_retention,
    dashboard_search,
    dashboard_spam,
    dpia,
    intake,
    notices,
    opendsr,
    privacy,
    privacy_requests,
    rights,
    text,
)
from privacyops.web.security import SecurityMiddleware


class PrivacyOpsApp(FastAPI):
    """FastAPI, with the consent write (``POST /api/v1/consent``, called on page views) handed
    to its lean handler before the middleware stack: see
    :class:`privacyops.web.routes.consent.ConsentFastPath`."""

    consent_fast_path: consent.ConsentFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.consent_fast_path
        if (
            fast is not None
            and scope["type"] == "http"
            and scope["path"] == fast.path
            and scope["method"] == "POST"
        ):
            await fast(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build the FastAPI application for ``settings`` (default: the process settings).

    Args:
        settings: configuration; default the process settings.
        db: an open database to use; default the one the settings name, opened (and migrated)
            on first use.
    """
    settings = settings or get_settings()
    app = PrivacyOpsApp(
        title="privacyops",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,  # served below from the local Swagger UI files (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(shared_counts(settings.celery_broker_url))
    if db is not None:
        app.state.db = db
    install_error_handlers(app)
    app.add_middleware(metrics.MetricsMiddleware)
    app.add_middleware(
        SecurityMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_seconds=settings.request_body_timeout_seconds,
        https=settings.base_url.startswith("https://"),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(
        "/api/docs/assets",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """The OpenAPI explorer (Swagger UI), from files served here: works offline."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="privacyops API",
            swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/api/docs/assets/swagger-ui.css",
            swagger_favicon_url="/api/docs/assets/favicon-32x32.png",
        )

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: answers when the process serves requests."""
        return {"status": "ok"}

    # Routers register here, one line each.
    app.include_router(account.router)
    app.include_router(privacy.router)
    app.include_router(privacy_requests.router)
    app.include_router(dashboard_home.router)
    app.include_router(dashboard.router)
    app.include_router(dashboard_search.router)
    app.include_router(dashboard_desk.router)
    app.include_router(dashboard_requests.router)
    app.include_router(dashboard_recipients.router)
    app.include_router(dashboard_identity.router)
    app.include_router(dashboard_retention.router)
    app.include_router(dashboard_consent.router)
    app.include_router(dashboard_spam.router)
    app.include_router(dashboard_outbox.router)
    app.include_router(dashboard_breaches.router)
    app.include_router(breaches.router)
    app.include_router(dpia.router)
    app.include_router(consent.router)
    app.include_router(intake.router)
    app.include_router(rights.router)
    app.include_router(notices.router)
    app.include_router(opendsr.router)
    app.include_router(text.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    app.consent_fast_path = consent.ConsentFastPath(app)
    return app
