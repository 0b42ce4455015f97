"""HTTP routers, one module per subject, each registered in ``privacyops.web.app.create_app``."""
