"""The Jinja2 environments of the words privacyops writes to people (the access answer,
e-mails and texts), and the locale helpers they use.

Two environments load ``rights/templates/`` (:func:`privacyops.templating.people_environment`:
gettext-ready, strict): :data:`MARKDOWN_ENV` escapes every value
for Markdown (the access answer), :data:`TEXT_ENV` prints values as they are (plain-text
messages; ``*.html.j2`` templates autoescape). Dates and country names come from Babel's CLDR
data, loaded with the first answer.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from privacyops.templating import people_environment

__all__ = ["MARKDOWN_ENV", "TEXT_ENV", "country_name", "long_date", "render_text", "words"]

#: Characters that mean something inside a Markdown line (emphasis, links, code, entities).
_MD_INLINE = re.compile(r"([\\`*_\[\]<>!|~&])")
#: What makes a line a heading, a list item, a quote or a rule when it starts the line.
_MD_LEADING = re.compile(r"^(\d+)([.)])|^([-+=#>])")


def _md_escape(value: Any) -> Any:
    """Every value printed into the Markdown document: on one line, its Markdown characters
    escaped, so personal data can never become a heading, a list item, markup or a link."""
    if value is None:
        return ""
    text = _MD_INLINE.sub(r"\\\1", " ".join(str(value).split()))
    return _MD_LEADING.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)


#: The document's environment (every value escaped for Markdown) and the plain one (words
#: looked up from Python, e-mails to people).
MARKDOWN_ENV = people_environment("privacyops.rights", finalize=_md_escape)
TEXT_ENV = people_environment("privacyops.rights")


@lru_cache(maxsize=1)
def words() -> Any:
    """The words of ``access/words.j2`` (its top-level ``set`` dictionaries)."""
    return TEXT_ENV.get_template("access/words.j2").module


def country_name(code: str | None, language: str = "en") -> str:
    from babel import Locale  # babel and markdown-it load with the first answer

    if not code:
        return ""
    name = Locale.parse(language).territories.get(code.upper())
    return str(name) if name else code


def long_date(value: datetime | date | None, language: str = "en") -> str:
    from babel.dates import format_date

    if value is None:
        return ""
    return str(format_date(value, format="long", locale=language))


def render_text(name: str, **values: Any) -> str:
    """The plain text of template ``name`` (e.g. ``"recipients_offer.txt"``) with ``values``."""
    return TEXT_ENV.get_template(name).render(values).strip()
