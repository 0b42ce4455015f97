"""The FastAPI application: JSON API under /api/v1, privacy-center and admin pages, assets.

Only this package turns :mod:`privacyops.errors` into HTTP answers (``errors.py``).
"""
