"""Words for people in the rights workflow: plain-text Jinja2 templates (gettext-ready).

Templates live in ``privacyops/rights/templates/``; ``{% trans %}`` blocks and ``_()`` mark
what a translation replaces (null translations until a catalogue is installed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

__all__ = ["TEXTS_DIR", "render_text"]

TEXTS_DIR = Path(__file__).parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEXTS_DIR),
    autoescape=False,  # noqa: S701 - plain-text e-mails; web pages escape in their own env
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
)
_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


def render_text(name: str, **values: Any) -> str:
    """The text of template ``name`` (e.g. ``"recipients_offer.txt"``) with ``values``."""
    return _env.get_template(name).render(values).strip()
