"""Erase a person from a text store that may be rewritten (an mbox or Maildir declared
``rewritable: true``): each mention becomes its tag (``[PERSON]``, ``[EMAIL_ADDRESS]``,
``[PHONE_NUMBER]``) in the headers and ``text/plain`` parts; other parts are left as they are.
Stores that cannot be rewritten are the caller's manual task (the ids from
:meth:`PersonMatcher.mentions`)."""

from __future__ import annotations

import mailbox

from privacyops.errors import InvalidInput
from privacyops.text.known import PersonMatcher
from privacyops.text.sources import TextSource

__all__ = ["erase_from_mailbox"]

_TAGS = {"email": "[EMAIL_ADDRESS]", "phone": "[PHONE_NUMBER]", "name": "[PERSON]"}
_HEADERS = ("From", "To", "Cc", "Reply-To", "Subject")


def _blank(text: str, matcher: PersonMatcher) -> str:
    out, at = [], 0
    for start, end, kind in sorted(matcher.spans(text)):
        if start < at:
            continue
        out += [text[at:start], _TAGS[kind]]
        at = end
    return "".join([*out, text[at:]])


def _rewrite(message: mailbox.Message, matcher: PersonMatcher) -> bool:
    changed = False
    for header in _HEADERS:
        value = message[header]
        if value is not None and (new := _blank(str(value), matcher)) != str(value):
            message.replace_header(header, new)
            changed = True
    for part in message.walk():
        if part.get_content_type() != "text/plain" or part.is_multipart():
            continue
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        text = raw.decode(charset, "replace")
        if (new := _blank(text, matcher)) != text:
            del part["Content-Transfer-Encoding"]
            part.set_payload(new, "utf-8")
            changed = True
    return changed


def erase_from_mailbox(source: TextSource, matcher: PersonMatcher) -> list[str]:
    """Rewrite every message of ``source`` that mentions the person; their ids.

    Raises:
        InvalidInput: the source is not a mailbox declared rewritable.
    """
    if source.type not in ("mbox", "maildir") or not source.rewritable:
        raise InvalidInput(f"{source.name} is not a mailbox privacyops may rewrite.")
    box: mailbox.Mailbox[mailbox.Message] = (
        mailbox.mbox(source.path, create=False)
        if source.type == "mbox"
        else mailbox.Maildir(source.path, create=False)
    )
    changed: list[str] = []
    box.lock()
    try:
        for key in list(box.iterkeys()):
            message = box[key]
            if _rewrite(message, matcher):
                box[key] = message
                changed.append(str(message["Message-ID"] or key).strip())
        box.flush()
    finally:
        box.unlock()
        box.close()
    return changed
