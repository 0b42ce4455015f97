"""Personal data in free text: text sources (mailboxes, chat and ticket exports, folders of
notes), finding a known person in them (exact multi-pattern search, never a model), detecting
everyone else (rules and checksums, Presidio's labels) and redacting what was found.

The Python API: :func:`scan` (spans of a text), :func:`redact`, :class:`Person` and
:func:`find` over :class:`TextDoc` iterables, :func:`load_text_source` for a YAML-declared
source. See docs/text.md.
"""

from __future__ import annotations

from privacyops.text.detect import LABELS, Span, scan
from privacyops.text.known import Mention, Person, PersonMatcher, find
from privacyops.text.redact import redact, redaction_report
from privacyops.text.sources import TextDoc, TextSource, load_text_source, read_path

__all__ = [
    "LABELS",
    "Mention",
    "Person",
    "PersonMatcher",
    "Span",
    "TextDoc",
    "TextSource",
    "find",
    "load_text_source",
    "read_path",
    "redact",
    "redaction_report",
    "scan",
]
