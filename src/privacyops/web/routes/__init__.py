"""HTTP routers, one module per subject; each is registered in ``privacyops.web.app``."""
