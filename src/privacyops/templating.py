"""The Jinja2 environments of the words privacyops writes to people (answers, e-mails, texts).

Each package that writes to people keeps its templates in its own ``templates/`` folder and
gets its environment from :func:`people_environment`: gettext-ready (``jinja2.ext.i18n``, null
translations until a catalogue is installed), strict about missing values, ``*.html.j2``
templates autoescaped. A message template has a ``subject`` and a ``body`` block
(:func:`render_message`): changing the wording touches no Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["people_environment", "render_message"]


def people_environment(
    package: str, *, finalize: Callable[[Any], Any] | None = None
) -> Environment:
    """An environment over ``<package>/templates``; ``finalize`` is applied to every printed
    value (the access answer escapes them for Markdown)."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        extensions=["jinja2.ext.i18n"],
        # HTML templates escape every value; Markdown ones are escaped by ``finalize``; plain
        # text (e-mails) is not markup at all
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=finalize,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def render_message(env: Environment, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The subject (one line) and the body of the message template ``name``."""
    template = env.get_template(name)
    values = template.new_context(dict(context))
    subject = " ".join("".join(template.blocks["subject"](values)).split())
    body = "".join(template.blocks["body"](values)).strip()
    return subject, body
