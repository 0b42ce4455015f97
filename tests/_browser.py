"""Shared set-up of the real-browser tests: Debian chromium driven by Playwright.

Importing this module skips the importing test module when chromium is absent (``make test``
installs it through scripts/services.sh, so in CI the browser tests always run).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _mailbox import free_port

CHROMIUM = os.environ.get("PRIVACYOPS_CHROMIUM", "/usr/bin/chromium")
# As root in a sandbox-less container; without the background-networking flags chromium keeps
# trying to reach Google hosts, which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).exists():  # pragma: no cover - make test installs it
    pytest.skip(f"no chromium at {CHROMIUM} (make test installs it)", allow_module_level=True)

playwright_sync = pytest.importorskip("playwright.sync_api")

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port", "playwright_sync"]
